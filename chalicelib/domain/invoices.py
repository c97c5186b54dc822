"""Invoices and credit memos: the records every dialect produces, and the arithmetic of their totals.

Totals are exact: amountWithoutTax = sum(line amounts); taxAmount = round(amountWithoutTax x taxRate%)
HALF_UP at the currency's minor units (one rounding per document, not per line); amount =
amountWithoutTax + taxAmount; a new document's balance is its amount."""
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from decimal import Decimal

from .enums import CanonicalEnum
from .errors import conflict, invalid
from .money import round_money
from .orders import one_time_charge_id


class InvoiceStatus(CanonicalEnum):
    DRAFT = "Draft"
    PENDING_ACTIVATION = "PendingActivation"
    ACTIVE = "Active"
    CANCELED = "Canceled"


class PaymentStatus(CanonicalEnum):
    NOT_TRANSFERRED = "NotTransferred"
    TRANSFERRED = "Transferred"
    PARTIALLY_PAID = "PartiallyPaid"
    PAID = "Paid"


class InvoiceSource(CanonicalEnum):
    BILLING = "Billing"
    INVOICE_SCHEDULE = "InvoiceSchedule"
    RECURRING_INVOICE = "RecurringInvoice"


@dataclass(frozen=True)
class DocumentLine:
    """One charge (or, on a credit memo, one amount given back) for a subscription's period, or a one-time charge
    (an order's OneTime line: `order_id` and `order_line_id` name it, `subscription_id` is None)."""
    id: str
    description: str
    quantity: Decimal
    unit_price: Decimal
    amount: Decimal
    subscription_id: str | None = None
    product_id: str | None = None
    start_date: date | None = None
    end_date: date | None = None
    proration_days: int | None = None  # days charged of proration_full_days; None when not prorated
    proration_full_days: int | None = None
    period_start: date | None = None  # the billing period (ledger entry) this line belongs to
    order_id: str | None = None
    order_line_id: str | None = None

    @property
    def ledger_id(self) -> str | None:
        """What the line bills, as the billing ledger names it (with period_start): the subscription, or the
        one-time charge. None for lines no ledger holds (invoice schedules', recurring invoices')."""
        if self.subscription_id is not None or self.order_line_id is None or self.period_start is None:
            return self.subscription_id
        return one_time_charge_id(self.order_id, self.order_line_id)


@dataclass(frozen=True)
class Totals:
    amount_without_tax: Decimal
    tax_amount: Decimal
    amount: Decimal


def totals(lines, tax_rate_percent: Decimal, currency: str) -> Totals:
    without_tax = sum((line.amount for line in lines), Decimal(0))
    without_tax = round_money(without_tax, currency)
    tax = round_money(without_tax * Decimal(tax_rate_percent) / 100, currency)
    return Totals(without_tax, tax, without_tax + tax)


@dataclass(frozen=True)
class Comment:
    comment: str
    create_time: datetime
    create_user_name: str


@dataclass(frozen=True)
class Payment:
    id: str
    amount: Decimal
    payment_date: date
    created_time: datetime


@dataclass(frozen=True)
class AppliedPayment:
    """A payment with the invoice it was applied to: what the payments list answers."""
    id: str
    invoice_id: str
    customer_id: str
    currency: str
    amount: Decimal
    payment_date: date
    created_time: datetime


@dataclass(frozen=True)
class Invoice:
    id: str
    name: str  # INV-00000001
    customer_id: str
    currency: str
    status: InvoiceStatus
    payment_status: PaymentStatus
    source: InvoiceSource
    invoice_date: date
    due_date: date
    start_date: date | None
    end_date: date | None
    target_date: date | None
    amount_without_tax: Decimal
    tax_amount: Decimal
    amount: Decimal
    balance: Decimal
    lines: tuple[DocumentLine, ...]
    created_by_id: str
    last_modified_by_id: str
    created_date: datetime
    last_modified_date: datetime
    is_catch_up: bool = False
    bill_to_contact_id: str | None = None
    billing_job_id: str | None = None
    billing_schedule_id: str | None = None
    comments: tuple[Comment, ...] = ()
    custom_fields: dict | None = None
    activated_by_id: str | None = None
    activated_time: datetime | None = None
    cancellation_date: date | None = None
    payments: tuple[Payment, ...] = ()
    version: int = 0
    invoice_job_id: str | None = None  # the bulk invoice job that last moved it (PendingActivation, Active)
    pdf_key: str | None = None  # where its PDF is stored, once rendered (for the version it was rendered at)
    recurring_invoice_id: str | None = None  # the BILL template that generated it (source RecurringInvoice)
    invoice_schedule_id: str | None = None  # invoices of invoice schedule items (Zuora dialect)
    invoice_schedule_item_id: str | None = None
    bill_run_id: str | None = None


@dataclass(frozen=True)
class CreditMemo:
    id: str
    name: str  # CM-00000001
    customer_id: str
    currency: str
    memo_date: date
    amount_without_tax: Decimal
    tax_amount: Decimal
    amount: Decimal
    lines: tuple[DocumentLine, ...]
    reason: str
    created_by_id: str
    created_date: datetime
    billing_job_id: str | None = None


# --- lifecycle (seed 001): Draft -> (PendingActivation) -> Active -> Canceled; Canceled and unpaid -> deleted --

EDITABLE = (InvoiceStatus.DRAFT, InvoiceStatus.PENDING_ACTIVATION, InvoiceStatus.ACTIVE)


def _with_comment(invoice: Invoice, text: str | None, now: datetime, user: str) -> tuple:
    return invoice.comments + ((Comment(text, now, user),) if text else ())


def activate(invoice: Invoice, now: datetime, user_id: str, user_name: str, payment_term_days: int,
             invoice_date: date | None = None, comment: str | None = None) -> Invoice:
    """Draft (or PendingActivation) -> Active; a new invoice date moves the due date with it."""
    if invoice.status not in (InvoiceStatus.DRAFT, InvoiceStatus.PENDING_ACTIVATION):
        raise conflict(f"invoice is {invoice.status.value}; only a Draft invoice can be activated")
    day = invoice_date or invoice.invoice_date
    due = day + timedelta(days=payment_term_days) if invoice_date else invoice.due_date
    return replace(invoice, status=InvoiceStatus.ACTIVE, invoice_date=day, due_date=due, activated_time=now,
                   activated_by_id=user_id, comments=_with_comment(invoice, comment, now, user_name),
                   last_modified_by_id=user_id, last_modified_date=now)


def is_unpaid(invoice: Invoice) -> bool:
    return invoice.payment_status is PaymentStatus.NOT_TRANSFERRED and not invoice.payments


def cancel(invoice: Invoice, today: date, now: datetime, user_id: str, user_name: str,
           comment: str | None = None) -> Invoice:
    if invoice.status is InvoiceStatus.CANCELED:
        return invoice
    if not is_unpaid(invoice):
        raise conflict(f"invoice is {invoice.payment_status.value}; only an unpaid invoice can be canceled")
    return replace(invoice, status=InvoiceStatus.CANCELED, cancellation_date=today,
                   comments=_with_comment(invoice, comment, now, user_name), last_modified_by_id=user_id,
                   last_modified_date=now)


def check_deletable(invoice: Invoice) -> None:
    if invoice.status is not InvoiceStatus.CANCELED:
        raise conflict(f"invoice is {invoice.status.value}; only a Canceled invoice can be deleted")
    if not is_unpaid(invoice):
        raise conflict("a payment was applied to this invoice: it cannot be deleted")


def update(invoice: Invoice, changes: dict, now: datetime, user_id: str) -> Invoice:
    """Only dueDate, billToContactId and customFields, and only while Draft, PendingActivation or Active."""
    if invoice.status not in EDITABLE:
        raise conflict(f"invoice is {invoice.status.value}; it can no longer be changed")
    if "due_date" in changes and changes["due_date"] < invoice.invoice_date:
        raise invalid("dueDate", "must not be before the invoice date")
    return replace(invoice, **changes, last_modified_by_id=user_id, last_modified_date=now)


def applied(payment: Payment, invoice: Invoice) -> AppliedPayment:
    return AppliedPayment(id=payment.id, invoice_id=invoice.id, customer_id=invoice.customer_id,
                          currency=invoice.currency, amount=payment.amount, payment_date=payment.payment_date,
                          created_time=payment.created_time)


def pay(invoice: Invoice, payment: Payment, user_id: str) -> Invoice:
    """A payment on an Active invoice lowers its balance; overpaying is refused. Re-applying the same
    payment (a retried request) changes nothing."""
    if any(p.id == payment.id for p in invoice.payments):
        return invoice
    if invoice.status is not InvoiceStatus.ACTIVE:
        raise conflict(f"invoice is {invoice.status.value}; only an Active invoice can be paid")
    if payment.amount <= 0:
        raise invalid("amount", "must be greater than 0")
    if payment.amount > invoice.balance:
        raise invalid("amount", f"exceeds the invoice balance of {invoice.balance}")
    balance = invoice.balance - payment.amount
    status = PaymentStatus.PAID if balance == 0 else PaymentStatus.PARTIALLY_PAID
    return replace(invoice, balance=balance, payment_status=status, payments=invoice.payments + (payment,),
                   last_modified_by_id=user_id, last_modified_date=payment.created_time)
