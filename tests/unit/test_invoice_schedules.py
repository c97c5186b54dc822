"""Invoice schedules (seed 002), the pure rules: item validation and allocation (amounts, percentages that do not
divide evenly, in USD, JPY and KWD), splitting an item across order lines, schedule and item statuses with every
refused transition, the next pending item, PUT's full replacement of pending items, and when items fall due."""
from dataclasses import replace
from datetime import date, datetime
from decimal import Decimal

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from chalicelib.domain import invoice_schedules as rules
from chalicelib.domain.catalog import Customer
from chalicelib.domain.enums import OrderStatus, ProductType
from chalicelib.domain.errors import BillrunError
from chalicelib.domain.invoice_schedules import (InvoiceSchedule, InvoiceScheduleStatus, ItemRequest, ItemStatus,
                                                 ScheduleItem)
from chalicelib.domain.invoices import InvoiceSource, InvoiceStatus
from chalicelib.domain.money import minor_units
from chalicelib.domain.orders import Order, OrderLine
from chalicelib.domain.timeutil import UTC

D = Decimal
CREATED = datetime(2025, 1, 1, tzinfo=UTC)
PLACES = {"USD": 2, "JPY": 0, "KWD": 3}


def item(n: int, **fields) -> ItemRequest:
    return ItemRequest(run_date=date(2025, n, 1), **fields)


def pcts(*values) -> list[ItemRequest]:
    return [item(n, percentage=D(v)) for n, v in enumerate(values, 1)]


def refused(call, kind="invalid") -> BillrunError:
    with pytest.raises(BillrunError) as caught:
        call()
    assert caught.value.kind == kind, caught.value
    return caught.value


def fields_of(error: BillrunError) -> list[str]:
    return [d.field for d in error.details]


def schedule(items, total="100.00", currency="USD", **fields) -> InvoiceSchedule:
    base = dict(id="s1", number="IS-00000001", customer_id="c1", currency=currency, order_ids=("o1",),
                total_amount=D(total), items=tuple(items), timezone="UTC", clock_id="live", created_by_id="k",
                updated_by_id="k", created_date=CREATED, updated_date=CREATED)
    return InvoiceSchedule(**{**base, **fields})


def si(n: int, amount: str, status=ItemStatus.PENDING, **fields) -> ScheduleItem:
    return ScheduleItem(id=f"i{n}", run_date=date(2025, n, 1), amount=D(amount), status=status, **fields)


# --- percentages that do not divide evenly ------------------------------------------------------------------

@pytest.mark.parametrize("total, currency, expected", [
    ("100.00", "USD", ["33.33", "33.33", "33.34"]),
    ("100", "JPY", ["33", "33", "34"]),
    ("100.000", "KWD", ["33.330", "33.330", "33.340"]),
    ("10.00", "USD", ["3.33", "3.33", "3.34"]),  # 3.333, 3.333, 3.334 before rounding
    ("1000", "JPY", ["333", "333", "334"]),  # 333.3, 333.3, 333.4
    ("7", "JPY", ["2", "2", "3"]),  # 2.3331 -> 2 twice; the last takes 7 - 4
    ("1.000", "KWD", ["0.333", "0.333", "0.334"]),
])
def test_thirds_round_half_up_and_the_last_item_takes_the_remainder(total, currency, expected):
    amounts = rules.allocate_items(D(total), currency, pcts("33.33", "33.33", "33.34"))
    assert [str(a) for a in amounts] == expected
    assert sum(amounts) == D(total)


def test_percentages_round_half_up_not_to_even():
    # 12.5 % of 1 JPY is 0.125 -> 0; of 100.00 USD 12.50; 2.5 % of 100 JPY = 2.5 -> 3 (HALF_UP), last takes 97
    assert rules.allocate_items(D(100), "JPY", pcts("2.5", "97.5")) == [D(3), D(97)]


def test_amount_items_keep_their_amount_and_the_last_percentage_item_takes_the_remainder():
    # 33.35 % of 10.00 = 3.335 -> 3.34; 16.65 % = 1.665 -> 1.67 would overshoot: it takes 10 - 5 - 3.34 = 1.66
    requests = [item(1, percentage=D("33.35")), item(2, percentage=D("16.65")), item(3, amount=D("5.00"))]
    assert rules.allocate_items(D("10.00"), "USD", requests) == [D("3.34"), D("1.66"), D("5.00")]


def test_amounts_only_are_taken_as_given():
    amounts = rules.allocate_items(D("1000.00"), "USD", [item(1, amount=D(300)), item(2, amount=D("700.00"))])
    assert amounts == [D("300.00"), D("700.00")] and [str(a) for a in amounts] == ["300.00", "700.00"]


# --- refused items ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("requests, total, currency, field", [
    ([item(1, amount=D(50), percentage=D(50)), item(2, amount=D(50))], "100", "USD", "scheduleItems[0].percentage"),
    ([item(1, amount=D(50)), item(2)], "100", "USD", "scheduleItems[1].amount"),
    ([item(1, amount=D("50.001")), item(2, amount=D("49.999"))], "100", "USD", "scheduleItems[0].amount"),
    ([item(1, amount=D(50)), item(2, amount=D("49.5")), item(3, amount=D("0.5"))], "100", "JPY",
     "scheduleItems[1].amount"),
    ([item(1, amount=D("0.0001")), item(2, amount=D("99.9999"))], "100", "KWD", "scheduleItems[0].amount"),
    ([item(1, amount=D(0)), item(2, amount=D(100))], "100", "USD", "scheduleItems[0].amount"),
    ([item(1, amount=D(-10)), item(2, amount=D(110))], "100", "USD", "scheduleItems[0].amount"),
    ([item(1, percentage=D(0)), item(2, percentage=D(100))], "100", "USD", "scheduleItems[0].percentage"),
    ([item(1, percentage=D(101))], "100", "USD", "scheduleItems[0].percentage"),
    ([item(1, percentage=D(-1)), item(2, percentage=D(101))], "100", "USD", "scheduleItems[0].percentage"),
    (pcts("40", "40"), "100", "USD", "scheduleItems"),  # sums to 80
    (pcts("50", "50.01"), "100", "USD", "scheduleItems"),
    ([item(1, amount=D(60)), item(2, amount=D(50))], "100", "USD", "scheduleItems"),
    ([item(1, percentage=D("33.333")), item(2, amount=D("66.67"))], "100", "USD", "scheduleItems"),  # 100.003
    (pcts("0.4", "99.6"), "100", "JPY", "scheduleItems[0].percentage"),  # 0.4 JPY rounds to a zero item
])
def test_refused_items_name_the_field(requests, total, currency, field):
    error = refused(lambda: rules.allocate_items(D(total), currency, requests))
    assert fields_of(error) == [field], error


@pytest.mark.parametrize("dates, field", [
    ([date(2025, 2, 1), date(2025, 2, 1)], "scheduleItems[1].runDate"),
    ([date(2025, 2, 1), date(2025, 3, 1), date(2025, 2, 15)], "scheduleItems[2].runDate"),
    ([date(2025, 3, 1), date(2025, 2, 1)], "scheduleItems[1].runDate"),
])
def test_run_dates_must_be_strictly_chronological(dates, field):
    share = D(100) / len(dates)
    requests = [ItemRequest(run_date=d, amount=share.quantize(D("0.01"))) for d in dates]
    requests[-1] = replace(requests[-1], amount=D(100) - sum(r.amount for r in requests[:-1]))
    assert fields_of(refused(lambda: rules.allocate_items(D(100), "USD", requests))) == [field]


@pytest.mark.parametrize("day", [date(1, 1, 1), date(1899, 12, 31), date(9900, 1, 1), date(9999, 12, 31)])
def test_run_dates_stay_in_a_computable_range(day):
    error = refused(lambda: rules.allocate_items(D(100), "USD", [ItemRequest(run_date=day, amount=D(100))]))
    assert fields_of(error) == ["scheduleItems[0].runDate"]


def test_last_percentage_rounding_to_zero_is_refused_too():
    # 99.5 % of 1 JPY = 0.995 -> 1; the last (0.5 %) is left 0
    error = refused(lambda: rules.allocate_items(D(1), "JPY", pcts("99.5", "0.5")))
    assert fields_of(error) == ["scheduleItems[1].percentage"]


# --- allocation invariants (hypothesis) --------------------------------------------------------------------------

def _money(currency: str, max_units: int = 10**9):
    return st.integers(min_value=1, max_value=max_units).map(lambda units: D(units).scaleb(-PLACES[currency]))


@st.composite
def percentage_plans(draw):
    """A currency, a total, and 1-12 percentages (0.01 % steps) that sum to exactly 100."""
    currency = draw(st.sampled_from(sorted(PLACES)))
    total = draw(_money(currency))
    n = draw(st.integers(min_value=1, max_value=12))
    cuts = sorted(draw(st.lists(st.integers(min_value=1, max_value=9999), min_size=n - 1, max_size=n - 1,
                                unique=True)))
    bounds = [0, *cuts, 10000]
    return currency, total, [D(b - a).scaleb(-2) for a, b in zip(bounds, bounds[1:])]


@settings(max_examples=300, deadline=None)
@given(percentage_plans())
def test_percentage_items_always_sum_exactly_to_the_total(plan):
    currency, total, percentages = plan
    try:
        amounts = rules.allocate_items(total, currency, pcts(*percentages))
    except BillrunError as error:  # only ever a percentage whose share rounds to nothing
        assert error.details[0].field.endswith(".percentage") and "zero items" in error.details[0].issue
        return
    assert sum(amounts) == total
    assert all(a > 0 for a in amounts)
    assert all(a.as_tuple().exponent == -PLACES[currency] for a in amounts)
    for share, pct in zip(amounts[:-1], percentages[:-1]):  # each within half a minor unit of exact
        assert abs(share - total * pct / 100) <= D(1).scaleb(-PLACES[currency]) / 2


@st.composite
def line_splits(draw):
    currency = draw(st.sampled_from(sorted(PLACES)))
    amount = draw(_money(currency, 10**7))
    weights = draw(st.lists(st.one_of(st.just(D(0)), _money(currency, 10**7)), min_size=1, max_size=30))
    assume(any(w > 0 for w in weights))
    return currency, amount, weights


@settings(max_examples=300, deadline=None)
@given(line_splits())
def test_an_item_split_across_order_lines_sums_exactly_to_the_item(split):
    currency, amount, weights = split
    shares = rules.allocate_lines(amount, weights, currency)
    assert sum(shares) == amount
    assert all(s >= 0 for s in shares)
    assert all(s.as_tuple().exponent == -minor_units(currency) for s in shares)
    assert all(s == 0 for s, w in zip(shares, weights) if w == 0)


@settings(max_examples=200, deadline=None)
@given(percentage_plans(), st.data())
def test_every_invoice_sums_to_its_item_and_the_items_to_the_order_total(plan, data):
    """The whole chain: order lines -> total -> percentage items -> each item split across the lines."""
    currency, _, percentages = plan
    line_amounts = data.draw(st.lists(_money(currency, 10**6), min_size=1, max_size=8))
    total = sum(line_amounts)
    try:
        amounts = rules.allocate_items(total, currency, pcts(*percentages))
    except BillrunError:
        return
    assert sum(amounts) == total
    for amount in amounts:
        assert sum(rules.allocate_lines(amount, line_amounts, currency)) == amount


def test_lines_in_proportion_with_the_last_line_taking_the_remainder():
    assert rules.allocate_lines(D("100.00"), [D(1), D(1), D(1)], "USD") == [D("33.33"), D("33.33"), D("33.34")]
    assert rules.allocate_lines(D("333.30"), [D("600.00"), D("400.00")], "USD") == [D("199.98"), D("133.32")]
    assert rules.allocate_lines(D(7), [D(0), D(5), D(0), D(5), D(0)], "JPY") == [D(0), D(4), D(0), D(3), D(0)]


def test_many_tiny_lines_never_make_a_negative_line():
    # 100 lines whose exact shares are each half a cent: rounding each up would leave the last -0.49
    weights = [D(1)] * 100 + [D("0.02")]
    shares = rules.allocate_lines(D("0.51"), weights, "USD")
    assert sum(shares) == D("0.51") and min(shares) >= 0


# --- statuses and transitions ------------------------------------------------------------------------------------

def test_schedule_status_and_amounts_follow_its_items():
    s = schedule([si(1, "30.00"), si(2, "30.00"), si(3, "40.00")])
    assert (s.status, s.billed_amount, s.unbilled_amount, s.next_run_date) == (
        InvoiceScheduleStatus.PENDING, D("0.00"), D("100.00"), date(2025, 1, 1))
    assert str(s.billed_amount) == "0.00"
    s = rules.hold(s, "i2", "br1")
    assert s.item("i2").status is ItemStatus.EXECUTING and s.item("i2").bill_run_id == "br1"
    assert s.status is InvoiceScheduleStatus.PENDING and s.billed_amount == 0  # executing is not billed yet
    s = rules.processed(s, "i2", "br1", "inv1", "INV-00000001")
    assert (s.status, s.billed_amount, s.unbilled_amount) == (InvoiceScheduleStatus.PARTIALLY_PROCESSED, D(30), D(70))
    assert s.next_run_date == date(2025, 1, 1)  # item 2 was invoiced in advance; item 1 is still next
    for n, run in ((1, "br2"), (3, "br3")):
        s = rules.processed(rules.hold(s, f"i{n}", run), f"i{n}", run, f"inv{n}", f"INV-0000000{n}")
    assert (s.status, s.billed_amount, s.unbilled_amount, s.next_run_date) == (
        InvoiceScheduleStatus.FULLY_PROCESSED, D(100), D(0), None)
    paused = rules.pause(s)
    assert paused.status is InvoiceScheduleStatus.PAUSED  # even a fully processed schedule (as in Zuora)
    assert rules.resume(paused).status is InvoiceScheduleStatus.FULLY_PROCESSED  # back to its status


def test_refused_item_transitions():
    s = schedule([si(1, "50.00"), si(2, "50.00")])
    held = rules.hold(s, "i1", "br1")
    assert rules.hold(held, "i1", "br1") is held  # the holder again: nothing changes
    refused(lambda: rules.hold(held, "i1", "br2"), "conflict")  # another bill run holds it
    refused(lambda: rules.processed(held, "i1", "br2", "x", "INV-x"), "conflict")  # only the holder completes it
    refused(lambda: rules.processed(s, "i1", "br1", "x", "INV-x"), "conflict")  # never held
    done = rules.processed(held, "i1", "br1", "inv1", "INV-00000001")
    assert rules.processed(done, "i1", "br1", "inv1", "INV-00000001") is done  # repeated: unchanged
    assert rules.hold(done, "i1", "br1") is done
    refused(lambda: rules.hold(done, "i1", "br9"), "conflict")  # processed: never again
    refused(lambda: rules.hold(rules.pause(s), "i2", "br3"), "conflict")  # paused: nothing is taken
    refused(lambda: rules.hold(s, "nope", "br3"), "conflict")
    assert rules.hold(rules.pause(held), "i1", "br1").item("i1").status is ItemStatus.EXECUTING  # held before


def test_pause_is_idempotent_and_resume_of_a_schedule_that_is_not_paused_is_a_409():
    s = schedule([si(1, "100.00")])
    paused = rules.pause(s)
    assert rules.pause(paused) is paused
    assert "not Paused" in refused(lambda: rules.resume(s), "conflict").message


def test_the_item_an_execute_request_runs():
    s = schedule([si(1, "30.00", ItemStatus.PROCESSED, invoice_number="INV-1", bill_run_id="b"),
                  si(2, "30.00", ItemStatus.EXECUTING, bill_run_id="br7"), si(3, "20.00"), si(4, "20.00")])
    assert rules.executable_item(s, None).id == "i3"  # the earliest pending by run date
    assert rules.executable_item(s, "i4").id == "i4"  # a future item, invoiced in advance
    assert "already Processed" in refused(lambda: rules.executable_item(s, "i1"), "conflict").message
    assert "br7" in refused(lambda: rules.executable_item(s, "i2"), "conflict").message
    assert fields_of(refused(lambda: rules.executable_item(s, "i9"), "not_found")) == ["scheduleItemId"]
    assert "Paused" in refused(lambda: rules.executable_item(rules.pause(s), "i3"), "conflict").message
    assert "Paused" in refused(lambda: rules.executable_item(rules.pause(s), None), "conflict").message
    done = schedule([si(1, "100.00", ItemStatus.PROCESSED)])
    assert "no item is Pending" in refused(lambda: rules.executable_item(done, None), "conflict").message


def test_delete_and_edit_are_refused_once_anything_was_executed():
    rules.check_deletable(schedule([si(1, "100.00")]))
    rules.check_deletable(rules.pause(schedule([si(1, "100.00")])))
    refused(lambda: rules.check_deletable(schedule([si(1, "50.00", ItemStatus.EXECUTING, bill_run_id="b"),
                                                    si(2, "50.00")])), "conflict")
    refused(lambda: rules.check_deletable(schedule([si(1, "50.00", ItemStatus.PROCESSED), si(2, "50.00")])),
            "conflict")
    rules.check_editable(schedule([si(1, "50.00", ItemStatus.PROCESSED), si(2, "50.00")]))
    refused(lambda: rules.check_editable(rules.pause(schedule([si(1, "100.00")]))), "conflict")
    refused(lambda: rules.check_editable(schedule([si(1, "100.00", ItemStatus.PROCESSED)])), "conflict")


# --- PUT: full replacement of the pending items ----------------------------------------------------------------

def test_put_replaces_pending_items_and_keeps_processed_ones():
    s = schedule([si(1, "30.00", ItemStatus.PROCESSED, invoice_id="inv1"), si(2, "30.00"), si(3, "40.00")])
    requests = [ItemRequest(run_date=date(2025, 2, 15), amount=D("35.00"), id="i2"),
                ItemRequest(run_date=date(2025, 5, 1), percentage=D(20)), ItemRequest(run_date=date(2025, 6, 1),
                                                                                       amount=D("15.00"))]
    items = rules.replace_items(s, requests, ["n1", "n2", "n3"])
    assert [(i.id, str(i.amount), i.status) for i in items] == [
        ("i1", "30.00", ItemStatus.PROCESSED), ("i2", "35.00", ItemStatus.PENDING),
        ("n2", "20.00", ItemStatus.PENDING), ("n3", "15.00", ItemStatus.PENDING)]  # i3 not listed: removed
    assert items[0] == s.item("i1")


def test_put_percentages_are_of_the_total_and_the_last_takes_what_is_left():
    s = schedule([si(1, "10.00", ItemStatus.PROCESSED)], total="100.00")
    items = rules.replace_items(s, pcts("30", "30", "30")[0:0] + [
        ItemRequest(run_date=date(2025, m, 1), percentage=D(p)) for m, p in ((2, "33.33"), (3, "33.33"), (4, "23.34"))],
        ["a", "b", "c"])
    assert [str(i.amount) for i in items] == ["10.00", "33.33", "33.33", "23.34"]


def test_put_refusals_name_the_field_by_its_place_in_the_request():
    s = schedule([si(1, "30.00", ItemStatus.PROCESSED), si(2, "70.00")])
    same = ItemRequest(run_date=date(2025, 1, 1), amount=D("30.00"), id="i1")  # processed, unchanged: fine
    ok = rules.replace_items(s, [same, ItemRequest(run_date=date(2025, 3, 1), amount=D("70.00"))], ["x", "y"])
    assert [i.id for i in ok] == ["i1", "y"]
    changed = replace(same, amount=D("31.00"))
    error = refused(lambda: rules.replace_items(s, [changed, ItemRequest(run_date=date(2025, 3, 1),
                                                                         amount=D("69.00"))], ["x", "y"]), "conflict")
    assert fields_of(error) == ["scheduleItems[0]"]
    moved = replace(same, run_date=date(2025, 1, 2))
    refused(lambda: rules.replace_items(s, [moved, ItemRequest(run_date=date(2025, 3, 1), amount=D(70))], ["x", "y"]),
            "conflict")
    unknown = ItemRequest(run_date=date(2025, 3, 1), amount=D(70), id="nope")
    assert fields_of(refused(lambda: rules.replace_items(s, [same, unknown], ["x", "y"]), "not_found")) == [
        "scheduleItems[1].id"]
    bad = ItemRequest(run_date=date(2025, 3, 1), amount=D("70.001"))
    assert fields_of(refused(lambda: rules.replace_items(s, [same, bad], ["x", "y"]))) == ["scheduleItems[1].amount"]
    clash = ItemRequest(run_date=date(2025, 1, 1), amount=D(70))  # the processed item's date
    assert fields_of(refused(lambda: rules.replace_items(s, [clash], ["x"]))) == ["scheduleItems[0].runDate"]
    short = ItemRequest(run_date=date(2025, 3, 1), amount=D(60))
    assert fields_of(refused(lambda: rules.replace_items(s, [short], ["x"]))) == ["scheduleItems"]


# --- orders -------------------------------------------------------------------------------------------------------

def order(oid="o1", customer="c1", currency="USD", status=OrderStatus.ACTIVATED, amounts=("100.00",)) -> Order:
    lines = tuple(OrderLine(id=f"{oid}-l{n}", product_id=f"p{n}", product_type=ProductType.ONE_TIME, quantity=D(1),
                            unit_price=D(a), amount=D(a), start_date=date(2025, 1, 1)) for n, a in enumerate(amounts))
    return Order(id=oid, customer_id=customer, currency=currency, status=status, order_date=date(2025, 1, 1),
                 lines=lines, total_amount=sum(line.amount for line in lines), created_date=CREATED,
                 last_modified_date=CREATED)


def test_orders_of_a_schedule():
    assert rules.check_orders([order(), order("o2", amounts=("50.00", "25.50"))], None, None) == ("c1", "USD",
                                                                                                 D("175.50"))
    assert rules.check_orders([order()], "c1", "USD")[2] == D("100.00")
    assert fields_of(refused(lambda: rules.check_orders([order(), order()], None, None))) == ["orders[1]"]
    assert fields_of(refused(lambda: rules.check_orders([order(), order("o2", "c2")], None, None))) == ["orders[1]"]
    assert fields_of(refused(lambda: rules.check_orders([order()], "c2", None))) == ["accountKey"]
    assert fields_of(refused(lambda: rules.check_orders([order()], None, "EUR"))) == ["currency"]
    assert fields_of(refused(lambda: rules.check_orders([order(amounts=("0.00",))], None, None))) == ["orders"]
    draft = refused(lambda: rules.check_orders([order(), order("o2", status=OrderStatus.DRAFT)], None, None),
                    "conflict")
    assert fields_of(draft) == ["orders[1]"]


# --- time -------------------------------------------------------------------------------------------------------

def test_items_fall_due_at_the_start_of_their_run_date_in_the_schedule_zone():
    s = schedule([si(2, "50.00"), si(3, "50.00")], timezone="Asia/Shanghai")
    assert rules.due_at(s, s.items[0]) == datetime(2025, 1, 31, 16, tzinfo=UTC)
    assert rules.next_due_at(s) == datetime(2025, 1, 31, 16, tzinfo=UTC)
    assert [i.id for i in rules.due_items(s, datetime(2025, 2, 28, 16, tzinfo=UTC))] == ["i2", "i3"]
    assert [i.id for i in rules.due_items(s, datetime(2025, 2, 28, 15, 59, tzinfo=UTC))] == ["i2"]
    assert rules.next_due_at(rules.pause(s)) is None
    assert rules.due_items(rules.pause(s), CREATED.replace(year=2030)) == []
    done = rules.processed(rules.hold(s, "i2", "b"), "i2", "b", "inv", "INV-1")
    assert rules.next_due_at(done) == datetime(2025, 2, 28, 16, tzinfo=UTC)


def test_invoice_date_is_the_run_date_or_the_day_of_a_late_execution():
    i = si(3, "10.00")  # 2025-03-01
    assert rules.invoice_date(i, datetime(2025, 1, 15, tzinfo=UTC), "UTC") == date(2025, 3, 1)  # in advance
    assert rules.invoice_date(i, datetime(2025, 3, 1, tzinfo=UTC), "UTC") == date(2025, 3, 1)
    assert rules.invoice_date(i, datetime(2025, 4, 2, 20, tzinfo=UTC), "UTC") == date(2025, 4, 2)  # late
    assert rules.invoice_date(i, datetime(2025, 4, 2, 20, tzinfo=UTC), "Asia/Tokyo") == date(2025, 4, 3)


# --- the item's invoice -----------------------------------------------------------------------------------------

def test_an_items_invoice_is_its_share_of_each_line_plus_tax():
    s = schedule([si(1, "333.30", percentage=D("33.33"), name="Kick-off"), si(2, "666.70")], total="1000.00")
    o = order(amounts=("600.00", "400.00"))
    lines = rules.invoice_lines(s, s.items[0], list(o.lines), {"p0": "Design", "p1": "Build"}, ["L0", "L1"])
    assert [(l.id, l.description, str(l.amount), l.quantity) for l in lines] == [
        ("L0", "Design (IS-00000001, Kick-off)", "199.98", 1), ("L1", "Build (IS-00000001, Kick-off)", "133.32", 1)]
    customer = Customer(id="c1", name="Wayne", timezone="UTC", currency="USD", payment_term_days=15,
                        created_date=CREATED, last_modified_date=CREATED, tax_rate=D("8.875"))
    now = datetime(2025, 1, 1, 9, tzinfo=UTC)
    invoice = rules.schedule_invoice(s, s.items[0], lines, customer, invoice_id="inv", name="INV-00000001",
                                     bill_run_id="br", invoice_date=date(2025, 1, 1), target_date=date(2025, 1, 1),
                                     created_by_id="k", auto_post=False, now=now)
    assert (invoice.amount_without_tax, invoice.tax_amount, invoice.amount, invoice.balance) == (
        D("333.30"), D("29.58"), D("362.88"), D("362.88"))
    assert (invoice.status, invoice.source, invoice.due_date) == (InvoiceStatus.DRAFT, InvoiceSource.INVOICE_SCHEDULE,
                                                                  date(2025, 1, 16))
    assert (invoice.invoice_schedule_id, invoice.invoice_schedule_item_id, invoice.bill_run_id) == ("s1", "i1", "br")
    posted = rules.schedule_invoice(s, s.items[1], lines, customer, invoice_id="inv", name="INV-00000001",
                                    bill_run_id="br", invoice_date=date(2025, 1, 1), target_date=date(2025, 1, 1),
                                    created_by_id="k", auto_post=True, now=now)
    assert (posted.status, posted.activated_time, posted.activated_by_id) == (InvoiceStatus.ACTIVE, now, "k")
    unnamed = rules.invoice_lines(s, s.items[1], list(o.lines), {}, ["L0", "L1"])
    assert unnamed[0].description == "p0 (IS-00000001, item 2 of 2)"


# --- how far back a runDate being set may lie (BILLRUN_MAX_CATCH_UP_DAYS) ----------------------------------------

def test_run_dates_set_further_back_than_the_catch_up_bound_are_refused_by_their_place():
    today = date(2025, 6, 30)
    fresh = [ItemRequest(run_date=date(2025, 6, 1)), ItemRequest(run_date=date(2024, 5, 25))]
    with pytest.raises(BillrunError) as caught:
        rules.require_recent_run_dates(fresh, None, today, 400)
    assert [d.field for d in caught.value.details] == ["scheduleItems[1].runDate"]
    rules.require_recent_run_dates([ItemRequest(run_date=date(2024, 5, 26))], None, today, 400)  # 400 days: kept


def test_an_item_keeping_its_run_date_is_not_checked():
    stored = schedule([si(1, "40.00", status=ItemStatus.PROCESSED), si(2, "60.00")])  # January, February 2025
    today = date(2026, 6, 30)  # both run dates have fallen behind
    kept = [ItemRequest(run_date=date(2025, 1, 1), id="i1"), ItemRequest(run_date=date(2025, 2, 1), id="i2")]
    rules.require_recent_run_dates(kept, stored, today, 400)
    moved = [kept[0], ItemRequest(run_date=date(2025, 2, 2), id="i2")]
    with pytest.raises(BillrunError) as caught:
        rules.require_recent_run_dates(moved, stored, today, 400)
    assert [d.field for d in caught.value.details] == ["scheduleItems[1].runDate"]


# --- a canceled invoice re-opens its item ---------------------------------------------------------------------

def test_reopen_puts_the_item_of_a_canceled_invoice_back_to_pending_and_counts_it():
    later = datetime(2025, 3, 2, tzinfo=UTC)
    done = schedule([si(1, "50.00", ItemStatus.PROCESSED, invoice_id="inv1", invoice_number="INV-1", bill_run_id="r1"),
                     si(2, "50.00")])
    reopened = rules.reopen(done, "inv1", later, "someone")
    first = reopened.item("i1")
    assert (first.status, first.invoice_id, first.invoice_number, first.bill_run_id, first.reissues) == (
        ItemStatus.PENDING, None, None, None, 1)
    assert (reopened.updated_date, reopened.updated_by_id) == (later, "someone")
    assert rules.reopen(reopened, "inv1", later, "someone") is reopened  # a repeated cancel changes nothing
    assert rules.reopen(done, "another", later, "someone") is done
    # a PUT listing the re-opened item keeps its count, which names its next bill runs and invoice
    kept = rules.replace_items(reopened, [ItemRequest(run_date=date(2025, 1, 1), amount=D("50.00"), id="i1"),
                                          ItemRequest(run_date=date(2025, 2, 1), amount=D("50.00"), id="i2")],
                               ["new1", "new2"])
    assert [(i.id, i.reissues) for i in kept] == [("i1", 1), ("i2", 0)]
