"""Tables of documents: invoices and credit memos, with their lines, payments and comments.

Index design:
- invoices `by-customer` / `by-status` / `by-date`: (tenantId#customerId | tenantId#status | tenantId,
  invoiceDate): every invoice list is an index query in invoice-date order. They hold the keys only (by-customer
  also `status`, which its list filters on), not the invoice: a write then costs each index one small entry, and
  an update that changes neither an index key nor the status (a payment, a comment, a PDF key) none at all. A
  list reads a page of keys, then the invoices by BatchGetItem (TenantRepository.list_by_index). Changing a
  deployed index: docs/tables.md.
- payments: each payment applied to an invoice is also an item of its own, put in the same transaction as the
  invoice that holds it (store/documents.record_payment). An invoice's payments are a list inside the invoice,
  which no index can reach, and listing them from the invoices would read every invoice; the table makes
  GET /billing/payments a Query whose cost grows with the page. Its `by-invoice` and `by-customer` indexes
  (tenantId#invoiceId | tenantId#customerId, createdTime) project ALL: a payment is never changed, so they cost
  one entry per payment and a list reads no item a second time."""
from pynamodb.attributes import (BooleanAttribute, ListAttribute, MapAttribute, NumberAttribute, UnicodeAttribute,
                                 UTCDateTimeAttribute)
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex, IncludeProjection, KeysOnlyProjection
from pynamodb.models import Model

from ..domain.invoices import (AppliedPayment, Comment, CreditMemo, DocumentLine, Invoice, InvoiceSource, InvoiceStatus,
                               Payment, PaymentStatus)
from .attributes import DateAttribute, DecimalAttribute, EnumAttribute, JSONAttribute
from .mapping import Mapped
from .model_meta import BaseMeta


class DocumentLineMap(Mapped, MapAttribute):
    entity_cls = DocumentLine

    id = UnicodeAttribute()
    description = UnicodeAttribute()
    quantity = DecimalAttribute()
    unit_price = DecimalAttribute()
    amount = DecimalAttribute()
    subscription_id = UnicodeAttribute(null=True)
    product_id = UnicodeAttribute(null=True)
    start_date = DateAttribute(null=True)
    end_date = DateAttribute(null=True)
    proration_days = NumberAttribute(null=True)
    proration_full_days = NumberAttribute(null=True)
    period_start = DateAttribute(null=True)
    order_id = UnicodeAttribute(null=True)
    order_line_id = UnicodeAttribute(null=True)


class PaymentMap(Mapped, MapAttribute):
    entity_cls = Payment

    id = UnicodeAttribute()
    amount = DecimalAttribute()
    payment_date = DateAttribute()
    created_time = UTCDateTimeAttribute()


class CommentMap(Mapped, MapAttribute):
    entity_cls = Comment

    comment = UnicodeAttribute()
    create_time = UTCDateTimeAttribute()
    create_user_name = UnicodeAttribute()


class InvoicesByCustomer(GlobalSecondaryIndex):
    class Meta:
        index_name = "by-customer"
        projection = IncludeProjection(["status"])

    customer_key = UnicodeAttribute(hash_key=True)
    invoice_date = DateAttribute(range_key=True)


class InvoicesByStatus(GlobalSecondaryIndex):
    class Meta:
        index_name = "by-status"
        projection = KeysOnlyProjection()

    status_key = UnicodeAttribute(hash_key=True)
    invoice_date = DateAttribute(range_key=True)


class InvoicesByDate(GlobalSecondaryIndex):
    class Meta:
        index_name = "by-date"
        projection = KeysOnlyProjection()

    tenant_id = UnicodeAttribute(hash_key=True)
    invoice_date = DateAttribute(range_key=True)


class InvoiceModel(Mapped, Model):
    entity_cls = Invoice

    class Meta(BaseMeta):
        table_name = "invoices"

    tenant_id = UnicodeAttribute(hash_key=True)
    id = UnicodeAttribute(range_key=True)
    name = UnicodeAttribute()
    customer_id = UnicodeAttribute()
    currency = UnicodeAttribute()
    status = EnumAttribute(InvoiceStatus)
    payment_status = EnumAttribute(PaymentStatus)
    source = EnumAttribute(InvoiceSource)
    invoice_date = DateAttribute()
    due_date = DateAttribute()
    start_date = DateAttribute(null=True)
    end_date = DateAttribute(null=True)
    target_date = DateAttribute(null=True)
    amount_without_tax = DecimalAttribute()
    tax_amount = DecimalAttribute()
    amount = DecimalAttribute()
    balance = DecimalAttribute()
    lines = ListAttribute(of=DocumentLineMap, default=list)
    is_catch_up = BooleanAttribute()
    bill_to_contact_id = UnicodeAttribute(null=True)
    billing_job_id = UnicodeAttribute(null=True)
    billing_schedule_id = UnicodeAttribute(null=True)
    comments = ListAttribute(of=CommentMap, default=list)
    custom_fields = JSONAttribute(null=True)
    activated_by_id = UnicodeAttribute(null=True)
    activated_time = UTCDateTimeAttribute(null=True)
    cancellation_date = DateAttribute(null=True)
    payments = ListAttribute(of=PaymentMap, default=list)
    version = NumberAttribute(default=0)
    invoice_job_id = UnicodeAttribute(null=True)
    pdf_key = UnicodeAttribute(null=True)
    created_by_id = UnicodeAttribute()
    last_modified_by_id = UnicodeAttribute()
    created_date = UTCDateTimeAttribute()
    last_modified_date = UTCDateTimeAttribute()
    customer_key = UnicodeAttribute()
    status_key = UnicodeAttribute()
    invoice_schedule_id = UnicodeAttribute(null=True)
    invoice_schedule_item_id = UnicodeAttribute(null=True)
    bill_run_id = UnicodeAttribute(null=True)
    by_customer = InvoicesByCustomer()
    by_status = InvoicesByStatus()
    by_date = InvoicesByDate()
    recurring_invoice_id = UnicodeAttribute(null=True)


class CreditMemoModel(Mapped, Model):
    entity_cls = CreditMemo

    class Meta(BaseMeta):
        table_name = "credit-memos"

    tenant_id = UnicodeAttribute(hash_key=True)
    id = UnicodeAttribute(range_key=True)
    name = UnicodeAttribute()
    customer_id = UnicodeAttribute()
    currency = UnicodeAttribute()
    memo_date = DateAttribute()
    amount_without_tax = DecimalAttribute()
    tax_amount = DecimalAttribute()
    amount = DecimalAttribute()
    lines = ListAttribute(of=DocumentLineMap, default=list)
    reason = UnicodeAttribute()
    billing_job_id = UnicodeAttribute(null=True)
    created_by_id = UnicodeAttribute()
    created_date = UTCDateTimeAttribute()


class PaymentsByInvoice(GlobalSecondaryIndex):
    class Meta:
        index_name = "by-invoice"
        projection = AllProjection()

    invoice_key = UnicodeAttribute(hash_key=True)  # tenantId#invoiceId
    created_time = UTCDateTimeAttribute(range_key=True)


class PaymentsByCustomer(GlobalSecondaryIndex):
    class Meta:
        index_name = "by-customer"
        projection = AllProjection()

    customer_key = UnicodeAttribute(hash_key=True)  # tenantId#customerId
    created_time = UTCDateTimeAttribute(range_key=True)


class PaymentModel(Mapped, Model):
    entity_cls = AppliedPayment

    class Meta(BaseMeta):
        table_name = "payments"

    tenant_id = UnicodeAttribute(hash_key=True)
    id = UnicodeAttribute(range_key=True)
    invoice_id = UnicodeAttribute()
    customer_id = UnicodeAttribute()
    currency = UnicodeAttribute()
    amount = DecimalAttribute()
    payment_date = DateAttribute()
    created_time = UTCDateTimeAttribute()
    invoice_key = UnicodeAttribute()
    customer_key = UnicodeAttribute()
    by_invoice = PaymentsByInvoice()
    by_customer = PaymentsByCustomer()


DOCUMENT_MODELS = (InvoiceModel, CreditMemoModel, PaymentModel)
