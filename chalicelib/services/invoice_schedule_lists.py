"""The lists of the Zuora dialect: invoice schedules and bill runs, filtered by account, order and status, each
filter served by an index (store/invoice_schedule_models.py says which), never a Scan.

An order filter goes through the order: an order is billed by at most one invoice schedule, the one its mark
names (services/invoice_schedules.create), so the order's schedule is one GetItem away and its bill runs are
that schedule's. A mark whose schedule is gone (a create that died, a schedule deleted meanwhile) or a schedule
that does not bill the order lists nothing."""
from ..domain.errors import invalid
from ..domain.invoice_schedules import InvoiceSchedule
from ..store.bill_runs import bill_runs
from ..store.catalog import orders
from ..store.invoice_schedules import schedules, status_key
from ..store.paging import check_limit
from .context import RequestContext


def _schedule_of(tenant_id: str, order_id: str) -> InvoiceSchedule | None:
    order = orders.find(tenant_id, order_id)
    if order is None or order.invoice_schedule_id is None:
        return None
    schedule = schedules.find(tenant_id, order.invoice_schedule_id)
    return schedule if schedule is not None and order_id in schedule.order_ids else None


def _no_token(next_token: str | None) -> None:
    """A list of at most one schedule, or of an order with no schedule, is one page: it issues no token."""
    if next_token:
        raise invalid("nextToken", "not a token issued for this list and filter")


def list_schedules(ctx: RequestContext, *, account_id=None, order_id=None, status=None, limit=None,
                   next_token=None) -> tuple[list[InvoiceSchedule], str | None]:
    tenant_id = ctx.tenant.id
    if order_id is None:
        return schedules.list(tenant_id, customer_id=account_id, status=status, limit=limit, next_token=next_token)
    check_limit(limit)
    _no_token(next_token)
    schedule = _schedule_of(tenant_id, order_id)
    if schedule is None or account_id not in (None, schedule.customer_id):
        return [], None
    if status is not None and status_key(tenant_id, status) != status_key(tenant_id, schedule.status):
        return [], None
    return [schedule], None


def list_bill_runs(ctx: RequestContext, *, account_id=None, order_id=None, status=None, limit=None,
                   next_token=None):
    tenant_id = ctx.tenant.id
    if order_id is None:
        return bill_runs.list(tenant_id, customer_id=account_id, status=status, limit=limit, next_token=next_token)
    schedule = _schedule_of(tenant_id, order_id)
    if schedule is None:
        check_limit(limit)
        _no_token(next_token)
        return [], None
    return bill_runs.list(tenant_id, invoice_schedule_id=schedule.id, customer_id=account_id, status=status,
                          limit=limit, next_token=next_token)
