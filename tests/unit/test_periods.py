"""Billing periods: bill-cycle-day anchors, month-end clamps, partial periods, proration, credits."""
from datetime import date, timedelta
from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from chalicelib.domain.enums import BillingPeriod, BillingTiming
from chalicelib.domain.money import round_money
from chalicelib.domain.periods import (Period, anchor_date, credit_days, cycle_start_on_or_before, due_periods,
                                       periods, prorate, split_by_quantity)

D = date.fromisoformat
ONE_DAY = timedelta(days=1)
MONTH, QUARTER, SEMI, ANNUAL = (BillingPeriod.MONTH, BillingPeriod.QUARTER, BillingPeriod.SEMI_ANNUAL,
                                BillingPeriod.ANNUAL)
WEEK, DAY = BillingPeriod.WEEK, BillingPeriod.DAY
FAR = D("2040-01-01")


def spans(ps):
    return [(p.start.isoformat(), p.end.isoformat()) for p in ps]


def cycles(ps):
    return [(p.full_start.isoformat(), p.full_end.isoformat()) for p in ps]


# --- anchors and month-end clamps ------------------------------------------------------------------

LAST_DAYS = {2024: [31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31],
             2025: [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31]}


@pytest.mark.parametrize("year", sorted(LAST_DAYS))
def test_anchor_31_is_every_months_last_day(year):
    assert [anchor_date(year, m, 31).day for m in range(1, 13)] == LAST_DAYS[year]


@pytest.mark.parametrize("bcd, feb_2024, feb_2025, march", [(31, 29, 28, 31), (30, 29, 28, 30), (29, 29, 28, 29),
                                                             (28, 28, 28, 28), (1, 1, 1, 1)])
def test_anchors_clamp_in_february_only(bcd, feb_2024, feb_2025, march):
    assert anchor_date(2024, 2, bcd) == date(2024, 2, feb_2024)
    assert anchor_date(2025, 2, bcd) == date(2025, 2, feb_2025)
    assert anchor_date(2025, 3, bcd) == date(2025, 3, march)  # recomputed from the bcd: no drift after Feb


@pytest.mark.parametrize("bcd", [0, 32, -1])
def test_anchor_refuses_a_bill_cycle_day_outside_1_to_31(bcd):
    with pytest.raises(ValueError):
        anchor_date(2025, 1, bcd)


def test_monthly_cycles_on_31_never_drift_to_the_28th():
    ps = periods(D("2025-01-31"), None, MONTH, 31, through=D("2025-12-31"))
    assert [p.full_start.day for p in ps] == [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31]
    assert cycles(ps)[:3] == [("2025-01-31", "2025-02-27"), ("2025-02-28", "2025-03-30"),
                              ("2025-03-31", "2025-04-29")]
    assert all(p.fraction == 1 for p in ps)


def test_monthly_cycles_on_30_in_a_leap_year():
    ps = periods(D("2024-01-30"), None, MONTH, 30, through=D("2024-04-01"))
    assert cycles(ps) == [("2024-01-30", "2024-02-28"), ("2024-02-29", "2024-03-29"), ("2024-03-30", "2024-04-29")]


# --- monthly periods: first and last partial ---------------------------------------------------------

def test_month_start_mid_cycle_gives_a_first_partial_period():
    ps = periods(D("2025-01-15"), None, MONTH, 1, through=D("2025-03-01"))
    assert spans(ps) == [("2025-01-15", "2025-01-31"), ("2025-02-01", "2025-02-28"), ("2025-03-01", "2025-03-31")]
    first = ps[0]
    assert (first.full_start, first.full_end) == (D("2025-01-01"), D("2025-01-31"))
    assert (first.days, first.full_days, first.fraction) == (17, 31, Fraction(17, 31))
    assert [p.fraction for p in ps[1:]] == [1, 1]


def test_month_start_before_the_anchor_belongs_to_the_previous_cycle():
    ps = periods(D("2025-01-15"), None, MONTH, 20, through=D("2025-02-19"))
    assert spans(ps) == [("2025-01-15", "2025-01-19"), ("2025-01-20", "2025-02-19")]
    assert cycles(ps)[0] == ("2024-12-20", "2025-01-19")
    assert ps[0].fraction == Fraction(5, 31)


def test_month_end_mid_cycle_gives_a_last_partial_period():
    ps = periods(D("2025-01-01"), D("2025-03-10"), MONTH, 1, through=FAR)
    assert spans(ps) == [("2025-01-01", "2025-01-31"), ("2025-02-01", "2025-02-28"), ("2025-03-01", "2025-03-10")]
    assert (ps[-1].full_start, ps[-1].full_end) == (D("2025-03-01"), D("2025-03-31"))
    assert ps[-1].fraction == Fraction(10, 31)


def test_end_on_a_cycle_end_gives_a_full_last_period():
    ps = periods(D("2025-01-01"), D("2025-02-28"), MONTH, 1, through=FAR)
    assert spans(ps) == [("2025-01-01", "2025-01-31"), ("2025-02-01", "2025-02-28")]
    assert ps[-1].fraction == 1


def test_single_day_service_inside_one_cycle():
    [p] = periods(D("2025-04-10"), D("2025-04-10"), MONTH, 1, through=FAR)
    assert (p.start, p.end, p.fraction) == (D("2025-04-10"), D("2025-04-10"), Fraction(1, 30))


def test_through_stops_at_the_period_containing_it():
    start = D("2025-01-01")
    assert spans(periods(start, None, MONTH, 1, through=D("2025-02-28"))) == [("2025-01-01", "2025-01-31"),
                                                                               ("2025-02-01", "2025-02-28")]
    assert len(periods(start, None, MONTH, 1, through=D("2025-03-01"))) == 3
    assert len(periods(start, None, MONTH, 1, through=start)) == 1


def test_nothing_before_the_start_or_after_the_end():
    assert periods(D("2025-01-15"), None, MONTH, 1, through=D("2025-01-14")) == []
    assert periods(D("2025-01-15"), D("2025-01-14"), MONTH, 1, through=FAR) == []


def test_period_kind_accepts_forgiving_enum_input():
    assert periods(D("2025-01-15"), None, "semi annual", 1, through=D("2025-01-15")) == \
        periods(D("2025-01-15"), None, SEMI, 1, through=D("2025-01-15"))


# --- Quarter / SemiAnnual / Annual: grid phased on the start's month --------------------------------

def test_quarter_grid_counts_months_from_the_start_month():
    ps = periods(D("2025-02-10"), None, QUARTER, 1, through=D("2025-11-01"))
    assert cycles(ps) == [("2025-02-01", "2025-04-30"), ("2025-05-01", "2025-07-31"),
                          ("2025-08-01", "2025-10-31"), ("2025-11-01", "2026-01-31")]
    assert ps[0].start == D("2025-02-10") and ps[0].fraction == Fraction(80, 89)


def test_quarter_start_before_the_anchor_steps_back_one_quarter():
    ps = periods(D("2025-01-15"), None, QUARTER, 20, through=D("2025-04-20"))
    assert cycles(ps) == [("2024-10-20", "2025-01-19"), ("2025-01-20", "2025-04-19"), ("2025-04-20", "2025-07-19")]
    assert spans(ps)[0] == ("2025-01-15", "2025-01-19")
    assert ps[0].fraction == Fraction(5, 92)


def test_quarter_with_end_mid_quarter():
    ps = periods(D("2025-01-01"), D("2025-05-15"), QUARTER, 1, through=FAR)
    assert spans(ps) == [("2025-01-01", "2025-03-31"), ("2025-04-01", "2025-05-15")]
    assert ps[-1].fraction == Fraction(45, 91)


def test_semiannual_on_31_clamps_without_drift():
    ps = periods(D("2025-03-31"), None, SEMI, 31, through=D("2026-03-31"))
    assert cycles(ps) == [("2025-03-31", "2025-09-29"), ("2025-09-30", "2026-03-30"), ("2026-03-31", "2026-09-29")]


def test_annual_from_a_leap_day_returns_to_the_29th_in_leap_years():
    ps = periods(D("2024-02-29"), None, ANNUAL, 29, through=D("2028-02-29"))
    assert [p.full_start.isoformat() for p in ps] == ["2024-02-29", "2025-02-28", "2026-02-28", "2027-02-28",
                                                      "2028-02-29"]
    assert ps[3].full_end == D("2028-02-28") and ps[3].full_days == 366


def test_annual_start_mid_cycle():
    [p] = periods(D("2025-02-10"), None, ANNUAL, 1, through=D("2025-02-10"))
    assert (p.full_start, p.full_end) == (D("2025-02-01"), D("2026-01-31"))
    assert p.fraction == Fraction(356, 365)


# --- Week and Day ------------------------------------------------------------------------------------

@pytest.mark.parametrize("bcd", [1, 15, 31])
def test_weeks_run_on_the_start_weekday_and_ignore_the_bill_cycle_day(bcd):
    ps = periods(D("2025-01-01"), D("2025-01-20"), WEEK, bcd, through=FAR)  # a Wednesday
    assert spans(ps) == [("2025-01-01", "2025-01-07"), ("2025-01-08", "2025-01-14"), ("2025-01-15", "2025-01-20")]
    assert all(p.full_start.weekday() == 2 and p.full_days == 7 for p in ps)
    assert ps[-1].fraction == Fraction(6, 7)


def test_days_are_one_day_periods_across_month_ends():
    ps = periods(D("2025-01-30"), None, DAY, 31, through=D("2025-02-02"))
    assert [p.start.isoformat() for p in ps] == ["2025-01-30", "2025-01-31", "2025-02-01", "2025-02-02"]
    assert all(p.start == p.end == p.full_start == p.full_end and p.fraction == 1 for p in ps)


def test_cycle_start_on_or_before():
    assert cycle_start_on_or_before(D("2025-03-15"), MONTH, 31, D("2025-01-01")) == D("2025-02-28")
    assert cycle_start_on_or_before(D("2025-03-31"), MONTH, 31, D("2025-01-01")) == D("2025-03-31")
    assert cycle_start_on_or_before(D("2025-07-31"), QUARTER, 1, D("2025-02-10")) == D("2025-05-01")
    assert cycle_start_on_or_before(D("2025-01-19"), QUARTER, 20, D("2025-01-15")) == D("2024-10-20")
    assert cycle_start_on_or_before(D("2025-01-20"), WEEK, 1, D("2025-01-01")) == D("2025-01-15")
    assert cycle_start_on_or_before(D("2025-01-20"), DAY, 1, D("2025-01-01")) == D("2025-01-20")


def test_period_refuses_to_lie_outside_its_cycle():
    with pytest.raises(ValueError):
        Period(D("2025-01-01"), D("2025-02-01"), D("2025-01-01"), D("2025-01-31"))
    with pytest.raises(ValueError):
        Period(D("2025-01-10"), D("2025-01-09"), D("2025-01-01"), D("2025-01-31"))


# --- due periods -------------------------------------------------------------------------------------

JAN_TO_MAR = periods(D("2025-01-01"), None, MONTH, 1, through=D("2025-03-15"))


@pytest.mark.parametrize("target, in_advance, in_arrears", [
    ("2024-12-31", 0, 0),
    ("2025-01-01", 1, 0),  # a period's first day: due in advance, not yet in arrears
    ("2025-02-15", 2, 1),  # inside February
    ("2025-02-28", 2, 2),  # February's last day: now due in arrears too
    ("2025-03-01", 3, 2),
])
def test_due_periods_in_advance_vs_in_arrears(target, in_advance, in_arrears):
    assert due_periods(JAN_TO_MAR, BillingTiming.IN_ADVANCE, D(target)) == JAN_TO_MAR[:in_advance]
    assert due_periods(JAN_TO_MAR, BillingTiming.IN_ARREARS, D(target)) == JAN_TO_MAR[:in_arrears]


def test_a_last_partial_period_is_due_in_arrears_on_its_own_last_day():
    ps = periods(D("2025-01-01"), D("2025-03-10"), MONTH, 1, through=FAR)
    assert due_periods(ps, "in arrears", D("2025-03-10")) == ps
    assert due_periods(ps, "in arrears", D("2025-03-09")) == ps[:2]


# --- proration ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("amount, days, full_days, currency, expected", [
    ("30.00", 17, 31, "USD", "16.45"),  # 16.4516...
    ("30.00", 31, 31, "USD", "30.00"),
    ("30.00", 0, 31, "USD", "0.00"),
    ("0.05", 15, 30, "USD", "0.03"),  # exactly 0.025: HALF_UP
    ("1000", 17, 31, "JPY", "548"),  # 548.387...
    ("45", 15, 30, "JPY", "23"),  # exactly 22.5: HALF_UP (banker's would give 22)
    ("25", 3, 30, "JPY", "3"),  # exactly 2.5
    ("-45", 15, 30, "JPY", "-23"),  # ties go away from zero
    ("10.000", 17, 31, "KWD", "5.484"),  # 5.48387...
    ("1.001", 14, 28, "KWD", "0.501"),  # exactly 0.5005: HALF_UP
    ("1.001", 13, 28, "KWD", "0.465"),  # 0.46475
])
def test_prorate_rounds_half_up_at_minor_units(amount, days, full_days, currency, expected):
    result = prorate(Decimal(amount), days, full_days, currency)
    assert result == Decimal(expected) and str(result) == expected


def test_prorate_refuses_an_empty_cycle():
    with pytest.raises(ValueError):
        prorate(Decimal("30"), 1, 0, "USD")


# --- quantity splits and credits ---------------------------------------------------------------------

MARCH = Period(D("2025-03-01"), D("2025-03-31"), D("2025-03-01"), D("2025-03-31"))


def test_split_by_quantity_cuts_where_the_quantity_changes():
    pieces = split_by_quantity(MARCH, [(D("2025-03-21"), Decimal(3)), (D("2025-03-11"), Decimal(5))], Decimal(2))
    assert [(p.start.isoformat(), p.end.isoformat(), q) for p, q in pieces] == [
        ("2025-03-01", "2025-03-10", 2), ("2025-03-11", "2025-03-20", 5), ("2025-03-21", "2025-03-31", 3)]
    assert all((p.full_start, p.full_end) == (MARCH.full_start, MARCH.full_end) for p, _ in pieces)
    assert [p.fraction for p, _ in pieces] == [Fraction(10, 31), Fraction(10, 31), Fraction(11, 31)]


def test_split_by_quantity_edge_cases():
    changes = [(D("2025-02-10"), Decimal(4)), (D("2025-03-01"), Decimal(6)), (D("2025-04-01"), Decimal(9))]
    assert split_by_quantity(MARCH, changes, Decimal(1)) == [(MARCH, 6)]  # change on the first day: no cut
    assert split_by_quantity(MARCH, [], Decimal(2)) == [(MARCH, 2)]
    assert split_by_quantity(MARCH, [(D("2025-03-15"), Decimal(2))], Decimal(2)) == [(MARCH, 2)]  # same quantity
    same_day = split_by_quantity(MARCH, [(D("2025-03-15"), Decimal(7)), (D("2025-03-15"), Decimal(2))], Decimal(2))
    assert same_day == [(MARCH, 2)]  # the later of two same-day changes wins


@pytest.mark.parametrize("new_last_day, given_back", [
    ("2025-03-20", 11), ("2025-03-30", 1), ("2025-03-31", 0), ("2025-05-01", 0),
    ("2025-03-01", 30), ("2025-02-28", 31), ("2024-12-31", 31),
])
def test_credit_days(new_last_day, given_back):
    assert credit_days(MARCH, D(new_last_day)) == given_back


def test_credit_days_of_a_partial_period():
    partial = Period(D("2025-03-10"), D("2025-03-31"), D("2025-03-01"), D("2025-03-31"))
    assert credit_days(partial, D("2025-03-01")) == 22
    assert credit_days(partial, D("2025-03-19")) == 12


# --- properties --------------------------------------------------------------------------------------

ALL_KINDS = list(BillingPeriod)
dates = st.dates(min_value=date(2020, 1, 1), max_value=date(2030, 12, 31))
offsets = st.integers(min_value=0, max_value=1500)
MONTHS = {MONTH: 1, QUARTER: 3, SEMI: 6, ANNUAL: 12}


def month_index(day: date) -> int:
    return day.year * 12 + day.month - 1


@settings(max_examples=300, deadline=None)
@given(start=dates, end_offset=st.none() | offsets, kind=st.sampled_from(ALL_KINDS),
       bcd=st.integers(min_value=1, max_value=31), through_offset=offsets, probe=st.integers(0, 10_000))
def test_periods_tile_the_service_on_the_cycle_grid(start, end_offset, kind, bcd, through_offset, probe):
    end = None if end_offset is None else start + timedelta(days=end_offset)
    through = start + timedelta(days=through_offset)
    ps = periods(start, end, kind, bcd, through=through)

    assert ps and ps[0].start == start
    for before, after in zip(ps, ps[1:]):
        assert after.start == before.end + ONE_DAY  # contiguous: no gap, no overlap
        assert after.full_start == before.full_end + ONE_DAY  # the cycles tile too
    for p in ps:
        assert p.full_start <= p.start <= p.end <= p.full_end
        assert 0 < p.fraction <= 1
        assert (p.fraction == 1) == (p.start == p.full_start and p.end == p.full_end)
    assert all(p.fraction == 1 for p in ps[1:-1])  # only the first and last may be partial
    last = ps[-1]
    assert last.end == (last.full_end if end is None else min(end, last.full_end))  # union = [start, min(end, ..)]
    if end is None or end >= through:
        assert last.start <= through <= last.end  # generated up to the period containing `through`
    else:
        assert last.end == end

    for p in ps:
        if kind in MONTHS:
            assert p.full_start == anchor_date(p.full_start.year, p.full_start.month, bcd)
            assert (month_index(p.full_start) - month_index(start)) % MONTHS[kind] == 0
            next_index = month_index(p.full_start) + MONTHS[kind]
            assert p.full_end + ONE_DAY == anchor_date(next_index // 12, next_index % 12 + 1, bcd)
        elif kind is WEEK:
            assert p.full_days == 7 and p.full_start.weekday() == start.weekday()
        else:
            assert p.full_days == 1

    day = start + timedelta(days=probe % ((last.end - start).days + 1))
    [owner] = [p for p in ps if p.start <= day <= p.end]
    assert cycle_start_on_or_before(day, kind, bcd, start) == owner.full_start


@settings(max_examples=300, deadline=None)
@given(year=st.integers(2020, 2030), month=st.integers(1, 12), bcd=st.integers(1, 31),
       cents=st.integers(min_value=0, max_value=10**9))
def test_a_year_of_full_months_costs_exactly_twelve_prices(year, month, bcd, cents):
    price = Decimal(cents).scaleb(-2)
    start = anchor_date(year, month, bcd)
    ps = periods(start, None, MONTH, bcd, through=start + timedelta(days=364))[:12]
    assert len(ps) == 12 and all(p.fraction == 1 for p in ps)
    assert sum(prorate(price, p.days, p.full_days, "USD") for p in ps) == 12 * price


@settings(max_examples=300, deadline=None)
@given(cents=st.integers(min_value=-10**9, max_value=10**9), full_days=st.integers(1, 366), data=st.data(),
       currency=st.sampled_from(["JPY", "USD", "KWD"]))
def test_prorate_is_the_exact_value_rounded_half_up(cents, full_days, data, currency):
    days = data.draw(st.integers(0, full_days))
    amount = Decimal(cents).scaleb(-3)
    places = {"JPY": 0, "USD": 2, "KWD": 3}[currency]
    result = prorate(amount, days, full_days, currency)
    exact = Fraction(amount) * days / full_days
    error = Fraction(result) - exact
    unit = Fraction(1, 10 ** places)
    assert result.as_tuple().exponent == -places
    if exact >= 0:
        assert -unit / 2 < error <= unit / 2  # a tie rounds up...
    else:
        assert -unit / 2 <= error < unit / 2  # ...and, below zero, away from zero
    assert prorate(amount, full_days, full_days, currency) == round_money(amount, currency)


@settings(max_examples=300, deadline=None)
@given(start=dates, span=st.integers(0, 40), initial=st.integers(1, 5),
       changes=st.lists(st.tuples(st.integers(-10, 50), st.integers(1, 5)), max_size=6))
def test_split_by_quantity_covers_the_period_with_the_quantity_in_effect(start, span, initial, changes):
    end = start + timedelta(days=span)
    period = Period(start, end, start - timedelta(days=3), end + timedelta(days=2))
    dated = [(start + timedelta(days=offset), Decimal(q)) for offset, q in changes]
    pieces = split_by_quantity(period, dated, Decimal(initial))

    assert pieces[0][0].start == start and pieces[-1][0].end == end
    for (before, q_before), (after, q_after) in zip(pieces, pieces[1:]):
        assert after.start == before.end + ONE_DAY and q_before != q_after
    for piece, quantity in pieces:
        assert (piece.full_start, piece.full_end) == (period.full_start, period.full_end)
        for offset in range(piece.days):
            day = piece.start + timedelta(days=offset)
            in_effect = [q for d, q in sorted(dated, key=lambda c: c[0]) if d <= day]
            assert quantity == (in_effect[-1] if in_effect else initial)


@settings(max_examples=300, deadline=None)
@given(start=dates, span=st.integers(0, 60), shift=st.integers(-80, 80))
def test_credit_days_plus_days_kept_is_the_billed_period(start, span, shift):
    billed = Period(start, start + timedelta(days=span), start, start + timedelta(days=span))
    new_last_day = billed.end + timedelta(days=shift)
    kept = max(0, (min(new_last_day, billed.end) - billed.start).days + 1)
    assert credit_days(billed, new_last_day) + kept == billed.days
