"""Runs a billing job under its lease: its scope billed page by page in this process (billing_pages), or, when
the scope is large, split into work units for SQS workers (fanout); it completes with counts from its decision log.

1. Each slot's job has an id derived from (schedule, slot), created by a conditional put: redelivered or
   concurrent ticks share one job, and only the holder of its lease runs it (store/billing_jobs.py).
2. A job whose lease ran out (its runner died) is run again by whoever takes the lease next: billing_pages makes
   that harmless, and the decision log is keyed by customer, so counts never count a customer twice.
3. An attempt that raises keeps its error on the job and gives its lease up, so the next pass tries again. Past
   the attempt cap invoice jobs have too (store/leases.py) the job is Failed with the last error as its reason
   and its schedule's next slot runs; POST /billing/jobs/{id}:retry (retry) runs it again, in a new attempt
   series, exactly once all the same (1.). A fanned-out job is not capped: its units are (max_receives)."""
import logging
import uuid
from datetime import datetime, timedelta

from .. import observability
from ..domain.billing_jobs import BillingJob, Decision, DecisionKind, JobStatus, counts
from ..domain.errors import conflict
from ..domain.tenants import LIVE_CLOCK, Tenant
from ..domain.timeutil import wall_now
from ..store import billing_jobs as job_store
from ..store.leases import backoff, gave_up, past_cap
from . import billing_jobs, billing_pages, fanout

log = logging.getLogger("billrun.billing_jobs")


def bill_job(tenant: Tenant, job_id: str, now: datetime) -> BillingJob:
    """Runs the job if its lease can be taken; `now` is the tenant's instant the documents are dated by."""
    with observability.correlated(tenantId=tenant.id, jobId=job_id):
        return _bill_job(tenant, job_id, now)


def bill_in_request(tenant: Tenant, job_id: str, now: datetime) -> BillingJob:
    """bill_job for a request that starts a job (`:run`, an OnDemand activation, the first invoice, `:retry`): an
    attempt that raises is the job's to report (its error is kept and recovery tries again, up to the cap), not a
    500 for a request whose own change was made; the answer is the job as it is then."""
    try:
        return bill_job(tenant, job_id, now)
    except Exception:
        log.exception("billing job %s failed in its request; recovery tries it again", job_id)
        return job_store.jobs.get(tenant.id, job_id)


def retry(tenant: Tenant, job_id: str) -> BillingJob:
    """A Failed job runs again now, its attempts counted afresh; 409 JobNotFailed for a job that is not Failed
    (never failed, or restarted already by an earlier retry)."""
    job = job_store.jobs.get(tenant.id, job_id)
    restarted = job_store.restart(tenant.id, job_id, job.clock_id, wall_now()) if job.status is JobStatus.FAILED \
        else None
    if restarted is None:  # not Failed, or a concurrent retry restarted it first (named as it is now)
        status = job.status if job.status is not JobStatus.FAILED else job_store.jobs.get(tenant.id, job_id).status
        raise conflict(f"billing job {job.name} is {status.value}: only a Failed job can be retried", "JobNotFailed")
    log.info("billing job %s retried", job.name, extra={"jobName": job.name, "retries": job.retries + 1})
    return bill_in_request(tenant, job_id, wall_now() if tenant.clock_id == LIVE_CLOCK else job.scheduled_time)


def _bill_job(tenant: Tenant, job_id: str, now: datetime) -> BillingJob:
    owner = uuid.uuid4().hex
    job = job_store.claim(tenant.id, job_id, owner, wall_now())
    if job is None:
        return job_store.jobs.get(tenant.id, job_id)
    log.info("billing job %s started (attempt %d)", job.name, job.attempts,
             extra={"jobName": job.name, "attempt": job.attempts, "scheduleId": job.schedule_id})
    if job.units_total is None and past_cap(job.attempts):
        return _give_up(tenant, job, owner)
    try:
        return _attempt(tenant, job, owner, now)
    except Exception as error:
        # A live job waits out a backoff; a test clock's advance retries at once (it would wait in real time)
        wait = backoff(job.attempts) if job.clock_id == LIVE_CLOCK else timedelta(0)
        job_store.attempt_failed(tenant.id, job.id, owner, f"{type(error).__name__}: {error}", wall_now() + wait)
        raise


def _give_up(tenant: Tenant, job: BillingJob, owner: str) -> BillingJob:
    tally, finished = counts(job_store.decisions(tenant.id, job.id)), wall_now()
    done = job_store.fail(tenant.id, job.id, owner, tally, finished, gave_up(job.error))
    if done is None:
        return job_store.jobs.get(tenant.id, job.id)
    log.error("billing job %s failed: %s", job.name, done.error, extra={"jobName": job.name, "status": "Failed"})
    billing_jobs.report_finished(tenant.id, job, JobStatus.FAILED, tally, finished, fanned_out=False)
    return done


def _attempt(tenant: Tenant, job: BillingJob, owner: str, now: datetime) -> BillingJob:
    job_id = job.id
    if job.units_total is not None:  # split before; its runner died or a count was lost
        return fanout.resume(tenant, job, owner, now)
    scope = billing_jobs.find_scope(tenant.id, job)
    if fanout.should_split(scope):
        return fanout.dispatch(tenant, job, scope, owner, now)
    recorded, errors = _bill_scope(tenant, job, scope, now)
    status = JobStatus.COMPLETED_WITH_ERRORS if errors else JobStatus.COMPLETED
    # A first attempt wrote the whole decision log itself; a later one also finds the earlier attempts' there
    decided = recorded.values() if job.attempts == 1 and not job.retries else job_store.decisions(tenant.id, job.id)
    tally, finished = counts(decided), wall_now()
    done = job_store.complete(tenant.id, job.id, owner, status, tally, finished, "; ".join(errors) or None)
    if done is None:  # this lease ran out and another runner took the job over: the stored job is its
        return job_store.jobs.get(tenant.id, job_id)
    billing_jobs.report_finished(tenant.id, job, status, tally, finished, fanned_out=False)
    return done


def _bill_scope(tenant: Tenant, job: BillingJob, scope: billing_jobs.Scope,
                now: datetime) -> tuple[dict[str, Decision], list[str]]:
    """Bills the customers in scope page by page (billing_pages) and logs every decision; answers the decisions
    logged (by customer, as the log keys them) and the customers' errors."""
    skipped = [scope.skipped(c) for c in sorted(scope.customers) if not scope.subscriptions.get(c)]
    if skipped:
        job_store.record_decisions(tenant.id, job.id, skipped)
    runs = billing_pages.bill(tenant, job, billing_jobs.billable(scope), scope.product_names, now)
    recorded = {d.customer_id: d for d in skipped + [run.decision for run in runs]}
    errors = [f"{d.customer_id}: {d.reason}" for d in recorded.values() if d.decision == DecisionKind.ERROR.value]
    return recorded, errors
