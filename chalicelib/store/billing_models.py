"""Tables of billing: schedules, jobs and their decision logs, the billing ledger, invoices, credit memos.

Index design (cost grows with the work that is due, not with the data that exists):
- schedules `due`: (due_partition, next_run_date), present only on Active schedules with a next slot
  (a sparse index). due_partition is `live#<shard>` for live tenants and `test#<tenantId>` for test-mode
  ones, so the wall-clock tick and a tenant's test clock each read only their own due schedules.
- jobs `unfinished`: (lease_partition, lease_until), present only while a job is Queued or Running, so
  the tick finds jobs whose lease expired (a crashed run) without reading finished ones; `by-time` and
  `by-schedule` list jobs newest first.
- invoices `by-customer` / `by-status` / `by-date`: (tenantId#customerId | tenantId#status | tenantId,
  invoiceDate): every invoice list is an index query in invoice-date order. They hold the keys only (by-customer
  also `status`, which its list filters on), not the invoice: a write then costs each index one small entry, and
  an update that changes neither an index key nor the status (a payment, a comment, a PDF key) none at all. A
  list reads a page of keys, then the invoices by BatchGetItem (TenantRepository.list_by_index). Changing a
  deployed index: docs/tables.md."""
from pynamodb.attributes import (BooleanAttribute, ListAttribute, MapAttribute, NumberAttribute, UnicodeAttribute,
                                 UnicodeSetAttribute, UTCDateTimeAttribute)
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex, IncludeProjection, KeysOnlyProjection
from pynamodb.models import Model

from ..domain.billing_schedules import (BillingSchedule, IncrementSign, IncrementUnit, ScheduleStatus,
                                        ScheduleType)
from ..domain.invoices import (Comment, CreditMemo, DocumentLine, Invoice, InvoiceSource, InvoiceStatus, Payment,
                               PaymentStatus)
from ..domain.jobs import BillingJob, Decision, JobStatus, UnitState, WorkUnit
from .attributes import DateAttribute, DecimalAttribute, EnumAttribute, JSONAttribute
from .mapping import Mapped
from .models import BaseMeta


class DueSchedules(GlobalSecondaryIndex):
    class Meta:
        index_name = "due"
        projection = KeysOnlyProjection()

    due_partition = UnicodeAttribute(hash_key=True)
    next_run_date = UTCDateTimeAttribute(range_key=True)


class BillingScheduleModel(Mapped, Model):
    entity_cls = BillingSchedule

    class Meta(BaseMeta):
        table_name = "billing-schedules"

    tenant_id = UnicodeAttribute(hash_key=True)
    id = UnicodeAttribute(range_key=True)
    name = UnicodeAttribute()
    schedule_type = EnumAttribute(ScheduleType)
    status = EnumAttribute(ScheduleStatus)
    zone_id = UnicodeAttribute()
    schedule_start_date = DateAttribute()
    clock_domain = UnicodeAttribute()
    recurring_schedule = UnicodeAttribute(null=True)
    invoice_date = DateAttribute(null=True)
    target_date = DateAttribute(null=True)
    target_date_increment = NumberAttribute()
    target_date_increment_sign = EnumAttribute(IncrementSign)
    target_date_increment_time_unit = EnumAttribute(IncrementUnit)
    customer_filter = UnicodeAttribute(null=True)
    order_filter = UnicodeAttribute(null=True)
    product_filter = UnicodeAttribute(null=True)
    bill_cycle_day_filter = UnicodeAttribute(null=True)
    description = UnicodeAttribute(null=True)
    daily_object = JSONAttribute(null=True)
    custom_expression = JSONAttribute(null=True)
    activate_invoices = BooleanAttribute()
    created_through = UnicodeAttribute()
    record_type = UnicodeAttribute()
    last_run_date = UTCDateTimeAttribute(null=True)
    next_run_date = UTCDateTimeAttribute(null=True)
    due_partition = UnicodeAttribute(null=True)
    version = NumberAttribute()
    created_by_id = UnicodeAttribute()
    last_modified_by_id = UnicodeAttribute()
    created_date = UTCDateTimeAttribute()
    last_modified_date = UTCDateTimeAttribute()
    due = DueSchedules()


class UnfinishedJobs(GlobalSecondaryIndex):
    class Meta:
        index_name = "unfinished"
        projection = KeysOnlyProjection()

    lease_partition = UnicodeAttribute(hash_key=True)
    lease_until = UTCDateTimeAttribute(range_key=True)


class JobsByTime(GlobalSecondaryIndex):
    class Meta:
        index_name = "by-time"
        projection = AllProjection()

    tenant_id = UnicodeAttribute(hash_key=True)
    scheduled_time = UTCDateTimeAttribute(range_key=True)


class JobsBySchedule(GlobalSecondaryIndex):
    class Meta:
        index_name = "by-schedule"
        projection = AllProjection()

    schedule_key = UnicodeAttribute(hash_key=True)  # tenantId#scheduleId
    scheduled_time = UTCDateTimeAttribute(range_key=True)


class BillingJobModel(Mapped, Model):
    entity_cls = BillingJob

    class Meta(BaseMeta):
        table_name = "billing-jobs"

    tenant_id = UnicodeAttribute(hash_key=True)
    id = UnicodeAttribute(range_key=True)
    name = UnicodeAttribute()
    status = EnumAttribute(JobStatus)
    clock_domain = UnicodeAttribute()
    target_date = DateAttribute()
    invoice_date = DateAttribute()
    scheduled_time = UTCDateTimeAttribute()
    schedule_id = UnicodeAttribute(null=True)
    schedule_name = UnicodeAttribute(null=True)
    is_catch_up = BooleanAttribute()
    activate_invoices = BooleanAttribute()
    customer_filter = UnicodeAttribute(null=True)
    order_filter = UnicodeAttribute(null=True)
    product_filter = UnicodeAttribute(null=True)
    bill_cycle_day_filter = UnicodeAttribute(null=True)
    subscription_ids = ListAttribute(of=UnicodeAttribute, null=True)
    attempts = NumberAttribute()
    started_time = UTCDateTimeAttribute(null=True)
    completed_time = UTCDateTimeAttribute(null=True)
    lease_partition = UnicodeAttribute(null=True)
    lease_until = UTCDateTimeAttribute(null=True)
    lease_owner = UnicodeAttribute(null=True)
    counts = MapAttribute(null=True)
    error = UnicodeAttribute(null=True)
    created_by_id = UnicodeAttribute()
    created_date = UTCDateTimeAttribute()
    schedule_key = UnicodeAttribute(null=True)
    units_total = NumberAttribute(null=True)
    units_finished = NumberAttribute(default=0)
    unfinished = UnfinishedJobs()
    by_time = JobsByTime()
    by_schedule = JobsBySchedule()


class WorkUnitModel(Mapped, Model):
    """One slice of a fanned-out billing job; its state moves Pending -> Done | Failed once (conditional)."""
    entity_cls = WorkUnit

    class Meta(BaseMeta):
        table_name = "billing-job-units"

    tenant_id = UnicodeAttribute(hash_key=True)
    unit_key = UnicodeAttribute(range_key=True)  # jobId#00007
    job_id = UnicodeAttribute()
    position = NumberAttribute()
    customer_ids = ListAttribute(of=UnicodeAttribute)
    subscription_ids = ListAttribute(of=UnicodeAttribute, null=True)
    state = EnumAttribute(UnitState)
    receives = NumberAttribute(default=0)
    error = UnicodeAttribute(null=True)


class DecisionModel(Mapped, Model):
    """One customer's outcome in one job; written idempotently, so a re-run overwrites with the same facts."""
    entity_cls = Decision

    class Meta(BaseMeta):
        table_name = "billing-decisions"

    job_key = UnicodeAttribute(hash_key=True)  # tenantId#jobId
    customer_id = UnicodeAttribute(range_key=True)
    decision = UnicodeAttribute()
    reason = UnicodeAttribute(null=True)
    invoice_id = UnicodeAttribute(null=True)
    credit_memo_id = UnicodeAttribute(null=True)
    lines = NumberAttribute()


class LedgerModel(Model):
    """Net amount invoiced per (subscription, period): the record that makes billing exactly-once."""

    class Meta(BaseMeta):
        table_name = "billing-ledger"

    # One partition per subscription (not per tenant): reads and claims touch only that subscription's periods,
    # and a large tenant's billing job spreads its writes instead of heating one partition.
    subscription_key = UnicodeAttribute(hash_key=True)  # tenantId#subscriptionId; a head's: tenantId#customerId
    period_key = UnicodeAttribute(range_key=True)  # periodStart, ISO; or "head" (below)
    # a period's entry
    tenant_id = UnicodeAttribute(null=True)
    subscription_id = UnicodeAttribute(null=True)
    period_start = DateAttribute(null=True)
    period_end = DateAttribute(null=True)
    full_start = DateAttribute(null=True)
    full_end = DateAttribute(null=True)
    billed_amount = DecimalAttribute(null=True)
    version = NumberAttribute(null=True)
    documents = ListAttribute(of=UnicodeAttribute, null=True)  # "documentId=signedAmount", in order
    # a customer's head (store/ledger.py): version (above) and, by subscription id, "fingerprint@date" or ""
    settled = MapAttribute(null=True)
    starts = UnicodeSetAttribute(null=True)  # a head written before `settled`: "subscriptionId@periodStart" of each entry


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


BILLING_MODELS = (BillingScheduleModel, BillingJobModel, DecisionModel, LedgerModel, InvoiceModel,
                  CreditMemoModel, WorkUnitModel)
