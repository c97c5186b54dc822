"""Zone-aware time: IANA zones, ISO dates and instants. Naive datetimes are refused."""
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache, partial
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones


@lru_cache(maxsize=1)
def timezone_names() -> frozenset[str]:
    """Every IANA zone name the pinned tzdata holds: exactly the names `zone_info` accepts (and the API documents)."""
    return frozenset(available_timezones())


@lru_cache(maxsize=512)
def zone_info(name: str) -> ZoneInfo:
    """The IANA zone; ValueError for an unknown name (so validators can report it)."""
    if not isinstance(name, str) or name not in timezone_names():
        raise ValueError(f"unknown IANA time zone {name!r}")
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"unknown IANA time zone {name!r}") from None


def parse_date(text: str) -> date:
    if not isinstance(text, str) or len(text) != 10:
        raise ValueError("must be a date YYYY-MM-DD")
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise ValueError("must be a date YYYY-MM-DD") from None


def parse_instant(text: str) -> datetime:
    """ISO 8601 with an offset (Z or +hh:mm); returned in UTC."""
    try:
        value = datetime.fromisoformat(str(text).replace("z", "Z"))
    except ValueError:
        raise ValueError("must be an ISO 8601 instant such as 2025-06-30T02:42:32Z") from None
    if value.tzinfo is None:
        raise ValueError("must carry a UTC offset (e.g. Z)")
    return value.astimezone(UTC)


def format_instant(value: datetime) -> str:
    """Seed style: 2025-06-30T02:42:32.016+00:00."""
    value = value.astimezone(UTC)
    return value.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}+00:00"


def local_date(instant: datetime, timezone: str) -> date:
    return instant.astimezone(zone_info(timezone)).date()


def wall_now() -> datetime:
    """Now, a zone-aware UTC instant. It reads `wall_clock` at each call, so a test that replaces `wall_clock` alone
    (tests/conftest.py `wall`) is read by every module, however the module imported wall_now."""
    return wall_clock()


wall_clock: Callable[[], datetime] = partial(datetime.now, UTC)  # the one place the wall clock is read


def days(n: int) -> timedelta:
    return timedelta(days=n)


def duration_text(seconds: int) -> str:
    """3600 -> '1 h', 90061 -> '1 d 1 h 1 min 1 s', 0 -> '0 s': for messages."""
    parts = []
    for unit, size in (("d", 86_400), ("h", 3600), ("min", 60), ("s", 1)):
        count, seconds = divmod(seconds, size)
        if count:
            parts.append(f"{count} {unit}")
    return " ".join(parts) or "0 s"
