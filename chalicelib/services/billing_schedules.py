"""Billing schedules: create, change, activate, run; and the tick's source of due billing work."""
import logging
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta

from ..config import settings
from ..domain import billing_schedules as rules
from ..domain.billing_schedules import BillingSchedule, ScheduleStatus, ScheduleType
from ..domain.errors import conflict, invalid
from ..domain.billing_jobs import UNFINISHED, BillingJob, JobStatus
from ..domain.numbering import human_number
from ..domain.quotas import BILLING_SCHEDULES
from ..domain.tenants import LIVE_CLOCK, Tenant
from ..domain.timeutil import wall_now
from ..store import counters
from ..store import billing_schedules as store
from ..store import tenants as tenant_store
from . import billing_job_runner, billing_jobs, quotas
from .budget import Budget
from .ids import derived_id
from .context import RequestContext

schedules = store.schedules
log = logging.getLogger("billrun.billing")
CATCH_UP_GRACE = timedelta(minutes=5)  # a live slot run later than this was missed by the tick


def create(ctx: RequestContext, fields: dict) -> BillingSchedule:
    fields.setdefault("zone_id", ctx.tenant.timezone)
    fields.setdefault("schedule_start_date", ctx.today(fields["zone_id"]))
    status = fields.pop("status", ScheduleStatus.DRAFT)
    schedule = rules.require_future_slot(_bounded(ctx, rules.check(BillingSchedule(
        id=ctx.new_id(), name="", status=ScheduleStatus.DRAFT, clock_id=ctx.tenant.clock_id,
        created_by_id=ctx.actor_id, last_modified_by_id=ctx.actor_id, created_date=ctx.now,
        last_modified_date=ctx.now, **fields)), None), ctx.now)
    existing = schedules.find(ctx.tenant.id, schedule.id)  # an Idempotency-Key retry: no new number, no new slot
    if existing is not None:
        return existing
    with quotas.admitted(ctx.tenant.id, BILLING_SCHEDULES, schedule.id):
        schedule = schedules.create(ctx.tenant.id, replace(
            schedule, name=human_number("BS", counters.next_value(ctx.tenant.id, "BS"))))
    if status is ScheduleStatus.ACTIVE:
        return activate(ctx, [schedule.id])[0]
    return schedule


def update(ctx: RequestContext, schedule_id: str, changes: dict) -> BillingSchedule:
    current = schedules.get(ctx.tenant.id, schedule_id)
    updated = rules.require_future_slot(_bounded(ctx, rules.check(replace(
        current, **changes, last_modified_by_id=ctx.actor_id, last_modified_date=ctx.now)), current), ctx.now)
    if updated.status is ScheduleStatus.ACTIVE and _timing_changed(current, updated):
        updated = replace(updated, next_run_date=rules.first_slot(updated, ctx.now))
    return schedules.replace(ctx.tenant.id, updated, current)


def _bounded(ctx: RequestContext, schedule: BillingSchedule, before: BillingSchedule | None) -> BillingSchedule:
    limits = settings()
    return rules.require_bounds(schedule, before, ctx.today(schedule.zone_id), limits.min_slot_interval_seconds,
                                limits.max_catch_up_days)


def _timing_changed(before: BillingSchedule, after: BillingSchedule) -> bool:
    return (before.recurring_schedule, before.zone_id, before.schedule_start_date, before.schedule_type) != (
        after.recurring_schedule, after.zone_id, after.schedule_start_date, after.schedule_type)


def delete(ctx: RequestContext, schedule_id: str) -> None:
    current = schedules.get(ctx.tenant.id, schedule_id)
    if current.status is ScheduleStatus.ACTIVE:
        raise conflict("an Active schedule cannot be deleted; deactivate it first")
    schedules.delete(ctx.tenant.id, current)  # conditional: of concurrent or repeated deletes, one frees the slot
    quotas.release(ctx.tenant.id, BILLING_SCHEDULES)


def activate(ctx: RequestContext, schedule_ids: list[str]) -> list[BillingSchedule]:
    """Draft/Inactive -> Active. An OnDemand schedule whose time has come runs at once."""
    result = []
    for current in _all_or_none(ctx, schedule_ids):
        schedule_id = current.id
        activated = rules.activate(current, ctx.now)
        if activated is not current:
            activated = schedules.replace(ctx.tenant.id, replace(
                activated, last_modified_by_id=ctx.actor_id, last_modified_date=ctx.now), current)
        if activated.schedule_type is ScheduleType.ON_DEMAND and activated.next_run_date is not None \
                and activated.next_run_date <= ctx.now:
            try:
                _bill_slot(ctx.tenant, activated, activated.next_run_date, until=ctx.now)  # its one slot
            except Exception:  # the schedule is Active: its slot's job (or the slot) is the tick's to run again
                log.exception("billing schedule %s: its slot failed in the activation", schedule_id)
            activated = schedules.get(ctx.tenant.id, schedule_id)
        result.append(activated)
    return result


def deactivate(ctx: RequestContext, schedule_ids: list[str]) -> list[BillingSchedule]:
    currents = _all_or_none(ctx, schedule_ids)
    changed = {c.id: rules.deactivate(c) for c in currents if c.status is not ScheduleStatus.INACTIVE}  # all, or 409
    return [schedules.replace(ctx.tenant.id, replace(changed[c.id], last_modified_by_id=ctx.actor_id,
                                                     last_modified_date=ctx.now), c)
            if c.id in changed else c for c in currents]


def _all_or_none(ctx: RequestContext, schedule_ids: list[str]) -> list[BillingSchedule]:
    """Every id is read before any is changed: an unknown one is a 404 that leaves the others untouched."""
    return [schedules.get(ctx.tenant.id, schedule_id, "scheduleIds") for schedule_id in dict.fromkeys(schedule_ids)]


def bill_now(ctx: RequestContext, schedule_id: str, target_date: date | None, invoice_date: date | None):
    """An on-demand job for the schedule's scope, now (the schedule's own slots are untouched)."""
    schedule = schedules.get(ctx.tenant.id, schedule_id)
    default_target, default_invoice = rules.run_dates(schedule, ctx.now)
    job = billing_jobs.new_job(ctx.tenant, job_id=ctx.new_id(), scheduled_time=ctx.now,
                               target_date=target_date or default_target,
                               invoice_date=invoice_date or default_invoice, created_by_id=ctx.actor_id,
                               now=ctx.now, schedule=schedule)
    return billing_job_runner.bill_in_request(ctx.tenant, job.id, ctx.now)


def preview(ctx: RequestContext, schedule_id: str | None, filters: dict, target_date: date | None,
            invoice_date: date | None) -> dict:
    """A dry run for a schedule's scope (dates as its run now would use) or for filters (dates: today)."""
    schedule = schedules.get(ctx.tenant.id, schedule_id, "scheduleId") if schedule_id else None
    if schedule is not None and any(filters.values()):
        raise invalid("scheduleId", "give a schedule or filters, not both")
    default_target, default_invoice = rules.run_dates(schedule, ctx.now) if schedule else (ctx.today(), ctx.today())
    job = BillingJob(id="preview", name="", status=JobStatus.QUEUED, clock_id=ctx.tenant.clock_id,
                     target_date=target_date or default_target, invoice_date=invoice_date or default_invoice,
                     scheduled_time=ctx.now, created_by_id=ctx.actor_id, created_date=ctx.now,
                     schedule_id=schedule_id, activate_invoices=bool(schedule and schedule.activate_invoices),
                     **(billing_jobs.scope_of(schedule) if schedule else filters))
    return billing_jobs.preview(ctx.tenant, job, ctx.now)  # the scope's filters are validated there (400s)


def slots(ctx: RequestContext, schedule_id: str, count: int) -> list[datetime]:
    return rules.upcoming(schedules.get(ctx.tenant.id, schedule_id), ctx.now, count)


# --- the tick's source ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class SlotOutcome:
    """A slot's job as running it left it, and the schedule as moving past the slot left it (None: another
    runner had moved it)."""
    job: BillingJob
    schedule: BillingSchedule | None

    @property
    def settled(self) -> bool:
        """This runner moved the schedule past the slot and the slot's job finished (for good): the next slot
        need not read that job again."""
        return self.schedule is not None and self.job.status not in UNFINISHED

    @property
    def fresh_schedule(self) -> BillingSchedule | None:
        """The schedule as this runner's advance left it, when that was only a few requests ago (the job had
        nothing in scope): a read would hardly be fresher. After a longer job it may have been changed or
        deactivated meanwhile, so the tick reads it again."""
        return self.schedule if self.settled and not (self.job.counts or {}).get("customers") else None


def _bill_slot(tenant: Tenant, schedule: BillingSchedule, slot: datetime, until: datetime,
              previous: SlotOutcome | None = None) -> SlotOutcome | None:
    """Create the slot's job, move the schedule past the slot, run the job: each step safe to repeat.
    None, doing nothing, while another runner still holds the job of the schedule's previous slot.
    `previous`: this runner's run of the slot before, if any (settled, it spares reading that job)."""
    if not (previous is not None and previous.settled) and not _previous_slot_finished(tenant, schedule):
        return None
    target, invoice_date = rules.run_dates(schedule, slot)
    # A test clock replays time: documents are dated by the slot, as if the tick had fired then.
    now = wall_now() if tenant.clock_id == LIVE_CLOCK else slot
    job = billing_jobs.new_job(
        tenant, job_id=derived_id(schedule.id, slot.isoformat()), scheduled_time=slot,
        target_date=target, invoice_date=invoice_date, created_by_id=schedule.created_by_id, now=now,
        schedule=schedule, is_catch_up=tenant.clock_id == LIVE_CLOCK and slot < until - CATCH_UP_GRACE)
    moved = store.advance(tenant.id, schedule, slot, rules.following_slot(schedule, slot))
    return SlotOutcome(billing_job_runner.bill_job(tenant, job.id, now), moved)


def _previous_slot_finished(tenant: Tenant, schedule: BillingSchedule) -> bool:
    """A schedule's slots are billed in order. The job of its previous slot (lastRunDate) may be unfinished:
    never run (a crash after the schedule moved on) or held by a runner that crashed or is still working (a
    redelivered tick). Unless a live lease forbids it, that job runs here, first; otherwise the next slot waits
    for it, so a later slot's job never bills periods (catch-up) on the invoices of the wrong slot."""
    if schedule.last_run_date is None:
        return True
    previous_id = derived_id(schedule.id, schedule.last_run_date.isoformat())
    previous = billing_jobs.job_store.jobs.find(tenant.id, previous_id)
    if previous is None or previous.status not in UNFINISHED:
        return True
    now = wall_now() if tenant.clock_id == LIVE_CLOCK else previous.scheduled_time
    return billing_job_runner.bill_job(tenant, previous_id, now).status not in UNFINISHED


class BillingScheduleWork:
    """Registered with the tick: due schedules by index query, then jobs whose lease ran out."""
    name = "billingJobs"
    live_only = False

    def process_due(self, clock_id: str, until: datetime, budget: Budget) -> int:
        """One pass: at most `slots_per_pass` slots of each due schedule, in time order across schedules, while
        the budget lasts; a schedule further behind stays due for the next pass (its watermark says where)."""
        tenants: dict[str, Tenant] = {}
        batch = []
        for tenant_id, schedule_id in store.due(clock_id, until):
            tenant = tenants.setdefault(tenant_id, tenant_store.get_tenant(tenant_id))
            schedule = schedules.find(tenant_id, schedule_id)
            if schedule is not None:
                batch += [(slot, tenant, schedule) for slot in
                          rules.slots_until(schedule, until, settings().slots_per_pass)]
        batch.sort(key=lambda item: (item[0], item[2].id))  # in time order across schedules
        return self._bill_slots(batch, until, budget) + self._recover(clock_id, tenants, budget)

    @staticmethod
    def _bill_slots(batch: list, until: datetime, budget: Budget) -> int:
        ran = 0
        waiting: set[str] = set()  # schedules whose previous slot's job another runner holds, or that failed
        last: dict[str, SlotOutcome] = {}  # per schedule: this pass's latest slot run
        for slot, tenant, schedule in batch:
            if schedule.id in waiting:
                continue
            if budget.spent():
                break
            previous = last.get(schedule.id)
            current = (previous and previous.fresh_schedule) or schedules.get(tenant.id, schedule.id)
            if current.next_run_date != slot:  # another tick took it meanwhile
                continue
            try:
                run = _bill_slot(tenant, current, slot, until, previous)
            except Exception:  # one schedule's failure must not stop the others; its slot stays due
                log.exception("billing schedule %s slot %s failed", schedule.id, slot.isoformat())
                run = None
            if run is None:
                waiting.add(schedule.id)
            else:
                ran, last[schedule.id] = ran + 1, run
        return ran

    @staticmethod
    def _recover(clock_id: str, tenants: dict, budget: Budget) -> int:
        """Jobs whose lease ran out (a crashed runner's): run again; counted when they finish."""
        ran = 0
        for tenant_id, job_id in billing_jobs.job_store.expired(clock_id, wall_now()):
            if budget.spent():
                break
            try:
                tenant = tenants.setdefault(tenant_id, tenant_store.get_tenant(tenant_id))
                job = billing_jobs.job_store.jobs.get(tenant_id, job_id)
                now = wall_now() if clock_id == LIVE_CLOCK else job.scheduled_time
                ran += billing_job_runner.bill_job(tenant, job_id, now).status not in UNFINISHED
            except Exception:  # one job's failure must not stop the others; it is tried again, up to its cap
                log.exception("billing job %s of tenant %s failed", job_id, tenant_id)
                ran += 1  # an attempt ran (and counts toward the cap): a test clock's advance goes on to the next
        return ran

    def oldest_due(self, clock_id: str, until: datetime) -> datetime | None:
        return min(filter(None, (store.oldest_due(clock_id, until),
                                 billing_jobs.job_store.oldest_expired(clock_id, until))), default=None)
