"""Subscriptions: cancellation with an effective date, and dated quantity changes."""
from dataclasses import replace
from datetime import date, datetime, timedelta
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from chalicelib.domain.enums import BillingPeriod, BillingTiming, SubscriptionStatus
from chalicelib.domain.errors import BillrunError
from chalicelib.domain.subscriptions import QuantityChange, Subscription, cancel, change_quantity
from chalicelib.domain.timeutil import UTC

CREATED = datetime(2025, 1, 1, tzinfo=UTC)
NOW = datetime(2025, 3, 1, 12, tzinfo=UTC)


def subscription(**overrides) -> Subscription:
    fields = dict(id="sub_1", customer_id="c1", order_id="o1", order_line_id="l1", product_id="p1", currency="USD",
                  status=SubscriptionStatus.ACTIVE, start_date=date(2025, 1, 15), initial_quantity=Decimal(2),
                  unit_price=Decimal("30.00"), billing_period=BillingPeriod.MONTH, bill_cycle_day=15,
                  billing_timing=BillingTiming.IN_ADVANCE, created_date=CREATED, last_modified_date=CREATED)
    return Subscription(**{**fields, **overrides})


# --- cancellation ----------------------------------------------------------------------------------

def test_cancel_effective_date_is_first_day_out_of_service():
    canceled = cancel(subscription(), date(2025, 3, 1), NOW)
    assert canceled.status is SubscriptionStatus.CANCELED
    assert canceled.cancellation_date == date(2025, 3, 1)
    assert canceled.end_date == date(2025, 2, 28)
    assert canceled.last_modified_date == NOW
    # everything else is untouched
    assert replace(canceled, status=SubscriptionStatus.ACTIVE, cancellation_date=None, end_date=None,
                   last_modified_date=CREATED) == subscription()


def test_cancel_on_start_date_leaves_no_day_in_service():
    canceled = cancel(subscription(), date(2025, 1, 15), NOW)
    assert canceled.cancellation_date == date(2025, 1, 15)
    assert canceled.end_date == date(2025, 1, 14)


def test_cancel_before_start_is_invalid():
    with pytest.raises(BillrunError) as caught:
        cancel(subscription(), date(2025, 1, 14), NOW)
    assert caught.value.kind == "invalid"
    assert [d.field for d in caught.value.details] == ["effectiveDate"]


def test_cancel_twice_is_a_conflict():
    canceled = cancel(subscription(), date(2025, 3, 1), NOW)
    with pytest.raises(BillrunError) as caught:
        cancel(canceled, date(2025, 4, 1), NOW)
    assert caught.value.kind == "conflict"


def test_cancel_with_an_end_date_may_be_the_day_after_it_but_not_later():
    sub = subscription(end_date=date(2025, 6, 30))
    assert cancel(sub, date(2025, 7, 1), NOW).end_date == date(2025, 6, 30)
    assert cancel(sub, date(2025, 5, 1), NOW).end_date == date(2025, 4, 30)
    with pytest.raises(BillrunError) as caught:
        cancel(sub, date(2025, 7, 2), NOW)
    assert caught.value.kind == "invalid" and caught.value.details[0].field == "effectiveDate"


# --- quantity changes ------------------------------------------------------------------------------

def test_quantity_change_is_dated_and_does_not_rewrite_the_past():
    sub = change_quantity(subscription(), date(2025, 3, 1), Decimal(5), NOW)
    assert sub.quantity_changes == (QuantityChange(date(2025, 3, 1), Decimal(5)),)
    assert sub.initial_quantity == Decimal(2)
    assert sub.last_modified_date == NOW
    assert sub.quantity_on(date(2025, 1, 15)) == 2
    assert sub.quantity_on(date(2025, 2, 28)) == 2
    assert sub.quantity_on(date(2025, 3, 1)) == 5
    assert sub.quantity_on(date(2030, 1, 1)) == 5


def test_quantity_on_before_start_is_the_initial_quantity():
    assert subscription().quantity_on(date(2000, 1, 1)) == 2


def test_same_date_change_replaces_the_earlier_one():
    sub = change_quantity(subscription(), date(2025, 3, 1), Decimal(5), NOW)
    sub = change_quantity(sub, date(2025, 3, 1), Decimal(7), NOW)
    assert sub.quantity_changes == (QuantityChange(date(2025, 3, 1), Decimal(7)),)
    assert sub.quantity_on(date(2025, 3, 1)) == 7


def test_changes_are_kept_sorted_and_the_latest_on_or_before_the_day_wins():
    sub = subscription()
    sub = change_quantity(sub, date(2025, 5, 1), Decimal(9), NOW)
    sub = change_quantity(sub, date(2025, 3, 1), Decimal(4), NOW)
    sub = change_quantity(sub, date(2025, 4, 1), Decimal(1), NOW)
    assert [c.effective_date for c in sub.quantity_changes] == [date(2025, 3, 1), date(2025, 4, 1),
                                                                date(2025, 5, 1)]
    assert sub.quantity_on(date(2025, 2, 28)) == 2
    assert sub.quantity_on(date(2025, 3, 31)) == 4
    assert sub.quantity_on(date(2025, 4, 1)) == 1
    assert sub.quantity_on(date(2025, 4, 30)) == 1
    assert sub.quantity_on(date(2025, 5, 1)) == 9


@pytest.mark.parametrize("quantity", [Decimal(0), Decimal(-1)])
def test_quantity_must_be_positive(quantity):
    with pytest.raises(BillrunError) as caught:
        change_quantity(subscription(), date(2025, 3, 1), quantity, NOW)
    assert caught.value.kind == "invalid" and caught.value.details[0].field == "quantity"


def test_quantity_change_before_start_or_after_end_is_invalid():
    with pytest.raises(BillrunError) as caught:
        change_quantity(subscription(), date(2025, 1, 14), Decimal(3), NOW)
    assert caught.value.details[0].field == "effectiveDate"
    with pytest.raises(BillrunError) as caught:
        change_quantity(subscription(end_date=date(2025, 6, 30)), date(2025, 7, 1), Decimal(3), NOW)
    assert caught.value.details[0].field == "effectiveDate"
    # the start and end days themselves are fine
    assert change_quantity(subscription(end_date=date(2025, 6, 30)), date(2025, 6, 30), Decimal(3),
                           NOW).quantity_on(date(2025, 6, 30)) == 3
    assert change_quantity(subscription(), date(2025, 1, 15), Decimal(3), NOW).quantity_on(date(2025, 1, 15)) == 3


def test_canceled_subscription_quantity_cannot_change():
    canceled = cancel(subscription(), date(2025, 3, 1), NOW)
    with pytest.raises(BillrunError) as caught:
        change_quantity(canceled, date(2025, 2, 1), Decimal(3), NOW)
    assert caught.value.kind == "conflict"


def test_from_order_line_copies_the_line():
    from chalicelib.domain.enums import OrderStatus, ProductType
    from chalicelib.domain.orders import Order, OrderLine
    line = OrderLine(id="l1", product_id="p1", product_type=ProductType.RECURRING, quantity=Decimal(3),
                     unit_price=Decimal("9.99"), amount=Decimal("29.97"), start_date=date(2025, 2, 3),
                     end_date=date(2026, 2, 2), billing_period=BillingPeriod.QUARTER, bill_cycle_day=3,
                     billing_timing=BillingTiming.IN_ARREARS)
    order = Order(id="o1", customer_id="c1", currency="EUR", status=OrderStatus.DRAFT, order_date=date(2025, 2, 1),
                  lines=(line,), total_amount=Decimal("29.97"), created_date=CREATED, last_modified_date=CREATED)
    sub = Subscription.from_order_line("sub_x", order, line, NOW)
    assert (sub.id, sub.customer_id, sub.order_id, sub.order_line_id, sub.product_id, sub.currency) == (
        "sub_x", "c1", "o1", "l1", "p1", "EUR")
    assert sub.status is SubscriptionStatus.ACTIVE
    assert (sub.start_date, sub.end_date) == (date(2025, 2, 3), date(2026, 2, 2))
    assert (sub.initial_quantity, sub.unit_price) == (Decimal(3), Decimal("9.99"))
    assert (sub.billing_period, sub.bill_cycle_day, sub.billing_timing) == (
        BillingPeriod.QUARTER, 3, BillingTiming.IN_ARREARS)
    assert sub.billed_through is None and sub.cancellation_date is None and sub.quantity_changes == ()
    assert sub.created_date == sub.last_modified_date == NOW


# --- properties --------------------------------------------------------------------------------------

START = date(2025, 1, 1)
offsets = st.integers(min_value=0, max_value=400)
quantities = st.integers(min_value=1, max_value=1000).map(Decimal)


@settings(max_examples=200, deadline=None)
@given(changes=st.lists(st.tuples(offsets, quantities), max_size=12), probe=st.integers(-30, 430))
def test_quantity_on_matches_a_reference_over_random_changes(changes, probe):
    sub = subscription(start_date=START, initial_quantity=Decimal(7))
    latest: dict[date, Decimal] = {}
    for offset, quantity in changes:  # applied in random order; same date: last one wins
        day = START + timedelta(days=offset)
        sub = change_quantity(sub, day, quantity, NOW)
        latest[day] = quantity
    dates = [c.effective_date for c in sub.quantity_changes]
    assert dates == sorted(latest) and len(set(dates)) == len(dates)
    day = START + timedelta(days=probe)
    in_effect = [latest[d] for d in sorted(latest) if d <= day]
    assert sub.quantity_on(day) == (in_effect[-1] if in_effect else Decimal(7))


@settings(max_examples=200, deadline=None)
@given(changes=st.lists(st.tuples(offsets, quantities), min_size=1, max_size=12))
def test_quantity_on_is_piecewise_constant_between_change_dates(changes):
    sub = subscription(start_date=START, initial_quantity=Decimal(7))
    for offset, quantity in changes:
        sub = change_quantity(sub, START + timedelta(days=offset), quantity, NOW)
    for before, after in zip(sub.quantity_changes, sub.quantity_changes[1:]):
        assert sub.quantity_on(after.effective_date - timedelta(days=1)) == before.quantity
        assert sub.quantity_on(before.effective_date) == before.quantity
    assert sub.quantity_on(sub.quantity_changes[-1].effective_date) == sub.quantity_changes[-1].quantity


@settings(max_examples=200, deadline=None)
@given(start_offset=st.integers(0, 100), cancel_offset=st.integers(-50, 200))
def test_cancel_end_date_is_always_the_day_before_the_effective_date(start_offset, cancel_offset):
    start = START + timedelta(days=start_offset)
    effective = start + timedelta(days=cancel_offset)
    sub = subscription(start_date=start)
    if cancel_offset < 0:
        with pytest.raises(BillrunError):
            cancel(sub, effective, NOW)
        return
    canceled = cancel(sub, effective, NOW)
    assert canceled.end_date == effective - timedelta(days=1)
    assert canceled.cancellation_date == effective
