"""Quartz cron on croniter: translation, impossible expressions, and the DST rules (fire once, skip no day)."""
import calendar
import time as clock
from datetime import date, datetime, time, timedelta, timezone

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from chalicelib.domain.cron import QuartzCron, next_slots, parse_quartz
from chalicelib.domain.timeutil import zone

UTC = timezone.utc
NEW_YORK, LONDON = "America/New_York", "Europe/London"


def at(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def slots(expression: str, zone_name: str, after: str, count: int | None = None, until: str | None = None):
    return next_slots(parse_quartz(expression), zone_name, at(after), count=count,
                      until=at(until) if until else None)


def local(instants, zone_name: str) -> list[datetime]:
    return [i.astimezone(zone(zone_name)) for i in instants]


# ---------------------------------------------------------------- the seed and Quartz syntax


def test_seed_schedule_fires_daily_at_three_in_shanghai():
    result = slots("0 0 3 ? * *", "Asia/Shanghai", "2025-06-30T00:00:00Z", count=3)
    assert result == [at("2025-06-30T19:00:00Z"), at("2025-07-01T19:00:00Z"), at("2025-07-02T19:00:00Z")]
    assert all(s.tzinfo is UTC for s in result)
    assert [s.isoformat() for s in local(result, "Asia/Shanghai")][0] == "2025-07-01T03:00:00+08:00"


def test_parse_keeps_the_expression_with_normalized_whitespace():
    cron = parse_quartz("  0 0   3 ? *\t* ")
    assert isinstance(cron, QuartzCron) and cron.expression == "0 0 3 ? * *"
    with pytest.raises(Exception):
        cron.expression = "other"  # frozen


def test_quartz_day_of_week_two_is_monday():
    days = local(slots("0 0 9 ? * 2", "UTC", "2025-01-01T00:00:00Z", count=5), "UTC")
    assert {d.strftime("%a %H:%M:%S") for d in days} == {"Mon 09:00:00"}
    assert days[0].date() == date(2025, 1, 6)


@pytest.mark.parametrize("expression", ["0 0 9 ? * MON-FRI", "0 0 9 ? * mon-fri", "0 0 9 ? * 2-6"])
def test_weekdays_by_name_or_number(expression):
    days = local(slots(expression, "UTC", "2025-01-03T10:00:00Z", count=10), "UTC")
    assert [d.strftime("%a") for d in days[:6]] == ["Mon", "Tue", "Wed", "Thu", "Fri", "Mon"]
    assert days[0].date() == date(2025, 1, 6)


def test_wrapping_day_of_week_range_and_sunday_is_one():
    days = local(slots("0 0 9 ? * FRI-SUN", "UTC", "2025-01-01T00:00:00Z", count=4), "UTC")
    assert [d.strftime("%a") for d in days] == ["Fri", "Sat", "Sun", "Fri"]
    assert {d.strftime("%a") for d in local(slots("0 0 9 ? * 1", "UTC", "2025-01-01T00:00:00Z", count=3), "UTC")} \
        == {"Sun"}


def test_third_friday():
    days = [d.date() for d in local(slots("0 0 9 ? * 6#3", "UTC", "2025-01-01T00:00:00Z", count=4), "UTC")]
    assert days == [date(2025, 1, 17), date(2025, 2, 21), date(2025, 3, 21), date(2025, 4, 18)]


def test_last_friday():
    days = [d.date() for d in local(slots("0 0 9 ? * 6L", "UTC", "2025-01-01T00:00:00Z", count=4), "UTC")]
    assert days == [date(2025, 1, 31), date(2025, 2, 28), date(2025, 3, 28), date(2025, 4, 25)]


def test_lone_l_in_day_of_week_is_saturday():
    days = local(slots("0 0 0 ? * L", "UTC", "2025-01-01T00:00:00Z", count=3), "UTC")
    assert {d.strftime("%a") for d in days} == {"Sat"}


def test_last_day_of_month_including_leap_february():
    days = [d.date() for d in local(slots("0 0 0 L * ?", "UTC", "2028-01-15T00:00:00Z", count=4), "UTC")]
    assert days == [date(2028, 1, 31), date(2028, 2, 29), date(2028, 3, 31), date(2028, 4, 30)]


def test_days_before_the_last():
    days = [d.date() for d in local(slots("0 0 0 L-3 * ?", "UTC", "2025-01-01T00:00:00Z", count=4), "UTC")]
    assert days == [date(2025, 1, 28), date(2025, 2, 25), date(2025, 3, 28), date(2025, 4, 27)]
    only_31_day_months = local(slots("0 0 0 L-30 * ?", "UTC", "2025-01-01T00:00:00Z", count=3), "UTC")
    assert [d.date() for d in only_31_day_months] == [date(2025, 3, 1), date(2025, 5, 1), date(2025, 7, 1)]


@pytest.mark.parametrize("after, fired", [
    ("2025-11-01T00:00:00Z", date(2025, 11, 14)),  # the 15th is a Saturday -> Friday the 14th
    ("2025-06-01T00:00:00Z", date(2025, 6, 16)),  # the 15th is a Sunday -> Monday the 16th
    ("2025-10-01T00:00:00Z", date(2025, 10, 15)),  # a Wednesday: itself
])
def test_nearest_weekday(after, fired):
    assert local(slots("0 0 0 15W * ?", "UTC", after, count=1), "UTC")[0].date() == fired


def test_nearest_weekday_never_leaves_the_month():
    # 2025-02-01 is a Saturday: Monday the 3rd, not Friday January 31st.
    assert local(slots("0 0 0 1W * ?", "UTC", "2025-01-15T00:00:00Z", count=1), "UTC")[0].date() == date(2025, 2, 3)


def test_last_weekday_of_month():
    days = [d.date() for d in local(slots("0 0 0 LW * ?", "UTC", "2025-05-01T00:00:00Z", count=4), "UTC")]
    # May 31 is a Saturday, Aug 31 a Sunday: both step back to Friday.
    assert days == [date(2025, 5, 30), date(2025, 6, 30), date(2025, 7, 31), date(2025, 8, 29)]


def test_year_field_fires_exactly_once():
    result = slots("0 0 12 1 1 ? 2027", "UTC", "2025-01-01T00:00:00Z", count=5)
    assert result == [at("2027-01-01T12:00:00Z")]
    assert slots("0 0 12 1 1 ? 2027", "UTC", "2025-01-01T00:00:00Z", until="2040-01-01T00:00:00Z") == result
    assert slots("0 0 12 1 1 ? 2026-2028", "UTC", "2025-01-01T00:00:00Z", count=9)[-1] == at("2028-01-01T12:00:00Z")


def test_year_list_with_a_wide_gap():
    result = slots("0 0 0 1 1 ? 1970,2099", "UTC", "1960-01-01T00:00:00Z", count=5)
    assert result == [at("1970-01-01T00:00:00Z"), at("2099-01-01T00:00:00Z")]


def test_every_fifteen_minutes():
    result = slots("0 */15 * ? * *", "UTC", "2025-01-01T00:07:00Z", count=5)
    assert [s.strftime("%H:%M:%S") for s in result] == ["00:15:00", "00:30:00", "00:45:00", "01:00:00", "01:15:00"]


def test_seconds_field():
    result = slots("30 0 0 ? * *", "UTC", "2025-01-01T00:00:00Z", count=2)
    assert result == [at("2025-01-01T00:00:30Z"), at("2025-01-02T00:00:30Z")]


def test_equal_range_is_one_value_not_the_whole_cycle():
    assert [s.day for s in slots("0 0 0 5-5 * ?", "UTC", "2025-01-01T00:00:00Z", count=2)] == [5, 5]


@pytest.mark.parametrize("expression", ["0 0 3 * * *", "0 0 3 ? * *", "0 0 3 * * ?", "0 0 3 ? * * *"])
def test_star_in_both_day_fields_reads_as_every_day(expression):
    assert slots(expression, "UTC", "2025-01-01T00:00:00Z", count=2) == [at("2025-01-01T03:00:00Z"),
                                                                        at("2025-01-02T03:00:00Z")]


def test_star_beside_a_real_day_value_reads_as_question_mark():
    assert slots("0 0 0 15 * *", "UTC", "2025-01-01T00:00:00Z", count=1) == [at("2025-01-15T00:00:00Z")]
    assert slots("0 0 0 * * 2", "UTC", "2025-01-01T00:00:00Z", count=1) == [at("2025-01-06T00:00:00Z")]


def test_strictly_after_and_until_is_inclusive():
    assert slots("0 0 3 ? * *", "UTC", "2025-01-01T03:00:00Z", count=1) == [at("2025-01-02T03:00:00Z")]
    assert slots("0 0 3 ? * *", "UTC", "2025-01-01T02:59:59.999Z", count=1) == [at("2025-01-01T03:00:00Z")]
    assert slots("0 0 3 ? * *", "UTC", "2025-01-01T00:00:00Z", until="2025-01-03T03:00:00Z") == [
        at("2025-01-01T03:00:00Z"), at("2025-01-02T03:00:00Z"), at("2025-01-03T03:00:00Z")]
    assert slots("0 0 3 ? * *", "UTC", "2025-01-01T00:00:00Z", count=0) == []
    assert slots("0 0 3 ? * *", "UTC", "2025-01-05T00:00:00Z", until="2025-01-01T00:00:00Z") == []


def test_next_slots_arguments_are_checked():
    cron = parse_quartz("0 0 3 ? * *")
    with pytest.raises(ValueError, match="count or until"):
        next_slots(cron, "UTC", at("2025-01-01T00:00:00Z"))
    with pytest.raises(ValueError, match="aware"):
        next_slots(cron, "UTC", datetime(2025, 1, 1), count=1)
    with pytest.raises(ValueError, match="zone"):
        next_slots(cron, "Mars/Olympus", at("2025-01-01T00:00:00Z"), count=1)
    with pytest.raises(ValueError, match="count"):
        next_slots(cron, "UTC", at("2025-01-01T00:00:00Z"), count=-1)


# ---------------------------------------------------------------- DST


def test_fall_back_daily_0130_new_york_fires_once_at_the_first_occurrence():
    result = slots("0 30 1 ? * *", NEW_YORK, "2025-11-01T12:00:00Z", count=3)
    assert result == [at("2025-11-02T05:30:00Z"), at("2025-11-03T06:30:00Z"), at("2025-11-04T06:30:00Z")]
    assert local(result, NEW_YORK)[0].isoformat() == "2025-11-02T01:30:00-04:00"  # EDT, the first 01:30


def test_fall_back_after_the_first_occurrence_does_not_fire_again():
    # `after` is 01:15 EST, the repeated hour: 01:30 already fired at 01:30 EDT.
    assert slots("0 30 1 ? * *", NEW_YORK, "2025-11-02T06:15:00Z", count=1) == [at("2025-11-03T06:30:00Z")]


def test_spring_forward_daily_0230_new_york_is_shifted_by_the_gap():
    result = slots("0 30 2 ? * *", NEW_YORK, "2025-03-08T12:00:00Z", count=2)
    assert result == [at("2025-03-09T07:30:00Z"), at("2025-03-10T06:30:00Z")]
    assert local(result, NEW_YORK)[0].isoformat() == "2025-03-09T03:30:00-04:00"


def test_spring_forward_slot_is_found_from_just_after_the_jump():
    # 03:10 EDT: the 02:30 wall time of this very day fires at 03:30 EDT, still ahead.
    assert slots("0 30 2 ? * *", NEW_YORK, "2025-03-09T07:10:00Z", count=1) == [at("2025-03-09T07:30:00Z")]


@pytest.mark.parametrize("after, expected", [
    ("2025-03-29T12:00:00Z", ["2025-03-30T01:30:00Z", "2025-03-31T00:30:00Z"]),  # 01:30 GMT does not exist
    ("2025-10-25T12:00:00Z", ["2025-10-26T00:30:00Z", "2025-10-27T01:30:00Z"]),  # 01:30 BST, then GMT
])
def test_london_daily_0130_across_both_changes(after, expected):
    assert slots("0 30 1 ? * *", LONDON, after, count=2) == [at(e) for e in expected]


def test_hourly_across_fall_back_fires_once_per_distinct_wall_hour():
    # 2025-11-02 in New York lasts 25 hours but shows 24 distinct wall-clock hours: 01:00 fires once (EDT).
    day = slots("0 0 * ? * *", NEW_YORK, "2025-11-02T03:59:59Z", until="2025-11-03T04:59:59Z")
    walls = local(day, NEW_YORK)
    assert len(day) == 24 and {w.date() for w in walls} == {date(2025, 11, 2)}
    assert [w.hour for w in walls] == list(range(24))
    assert walls[1].isoformat() == "2025-11-02T01:00:00-04:00"


def test_hourly_across_spring_forward_has_23_slots_and_no_duplicate():
    day = slots("0 30 * ? * *", NEW_YORK, "2025-03-09T04:59:59Z", until="2025-03-10T03:59:59Z")
    assert len(day) == len(set(day)) == 23 and day == sorted(day)
    assert at("2025-03-09T07:30:00Z") in day  # 02:30 shifted to 03:30 EDT, which is itself not repeated


def test_minutely_through_a_gap_is_in_order_without_duplicates():
    result = slots("0 * * ? * *", NEW_YORK, "2025-03-09T06:58:00Z", count=5)
    assert result == [at("2025-03-09T06:59:00Z")] + [at(f"2025-03-09T07:0{m}:00Z") for m in range(4)]


# ---------------------------------------------------------------- rejections


@pytest.mark.parametrize("expression, problem", [
    ("0 0 0 30 2 ?", "never fires"),
    ("0 0 0 31 4,6,9,11 ?", "never fires"),
    ("0 0 0 29 2 ? 2025", "never fires"),
    ("0 0 0 ? 2 2#5 2025", "never fires"),  # February 2025 has four Mondays
    ("0 0 0 L-29 2 ?", "never fires"),
    ("0 0 0 ? * 2#6", "at most 5"),
    ("0 0 0 1 1 ? 1960", "year value 1960"),
    ("0 0 0 1 1 ? 1950-1960", "year value 1950"),
    ("0 0 0 1 1 ? 2030-2025", "backwards"),
    ("", "empty"),
    ("   ", "empty"),
    ("0 0 0 * *", "5 field"),
    ("0 0 0 ? * * 2025 1", "8 field"),
    ("61 0 0 ? * *", "second value 61"),
    ("0 60 0 ? * *", "minute value 60"),
    ("0 0 24 ? * *", "hour value 24"),
    ("0 0 0 32 * ?", "day-of-month value 32"),
    ("0 0 0 ? 13 *", "month value 13"),
    ("0 0 0 ? * 8", "day-of-week value 8"),
    ("0 0 0 ? * 0", "day-of-week value 0"),
    ("0 0 0 1 * 2", "both set"),
    ("0 0 0 ? * ?", "'?' in both"),
    ("0 ? 0 1 * ?", "only allowed in day-of-month or day-of-week"),
    ("x 0 0 ? * *", "unknown value"),
    ("0 0 0 ? FOO *", "unknown value"),
    ("0 0 0 ? * H", "unknown value"),
    ("0 0 0 ? * 1,2#3", "day-of-week"),
    ("0 0 0 L,1 * ?", "day-of-month"),
    ("0 */0 0 ? * *", "step 0"),
    ("0 0 0 1-- * ?", "day-of-month"),
    ("@daily", "1 field"),
    ("0 0 0 L-31 * ?", "0-30"),
    ("0 0 0 0W * ?", "day-of-month value 0"),
    ("0 0 0 ? * 1#0", "at most 5"),
])
def test_rejections_are_value_errors_answered_fast(expression, problem):
    started = clock.perf_counter()
    with pytest.raises(ValueError) as caught:
        parse_quartz(expression)
    assert clock.perf_counter() - started < 0.1
    assert problem in str(caught.value) and "invalid Quartz cron" in str(caught.value)


def test_non_string_is_a_value_error():
    with pytest.raises(ValueError):
        parse_quartz(None)


def test_hard_but_possible_expressions_are_accepted_fast():
    started = clock.perf_counter()
    rare = parse_quartz("0 0 0 ? 2 2#5")  # a leap February starting on a Monday
    assert clock.perf_counter() - started < 0.1
    assert slots(rare.expression, "UTC", "2025-01-01T00:00:00Z", count=2) == [at("2044-02-29T00:00:00Z"),
                                                                            at("2072-02-29T00:00:00Z")]
    assert slots("0 0 0 29 2 ? 2025-2028", "UTC", "2025-01-01T00:00:00Z", count=2) == [at("2028-02-29T00:00:00Z")]


# ---------------------------------------------------------------- properties

ZONES = ["UTC", "Asia/Shanghai", NEW_YORK, LONDON, "Australia/Lord_Howe", "Asia/Kathmandu"]


def offset_changes(zone_name: str) -> list[datetime]:
    """The instants in 2024-2030 at which the zone's UTC offset changes (found by a daily scan, then bisection)."""
    tz, changes = zone(zone_name), []
    day = datetime(2024, 1, 1, tzinfo=UTC)
    while day.year < 2031:
        low, high = day, day + timedelta(days=1)
        if low.astimezone(tz).utcoffset() != high.astimezone(tz).utcoffset():
            while high - low > timedelta(minutes=1):
                middle = low + (high - low) / 2
                low, high = (middle, high) if middle.astimezone(tz).utcoffset() == low.astimezone(tz).utcoffset() \
                    else (low, middle)
            changes.append(high.replace(second=0, microsecond=0))  # changes fall on whole minutes
        day += timedelta(days=1)
    return changes


CHANGES = {name: offset_changes(name) for name in ZONES}


@st.composite
def zones_and_afters(draw):
    """A zone and an `after`: anywhere in 2024-2030, or close to (often just after) one of the zone's DST changes."""
    zone_name = draw(st.sampled_from(ZONES))
    changes = CHANGES[zone_name]
    where = draw(st.sampled_from(["anywhere", "around a change", "just after a change"] if changes else ["anywhere"]))
    if where == "anywhere":
        return zone_name, draw(st.datetimes(min_value=datetime(2024, 1, 1), max_value=datetime(2030, 12, 31),
                                            timezones=st.just(UTC)))
    change = draw(st.sampled_from(changes))
    seconds = draw(st.integers(-30 * 3600, 6 * 3600) if where == "around a change" else st.integers(0, 3600))
    return zone_name, change + timedelta(seconds=seconds)


@st.composite
def schedules(draw):
    """A Quartz expression and the matcher the expression should obey: (hours, minute, second, day test)."""
    second, minute = draw(st.integers(0, 59)), draw(st.integers(0, 59))
    hourly = draw(st.booleans())
    hour = None if hourly else draw(st.one_of(st.integers(0, 23), st.sampled_from([1, 2])))  # DST-prone hours
    kind = draw(st.sampled_from(["every day"] * 4 + ["dom", "dow", "last", "nth"]))  # every day meets DST days
    dom = draw(st.integers(1, 28))
    dow = draw(st.integers(1, 7))
    nth = draw(st.integers(1, 4))
    days = {
        "every day": ("*", "?", lambda d: True),
        "dom": (str(dom), "?", lambda d: d.day == dom),
        "dow": ("?", str(dow), lambda d: d.isoweekday() % 7 + 1 == dow),
        "last": ("L", "?", lambda d: d.day == calendar.monthrange(d.year, d.month)[1]),
        "nth": ("?", f"{dow}#{nth}", lambda d: d.isoweekday() % 7 + 1 == dow and (d.day - 1) // 7 + 1 == nth),
    }[kind]
    expression = f"{second} {minute} {'*' if hourly else hour} {days[0]} * {days[1]}"
    return expression, (range(24) if hourly else [hour]), minute, second, days[2], kind


def fired_wall_date(slot: datetime, zone_name: str, hours, minute: int, second: int, day_matches):
    """The local date whose matching wall time maps to `slot`: the same wall time, or (inside a spring-forward
    gap) the wall time read with the pre-gap offset (fold=0). None if no matching wall time explains it."""
    tz = zone(zone_name)
    seen = slot.astimezone(tz).date()
    for day in (seen, seen - timedelta(days=1)):
        for hour in hours:
            wall = datetime.combine(day, time(hour, minute, second)).replace(tzinfo=tz, fold=0)
            if wall.astimezone(UTC) == slot and day_matches(day):
                return day
    return None


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(schedule=schedules(), zone_and_after=zones_and_afters())
def test_slots_are_ordered_matching_and_never_repeat_a_wall_time(schedule, zone_and_after):
    zone_name, after = zone_and_after
    expression, hours, minute, second, day_matches, kind = schedule
    cron = parse_quartz(expression)
    result = next_slots(cron, zone_name, after, count=60, until=after + timedelta(days=100))
    assert result, "every generated schedule fires within its horizon"
    assert all(s.tzinfo is UTC for s in result)
    assert result[0] > after
    assert all(a < b for a, b in zip(result, result[1:]))
    walls = [s.astimezone(zone(zone_name)).replace(tzinfo=None) for s in result]
    assert len(set(walls)) == len(walls)
    fired_days = [fired_wall_date(s, zone_name, hours, minute, second, day_matches) for s in result]
    assert None not in fired_days, list(zip(result, fired_days))
    if kind == "every day" and len(hours) == 1:  # a daily schedule: exactly one slot per local date, no gaps
        assert all((b - a).days == 1 for a, b in zip(fired_days, fired_days[1:]))


@settings(max_examples=100, deadline=None)
@given(schedule=schedules(), zone_and_after=zones_and_afters(), split=st.integers(1, 10))
def test_resuming_from_any_slot_continues_the_same_sequence(schedule, zone_and_after, split):
    zone_name, after = zone_and_after
    # Billing resumes from a watermark (the last slot run): no slot may be lost or repeated on resume.
    cron = parse_quartz(schedule[0])
    whole = next_slots(cron, zone_name, after, count=12)
    resumed = next_slots(cron, zone_name, whole[split - 1], count=12 - split)
    assert whole[split:] == resumed


DST_CHANGES = [(name, change) for name, changes in CHANGES.items() for change in changes]


@settings(max_examples=100, deadline=None)
@given(zone_and_change=st.sampled_from(DST_CHANGES), old_side=st.booleans(), minute=st.integers(0, 59),
       second=st.integers(0, 59), back=st.integers(0, 7200))
def test_daily_slot_on_a_dst_day_fires_once_and_is_found_from_any_earlier_instant(
        zone_and_change, old_side, minute, second, back):
    # The wall-clock hour at the change, read on either side of it: the gap's or the repeated hour.
    zone_name, change = zone_and_change
    tz = zone(zone_name)
    hour = (change - timedelta(seconds=1) if old_side else change).astimezone(tz).hour
    cron = parse_quartz(f"{second} {minute} {hour} ? * *")
    whole = next_slots(cron, zone_name, change - timedelta(days=2), count=5)
    days = [fired_wall_date(s, zone_name, [hour], minute, second, lambda d: True) for s in whole]
    assert None not in days and all((b - a).days == 1 for a, b in zip(days, days[1:]))
    for slot in whole[:3]:  # a watermark anywhere up to two hours before a slot still finds that slot next
        resume = slot - timedelta(seconds=back)
        assert next_slots(cron, zone_name, resume, count=2) == [s for s in whole if s > resume][:2]
