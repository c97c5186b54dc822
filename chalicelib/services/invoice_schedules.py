"""Invoice schedules (Zuora dialect): create, replace items, delete, pause, resume, execute; and the tick's
source of due items, each executed through a bill run (see bill_runs)."""
import logging
from dataclasses import replace
from datetime import datetime, timedelta

from ..config import settings
from ..domain import invoice_schedules as rules
from ..domain.bill_runs import UNFINISHED, BillRun, BillRunStatus
from ..domain.errors import BillrunError, conflict, invalid
from ..domain.invoice_schedules import InvoiceSchedule, ItemRequest, ItemStatus, ScheduleItem
from ..domain.numbering import human_number
from ..domain.orders import one_time_charges
from ..domain.tenants import LIVE_CLOCK, Tenant, clock_tenant
from ..domain.timeutil import wall_now
from ..store import bill_runs as run_store
from ..store import counters, ledger
from ..store import invoice_schedules as store
from ..store import tenants as tenant_store
from ..store.catalog import customers, mark_scheduled, orders, unmark_scheduled
from . import bill_runs, quotas, work_messages
from .ids import derived_id
from .budget import Budget
from .context import RequestContext

schedules = store.schedules
log = logging.getLogger("billrun.invoice_schedules")
ALREADY_EXPIRED = timedelta(seconds=1)  # a new bill run's lease: expired at once, so recovery finds it if unrun
# A mark naming a schedule that does not exist is a create that died (taken over), or one still writing it: the
# longest a create can take (the API Lambda's 30 s, with room) tells them apart.
MARK_STALE = timedelta(minutes=5)


def create(ctx: RequestContext, order_ids: list[str], items: list[ItemRequest], account_key: str | None,
           currency: str | None, notes: str | None) -> InvoiceSchedule:
    """An order is billed by at most one invoice schedule: each order is marked with the schedule's id (a
    conditional write), then the schedule is written, then the marks are checked again (a concurrent create that
    took an order over loses here and deletes its schedule). A mark left by a create that died before writing
    its schedule names a schedule that does not exist: a create after MARK_STALE takes the order over."""
    tenant_id = ctx.tenant.id
    if account_key is not None:
        customers.get(tenant_id, account_key, "accountKey")
    found = [orders.get(tenant_id, order_id, f"orders[{index}]") for index, order_id in enumerate(order_ids)]
    customer_id, currency, total = rules.check_orders(found, account_key, currency)
    rules.require_recent_run_dates(items, None, ctx.today(), settings().max_catch_up_days)
    schedule_id = ctx.new_id()
    schedule = InvoiceSchedule(
        id=schedule_id, number="", customer_id=customer_id, currency=currency, order_ids=tuple(order_ids),
        total_amount=total, items=rules.new_items(total, currency, items, [ctx.new_id() for _ in items]),
        timezone=ctx.tenant.timezone, clock_id=ctx.tenant.clock_id, created_by_id=ctx.actor_id,
        updated_by_id=ctx.actor_id, created_date=ctx.now, updated_date=ctx.now, notes=notes)
    existing = schedules.find(tenant_id, schedule_id)  # an Idempotency-Key retry: no new number
    if existing is not None:
        return existing
    gone = _free_orders(tenant_id, found, schedule_id)
    schedule = replace(schedule, number=human_number("IS", counters.next_value(tenant_id, "IS")))
    _mark_orders(tenant_id, found, schedule_id, gone)
    created = schedules.create(tenant_id, schedule)
    for index, order_id in enumerate(order_ids):
        if orders.get(tenant_id, order_id).invoice_schedule_id != schedule_id:  # taken over meanwhile
            schedules.delete(tenant_id, created)
            _unmark_orders(tenant_id, order_ids, schedule_id)
            raise _taken(index)
    return created


def _free_orders(tenant_id: str, found, schedule_id: str) -> dict[str, str]:
    """409 for an order another invoice schedule bills, or whose subscriptions billing jobs have already billed
    (the schedule bills the order's whole total); {orderId: id} of marks whose schedule is gone."""
    gone = {}
    for index, order in enumerate(found):
        billed = [line.subscription_id for line in order.lines if line.subscription_id]
        if any(ledger.billed(tenant_id, i) for i in billed + [c.id for c in one_time_charges(order)]):
            raise conflict(f"order {order.id} has subscriptions or one-time lines already billed by billing jobs; "
                           "an invoice schedule bills an order's whole total", field_name=f"orders[{index}]")
        holder_id = order.invoice_schedule_id
        if holder_id is None or holder_id == schedule_id:
            continue
        holder = schedules.find(tenant_id, holder_id)
        if holder is not None:
            raise conflict(f"order {order.id} is already billed by invoice schedule {holder.number}",
                           field_name=f"orders[{index}]")
        marked = order.invoice_schedule_marked
        if marked is not None and wall_now() - marked < MARK_STALE:  # its create may still be writing it
            raise _taken(index)
        gone[order.id] = holder_id
    return gone


def _mark_orders(tenant_id: str, found, schedule_id: str, gone: dict[str, str]) -> None:
    marked = []
    for index, order in enumerate(found):
        if not mark_scheduled(tenant_id, order.id, schedule_id, gone.get(order.id), now=wall_now()):
            _unmark_orders(tenant_id, marked, schedule_id)
            raise _taken(index)
        marked.append(order.id)


def _unmark_orders(tenant_id: str, order_ids, schedule_id: str) -> None:
    for order_id in order_ids:
        unmark_scheduled(tenant_id, order_id, schedule_id)


def _taken(index: int):
    return conflict("the order was put on another invoice schedule meanwhile", field_name=f"orders[{index}]")


def get(ctx: RequestContext, key: str) -> InvoiceSchedule:
    return schedules.get_by_key(ctx.tenant.id, key)


def update(ctx: RequestContext, key: str, items: list[ItemRequest], notes: str | None, notes_sent: bool,
           order_ids: list[str] | None) -> InvoiceSchedule:
    """PUT: the pending items are replaced by the request's (processed and executing ones are immutable)."""
    current = get(ctx, key)
    if order_ids is not None and list(order_ids) != list(current.order_ids):
        raise invalid("orders", "the orders of an invoice schedule cannot change (create another schedule)")
    new_ids = [ctx.new_id() for _ in items]

    def apply(schedule: InvoiceSchedule) -> InvoiceSchedule:
        rules.check_editable(schedule)
        replaced = rules.replace_items(schedule, items, new_ids)
        rules.require_recent_run_dates(items, schedule, ctx.today(schedule.timezone), settings().max_catch_up_days)
        return replace(schedule, items=replaced,
                       notes=notes if notes_sent else schedule.notes, updated_by_id=ctx.actor_id,
                       updated_date=ctx.now)
    return schedules.change(ctx.tenant.id, current.id, apply)


def delete(ctx: RequestContext, key: str) -> InvoiceSchedule:
    current = get(ctx, key)
    rules.check_deletable(current)
    schedules.delete(ctx.tenant.id, current)
    _unmark_orders(ctx.tenant.id, current.order_ids, current.id)  # a crash before this: the next create takes over
    return current


def pause(ctx: RequestContext, key: str) -> InvoiceSchedule:
    return _user_change(ctx, key, rules.pause)


def resume(ctx: RequestContext, key: str) -> InvoiceSchedule:
    """Back to its status before the pause; items whose run date passed meanwhile run at the next tick."""
    return _user_change(ctx, key, rules.resume)


def _user_change(ctx: RequestContext, key: str, change) -> InvoiceSchedule:
    current = get(ctx, key)

    def apply(schedule: InvoiceSchedule) -> InvoiceSchedule:
        changed = change(schedule)
        if changed is schedule:
            return schedule
        return replace(changed, updated_by_id=ctx.actor_id, updated_date=ctx.now)
    return schedules.change(ctx.tenant.id, current.id, apply)


# --- execute: an ad hoc bill run ------------------------------------------------------------------------------

def execute(ctx: RequestContext, key: str, item_id: str | None, auto_post: bool) -> BillRun:
    """Creates a Pending bill run for the item (or the next pending one), holds the item for it and hands it to the
    worker (work_messages), which runs it at once; the tick recovers it if the message is lost. 409 for a paused
    schedule, or an item processed or held by another bill run."""
    tenant = ctx.tenant
    schedule = get(ctx, key)
    run_id = ctx.new_id()
    existing = run_store.bill_runs.find(tenant.id, run_id)  # an Idempotency-Key retry after a crash
    if existing is None:
        item = rules.executable_item(schedule, item_id)
        day = rules.invoice_date(item, ctx.now, schedule.timezone)
        quotas.admit_job(tenant.id, quotas.BILL_RUN, run_id)  # a 429 when the tenant has no open-job slot free
        run = _create_run(tenant, schedule, item, run_id, day, created_by_id=ctx.actor_id, now=ctx.now,
                          requested_item_id=item_id, auto_post=auto_post, automatic=False)
    elif existing.status is BillRunStatus.ERROR:  # the first attempt lost the item: so does its retry
        raise conflict(existing.error_message or "the bill run could not take the item")
    else:
        run = existing
    if run.status in UNFINISHED:
        try:
            bill_runs.hold(tenant.id, schedule.id, run.item_id, run.id)
        except BillrunError as refused:
            if run_store.abandon(tenant.id, run.id, refused.message, wall_now(), ctx.now):
                quotas.finished_job(tenant.id, quotas.BILL_RUN, run.id)
            raise
    answer = run_store.bill_runs.get(tenant.id, run.id)  # read first: the request answers the run as it made it
    if answer.status in UNFINISHED:
        work_messages.send(work_messages.BILL_RUN, tenant.id, run.id)
    return answer


def _create_run(tenant: Tenant, schedule: InvoiceSchedule, item: ScheduleItem, run_id: str, day, *,
                created_by_id: str, now: datetime, requested_item_id: str | None, auto_post: bool,
                automatic: bool) -> BillRun:
    """Creates the bill run once (a number is drawn only for a run that does not exist yet)."""
    existing = run_store.bill_runs.find(tenant.id, run_id)
    if existing is not None:
        return existing
    run = BillRun(
        id=run_id, number=human_number("BR", counters.next_value(tenant.id, "BR")), status=BillRunStatus.PENDING,
        clock_id=tenant.clock_id, customer_id=schedule.customer_id, invoice_schedule_id=schedule.id,
        item_id=item.id, invoice_date=day, target_date=day, created_by_id=created_by_id, created_date=now,
        updated_date=now, requested_item_id=requested_item_id, auto_post=auto_post, automatic=automatic,
        lease_until=wall_now() - ALREADY_EXPIRED)
    return run_store.bill_runs.create(tenant.id, run)


# --- the tick's source: items whose run date has come -------------------------------------------------------

def execute_due(tenant: Tenant, schedule_id: str, item_id: str, clock_id: str) -> bool:
    """One due item through its own bill run (made, held and run here, in the tick). False when the item is no
    longer pending (an execute request or another tick took it), the schedule was paused meanwhile, or another
    tick is running the same bill run."""
    schedule = schedules.find(tenant.id, schedule_id)
    item = schedule.item(item_id) if schedule else None
    if item is None or item.status is not ItemStatus.PENDING or schedule.paused:
        return False
    due = rules.due_at(schedule, item)
    # A test clock replays time: a due item is run as if the tick had fired at its run date (or, when the
    # schedule was changed or resumed after that, at that change); a live item is run now.
    effective = max(due, schedule.updated_date)
    now = wall_now() if clock_id == LIVE_CLOCK else effective
    run = _automatic_run(tenant, schedule, item, rules.invoice_date(item, effective, schedule.timezone), now)
    if run.status in UNFINISHED:
        try:
            bill_runs.hold(tenant.id, schedule.id, item.id, run.id)
        except BillrunError as refused:
            run_store.abandon(tenant.id, run.id, refused.message, wall_now(), now)
            return False
    return bill_runs.take(tenant, run.id)


def _automatic_run(tenant: Tenant, schedule: InvoiceSchedule, item: ScheduleItem, day, now: datetime) -> BillRun:
    """The item's automatic bill run: its id derives from (schedule, item, times re-opened, attempt), so
    redelivered or concurrent ticks share one. A new attempt is made only when an earlier one ended without the
    item (it lost the item to a pause, and the schedule was resumed)."""
    attempt = 0
    while True:
        run_id = derived_id(schedule.id, item.id, "automatic", *([item.reissues] if item.reissues else []), attempt)
        existing = run_store.bill_runs.find(tenant.id, run_id)
        if existing is None or existing.status in UNFINISHED or existing.status is BillRunStatus.COMPLETED:
            return _create_run(tenant, schedule, item, run_id, day, created_by_id=schedule.created_by_id, now=now,
                               requested_item_id=item.id, auto_post=False, automatic=True)
        attempt += 1


class InvoiceScheduleWork:
    """Registered with the tick: due schedules by index query, their due items in time order, each through a
    bill run; then bill runs whose lease ran out (those execute requests made too: see _expired_runs)."""
    name = "invoiceScheduleItems"
    live_only = False

    def process_due(self, clock_id: str, until: datetime, budget: Budget) -> int:
        """One pass: at most `slots_per_pass` due items of each due schedule, in time order, while the budget
        lasts; then bill runs whose lease ran out."""
        ran = 0
        tenants: dict[str, Tenant] = {}
        batch = []
        for tenant_id, schedule_id in store.due(clock_id, until):
            schedule = schedules.find(tenant_id, schedule_id)
            if schedule is None:
                continue
            batch += [(rules.due_at(schedule, item), schedule_id, item.run_date, item.id, tenant_id)
                      for item in rules.due_items(schedule, until)[:settings().slots_per_pass]]
        batch.sort()
        for _, schedule_id, _, item_id, tenant_id in batch:
            if budget.spent():
                break
            try:
                ran += execute_due(_tenant(tenants, tenant_id), schedule_id, item_id, clock_id)
            except Exception:  # one item's failure must not stop the others; its bill run is recovered later
                log.exception("invoice schedule %s item %s failed", schedule_id, item_id)
        for tenant_id, run_id in self._expired_runs(clock_id):
            if budget.spent():
                break
            try:
                ran += bill_runs.take(_tenant(tenants, tenant_id), run_id)
            except Exception:
                log.exception("bill run %s failed", run_id)
        return ran

    @staticmethod
    def _expired_runs(clock_id: str) -> list[tuple[str, str]]:
        """Runs whose lease ran out: the clock's (in `live`, execute requests' of every tenant too); in a test
        clock, also its tenant's execute requests' (they wait in `live`, and the advance runs them too)."""
        expired = run_store.expired(clock_id, wall_now())
        tenant_id = clock_tenant(clock_id)
        return expired + (run_store.requested_expired(tenant_id, wall_now()) if tenant_id else [])

    def oldest_due(self, clock_id: str, until: datetime) -> datetime | None:
        return min(filter(None, (store.oldest_due(clock_id, until), run_store.oldest_expired(clock_id, until))),
                   default=None)


def _tenant(cache: dict, tenant_id: str) -> Tenant:
    if cache.get(tenant_id) is None:
        cache[tenant_id] = tenant_store.get_tenant(tenant_id)
    return cache[tenant_id]
