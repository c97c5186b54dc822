"""Recurring invoices (BILL, seed 003): the due-date series (anchor, frequency, endDate), generation dates,
catch-up, invoice-number suffixes, validation and the PATCH/PUT merge rules."""
import calendar
import itertools
from dataclasses import replace
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from chalicelib.domain.errors import BillrunError
from chalicelib.domain.recurring_invoices import (LATEST, LineItem, RecurrencePeriod, RecurringInvoice,
                                                  change_schedule, check_line_items, check_schedule, due_by,
                                                  following, generation_date, invoice_line_amount, invoice_numbers,
                                                  merge_line_items, series)

D = date.fromisoformat
DAILY, WEEKLY, MONTHLY, YEARLY = RecurrencePeriod
NOW = datetime(2025, 1, 1, tzinfo=timezone.utc)


def dates(start, period, frequency=1, end=None, count=None, anchor_day=None):
    found = series(D(start), period, frequency, anchor_day, D(end) if end else None)
    return [d.isoformat() for d in itertools.islice(found, count)]


def template(**fields) -> RecurringInvoice:
    values = dict(id="rit1", customer_id="c1", currency="USD", period=MONTHLY, frequency=1,
                  next_due_date=D("2025-12-31"), anchor_day=31, days_in_advance=5,
                  line_items=(LineItem("rli1", Decimal("19.99")),), timezone="UTC", clock_id="live",
                  created_by_id="k", last_modified_by_id="k", created_date=NOW, last_modified_date=NOW)
    return RecurringInvoice(**{**values, **fields})


def failure(action) -> tuple[str, str]:
    with pytest.raises(BillrunError) as caught:
        action()
    return caught.value.details[0].field, caught.value.details[0].issue


# --- month-end anchoring ------------------------------------------------------------------------------------

def test_anchor_31_is_the_last_day_of_shorter_months_and_returns_to_the_31st_across_a_leap_year():
    assert dates("2023-12-31", MONTHLY, count=15) == [
        "2023-12-31", "2024-01-31", "2024-02-29", "2024-03-31", "2024-04-30", "2024-05-31", "2024-06-30",
        "2024-07-31", "2024-08-31", "2024-09-30", "2024-10-31", "2024-11-30", "2024-12-31", "2025-01-31",
        "2025-02-28"]
    assert dates("2025-01-31", MONTHLY, count=3) == ["2025-01-31", "2025-02-28", "2025-03-31"]


def test_anchor_30_and_29_clamp_in_february_only():
    assert dates("2024-01-30", MONTHLY, count=4) == ["2024-01-30", "2024-02-29", "2024-03-30", "2024-04-30"]
    assert dates("2025-01-29", MONTHLY, count=3) == ["2025-01-29", "2025-02-28", "2025-03-29"]
    assert dates("2024-01-29", MONTHLY, count=3) == ["2024-01-29", "2024-02-29", "2024-03-29"]


def test_the_seed_template_is_due_on_the_last_day_of_each_month_until_its_end_date():
    assert dates("2025-12-31", MONTHLY, end="2026-11-01") == [
        "2025-12-31", "2026-01-31", "2026-02-28", "2026-03-31", "2026-04-30", "2026-05-31", "2026-06-30",
        "2026-07-31", "2026-08-31", "2026-09-30", "2026-10-31"]


def test_yearly_on_february_29_is_the_28th_in_common_years_and_the_29th_in_leap_years():
    assert dates("2024-02-29", YEARLY, count=6) == [
        "2024-02-29", "2025-02-28", "2026-02-28", "2027-02-28", "2028-02-29", "2029-02-28"]
    assert dates("2024-02-29", YEARLY, frequency=4, count=3) == ["2024-02-29", "2028-02-29", "2032-02-29"]
    assert dates("2025-02-28", YEARLY, count=4, anchor_day=31) == [  # a month-end anchor kept by a PATCH
        "2025-02-28", "2026-02-28", "2027-02-28", "2028-02-29"]


# --- frequency > 1 ---------------------------------------------------------------------------------------------

def test_daily_weekly_monthly_yearly_with_frequency_above_one():
    assert dates("2024-02-27", DAILY, frequency=3, count=4) == ["2024-02-27", "2024-03-01", "2024-03-04",
                                                                 "2024-03-07"]
    assert dates("2025-12-24", WEEKLY, frequency=2, count=4) == ["2025-12-24", "2026-01-07", "2026-01-21",
                                                                  "2026-02-04"]
    assert dates("2025-11-30", MONTHLY, frequency=3, count=5) == ["2025-11-30", "2026-02-28", "2026-05-30",
                                                                   "2026-08-30", "2026-11-30"]
    assert dates("2023-08-31", MONTHLY, frequency=6, count=4) == ["2023-08-31", "2024-02-29", "2024-08-31",
                                                                   "2025-02-28"]
    assert dates("2025-03-15", YEARLY, frequency=2, count=3) == ["2025-03-15", "2027-03-15", "2029-03-15"]


# --- endDate -----------------------------------------------------------------------------------------------------

def test_end_date_on_a_due_date_includes_it_and_nothing_after():
    assert dates("2026-01-31", MONTHLY, end="2026-04-30") == ["2026-01-31", "2026-02-28", "2026-03-31", "2026-04-30"]
    assert dates("2026-01-31", MONTHLY, end="2026-04-29") == ["2026-01-31", "2026-02-28", "2026-03-31"]
    assert dates("2026-01-01", WEEKLY, frequency=2, end="2026-01-29") == ["2026-01-01", "2026-01-15", "2026-01-29"]
    assert dates("2026-01-01", DAILY, end="2026-01-01") == ["2026-01-01"]


def test_finished_once_the_watermark_is_past_the_end_date():
    assert not template(end_date=D("2025-12-31")).finished
    assert template(end_date=D("2025-12-30")).finished
    assert not template(end_date=None).finished
    assert template(archived=True).generating is False and template().generating is True


# --- generation dates and catch-up --------------------------------------------------------------------------

def test_each_invoice_is_generated_days_in_advance_before_its_due_date():
    assert generation_date(D("2025-12-31"), 5) == D("2025-12-26")
    assert generation_date(D("2024-03-02"), 2) == D("2024-02-29")
    assert template().generation_date == D("2025-12-26")


def test_due_by_lists_every_due_date_whose_generation_date_has_passed_in_order():
    t = template(end_date=D("2026-11-01"))
    assert due_by(t, D("2025-12-25"), 100) == []
    assert due_by(t, D("2025-12-26"), 100) == [D("2025-12-31")]
    assert due_by(t, D("2026-03-26"), 100) == [D("2025-12-31"), D("2026-01-31"), D("2026-02-28"), D("2026-03-31")]
    assert len(due_by(t, D("2040-01-01"), 100)) == 11  # bounded by endDate
    assert due_by(t, D("2040-01-01"), 3) == [D("2025-12-31"), D("2026-01-31"), D("2026-02-28")]
    assert due_by(replace(t, archived=True), D("2040-01-01"), 100) == []
    resumed = replace(t, next_due_date=D("2026-02-28"))  # the watermark moved past January
    assert due_by(resumed, D("2026-03-26"), 100) == [D("2026-02-28"), D("2026-03-31")]


def test_following_continues_from_a_clamped_due_date_on_the_anchor():
    assert following(D("2024-02-29"), MONTHLY, 1, 31) == D("2024-03-31")
    assert following(D("2025-02-28"), MONTHLY, 1, 30) == D("2025-03-30")
    assert following(D("2025-02-28"), MONTHLY, 1, 28) == D("2025-03-28")


# --- properties --------------------------------------------------------------------------------------------------

@settings(max_examples=300, deadline=None)
@given(start=st.dates(date(1990, 1, 1), date(2100, 12, 31)), period=st.sampled_from(list(RecurrencePeriod)),
       frequency=st.integers(1, 30), length=st.integers(0, 3000))
def test_series_is_strictly_increasing_anchored_and_never_beyond_its_end(start, period, frequency, length):
    end = start + timedelta(days=length)
    found = list(series(start, period, frequency, None, end))
    assert found[0] == start
    assert all(a < b for a, b in zip(found, found[1:])), "strictly increasing"
    assert all(d <= end for d in found), "never beyond endDate"
    assert following(found[-1], period, frequency, start.day) > end, "nothing due on or before endDate is left out"
    for previous, due in zip(found, found[1:]):
        if period in (DAILY, WEEKLY):
            assert (due - previous).days == frequency * (1 if period is DAILY else 7)
        else:
            months = (due.year - previous.year) * 12 + due.month - previous.month
            assert months == frequency * (1 if period is MONTHLY else 12)
            # the anchored day is restored after a short month: the day is the anchor, clamped, every time
            assert due.day == min(start.day, calendar.monthrange(due.year, due.month)[1])


@settings(max_examples=200, deadline=None)
@given(start=st.dates(date(2000, 1, 1), date(2050, 12, 31)), period=st.sampled_from(list(RecurrencePeriod)),
       frequency=st.integers(1, 12), days=st.integers(0, 60), today=st.dates(date(1999, 1, 1), date(2060, 1, 1)))
def test_catch_up_generates_exactly_the_due_dates_whose_generation_date_passed(start, period, frequency, days,
                                                                               today):
    t = template(period=period, frequency=frequency, next_due_date=start, anchor_day=start.day,
                 days_in_advance=days, end_date=start + timedelta(days=800))
    due = due_by(t, today, 10_000)
    everything = list(series(start, period, frequency, start.day, t.end_date))
    assert due == [d for d in everything if generation_date(d, days) <= today]
    assert due == everything[:len(due)], "a prefix of the series: in order, none skipped"


# --- invoice numbers, line amounts ----------------------------------------------------------------------------

def test_invoice_numbers_are_the_due_date_then_suffixed():
    assert list(itertools.islice(invoice_numbers(D("2026-01-31")), 4)) == [
        "2026-01-31", "2026-01-31-1", "2026-01-31-2", "2026-01-31-3"]


def test_line_amount_is_amount_times_quantity_rounded_half_up():
    assert invoice_line_amount(LineItem("a", Decimal("19.99"), Decimal("3")), "USD") == Decimal("59.97")
    assert invoice_line_amount(LineItem("a", Decimal("0.05"), Decimal("0.5")), "USD") == Decimal("0.03")  # 0.025
    assert invoice_line_amount(LineItem("a", Decimal("15"), Decimal("0.5")), "JPY") == Decimal("8")  # 7.5
    assert invoice_line_amount(LineItem("a", Decimal("1.005"), Decimal("1.5")), "KWD") == Decimal("1.508")


# --- validation ----------------------------------------------------------------------------------------------------

def test_schedule_validation_names_the_field():
    assert failure(lambda: check_schedule(template(end_date=D("2025-12-30"))))[0] == "schedule.endDate"
    assert check_schedule(template(end_date=D("2025-12-31"))).end_date == D("2025-12-31")
    assert failure(lambda: check_schedule(template(frequency=0)))[0] == "schedule.frequency"
    assert failure(lambda: check_schedule(template(days_in_advance=-1)))[0] == "schedule.daysInAdvance"
    assert failure(lambda: check_schedule(template(next_due_date=LATEST)))[0] == "schedule.nextDueDate"
    assert failure(lambda: check_schedule(template(next_due_date=D("1899-12-31"))))[0] == "schedule.nextDueDate"


def test_line_items_are_exact_to_the_currency_not_negative_with_a_positive_quantity():
    ok = check_line_items((LineItem("a", Decimal("19.990")), LineItem("b", Decimal(5), Decimal("2.5"))), "USD")
    assert [i.amount for i in ok] == [Decimal("19.99"), Decimal("5.00")]
    assert failure(lambda: check_line_items((LineItem("a", Decimal("1")), LineItem("b", Decimal("19.999"))),
                                            "USD")) == ("recurringInvoiceLineItems[1].amount",
                                                        "at most 2 decimal places for USD")
    assert failure(lambda: check_line_items((LineItem("a", Decimal("1.5")),), "JPY"))[0] == \
        "recurringInvoiceLineItems[0].amount"
    assert check_line_items((LineItem("a", Decimal("1.125")),), "KWD")[0].amount == Decimal("1.125")
    assert failure(lambda: check_line_items((LineItem("a", Decimal("-1")),), "USD"))[0] == \
        "recurringInvoiceLineItems[0].amount"
    assert failure(lambda: check_line_items((LineItem("a", Decimal("1"), Decimal(0)),), "USD"))[0] == \
        "recurringInvoiceLineItems[0].quantity"
    assert failure(lambda: check_line_items((), "USD"))[0] == "recurringInvoiceLineItems"


# --- PATCH / PUT ---------------------------------------------------------------------------------------------------

ITEMS = (LineItem("rli1", Decimal("10.00"), Decimal(1), "Hosting"), LineItem("rli2", Decimal("5.00"), Decimal(2), "Seats"))


def new_ids():
    counter = itertools.count(1)
    return lambda: f"new{next(counter)}"


def test_put_keeps_items_with_an_id_adds_items_without_and_removes_the_others():
    result = merge_line_items(ITEMS, [{"id": "rli2", "amount": Decimal("7.00"), "quantity": None, "description": None},
                                      {"id": None, "amount": Decimal("1.00"), "quantity": Decimal(3),
                                       "description": "New"}], new_ids(), partial=False)
    assert result == (LineItem("rli2", Decimal("7.00"), Decimal(1), None), LineItem("new1", Decimal("1.00"), Decimal(3),
                                                                                    "New"))


def test_patch_merges_the_fields_sent_into_items_with_an_id():
    result = merge_line_items(ITEMS, [{"id": "rli1", "quantity": Decimal(4)}, {"amount": Decimal("2.00")}], new_ids(),
                              partial=True)
    assert result == (LineItem("rli1", Decimal("10.00"), Decimal(4), "Hosting"), LineItem("new1", Decimal("2.00")))


def test_unknown_or_repeated_line_item_ids_and_missing_amounts_are_refused():
    assert failure(lambda: merge_line_items(ITEMS, [{"id": "nope", "amount": Decimal(1)}], new_ids(),
                                            partial=False))[0] == "recurringInvoiceLineItems[0].id"
    assert failure(lambda: merge_line_items(ITEMS, [{"id": "rli1"}, {"id": "rli1"}], new_ids(),
                                            partial=True))[0] == "recurringInvoiceLineItems[1].id"
    assert failure(lambda: merge_line_items(ITEMS, [{"description": "x"}], new_ids(), partial=True))[0] == \
        "recurringInvoiceLineItems[0].amount"
    assert failure(lambda: merge_line_items(ITEMS, [{"id": "rli1", "amount": None}], new_ids(), partial=True))[0] == \
        "recurringInvoiceLineItems[0].amount"


def test_a_new_next_due_date_re_anchors_the_series():
    t = template(next_due_date=D("2026-02-28"), anchor_day=31)
    moved = change_schedule(t, {"next_due_date": D("2026-03-15")})
    assert (moved.next_due_date, moved.anchor_day) == (D("2026-03-15"), 15)
    echoed = change_schedule(t, {"next_due_date": D("2026-02-28"), "frequency": 1})
    assert echoed == t  # sending the current nextDueDate keeps the month-end anchor
    quarterly = change_schedule(t, {"frequency": 3})
    assert (quarterly.next_due_date, quarterly.anchor_day) == (D("2026-02-28"), 31)
    assert following(quarterly.next_due_date, MONTHLY, 3, quarterly.anchor_day) == D("2026-05-31")
    weekly = change_schedule(template(period=WEEKLY, next_due_date=D("2026-01-24"), anchor_day=3),
                             {"period": MONTHLY})
    assert weekly.anchor_day == 24  # a DAILY or WEEKLY series becomes monthly on its next due date's day


def test_schedule_is_validated_only_when_it_changes():
    finished = template(next_due_date=D("2026-11-30"), end_date=D("2026-11-01"))
    same = {"period": MONTHLY, "frequency": 1, "next_due_date": D("2026-11-30"), "end_date": D("2026-11-01"),
            "days_in_advance": 5}
    assert change_schedule(finished, same) == finished  # a PUT echoing a finished template's schedule
    assert failure(lambda: change_schedule(finished, {"end_date": D("2026-11-29")}))[0] == "schedule.endDate"
    assert change_schedule(finished, {"end_date": D("2027-01-31")}).generating  # extended: it resumes
