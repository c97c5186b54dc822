"""Invoice management (Nue, seed 001), the same for every invoice whichever dialect produced it: activate,
cancel, delete by ids and/or a filter with per-invoice results (or, past MAX_BULK invoices, an invoice
job to poll); update one; pay one."""
from dataclasses import dataclass, replace
from datetime import date
from decimal import Decimal

from ..domain import invoice_schedules as schedule_rules
from ..domain import invoices as rules
from ..domain.errors import BillrunError, invalid
from ..domain.filter_schemas import INVOICE, record
from ..domain.filters import evaluate, index_plan, parse_filter
from ..domain.invoice_jobs import InvoiceJob, InvoiceJobKind, InvoiceJobPhase, InvoiceJobStatus
from ..domain.invoices import Invoice, InvoiceStatus, Payment
from ..domain.money import exact_money
from ..domain.timeutil import wall_now
from ..store import invoice_schedules, ledger
from ..store.catalog import customers
from ..store.documents import invoices, record_payment
from ..store.invoice_jobs import invoice_jobs
from . import invoice_pdf, quotas, recurring_invoices, work_messages
from .context import RequestContext

MAX_BULK = 500  # a filter matching more invoices than this is handed to an invoice job (services/invoice_jobs.py)


@dataclass(frozen=True)
class Result:
    invoice_id: str
    success: bool
    status: str | None = None
    message: str | None = None


class TooMany:
    """The filter matches more than MAX_BULK invoices: the operation becomes an invoice job."""


TOO_MANY = TooMany()


def select(ctx: RequestContext, invoice_ids: list[str] | None, graphql_filter: str | None):
    """Invoices named by id and/or matching the filter (both given: those ids that match), or TOO_MANY when a
    filter alone matches more than one request handles. Unknown ids are reported per id, never leaked:
    another tenant's invoice is simply not found."""
    tenant_id = ctx.tenant.id
    if invoice_ids is None and graphql_filter is None:
        raise invalid("invoiceIds", "give invoiceIds or graphqlFilter")
    f = parse_filter(graphql_filter, INVOICE, "graphqlFilter") if graphql_filter is not None else None
    if invoice_ids is not None:
        found = [(i, invoices.find(tenant_id, i)) for i in dict.fromkeys(invoice_ids)]
        return [(i, inv if inv is None or f is None or _matches(ctx, f, inv) else _Unmatched(inv))
                for i, inv in found]
    matched = []
    for page, _ in matching_pages(ctx, f):
        matched += page
        if len(matched) > MAX_BULK:
            return TOO_MANY
    return [(inv.id, inv) for inv in matched]


@dataclass(frozen=True)
class _Unmatched:
    """One of the caller's own invoices, named by id but not matching the graphqlFilter: left alone."""
    invoice: Invoice


def _record(ctx: RequestContext, invoice: Invoice, cache: dict) -> dict:
    if invoice.customer_id not in cache:
        customer = customers.find(ctx.tenant.id, invoice.customer_id)
        cache[invoice.customer_id] = record(customer) if customer else None
    return record(invoice, customer=cache[invoice.customer_id])


def _matches(ctx, f, invoice, cache=None) -> bool:
    return evaluate(f, _record(ctx, invoice, {} if cache is None else cache))


def _sources(f) -> list[dict]:
    """The index the filter allows: by customer, by status, or all of the tenant's in date order."""
    plan = index_plan(f)
    customer_ids = plan.equals.get("customerId") or plan.equals.get("customer.id")
    statuses = plan.equals.get("status")
    if customer_ids:
        return [{"customer_id": c} for c in customer_ids]
    if statuses:
        return [{"status": s} for s in statuses]
    return [{}]


def matching_pages(ctx: RequestContext, f, cursor: str | None = None, page_size: int = 200):
    """Yields (matching invoices of one index page, cursor after that page); a cursor resumes where it was."""
    sources, cache = _sources(f), {}
    at, token = (0, None)
    if cursor:
        at, _, token = cursor.partition(":")
        at, token = int(at), token or None
    while at < len(sources):
        page, token = invoices.list(ctx.tenant.id, limit=page_size, next_token=token, **sources[at])
        if token is None:
            at += 1
        following = f"{at}:{token or ''}" if at < len(sources) else None
        yield [inv for inv in page if _matches(ctx, f, inv, cache)], following


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


# --- one invoice at a time (a request's selection, or an invoice job's) --------------------------------------

def activate_one(ctx: RequestContext, invoice: Invoice, invoice_date: date | None, comment: str | None,
                 job_id: str | None = None) -> Invoice:
    customer = customers.get(ctx.tenant.id, invoice.customer_id)
    updated = rules.activate(invoice, ctx.now, ctx.actor_id, ctx.actor_name, customer.payment_term_days,
                             invoice_date, comment)
    if job_id is not None:
        updated = replace(updated, invoice_job_id=job_id)
    return invoices.replace(ctx.tenant.id, updated, invoice)


def cancel_one(ctx: RequestContext, invoice: Invoice, comment: str | None) -> Invoice:
    """Canceling re-opens what the invoice billed: its periods and one-time charges are released in the ledger,
    so the next billing job bills them again; an invoice-schedule item is Pending again; a recurring invoice's
    due date is generated again by the template's next run. Only the latest
    document of each period it covers can be canceled. Safe to repeat: a Canceled invoice's periods are released,
    and its item re-opened, again (a no-op when already done)."""
    periods = sorted({(line.ledger_id, line.period_start) for line in invoice.lines
                      if line.ledger_id and line.period_start})
    entries = ledger.entries(ctx.tenant.id, {sub for sub, _ in periods})
    if invoice.status is not InvoiceStatus.CANCELED:
        _require_latest(invoice, periods, entries)
    canceled = rules.cancel(invoice, ctx.today(), ctx.now, ctx.actor_id, ctx.actor_name, comment)
    if canceled is not invoice:
        canceled = invoices.replace(ctx.tenant.id, canceled, invoice)
    ledger.release(ctx.tenant.id, invoice.customer_id, invoice.id, periods)
    if invoice.invoice_schedule_id is not None:
        _reopen_item(ctx, invoice)
    if invoice.recurring_invoice_id is not None:
        recurring_invoices.reopen(ctx, invoice)
    return canceled


def _reopen_item(ctx: RequestContext, invoice: Invoice) -> None:
    """An invoice-schedule item's invoice canceled: the item is Pending again (compare-and-set on its schedule).
    A schedule deleted since has nothing to re-open."""
    try:
        invoice_schedules.schedules.change(ctx.tenant.id, invoice.invoice_schedule_id,
                                           lambda schedule: schedule_rules.reopen(schedule, invoice.id, ctx.now,
                                                                                  ctx.actor_id))
    except BillrunError as error:
        if error.code != "NotFound":
            raise


def _require_latest(invoice: Invoice, periods, entries) -> None:
    for sub_id, start in periods:
        entry = entries.get((sub_id, start))
        documents = [doc for doc, _ in entry.documents] if entry else []
        if invoice.id in documents and documents[documents.index(invoice.id) + 1:]:
            later = documents[documents.index(invoice.id) + 1:]
            raise BillrunError(f"a later document ({', '.join(later)}) also covers the period from {start} of "
                               f"subscription {sub_id}; cancel that one first", code="InvalidState",
                               kind="conflict")


def delete_one(ctx: RequestContext, invoice: Invoice) -> None:
    rules.check_deletable(invoice)
    invoices.delete(ctx.tenant.id, invoice)


# --- requests: per-invoice results, or an invoice job when the filter matches too many ------------------------

def activate(ctx: RequestContext, invoice_ids, graphql_filter, invoice_date: date | None, comment: str | None):
    selected = select(ctx, invoice_ids, graphql_filter)
    if selected is TOO_MANY:
        return _queue(ctx, InvoiceJobKind.ACTIVATE, graphql_filter, invoice_date=invoice_date, comment=comment)
    return _rendered(ctx, _each(selected, lambda invoice: activate_one(ctx, invoice, invoice_date, comment)))


def cancel(ctx: RequestContext, invoice_ids, graphql_filter, comment: str | None):
    selected = select(ctx, invoice_ids, graphql_filter)
    if selected is TOO_MANY:
        return _queue(ctx, InvoiceJobKind.CANCEL, graphql_filter, comment=comment)
    return _rendered(ctx, _each(selected, lambda invoice: cancel_one(ctx, invoice, comment)))


def _rendered(ctx: RequestContext, results: list[Result]) -> list[Result]:
    """The changed invoices' PDFs are rendered again, off the request (one work-queue message)."""
    invoice_pdf.queue(ctx.tenant.id, [r.invoice_id for r in results if r.success])
    return results


def delete(ctx: RequestContext, invoice_ids, graphql_filter):
    selected = select(ctx, invoice_ids, graphql_filter)
    if selected is TOO_MANY:
        return _queue(ctx, InvoiceJobKind.DELETE, graphql_filter)
    return _each(selected, lambda invoice: delete_one(ctx, invoice))


def _queue(ctx: RequestContext, kind: InvoiceJobKind, graphql_filter: str, invoice_date: date | None = None,
           comment: str | None = None) -> InvoiceJob:
    """Queued with an expired lease and handed to the worker (work_messages), which runs it at once
    (services/invoice_jobs.py); the tick recovers it if the message is lost. Its id comes
    from the Idempotency-Key when given, so a retried request queues nothing twice and takes one open-job slot
    (429 when the tenant has no slot free)."""
    job = InvoiceJob(id=ctx.new_id(), kind=kind, status=InvoiceJobStatus.QUEUED, phase=InvoiceJobPhase.SELECTING,
                     graphql_filter=graphql_filter, created_by_id=ctx.actor_id, created_by_name=ctx.actor_name,
                     created_date=ctx.now, invoice_date=invoice_date, comment=comment, lease_until=wall_now())
    existing = invoice_jobs.find(ctx.tenant.id, job.id)
    if existing is None:
        quotas.admit_job(ctx.tenant.id, quotas.INVOICE_JOB, job.id)
        existing = invoice_jobs.create(ctx.tenant.id, job)
    if existing.status in (InvoiceJobStatus.QUEUED, InvoiceJobStatus.RUNNING):  # a retry re-sends: harmless
        work_messages.send(work_messages.INVOICE_JOB, ctx.tenant.id, existing.id)
    return existing


def update(ctx: RequestContext, invoice_id: str, changes: dict) -> Invoice:
    current = invoices.get(ctx.tenant.id, invoice_id)
    updated = invoices.replace(ctx.tenant.id, rules.update(current, changes, ctx.now, ctx.actor_id), current)
    invoice_pdf.queue(ctx.tenant.id, [updated.id])
    return updated


def pay(ctx: RequestContext, invoice_id: str, amount: Decimal, payment_date: date | None) -> tuple[Payment, Invoice]:
    """The payment's id derives from the Idempotency-Key when given, so a retried payment applies once."""
    current = invoices.get(ctx.tenant.id, invoice_id, "invoiceId")
    payment = Payment(id=ctx.new_id(), amount=exact_money(amount, current.currency, "amount"),
                      payment_date=payment_date or ctx.today(), created_time=ctx.now)
    paid = rules.pay(current, payment, ctx.actor_id)
    if paid is not current:
        paid = record_payment(ctx.tenant.id, paid, current, rules.applied(payment, paid))
        invoice_pdf.queue(ctx.tenant.id, [paid.id])
    return payment, paid

