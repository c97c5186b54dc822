"""Bill runs (Zuora dialect, seed 002): the ad hoc run that executes one invoice schedule item.

A bill run is created Pending and runs asynchronously under a lease (Processing), ending Completed with the
invoice it made, or Error with the reason it could not execute the item (another bill run had it, the schedule
was paused or deleted before the run took the item)."""
from dataclasses import dataclass
from datetime import date, datetime

from .enums import CanonicalEnum


class BillRunStatus(CanonicalEnum):
    PENDING = "Pending"
    PROCESSING = "Processing"
    COMPLETED = "Completed"
    ERROR = "Error"


UNFINISHED = (BillRunStatus.PENDING, BillRunStatus.PROCESSING)
CHARGE_TYPES_EXCLUDED = ("Usage",)  # an invoice schedule bills no usage charges (as in the seed's response)


@dataclass(frozen=True)
class BillRun:
    id: str
    number: str  # BR-00000001
    status: BillRunStatus
    clock_id: str  # the tenant's: its dates and times come from the tenant's clock
    customer_id: str
    invoice_schedule_id: str
    item_id: str  # the item the run executes
    invoice_date: date
    target_date: date
    created_by_id: str
    created_date: datetime
    updated_date: datetime
    requested_item_id: str | None = None  # as the execute request named it (None: "the next pending item")
    auto_post: bool = False
    automatic: bool = False  # made by the tick for an item whose run date came (else by an execute request)
    invoice_ids: tuple[str, ...] = ()
    invoice_numbers: tuple[str, ...] = ()
    error_message: str | None = None
    attempts: int = 0
    started_time: datetime | None = None
    completed_time: datetime | None = None
    lease_until: datetime | None = None
    lease_owner: str | None = None
