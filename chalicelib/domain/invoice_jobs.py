"""Invoice jobs: one bulk operation (activate, cancel, delete) over more invoices than one request handles.

A job runs in two phases. Selecting: the filter is evaluated page by page and each matching invoice gets a
Pending result (for activation the invoice also moves to PendingActivation, so everyone sees it is on
its way). Applying: each Pending result is carried out and recorded as Succeeded or Failed. The set is
fixed by the Selecting phase, so invoices created or changed afterwards are not swept in halfway."""
from dataclasses import dataclass
from datetime import date, datetime

from .enums import CanonicalEnum


class InvoiceJobKind(CanonicalEnum):
    ACTIVATE = "Activate"
    CANCEL = "Cancel"
    DELETE = "Delete"


class InvoiceJobStatus(CanonicalEnum):
    QUEUED = "Queued"
    RUNNING = "Running"
    COMPLETED = "Completed"
    COMPLETED_WITH_ERRORS = "CompletedWithErrors"


class InvoiceJobPhase(CanonicalEnum):
    SELECTING = "Selecting"
    APPLYING = "Applying"
    DONE = "Done"


class ResultState(CanonicalEnum):
    PENDING = "Pending"
    SUCCEEDED = "Succeeded"
    FAILED = "Failed"


@dataclass(frozen=True)
class InvoiceJob:
    id: str
    kind: InvoiceJobKind
    status: InvoiceJobStatus
    phase: InvoiceJobPhase
    graphql_filter: str
    created_by_id: str
    created_by_name: str
    created_date: datetime
    invoice_date: date | None = None  # activation: a new invoice date (the due date moves with it)
    comment: str | None = None
    cursor: str | None = None  # where Selecting resumes after a restart
    counts: dict | None = None
    attempts: int = 0
    started_time: datetime | None = None
    completed_time: datetime | None = None
    lease_until: datetime | None = None
    lease_owner: str | None = None
    error: str | None = None


@dataclass(frozen=True)
class InvoiceJobResult:
    invoice_id: str
    state: ResultState
    status: str | None = None  # the invoice's status after the attempt
    message: str | None = None


def counts(results) -> dict:
    tally = {"selected": 0, "succeeded": 0, "failed": 0, "pending": 0}
    for result in results:
        tally["selected"] += 1
        tally[result.state.value.lower()] += 1
    return tally
