"""Owns the billing-jobs and billing-decisions tables: create once per slot, lease, complete, recover.

A job is created Queued with an already-expired lease, so if nobody runs it (a crash right after the
create) the tick's recovery query finds it. Running it takes the lease with a conditional write; a run
whose lease expired (a crashed or frozen worker) can be taken over and re-run from the start, which the
billing ledger makes harmless."""
from datetime import datetime

from ..domain.jobs import UNFINISHED, BillingJob, Decision, JobStatus
from . import tables
from .billing_models import BillingJobModel, DecisionModel
from .leases import LEASE, Leases  # noqa: F401  (LEASE is part of this module's interface)
from .repository import TenantRepository


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
LEASES = Leases(BillingJobModel, waiting=JobStatus.QUEUED, running=JobStatus.RUNNING, index=BillingJobModel.unfinished)


def claim(tenant_id: str, job_id: str, owner: str, now: datetime) -> BillingJob | None:
    """Take the job's lease: Queued, or Running with an expired lease. None when someone else holds it."""
    return jobs.get(tenant_id, job_id) if LEASES.claim(tenant_id, job_id, owner, now) else None


def complete(tenant_id: str, job_id: str, owner: str, status: JobStatus, counts: dict, now: datetime,
             error: str | None = None) -> bool:
    """Only the lease holder finishes the job; it leaves the `unfinished` index."""
    M = BillingJobModel
    return LEASES.finish(tenant_id, job_id, owner, status, now,
                         [M.counts.set(counts)] + ([M.error.set(error[:2000])] if error else []))


def expired(clock_domain: str, now: datetime) -> list[tuple[str, str]]:
    """(tenantId, jobId) of unfinished jobs whose lease has run out: never started, or their runner died."""
    return LEASES.expired(clock_domain, now)


def _job_key(tenant_id: str, job_id: str) -> str:
    return f"{tenant_id}#{job_id}"


def record_decision(tenant_id: str, job_id: str, decision: Decision) -> None:
    tables.bind()
    DecisionModel.from_entity(decision, job_key=_job_key(tenant_id, job_id)).save()


def decisions(tenant_id: str, job_id: str) -> list[Decision]:
    tables.bind()
    return [item.to_entity() for item in DecisionModel.query(_job_key(tenant_id, job_id))]
