"""Owns the bill-runs table: create once, lease (Pending -> Processing -> Completed | Error), recover, find by
BR- number.

A bill run is created Pending with an already-expired lease in the sparse `unfinished` index. Runs an execute
request made wait in partition `live`, whatever the tenant: the worker runs them at once (the request sends it a
message), and the wall-clock tick (EventBridge, or the local tick loop) recovers one whose message was lost, as a
test clock's advance does its tenant's. Runs the tick made for due items wait in the tenant's clock, where that
tick runs them at once (and recovers them after a crash)."""
import re
from datetime import datetime


from ..domain.bill_runs import UNFINISHED, BillRun, BillRunStatus
from ..domain.errors import not_found
from ..domain.tenants import LIVE_CLOCK
from . import tables
from .batch import get_many
from .invoice_schedule_models import BillRunModel
from .leases import LEASE, Leases  # noqa: F401  (LEASE is part of this module's interface)
from .repository import TenantRepository, update_if

NUMBER = re.compile(r"BR-\d{8}")


def lease_partition(run: BillRun) -> str | None:
    if run.status not in UNFINISHED:
        return None
    return run.clock_id if run.automatic else LIVE_CLOCK


class BillRunRepository(TenantRepository):
    def __init__(self):
        super().__init__(BillRunModel, "bill run")

    def derived(self, tenant_id: str, entity: BillRun) -> dict:
        return {"number_key": f"{tenant_id}#{entity.number}", "lease_partition": lease_partition(entity),
                "customer_key": f"{tenant_id}#{entity.customer_id}",
                "schedule_key": f"{tenant_id}#{entity.invoice_schedule_id}"}

    def list(self, tenant_id: str, *, customer_id=None, invoice_schedule_id=None, status=None, **options):
        """From the index that fits: a schedule's or a customer's runs in creation order (status filtered on the
        entries), the runs in one status, or the tenant's whole partition (in id order)."""
        status = None if status is None else BillRunStatus.parse(status)
        M = BillRunModel
        if invoice_schedule_id is not None:
            return self.list_by_index(tenant_id, M.by_schedule, f"{tenant_id}#{invoice_schedule_id}",
                                      customer_id=customer_id, status=status, **options)
        if customer_id is not None:
            return self.list_by_index(tenant_id, M.by_customer, f"{tenant_id}#{customer_id}", status=status,
                                      **options)
        if status is not None:
            return self.list_by_index(tenant_id, M.by_status, tenant_id, sort_value=status, **options)
        return super().list(tenant_id, **options)

    def find_by_key(self, tenant_id: str, key: str) -> BillRun | None:
        """`key` is the id or the BR- number (found through the by-number index, never a Scan)."""
        if isinstance(key, str) and NUMBER.fullmatch(key):
            tables.bind()
            found = list(BillRunModel.by_number.query(f"{tenant_id}#{key}", limit=1))
            return self.find(tenant_id, found[0].id) if found else None
        return self.find(tenant_id, key)

    def get_by_key(self, tenant_id: str, key: str) -> BillRun:
        run = self.find_by_key(tenant_id, key)
        if run is None:
            raise not_found(self.what, key)
        return run


bill_runs = BillRunRepository()
LEASES = Leases(BillRunModel, waiting=BillRunStatus.PENDING, running=BillRunStatus.PROCESSING,
                index=BillRunModel.unfinished)


def statuses(tenant_id: str, run_ids) -> dict[str, BillRunStatus]:
    """{id: status} of those of the runs that exist (BatchGetItem, at most 100 keys a request)."""
    keys = [(tenant_id, run_id) for run_id in run_ids]
    return {item.id: item.status for item in get_many(BillRunModel, keys, attributes=["id", "status"])}


def claim(tenant_id: str, run_id: str, owner: str, now: datetime) -> BillRun | None:
    """Take the run's lease: Pending, or Processing with an expired lease. None when someone else holds it."""
    return bill_runs.get(tenant_id, run_id) if LEASES.claim(tenant_id, run_id, owner, now) else None


def complete(tenant_id: str, run_id: str, owner: str, invoice_ids: list[str], invoice_numbers: list[str],
             wall: datetime, updated: datetime) -> bool:
    M = BillRunModel
    return LEASES.finish(tenant_id, run_id, owner, BillRunStatus.COMPLETED, wall, [
        M.invoice_ids.set(invoice_ids), M.invoice_numbers.set(invoice_numbers), M.updated_date.set(updated)])


def fail(tenant_id: str, run_id: str, owner: str, message: str, wall: datetime, updated: datetime) -> bool:
    M = BillRunModel
    return LEASES.finish(tenant_id, run_id, owner, BillRunStatus.ERROR, wall, [
        M.error_message.set(message[:2000]), M.updated_date.set(updated)])


def abandon(tenant_id: str, run_id: str, message: str, wall: datetime, updated: datetime) -> bool:
    """A Pending run whose item another run took first ends in Error without running; False when a runner
    already took it (it then finds out for itself)."""
    M = BillRunModel
    return update_if(M(tenant_id=tenant_id, id=run_id), [
        M.status.set(BillRunStatus.ERROR.value), M.error_message.set(message[:2000]), M.completed_time.set(wall),
        M.updated_date.set(updated), M.lease_partition.remove(), M.lease_until.remove()],
        M.status == BillRunStatus.PENDING.value)


def expired(partition: str, now: datetime) -> list[tuple[str, str]]:
    """(tenantId, runId) of unfinished runs whose lease has run out: never started, or their runner died."""
    return LEASES.expired(partition, now)


def requested_expired(tenant_id: str, now: datetime) -> list[tuple[str, str]]:
    """(tenantId, runId) of the tenant's unfinished runs that execute requests made (partition `live`) whose lease
    has run out: a test clock's advance runs them (the partition holds unfinished runs only)."""
    return LEASES.expired(LIVE_CLOCK, now, tenant_id)


def requested_unfinished(tenant_id: str) -> bool:
    """Whether a run an execute request of the tenant made is Pending or Processing."""
    return LEASES.any_unfinished(LIVE_CLOCK, tenant_id)


def oldest_expired(partition: str, now: datetime) -> datetime | None:
    """When the longest-expired lease of an unfinished run ran out (None: none has)."""
    return LEASES.oldest_expired(partition, now)
