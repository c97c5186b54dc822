"""Quartz cron expressions, evaluated on croniter in an IANA zone, safe across DST changes.

Quartz: `sec min hour day-of-month month day-of-week [year]`, day-of-week 1-7 = SUN-SAT, `?` in exactly one
of the two day fields. croniter does all the calendar matching; this module only translates and guards.

croniter 7 handles natively (with second_at_beginning=True): seconds first, the optional year field
(1970-2099), `?` (read as `*`), lists, ranges (also wrapping ones like 22-2), steps (`*/5`, `5/15`),
day-of-month `L` and `nW`, day-of-week `n#k` and `Ln` (its spelling of Quartz's `nL`).
Translated here: day-of-week numbers 1-7 -> 0-6 (`6#3` -> `5#3`, `6L` -> `l5`, lone `L` = SAT),
month/day names -> numbers, `LW` -> `31w` (croniter clamps a W day to the month's last day and never
leaves the month, which is exactly "last weekday"), `a-a` -> `a` (croniter reads an equal range as the
whole cycle). Added: `L-n` (candidate days + a filter), Quartz range checks with clear messages, a bounded
search that refuses expressions that can never fire, the shortest interval between slots (computed from
croniter's expanded field sets, never by listing slots), and the DST rules of `next_slots`.
"""
import calendar
import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from croniter import CroniterBadDateError, croniter

from .timeutil import UTC, duration_text, zone_info

MAX_LENGTH = 256  # longer input is refused before any work, so parsing stays fast
MAX_YEARS_BETWEEN_FIRES = 130  # the whole Quartz year range (1970-2099): a year list may leave wide gaps
_ONE_SECOND = timedelta(seconds=1)
DAY_SECONDS = 86_400


@dataclass(frozen=True)
class _Field:
    name: str
    low: int
    high: int
    names: tuple[str, ...] = ()  # names[i] stands for the value low + i
    shift: int = 0  # Quartz value - shift = croniter value


_MONTHS = ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC")
_DAYS = ("SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT")
SECOND, MINUTE, HOUR = _Field("second", 0, 59), _Field("minute", 0, 59), _Field("hour", 0, 23)
DAY_OF_MONTH, MONTH = _Field("day-of-month", 1, 31), _Field("month", 1, 12, _MONTHS)
DAY_OF_WEEK = _Field("day-of-week", 1, 7, _DAYS, shift=1)
YEAR = _Field("year", 1970, 2099)
FIELDS = (SECOND, MINUTE, HOUR, DAY_OF_MONTH, MONTH, DAY_OF_WEEK, YEAR)

_VALUE = r"(?:\d+|[A-Z]+)"
_ITEM = re.compile(rf"(?:(?P<star>\*)|(?P<lo>{_VALUE})(?:-(?P<hi>{_VALUE}))?)(?:/(?P<step>\d+))?", re.ASCII)
_DAY_BEFORE_LAST = re.compile(r"L-(\d+)", re.ASCII)
_NEAREST_WEEKDAY = re.compile(r"(\d+)W", re.ASCII)
_LAST_WEEKDAY_OF_MONTH = re.compile(rf"({_VALUE})L", re.ASCII)
_NTH_WEEKDAY = re.compile(rf"({_VALUE})#(\d+)", re.ASCII)


@dataclass(frozen=True)
class QuartzCron:
    expression: str  # as given, whitespace normalized
    croniter_expression: str  # the same schedule in croniter's syntax (seconds first, 7 fields)
    days_before_last: int | None = None  # `L-n`: croniter proposes candidate days, we keep last day - n


# ---------------------------------------------------------------- parsing


def parse_quartz(expression: str) -> QuartzCron:
    """The parsed expression; ValueError naming the problem for bad syntax or a schedule that never fires."""
    if not isinstance(expression, str):
        raise ValueError("cron expression must be a string")
    normalized = " ".join(expression.split())
    try:
        cron = _translate(normalized)
        _require_can_fire(cron)  # also runs croniter's own validation (croniter.expand)
    except ValueError as exc:  # our own checks and croniter's (CroniterError is a ValueError)
        raise ValueError(f"invalid Quartz cron {normalized!r}: {exc}") from None
    return cron


def _translate(normalized: str) -> QuartzCron:
    if not normalized:
        raise ValueError("the expression is empty")
    if len(normalized) > MAX_LENGTH:
        raise ValueError(f"longer than {MAX_LENGTH} characters")
    parts = normalized.upper().split(" ")
    if len(parts) not in (6, 7):
        raise ValueError(f"has {len(parts)} field(s); Quartz needs 6 or 7: "
                         "second minute hour day-of-month month day-of-week [year]")
    parts += ["*"] * (7 - len(parts))
    for field, text in zip(FIELDS, parts):
        if "?" in text and field not in (DAY_OF_MONTH, DAY_OF_WEEK):
            raise ValueError(f"'?' is only allowed in day-of-month or day-of-week, not in {field.name}")
    dom, dow = _day_fields(parts[3], parts[5])
    dom_text, days_before_last = _translate_day_of_month(dom)
    translated = [_translate_list(parts[0], SECOND), _translate_list(parts[1], MINUTE),
                  _translate_list(parts[2], HOUR), dom_text, _translate_list(parts[4], MONTH),
                  _translate_day_of_week(dow), _translate_list(parts[6], YEAR)]
    return QuartzCron(normalized, " ".join(translated), days_before_last)


def _day_fields(dom: str, dow: str) -> tuple[str, str]:
    """Quartz wants '?' in exactly one of the two day fields. We are lenient with '*' where '?' belongs
    (clients write "0 0 3 * * *" for the seed's "0 0 3 ? * *"): '*' in both, or '*' beside a real value,
    reads as '?'. Real values in both, or '?' in both, stay errors."""
    if dom not in ("?", "*") and dow not in ("?", "*"):
        raise ValueError(f"day-of-month {dom!r} and day-of-week {dow!r} are both set; put '?' in one of them")
    if dom == "?" and dow == "?":
        raise ValueError("'?' in both day-of-month and day-of-week; set one of them ('*' for every day)")
    if dow not in ("?", "*"):
        return "?", dow
    return dom, "?"


def _translate_day_of_month(text: str) -> tuple[str, int | None]:
    if text == "?":
        return "*", None
    if text == "L":
        return "l", None
    if text == "LW":
        return "31w", None  # croniter clamps 31 to the month's last day; Sat -> Fri, Sun -> Fri (stays in month)
    if match := _NEAREST_WEEKDAY.fullmatch(text):
        return f"{_value(match[1], DAY_OF_MONTH)}w", None
    if match := _DAY_BEFORE_LAST.fullmatch(text):
        return _days_before_last(int(match[1]))
    return _translate_list(text, DAY_OF_MONTH), None


def _days_before_last(n: int) -> tuple[str, int | None]:
    """`L-n`: the last day minus n lies within 28-n .. 31-n; croniter proposes those, `_wall_times` filters."""
    if not 0 <= n <= 30:
        raise ValueError(f"day-of-month 'L-{n}': the offset must be 0-30")
    if n == 0:
        return "l", None
    low, high = max(1, 28 - n), 31 - n
    return (str(high) if low == high else f"{low}-{high}"), n


def _translate_day_of_week(text: str) -> str:
    if text == "?":
        return "*"
    if text == "L":
        return "6"  # a lone L in day-of-week is Quartz's 7 = SAT
    if match := _LAST_WEEKDAY_OF_MONTH.fullmatch(text):
        return f"l{_value(match[1], DAY_OF_WEEK) - 1}"
    if match := _NTH_WEEKDAY.fullmatch(text):
        nth = int(match[2])
        if not 1 <= nth <= 5:
            raise ValueError(f"day-of-week {text!r}: a month has at most 5 of any weekday (use #1-#5)")
        return f"{_value(match[1], DAY_OF_WEEK) - 1}#{nth}"
    return _translate_list(text, DAY_OF_WEEK)


def _translate_list(text: str, field: _Field) -> str:
    return ",".join(_translate_item(item, field) for item in text.split(","))


def _translate_item(item: str, field: _Field) -> str:
    match = _ITEM.fullmatch(item)
    if not match:
        raise ValueError(f"{field.name} {item!r} is not a value, range, list or step")
    step = match["step"]
    if step is not None and not 1 <= int(step) <= field.high - field.low + 1:
        raise ValueError(f"{field.name} {item!r}: step {step} is outside 1-{field.high - field.low + 1}")
    suffix = f"/{step}" if step else ""
    if match["star"]:
        return "*" + suffix  # `*` spans the whole field in both dialects, whatever the numbering
    low = _value(match["lo"], field)
    high = _value(match["hi"], field) if match["hi"] else None
    if field is YEAR and high is not None and high < low:
        raise ValueError(f"year range {item!r} runs backwards")
    if high is None or high == low:  # croniter reads `a-a` as the whole cycle; Quartz means just `a`
        return f"{low - field.shift}" + (suffix if high is None else "")
    return f"{low - field.shift}-{high - field.shift}{suffix}"


def _value(token: str, field: _Field) -> int:
    if token in field.names:
        return field.low + field.names.index(token)
    if not token.isdigit():
        raise ValueError(f"{field.name} has an unknown value {token!r}")
    value = int(token)
    if not field.low <= value <= field.high:
        names = f" ({field.names[0]}-{field.names[-1]})" if field.names else ""
        raise ValueError(f"{field.name} value {value} is outside {field.low}-{field.high}{names}")
    return value


def _require_can_fire(cron: QuartzCron) -> None:
    """Bounded search instead of croniter's open-ended one: which days match depends only on a year's kind
    (leap or not, weekday of 1 January), so one year of each of the (at most 14) kinds the expression
    allows decides whether it can ever fire. Time of day always matches, so midnight is probed."""
    years = croniter.expand(cron.croniter_expression, second_at_beginning=True)[0][-1]
    representatives: dict[tuple[bool, int], int] = {}
    for year in range(2000, 2028) if years == ["*"] else years:  # 28 consecutive years hold every kind
        representatives.setdefault((calendar.isleap(year), date(year, 1, 1).weekday()), year)
    day_fields = cron.croniter_expression.split(" ")[3:6]
    year_list = ",".join(str(year) for year in sorted(representatives.values()))
    probe = QuartzCron(cron.expression, " ".join(["0 0 0", *day_fields, year_list]), cron.days_before_last)
    start = datetime(min(representatives.values()), 1, 1) - _ONE_SECOND
    if next(_wall_times(probe, start), None) is None:
        raise ValueError(_never_fires_message(cron.expression))


def _never_fires_message(expression: str) -> str:
    parts = expression.split(" ") + ["*"]
    return (f"never fires: no date has day-of-month {parts[3]!r}, month {parts[4]!r}, "
            f"day-of-week {parts[5]!r} and year {parts[6]!r}")


# ---------------------------------------------------------------- the shortest interval


@dataclass(frozen=True)
class SlotInterval:
    """Two consecutive slots as close as a cron's slots ever come, by their wall-clock times of day."""
    earlier: int  # the first slot's time of day, in seconds after midnight
    later: int  # the second slot's
    days_later: int = 0  # 0: the same day; 1: the next day; 2: two days or more later (see shortest_interval)

    @property
    def seconds(self) -> int:
        return self.days_later * DAY_SECONDS + self.later - self.earlier

    @property
    def at_least(self) -> bool:
        """True when `seconds` is a lower bound: once a day, never on two consecutive days."""
        return self.days_later >= 2

    def describe(self) -> str:
        """'every 1 h (at 23:00:00 and 00:00:00 the next day)', for messages."""
        if self.at_least:
            return (f"once a day at {_clock(self.earlier)}, never on two consecutive days, so at least "
                    f"{duration_text(self.seconds)} apart")
        day = " the next day" if self.days_later else ""
        return f"every {duration_text(self.seconds)} (at {_clock(self.earlier)} and {_clock(self.later)}{day})"


def _clock(time_of_day: int) -> str:
    hours, rest = divmod(time_of_day, 3600)
    return f"{hours:02d}:{rest // 60:02d}:{rest % 60:02d}"


def shortest_interval(cron: QuartzCron) -> SlotInterval:
    """The shortest time between two consecutive slots, on wall-clock times; bounded work (sets of at most 60
    values), no slot is listed.

    Every day that fires fires at the same times of day: the cartesian product of the second, minute and hour
    sets. Sorted, consecutive times differ in their seconds (the closest two seconds), or cross into the next
    minute (the closest two minutes, less the span of the seconds), or into the next hour (likewise). Across
    midnight the last time is followed by the first one, a day later less their span, when two consecutive
    days can both fire (`_consecutive_days_possible`); otherwise the days are two or more apart, which is
    reported as two days, a lower bound (exact answers below two days are all a minimum needs in practice).

    DST: the interval is between wall-clock times in the schedule's zone. A change of the offset shortens the
    one interval across it by at most the change's length (1 h in most zones, 30 min on Lord Howe)."""
    fields, nth = croniter.expand(cron.croniter_expression, second_at_beginning=True)  # croniter's field order
    minutes, hours, _, _, _, seconds, _ = fields
    s, m, h = _values(seconds, SECOND), _values(minutes, MINUTE), _values(hours, HOUR)
    candidates = []
    if pair := _closest(s):
        candidates.append(SlotInterval(_time_of_day(h[0], m[0], pair[0]), _time_of_day(h[0], m[0], pair[1])))
    if pair := _closest(m):
        candidates.append(SlotInterval(_time_of_day(h[0], pair[0], s[-1]), _time_of_day(h[0], pair[1], s[0])))
    if pair := _closest(h):
        candidates.append(SlotInterval(_time_of_day(pair[0], m[-1], s[-1]), _time_of_day(pair[1], m[0], s[0])))
    days_later = 1 if _consecutive_days_possible(cron, fields, nth) else 2
    candidates.append(SlotInterval(_time_of_day(h[-1], m[-1], s[-1]), _time_of_day(h[0], m[0], s[0]), days_later))
    return min(candidates, key=lambda candidate: candidate.seconds)  # ties: the pair within a day, listed first


def _values(expanded: list, field: _Field) -> list[int]:
    """croniter's expanded set of a time field, `*` spelled out, ascending."""
    return list(range(field.low, field.high + 1)) if expanded == ["*"] else sorted(expanded)


def _closest(values: list[int]) -> tuple[int, int] | None:
    """The two neighbours of an ascending list that are closest; None for fewer than two values."""
    return min(zip(values, values[1:]), key=lambda pair: pair[1] - pair[0], default=None)


def _time_of_day(hour: int, minute: int, second: int) -> int:
    return hour * 3600 + minute * 60 + second


def _consecutive_days_possible(cron: QuartzCron, fields: list, nth: dict) -> bool:
    """Whether two consecutive days can both fire (`fields`, `nth`: croniter.expand's answer). Exact for plain
    day fields (values, ranges, lists, steps); with L, W, # or L-n it answers True, which at worst refuses a cron
    whose slots lie further apart."""
    _, _, dom, months, dow, _, years = fields
    dom_text = cron.croniter_expression.split(" ")[3]
    if nth or cron.days_before_last is not None or "l" in dom_text or "w" in dom_text:
        return True
    if dow != ["*"]:  # every month holds every weekday followed by the next
        return any((day + 1) % 7 in dow for day in dow)
    if dom == ["*"]:
        return True
    months = list(range(1, 13)) if months == ["*"] else months
    lengths = _month_lengths(months, years)
    if any(day + 1 in dom and day + 1 <= max(max(n) for n in lengths.values()) for day in dom):
        return True  # two days of one month
    return 1 in dom and any(length in dom and month % 12 + 1 in months and (month < 12 or _consecutive(years))
                            for month in months for length in lengths[month])  # a month's last day, the next's 1st


def _month_lengths(months: list[int], years: list) -> dict[int, set[int]]:
    """The lengths each month has in the years the cron allows (February: 28, 29 or both)."""
    leap = {True, False} if years == ["*"] else {calendar.isleap(year) for year in years}
    return {month: {calendar.monthrange(2024 if is_leap else 2025, month)[1] for is_leap in leap}
            for month in months}


def _consecutive(years: list) -> bool:
    return years == ["*"] or any(year + 1 in years for year in years)


# ---------------------------------------------------------------- evaluation


def next_slots(cron: QuartzCron, timezone: str, after: datetime, count: int | None = None,
               until: datetime | None = None) -> list[datetime]:
    """Fire times strictly after `after`, ascending, as aware UTC datetimes, for wall-clock times in
    `timezone`; at most `count` of them and none later than `until` (inclusive). A year-bounded
    expression simply runs out.

    DST (see `_instant`): a repeated wall time fires once, at its first occurrence; a missing one fires
    gap-length later. Slots never repeat an instant nor go backwards: a wall time whose instant is not
    after the previous slot is dropped. That happens only just after a spring-forward gap, where the
    shifted times already cover those instants (02:30 shifted to 03:30 EDT serves a 03:30 too); with a
    sub-hour gap (Lord Howe, 30 min) and several fire times inside the gap's hour, a real time
    that falls before an already-shifted one is dropped rather than sent out of order."""
    tz = zone_info(timezone)
    _require_aware(after, "after")
    if until is not None:
        _require_aware(until, "until")
    if count is None and until is None:
        raise ValueError("next_slots needs count or until (or both)")
    if count is not None and (isinstance(count, bool) or not isinstance(count, int) or count < 0):
        raise ValueError("count must be a non-negative integer")
    slots: list[datetime] = []
    latest = after
    for wall in _wall_times(cron, _search_start(after, tz)) if count != 0 else ():
        instant = _instant(wall, tz)
        if until is not None and instant > until:
            break
        if instant <= latest:  # at or before `after` (the search starts early), or see the docstring
            continue
        slots.append(instant)
        latest = instant
        if len(slots) == count:
            break
    return slots


def _instant(wall: datetime, tz) -> datetime:
    """fold=0 (PEP 495) gives both DST rules: a wall time that occurs twice (fall-back) is its FIRST
    occurrence, and the repeated hour never fires again; a wall time inside a spring-forward gap is read
    with the offset in force before the gap, i.e. it fires gap-length later (02:30 -> 03:30 EDT), so the
    day is never skipped."""
    return wall.replace(tzinfo=tz, fold=0).astimezone(UTC)


def _search_start(after: datetime, tz) -> datetime:
    """The naive wall time to start croniter from. A wall time in a spring-forward gap fires after
    wall times that follow it, so the slots just after `after` may have wall times up to one gap before
    `after`'s own: start that much earlier (the offset gained in the last two days) and one second
    earlier still; `next_slots` drops whatever is not after `after`."""
    local = after.astimezone(tz)
    gained = local.utcoffset() - (after - timedelta(days=2)).astimezone(tz).utcoffset()
    return local.replace(tzinfo=None, fold=0) - max(gained, timedelta(0)) - _ONE_SECOND


def _wall_times(cron: QuartzCron, start: datetime):
    """Naive wall-clock fire times after `start`, ascending: croniter does the matching."""
    it = croniter(cron.croniter_expression, start, second_at_beginning=True,
                  max_years_between_matches=MAX_YEARS_BETWEEN_FIRES)
    while True:
        try:
            wall = it.get_next(datetime)
        except CroniterBadDateError:
            return  # a year-bounded expression ran out
        if cron.days_before_last is None or wall.day == _last_day(wall) - cron.days_before_last:
            yield wall
        else:  # an `L-n` candidate day that is not n days before this month's end: skip the whole day
            it.set_current(wall.replace(hour=23, minute=59, second=59))


def _last_day(day: datetime) -> int:
    return calendar.monthrange(day.year, day.month)[1]


def _require_aware(value: datetime, name: str) -> None:
    if not isinstance(value, datetime) or value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name} must be an aware datetime")
