"""Owns the billing-jobs and billing-decisions tables: create once per slot, lease, complete, recover.

A job is created Queued with an already-expired lease, so if nobody runs it (a crash right after the
create) the tick's recovery query finds it. Running it takes the lease with a conditional write; a run
whose lease expired (a crashed or frozen worker) can be taken over and re-run from the start, which the
billing ledger makes harmless."""
from datetime import datetime, timedelta

from pynamodb.exceptions import UpdateError

from ..domain.jobs import UNFINISHED, BillingJob, Decision, JobStatus
from . import tables
from .billing_models import BillingJobModel, DecisionModel
from .repository import TenantRepository, condition_failed

LEASE = timedelta(minutes=10)


class JobRepository(TenantRepository):
    def __init__(self):
        super().__init__(BillingJobModel, "billing job")

    def derived(self, tenant_id: str, entity: BillingJob) -> dict:
        unfinished = entity.status in UNFINISHED
        return {"lease_partition": entity.clock_domain if unfinished else None,
                "schedule_key": f"{tenant_id}#{entity.schedule_id}" if entity.schedule_id else None}

    def list(self, tenant_id: str, *, schedule_id=None, **options):
        """Newest first, by scheduled time: a schedule's jobs, or all of the tenant's."""
        if schedule_id is not None:
            return self.list_by_index(tenant_id, BillingJobModel.by_schedule, f"{tenant_id}#{schedule_id}",
                                      newest_first=True, **options)
        return self.list_by_index(tenant_id, BillingJobModel.by_time, tenant_id, newest_first=True, **options)


jobs = JobRepository()


def claim(tenant_id: str, job_id: str, owner: str, now: datetime) -> BillingJob | None:
    """Take the job's lease: Queued, or Running with an expired lease. None when someone else holds it."""
    tables.bind()
    M = BillingJobModel
    free = (M.status == JobStatus.QUEUED.value) | ((M.status == JobStatus.RUNNING.value) & (M.lease_until < now))
    try:
        M(tenant_id=tenant_id, id=job_id).update(
            actions=[M.status.set(JobStatus.RUNNING.value), M.lease_until.set(now + LEASE), M.lease_owner.set(owner),
                     M.attempts.add(1), M.started_time.set(M.started_time | now)],
            condition=free)
    except UpdateError as error:
        if not condition_failed(error):
            raise
        return None
    return jobs.get(tenant_id, job_id)


def complete(tenant_id: str, job_id: str, owner: str, status: JobStatus, counts: dict, now: datetime,
             error: str | None = None) -> bool:
    """Only the lease holder finishes the job; it leaves the `unfinished` index."""
    tables.bind()
    M = BillingJobModel
    actions = [M.status.set(status.value), M.counts.set(counts), M.completed_time.set(now),
               M.lease_partition.remove(), M.lease_until.remove()]
    if error:
        actions.append(M.error.set(error[:2000]))
    try:
        M(tenant_id=tenant_id, id=job_id).update(actions=actions, condition=M.lease_owner == owner)
        return True
    except UpdateError as exc:
        if not condition_failed(exc):
            raise
        return False


def expired(clock_domain: str, now: datetime) -> list[tuple[str, str]]:
    """(tenantId, jobId) of unfinished jobs whose lease has run out: never started, or their runner died."""
    tables.bind()
    return [(item.tenant_id, item.id)
            for item in BillingJobModel.unfinished.query(clock_domain, BillingJobModel.lease_until < now)]


def _job_key(tenant_id: str, job_id: str) -> str:
    return f"{tenant_id}#{job_id}"


def record_decision(tenant_id: str, job_id: str, decision: Decision) -> None:
    tables.bind()
    DecisionModel.from_entity(decision, job_key=_job_key(tenant_id, job_id)).save()


def decisions(tenant_id: str, job_id: str) -> list[Decision]:
    tables.bind()
    return [item.to_entity() for item in DecisionModel.query(_job_key(tenant_id, job_id))]
