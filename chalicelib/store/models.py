"""Every DynamoDB table billrun uses, defined once. The local stack, the tests and infra/ build from these.

Tenant-owned tables are keyed (tenantId, id): every read names the tenant, so no query can cross tenants.
Table names are bound at run time from BILLRUN_TABLE_PREFIX (see tables.bind)."""
from pynamodb.attributes import (BooleanAttribute, ListAttribute, MapAttribute, NumberAttribute, TTLAttribute,
                                 UnicodeAttribute, UTCDateTimeAttribute)
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex, KeysOnlyProjection
from pynamodb.models import Model

from ..domain.catalog import Customer, Product
from ..domain.enums import (BillingPeriod, BillingTiming, OrderStatus, ProductType, SubscriptionStatus)
from ..domain.orders import Order, OrderLine
from ..domain.subscriptions import QuantityChange, Subscription
from ..domain.tenants import ApiKey, Tenant
from .attributes import DateAttribute, DecimalAttribute, EnumAttribute
from .mapping import Mapped


class BaseMeta:
    region = "us-east-1"
    host = None
    billing_mode = "PAY_PER_REQUEST"


class AdvancingClocks(GlobalSecondaryIndex):
    """Sparse: a test clock whose advance is unfinished, by when its lease runs out (the wall tick takes over)."""
    class Meta:
        index_name = "advancing"
        projection = KeysOnlyProjection()

    advance_partition = UnicodeAttribute(hash_key=True)
    advance_lease_until = UTCDateTimeAttribute(range_key=True)


class TenantModel(Mapped, Model):
    entity_cls = Tenant

    class Meta(BaseMeta):
        table_name = "tenants"

    id = UnicodeAttribute(hash_key=True)
    name = UnicodeAttribute()
    test_mode = BooleanAttribute()
    timezone = UnicodeAttribute()
    currency = UnicodeAttribute()
    payment_term_days = NumberAttribute()
    generate_first_invoice_on_order_activation = BooleanAttribute()
    clock = UTCDateTimeAttribute(null=True)
    advancing_to = UTCDateTimeAttribute(null=True)
    advance_ran = MapAttribute(null=True)
    created_date = UTCDateTimeAttribute()
    last_modified_date = UTCDateTimeAttribute()
    version = NumberAttribute(default=0)
    # the advance's lease (store/tenants.py): who works on it, until when
    advance_partition = UnicodeAttribute(null=True)
    advance_lease_until = UTCDateTimeAttribute(null=True)
    advance_owner = UnicodeAttribute(null=True)
    advancing = AdvancingClocks()


class ApiKeysByTenant(GlobalSecondaryIndex):
    class Meta:
        index_name = "by-tenant"
        projection = AllProjection()

    tenant_id = UnicodeAttribute(hash_key=True)
    id = UnicodeAttribute(range_key=True)


class ApiKeyModel(Mapped, Model):
    """Looked up by the hash of the presented key (strongly consistent GetItem on every request)."""
    entity_cls = ApiKey

    class Meta(BaseMeta):
        table_name = "api-keys"

    key_hash = UnicodeAttribute(hash_key=True)
    id = UnicodeAttribute()
    tenant_id = UnicodeAttribute()
    name = UnicodeAttribute()
    created_date = UTCDateTimeAttribute()
    revoked_date = UTCDateTimeAttribute(null=True)
    by_tenant = ApiKeysByTenant()


class CounterModel(Model):
    """Per-tenant sequences for human numbers (BS-, INV-, ...), advanced by atomic ADD (store/counters.py); and
    per-tenant quota items, named `quota#<quota>` (store/quotas.py): value is then the quota's count, entries its
    admissions in flight (or its open jobs), version what a recount compares and sets."""

    class Meta(BaseMeta):
        table_name = "counters"

    tenant_id = UnicodeAttribute(hash_key=True)
    name = UnicodeAttribute(range_key=True)
    value = NumberAttribute(default=0)
    entries = MapAttribute(null=True)  # quota items only: {entry: ISO instant it was admitted}
    version = NumberAttribute(null=True)  # quota items only


class IdempotencyModel(Model):
    """What a POST with an Idempotency-Key answered, kept 24 h (DynamoDB TTL removes it later)."""

    class Meta(BaseMeta):
        table_name = "idempotency"

    tenant_id = UnicodeAttribute(hash_key=True)
    key = UnicodeAttribute(range_key=True)
    fingerprint = UnicodeAttribute()
    state = UnicodeAttribute()  # InProgress | Done
    lease_until = UTCDateTimeAttribute()
    status_code = NumberAttribute(null=True)
    body = UnicodeAttribute(null=True)
    expires_at = TTLAttribute()


class TickModel(Model):
    """Heartbeat of each clock domain's tick: 'live' (wall clock) or 'test#<tenantId>'."""

    class Meta(BaseMeta):
        table_name = "ticks"

    domain = UnicodeAttribute(hash_key=True)
    last_tick_at = UTCDateTimeAttribute(null=True)
    tick_count = NumberAttribute(default=0)


class CustomerModel(Mapped, Model):
    entity_cls = Customer

    class Meta(BaseMeta):
        table_name = "customers"

    tenant_id = UnicodeAttribute(hash_key=True)
    id = UnicodeAttribute(range_key=True)
    name = UnicodeAttribute()
    email = UnicodeAttribute(null=True)
    timezone = UnicodeAttribute()
    currency = UnicodeAttribute()
    payment_term_days = NumberAttribute()
    bill_cycle_day = NumberAttribute(null=True)
    tax_rate = DecimalAttribute()
    bill_to_contact_id = UnicodeAttribute(null=True)
    created_date = UTCDateTimeAttribute()
    last_modified_date = UTCDateTimeAttribute()
    version = NumberAttribute(default=0)


class ProductModel(Mapped, Model):
    entity_cls = Product

    class Meta(BaseMeta):
        table_name = "products"

    tenant_id = UnicodeAttribute(hash_key=True)
    id = UnicodeAttribute(range_key=True)
    name = UnicodeAttribute()
    sku = UnicodeAttribute(null=True)
    description = UnicodeAttribute(null=True)
    product_type = EnumAttribute(ProductType)
    price = DecimalAttribute()
    currency = UnicodeAttribute()
    billing_period = EnumAttribute(BillingPeriod, null=True)
    created_date = UTCDateTimeAttribute()
    last_modified_date = UTCDateTimeAttribute()
    version = NumberAttribute(default=0)


class OrderLineMap(Mapped, MapAttribute):
    entity_cls = OrderLine

    id = UnicodeAttribute()
    product_id = UnicodeAttribute()
    product_type = EnumAttribute(ProductType)
    quantity = DecimalAttribute()
    unit_price = DecimalAttribute()
    amount = DecimalAttribute()
    start_date = DateAttribute()
    end_date = DateAttribute(null=True)
    billing_period = EnumAttribute(BillingPeriod, null=True)
    bill_cycle_day = NumberAttribute(null=True)
    billing_timing = EnumAttribute(BillingTiming)
    subscription_id = UnicodeAttribute(null=True)


class OrderModel(Mapped, Model):
    entity_cls = Order

    class Meta(BaseMeta):
        table_name = "orders"

    tenant_id = UnicodeAttribute(hash_key=True)
    id = UnicodeAttribute(range_key=True)
    customer_id = UnicodeAttribute()
    currency = UnicodeAttribute()
    status = EnumAttribute(OrderStatus)
    order_date = DateAttribute()
    description = UnicodeAttribute(null=True)
    lines = ListAttribute(of=OrderLineMap)
    total_amount = DecimalAttribute()
    activated_date = UTCDateTimeAttribute(null=True)
    created_date = UTCDateTimeAttribute()
    last_modified_date = UTCDateTimeAttribute()
    version = NumberAttribute(default=0)
    invoice_schedule_id = UnicodeAttribute(null=True)
    invoice_schedule_marked = UTCDateTimeAttribute(null=True)


class QuantityChangeMap(Mapped, MapAttribute):
    entity_cls = QuantityChange

    effective_date = DateAttribute()
    quantity = DecimalAttribute()


class SubscriptionsByCustomer(GlobalSecondaryIndex):
    class Meta:
        index_name = "by-customer"
        projection = AllProjection()

    customer_key = UnicodeAttribute(hash_key=True)  # tenantId#customerId
    id = UnicodeAttribute(range_key=True)


class SubscriptionModel(Mapped, Model):
    entity_cls = Subscription

    class Meta(BaseMeta):
        table_name = "subscriptions"

    tenant_id = UnicodeAttribute(hash_key=True)
    id = UnicodeAttribute(range_key=True)
    customer_id = UnicodeAttribute()
    order_id = UnicodeAttribute()
    order_line_id = UnicodeAttribute()
    product_id = UnicodeAttribute()
    currency = UnicodeAttribute()
    status = EnumAttribute(SubscriptionStatus)
    start_date = DateAttribute()
    end_date = DateAttribute(null=True)
    initial_quantity = DecimalAttribute()
    unit_price = DecimalAttribute()
    billing_period = EnumAttribute(BillingPeriod)
    bill_cycle_day = NumberAttribute()
    billing_timing = EnumAttribute(BillingTiming)
    billed_through = DateAttribute(null=True)
    cancellation_date = DateAttribute(null=True)
    quantity_changes = ListAttribute(of=QuantityChangeMap, default=list)
    created_date = UTCDateTimeAttribute()
    last_modified_date = UTCDateTimeAttribute()
    version = NumberAttribute(default=0)
    customer_key = UnicodeAttribute()
    by_customer = SubscriptionsByCustomer()


CORE_MODELS = (TenantModel, ApiKeyModel, CounterModel, IdempotencyModel, TickModel,
              CustomerModel, ProductModel, OrderModel, SubscriptionModel)
