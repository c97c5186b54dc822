"""Tables of billing: schedules, jobs, their work units and decision logs, the billing ledger.

Index design (cost grows with the work that is due, not with the data that exists):
- schedules `due`: (due_partition, next_run_date), present only on Active schedules with a next slot
  (a sparse index). due_partition is `live#<shard>` for live tenants and `test#<tenantId>` for test-mode
  ones, so the wall-clock tick and a tenant's test clock each read only their own due schedules.
- jobs `unfinished`: (lease_partition, lease_until), present only while a job is Queued or Running, so
  the tick finds jobs whose lease expired (a crashed run) without reading finished ones; `by-time` and
  `by-schedule` list jobs newest first."""
from pynamodb.attributes import (BooleanAttribute, ListAttribute, MapAttribute, NumberAttribute, UnicodeAttribute,
                                 UnicodeSetAttribute, UTCDateTimeAttribute)
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex, KeysOnlyProjection
from pynamodb.models import Model

from ..domain.billing_jobs import BillingJob, Decision, JobStatus, UnitState, WorkUnit
from ..domain.billing_schedules import (BillingSchedule, IncrementSign, IncrementUnit, ScheduleStatus,
                                        ScheduleType)
from .attributes import DateAttribute, DecimalAttribute, EnumAttribute, JSONAttribute
from .mapping import Mapped
from .model_meta import BaseMeta


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
    clock_id = UnicodeAttribute(attr_name="clock_domain")
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
    clock_id = UnicodeAttribute(attr_name="clock_domain")
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
    retries = NumberAttribute(default=0)
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


BILLING_MODELS = (BillingScheduleModel, BillingJobModel, DecisionModel, LedgerModel, WorkUnitModel)
