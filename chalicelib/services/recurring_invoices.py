"""Recurring invoices (BILL dialect, seed 003): templates (create, change, archive, restore), and the tick's source
that generates their invoices.

Exactly once per (template, due date): the invoice's id derives from (template, due date), and it is written by
store/documents.write_once in one transaction with its number's claim (the due date, suffixed when the customer
already has one: store/invoice_numbers.py) and the template's watermark (nextDueDate) moved past the due date by
compare-and-set on the template's version. A re-run after a crash, or a concurrent generator, finds the invoice
written and the watermark moved with it; a number someone else holds is refused and the next one is tried; a
PATCH or PUT that landed meanwhile is read and the invoice proposed again from it. A PATCH or PUT holding a
version read before the move gets a 409, never writing an old watermark back."""
import logging
from dataclasses import replace
from datetime import date, datetime, timedelta

from ..config import settings
from ..domain import recurring_invoices as rules
from ..domain.catalog import Customer
from ..domain.catch_up import require_recent_if_set
from ..domain.errors import BillrunError, conflict
from ..domain.invoices import DocumentLine, Invoice, InvoiceSource, InvoiceStatus, PaymentStatus, totals
from ..domain.quotas import RECURRING_INVOICES
from ..domain.recurring_invoices import RecurringInvoice
from ..domain.tenants import LIVE_CLOCK, Tenant
from ..domain.timeutil import local_date, wall_now
from ..store import documents, invoice_numbers
from ..store import recurring_invoices as store
from ..store import tenants as tenant_store
from ..store.catalog import customers
from . import invoice_pdf, quotas
from .ids import derived_id
from .budget import Budget
from .context import RequestContext

templates = store.templates
log = logging.getLogger("billrun.recurring")
CATCH_UP_GRACE = timedelta(minutes=5)  # a live invoice generated later than this after its time was missed


def _rit(ctx: RequestContext) -> str:
    return "rit" + ctx.new_id().replace("-", "")


def _line_id(ctx: RequestContext):
    return lambda: "rli" + ctx.new_id().replace("-", "")


def create(ctx: RequestContext, fields: dict) -> RecurringInvoice:
    customer = customers.get(ctx.tenant.id, fields["customer_id"], "customerId")
    schedule = fields["schedule"]
    template_id = _rit(ctx)
    items = rules.new_line_items(fields["recurring_invoice_line_items"], _line_id(ctx))
    template = rules.check_schedule(RecurringInvoice(
        id=template_id, customer_id=customer.id, currency=customer.currency, period=schedule["period"],
        frequency=schedule["frequency"], next_due_date=schedule["next_due_date"],
        anchor_day=schedule["next_due_date"].day, days_in_advance=schedule["days_in_advance"],
        end_date=schedule.get("end_date"), line_items=rules.check_line_items(items, customer.currency),
        timezone=customer.timezone, clock_id=ctx.tenant.clock_id, created_by_id=ctx.actor_id,
        last_modified_by_id=ctx.actor_id, created_date=ctx.now, last_modified_date=ctx.now))
    existing = templates.find(ctx.tenant.id, template_id)  # an Idempotency-Key retry: the same ids, no new slot
    if existing is not None:
        return existing
    _require_recent_due_date(ctx, template, None)
    with quotas.admitted(ctx.tenant.id, RECURRING_INVOICES, template_id):
        return templates.create(ctx.tenant.id, template)


def update(ctx: RequestContext, template_id: str, sent: dict, *, partial: bool) -> RecurringInvoice:
    """PATCH (partial: the fields sent) or PUT (the whole template). Invoices already generated are untouched."""
    current = templates.get(ctx.tenant.id, template_id)
    customer = customers.get(ctx.tenant.id, sent.get("customer_id") or current.customer_id, "customerId")
    updated = replace(current, customer_id=customer.id, currency=customer.currency, timezone=customer.timezone)
    if "schedule" in sent:
        updated = rules.change_schedule(updated, sent["schedule"])
        _require_recent_due_date(ctx, updated, current)
    items = updated.line_items
    if "recurring_invoice_line_items" in sent:
        items = rules.merge_line_items(current.line_items, sent["recurring_invoice_line_items"], _line_id(ctx),
                                       partial=partial)
    updated = replace(updated, line_items=rules.check_line_items(items, updated.currency),
                      last_modified_by_id=ctx.actor_id, last_modified_date=ctx.now)
    return templates.replace(ctx.tenant.id, updated, current)


def _require_recent_due_date(ctx: RequestContext, template: RecurringInvoice, before: RecurringInvoice | None):
    """A nextDueDate being set lies at most BILLRUN_MAX_CATCH_UP_DAYS before the customer's today."""
    require_recent_if_set(template.next_due_date, before and before.next_due_date, ctx.today(template.timezone),
                          settings().max_catch_up_days, "schedule.nextDueDate")


def set_archived(ctx: RequestContext, template_id: str, archived: bool) -> RecurringInvoice:
    """Archive (leaves the due index: nothing is generated; frees a quota slot) or restore (back in the index:
    every invoice whose generation date passed meanwhile is generated by the next tick; takes a slot). Idempotent:
    a template already in that state is answered as it is, unchanged."""
    for attempt in range(5):
        current = templates.get(ctx.tenant.id, template_id)
        if current.archived == archived:
            return current
        try:
            return _archive(ctx, current) if archived else _restore(ctx, current)
        except BillrunError as error:  # a concurrent change (e.g. a generation moved the watermark): read again
            if error.code != "ConcurrentModification" or attempt == 4:
                raise


def _archive(ctx: RequestContext, current: RecurringInvoice) -> RecurringInvoice:
    archived = templates.replace(ctx.tenant.id, _changed(ctx, current, archived=True), current)
    quotas.release(ctx.tenant.id, RECURRING_INVOICES)  # the compare-and-set above succeeds once per archive
    return archived


def _restore(ctx: RequestContext, current: RecurringInvoice) -> RecurringInvoice:
    """Dates are local to the customer's zone as it is now. Each restore admits anew (`id@version`)."""
    changed = replace(_changed(ctx, current, archived=False),
                      timezone=customers.get(ctx.tenant.id, current.customer_id).timezone)
    with quotas.admitted(ctx.tenant.id, RECURRING_INVOICES, f"{current.id}@{current.version}"):
        return templates.replace(ctx.tenant.id, changed, current)


def _changed(ctx: RequestContext, current: RecurringInvoice, archived: bool) -> RecurringInvoice:
    return replace(current, archived=archived, last_modified_by_id=ctx.actor_id, last_modified_date=ctx.now)


def reopen(ctx: RequestContext, invoice: Invoice) -> None:
    """A generated invoice was canceled: its due date is generated again by the next run, as the invoice whose
    id derives from the canceled one's. Nothing when that invoice exists already (this cancel is a retry of an
    older one) or it is re-opened already."""
    again = derived_id(invoice.id, "again")
    if documents.invoices.find(ctx.tenant.id, again) is not None:
        return
    due = date.fromisoformat(invoice.name[:10])  # the number is the due date (and a suffix): PATCH cannot change it
    # a generation moving the watermark meanwhile is a lost race: the change is read and applied again
    templates.change(ctx.tenant.id, invoice.recurring_invoice_id,
                     lambda current: rules.reopen(current, due, again, ctx.now, ctx.actor_id), attempts=5)


# --- generation: the tick's source ------------------------------------------------------------------------

def invoice_id_for(template_id: str, due: date) -> str:
    return derived_id(template_id, due.isoformat())


def build_invoice(template: RecurringInvoice, customer: Customer, due: date, invoice_id: str, number: str,
                  now: datetime, is_catch_up: bool) -> Invoice:
    """An ordinary Draft invoice: numbered by its due date, dated by its generation date, lines copied from the
    template (line amount = round(amount x quantity)), tax at the customer's rate as billing jobs do."""
    lines = tuple(DocumentLine(
        id=derived_id(invoice_id, item.id), description=item.description or "", quantity=item.quantity,
        unit_price=item.amount, amount=rules.invoice_line_amount(item, template.currency))
        for item in template.line_items)
    t = totals(lines, customer.tax_rate, template.currency)
    return Invoice(
        id=invoice_id, name=number, customer_id=customer.id, currency=template.currency, status=InvoiceStatus.DRAFT,
        payment_status=PaymentStatus.NOT_TRANSFERRED, source=InvoiceSource.RECURRING_INVOICE,
        invoice_date=rules.generation_date(due, template.days_in_advance), due_date=due, start_date=None,
        end_date=None, target_date=None, amount_without_tax=t.amount_without_tax, tax_amount=t.tax_amount,
        amount=t.amount, balance=t.amount, lines=lines, created_by_id=template.created_by_id,
        last_modified_by_id=template.created_by_id, created_date=now, last_modified_date=now,
        is_catch_up=is_catch_up, bill_to_contact_id=customer.bill_to_contact_id, recurring_invoice_id=template.id)


NUMBER, TEMPLATE = "number", "template"  # tags of the invoice transaction's other actions
MAX_ATTEMPTS = 20  # lost races for one due date in one run (a template being changed meanwhile); then an error


def generate(tenant: Tenant, template_id: str, due: date, until: datetime) -> bool:
    """The invoice of one due date and the watermark past it (or, for a re-opened due date, the date off the
    re-opened list), in one transaction. True when this run wrote them; False, doing nothing, when the template
    is no longer at that due date (another generator moved it, or it was archived or changed) or the date is not
    due in the customer's zone."""
    template = templates.find(tenant.id, template_id)
    if template is None:
        return False
    customer = customers.get(tenant.id, template.customer_id)
    numbers = rules.invoice_numbers(due)
    number = next(numbers)
    for _ in range(MAX_ATTEMPTS):
        again = template.reopened_at(due)
        if template.archived or (again is None and template.next_due_date != due) or \
                rules.generation_date(due, template.days_in_advance) > local_date(until, customer.timezone):
            return False
        invoice_id = again.invoice_id if again else invoice_id_for(template.id, due)
        draft = _draft(tenant, template, customer, due, until, invoice_id, number)
        moved = replace(template, reopened=tuple(r for r in template.reopened if r != again)) if again else replace(
            template, next_due_date=rules.following(due, template.period, template.frequency, template.anchor_day),
            last_due_date=due, timezone=customer.timezone)

        def changes(transaction, template=template, moved=moved, number=number):
            invoice_numbers.claim_in(transaction, tenant.id, customer.id, number, invoice_id, NUMBER)
            store.advance_in(transaction, tenant.id, template, moved, TEMPLATE)

        done, refused = documents.write_once(tenant.id, draft, changes)
        if done is documents.Outcome.WRITTEN:
            invoice_pdf.queue(tenant.id, [invoice_id])
            return True
        if done is documents.Outcome.STORED:
            return False  # another generator wrote it, and moved the watermark with it
        if NUMBER in refused:
            number = next(numbers, None)
            if number is None:
                raise conflict(f"no free invoice number left for customer {customer.id}", "InvoiceNumbersExhausted")
        if TEMPLATE in refused or NUMBER not in refused:  # changed meanwhile (or a conflict): read it again
            template = templates.find(tenant.id, template_id)
            if template is None:
                return False
    raise conflict(f"recurring invoice {template_id} kept changing while its {due} invoice was written",
                   "ConcurrentModification")


def _draft(tenant: Tenant, template: RecurringInvoice, customer: Customer, due: date, until: datetime,
           invoice_id: str, number: str) -> Invoice:
    at = store.start_of(rules.generation_date(due, template.days_in_advance), customer.timezone)
    live = tenant.clock_id == LIVE_CLOCK
    # A test clock replays time: the invoice is dated as if the tick had fired when it fell due (or when the
    # template was last changed, e.g. restored or moved into the past, if that was later).
    now = wall_now() if live else max(at, template.last_modified_date)
    return build_invoice(template, customer, due, invoice_id, number, now,
                         is_catch_up=live and at < until - CATCH_UP_GRACE)


def _rekey(tenant_id: str, template: RecurringInvoice, timezone: str) -> None:
    """The customer's zone changed since the template was indexed: index it at its local midnight there."""
    store.advance(tenant_id, template, replace(template, timezone=timezone))


class RecurringInvoiceWork:
    """Registered with the tick: templates whose next invoice is due, by index query; each due date in order."""
    name = "recurringInvoices"
    live_only = False

    def process_due(self, clock_id: str, until: datetime, budget: Budget) -> int:
        """One pass: at most `slots_per_pass` due dates of each due template, in time order across templates (number
        suffixes follow it), while the budget lasts; a template further behind stays due for the next pass."""
        tenants: dict[str, Tenant] = {}
        stuck: set[str] = set()  # failed: not again in this pass
        batch = []
        for tenant_id, template_id in store.due(clock_id, until):
            try:
                batch += self._due_dates(tenants, tenant_id, template_id, until)
            except Exception:
                log.exception("recurring invoice %s could not be read", template_id)
        batch.sort(key=lambda item: item[:3])
        generated = 0
        for _, due, template_id, tenant in batch:
            if template_id in stuck:
                continue
            if budget.spent():
                break
            try:
                if generate(tenant, template_id, due, until):
                    generated += 1
            except Exception:  # one template's failure must not stop the others; its invoice stays due
                log.exception("recurring invoice %s due %s failed", template_id, due.isoformat())
                stuck.add(template_id)
        return generated

    def oldest_due(self, clock_id: str, until: datetime) -> datetime | None:
        return store.oldest_due(clock_id, until)

    @staticmethod
    def _due_dates(tenants: dict, tenant_id: str, template_id: str, until: datetime) -> list[tuple]:
        """(generation instant, due date, template id, tenant) of each of the template's due invoices."""
        tenant = tenants.setdefault(tenant_id, tenant_store.get_tenant(tenant_id))
        template = templates.find(tenant_id, template_id)
        if template is None:
            return []
        customer = customers.get(tenant_id, template.customer_id)
        today = local_date(until, customer.timezone)
        dues = [r.due_date for r in rules.reopened_by(template, today)] + rules.due_by(
            template, today, settings().slots_per_pass)
        if not dues and template.timezone != customer.timezone:
            _rekey(tenant_id, template, customer.timezone)  # found early by its old zone's midnight
        return [(store.start_of(rules.generation_date(d, template.days_in_advance), customer.timezone), d,
                 template_id, tenant) for d in dues]
