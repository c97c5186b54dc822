"""Billing jobs: one execution of a billing schedule (or an on-demand run), and its per-customer decisions."""
from dataclasses import dataclass
from datetime import date, datetime

from .enums import CanonicalEnum


class JobStatus(CanonicalEnum):
    QUEUED = "Queued"
    RUNNING = "Running"
    COMPLETED = "Completed"
    COMPLETED_WITH_ERRORS = "CompletedWithErrors"
    FAILED = "Failed"


UNFINISHED = (JobStatus.QUEUED, JobStatus.RUNNING)


class DecisionKind(CanonicalEnum):
    BILLED = "Billed"
    SKIPPED = "Skipped"
    ERROR = "Error"


@dataclass(frozen=True)
class BillingJob:
    id: str
    name: str  # BJ-00000001
    status: JobStatus
    clock_id: str
    target_date: date
    invoice_date: date
    scheduled_time: datetime  # the slot (or the request time of an on-demand run)
    created_by_id: str
    created_date: datetime
    schedule_id: str | None = None
    schedule_name: str | None = None
    is_catch_up: bool = False  # run for a slot the tick had missed
    activate_invoices: bool = False
    customer_filter: str | None = None
    order_filter: str | None = None
    product_filter: str | None = None
    bill_cycle_day_filter: str | None = None
    subscription_ids: tuple[str, ...] | None = None  # an explicit scope (order activation), else the filters
    attempts: int = 0
    started_time: datetime | None = None
    completed_time: datetime | None = None
    lease_until: datetime | None = None
    lease_owner: str | None = None
    counts: dict | None = None
    error: str | None = None
    units_total: int | None = None  # set when the job was split into work units (fan-out)
    units_finished: int = 0
    retries: int = 0  # new attempt series started by POST /billing/jobs/{id}:retry (each from a Failed job)


class UnitState(CanonicalEnum):
    PENDING = "Pending"
    DONE = "Done"
    FAILED = "Failed"


@dataclass(frozen=True)
class WorkUnit:
    """A slice of a fanned-out job: these customers are billed by one worker invocation."""
    job_id: str
    position: int
    customer_ids: tuple[str, ...]
    subscription_ids: tuple[str, ...] | None = None  # the scope's subscriptions of these customers at the split
    state: UnitState = UnitState.PENDING
    receives: int = 0
    error: str | None = None


def split(customer_ids, size: int) -> list[tuple[str, ...]]:
    """Deterministic slices (sorted ids), so a re-dispatch after a crash makes the same units again."""
    ordered = sorted(customer_ids)
    return [tuple(ordered[i:i + size]) for i in range(0, len(ordered), size)]


@dataclass(frozen=True)
class Decision:
    customer_id: str
    decision: str  # DecisionKind value
    reason: str | None = None
    invoice_id: str | None = None
    credit_memo_id: str | None = None
    lines: int = 0


def counts(decisions) -> dict:
    """Counts from the decision log, so a re-run job never counts a customer twice."""
    result = {"customers": 0, "billed": 0, "skipped": 0, "errors": 0, "invoices": 0, "creditMemos": 0}
    for d in decisions:
        result["customers"] += 1
        result[{"Billed": "billed", "Skipped": "skipped", "Error": "errors"}[d.decision]] += 1
        result["invoices"] += d.invoice_id is not None
        result["creditMemos"] += d.credit_memo_id is not None
    return result
