"""The catalog tables: customers, products, orders (with their lines) and subscriptions.

Index design: a filter or list naming a customer or a product reads its items by index, never the tenant's
partition: orders `by-customer` (tenantId#customerId, id; holding `status`, which the order list filters on),
subscriptions `by-customer` (ALL) and `by-product` (tenantId#productId, id; keys only: a subscription changes at
every billing, and a keys-only entry is written only when its keys change). An order's subscriptions need no index:
its lines name them."""
from pynamodb.attributes import ListAttribute, MapAttribute, NumberAttribute, UnicodeAttribute, UTCDateTimeAttribute
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex, IncludeProjection, KeysOnlyProjection
from pynamodb.models import Model

from ..domain.catalog import Customer, Product
from ..domain.enums import BillingPeriod, BillingTiming, OrderStatus, ProductType, SubscriptionStatus
from ..domain.orders import Order, OrderLine
from ..domain.subscriptions import QuantityChange, Subscription
from .attributes import DateAttribute, DecimalAttribute, EnumAttribute
from .mapping import Mapped
from .model_meta import BaseMeta


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


class OrdersByCustomer(GlobalSecondaryIndex):
    class Meta:
        index_name = "by-customer"
        projection = IncludeProjection(["status"])

    customer_key = UnicodeAttribute(hash_key=True)  # tenantId#customerId
    id = UnicodeAttribute(range_key=True)


class OrdersWithOneTimeLines(GlobalSecondaryIndex):
    """Activated orders with a OneTime line (sparse: no other order has the keys): where billing jobs find the
    one-time charges they bill, a tenant's or a customer's (a key range), without reading the other orders."""

    class Meta:
        index_name = "one-time"
        projection = AllProjection()  # the reads need the order's lines: no second read by key

    one_time_key = UnicodeAttribute(hash_key=True)  # tenantId
    customer_order = UnicodeAttribute(range_key=True)  # customerId#orderId


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
    customer_key = UnicodeAttribute(null=True)  # null: written before the index existed
    by_customer = OrdersByCustomer()
    one_time_key = UnicodeAttribute(null=True)
    customer_order = UnicodeAttribute(null=True)
    one_time = OrdersWithOneTimeLines()


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


class SubscriptionsByProduct(GlobalSecondaryIndex):
    class Meta:
        index_name = "by-product"
        projection = KeysOnlyProjection()

    product_key = UnicodeAttribute(hash_key=True)  # tenantId#productId
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
    product_key = UnicodeAttribute(null=True)  # null: written before the index existed
    by_customer = SubscriptionsByCustomer()
    by_product = SubscriptionsByProduct()


CATALOG_MODELS = (CustomerModel, ProductModel, OrderModel, SubscriptionModel)
