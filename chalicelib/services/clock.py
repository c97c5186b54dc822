"""Test clocks: a test-mode tenant's time moves only when told, and moving it runs the work that fell due.

An advance moves the clock to its target at once and marks it Advancing; the work that fell due by then runs in
passes (due_work.process_due_work: at most `slots_per_pass` slots per schedule or template each) until a pass runs nothing.
The request works while `advance_request_seconds` last, then answers 202 and hands the rest on: a work-queue
message lets a worker go on (`tick_budget_seconds` a turn, handing on again if need be). Whoever works holds the
advance's lease, renewed after every pass, so one runner works at a time and only the holder declares the clock
Ready. A runner that died leaves its lease to run out; the wall-clock tick then takes the advance over
(ClockAdvanceWork), and sending the same target again resumes it too. The tenant's bill runs and invoice jobs that
requests started run in the passes too, and the units of a billing job large enough to fan out are billed by the
advance as by the workers; work a worker still holds is waited for without holding a worker (the advance is
handed on, and a fanned-out job's end sends it on again). Ready means nothing of the tenant is left
Pending or Running."""
import logging
import uuid
from dataclasses import replace
from datetime import datetime, timedelta

from ..config import settings
from ..domain import timeutil
from ..domain.tenants import Tenant, advance_clock
from ..store import bill_runs as bill_run_store
from ..store import billing_jobs as job_store
from ..store import invoice_jobs as invoice_job_store
from ..store import tenants as store
from . import clock_messages, due_work, fanout
from .budget import Budget

log = logging.getLogger("billrun.clock")
LEASE = timedelta(minutes=10)  # longer than any pass: a pass stops starting units once its budget is spent
WAIT_SECONDS = 2  # an advance waiting for held work is handed on this late at most (a fanned-out job's end is sooner)
UNITS = "workUnits"  # the advance's count of fanned-out work units it billed itself


def advance(tenant: Tenant, to: datetime) -> tuple[Tenant, bool]:
    """Moves the clock and works on what fell due while the request's budget lasts: (the tenant, whether all the
    work is done). An advance already under way to the same target is helped on, not started again."""
    owner = uuid.uuid4().hex
    # 404 for a live tenant; 409 backwards, or while advancing elsewhere; 400 too far
    moved = advance_clock(tenant, to, settings().max_advance_days)
    if tenant.advancing_to is None:  # a new advance counts from zero, every kind of work named
        moved = replace(moved, advance_ran={**{source.name: 0 for source in due_work.EVERY_CLOCK}, UNITS: 0})
    if tenant.advancing_to is None and not store.start_advance(tenant, moved, owner, _lease_end()):
        return advance(store.get_tenant(tenant.id), to)  # a concurrent advance moved the clock: decide again
    if tenant.advancing_to is not None and not store.take_advance(tenant.id, to, owner, _wall(), _lease_end()):
        return store.get_tenant(tenant.id), False  # another runner holds it and goes on
    done = work(moved, owner, Budget(settings().advance_request_seconds))
    return store.get_tenant(tenant.id), done


def take_turn(tenant: Tenant, budget: Budget) -> bool:
    """A worker's or the tick's turn on the tenant's unfinished advance; False, doing nothing, when someone else
    holds it."""
    owner = uuid.uuid4().hex
    if not store.take_advance(tenant.id, tenant.advancing_to, owner, _wall(), _lease_end()):
        return False
    work(tenant, owner, budget)
    return True


def work(tenant: Tenant, owner: str, budget: Budget) -> bool:
    """Passes over the due work until one runs nothing and nothing of the tenant is held (done: Ready) or the
    budget is spent (handed on). Each pass also bills the work units of the clock's fanned-out billing jobs
    (fanout.bill_held_units). Held: a billing job of the clock, or a bill run or invoice job the tenant's requests
    made, is Queued/Pending or Running (a worker has it, or a unit failed and waits for its redelivery). A pass
    that runs nothing while something is held is not the end: the advance is handed on, to go on when a
    fanned-out job is done (clock_messages.job_finished) or after WAIT_SECONDS. Held is asked before the pass, so
    work that finishes during it is never missed."""
    while True:
        held = _held(tenant)
        report = due_work.process_due_work(tenant.clock_id, until=tenant.advancing_to, budget=budget)
        ran = {**report.ran, UNITS: fanout.bill_held_units(tenant, budget)}
        if sum(ran.values()) == 0 and not held:  # (finishing checks the lease too)
            return store.finish_advance(tenant.id, owner)
        if not store.record_advance(tenant.id, owner, ran, _lease_end()):
            return False  # our lease ran out and another runner took the advance over: it goes on
        if sum(ran.values()) == 0:
            _hand_on(tenant, owner, delay_seconds=WAIT_SECONDS)
            return False
        if budget.exhausted():
            _hand_on(tenant, owner)
            return False


def _held(tenant: Tenant) -> bool:
    return job_store.any_unfinished(tenant.clock_id) or bill_run_store.requested_unfinished(tenant.id) \
        or invoice_job_store.any_unfinished(tenant.id)


def _hand_on(tenant: Tenant, owner: str, delay_seconds: int = 0) -> None:
    store.hand_on_advance(tenant.id, owner, _wall())
    clock_messages.send(tenant, delay_seconds)


def handle(message: dict) -> None:
    """A work-queue message: the worker's turn on an advance (none if that advance is done already)."""
    tenant = store.find_tenant(message["tenantId"])
    if tenant is not None and tenant.advancing_to == datetime.fromisoformat(message["to"]):
        take_turn(tenant, Budget(settings().tick_budget_seconds))


def _wall() -> datetime:
    return timeutil.wall_now()


def _lease_end() -> datetime:
    return _wall() + LEASE


class ClockAdvanceWork:
    """Registered with the tick (wall clock only): advances nobody holds, their runner dead or their message
    lost, are taken over within the tick's own budget."""
    name = "clockAdvances"
    live_only = True

    def process_due(self, clock_id: str, until: datetime, budget: Budget) -> int:
        ran = 0
        for tenant_id in store.advances_waiting(_wall()):
            if budget.spent():
                break
            tenant = store.find_tenant(tenant_id)
            if tenant is None or tenant.advancing_to is None:
                continue
            try:
                ran += take_turn(tenant, budget)
            except Exception:  # one tenant's failure must not stop the others; its lease runs out again
                log.exception("the advance of %s failed", tenant_id)
        return ran

    def oldest_due(self, clock_id: str, until: datetime) -> datetime | None:
        return store.oldest_waiting_advance(until)
