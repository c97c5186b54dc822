"""Invoice management (Nue, seed 001), the same for every invoice whichever dialect produced it: activate,
cancel, delete by ids and/or a filter with per-invoice results; update one; pay one."""
from dataclasses import asdict, dataclass
from datetime import date
from decimal import Decimal

from pydantic.alias_generators import to_camel

from ..domain import invoices as rules
from ..domain.billing_schedules import CUSTOMER_FILTER
from ..domain.errors import BillrunError, invalid
from ..domain.filters import FieldType, FilterSchema, evaluate, index_plan, parse_filter
from ..domain.invoices import Invoice, InvoiceSource, InvoiceStatus, Payment, PaymentStatus
from ..domain.money import exact_money
from ..store import ledger
from ..store.catalog import customers
from ..store.documents import invoices
from .context import RequestContext

MAX_BULK = 500  # more than this in one request would need the asynchronous path (not built yet)
_TEXT, _NUMBER, _DATE = FieldType("string"), FieldType("number"), FieldType("date")
INVOICE_FILTER = FilterSchema("invoice", {
    "id": _TEXT, "name": _TEXT, "customerId": _TEXT, "status": FieldType("enum", InvoiceStatus),
    "paymentStatus": FieldType("enum", PaymentStatus), "source": FieldType("enum", InvoiceSource),
    "invoiceDate": _DATE, "dueDate": _DATE, "startDate": _DATE, "endDate": _DATE, "targetDate": _DATE,
    "amount": _NUMBER, "amountWithoutTax": _NUMBER, "taxAmount": _NUMBER, "balance": _NUMBER,
    "isCatchUp": FieldType("boolean"), "billingScheduleId": _TEXT, "billingJobId": _TEXT,
    "recurringInvoiceId": _TEXT},
    relations={"customer": CUSTOMER_FILTER}, indexed=frozenset({"status", "customerId", "invoiceDate"}))


@dataclass(frozen=True)
class Result:
    invoice_id: str
    success: bool
    status: str | None = None
    message: str | None = None


def select(ctx: RequestContext, invoice_ids: list[str] | None, graphql_filter: str | None) -> list:
    """Invoices named by id and/or matching the filter (both given: those ids that match). Unknown ids are
    reported per id, never leaked: another tenant's invoice is simply not found."""
    tenant_id = ctx.tenant.id
    if invoice_ids is None and graphql_filter is None:
        raise invalid("invoiceIds", "give invoiceIds or graphqlFilter")
    f = parse_filter(graphql_filter, INVOICE_FILTER, "graphqlFilter") if graphql_filter is not None else None
    if invoice_ids is not None:
        found = [(i, invoices.find(tenant_id, i)) for i in dict.fromkeys(invoice_ids)]
        return [(i, inv if inv is None or f is None or _matches(ctx, f, inv) else _Unmatched(inv))
                for i, inv in found]
    return [(inv.id, inv) for inv in _matching(ctx, f)]


@dataclass(frozen=True)
class _Unmatched:
    """One of the caller's own invoices, named by id but not matching the graphqlFilter: left alone."""
    invoice: Invoice


def _record(ctx: RequestContext, invoice: Invoice, cache: dict) -> dict:
    if invoice.customer_id not in cache:
        customer = customers.find(ctx.tenant.id, invoice.customer_id)
        cache[invoice.customer_id] = {to_camel(k): v for k, v in asdict(customer).items()} if customer else None
    record = {to_camel(k): v for k, v in asdict(invoice).items()}
    record["customer"] = cache[invoice.customer_id]
    return record


def _matches(ctx, f, invoice, cache=None) -> bool:
    return evaluate(f, _record(ctx, invoice, {} if cache is None else cache))


def _matching(ctx: RequestContext, f) -> list[Invoice]:
    """Read through the index the filter allows (customer, status, or date order), evaluate, stop past MAX_BULK."""
    plan = index_plan(f)
    customer_ids = plan.equals.get("customerId") or plan.equals.get("customer.id")
    statuses = plan.equals.get("status")
    if customer_ids:
        sources = [{"customer_id": c} for c in customer_ids]
    elif statuses:
        sources = [{"status": s} for s in statuses]
    else:
        sources = [{}]
    matched, cache = [], {}
    for source in sources:
        token = None
        while True:
            page, token = invoices.list(ctx.tenant.id, limit=1000, next_token=token, **source)
            matched += [inv for inv in page if _matches(ctx, f, inv, cache)]
            if len(matched) > MAX_BULK:
                raise invalid("graphqlFilter", f"matches more than {MAX_BULK} invoices; narrow the filter "
                                               "(bulk operations over that many are not available yet)")
            if token is None:
                break
    return matched


def _each(selected, apply) -> list[Result]:
    results = []
    for invoice_id, invoice in selected:
        if invoice is None:
            results.append(Result(invoice_id, False, None, "invoice not found"))
            continue
        if isinstance(invoice, _Unmatched):
            results.append(Result(invoice_id, False, invoice.invoice.status.value,
                                  "invoice does not match graphqlFilter"))
            continue
        try:
            done = apply(invoice)
            results.append(Result(invoice_id, True, done.status.value if done else None))
        except BillrunError as error:  # one invoice's refusal does not stop the others (partial success)
            results.append(Result(invoice_id, False, invoice.status.value, error.message))
    return results


def activate(ctx: RequestContext, selected, invoice_date: date | None, comment: str | None) -> list[Result]:
    def one(invoice: Invoice) -> Invoice:
        customer = customers.get(ctx.tenant.id, invoice.customer_id)
        updated = rules.activate(invoice, ctx.now, ctx.actor_id, ctx.actor_name, customer.payment_term_days,
                                 invoice_date, comment)
        return invoices.replace(ctx.tenant.id, updated, invoice)
    return _each(selected, one)


def cancel(ctx: RequestContext, selected, comment: str | None) -> list[Result]:
    """Canceling releases the invoice's periods in the ledger so the next billing job bills them again.
    Only the latest document of each period it covers can be canceled. Safe to repeat: a Canceled invoice's
    periods are released again (a no-op when already done)."""
    def one(invoice: Invoice) -> Invoice:
        periods = sorted({(line.subscription_id, line.period_start) for line in invoice.lines
                          if line.subscription_id and line.period_start})
        entries = ledger.entries(ctx.tenant.id, {sub for sub, _ in periods})
        if invoice.status is not InvoiceStatus.CANCELED:
            _require_latest(invoice, periods, entries)
        canceled = rules.cancel(invoice, ctx.today(), ctx.now, ctx.actor_id, ctx.actor_name, comment)
        if canceled is not invoice:
            canceled = invoices.replace(ctx.tenant.id, canceled, invoice)
        for sub_id, start in periods:
            ledger.release(ctx.tenant.id, sub_id, start, invoice.id)
        return canceled
    return _each(selected, one)


def _require_latest(invoice: Invoice, periods, entries) -> None:
    for sub_id, start in periods:
        entry = entries.get((sub_id, start))
        documents = [doc for doc, _ in entry.documents] if entry else []
        if invoice.id in documents and documents[documents.index(invoice.id) + 1:]:
            later = documents[documents.index(invoice.id) + 1:]
            raise BillrunError(f"a later document ({', '.join(later)}) also covers the period from {start} of "
                               f"subscription {sub_id}; cancel that one first", code="InvalidState",
                               kind="conflict")


def delete(ctx: RequestContext, selected) -> list[Result]:
    def one(invoice: Invoice) -> None:
        rules.check_deletable(invoice)
        invoices.delete(ctx.tenant.id, invoice)
        return None
    return _each(selected, one)


def update(ctx: RequestContext, invoice_id: str, changes: dict) -> Invoice:
    current = invoices.get(ctx.tenant.id, invoice_id)
    return invoices.replace(ctx.tenant.id, rules.update(current, changes, ctx.now, ctx.actor_id), current)


def pay(ctx: RequestContext, invoice_id: str, amount: Decimal, payment_date: date | None) -> tuple[Payment, Invoice]:
    """The payment's id derives from the Idempotency-Key when given, so a retried payment applies once."""
    current = invoices.get(ctx.tenant.id, invoice_id, "invoiceId")
    payment = Payment(id=ctx.new_id(), amount=exact_money(amount, current.currency, "amount"),
                      payment_date=payment_date or ctx.today(), created_time=ctx.now)
    paid = rules.pay(current, payment, ctx.actor_id)
    if paid is not current:
        paid = invoices.replace(ctx.tenant.id, paid, current)
    return payment, paid
