"""Billing schedules (Nue dialect): when billing jobs run, and which target and invoice dates each run uses.

A Recurring schedule fires on the slots of its Quartz cron in its zone, from scheduleStartDate on. An
OnDemand schedule runs once: when activated, or at the start of scheduleStartDate if that is later.
Each slot becomes one billing job. A job's target date is the slot's local date moved by
targetDateIncrement (Sign, TimeUnit); its invoice date is the slot's local date. A fixed targetDate or
invoiceDate on the schedule is used as given by an OnDemand run, and as a floor by Recurring runs (a
recurring schedule's dates never precede them)."""
from dataclasses import dataclass, replace
from datetime import date, datetime, time, timedelta

from dateutil.relativedelta import relativedelta

from . import catch_up
from .cron import next_slots, parse_quartz, shortest_interval
from .enums import CanonicalEnum, ScheduleStatus, ScheduleType
from .errors import conflict, invalid
from .filter_schemas import CUSTOMER, ORDER, PRODUCT
from .filters import FilterSchema, parse_filter
from .timeutil import duration_text, local_date, zone_info


_EPSILON = timedelta(microseconds=1)  # slot searches are strictly-after: start just before the instant
MIN_SLOT_INTERVAL_SETTING = "BILLRUN_MIN_SLOT_INTERVAL_SECONDS"


class IncrementSign(CanonicalEnum):
    PLUS = "Plus"
    MINUS = "Minus"


class IncrementUnit(CanonicalEnum):
    DAYS = "Days"
    WEEKS = "Weeks"
    MONTHS = "Months"


@dataclass(frozen=True)
class BillingSchedule:
    id: str
    name: str  # BS-00000200
    schedule_type: ScheduleType
    status: ScheduleStatus
    zone_id: str
    schedule_start_date: date
    clock_id: str  # the tenant's: which tick runs this schedule (see domain.tenants.Tenant.clock_id)
    created_by_id: str
    last_modified_by_id: str
    created_date: datetime
    last_modified_date: datetime
    recurring_schedule: str | None = None
    invoice_date: date | None = None
    target_date: date | None = None
    target_date_increment: int = 0
    target_date_increment_sign: IncrementSign = IncrementSign.PLUS
    target_date_increment_time_unit: IncrementUnit = IncrementUnit.DAYS
    customer_filter: str | None = None
    order_filter: str | None = None
    product_filter: str | None = None
    bill_cycle_day_filter: str | None = None
    description: str | None = None
    daily_object: dict | None = None  # Nue's UI fields, kept and echoed as given
    custom_expression: tuple = ()
    activate_invoices: bool = False
    created_through: str = "API"
    record_type: str = "BillingSchedule"
    last_run_date: datetime | None = None
    next_run_date: datetime | None = None  # the next slot to run; None when nothing is scheduled
    version: int = 0


def check(schedule: BillingSchedule) -> BillingSchedule:
    """Validates a schedule as created or patched; filters come back in canonical text."""
    try:
        zone_info(schedule.zone_id)
    except ValueError as error:
        raise invalid("zoneId", str(error)) from None
    if schedule.schedule_type is ScheduleType.RECURRING:
        if not schedule.recurring_schedule:
            raise invalid("recurringSchedule", "required for a Recurring schedule")
        try:
            parse_quartz(schedule.recurring_schedule)
        except ValueError as error:
            raise invalid("recurringSchedule", str(error)) from None
    elif schedule.recurring_schedule:
        raise invalid("recurringSchedule", "an OnDemand schedule has no recurring schedule")
    if not 0 <= schedule.target_date_increment <= 3660:
        raise invalid("targetDateIncrement", "must be between 0 and 3660")
    return replace(schedule,
                   customer_filter=_canonical(schedule.customer_filter, CUSTOMER, "customerFilter"),
                   order_filter=_canonical(schedule.order_filter, ORDER, "orderFilter"),
                   product_filter=_canonical(schedule.product_filter, PRODUCT, "productFilter"),
                   bill_cycle_day_filter=_bill_cycle_days_text(schedule.bill_cycle_day_filter))


def _canonical(text: str | None, schema: FilterSchema, field_name: str) -> str | None:
    if text is None:
        return None
    parse_filter(text, schema, field_name)
    return text


def bill_cycle_days(text: str | None) -> frozenset[int] | None:
    """'1, 15' -> {1, 15}; None -> no restriction."""
    if text is None:
        return None
    days = set()
    for part in str(text).replace(" ", "").split(","):
        if not part.isdigit() or not 1 <= int(part) <= 31:
            raise invalid("billCycleDayFilter", "a comma-separated list of days 1-31, e.g. \"1,15\"")
        days.add(int(part))
    return frozenset(days)


def _bill_cycle_days_text(text: str | None) -> str | None:
    days = bill_cycle_days(text)
    return None if days is None else ",".join(str(d) for d in sorted(days))


def require_bounds(schedule: BillingSchedule, before: BillingSchedule | None, today: date,
                   min_slot_interval: int, max_catch_up_days: int) -> BillingSchedule:
    """The bounds on the billing jobs a schedule buys (docs/limits.md), on what a create (`before` None) or a
    change sets: a cron stored before the bound existed, or a start that has fallen behind, is kept."""
    if before is None or (before.schedule_type, before.recurring_schedule) != (
            schedule.schedule_type, schedule.recurring_schedule):
        _require_slot_interval(schedule, min_slot_interval)
    catch_up.require_recent_if_set(schedule.schedule_start_date, before and before.schedule_start_date, today,
                                   max_catch_up_days, "scheduleStartDate")
    return schedule


def _require_slot_interval(schedule: BillingSchedule, minimum: int) -> None:
    """Each slot is a billing job: a Recurring cron's slots lie at least `minimum` seconds apart."""
    if schedule.schedule_type is not ScheduleType.RECURRING:
        return  # an OnDemand schedule runs once
    interval = shortest_interval(parse_quartz(schedule.recurring_schedule))
    if interval.seconds < minimum:
        raise invalid("recurringSchedule", f"fires {interval.describe()}; slots must be at least "
                                           f"{duration_text(minimum)} apart ({MIN_SLOT_INTERVAL_SETTING})")


def require_future_slot(schedule: BillingSchedule, now: datetime) -> BillingSchedule:
    """A Recurring cron that can no longer fire (a year field in the past) is refused, not kept as dead weight."""
    if schedule.schedule_type is ScheduleType.RECURRING and first_slot(schedule, now) is None:
        raise invalid("recurringSchedule", "never fires on or after scheduleStartDate")
    return schedule


def activate(schedule: BillingSchedule, now: datetime) -> BillingSchedule:
    if schedule.status is ScheduleStatus.ACTIVE:
        return schedule
    return replace(schedule, status=ScheduleStatus.ACTIVE, next_run_date=first_slot(schedule, now))


def deactivate(schedule: BillingSchedule) -> BillingSchedule:
    if schedule.status is ScheduleStatus.DRAFT:
        raise conflict("a Draft schedule is not active; activate it first", field_name="scheduleIds")
    return replace(schedule, status=ScheduleStatus.INACTIVE, next_run_date=None)


def _start_instant(schedule: BillingSchedule) -> datetime:
    return datetime.combine(schedule.schedule_start_date, time(0), tzinfo=zone_info(schedule.zone_id))


def first_slot(schedule: BillingSchedule, now: datetime) -> datetime | None:
    """The first run after activation at `now`: never before scheduleStartDate, never in the past."""
    start = max(now, _start_instant(schedule))
    if schedule.schedule_type is ScheduleType.ON_DEMAND:
        return start
    found = next_slots(parse_quartz(schedule.recurring_schedule), schedule.zone_id, start - _EPSILON, count=1)
    return found[0] if found else None


def slots_until(schedule: BillingSchedule, until: datetime, limit: int) -> list[datetime]:
    """The slots due at or before `until`, from next_run_date on, at most `limit` of them."""
    first = schedule.next_run_date
    if first is None or first > until:
        return []
    if schedule.schedule_type is ScheduleType.ON_DEMAND:
        return [first]
    later = next_slots(parse_quartz(schedule.recurring_schedule), schedule.zone_id, first, count=limit - 1,
                       until=until) if limit > 1 else []
    return [first, *later]


def following_slot(schedule: BillingSchedule, slot: datetime) -> datetime | None:
    if schedule.schedule_type is ScheduleType.ON_DEMAND:
        return None
    found = next_slots(parse_quartz(schedule.recurring_schedule), schedule.zone_id, slot, count=1)
    return found[0] if found else None


def upcoming(schedule: BillingSchedule, now: datetime, count: int) -> list[datetime]:
    """The next `count` fire times (for /slots), whatever the status."""
    if schedule.schedule_type is ScheduleType.ON_DEMAND:
        return [first_slot(schedule, now)]
    start = max(now, _start_instant(schedule)) - _EPSILON
    return next_slots(parse_quartz(schedule.recurring_schedule), schedule.zone_id, start, count=count)


def run_dates(schedule: BillingSchedule, slot: datetime) -> tuple[date, date]:
    """(target date, invoice date) of the job for a slot."""
    slot_day = local_date(slot, schedule.zone_id)
    step = {IncrementUnit.DAYS: relativedelta(days=schedule.target_date_increment),
            IncrementUnit.WEEKS: relativedelta(weeks=schedule.target_date_increment),
            IncrementUnit.MONTHS: relativedelta(months=schedule.target_date_increment)}[
        schedule.target_date_increment_time_unit]
    target = slot_day + step if schedule.target_date_increment_sign is IncrementSign.PLUS else slot_day - step
    invoice = slot_day
    if schedule.schedule_type is ScheduleType.ON_DEMAND:
        return schedule.target_date or target, schedule.invoice_date or invoice
    return max(target, schedule.target_date or target), max(invoice, schedule.invoice_date or invoice)
