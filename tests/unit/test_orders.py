"""Orders: lines built from catalog defaults, and activation into subscriptions."""
from dataclasses import replace
from datetime import date, datetime
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from chalicelib.domain.catalog import Customer, Product, check_product
from chalicelib.domain.enums import BillingPeriod, BillingTiming, OrderStatus, ProductType, SubscriptionStatus
from chalicelib.domain.errors import BillrunError
from chalicelib.domain.billing import propose
from chalicelib.domain.orders import (LineRequest, Order, activate, build_line, one_time_charge_id, one_time_charges,
                                      one_time_line_of, order_total)
from chalicelib.domain.timeutil import UTC

CREATED = datetime(2025, 1, 1, tzinfo=UTC)
NOW = datetime(2025, 2, 1, 9, tzinfo=UTC)
TODAY = date(2025, 2, 1)


def customer(**overrides) -> Customer:
    fields = dict(id="c1", name="Wayne", timezone="UTC", currency="USD", payment_term_days=30,
                  created_date=CREATED, last_modified_date=CREATED)
    return Customer(**{**fields, **overrides})


def product(**overrides) -> Product:
    fields = dict(id="p1", name="Pro", product_type=ProductType.RECURRING, price=Decimal("30.00"), currency="USD",
                  billing_period=BillingPeriod.MONTH, created_date=CREATED, last_modified_date=CREATED)
    return Product(**{**fields, **overrides})


def one_time(**overrides) -> Product:
    return product(id="p2", name="Setup", product_type=ProductType.ONE_TIME, price=Decimal("99.00"),
                   billing_period=None, **overrides)


def line(req: LineRequest, prod=None, cust=None, index=0, today=TODAY):
    return build_line(index, f"l{index}", req, prod or product(), cust or customer(), today)


def order(*lines, status=OrderStatus.DRAFT) -> Order:
    return Order(id="o1", customer_id="c1", currency="USD", status=status, order_date=TODAY, lines=tuple(lines),
                 total_amount=order_total(lines), created_date=CREATED, last_modified_date=CREATED)


# --- build_line --------------------------------------------------------------------------------------

def test_line_defaults_come_from_product_and_today():
    built = line(LineRequest(product_id="p1", quantity=Decimal(2)))
    assert built.id == "l0" and built.product_id == "p1"
    assert built.product_type is ProductType.RECURRING
    assert built.unit_price == Decimal("30.00")
    assert built.amount == Decimal("60.00")
    assert built.start_date == TODAY
    assert built.end_date is None
    assert built.billing_period is BillingPeriod.MONTH
    assert built.bill_cycle_day == TODAY.day  # no customer bill cycle day: the start date's day
    assert built.billing_timing is BillingTiming.IN_ADVANCE
    assert built.subscription_id is None


def test_bill_cycle_day_defaults_to_the_customers_then_the_start_dates_day():
    req = LineRequest(product_id="p1", quantity=Decimal(1), start_date=date(2025, 3, 17))
    assert line(req, cust=customer(bill_cycle_day=31)).bill_cycle_day == 31
    assert line(req).bill_cycle_day == 17
    assert line(replace(req, bill_cycle_day=5), cust=customer(bill_cycle_day=31)).bill_cycle_day == 5


def test_explicit_line_fields_win_over_defaults():
    req = LineRequest(product_id="p1", quantity=Decimal("1.5"), unit_price=Decimal("19.99"),
                      start_date=date(2025, 3, 1), end_date=date(2026, 2, 28), billing_period=BillingPeriod.ANNUAL,
                      billing_timing=BillingTiming.IN_ARREARS)
    built = line(req)
    assert built.unit_price == Decimal("19.99")
    assert built.amount == Decimal("29.99")  # 29.985 rounds HALF_UP
    assert (built.start_date, built.end_date) == (date(2025, 3, 1), date(2026, 2, 28))
    assert built.billing_period is BillingPeriod.ANNUAL
    assert built.billing_timing is BillingTiming.IN_ARREARS


def test_amount_rounds_at_the_customers_minor_units():
    jpy = customer(currency="JPY")
    built = line(LineRequest(product_id="p1", quantity=Decimal("1.5")),
                 prod=product(currency="JPY", price=Decimal(333)), cust=jpy)
    assert built.amount == Decimal(500) and str(built.amount) == "500"  # 499.5 -> 500


def test_product_in_another_currency_names_the_lines_product():
    with pytest.raises(BillrunError) as caught:
        line(LineRequest(product_id="p1", quantity=Decimal(1)), prod=product(currency="EUR"), index=2)
    assert caught.value.kind == "invalid"
    assert [d.field for d in caught.value.details] == ["lines[2].productId"]


@pytest.mark.parametrize("quantity", [Decimal(0), Decimal(-2)])
def test_quantity_must_be_positive(quantity):
    with pytest.raises(BillrunError) as caught:
        line(LineRequest(product_id="p1", quantity=quantity))
    assert caught.value.details[0].field == "lines[0].quantity"


def test_unit_price_with_too_many_decimals_or_negative_is_invalid():
    with pytest.raises(BillrunError) as caught:
        line(LineRequest(product_id="p1", quantity=Decimal(1), unit_price=Decimal("1.005")))
    assert caught.value.details[0].field == "lines[0].unitPrice"
    with pytest.raises(BillrunError) as caught:
        line(LineRequest(product_id="p1", quantity=Decimal(1), unit_price=Decimal("-1.00")))
    assert caught.value.details[0].field == "lines[0].unitPrice"


def test_end_date_before_start_date_is_invalid():
    with pytest.raises(BillrunError) as caught:
        line(LineRequest(product_id="p1", quantity=Decimal(1), start_date=date(2025, 3, 1),
                         end_date=date(2025, 2, 28)))
    assert caught.value.details[0].field == "lines[0].endDate"
    same_day = line(LineRequest(product_id="p1", quantity=Decimal(1), start_date=date(2025, 3, 1),
                                end_date=date(2025, 3, 1)))
    assert same_day.end_date == date(2025, 3, 1)


def test_one_time_line_has_no_period_or_cycle_day():
    built = line(LineRequest(product_id="p2", quantity=Decimal(1)), prod=one_time())
    assert built.product_type is ProductType.ONE_TIME
    assert built.billing_period is None and built.bill_cycle_day is None
    assert built.amount == Decimal("99.00")


@pytest.mark.parametrize("extra", [{"billing_period": BillingPeriod.MONTH}, {"bill_cycle_day": 3},
                                   {"billing_timing": BillingTiming.IN_ARREARS}])
def test_one_time_line_refuses_recurring_fields(extra):
    with pytest.raises(BillrunError) as caught:
        line(LineRequest(product_id="p2", quantity=Decimal(1), **extra), prod=one_time())
    assert caught.value.details[0].field == "lines[0].productId"


def test_check_product_rules():
    assert check_product(product()) == product()
    with pytest.raises(BillrunError) as caught:
        check_product(product(billing_period=None))
    assert caught.value.details[0].field == "billingPeriod"
    with pytest.raises(BillrunError) as caught:
        check_product(replace(one_time(), billing_period=BillingPeriod.MONTH))
    assert caught.value.details[0].field == "billingPeriod"
    with pytest.raises(BillrunError) as caught:
        check_product(product(price=Decimal("-1")))
    assert caught.value.details[0].field == "price"
    with pytest.raises(BillrunError) as caught:
        check_product(product(price=Decimal("1.001")))
    assert caught.value.details[0].field == "price"


# --- activation --------------------------------------------------------------------------------------

def test_activate_creates_one_subscription_per_recurring_line():
    recurring = line(LineRequest(product_id="p1", quantity=Decimal(2)), index=0)
    setup = line(LineRequest(product_id="p2", quantity=Decimal(1)), prod=one_time(), index=1)
    recurring2 = line(LineRequest(product_id="p1", quantity=Decimal(3), start_date=date(2025, 3, 5)), index=2)
    draft = order(recurring, setup, recurring2)
    activated, subs = activate(draft, ["s0", "s1", "s2"], NOW)

    assert activated.status is OrderStatus.ACTIVATED
    assert activated.activated_date == NOW and activated.last_modified_date == NOW
    assert [sub.id for sub in subs] == ["s0", "s2"]
    assert [ln.subscription_id for ln in activated.lines] == ["s0", None, "s2"]
    assert activated.lines[1] == setup  # the OneTime line is untouched
    assert activated.total_amount == draft.total_amount == Decimal("60.00") + Decimal("99.00") + Decimal("90.00")
    for sub, src in zip(subs, (recurring, recurring2)):
        assert sub.status is SubscriptionStatus.ACTIVE
        assert sub.order_line_id == src.id and sub.order_id == "o1" and sub.customer_id == "c1"
        assert sub.initial_quantity == src.quantity and sub.unit_price == src.unit_price
        assert sub.start_date == src.start_date and sub.bill_cycle_day == src.bill_cycle_day
        assert sub.billed_through is None
    assert subs[1].bill_cycle_day == 5


def test_order_with_only_one_time_lines_activates_without_subscriptions():
    setup = line(LineRequest(product_id="p2", quantity=Decimal(1)), prod=one_time())
    activated, subs = activate(order(setup), ["s0"], NOW)
    assert activated.status is OrderStatus.ACTIVATED and subs == []
    assert activated.lines[0].subscription_id is None


def test_activate_twice_is_a_conflict():
    draft = order(line(LineRequest(product_id="p1", quantity=Decimal(1))))
    activated, _ = activate(draft, ["s0"], NOW)
    with pytest.raises(BillrunError) as caught:
        activate(activated, ["s0"], NOW)
    assert caught.value.kind == "conflict"


def test_activate_is_deterministic_for_the_same_ids():
    draft = order(line(LineRequest(product_id="p1", quantity=Decimal(1))))
    assert activate(draft, ["s0"], NOW) == activate(draft, ["s0"], NOW)


@settings(max_examples=100, deadline=None)
@given(st.lists(st.tuples(st.decimals(min_value=Decimal("0.01"), max_value=Decimal("1000"), places=2),
                          st.decimals(min_value=Decimal("0"), max_value=Decimal("10000"), places=2)),
                min_size=1, max_size=10))
def test_order_total_is_the_exact_sum_of_rounded_line_amounts(pairs):
    lines = [line(LineRequest(product_id="p1", quantity=q, unit_price=p), index=i) for i, (q, p) in enumerate(pairs)]
    total = order_total(lines)
    assert total == sum((ln.amount for ln in lines), Decimal(0))
    assert total == total.quantize(Decimal("0.01"))


# --- one-time charges --------------------------------------------------------------------------------------

def test_an_activated_orders_one_time_lines_are_one_day_charges_worth_their_amount():
    recurring = line(LineRequest(product_id="p1", quantity=Decimal("1"), start_date=date(2025, 1, 1)))
    fee = line(LineRequest(product_id="p2", quantity=Decimal("2.5"), unit_price=Decimal("33.33"),
                           start_date=date(2025, 1, 20)), prod=one_time(), index=1)
    draft = order(recurring, fee)
    assert one_time_charges(draft) == []  # a Draft order bills nothing
    activated = replace(draft, status=OrderStatus.ACTIVATED, activated_date=NOW)
    [charge] = one_time_charges(activated, bill_cycle_day=5)
    assert charge.id == one_time_charge_id(activated.id, "l1") and one_time_line_of(charge.id) == (activated.id, "l1")
    assert (charge.start_date, charge.end_date, charge.bill_cycle_day) == (date(2025, 1, 20),) * 2 + (5,)
    assert one_time_line_of("sub_l1") is None
    proposal = propose([charge], {}, date(2025, 1, 19), {"p2": "Setup"})
    assert proposal.lines == () and proposal.skipped == ((charge.id, "nothing due"),)
    [billed] = propose([charge], {}, date(2025, 12, 31), {"p2": "Setup"}).lines
    assert (billed.amount, billed.quantity, billed.description) == (fee.amount, Decimal("2.5"), "Setup 2025-01-20")
    assert fee.amount == Decimal("83.33")  # 83.325 rounded HALF_UP once, as the order has it
