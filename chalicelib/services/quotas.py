"""Per-tenant quotas (docs/limits.md, Quotas): admission before an API request creates something, release after it
removes it. The tick's own work is never admitted: quotas bound what requests can buy.

Counted quotas (billing schedules, recurring invoices): one conditional update admits (store/quotas.py), so of
concurrent creates at limit - 1 exactly one passes, and an Idempotency-Key retry (the same ids, the same entry)
is admitted once. An admission is noted as an entry until its object is written, which makes the count
self-healing: only when an admission fails at the limit is the tenant's partition recounted, and the count set
to what exists plus the entries still in flight (younger than IN_FLIGHT, object not written yet), by
compare-and-set. A request that died between admission and write (or a delete that died before its release)
thus costs a slot until the next recount at the limit, never for good.

Open jobs: an entry per invoice job or bill run a request queued, dropped when the job finishes; at the limit,
entries whose job has finished (or never appeared, IN_FLIGHT after admission) are dropped before refusing."""
from contextlib import contextmanager
from datetime import datetime, timedelta

from ..config import settings
from ..domain.bill_runs import UNFINISHED as UNFINISHED_RUNS
from ..domain.errors import BillrunError, conflict
from ..domain.invoice_jobs import InvoiceJobStatus
from ..domain.quotas import (BILLING_SCHEDULES, OPEN_JOBS, RECURRING_INVOICES, Quota, exceeded,
                             too_many_open_jobs)
from ..domain.timeutil import wall_now
from ..store import bill_runs, invoice_jobs
from ..store import quotas as store
from ..store import recurring_invoices, billing_schedules as schedules

UNFINISHED_INVOICE_JOBS = (InvoiceJobStatus.QUEUED, InvoiceJobStatus.RUNNING)
IN_FLIGHT = timedelta(minutes=10)  # twice the Lambda timeout (300 s): an entry this old without its object died
ATTEMPTS = 5  # recounts that lose a compare-and-set to a concurrent change are tried again, this often
BILL_RUN, INVOICE_JOB = "billRun", "invoiceJob"


def _limit(quota: Quota) -> int:
    return getattr(settings(), quota.limit_field)


# --- counted quotas ---------------------------------------------------------------------------------------------

def _object_id(entry: str) -> str:
    """An entry is the object's id, or `id@version` for a restore (each restore admits anew)."""
    return entry.partition("@")[0]


def _template_counted(tenant_id: str, template_id: str) -> bool:
    template = recurring_invoices.templates.find(tenant_id, template_id)
    return template is not None and not template.archived


def _schedule_counted(tenant_id: str, schedule_id: str) -> bool:
    return schedules.schedules.find(tenant_id, schedule_id) is not None


COUNTED = {  # quota name: (is this object counted, how many the tenant has)
    BILLING_SCHEDULES.name: (_schedule_counted, schedules.count),
    RECURRING_INVOICES.name: (_template_counted, recurring_invoices.count_unarchived),
}


def admit(tenant_id: str, quota: Quota, entry: str) -> None:
    """Takes a slot for the object `entry` names (again: a no-op); 409 QuotaExceeded when none is free."""
    limit = _limit(quota)
    for _ in range(ATTEMPTS):
        now = wall_now()
        if store.admit(tenant_id, quota.name, entry, limit, now):
            return
        seen = store.read(tenant_id, quota.name)
        if seen is not None and entry in seen.entries:
            return  # admitted by an earlier attempt of this request (an Idempotency-Key retry after a crash)
        count, in_flight = _recount(tenant_id, quota, seen, now)
        unchanged = seen is not None and (seen.count, seen.entries) == (count, in_flight)
        if (unchanged or store.correct(tenant_id, quota.name, seen, count, in_flight)) and count >= limit:
            raise exceeded(quota, limit)
    raise conflict(f"{quota.name}: the quota changed under concurrent requests; retry", "ConcurrentModification")


def _recount(tenant_id: str, quota: Quota, seen: store.Tally | None, now: datetime):
    """(count, entries still in flight). Entries are looked at before the count is read, so an object written
    in between is counted twice (the safe side), never missed."""
    counted, count = COUNTED[quota.name]
    in_flight = {entry: at for entry, at in (seen.entries if seen else {}).items()
                 if now - at < IN_FLIGHT and not counted(tenant_id, _object_id(entry))}
    return count(tenant_id) + len(in_flight), in_flight


def confirm(tenant_id: str, quota: Quota, entry: str) -> None:
    store.confirm(tenant_id, quota.name, entry)


def release(tenant_id: str, quota: Quota) -> None:
    """After a counted object was deleted or archived: its slot is free."""
    store.release(tenant_id, quota.name)


@contextmanager
def admitted(tenant_id: str, quota: Quota, entry: str):
    """Admission around the write of one object. A refusal (BillrunError: nothing was written) gives the slot
    back; any other failure leaves it admitted, since the write may have happened: a retry reuses it, a recount
    at the limit frees it."""
    admit(tenant_id, quota, entry)
    try:
        yield
    except BillrunError:
        store.abort(tenant_id, quota.name, entry)
        raise
    confirm(tenant_id, quota, entry)


# --- open jobs --------------------------------------------------------------------------------------------------

def _entry(kind: str, job_id: str) -> str:
    return f"{kind}:{job_id}"


def admit_job(tenant_id: str, kind: str, job_id: str) -> None:
    """The job an API request is about to queue takes a slot (again: a no-op); 429 TooManyOpenJobs when the
    tenant's open jobs fill them all."""
    limit, entry = _limit(OPEN_JOBS), _entry(kind, job_id)
    for _ in range(ATTEMPTS):
        now = wall_now()
        if store.add_open(tenant_id, OPEN_JOBS.name, entry, limit, now):
            return
        seen = store.read(tenant_id, OPEN_JOBS.name)
        if seen is None:
            store.start_open(tenant_id, OPEN_JOBS.name)  # the tenant's first job
        elif len(seen.entries) >= limit:
            done = _finished(tenant_id, seen.entries, now)
            if not done:
                break
            store.drop(tenant_id, OPEN_JOBS.name, done)
        # else: room after all (a concurrent request made the item, or finished a job): add again
    raise too_many_open_jobs(limit)


def finished_job(tenant_id: str, kind: str, job_id: str) -> None:
    """A job a request queued has finished: its slot is free."""
    store.drop(tenant_id, OPEN_JOBS.name, [_entry(kind, job_id)])


def _finished(tenant_id: str, entries: dict[str, datetime], now: datetime) -> list[str]:
    """The entries whose job has finished, or never appeared though admitted IN_FLIGHT ago."""
    unfinished = _unfinished(tenant_id, list(entries))
    return [entry for entry, at in entries.items()
            if unfinished.get(entry) is False or (entry not in unfinished and now - at >= IN_FLIGHT)]


def _unfinished(tenant_id: str, entries: list[str]) -> dict[str, bool]:
    """{entry: whether its job is unfinished} for the entries whose job exists (one BatchGet per table)."""
    ids: dict[str, list[str]] = {BILL_RUN: [], INVOICE_JOB: []}
    for entry in entries:
        kind, _, job_id = entry.partition(":")
        ids.setdefault(kind, []).append(job_id)
    found = {_entry(BILL_RUN, i): s in UNFINISHED_RUNS
             for i, s in bill_runs.statuses(tenant_id, ids[BILL_RUN]).items()}
    found |= {_entry(INVOICE_JOB, i): s in UNFINISHED_INVOICE_JOBS
              for i, s in invoice_jobs.statuses(tenant_id, ids[INVOICE_JOB]).items()}
    return found
