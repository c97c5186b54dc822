"""Recurring invoices (BILL dialect, seed 003): templates that generate one invoice per due date.

Rules (all dates are local to the customer's IANA zone, all inclusive):

* The series. A template's due dates start at `nextDueDate` and step by `frequency` periods (DAILY = 1 day,
  WEEKLY = 7 days, MONTHLY = 1 month, YEARLY = 12 months). MONTHLY and YEARLY due dates are anchored on a
  day of the month (`anchor_day`, the day of the nextDueDate the series was started from): every due date is
  that day of its month, clamped to the month's last day, computed from the anchor itself and never from
  the previous due date. Anchor 31: Jan 31, Feb 29 (leap year) or Feb 28, Mar 31, Apr 30 - never drifting.
* endDate bounds the series: a due date on endDate is the last one; none after it. No endDate: open-ended.
* Each invoice is generated `daysInAdvance` days before its due date (its generation date), as soon as the
  customer's local date reaches that day; every due date whose generation date has passed is generated, in
  order (catch-up), once.
* `nextDueDate` is the template's watermark: the due date of the next invoice not generated yet. After the
  last due date it is the date the series would continue on (past endDate): nothing more is generated
  unless endDate is moved.
* Invoice numbers are the due date, YYYY-MM-DD; the same number again for the same customer (two templates
  due the same day) gets the first free suffix: 2026-01-31-1, 2026-01-31-2, ...
* Changes (PATCH, PUT) apply to invoices not generated yet; generated invoices keep the lines they had.
  Sending a nextDueDate different from the current one re-anchors the series there (its day becomes the
  anchor day); period or frequency alone continue the series from the current nextDueDate with the new step,
  keeping a MONTHLY or YEARLY series' anchor day (a DAILY or WEEKLY one is anchored on its nextDueDate).
* Line items: amount (a unit amount, exact to the currency's minor units, not negative) x quantity (> 0,
  default 1). On an invoice, line amount = round(amount x quantity) HALF_UP.
* PATCH and PUT of line items: an item with an id keeps that id (PATCH merges the fields sent into it, PUT
  replaces its fields), an item without an id is new (a new id), an item left out is removed.
* Canceling a generated invoice re-opens its due date (`reopened`): the next run generates it again, as a new
  invoice (its id derives from the canceled one's) with the template's lines as they are then; the watermark
  does not move. An archived template generates nothing, re-opened dates included, until restored."""
import calendar
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Callable, Iterator

from .enums import CanonicalEnum
from .errors import invalid
from .money import exact_money, line_amount

EARLIEST = date(1900, 1, 1)
LATEST = date(9000, 1, 1)  # exclusive: due dates stay far from date.max, whatever the step
MAX_FREQUENCY = 1000
MAX_DAYS_IN_ADVANCE = 3650
MAX_LINE_ITEMS = 100
NUMBER_SUFFIXES = 1000  # a customer may have this many invoices numbered for one due date


class RecurrencePeriod(CanonicalEnum):
    """Output as the seed writes it (MONTHLY); input case-insensitive."""
    DAILY = "DAILY"
    WEEKLY = "WEEKLY"
    MONTHLY = "MONTHLY"
    YEARLY = "YEARLY"


MONTHS = {RecurrencePeriod.MONTHLY: 1, RecurrencePeriod.YEARLY: 12}
DAYS = {RecurrencePeriod.DAILY: 1, RecurrencePeriod.WEEKLY: 7}


@dataclass(frozen=True)
class LineItem:
    id: str
    amount: Decimal  # per unit, in the template's currency
    quantity: Decimal = Decimal(1)
    description: str | None = None


@dataclass(frozen=True)
class Reopened:
    """A due date whose invoice was canceled, and the id the invoice generated again for it will have."""
    due_date: date
    invoice_id: str


@dataclass(frozen=True)
class RecurringInvoice:
    id: str  # rit...
    customer_id: str
    currency: str  # the customer's
    period: RecurrencePeriod
    frequency: int
    next_due_date: date  # the watermark: due date of the next invoice not generated yet
    anchor_day: int  # MONTHLY/YEARLY: the day of the month every due date is (clamped to the month's end)
    days_in_advance: int
    line_items: tuple[LineItem, ...]
    timezone: str  # the customer's IANA zone, where dates are local
    clock_id: str
    created_by_id: str
    last_modified_by_id: str
    created_date: datetime
    last_modified_date: datetime
    end_date: date | None = None
    archived: bool = False
    last_due_date: date | None = None  # due date of the last invoice generated
    reopened: tuple[Reopened, ...] = ()  # due dates to generate again (their invoices were canceled), in date order
    version: int = 0

    @property
    def finished(self) -> bool:
        return self.end_date is not None and self.next_due_date > self.end_date

    @property
    def generation_date(self) -> date:
        """When the invoice for next_due_date is generated."""
        return generation_date(self.next_due_date, self.days_in_advance)

    @property
    def generating(self) -> bool:
        """Will generate again (given time): not archived, and the series not over or a due date re-opened. Only
        these are in the due index."""
        return not self.archived and (not self.finished or bool(self.reopened))

    @property
    def next_generation_date(self) -> date | None:
        """When the next invoice is generated: the earliest generation date of the re-opened due dates and of
        next_due_date (while the series goes on). None when the template will not generate."""
        if not self.generating:
            return None
        dates = [generation_date(r.due_date, self.days_in_advance) for r in self.reopened]
        return min(dates + ([] if self.finished else [self.generation_date]))

    def reopened_at(self, due: date) -> "Reopened | None":
        return next((r for r in self.reopened if r.due_date == due), None)


# --- the series -----------------------------------------------------------------------------------------

def _clamped(month_index: int, day: int) -> date:
    year, month0 = divmod(month_index, 12)
    return date(year, month0 + 1, min(day, calendar.monthrange(year, month0 + 1)[1]))


def following(due: date, period: RecurrencePeriod, frequency: int, anchor_day: int) -> date:
    """The due date after `due` (which lies on the series)."""
    period = RecurrencePeriod.parse(period)
    if period in DAYS:
        return due + timedelta(days=DAYS[period] * frequency)
    return _clamped(due.year * 12 + due.month - 1 + MONTHS[period] * frequency, anchor_day)


def series(start: date, period: RecurrencePeriod, frequency: int, anchor_day: int | None = None,
           end_date: date | None = None) -> Iterator[date]:
    """Due dates from `start` (on the series), in order, up to end_date (inclusive; None = forever)."""
    anchor_day = start.day if anchor_day is None else anchor_day
    due = start
    while end_date is None or due <= end_date:
        yield due
        due = following(due, period, frequency, anchor_day)


def generation_date(due: date, days_in_advance: int) -> date:
    return due - timedelta(days=days_in_advance)


def reopen(template: RecurringInvoice, due: date, invoice_id: str, now: datetime, actor_id: str) -> RecurringInvoice:
    """The due date of a canceled invoice, to be generated again as `invoice_id`; unchanged when it is already
    (a repeated cancel)."""
    if any(r == Reopened(due, invoice_id) for r in template.reopened):
        return template
    reopened = tuple(sorted(template.reopened + (Reopened(due, invoice_id),), key=lambda r: r.due_date))
    return replace(template, reopened=reopened, last_modified_date=now, last_modified_by_id=actor_id)


def reopened_by(template: RecurringInvoice, today: date) -> list[Reopened]:
    """The re-opened due dates whose generation date is on or before `today`; none for an archived template."""
    return [] if template.archived else [
        r for r in template.reopened if generation_date(r.due_date, template.days_in_advance) <= today]


def due_by(template: RecurringInvoice, today: date, limit: int) -> list[date]:
    """Due dates not generated yet whose generation date is on or before `today` (the customer's local date),
    in order, at most `limit`. Nothing for an archived template."""
    if template.archived:
        return []
    found = []
    for due in series(template.next_due_date, template.period, template.frequency, template.anchor_day,
                      template.end_date):
        if len(found) >= limit or generation_date(due, template.days_in_advance) > today:
            break
        found.append(due)
    return found


def invoice_numbers(due: date) -> Iterator[str]:
    """The number of an invoice due that day, then the suffixed ones for a second, third... of one customer."""
    base = due.isoformat()
    yield base
    for n in range(1, NUMBER_SUFFIXES):
        yield f"{base}-{n}"


def invoice_line_amount(item: LineItem, currency: str) -> Decimal:
    return line_amount(item.quantity, item.amount, currency)


# --- validation and changes --------------------------------------------------------------------------------

LINES = "recurringInvoiceLineItems"


def _check_date(value: date, name: str) -> None:
    if not EARLIEST <= value < LATEST:
        raise invalid(f"schedule.{name}", f"must be from {EARLIEST.isoformat()} and before {LATEST.isoformat()}")


def check_schedule(template: RecurringInvoice) -> RecurringInvoice:
    if not 1 <= template.frequency <= MAX_FREQUENCY:
        raise invalid("schedule.frequency", f"must be between 1 and {MAX_FREQUENCY}")
    if not 0 <= template.days_in_advance <= MAX_DAYS_IN_ADVANCE:
        raise invalid("schedule.daysInAdvance", f"must be between 0 and {MAX_DAYS_IN_ADVANCE}")
    _check_date(template.next_due_date, "nextDueDate")
    if template.end_date is not None:
        _check_date(template.end_date, "endDate")
        if template.end_date < template.next_due_date:
            raise invalid("schedule.endDate", "must not be before nextDueDate")
    return template


def check_line_items(items: tuple[LineItem, ...], currency: str) -> tuple[LineItem, ...]:
    """Amounts exact to the currency's minor units and not negative; quantities above 0; 1 to 100 items."""
    if not items:
        raise invalid(LINES, "at least one line item is required")
    if len(items) > MAX_LINE_ITEMS:
        raise invalid(LINES, f"at most {MAX_LINE_ITEMS} line items")
    checked = []
    for index, item in enumerate(items):
        where = f"{LINES}[{index}]"
        amount = exact_money(item.amount, currency, f"{where}.amount")
        if amount < 0:
            raise invalid(f"{where}.amount", "must not be negative")
        if item.quantity <= 0:
            raise invalid(f"{where}.quantity", "must be greater than 0")
        checked.append(replace(item, amount=amount))
    return tuple(checked)


def new_line_items(sent: list[dict], new_id: Callable[[], str]) -> tuple[LineItem, ...]:
    return tuple(LineItem(id=new_id(), amount=raw["amount"], quantity=_quantity(raw),
                          description=raw.get("description")) for raw in sent)


def _quantity(raw: dict) -> Decimal:
    quantity = raw.get("quantity")
    return Decimal(1) if quantity is None else quantity


def merge_line_items(current: tuple[LineItem, ...], sent: list[dict], new_id: Callable[[], str], *,
                     partial: bool) -> tuple[LineItem, ...]:
    """The line items after a PUT (partial=False: each item sent replaces the one with its id) or a PATCH
    (partial=True: the fields sent are merged into the item with that id). Items without an id are new;
    items not sent are removed. An id the template does not have, or the same id twice, is a 400."""
    by_id = {item.id: item for item in current}
    seen: set[str] = set()
    result = []
    for index, raw in enumerate(sent):
        ident = raw.get("id")
        if ident is None:
            if raw.get("amount") is None:
                raise invalid(f"{LINES}[{index}].amount", "required for a new line item")
            result.append(LineItem(new_id(), raw["amount"], _quantity(raw), raw.get("description")))
            continue
        if ident not in by_id:
            raise invalid(f"{LINES}[{index}].id", "no line item with this id on this recurring invoice")
        if ident in seen:
            raise invalid(f"{LINES}[{index}].id", "the same line item twice")
        seen.add(ident)
        kept = by_id[ident]
        if partial:
            for name in ("amount", "quantity"):
                if name in raw and raw[name] is None:
                    raise invalid(f"{LINES}[{index}].{name}", "must not be null")
            result.append(replace(kept, **{k: v for k, v in raw.items() if k != "id"}))
        else:
            if raw.get("amount") is None:
                raise invalid(f"{LINES}[{index}].amount", "required")
            result.append(LineItem(ident, raw["amount"], _quantity(raw), raw.get("description")))
    return tuple(result)


def change_schedule(template: RecurringInvoice, sent: dict) -> RecurringInvoice:
    """The template with the schedule fields sent (snake_case keys). A nextDueDate different from the current
    one re-anchors the series on it; period or frequency alone keep the next due date and (MONTHLY, YEARLY)
    the anchor day.
    The schedule is validated when something in it changed (a PUT echoing a finished template's schedule,
    whose nextDueDate lies past its endDate, is not an error)."""
    changed = replace(template, **sent)
    if changed.next_due_date != template.next_due_date or template.period in DAYS:
        changed = replace(changed, anchor_day=changed.next_due_date.day)
    same = all(getattr(changed, name) == getattr(template, name)
               for name in ("period", "frequency", "next_due_date", "end_date", "days_in_advance"))
    return changed if same else check_schedule(changed)
