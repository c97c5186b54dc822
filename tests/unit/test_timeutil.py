"""Zone-aware time: IANA zones, ISO dates and UTC instants; naive datetimes refused."""
from datetime import date, datetime, timedelta, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from chalicelib.domain.timeutil import (UTC, format_instant, local_date, parse_date, parse_instant, wall_now,
                                        zone_info)


@pytest.mark.parametrize("name", ["UTC", "Asia/Shanghai", "America/Los_Angeles", "Europe/Berlin"])
def test_known_zones(name):
    assert str(zone_info(name)) == name


@pytest.mark.parametrize("name", ["Mars/Olympus", "", " UTC", "UTC ", "asia/shanghai_x", "../etc/passwd",
                                  None, 5])
def test_unknown_zone_is_a_value_error(name):
    with pytest.raises(ValueError) as caught:
        zone_info(name)
    assert "zone" in str(caught.value)


@pytest.mark.parametrize("text, expected", [
    ("2025-06-30T02:42:32Z", datetime(2025, 6, 30, 2, 42, 32, tzinfo=UTC)),
    ("2025-06-30T02:42:32.016+00:00", datetime(2025, 6, 30, 2, 42, 32, 16000, tzinfo=UTC)),
    ("2025-06-30T10:42:32+08:00", datetime(2025, 6, 30, 2, 42, 32, tzinfo=UTC)),
    ("2025-06-29T22:42:32-04:00", datetime(2025, 6, 30, 2, 42, 32, tzinfo=UTC)),
    ("2025-06-30t02:42:32z", datetime(2025, 6, 30, 2, 42, 32, tzinfo=UTC)),
])
def test_parse_instant_returns_utc(text, expected):
    value = parse_instant(text)
    assert value == expected
    assert value.utcoffset() == timedelta(0)


@pytest.mark.parametrize("text", ["2025-06-30T02:42:32", "2025-06-30", "yesterday", "", "2025-13-01T00:00:00Z"])
def test_parse_instant_refuses_naive_and_malformed(text):
    with pytest.raises(ValueError):
        parse_instant(text)


def test_format_instant_is_seed_style_utc():
    value = datetime(2025, 6, 30, 10, 42, 32, 16999, tzinfo=timezone(timedelta(hours=8)))
    assert format_instant(value) == "2025-06-30T02:42:32.016+00:00"
    assert format_instant(datetime(2024, 1, 1, tzinfo=UTC)) == "2024-01-01T00:00:00.000+00:00"


@pytest.mark.parametrize("text", ["2025-06-30", "2024-02-29", "0001-01-01", "9999-12-31"])
def test_parse_date(text):
    assert parse_date(text).isoformat() == text


@pytest.mark.parametrize("text", ["2025-6-30", "2025-02-30", "20250630", "2025-06-30T00:00:00Z", "", None, 20250630,
                                  "2023-02-29"])
def test_parse_date_refuses_anything_but_yyyy_mm_dd(text):
    with pytest.raises(ValueError):
        parse_date(text)


@pytest.mark.parametrize("instant, timezone, expected", [
    ("2025-06-29T20:00:00Z", "Asia/Shanghai", date(2025, 6, 30)),
    ("2025-06-29T20:00:00Z", "UTC", date(2025, 6, 29)),
    ("2025-06-30T03:00:00Z", "America/Los_Angeles", date(2025, 6, 29)),  # PDT, UTC-7
    ("2025-01-01T07:59:59Z", "America/Los_Angeles", date(2024, 12, 31)),  # PST, UTC-8
    ("2025-01-01T08:00:00Z", "America/Los_Angeles", date(2025, 1, 1)),
    ("2025-03-30T23:00:00Z", "Europe/Berlin", date(2025, 3, 31)),  # CEST from 30 March
    ("2024-12-31T10:00:00Z", "Pacific/Kiritimati", date(2025, 1, 1)),  # UTC+14
])
def test_local_date_across_zones(instant, timezone, expected):
    assert local_date(parse_instant(instant), timezone) == expected


def test_local_date_unknown_zone():
    with pytest.raises(ValueError):
        local_date(wall_now(), "Nowhere/Land")


def test_wall_now_is_aware_utc():
    now = wall_now()
    assert now.tzinfo is not None and now.utcoffset() == timedelta(0)


instants = st.datetimes(min_value=datetime(1971, 1, 1), max_value=datetime(2200, 1, 1),
                        timezones=st.just(UTC)).map(lambda d: d.replace(microsecond=d.microsecond // 1000 * 1000))


@settings(max_examples=200, deadline=None)
@given(instants)
def test_format_then_parse_round_trips_at_millisecond_precision(instant):
    text = format_instant(instant)
    assert parse_instant(text) == instant
    assert format_instant(parse_instant(text)) == text


@settings(max_examples=200, deadline=None)
@given(instant=instants, offset_minutes=st.integers(-14 * 60, 14 * 60))
def test_parse_instant_normalises_any_offset_to_utc(instant, offset_minutes):
    shifted = instant.astimezone(timezone(timedelta(minutes=offset_minutes)))
    parsed = parse_instant(shifted.isoformat())
    assert parsed == instant and parsed.utcoffset() == timedelta(0)


@settings(max_examples=200, deadline=None)
@given(st.dates(min_value=date(1, 1, 1), max_value=date(9999, 12, 31)))
def test_parse_date_round_trips(day):
    assert parse_date(day.isoformat()) == day


@settings(max_examples=100, deadline=None)
@given(instant=instants, timezone=st.sampled_from(["Asia/Shanghai", "America/Los_Angeles", "UTC",
                                                      "Pacific/Kiritimati", "Pacific/Pago_Pago"]))
def test_local_date_is_within_a_day_of_the_utc_date(instant, timezone):
    assert abs((local_date(instant, timezone) - instant.date()).days) <= 1
