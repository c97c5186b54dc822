"""Owns the recurring-invoices table (BILL templates), including its sparse `due` index."""
from datetime import date, datetime, time


from ..domain.recurring_invoices import RecurringInvoice
from ..domain.timeutil import UTC, zone_info
from . import due_index, tables
from .recurring_invoice_models import RecurringInvoiceModel, ReopenedMap
from .repository import TenantRepository, update_if


def due_partition(template: RecurringInvoice) -> str | None:
    if not template.generating:
        return None  # archived, or the series is over: absent from the index, the tick never reads it
    return due_index.partition(template.clock_id, template.id)


def start_of(day: date, timezone: str) -> datetime:
    """The instant `day` begins in the zone (local midnight, or the first instant after a DST gap)."""
    return datetime.combine(day, time(0), tzinfo=zone_info(timezone)).astimezone(UTC)


def generate_at(template: RecurringInvoice) -> datetime | None:
    day = template.next_generation_date
    return None if day is None else start_of(day, template.timezone)


class RecurringInvoiceRepository(TenantRepository):
    def __init__(self):
        super().__init__(RecurringInvoiceModel, "recurring invoice")

    def derived(self, tenant_id: str, entity: RecurringInvoice) -> dict:
        return {"due_partition": due_partition(entity), "generate_at": generate_at(entity),
                "customer_key": f"{tenant_id}#{entity.customer_id}"}

    def list(self, tenant_id: str, *, customer_id=None, **options):
        """In id order: a customer's templates (by index), or all of the tenant's; `archived` filters."""
        if customer_id is not None:
            return self.list_by_index(tenant_id, RecurringInvoiceModel.by_customer, f"{tenant_id}#{customer_id}",
                                      **options)
        return super().list(tenant_id, **options)


templates = RecurringInvoiceRepository()


def count_unarchived(tenant_id: str) -> int:
    """How many templates the tenant has that are not archived: a Select COUNT Query of its partition, which
    reads every template, archived ones too (the quota's recount, only at its limit: services/quotas.py)."""
    tables.bind()
    unarchived = RecurringInvoiceModel.archived == False  # noqa: E712  (a condition, not a comparison)
    return RecurringInvoiceModel.count(tenant_id, filter_condition=unarchived, consistent_read=True)


def due(clock_id: str, until: datetime) -> list[tuple[str, str]]:
    """(tenantId, id) of every template whose next invoice's generation date has begun by `until`."""
    return due_index.due(RecurringInvoiceModel.due, RecurringInvoiceModel.generate_at, clock_id, until)


def oldest_due(clock_id: str, until: datetime) -> datetime | None:
    """When the earliest generation date begun by `until` on the clock began (None: nothing to generate)."""
    return due_index.oldest(RecurringInvoiceModel.due, RecurringInvoiceModel.generate_at, clock_id, until)


def _advance(tenant_id: str, template: RecurringInvoice, moved: RecurringInvoice):
    """(item, actions, condition) of the watermark's move from `template` to `moved`."""
    M = RecurringInvoiceModel
    partition, at = due_partition(moved), generate_at(moved)
    actions = [M.next_due_date.set(moved.next_due_date), M.timezone.set(moved.timezone), M.version.add(1)]
    actions.append(M.last_due_date.set(moved.last_due_date) if moved.last_due_date else M.last_due_date.remove())
    actions.append(M.reopened.set([ReopenedMap.from_entity(r) for r in moved.reopened]) if moved.reopened
                   else M.reopened.remove())
    actions += [M.due_partition.set(partition), M.generate_at.set(at)] if partition else [
        M.due_partition.remove(), M.generate_at.remove()]
    return M(tenant_id=tenant_id, id=template.id), actions, M.version == template.version


def advance(tenant_id: str, template: RecurringInvoice, moved: RecurringInvoice) -> bool:
    """Move the watermark (next_due_date, last_due_date, re-opened dates, zone, index keys) from `template` to
    `moved`, by
    compare-and-set on the version: of concurrent writers exactly one moves it, and a PATCH or PUT read before the
    move gets a 409 instead of writing the old watermark back."""
    return update_if(*_advance(tenant_id, template, moved))


def advance_in(transaction, tenant_id: str, template: RecurringInvoice, moved: RecurringInvoice, tag) -> None:
    """advance() as an action of `transaction`, refused (ConditionalCheckFailed) when the version moved on."""
    item, actions, condition = _advance(tenant_id, template, moved)
    transaction.update(item, actions, condition, tag)
