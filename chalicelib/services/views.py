"""The read model: what the API's GET routes and GraphQL show, read from the store by id or page by page.

The api layer reads through this module and writes through the other services; it never imports the store
(tests/unit/test_layers.py keeps it so). Reads need no rule of the domain, so they go to the repositories as they
are, behind `Reads`, which hands out only the reading methods."""
from datetime import datetime

from ..domain.billing_jobs import Decision
from ..domain.errors import invalid
from ..domain.invoice_schedules import InvoiceSchedule
from ..domain.invoices import Invoice
from ..domain.tenants import LIVE_CLOCK, Tenant
from ..store import bill_runs as bill_run_store
from ..store import billing_jobs as billing_job_store
from ..store import billing_schedules as billing_schedule_store
from ..store import catalog, documents, pdfs, ticks
from ..store.paging import check_limit
from ..store import invoice_jobs as invoice_job_store
from ..store import invoice_schedules as invoice_schedule_store
from ..store import tenants as tenant_store


class Reads:
    """A repository's reading methods only: get (404 when missing), find (None), find_many, list (a page), and
    the extra finders named."""

    def __init__(self, repository, *extra: str):
        self._repository = repository
        self._names = {"get", "find", "find_many", "list", *extra}

    def __getattr__(self, name: str):
        if name not in self._names:
            raise AttributeError(f"{name}: the read model reads; write through a service")
        return getattr(self._repository, name)


customers = Reads(catalog.customers)
products = Reads(catalog.products)
orders = Reads(catalog.orders)
subscriptions = Reads(catalog.subscriptions, "of_orders")
invoices = Reads(documents.invoices)
payments = Reads(documents.payments)
credit_memos = Reads(documents.credit_memos)
billing_schedules = Reads(billing_schedule_store.schedules)
billing_jobs = Reads(billing_job_store.jobs)
bill_runs = Reads(bill_run_store.bill_runs, "get_by_key", "find_by_key")
invoice_jobs = Reads(invoice_job_store.invoice_jobs)


def tenants() -> list[Tenant]:
    return tenant_store.list_tenants()


def tenant(tenant_id: str) -> Tenant:
    return tenant_store.get_tenant(tenant_id)


def billing_job_decisions(tenant_id: str, job_id: str) -> list[Decision]:
    return billing_job_store.decisions(tenant_id, job_id)


def invoice_job_results(tenant_id: str, job_id: str, *, limit=None, next_token=None, state=None):
    """A page of one invoice job's per-invoice results: (results, next token)."""
    return invoice_job_store.results_page(tenant_id, job_id, limit=limit, next_token=next_token, state=state)


def last_tick() -> tuple[datetime | None, int]:
    """When the wall-clock tick last ran, and how many times it has."""
    return ticks.last_beat(LIVE_CLOCK)


def invoice_pdf_url(tenant_id: str, invoice: Invoice) -> str | None:
    """A presigned URL of the PDF rendered for this version of the invoice, or None when it has none yet."""
    if invoice.pdf_key is None or invoice.pdf_key != pdfs.key_for(tenant_id, invoice):
        return None
    return pdfs.url(invoice.pdf_key)


# --- the Zuora dialect's lists ---------------------------------------------------------------------------------
# Each filter is served by an index (store/invoice_schedule_models.py says which), never a Scan. An order filter
# goes through the order: an order is billed by at most one invoice schedule, the one its mark names
# (services/invoice_schedules.create), so the order's schedule is one GetItem away and its bill runs are that
# schedule's. A mark whose schedule is gone (a create that died, a schedule deleted meanwhile) or a schedule that
# does not bill the order lists nothing.

def invoice_schedules_page(tenant_id: str, *, account_id=None, order_id=None, status=None, limit=None,
                           next_token=None) -> tuple[list[InvoiceSchedule], str | None]:
    schedules = invoice_schedule_store.schedules
    if order_id is None:
        return schedules.list(tenant_id, customer_id=account_id, status=status, limit=limit, next_token=next_token)
    check_limit(limit)
    _no_token(next_token)
    schedule = _schedule_of(tenant_id, order_id)
    if schedule is None or account_id not in (None, schedule.customer_id):
        return [], None
    if status is not None and invoice_schedule_store.status_key(tenant_id, status) != \
            invoice_schedule_store.status_key(tenant_id, schedule.status):
        return [], None
    return [schedule], None


def bill_runs_page(tenant_id: str, *, account_id=None, order_id=None, status=None, limit=None, next_token=None):
    if order_id is None:
        return bill_run_store.bill_runs.list(tenant_id, customer_id=account_id, status=status, limit=limit,
                                             next_token=next_token)
    schedule = _schedule_of(tenant_id, order_id)
    if schedule is None:
        check_limit(limit)
        _no_token(next_token)
        return [], None
    return bill_run_store.bill_runs.list(tenant_id, invoice_schedule_id=schedule.id, customer_id=account_id,
                                         status=status, limit=limit, next_token=next_token)


def _schedule_of(tenant_id: str, order_id: str) -> InvoiceSchedule | None:
    order = catalog.orders.find(tenant_id, order_id)
    if order is None or order.invoice_schedule_id is None:
        return None
    schedule = invoice_schedule_store.schedules.find(tenant_id, order.invoice_schedule_id)
    return schedule if schedule is not None and order_id in schedule.order_ids else None


def _no_token(next_token: str | None) -> None:
    """A list of at most one schedule, or of an order with no schedule, is one page: it issues no token."""
    if next_token:
        raise invalid("nextToken", "not a token issued for this list and filter")
