"""Tables of recurring invoices (BILL dialect): the templates, and the invoice-number claims.

Index design (cost grows with the work that is due, not with the data that exists):
- recurring-invoices `due`: (due_partition, generate_at), present only on templates that will generate again
  (not archived, series not past its endDate): a sparse index. due_partition is `live#<shard>` for live
  tenants and `test#<tenantId>` for test-mode ones, as billing schedules' is; generate_at is the instant the
  generation date of the next invoice begins in the customer's zone (local midnight), so a tick's query
  `generate_at <= until` reads exactly the templates that have an invoice to generate.
- recurring-invoices `by-customer`: (tenantId#customerId, id), for the customerId filter of the list.
- invoice-numbers: one item per (tenant, customer, invoice number), owned by the invoice that claimed it:
  the number `2026-01-31` is unique per customer, and the claim is a conditional put (see invoice_numbers.py)."""
from pynamodb.attributes import (BooleanAttribute, ListAttribute, MapAttribute, NumberAttribute, UnicodeAttribute,
                                 UTCDateTimeAttribute)
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex, KeysOnlyProjection
from pynamodb.models import Model

from ..domain.recurring_invoices import LineItem, RecurrencePeriod, RecurringInvoice, Reopened
from .attributes import DateAttribute, DecimalAttribute, EnumAttribute
from .mapping import Mapped
from .model_meta import BaseMeta


class DueRecurringInvoices(GlobalSecondaryIndex):
    class Meta:
        index_name = "due"
        projection = KeysOnlyProjection()

    due_partition = UnicodeAttribute(hash_key=True)
    generate_at = UTCDateTimeAttribute(range_key=True)


class RecurringInvoicesByCustomer(GlobalSecondaryIndex):
    class Meta:
        index_name = "by-customer"
        projection = AllProjection()

    customer_key = UnicodeAttribute(hash_key=True)  # tenantId#customerId
    id = UnicodeAttribute(range_key=True)


class LineItemMap(Mapped, MapAttribute):
    entity_cls = LineItem

    id = UnicodeAttribute()
    amount = DecimalAttribute()
    quantity = DecimalAttribute()
    description = UnicodeAttribute(null=True)


class ReopenedMap(Mapped, MapAttribute):
    entity_cls = Reopened

    due_date = DateAttribute()
    invoice_id = UnicodeAttribute()


class RecurringInvoiceModel(Mapped, Model):
    entity_cls = RecurringInvoice

    class Meta(BaseMeta):
        table_name = "recurring-invoices"

    tenant_id = UnicodeAttribute(hash_key=True)
    id = UnicodeAttribute(range_key=True)
    customer_id = UnicodeAttribute()
    currency = UnicodeAttribute()
    period = EnumAttribute(RecurrencePeriod)
    frequency = NumberAttribute()
    next_due_date = DateAttribute()
    anchor_day = NumberAttribute()
    days_in_advance = NumberAttribute()
    line_items = ListAttribute(of=LineItemMap)
    timezone = UnicodeAttribute(attr_name="zone")
    clock_id = UnicodeAttribute(attr_name="clock_domain")
    created_by_id = UnicodeAttribute()
    last_modified_by_id = UnicodeAttribute()
    created_date = UTCDateTimeAttribute()
    last_modified_date = UTCDateTimeAttribute()
    end_date = DateAttribute(null=True)
    archived = BooleanAttribute()
    last_due_date = DateAttribute(null=True)
    reopened = ListAttribute(of=ReopenedMap, null=True)
    version = NumberAttribute()
    due_partition = UnicodeAttribute(null=True)
    generate_at = UTCDateTimeAttribute(null=True)
    customer_key = UnicodeAttribute()
    due = DueRecurringInvoices()
    by_customer = RecurringInvoicesByCustomer()


class InvoiceNumberModel(Model):
    """An invoice number taken for one customer, and the invoice that holds it."""

    class Meta(BaseMeta):
        table_name = "invoice-numbers"

    tenant_id = UnicodeAttribute(hash_key=True)
    key = UnicodeAttribute(range_key=True)  # customerId#number
    invoice_id = UnicodeAttribute()


RECURRING_INVOICE_MODELS = (RecurringInvoiceModel, InvoiceNumberModel)
