"""Invoices and credit memos: the records every dialect produces, and the arithmetic of their totals.

Totals are exact: amountWithoutTax = sum(line amounts); taxAmount = round(amountWithoutTax x taxRate%)
HALF_UP at the currency's minor units (one rounding per document, not per line); amount =
amountWithoutTax + taxAmount; a new document's balance is its amount."""
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from .enums import CanonicalEnum
from .money import round_money


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
    """One charge (or, on a credit memo, one amount given back) for a subscription's period."""
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
    version: int = 0


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
