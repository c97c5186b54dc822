"""Quartz cron on croniter: translation, impossible expressions, the DST rules (fire once, skip no day), and the
shortest interval between slots."""
import calendar
import time as clock
from datetime import date, datetime, time, timedelta, timezone

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from chalicelib.domain import cron as cron_module
from chalicelib.domain.cron import QuartzCron, next_slots, parse_quartz, shortest_interval
from chalicelib.domain.timeutil import zone_info

UTC = timezone.utc
NEW_YORK, LONDON = "America/New_York", "Europe/London"


def at(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def slots(expression: str, timezone: str, after: str, count: int | None = None, until: str | None = None):
    return next_slots(parse_quartz(expression), timezone, at(after), count=count,
                      until=at(until) if until else None)


def local(instants, timezone: str) -> list[datetime]:
    return [i.astimezone(zone_info(timezone)) for i in instants]


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


def offset_changes(timezone: str) -> list[datetime]:
    """The instants in 2024-2030 at which the zone's UTC offset changes (found by a daily scan, then bisection)."""
    tz, changes = zone_info(timezone), []
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
    timezone = draw(st.sampled_from(ZONES))
    changes = CHANGES[timezone]
    where = draw(st.sampled_from(["anywhere", "around a change", "just after a change"] if changes else ["anywhere"]))
    if where == "anywhere":
        return timezone, draw(st.datetimes(min_value=datetime(2024, 1, 1), max_value=datetime(2030, 12, 31),
                                            timezones=st.just(UTC)))
    change = draw(st.sampled_from(changes))
    seconds = draw(st.integers(-30 * 3600, 6 * 3600) if where == "around a change" else st.integers(0, 3600))
    return timezone, change + timedelta(seconds=seconds)


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


def fired_wall_date(slot: datetime, timezone: str, hours, minute: int, second: int, day_matches):
    """The local date whose matching wall time maps to `slot`: the same wall time, or (inside a spring-forward
    gap) the wall time read with the pre-gap offset (fold=0). None if no matching wall time explains it."""
    tz = zone_info(timezone)
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
    timezone, after = zone_and_after
    expression, hours, minute, second, day_matches, kind = schedule
    cron = parse_quartz(expression)
    result = next_slots(cron, timezone, after, count=60, until=after + timedelta(days=100))
    assert result, "every generated schedule fires within its horizon"
    assert all(s.tzinfo is UTC for s in result)
    assert result[0] > after
    assert all(a < b for a, b in zip(result, result[1:]))
    walls = [s.astimezone(zone_info(timezone)).replace(tzinfo=None) for s in result]
    assert len(set(walls)) == len(walls)
    fired_days = [fired_wall_date(s, timezone, hours, minute, second, day_matches) for s in result]
    assert None not in fired_days, list(zip(result, fired_days))
    if kind == "every day" and len(hours) == 1:  # a daily schedule: exactly one slot per local date, no gaps
        assert all((b - a).days == 1 for a, b in zip(fired_days, fired_days[1:]))


@settings(max_examples=100, deadline=None)
@given(schedule=schedules(), zone_and_after=zones_and_afters(), split=st.integers(1, 10))
def test_resuming_from_any_slot_continues_the_same_sequence(schedule, zone_and_after, split):
    timezone, after = zone_and_after
    # Billing resumes from a watermark (the last slot run): no slot may be lost or repeated on resume.
    cron = parse_quartz(schedule[0])
    whole = next_slots(cron, timezone, after, count=12)
    resumed = next_slots(cron, timezone, whole[split - 1], count=12 - split)
    assert whole[split:] == resumed


DST_CHANGES = [(name, change) for name, changes in CHANGES.items() for change in changes]


@settings(max_examples=100, deadline=None)
@given(zone_and_change=st.sampled_from(DST_CHANGES), old_side=st.booleans(), minute=st.integers(0, 59),
       second=st.integers(0, 59), back=st.integers(0, 7200))
def test_daily_slot_on_a_dst_day_fires_once_and_is_found_from_any_earlier_instant(
        zone_and_change, old_side, minute, second, back):
    # The wall-clock hour at the change, read on either side of it: the gap's or the repeated hour.
    timezone, change = zone_and_change
    tz = zone_info(timezone)
    hour = (change - timedelta(seconds=1) if old_side else change).astimezone(tz).hour
    cron = parse_quartz(f"{second} {minute} {hour} ? * *")
    whole = next_slots(cron, timezone, change - timedelta(days=2), count=5)
    days = [fired_wall_date(s, timezone, [hour], minute, second, lambda d: True) for s in whole]
    assert None not in days and all((b - a).days == 1 for a, b in zip(days, days[1:]))
    for slot in whole[:3]:  # a watermark anywhere up to two hours before a slot still finds that slot next
        resume = slot - timedelta(seconds=back)
        assert next_slots(cron, timezone, resume, count=2) == [s for s in whole if s > resume][:2]


# ---------------------------------------------------------------- the shortest interval between slots

DAY = 86_400


@pytest.mark.parametrize("expression, seconds, days_later", [
    ("* * * * * ?", 1, 0),  # the reproduction: every second
    ("0 * * * * ?", 60, 0),
    ("0 0 * * * ?", 3600, 0),
    ("0 0/20 9-17 ? * MON-FRI", 1200, 0),
    ("10,20 5 3,4 ? * *", 10, 0),
    ("50 59 3,4 ? * *", 3600, 0),  # 03:59:50 then 04:59:50
    ("0,50 59 3,4 ? * *", 50, 0),
    ("0 58,59 3 ? * *", 60, 0),
    ("0 0 0,12 ? * *", 12 * 3600, 0),  # a tie: the pair within one day is reported
    ("0 0 3 ? * *", DAY, 1),
    ("0 0 0,23 ? * *", 3600, 1),  # 23:00, then 00:00 the next day
    ("0 0 0,23 ? * MON,WED", 23 * 3600, 0),  # never two days in a row: 00:00 to 23:00 is the closest
    ("0 0 9 ? * SAT,SUN", DAY, 1),  # Saturday then Sunday
    ("0 0 9 ? * MON", 2 * DAY, 2),  # a lower bound: never on consecutive days
    ("0 0 9 1 * ?", 2 * DAY, 2),
    ("0 0 9 1,31 * ?", DAY, 1),  # 31 January, 1 February
    ("0 0 9 1,31 1,3 ?", 2 * DAY, 2),  # 31 January and 1 March, 31 March and 1 January: never consecutive
    ("0 0 9 1,31 1,12 ? 2025-2026", DAY, 1),  # 31 December 2025, 1 January 2026
    ("0 0 9 1,31 1,12 ? 2025,2027", 2 * DAY, 2),
    ("0 0 9 1,28 2,3 ? 2025", DAY, 1),  # 28 February, 1 March
    ("0 0 9 1,28 2,3 ? 2024", 2 * DAY, 2),  # a leap year: 29 February lies between
    ("0 0 9 L * ?", DAY, 1),  # L, W and # are answered conservatively: consecutive days assumed
])
def test_shortest_interval(expression, seconds, days_later):
    interval = shortest_interval(parse_quartz(expression))
    assert (interval.seconds, interval.days_later) == (seconds, days_later)
    assert interval.at_least == (days_later == 2)


@pytest.mark.parametrize("expression, text", [
    ("* * * * * ?", "every 1 s (at 00:00:00 and 00:00:01)"),
    ("0 0/20 9-17 ? * *", "every 20 min (at 09:00:00 and 09:20:00)"),
    ("0 0 0,23 ? * *", "every 1 h (at 23:00:00 and 00:00:00 the next day)"),
    ("0 30 1 ? * *", "every 1 d (at 01:30:00 and 01:30:00 the next day)"),
    ("0 0 9 ? * MON", "once a day at 09:00:00, never on two consecutive days, so at least 2 d apart"),
])
def test_shortest_interval_described_for_messages(expression, text):
    assert shortest_interval(parse_quartz(expression)).describe() == text


def test_shortest_interval_lists_no_slot(monkeypatch):
    """Bounded work: the answer comes from croniter's expanded sets (at most 60 values each), never from iterating
    slots, so the densest cron costs what the sparsest does."""
    crons = [parse_quartz(e) for e in ("* * * * * ?", "0 0 9 ? * MON", "0 0 0,23 ? * MON,WED", "0 0 9 L-3 * ?")]

    def no_iteration(*args, **kwargs):
        raise AssertionError("shortest_interval iterated slots")
    monkeypatch.setattr(cron_module.croniter, "get_next", no_iteration)
    monkeypatch.setattr(cron_module, "_wall_times", no_iteration)
    assert [shortest_interval(c).seconds for c in crons] == [1, 2 * DAY, 23 * 3600, DAY]


def test_shortest_interval_is_on_wall_clock_times():
    """Lord Howe springs forward by 30 min (02:00 -> 02:30): an hourly cron's slots come 30 min apart once, at
    the change; the check is on wall-clock times (docs/limits.md), which are 1 h apart."""
    assert shortest_interval(parse_quartz("0 0 * * * ?")).seconds == 3600
    found = next_slots(parse_quartz("0 0 * * * ?"), "Australia/Lord_Howe", at("2025-10-04T12:00:00Z"),
                       until=at("2025-10-05T00:00:00Z"))
    assert min(b - a for a, b in zip(found, found[1:])) == timedelta(minutes=30)


def brute_force_gap(expression: str, after: datetime, until: datetime) -> int:
    """The smallest time between consecutive slots of a UTC schedule in [after, until], by listing them."""
    found = next_slots(parse_quartz(expression), "UTC", after, until=until)
    return min(int((b - a).total_seconds()) for a, b in zip(found, found[1:]))


def time_field(field_low: int, field_high: int, steps: tuple[int, int]):
    """A small Quartz time field: one value, a short list, a short range, or a wide step."""
    value = st.integers(field_low, field_high)
    return st.one_of(
        value.map(str),
        st.lists(value, min_size=2, max_size=3, unique=True).map(lambda vs: ",".join(map(str, vs))),
        st.tuples(value, st.integers(1, 3)).map(lambda p: f"{p[0]}-{min(p[0] + p[1], field_high)}"),
        st.tuples(st.integers(field_low, field_low + 9), st.integers(*steps)).map(lambda p: f"{p[0]}/{p[1]}"))


@settings(max_examples=60, deadline=None)
@given(second=time_field(0, 59, (15, 30)), minute=time_field(0, 59, (15, 30)),
       hour=st.one_of(time_field(0, 23, (5, 12)), st.just("*")))
def test_shortest_interval_within_and_across_days_matches_brute_force(second, minute, hour):
    """Every day fires: the slots of two whole days hold every kind of neighbour (same minute, next minute, next
    hour, next day)."""
    expression = f"{second} {minute} {hour} ? * *"
    interval = shortest_interval(parse_quartz(expression))
    assert interval.seconds == brute_force_gap(expression, at("2024-12-31T23:59:59Z"), at("2025-01-02T23:59:59Z"))


DAY_OF_MONTH_FIELDS = ["*", "1", "1,2", "15", "28-31", "1/2", "31", "29", "1,28", "30,1", "1,29,31", "L", "15W",
                       "L-2", "LW"]
DAY_OF_WEEK_FIELDS = ["MON", "MON,TUE", "SAT,SUN", "MON,WED,FRI", "2-6", "2#1", "6L", "1,3,5,7", "1,7", "3#2,4#2"]
MONTH_FIELDS = ["*", "2", "1,3", "12", "2-3", "1,12", "11-12", "1,2"]
YEAR_FIELDS = ["2024", "2025", "2024-2025", "2023,2025", "2027-2028", "2028"]


@st.composite
def day_schedules(draw):
    times = draw(st.sampled_from(["0 0 12", "0 0 0,23", "0 30 0,22"]))
    if draw(st.booleans()):
        days = f"{draw(st.sampled_from(DAY_OF_MONTH_FIELDS))} {draw(st.sampled_from(MONTH_FIELDS))} ?"
    else:
        days = f"? {draw(st.sampled_from(MONTH_FIELDS))} {draw(st.sampled_from(DAY_OF_WEEK_FIELDS))}"
    return f"{times} {days} {draw(st.sampled_from(YEAR_FIELDS))}"


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
@given(expression=day_schedules())
def test_shortest_interval_across_days_matches_brute_force(expression):
    """Year-bounded schedules, so listing every slot is the truth. Plain day fields are exact (below two days; at
    two days or more `seconds` is a lower bound); with L, W or # consecutive days are assumed: never more."""
    try:
        cron = parse_quartz(expression)
    except ValueError:  # e.g. 31 February: never fires
        return
    found = next_slots(cron, "UTC", at("2022-12-31T00:00:00Z"), until=at("2030-01-01T00:00:00Z"))
    if len(found) < 2:
        return
    truth = min(int((b - a).total_seconds()) for a, b in zip(found, found[1:]))
    interval = shortest_interval(cron)
    special = any(mark in expression.split(" ")[3] + expression.split(" ")[5] for mark in "LW#")
    if special or interval.at_least:
        assert interval.seconds <= truth
    else:
        assert interval.seconds == truth
    if not special and truth < 2 * DAY - 23 * 3600:  # consecutive days do fire: found, whatever the fields
        assert interval.seconds == truth
