"""Owns the invoice-schedules table: schedules with their items, the sparse `due` index, lookup by IS- number,
and compare-and-set changes (every change of a schedule or of one of its items is one conditional write on
the schedule's version, so of two writers racing for an item exactly one wins)."""
import re
from datetime import datetime

from ..domain import invoice_schedules as rules
from ..domain.errors import not_found
from ..domain.invoice_schedules import InvoiceSchedule, InvoiceScheduleStatus
from . import due_index, tables
from .invoice_schedule_models import InvoiceScheduleModel
from .repository import TenantRepository

NUMBER = re.compile(r"IS-\d{8}")
MAX_ATTEMPTS = 20


def due_partition(schedule: InvoiceSchedule) -> str | None:
    if rules.next_due_at(schedule) is None:
        return None  # paused, or nothing pending: absent from the index, the tick never reads it
    return due_index.partition(schedule.clock_id, schedule.id)


class InvoiceScheduleRepository(TenantRepository):
    def __init__(self):
        super().__init__(InvoiceScheduleModel, "invoice schedule")

    def derived(self, tenant_id: str, entity: InvoiceSchedule) -> dict:
        return {"number_key": f"{tenant_id}#{entity.number}", "due_partition": due_partition(entity),
                "next_run_at": rules.next_due_at(entity), "customer_key": f"{tenant_id}#{entity.customer_id}",
                "status_key": status_key(tenant_id, entity.status)}

    def list(self, tenant_id: str, *, customer_id=None, status=None, **options):
        """In number order, from the index that fits: by customer (status filtered on it), by status, or the
        tenant's whole partition (then in id order)."""
        wanted = None if status is None else status_key(tenant_id, status)
        if customer_id is not None:
            return self.list_by_index(tenant_id, InvoiceScheduleModel.by_customer, f"{tenant_id}#{customer_id}",
                                      status_key=wanted, **options)
        if status is not None:
            return self.list_by_index(tenant_id, InvoiceScheduleModel.by_status, wanted, **options)
        return super().list(tenant_id, **options)

    def find_by_key(self, tenant_id: str, key: str) -> InvoiceSchedule | None:
        """`key` is the id or the IS- number (found through the by-number index, never a Scan)."""
        if isinstance(key, str) and NUMBER.fullmatch(key):
            tables.bind()
            found = list(InvoiceScheduleModel.by_number.query(f"{tenant_id}#{key}", limit=1))
            return self.find(tenant_id, found[0].id) if found else None
        return self.find(tenant_id, key)

    def get_by_key(self, tenant_id: str, key: str) -> InvoiceSchedule:
        schedule = self.find_by_key(tenant_id, key)
        if schedule is None:
            raise not_found(self.what, key)
        return schedule


def status_key(tenant_id: str, status) -> str:
    return f"{tenant_id}#{InvoiceScheduleStatus.parse(status).value}"


schedules = InvoiceScheduleRepository()


def due(clock_id: str, until: datetime) -> list[tuple[str, str]]:
    """(tenantId, scheduleId) of every schedule with a pending item due at or before `until`."""
    return due_index.due(InvoiceScheduleModel.due, InvoiceScheduleModel.next_run_at, clock_id, until)


def oldest_due(clock_id: str, until: datetime) -> datetime | None:
    """When the earliest pending item due at or before `until` on the clock fell due (None: none is due)."""
    return due_index.oldest(InvoiceScheduleModel.due, InvoiceScheduleModel.next_run_at, clock_id, until)
