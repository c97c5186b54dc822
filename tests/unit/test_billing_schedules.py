"""Billing schedule rules: first slot, catch-up slots, run dates, validation."""
from dataclasses import replace
from datetime import date, datetime

import pytest

from chalicelib.domain import billing_schedules as rules
from chalicelib.domain.billing_schedules import (BillingSchedule, IncrementSign, IncrementUnit, ScheduleStatus,
                                                 ScheduleType)
from chalicelib.domain.errors import BillrunError
from chalicelib.domain.timeutil import UTC

NOW = datetime(2025, 6, 30, 2, 42, 32, tzinfo=UTC)


def schedule(**fields) -> BillingSchedule:
    base = dict(id="s1", name="BS-00000001", schedule_type=ScheduleType.RECURRING, status=ScheduleStatus.DRAFT,
                zone_id="Asia/Shanghai", schedule_start_date=date(2025, 6, 30), clock_id="live",
                created_by_id="k", last_modified_by_id="k", created_date=NOW, last_modified_date=NOW,
                recurring_schedule="0 0 3 ? * *")
    return BillingSchedule(**{**base, **fields})


def test_seed_schedule_first_fires_at_3am_shanghai_after_activation():
    active = rules.activate(rules.check(schedule()), NOW)
    assert active.status is ScheduleStatus.ACTIVE
    assert active.next_run_date == datetime(2025, 6, 30, 19, 0, tzinfo=UTC)  # 2025-07-01 03:00 +08:00


def test_first_slot_never_precedes_schedule_start_date():
    later = rules.activate(schedule(schedule_start_date=date(2025, 8, 1)), NOW)
    assert later.next_run_date == datetime(2025, 7, 31, 19, 0, tzinfo=UTC)


def test_on_demand_runs_at_activation_or_at_a_later_start_date():
    now_run = rules.activate(schedule(schedule_type=ScheduleType.ON_DEMAND, recurring_schedule=None), NOW)
    assert now_run.next_run_date == NOW
    later = rules.activate(schedule(schedule_type=ScheduleType.ON_DEMAND, recurring_schedule=None,
                                    schedule_start_date=date(2025, 7, 10)), NOW)
    assert later.next_run_date == datetime(2025, 7, 9, 16, 0, tzinfo=UTC)  # midnight in Shanghai
    assert rules.slots_until(later, datetime(2025, 7, 9, 15, 59, tzinfo=UTC), 10) == []
    assert rules.following_slot(later, later.next_run_date) is None


def test_missed_slots_are_all_returned_in_order_up_to_the_limit():
    active = rules.activate(schedule(), NOW)
    three_days_later = datetime(2025, 7, 3, 20, 0, tzinfo=UTC)
    slots = rules.slots_until(active, three_days_later, 100)
    assert slots == [datetime(2025, 6, 30, 19, tzinfo=UTC), datetime(2025, 7, 1, 19, tzinfo=UTC),
                     datetime(2025, 7, 2, 19, tzinfo=UTC), datetime(2025, 7, 3, 19, tzinfo=UTC)]
    assert rules.slots_until(active, three_days_later, 2) == slots[:2]


@pytest.mark.parametrize("sign, unit, increment, expected", [
    (IncrementSign.PLUS, IncrementUnit.DAYS, 0, date(2025, 7, 1)),
    (IncrementSign.PLUS, IncrementUnit.DAYS, 5, date(2025, 7, 6)),
    (IncrementSign.MINUS, IncrementUnit.WEEKS, 1, date(2025, 6, 24)),
    (IncrementSign.PLUS, IncrementUnit.MONTHS, 1, date(2025, 8, 1)),
])
def test_target_date_is_the_slots_local_date_moved_by_the_increment(sign, unit, increment, expected):
    s = schedule(target_date_increment=increment, target_date_increment_sign=sign,
                 target_date_increment_time_unit=unit)
    target, invoice_date = rules.run_dates(s, datetime(2025, 6, 30, 19, tzinfo=UTC))
    assert (target, invoice_date) == (expected, date(2025, 7, 1))


def test_fixed_dates_are_used_by_on_demand_runs_and_are_floors_for_recurring_ones():
    on_demand = schedule(schedule_type=ScheduleType.ON_DEMAND, recurring_schedule=None,
                         target_date=date(2025, 12, 31), invoice_date=date(2025, 7, 15))
    assert rules.run_dates(on_demand, NOW) == (date(2025, 12, 31), date(2025, 7, 15))
    recurring = schedule(target_date=date(2025, 7, 5), invoice_date=date(2025, 7, 2))
    assert rules.run_dates(recurring, datetime(2025, 6, 30, 19, tzinfo=UTC)) == (date(2025, 7, 5), date(2025, 7, 2))
    assert rules.run_dates(recurring, datetime(2025, 7, 9, 19, tzinfo=UTC)) == (date(2025, 7, 10), date(2025, 7, 10))


@pytest.mark.parametrize("fields, field_name", [
    ({"recurring_schedule": "0 0 0 30 2 ?"}, "recurringSchedule"),
    ({"recurring_schedule": None}, "recurringSchedule"),
    ({"zone_id": "Mars/Olympus"}, "zoneId"),
    ({"customer_filter": "{id: {_eqq: \"x\"}}"}, "customerFilter"),
    ({"bill_cycle_day_filter": "1,32"}, "billCycleDayFilter"),
    ({"schedule_type": ScheduleType.ON_DEMAND}, "recurringSchedule"),
])
def test_invalid_schedules_name_the_field(fields, field_name):
    with pytest.raises(BillrunError) as caught:
        rules.check(schedule(**fields))
    assert caught.value.details[0].field == field_name


def test_a_cron_that_can_no_longer_fire_is_refused():
    with pytest.raises(BillrunError) as caught:
        rules.require_future_slot(schedule(recurring_schedule="0 0 3 1 1 ? 2024"), NOW)
    assert caught.value.details[0].field == "recurringSchedule"
    assert rules.require_future_slot(schedule(recurring_schedule="0 0 3 1 1 ? 2026"), NOW).id == "s1"


def test_bill_cycle_day_filter_is_canonical():
    assert rules.check(schedule(bill_cycle_day_filter=" 15, 1 ,15")).bill_cycle_day_filter == "1,15"
    assert rules.bill_cycle_days("1,15") == frozenset({1, 15})
    assert rules.bill_cycle_days(None) is None


def test_deactivating_a_draft_is_a_conflict():
    with pytest.raises(BillrunError) as caught:
        rules.deactivate(schedule())
    assert caught.value.kind == "conflict"


# --- bounds on what a create or a change sets (docs/limits.md) --------------------------------------------------

TODAY = date(2025, 6, 30)


def bounded(value: BillingSchedule, before: BillingSchedule | None = None, minimum: int = 3600,
            max_days: int = 400) -> BillingSchedule:
    return rules.require_bounds(value, before, TODAY, minimum, max_days)


def refusal(value: BillingSchedule, before: BillingSchedule | None = None, **limits) -> tuple[str, str]:
    with pytest.raises(BillrunError) as caught:
        bounded(value, before, **limits)
    return caught.value.details[0].field, caught.value.details[0].issue


def test_slots_closer_than_the_minimum_are_refused():
    assert refusal(schedule(recurring_schedule="* * * * * ?")) == (
        "recurringSchedule", "fires every 1 s (at 00:00:00 and 00:00:01); slots must be at least 1 h apart "
                             "(BILLRUN_MIN_SLOT_INTERVAL_SECONDS)")
    assert refusal(schedule(recurring_schedule="0 0 0,23 ? * *"), minimum=7200) == (
        "recurringSchedule", "fires every 1 h (at 23:00:00 and 00:00:00 the next day); slots must be at least "
                             "2 h apart (BILLRUN_MIN_SLOT_INTERVAL_SECONDS)")
    assert bounded(schedule(recurring_schedule="0 0 0,23 ? * *")).id == "s1"
    assert bounded(schedule(recurring_schedule="0 * * * * ?"), minimum=60).id == "s1"
    on_demand = schedule(schedule_type=ScheduleType.ON_DEMAND, recurring_schedule=None)
    assert bounded(on_demand, minimum=10 ** 9).id == "s1"  # runs once: no interval


def test_a_stored_cron_is_kept_when_other_fields_change():
    stored = schedule(recurring_schedule="0 * * * * ?")  # e.g. created before the bound was raised
    assert bounded(replace(stored, description="renamed"), stored).description == "renamed"
    assert refusal(replace(stored, recurring_schedule="30 * * * * ?"), stored)[0] == "recurringSchedule"
    on_demand = replace(stored, schedule_type=ScheduleType.ON_DEMAND, recurring_schedule=None)
    assert refusal(replace(stored, recurring_schedule="0 * * * * ?"), on_demand)[0] == "recurringSchedule"


def test_a_start_set_further_back_than_the_catch_up_bound_is_refused():
    assert bounded(schedule(schedule_start_date=date(2024, 5, 26))).id == "s1"  # 400 days before TODAY
    field, issue = refusal(schedule(schedule_start_date=date(2024, 5, 25)))
    assert field == "scheduleStartDate" and "401 days before today (2025-06-30)" in issue \
        and "BILLRUN_MAX_CATCH_UP_DAYS" in issue
    stored = schedule(schedule_start_date=date(2020, 1, 1))  # fallen behind since it was set
    assert bounded(replace(stored, description="renamed"), stored).description == "renamed"
    assert refusal(replace(stored, schedule_start_date=date(2020, 1, 2)), stored)[0] == "scheduleStartDate"
