"""Tables of the Zuora dialect: invoice schedules (with their items) and bill runs.

Index design (cost grows with the work that is due, not with the data that exists):
- invoice schedules `due`: (due_partition, next_run_at), present only while the schedule is not paused and
  has a pending item (a sparse index); next_run_at is the start of its earliest pending item's run date.
  due_partition is `live#<shard>` for live tenants and `test#<tenantId>` for test-mode ones.
- invoice schedules `by-number` and bill runs `by-number`: (tenantId#number), so `IS-`/`BR-` numbers are
  found with an index query.
- bill runs `unfinished`: (lease_partition, lease_until), present only while a run is Pending or Processing,
  so the tick finds runs nobody has run (or whose runner died) without reading finished ones.
- the lists (GET /v1/invoice-schedules, GET /v1/bill-runs) query an index for each filter they take, in number
  (schedules) or creation (bill runs) order: schedules `by-customer` (tenantId#customerId) and `by-status`
  (tenantId#status; a schedule's status is derived from its items and rewritten with every put of it); bill
  runs `by-customer` (tenantId#customerId) and `by-schedule` (tenantId#scheduleId, which an order filter goes
  through: an order is billed by at most one schedule, the one its mark names), both holding `status` for the
  filter on it, and `by-status` (tenantId, status): the status itself is its sort key, so the lease writes that
  move a run's status move its entry too, with no attribute of their own to keep in step."""
from pynamodb.attributes import BooleanAttribute, ListAttribute, NumberAttribute, UnicodeAttribute, UTCDateTimeAttribute
from pynamodb.attributes import MapAttribute
from pynamodb.indexes import GlobalSecondaryIndex, IncludeProjection, KeysOnlyProjection
from pynamodb.models import Model

from ..domain.bill_runs import BillRun, BillRunStatus
from ..domain.invoice_schedules import InvoiceSchedule, ItemStatus, ScheduleItem
from .attributes import DateAttribute, DecimalAttribute, EnumAttribute
from .mapping import Mapped
from .model_meta import BaseMeta


class ScheduleItemMap(Mapped, MapAttribute):
    entity_cls = ScheduleItem

    id = UnicodeAttribute()
    run_date = DateAttribute()
    amount = DecimalAttribute()
    status = EnumAttribute(ItemStatus)
    name = UnicodeAttribute(null=True)
    percentage = DecimalAttribute(null=True)
    invoice_id = UnicodeAttribute(null=True)
    invoice_number = UnicodeAttribute(null=True)
    bill_run_id = UnicodeAttribute(null=True)
    reissues = NumberAttribute(null=True)  # absent on items stored before re-opening existed: read as 0


class DueInvoiceSchedules(GlobalSecondaryIndex):
    class Meta:
        index_name = "due"
        projection = KeysOnlyProjection()

    due_partition = UnicodeAttribute(hash_key=True)
    next_run_at = UTCDateTimeAttribute(range_key=True)


class InvoiceSchedulesByNumber(GlobalSecondaryIndex):
    class Meta:
        index_name = "by-number"
        projection = KeysOnlyProjection()

    number_key = UnicodeAttribute(hash_key=True)  # tenantId#IS-00000001


class InvoiceSchedulesByCustomer(GlobalSecondaryIndex):
    class Meta:
        index_name = "by-customer"
        projection = IncludeProjection(["status_key"])

    customer_key = UnicodeAttribute(hash_key=True)  # tenantId#customerId
    number = UnicodeAttribute(range_key=True)


class InvoiceSchedulesByStatus(GlobalSecondaryIndex):
    class Meta:
        index_name = "by-status"
        projection = KeysOnlyProjection()

    status_key = UnicodeAttribute(hash_key=True)  # tenantId#Pending
    number = UnicodeAttribute(range_key=True)


class InvoiceScheduleModel(Mapped, Model):
    entity_cls = InvoiceSchedule

    class Meta(BaseMeta):
        table_name = "invoice-schedules"

    tenant_id = UnicodeAttribute(hash_key=True)
    id = UnicodeAttribute(range_key=True)
    number = UnicodeAttribute()
    customer_id = UnicodeAttribute()
    currency = UnicodeAttribute()
    order_ids = ListAttribute(of=UnicodeAttribute)
    total_amount = DecimalAttribute()
    items = ListAttribute(of=ScheduleItemMap, default=list)
    timezone = UnicodeAttribute(attr_name="zone_id")
    clock_id = UnicodeAttribute(attr_name="clock_domain")
    notes = UnicodeAttribute(null=True)
    paused = BooleanAttribute(default=False)
    version = NumberAttribute(default=0)
    created_by_id = UnicodeAttribute()
    updated_by_id = UnicodeAttribute()
    created_date = UTCDateTimeAttribute()
    updated_date = UTCDateTimeAttribute()
    number_key = UnicodeAttribute()
    due_partition = UnicodeAttribute(null=True)
    next_run_at = UTCDateTimeAttribute(null=True)
    customer_key = UnicodeAttribute(null=True)  # null: written before the lists' indexes existed
    status_key = UnicodeAttribute(null=True)
    due = DueInvoiceSchedules()
    by_number = InvoiceSchedulesByNumber()
    by_customer = InvoiceSchedulesByCustomer()
    by_status = InvoiceSchedulesByStatus()


class UnfinishedBillRuns(GlobalSecondaryIndex):
    class Meta:
        index_name = "unfinished"
        projection = KeysOnlyProjection()

    lease_partition = UnicodeAttribute(hash_key=True)
    lease_until = UTCDateTimeAttribute(range_key=True)


class BillRunsByNumber(GlobalSecondaryIndex):
    class Meta:
        index_name = "by-number"
        projection = KeysOnlyProjection()

    number_key = UnicodeAttribute(hash_key=True)  # tenantId#BR-00000001


class BillRunsByCustomer(GlobalSecondaryIndex):
    class Meta:
        index_name = "by-customer"
        projection = IncludeProjection(["status"])

    customer_key = UnicodeAttribute(hash_key=True)  # tenantId#customerId
    created_date = UTCDateTimeAttribute(range_key=True)


class BillRunsBySchedule(GlobalSecondaryIndex):
    class Meta:
        index_name = "by-schedule"
        projection = IncludeProjection(["status"])

    schedule_key = UnicodeAttribute(hash_key=True)  # tenantId#invoiceScheduleId
    created_date = UTCDateTimeAttribute(range_key=True)


class BillRunsByStatus(GlobalSecondaryIndex):
    class Meta:
        index_name = "by-status"
        projection = KeysOnlyProjection()

    tenant_id = UnicodeAttribute(hash_key=True)
    status = EnumAttribute(BillRunStatus, range_key=True)


class BillRunModel(Mapped, Model):
    entity_cls = BillRun

    class Meta(BaseMeta):
        table_name = "bill-runs"

    tenant_id = UnicodeAttribute(hash_key=True)
    id = UnicodeAttribute(range_key=True)
    number = UnicodeAttribute()
    status = EnumAttribute(BillRunStatus)
    clock_id = UnicodeAttribute(attr_name="clock_domain")
    customer_id = UnicodeAttribute()
    invoice_schedule_id = UnicodeAttribute()
    item_id = UnicodeAttribute()
    requested_item_id = UnicodeAttribute(null=True)
    invoice_date = DateAttribute()
    target_date = DateAttribute()
    auto_post = BooleanAttribute()
    automatic = BooleanAttribute()
    invoice_ids = ListAttribute(of=UnicodeAttribute, default=list)
    invoice_numbers = ListAttribute(of=UnicodeAttribute, default=list)
    error_message = UnicodeAttribute(null=True)
    attempts = NumberAttribute(default=0)
    started_time = UTCDateTimeAttribute(null=True)
    completed_time = UTCDateTimeAttribute(null=True)
    lease_partition = UnicodeAttribute(null=True)
    lease_until = UTCDateTimeAttribute(null=True)
    lease_owner = UnicodeAttribute(null=True)
    created_by_id = UnicodeAttribute()
    created_date = UTCDateTimeAttribute()
    updated_date = UTCDateTimeAttribute()
    number_key = UnicodeAttribute()
    customer_key = UnicodeAttribute(null=True)  # null: written before the lists' indexes existed
    schedule_key = UnicodeAttribute(null=True)
    unfinished = UnfinishedBillRuns()
    by_number = BillRunsByNumber()
    by_customer = BillRunsByCustomer()
    by_schedule = BillRunsBySchedule()
    by_status = BillRunsByStatus()


INVOICE_SCHEDULE_MODELS = (InvoiceScheduleModel, BillRunModel)
