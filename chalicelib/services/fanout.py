"""Fan-out: a billing job whose scope has more customers than `fanout_customers` is split into work units that
SQS workers (app.worker) bill, so no single Lambda invocation has to bill the whole job.

- The job's runner (it holds the lease) finds the scope, records "filtered out" decisions, writes the units
  (slices of the sorted customer ids: the same units on every re-run), sets units_total and sends one
  message per unit still Pending. The job stays Running, in the `unfinished` index.
- A worker bills its unit's customers with the same page code (billing_pages) as a single-process run,
  reading the subscriptions the unit names (the scope's at the split: one added later is the next job's) by
  id. A unit already Done or Failed is a no-op (a redelivered message). A customer that fails makes the whole message fail after
  the others were tried, so SQS delivers it again (billing is idempotent per customer: what was billed stays
  billed once). On the last delivery (max_receives) the unit is marked Failed with the reasons, as Error
  decisions, and the message is still failed so it lands in the dead-letter queue.
- Each unit that leaves Pending counts once toward units_finished; the worker that counts the last one
  completes the job (Completed, or CompletedWithErrors naming the failed units).
- If a runner dies mid-dispatch, or a count is lost in a crash, the job's lease expires and the tick's
  recovery runs it again: it re-sends the units still Pending, or completes the job when none are."""
import logging
from datetime import datetime

from .. import observability
from ..config import settings
from ..domain.billing_jobs import BillingJob, Decision, DecisionKind, JobStatus, UnitState, WorkUnit, counts, split
from ..domain.tenants import Tenant
from ..domain.timeutil import wall_now
from ..store import billing_jobs as job_store
from ..store import work_queue
from ..store.tenants import get_tenant
from . import billing_jobs, billing_pages, clock_messages
from .budget import Budget

log = logging.getLogger("billrun.fanout")


def should_split(scope: billing_jobs.Scope) -> bool:
    return len(scope.subscriptions) > settings().fanout_customers


def dispatch(tenant: Tenant, job: BillingJob, scope: billing_jobs.Scope, owner: str, now: datetime) -> BillingJob:
    """Splits the job and sends its Pending units; `now` is the tenant's instant documents are dated by."""
    for customer_id in sorted(scope.customers):
        if not scope.subscriptions.get(customer_id):
            job_store.record_decision(tenant.id, job.id, scope.skipped(customer_id))
    slices = split([c for c in scope.customers if scope.subscriptions.get(c)], settings().unit_customers)
    units = [job_store.save_unit(tenant.id, WorkUnit(job.id, i, ids, tuple(
        s.id for c in ids for s in scope.subscriptions[c]))) for i, ids in enumerate(slices)]
    if not job_store.start_units(tenant.id, job.id, owner, len(units), wall_now()):
        return job_store.jobs.get(tenant.id, job.id)  # another runner took the job over
    pending = _send_pending(tenant.id, job.id, units, now)
    log.info("billing job %s fanned out: %d units", job.name, len(units),
             extra={"jobName": job.name, "units": len(units), "sent": len(pending)})
    if not pending:
        finish_job(tenant.id, job.id)
    return job_store.jobs.get(tenant.id, job.id)


def handle(message: dict, receive_count: int) -> None:
    """One SQS message: bill one unit. Raises (so SQS redelivers) when any of its customers failed."""
    tenant_id, job_id, position = message["tenantId"], message["jobId"], int(message["unit"])
    with observability.correlated(tenantId=tenant_id, jobId=job_id, unit=position):
        _handle(tenant_id, job_id, position, message, receive_count)


def _handle(tenant_id: str, job_id: str, position: int, message: dict, receive_count: int) -> None:
    unit = job_store.find_unit(tenant_id, job_id, position)
    job = job_store.jobs.find(tenant_id, job_id)
    if unit is None or job is None or unit.state is not UnitState.PENDING or job.status is not JobStatus.RUNNING:
        return  # redelivered after the unit finished, or the job is gone or done: nothing to do
    job_store.received(tenant_id, unit)
    tenant = get_tenant(tenant_id)
    now = datetime.fromisoformat(message["now"])
    failures = bill_unit(tenant, job, unit, now)
    if not failures:
        if job_store.finish_unit(tenant_id, unit, UnitState.DONE):
            log.info("work unit %d of billing job %s done", position, job.name,
                     extra={"jobName": job.name, "customers": len(unit.customer_ids), "receives": receive_count})
            _count(tenant_id, job_id)
        return
    reasons = "; ".join(f"{c}: {e}" for c, e in failures.items())
    if receive_count >= settings().max_receives:
        for customer_id, error in failures.items():
            job_store.record_decision(tenant_id, job_id, Decision(customer_id, DecisionKind.ERROR.value, error[:500]))
        if job_store.finish_unit(tenant_id, unit, UnitState.FAILED, reasons):
            log.error("work unit %d of billing job %s failed after %d deliveries", position, job.name,
                      receive_count, extra={"jobName": job.name, "failedCustomers": len(failures)})
            observability.emit({observability.UNITS_FAILED: 1}, jobName=job.name)
            _count(tenant_id, job_id)
    raise UnitFailed(f"unit {position} of job {job_id}: {reasons}"[:2000])


class UnitFailed(Exception):
    """Some customers of a unit could not be billed: the message is failed so SQS delivers it again."""


def bill_unit(tenant: Tenant, job: BillingJob, unit: WorkUnit, now: datetime) -> dict[str, str]:
    """Bills the unit's customers (scope re-read for exactly these customers) as a single-process job bills a
    page; {customerId: error} of those that failed (their Error decisions are written on the last delivery)."""
    # a unit split before it knew its subscriptions (subscription_ids None) finds them by customer
    scope = billing_jobs.find_scope(tenant.id, billing_jobs.restricted(job, unit.customer_ids, unit.subscription_ids))
    gone = [c for c in unit.customer_ids if not scope.subscriptions.get(c)]  # changed since the split
    if gone:
        job_store.record_decisions(tenant.id, job.id, [scope.skipped(c) for c in gone])
    runs = billing_pages.bill(tenant, job, billing_jobs.billable(scope, unit.customer_ids), scope.product_names, now,
                              record_errors=False)
    return {run.decision.customer_id: run.decision.reason for run in runs
            if run.decision.decision == DecisionKind.ERROR.value}


def bill_held_units(tenant: Tenant, budget: Budget) -> int:
    """A test clock's advance bills the Pending units of its clock's fanned-out jobs itself, as a worker would (at
    the job's documents instant: its slot), so that it never answers Ready while one is Running. A unit a worker
    bills meanwhile is billed once all the same (billing is idempotent per customer) and counted once
    (finish_unit); a unit with failures (or that raises) stays Pending for the workers' deliveries and their
    dead-letter rule. A job with no unit left Pending (its last count lost) is completed here. Answers how many
    units this call finished."""
    finished = 0
    for _, job_id in job_store.unfinished(tenant.clock_id):
        job = job_store.jobs.find(tenant.id, job_id)
        if job is None or job.status is not JobStatus.RUNNING or job.units_total is None:
            continue
        for unit in [u for u in job_store.units(tenant.id, job_id) if u.state is UnitState.PENDING]:
            if budget.spent():
                return finished
            finished += _bill_held(tenant, job, unit)
        finish_job(tenant.id, job_id)  # a no-op unless no unit is Pending and the job is still Running
    return finished


def _bill_held(tenant: Tenant, job: BillingJob, unit: WorkUnit) -> int:
    with observability.correlated(tenantId=tenant.id, jobId=job.id, unit=unit.position):
        try:
            failures = bill_unit(tenant, job, unit, job.scheduled_time)
        except Exception:  # the unit's message is still the workers': the advance goes on with the others
            log.exception("work unit %d of billing job %s failed in the advance", unit.position, job.name)
            return 0
    if failures or not job_store.finish_unit(tenant.id, unit, UnitState.DONE):
        return 0
    _count(tenant.id, job.id)
    return 1


def _count(tenant_id: str, job_id: str) -> None:
    finished = job_store.unit_finished(tenant_id, job_id)
    job = job_store.jobs.get(tenant_id, job_id)
    if job.units_total is not None and finished >= job.units_total:
        finish_job(tenant_id, job_id)


def finish_job(tenant_id: str, job_id: str) -> bool:
    """Completes the job when no unit is Pending any more; the counts come from the decision log."""
    units = job_store.units(tenant_id, job_id)
    if any(u.state is UnitState.PENDING for u in units):
        return False
    failed = [u for u in units if u.state is UnitState.FAILED]
    status = JobStatus.COMPLETED_WITH_ERRORS if failed else JobStatus.COMPLETED
    error = "; ".join(f"unit {u.position}: {u.error}" for u in failed) or None
    tally, finished = counts(job_store.decisions(tenant_id, job_id)), wall_now()
    done = job_store.complete_fanned_out(tenant_id, job_id, status, tally, finished, error)
    if done:  # of workers racing to finish the job, one only gets here
        job = job_store.jobs.get(tenant_id, job_id)
        billing_jobs.report_finished(tenant_id, job, status, tally, finished,
                                     fanned_out=True, units=len(units), failedUnits=len(failed))
        clock_messages.job_finished(tenant_id, job.clock_id)  # a test clock's advance waiting for it goes on
    return done


def resume(tenant: Tenant, job: BillingJob, owner: str, now: datetime) -> BillingJob:
    """A fanned-out job whose lease ran out: complete it, or re-send the units still Pending (a unit in flight
    may run twice then, which billing's idempotency makes harmless) and hold the lease again."""
    if not finish_job(tenant.id, job.id) and job_store.start_units(tenant.id, job.id, owner, job.units_total,
                                                                   wall_now()):
        _send_pending(tenant.id, job.id, job_store.units(tenant.id, job.id), now)
    return job_store.jobs.get(tenant.id, job.id)


def _send_pending(tenant_id: str, job_id: str, units: list[WorkUnit], now: datetime) -> list[WorkUnit]:
    """One message per unit still Pending; answers those units."""
    pending = [u for u in units if u.state is UnitState.PENDING]
    work_queue.send([{"tenantId": tenant_id, "jobId": job_id, "unit": u.position, "now": now.isoformat()}
                     for u in pending])
    return pending
