"""The store against moto: exact decimals, entity round-trips, counters under concurrency, create-once, CAS."""
import threading
from dataclasses import replace
from datetime import date, datetime, timedelta
from decimal import Decimal

import pytest

from chalicelib.domain.catalog import Customer, Product
from chalicelib.domain.enums import BillingPeriod, BillingTiming, OrderStatus, ProductType, SubscriptionStatus
from chalicelib.domain.errors import BillrunError
from chalicelib.domain.orders import Order, OrderLine
from chalicelib.domain.subscriptions import QuantityChange, Subscription
from chalicelib.domain.timeutil import UTC
from chalicelib.store import counters, tables
from chalicelib.store import catalog
from chalicelib.store.catalog_models import CustomerModel, OrderModel, ProductModel
from chalicelib.store.repository import TenantRepository

CREATED = datetime(2025, 1, 2, 3, 4, 5, 678901, tzinfo=UTC)


def customer(**overrides) -> Customer:
    fields = dict(id="c1", name="Wayne", timezone="Asia/Shanghai", currency="USD", payment_term_days=30,
                  created_date=CREATED, last_modified_date=CREATED, tax_rate=Decimal("8.25"))
    return Customer(**{**fields, **overrides})


def product(price: Decimal) -> Product:
    return Product(id="p1", name="Pro", product_type=ProductType.RECURRING, price=price, currency="USD",
                   billing_period=BillingPeriod.MONTH, created_date=CREATED, last_modified_date=CREATED)


def raw_item(model, tenant_id: str, ident: str) -> dict:
    client = model._get_connection().connection.client
    return client.get_item(TableName=model.Meta.table_name, Key={"tenant_id": {"S": tenant_id}, "id": {"S": ident}},
                           ConsistentRead=True)["Item"]


@pytest.mark.parametrize("value", [Decimal("1234567890.123456789"), Decimal("0.10"), Decimal("0.005"),
                                   Decimal("-42.5"), Decimal("0"), Decimal("99999999999999999999.99"),
                                   Decimal("1E-20")])
def test_decimal_attribute_round_trips_exactly(aws, value):
    products = TenantRepository(ProductModel, "product")
    products.create("t1", product(value))
    stored = products.get("t1", "p1").price
    assert isinstance(stored, Decimal)
    assert stored == value
    # the item holds a DynamoDB Number written from the Decimal's string, never a float's
    assert Decimal(raw_item(ProductModel, "t1", "p1")["price"]["N"]) == value


def test_decimal_attribute_is_not_float():
    from chalicelib.store.attributes import DecimalAttribute
    attr = DecimalAttribute()
    assert attr.serialize(Decimal("0.10")) == "0.10"
    assert attr.serialize(Decimal("1234567890.123456789")) == "1234567890.123456789"
    assert attr.deserialize("0.1") == Decimal("0.10")
    assert str(attr.deserialize("1234567890.123456789")) == "1234567890.123456789"


def sample_order() -> Order:
    lines = (
        OrderLine(id="l1", product_id="p1", product_type=ProductType.RECURRING, quantity=Decimal("2.5"),
                  unit_price=Decimal("19.99"), amount=Decimal("49.98"), start_date=date(2025, 1, 31),
                  end_date=date(2026, 1, 30), billing_period=BillingPeriod.MONTH, bill_cycle_day=31,
                  billing_timing=BillingTiming.IN_ARREARS, subscription_id="sub_l1"),
        OrderLine(id="l2", product_id="p2", product_type=ProductType.ONE_TIME, quantity=Decimal(1),
                  unit_price=Decimal("0.10"), amount=Decimal("0.10"), start_date=date(2025, 1, 31)),
    )
    return Order(id="o1", customer_id="c1", currency="USD", status=OrderStatus.ACTIVATED, order_date=date(2025, 1, 30),
                 lines=lines, total_amount=Decimal("50.08"), created_date=CREATED, last_modified_date=CREATED,
                 description="first order", activated_date=CREATED + timedelta(hours=1))


def test_order_with_lines_round_trips(aws):
    tables.bind()
    order = sample_order()
    OrderModel.from_entity(order, tenant_id="t1").save()
    loaded = OrderModel.get("t1", "o1", consistent_read=True).to_entity()
    assert loaded == order
    assert isinstance(loaded.lines, tuple) and all(isinstance(ln, OrderLine) for ln in loaded.lines)
    assert loaded.lines[0].billing_timing is BillingTiming.IN_ARREARS
    assert loaded.lines[1].billing_period is None and loaded.lines[1].subscription_id is None
    assert loaded.created_date.utcoffset() == timedelta(0)


def test_order_round_trips_through_the_repository(aws):
    orders = TenantRepository(OrderModel, "order")
    order = replace(sample_order(), description=None, activated_date=None, status=OrderStatus.DRAFT)
    orders.create("t1", order)
    assert orders.get("t1", "o1") == order


def test_subscription_with_quantity_changes_round_trips(aws):
    subs = catalog.subscriptions  # the real store: it also writes the by-customer index key
    sub = Subscription(id="s1", customer_id="c1", order_id="o1", order_line_id="l1", product_id="p1", currency="KWD",
                       status=SubscriptionStatus.CANCELED, start_date=date(2025, 1, 1),
                       initial_quantity=Decimal("1.5"), unit_price=Decimal("1.234"),
                       billing_period=BillingPeriod.SEMI_ANNUAL, bill_cycle_day=1,
                       billing_timing=BillingTiming.IN_ADVANCE, created_date=CREATED, last_modified_date=CREATED,
                       end_date=date(2025, 12, 31), billed_through=date(2025, 6, 30),
                       cancellation_date=date(2026, 1, 1),
                       quantity_changes=(QuantityChange(date(2025, 3, 1), Decimal(3)),
                                         QuantityChange(date(2025, 4, 1), Decimal("0.5"))))
    subs.create("t1", sub)
    assert subs.get("t1", "s1") == sub
    plain = replace(sub, id="s2", quantity_changes=(), end_date=None, billed_through=None, cancellation_date=None)
    subs.create("t1", plain)
    assert subs.get("t1", "s2") == plain


def test_counter_is_per_tenant_unique_and_increasing_under_concurrency(aws):
    results: dict[str, list[int]] = {"t1": []}
    lock = threading.Lock()
    errors: list[BaseException] = []
    start = threading.Barrier(8)

    def work(tenant_id: str):
        try:
            start.wait()
            seen = []
            for _ in range(25):
                seen.append(counters.next_value(tenant_id, "INV"))
            assert seen == sorted(seen) and len(set(seen)) == len(seen)  # increasing within one caller
            with lock:
                results[tenant_id].extend(seen)
        except BaseException as error:  # noqa: BLE001 - reported below
            errors.append(error)

    threads = [threading.Thread(target=work, args=("t1",)) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert sorted(results["t1"]) == list(range(1, 201))

    # another tenant's sequence and another sequence name start from 1
    assert counters.next_value("t2", "INV") == 1
    assert counters.next_value("t1", "BS") == 1
    assert counters.next_value("t1", "INV") == 201


def test_create_twice_with_the_same_id_returns_the_stored_entity_and_writes_once(aws):
    customers = TenantRepository(CustomerModel, "customer")
    first = customer()
    assert customers.create("t1", first) == first
    retry = customer(name="Someone else", last_modified_date=CREATED + timedelta(days=1))
    assert customers.create("t1", retry) == first
    assert customers.get("t1", "c1") == first
    assert raw_item(CustomerModel, "t1", "c1")["name"]["S"] == "Wayne"
    # the same id under another tenant is another item
    assert customers.create("t2", retry) == retry
    assert customers.get("t2", "c1").name == "Someone else"
    assert customers.get("t1", "c1").name == "Wayne"


def test_replace_with_a_stale_copy_is_a_conflict(aws):
    customers = TenantRepository(CustomerModel, "customer")
    original = customers.create("t1", customer())
    first = replace(original, name="First writer", last_modified_date=CREATED + timedelta(seconds=1))
    first = customers.replace("t1", first, original)  # the stored copy, with its new version
    second = replace(original, name="Second writer", last_modified_date=CREATED + timedelta(seconds=2))
    with pytest.raises(BillrunError) as caught:
        customers.replace("t1", second, original)
    assert caught.value.kind == "conflict"
    assert customers.get("t1", "c1").name == "First writer"
    # with the fresh copy the write goes through
    customers.replace("t1", second, first)
    assert customers.get("t1", "c1").name == "Second writer"


def test_get_of_a_missing_or_foreign_item_is_not_found(aws):
    customers = TenantRepository(CustomerModel, "customer")
    customers.create("t1", customer())
    assert customers.find("t2", "c1") is None
    with pytest.raises(BillrunError) as caught:
        customers.get("t2", "c1", "customerId")
    assert caught.value.kind == "not_found"
    assert [d.field for d in caught.value.details] == ["customerId"]


def test_list_pages_with_tokens_bound_to_the_tenant(aws):
    customers = TenantRepository(CustomerModel, "customer")
    for i in range(5):
        customers.create("t1", customer(id=f"c{i}"))
    customers.create("t2", customer(id="x"))
    page, token = customers.list("t1", limit=2)
    seen = [c.id for c in page]
    while token:
        page, token = customers.list("t1", limit=2, next_token=token)
        seen += [c.id for c in page]
    assert sorted(seen) == [f"c{i}" for i in range(5)]
    _, token = customers.list("t1", limit=2)
    with pytest.raises(BillrunError) as caught:
        customers.list("t2", limit=2, next_token=token)
    assert caught.value.details[0].field == "nextToken"
    with pytest.raises(BillrunError):
        customers.list("t1", limit=2, next_token=token, name="Wayne")  # another query


def test_created_tables_expire_items_by_their_models_ttl_attribute(aws):
    """Local and test tables expire what the deployed ones do: each TTLAttribute turns on TTL for its table."""
    with_ttl = {model.Meta.table_name: model._ttl_attribute().attr_name
                for model in tables.ALL_MODELS if model._ttl_attribute() is not None}
    assert with_ttl  # idempotency records expire
    client = tables.ALL_MODELS[0]._get_connection().connection.client
    for table, attribute in with_ttl.items():
        spec = client.describe_time_to_live(TableName=table)["TimeToLiveDescription"]
        assert (spec["TimeToLiveStatus"], spec["AttributeName"]) == ("ENABLED", attribute)
