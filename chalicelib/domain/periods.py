"""Billing periods: cycles aligned on the bill cycle day, partial periods, day-based proration.

Alignment rules (all dates inclusive unless said otherwise):

* anchor_date(year, month, bcd) is day `bcd` of that month, clamped to the month's last day
  (31 = last day). Every month's anchor is computed from the bcd itself, never from the previous
  anchor, so a bcd of 31 gives Jan 31, Feb 28/29, Mar 31, Apr 30 and never drifts to the 28th.
* Month, Quarter, SemiAnnual, Annual are N-month cycles (N = 1, 3, 6, 12). The cycle boundaries
  are the anchors of the months start.month + k*N (k any integer), i.e. the grid is phased on the
  month of the series START. The cycle containing a day begins at the latest such anchor on or
  before it: anchor(start's month) when the start is on/after it, otherwise the anchor N months
  earlier. A cycle ends the day before the next boundary.
  Example: start 2025-02-10, Quarter, bcd 1 -> cycles 02-01..04-30, 05-01..07-31, ...; the first
  period is 02-10..04-30 prorated against 02-01..04-30 (80/89).
  Example: start 2025-01-15, Quarter, bcd 20 -> the start is before 01-20, so its cycle is
  2024-10-20..2025-01-19; periods 01-15..01-19 (5/92), then 01-20..04-19, 04-20..07-19, ...
* Week: 7-day cycles on the start date's weekday (bcd ignored). Day: every day is a cycle.
* A period is the part of a cycle in service: the first may start late (start not on a boundary),
  the last may end early (end inside a cycle). Its fraction is days in service / cycle days.
"""
import calendar
from dataclasses import dataclass, replace
from datetime import date, timedelta
from decimal import Decimal
from fractions import Fraction
from typing import Sequence

from .enums import BillingPeriod, BillingTiming
from .money import minor_units, round_money

ONE_DAY = timedelta(days=1)
MONTHS_PER_CYCLE = {BillingPeriod.MONTH: 1, BillingPeriod.QUARTER: 3, BillingPeriod.SEMI_ANNUAL: 6,
                    BillingPeriod.ANNUAL: 12}


@dataclass(frozen=True)
class Period:
    start: date  # first day in service, inclusive
    end: date  # last day in service, inclusive
    full_start: date  # the whole cycle containing it: proration is against this cycle's length
    full_end: date

    def __post_init__(self):
        # A period outside its own cycle would prorate above 100%: that is a bug, not data.
        if not self.full_start <= self.start <= self.end <= self.full_end:
            raise ValueError(f"invalid period {self}")

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    @property
    def full_days(self) -> int:
        return (self.full_end - self.full_start).days + 1

    @property
    def fraction(self) -> Fraction:
        return Fraction(self.days, self.full_days)

    @property
    def is_full(self) -> bool:
        return self.start == self.full_start and self.end == self.full_end


def anchor_date(year: int, month: int, bill_cycle_day: int) -> date:
    """Day `bill_cycle_day` of the month, clamped to its last day (31 = last day of every month)."""
    if not 1 <= bill_cycle_day <= 31:
        raise ValueError("bill_cycle_day must be 1-31")
    return date(year, month, min(bill_cycle_day, calendar.monthrange(year, month)[1]))


def _month_index(day: date) -> int:
    return day.year * 12 + day.month - 1


def _anchor_at(month_index: int, bill_cycle_day: int) -> date:
    year, month0 = divmod(month_index, 12)
    return anchor_date(year, month0 + 1, bill_cycle_day)


def cycle_start_on_or_before(day: date, period: BillingPeriod, bill_cycle_day: int, series_start: date) -> date:
    """First day of the cycle containing `day`, on the grid of a series that began on series_start."""
    period = BillingPeriod.parse(period)
    if period is BillingPeriod.DAY:
        return day
    if period is BillingPeriod.WEEK:
        return day - timedelta(days=(day - series_start).days % 7)
    months = MONTHS_PER_CYCLE[period]
    origin = _month_index(series_start)
    # The grid month at or before day's month; its anchor may still be after `day` (e.g. day 01-15,
    # anchor 01-20), and then the cycle began one grid step earlier.
    index = origin + (_month_index(day) - origin) // months * months
    if _anchor_at(index, bill_cycle_day) > day:
        index -= months
    return _anchor_at(index, bill_cycle_day)


def _next_cycle_start(cycle_start: date, period: BillingPeriod, bill_cycle_day: int) -> date:
    if period is BillingPeriod.DAY:
        return cycle_start + ONE_DAY
    if period is BillingPeriod.WEEK:
        return cycle_start + timedelta(days=7)
    # An anchor always lies in its own month, so the next boundary is N months on, re-clamped from the bcd.
    return _anchor_at(_month_index(cycle_start) + MONTHS_PER_CYCLE[period], bill_cycle_day)


def periods(start: date, end: date | None, period: BillingPeriod, bill_cycle_day: int, *,
            through: date) -> list[Period]:
    """Service [start, end] cut on the cycle grid, up to and including the period containing `through`.

    end None = open-ended. Empty when through < start or end < start. Callers pick what is due.
    """
    period = BillingPeriod.parse(period)
    last_day = through if end is None else min(end, through)
    result: list[Period] = []
    cycle_start = cycle_start_on_or_before(start, period, bill_cycle_day, start)
    day = start
    while day <= last_day:
        next_start = _next_cycle_start(cycle_start, period, bill_cycle_day)
        cycle_end = next_start - ONE_DAY
        period_end = cycle_end if end is None else min(cycle_end, end)
        result.append(Period(day, period_end, cycle_start, cycle_end))
        day, cycle_start = period_end + ONE_DAY, next_start
    return result


def due_periods(all_periods: list[Period], timing: BillingTiming, target: date) -> list[Period]:
    """InAdvance bills a period once it has started; InArrears once it has ended."""
    if BillingTiming.parse(timing) is BillingTiming.IN_ADVANCE:
        return [p for p in all_periods if p.start <= target]
    return [p for p in all_periods if p.end <= target]


def _round_half_up(value: Fraction, places: int) -> Decimal:
    # Integer arithmetic so a tie such as 2.5 yen is seen exactly; Decimal division would round first.
    scaled = abs(value) * 10 ** places
    units = int(scaled + Fraction(1, 2))  # floor(x + 1/2) for x >= 0: ties go up (away from zero)
    return Decimal(units if value >= 0 else -units).scaleb(-places)


def prorate(full_amount: Decimal, days: int, full_days: int, currency: str) -> Decimal:
    """full_amount x days / full_days, rounded HALF_UP once at the currency's minor units."""
    if full_days <= 0 or days < 0:
        raise ValueError("days must be >= 0 and full_days > 0")
    exact = Fraction(Decimal(full_amount)) * days / full_days
    # round_money only normalises the exponent here (the value already has the right places).
    return round_money(_round_half_up(exact, minor_units(currency)), currency)


def split_by_quantity(period: Period, changes: Sequence[tuple[date, Decimal]],
                      initial: Decimal) -> list[tuple[Period, Decimal]]:
    """Cut a period where the quantity in effect changes; every piece keeps the full cycle.

    changes are (effective_date, quantity); the latest change on or before a day is in effect
    (same rule as Subscription.quantity_on). A change to the same quantity makes no cut.
    """
    by_day: dict[date, Decimal] = {}
    for effective, quantity in sorted(changes, key=lambda c: c[0]):
        by_day[effective] = quantity  # sort is stable: of two changes on one day the later wins
    quantity = initial
    for effective in sorted(d for d in by_day if d <= period.start):
        quantity = by_day[effective]
    pieces: list[tuple[Period, Decimal]] = []
    piece_start = period.start
    for effective in sorted(d for d in by_day if period.start < d <= period.end):
        if by_day[effective] != quantity:
            pieces.append((replace(period, start=piece_start, end=effective - ONE_DAY), quantity))
            piece_start, quantity = effective, by_day[effective]
    pieces.append((replace(period, start=piece_start), quantity))
    return pieces


def credit_days(billed: Period, new_last_day: date) -> int:
    """Days of a billed period after new_last_day (the new last day in service), capped at the period."""
    return max(0, min(billed.days, (billed.end - new_last_day).days))
