"""Owns the billing-jobs, billing-decisions and billing-job-units tables: create once per slot, lease,
complete, recover; and the work units a large job is split into (services/fanout.py).

A job is created Queued with an already-expired lease, so if nobody runs it (a crash right after the
create) the tick's recovery query finds it. Running it takes the lease with a conditional write; a run
whose lease expired (a crashed or frozen worker) can be taken over and re-run from the start, which the
billing ledger makes harmless."""
from datetime import datetime

from pynamodb.exceptions import DoesNotExist, PutError

from ..domain.billing_jobs import UNFINISHED, BillingJob, Decision, JobStatus, UnitState, WorkUnit
from . import tables
from .batch import put_many
from .billing_models import BillingJobModel, DecisionModel, WorkUnitModel
from .leases import LEASE, Leases  # noqa: F401  (LEASE is part of this module's interface)
from .repository import TenantRepository, condition_failed, update_if


class JobRepository(TenantRepository):
    def __init__(self):
        super().__init__(BillingJobModel, "billing job")

    def derived(self, tenant_id: str, entity: BillingJob) -> dict:
        unfinished = entity.status in UNFINISHED
        return {"lease_partition": entity.clock_id if unfinished else None,
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
    """Take the job's lease: Queued, or Running with an expired lease. The job as taken; None when someone else
    holds it."""
    return LEASES.take(tenant_id, job_id, owner, now)


def complete(tenant_id: str, job_id: str, owner: str | None, status: JobStatus, counts: dict, now: datetime,
             error: str | None = None) -> BillingJob | None:
    """The lease holder finishes the job (owner None: whoever sees its last unit finish); it leaves the index.
    The job as finished; None when this call did not finish it. An earlier attempt's error goes with it."""
    M = BillingJobModel
    return LEASES.close(tenant_id, job_id, owner, status, now,
                        [M.counts.set(counts), M.error.set(error[:2000]) if error else M.error.remove()])


def attempt_failed(tenant_id: str, job_id: str, owner: str, error: str, retry_at: datetime) -> bool:
    """The lease holder's attempt raised: its error is kept (the reason the job gives if it reaches the cap) and
    the lease is given up, to end at `retry_at`, when recovery tries again (False: another runner holds the job)."""
    M = BillingJobModel
    return LEASES.release(tenant_id, job_id, owner, retry_at, [M.error.set(error[:2000])])


def fail(tenant_id: str, job_id: str, owner: str, counts: dict, now: datetime, error: str) -> BillingJob | None:
    """The lease holder finishes a job past its attempt cap: Failed with its reason; it leaves the index."""
    M = BillingJobModel
    return LEASES.close(tenant_id, job_id, owner, JobStatus.FAILED, now, [M.counts.set(counts),
                                                                        M.error.set(error[:2000])])


def restart(tenant_id: str, job_id: str, clock_id: str, now: datetime) -> BillingJob | None:
    """Failed -> Queued with a new attempt series (and an expired lease, so recovery finds it if it is not run):
    of concurrent or repeated retries, one restarts it; None for the others."""
    M = BillingJobModel
    return LEASES.reopen(tenant_id, job_id, JobStatus.FAILED, clock_id, now, [M.retries.add(1)])


def expired(clock_id: str, now: datetime) -> list[tuple[str, str]]:
    """(tenantId, jobId) of unfinished jobs whose lease has run out: never started, or their runner died."""
    return LEASES.expired(clock_id, now)


def unfinished(clock_id: str) -> list[tuple[str, str]]:
    """(tenantId, jobId) of the clock's Queued or Running jobs, their lease run out or not."""
    return LEASES.unfinished(clock_id)


def any_unfinished(clock_id: str) -> bool:
    """Whether a billing job of the domain is Queued or Running (e.g. its work units are with the workers)."""
    return LEASES.any_unfinished(clock_id)


def oldest_expired(clock_id: str, now: datetime) -> datetime | None:
    """When the longest-expired lease of an unfinished job ran out (None: none has)."""
    return LEASES.oldest_expired(clock_id, now)


def _job_key(tenant_id: str, job_id: str) -> str:
    return f"{tenant_id}#{job_id}"


def record_decision(tenant_id: str, job_id: str, decision: Decision) -> None:
    tables.bind()
    DecisionModel.from_entity(decision, job_key=_job_key(tenant_id, job_id)).save()


def record_decisions(tenant_id: str, job_id: str, decisions: list[Decision]) -> None:
    """A page's decisions in batched writes (each keyed by job and customer: a re-run writes the same again)."""
    put_many(DecisionModel.from_entity(d, job_key=_job_key(tenant_id, job_id)) for d in decisions)


def decisions(tenant_id: str, job_id: str) -> list[Decision]:
    tables.bind()
    return [item.to_entity() for item in DecisionModel.query(_job_key(tenant_id, job_id))]


# --- work units of a fanned-out job ---------------------------------------------------------------------------

def _unit_key(job_id: str, position: int) -> str:
    return f"{job_id}#{position:05d}"


def save_unit(tenant_id: str, unit: WorkUnit) -> WorkUnit:
    """Writes the unit once; a re-dispatch finds the one already there (and its state)."""
    tables.bind()
    try:
        WorkUnitModel.from_entity(unit, tenant_id=tenant_id, unit_key=_unit_key(unit.job_id, unit.position)).save(
            condition=WorkUnitModel.unit_key.does_not_exist())
        return unit
    except PutError as error:
        if not condition_failed(error):
            raise
        return find_unit(tenant_id, unit.job_id, unit.position)


def find_unit(tenant_id: str, job_id: str, position: int) -> WorkUnit | None:
    tables.bind()
    try:
        return WorkUnitModel.get(tenant_id, _unit_key(job_id, position), consistent_read=True).to_entity()
    except DoesNotExist:
        return None


def units(tenant_id: str, job_id: str) -> list[WorkUnit]:
    tables.bind()
    return [item.to_entity() for item in WorkUnitModel.query(
        tenant_id, WorkUnitModel.unit_key.startswith(f"{job_id}#"), consistent_read=True)]


def received(tenant_id: str, unit: WorkUnit) -> None:
    tables.bind()
    WorkUnitModel(tenant_id=tenant_id, unit_key=_unit_key(unit.job_id, unit.position)).update(
        actions=[WorkUnitModel.receives.add(1)])


def finish_unit(tenant_id: str, unit: WorkUnit, state: UnitState, error: str | None = None) -> bool:
    """Pending -> Done | Failed, once: True only for the call that moved it (so it is counted once)."""
    M = WorkUnitModel
    actions = [M.state.set(state.value)] + ([M.error.set(error[:2000])] if error else [])
    return update_if(M(tenant_id=tenant_id, unit_key=_unit_key(unit.job_id, unit.position)), actions,
                   M.state == UnitState.PENDING.value)


def start_units(tenant_id: str, job_id: str, owner: str, total: int, now: datetime) -> bool:
    """The lease holder records how many units the job was split into (and extends its lease)."""
    return LEASES.renew(tenant_id, job_id, owner, now, [BillingJobModel.units_total.set(total)])


def unit_finished(tenant_id: str, job_id: str) -> int:
    """Counts one more finished unit; answers the new count (atomic, so the last finisher knows it is last)."""
    tables.bind()
    M = BillingJobModel
    item = M(tenant_id=tenant_id, id=job_id)
    item.update(actions=[M.units_finished.add(1)])
    return int(item.units_finished)


def complete_fanned_out(tenant_id: str, job_id: str, status: JobStatus, counts: dict, now: datetime,
                        error: str | None = None) -> bool:
    """Whoever sees the last unit finish completes the job (no lease needed: the condition makes it once)."""
    return complete(tenant_id, job_id, None, status, counts, now, error) is not None
