"""Invoice schedules (Zuora dialect, seed 002): an order's total billed in scheduled instalments.

Pure rules: validating and allocating schedule items (amounts or percentages that sum exactly to the order
total), splitting an item's amount across the order's lines, the statuses of a schedule and of its items,
which item an execution takes, and the schedule's amounts.

- The total of a schedule is the sum of its orders' `totalAmount` (each order's total is the sum of its line
  amounts, quantity x unitPrice).
- An item gives `amount` (exact, in the currency's minor units) or `percentage` of the total. A percentage
  item is worth round(total x percentage / 100) HALF_UP; the last percentage item takes the remainder, so the
  items sum exactly to the total. Zero (or negative) items are refused, and run dates must be strictly
  chronological.
- An item's amount is split across the order lines in proportion to their amounts, each line rounded HALF_UP,
  the last line taking the remainder: every invoice sums exactly to its item."""
from dataclasses import dataclass, replace
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from fractions import Fraction

from . import catch_up
from .catalog import Customer
from .enums import CanonicalEnum, OrderStatus
from .errors import BillrunError, FieldIssue, conflict, invalid, not_found
from .invoices import (DocumentLine, Invoice, InvoiceSource, InvoiceStatus, PaymentStatus, activate, totals)
from .money import exact_money, minor_units, round_money
from .timeutil import UTC, local_date, zone_info

EARLIEST_RUN_DATE, LATEST_RUN_DATE = date(1900, 1, 1), date(9899, 12, 31)  # due dates and zones stay computable


class InvoiceScheduleStatus(CanonicalEnum):
    PENDING = "Pending"
    PARTIALLY_PROCESSED = "PartiallyProcessed"
    FULLY_PROCESSED = "FullyProcessed"
    PAUSED = "Paused"


class ItemStatus(CanonicalEnum):
    PENDING = "Pending"
    EXECUTING = "Executing"  # a bill run holds it: it is writing the item's invoice
    PROCESSED = "Processed"


@dataclass(frozen=True)
class ScheduleItem:
    id: str
    run_date: date  # a date in the schedule's zone (the tenant's): the item runs from its start
    amount: Decimal  # what the item bills (for a percentage item: its allocated share of the total)
    status: ItemStatus = ItemStatus.PENDING
    name: str | None = None
    percentage: Decimal | None = None
    invoice_id: str | None = None
    invoice_number: str | None = None
    bill_run_id: str | None = None  # the bill run executing (Executing) or that executed (Processed) it
    reissues: int = 0  # how often its invoice was canceled and the item re-opened: its next runs and invoice are new


@dataclass(frozen=True)
class InvoiceSchedule:
    id: str
    number: str  # IS-00000001
    customer_id: str
    currency: str
    order_ids: tuple[str, ...]
    total_amount: Decimal
    items: tuple[ScheduleItem, ...]  # in run-date order
    timezone: str  # run dates are in this zone (the tenant's, when the schedule was created)
    clock_id: str
    created_by_id: str
    updated_by_id: str
    created_date: datetime
    updated_date: datetime  # the last change a user made (create, PUT, pause, resume, a cancel re-opening an item);
    # executions do not count
    notes: str | None = None
    paused: bool = False
    version: int = 0

    def item(self, item_id: str) -> ScheduleItem | None:
        return next((i for i in self.items if i.id == item_id), None)

    @property
    def status(self) -> InvoiceScheduleStatus:
        if self.paused:
            return InvoiceScheduleStatus.PAUSED
        processed = sum(i.status is ItemStatus.PROCESSED for i in self.items)
        if processed and processed == len(self.items):
            return InvoiceScheduleStatus.FULLY_PROCESSED
        return InvoiceScheduleStatus.PARTIALLY_PROCESSED if processed else InvoiceScheduleStatus.PENDING

    @property
    def billed_amount(self) -> Decimal:
        return round_money(sum((i.amount for i in self.items if i.status is ItemStatus.PROCESSED), Decimal(0)),
                           self.currency)

    @property
    def unbilled_amount(self) -> Decimal:
        return self.total_amount - self.billed_amount

    @property
    def next_run_date(self) -> date | None:
        pending = next_pending(self)
        return pending.run_date if pending else None


# --- items: validation and allocation -----------------------------------------------------------------------

@dataclass(frozen=True)
class ItemRequest:
    """One item as a request gives it (an `id` in a PUT names an existing item)."""
    run_date: date
    amount: Decimal | None = None
    percentage: Decimal | None = None
    name: str | None = None
    id: str | None = None


def _exact(value: Decimal) -> Fraction:
    return Fraction(Decimal(value))


def _round(value: Fraction, currency: str) -> Decimal:
    """HALF_UP (ties away from zero) at the currency's minor units, in exact integer arithmetic."""
    places = minor_units(currency)
    scaled = abs(value) * 10 ** places
    units = int(scaled + Fraction(1, 2))
    return round_money(Decimal(units if value >= 0 else -units).scaleb(-places), currency)


def percentage_share(total: Decimal, percentage: Decimal, currency: str) -> Decimal:
    """round(total x percentage / 100), HALF_UP at the currency's minor units."""
    return _round(_exact(total) * _exact(percentage) / 100, currency)


def allocate_items(total: Decimal, currency: str, requests: list[ItemRequest], fixed: tuple[ScheduleItem, ...] = (),
                   field: str = "scheduleItems") -> list[Decimal]:
    """The amount of each requested item, given the items that are already fixed (executing or processed).

    Refused (400 naming the field): an item with both or neither of amount and percentage, an amount with too
    many decimals for the currency, a zero or negative item, a percentage outside (0, 100], run dates that are
    not strictly chronological (or collide with a fixed item's), and items whose sum is not the total. Amount
    items keep their amount; percentage items get round(total x pct / 100) and the last one takes the remainder."""
    nominal: list[Fraction] = []
    amounts: list[Decimal | None] = []
    for index, item in enumerate(requests):
        where = f"{field}[{index}]"
        if item.amount is not None and item.percentage is not None:
            raise invalid(f"{where}.percentage", "give amount or percentage, not both")
        if item.amount is None and item.percentage is None:
            raise invalid(f"{where}.amount", "give amount or percentage")
        if item.amount is not None:
            amount = exact_money(item.amount, currency, f"{where}.amount")
            if amount <= 0:
                raise invalid(f"{where}.amount", "must be greater than 0 (zero items are not allowed)")
            amounts.append(amount)
            nominal.append(_exact(amount))
        else:
            if not 0 < item.percentage <= 100:
                raise invalid(f"{where}.percentage", "must be greater than 0 and at most 100")
            amounts.append(None)
            nominal.append(_exact(total) * _exact(item.percentage) / 100)
        if not EARLIEST_RUN_DATE <= item.run_date <= LATEST_RUN_DATE:
            raise invalid(f"{where}.runDate", f"must be between {EARLIEST_RUN_DATE} and {LATEST_RUN_DATE}")
        if index and item.run_date <= requests[index - 1].run_date:
            raise invalid(f"{where}.runDate", f"must be later than the previous item's runDate "
                                              f"({requests[index - 1].run_date.isoformat()})")
        clash = next((f for f in fixed if f.run_date == item.run_date), None)
        if clash is not None:
            raise invalid(f"{where}.runDate", f"item {clash.id} ({clash.status.value}) already runs on "
                                              f"{clash.run_date.isoformat()}")
    fixed_sum = sum((f.amount for f in fixed), Decimal(0))
    planned = _exact(fixed_sum) + sum(nominal, Fraction(0))
    if planned != _exact(total):
        shown = Decimal(planned.numerator) / Decimal(planned.denominator)
        raise invalid(field, f"the items sum to {shown} {currency}"
                             + (f" (with {fixed_sum} already executed or processed)" if fixed else "")
                             + f"; they must sum to the order total, {total} {currency}")
    percentage_items = [i for i, a in enumerate(amounts) if a is None]
    for i in percentage_items:
        amounts[i] = percentage_share(total, requests[i].percentage, currency)
    if percentage_items:
        last = percentage_items[-1]
        amounts[last] = total - fixed_sum - sum((a for i, a in enumerate(amounts) if i != last), Decimal(0))
    for i in percentage_items:
        if amounts[i] <= 0:
            raise invalid(f"{field}[{i}].percentage", f"is {amounts[i]} {currency} once rounded "
                                                      "(zero items are not allowed)")
    return amounts


def new_items(total: Decimal, currency: str, requests: list[ItemRequest], ids: list[str]) -> tuple[ScheduleItem, ...]:
    amounts = allocate_items(total, currency, requests)
    return tuple(ScheduleItem(id=item_id, run_date=r.run_date, amount=a, name=r.name, percentage=r.percentage)
                 for item_id, r, a in zip(ids, requests, amounts))


def require_recent_run_dates(requests: list[ItemRequest], schedule: InvoiceSchedule | None, today: date,
                             max_days: int, field: str = "scheduleItems") -> None:
    """Each runDate a request sets (a new item's, or one an item listed by id changes) lies at most `max_days`
    before `today`; an item keeping its runDate (PUT lists the items it keeps) is not checked."""
    for index, request in enumerate(requests):
        existing = schedule.item(request.id) if schedule is not None and request.id else None
        catch_up.require_recent_if_set(request.run_date, existing and existing.run_date, today, max_days,
                                       f"{field}[{index}].runDate")


def check_orders(orders, customer_id: str | None, currency: str | None) -> tuple[str, str, Decimal]:
    """(customer, currency, total) of the orders a schedule bills: one customer, one currency, activated,
    listed once, a total above zero. `orders` are domain Orders in request order."""
    first = orders[0]
    seen = set()
    for index, order in enumerate(orders):
        where = f"orders[{index}]"
        if order.id in seen:
            raise invalid(where, "order listed twice")
        seen.add(order.id)
        if order.customer_id != first.customer_id:
            raise invalid(where, "all orders of an invoice schedule belong to one customer (that of orders[0])")
        if order.currency != first.currency:
            raise invalid(where, f"order is in {order.currency}, orders[0] in {first.currency}")
        if order.status is not OrderStatus.ACTIVATED:
            raise conflict(f"order is {order.status.value}; activate it before scheduling its invoices",
                           field_name=where)
    if customer_id is not None and customer_id != first.customer_id:
        raise invalid("accountKey", "the orders belong to another customer")
    if currency is not None and currency != first.currency:
        raise invalid("currency", f"the orders are in {first.currency}")
    total = sum((o.total_amount for o in orders), Decimal(0))
    if total <= 0:
        raise invalid("orders", "the orders' total is zero: there is nothing to schedule")
    return first.customer_id, first.currency, total


def replace_items(schedule: InvoiceSchedule, requests: list[ItemRequest], new_ids: list[str],
                  field: str = "scheduleItems") -> tuple[ScheduleItem, ...]:
    """PUT: the requested items replace the pending ones. An executing or processed item is immutable: it is
    kept whether or not the request lists it, and listing it with other values is a 409. A pending item not
    listed is removed; an `id` that names none of the schedule's items is a 404."""
    fixed = tuple(i for i in schedule.items if i.status is not ItemStatus.PENDING)
    pending: list[tuple[int, ItemRequest, str]] = []
    for index, (request, new_id) in enumerate(zip(requests, new_ids)):
        existing = schedule.item(request.id) if request.id else None
        if request.id and existing is None:
            raise BillrunError(f"no item {request.id} in this invoice schedule",
                               [FieldIssue(f"{field}[{index}].id", "no item with this id in this invoice schedule")],
                               "NotFound", "not_found")
        if existing is not None and existing.status is not ItemStatus.PENDING:
            if (request.run_date, request.name) != (existing.run_date, existing.name) or not _same_value(
                    request, existing):
                raise conflict(f"item {existing.id} is {existing.status.value}: it can no longer change",
                               field_name=f"{field}[{index}]")
            continue
        pending.append((index, request, existing.id if existing else new_id))
    listed = [r for _, r, _ in pending]
    reissues = {i.id: i.reissues for i in schedule.items}  # a re-opened item keeps its count (its ids depend on it)
    try:
        amounts = allocate_items(schedule.total_amount, schedule.currency, listed, fixed, field)
    except BillrunError as error:  # name the field by its place in the request, not among the pending ones
        raise _renumbered(error, field, [i for i, _, _ in pending]) from None
    items = fixed + tuple(ScheduleItem(id=item_id, run_date=r.run_date, amount=a, name=r.name, percentage=r.percentage,
                                       reissues=reissues.get(item_id, 0))
                          for (_, r, item_id), a in zip(pending, amounts))
    return tuple(sorted(items, key=lambda i: i.run_date))


def _same_value(request: ItemRequest, item: ScheduleItem) -> bool:
    if request.percentage is not None:
        return item.percentage is not None and Decimal(request.percentage) == item.percentage
    return item.percentage is None and request.amount is not None and Decimal(request.amount) == item.amount


def _renumbered(error: BillrunError, field: str, positions: list[int]) -> BillrunError:
    def fix(name: str) -> str:
        prefix = f"{field}["
        if not name.startswith(prefix):
            return name
        number, _, rest = name[len(prefix):].partition("]")
        return f"{prefix}{positions[int(number)]}]{rest}"
    details = [FieldIssue(fix(d.field), d.issue) for d in error.details]
    message = "; ".join(f"{d.field}: {d.issue}" for d in details) if error.kind == "invalid" else error.message
    return BillrunError(message, details, error.code, error.kind)


# --- lines: an item's amount across the order lines --------------------------------------------------------

def allocate_lines(amount: Decimal, weights: list[Decimal], currency: str) -> list[Decimal]:
    """`amount` split in proportion to `weights` (the order lines' amounts): each share rounded HALF_UP, the
    last line with a weight taking the remainder, so the shares sum exactly to `amount`. Lines of weight 0 get
    0. Should that remainder come out negative (many tiny lines all rounded up), the shares are taken as
    differences of rounded running totals instead: each within one minor unit of exact, none negative."""
    total_weight = sum((_exact(w) for w in weights), Fraction(0))
    if total_weight <= 0 or any(w < 0 for w in weights):
        raise ValueError("line weights must be non-negative with a positive sum")
    weighted = [i for i, w in enumerate(weights) if w > 0]
    shares = [Decimal(0).quantize(Decimal(1).scaleb(-minor_units(currency)))] * len(weights)
    for i in weighted[:-1]:
        shares[i] = _round(_exact(amount) * _exact(weights[i]) / total_weight, currency)
    shares[weighted[-1]] = round_money(amount - sum((shares[i] for i in weighted[:-1]), Decimal(0)), currency)
    if shares[weighted[-1]] >= 0:
        return shares
    running, previous = Fraction(0), Decimal(0)
    for i in weighted:
        running += _exact(weights[i])
        upto = _round(_exact(amount) * running / total_weight, currency)
        shares[i], previous = upto - previous, upto
    return shares


# --- executions ----------------------------------------------------------------------------------------------

def next_pending(schedule: InvoiceSchedule) -> ScheduleItem | None:
    """The earliest pending item by run date (Zuora: "the next pending schedule item")."""
    pending = [i for i in schedule.items if i.status is ItemStatus.PENDING]
    return min(pending, key=lambda i: i.run_date) if pending else None


def executable_item(schedule: InvoiceSchedule, item_id: str | None) -> ScheduleItem:
    """The item an execute request runs: the one named, or the next pending one. 409 when the schedule is
    paused, the item is already processed or being executed, or nothing is pending; 404 for an unknown item."""
    if schedule.paused:
        raise conflict("the invoice schedule is Paused; resume it before executing it")
    if item_id is None:
        item = next_pending(schedule)
        if item is None:
            raise conflict(f"the invoice schedule is {schedule.status.value}: no item is Pending")
        return item
    item = schedule.item(item_id)
    if item is None:
        raise not_found("invoice schedule item", item_id, "scheduleItemId")
    return check_pending(item)


def check_pending(item: ScheduleItem) -> ScheduleItem:
    if item.status is ItemStatus.PROCESSED:
        raise conflict(f"item {item.id} is already Processed (invoice {item.invoice_number})")
    if item.status is ItemStatus.EXECUTING:
        raise conflict(f"item {item.id} is being executed by bill run {item.bill_run_id}")
    return item


def _with_item(schedule: InvoiceSchedule, item: ScheduleItem) -> InvoiceSchedule:
    return replace(schedule, items=tuple(item if i.id == item.id else i for i in schedule.items))


def hold(schedule: InvoiceSchedule, item_id: str, bill_run_id: str) -> InvoiceSchedule:
    """Pending -> Executing for this bill run (the claim of the right to invoice the item). Holding an item the
    bill run already holds (or has processed) changes nothing; anything else is a 409."""
    item = schedule.item(item_id)
    if item is None:
        raise conflict(f"item {item_id} is no longer in the invoice schedule")
    if item.bill_run_id == bill_run_id and item.status is not ItemStatus.PENDING:
        return schedule
    check_pending(item)
    if schedule.paused:
        raise conflict("the invoice schedule is Paused")
    return _with_item(schedule, replace(item, status=ItemStatus.EXECUTING, bill_run_id=bill_run_id))


def processed(schedule: InvoiceSchedule, item_id: str, bill_run_id: str, invoice_id: str,
              invoice_number: str) -> InvoiceSchedule:
    """Executing (by this bill run) -> Processed, with the invoice it made. Already done: unchanged."""
    item = schedule.item(item_id)
    if item is None or item.bill_run_id != bill_run_id or item.status is ItemStatus.PENDING:
        raise conflict(f"item {item_id} is not held by bill run {bill_run_id}")
    if item.status is ItemStatus.PROCESSED:
        return schedule
    return _with_item(schedule, replace(item, status=ItemStatus.PROCESSED, invoice_id=invoice_id,
                                        invoice_number=invoice_number))


def reopen(schedule: InvoiceSchedule, invoice_id: str, now: datetime, actor_id: str) -> InvoiceSchedule:
    """The item whose invoice this was, after the invoice was canceled (a user's change, at `now`): Processed ->
    Pending, executable again (by a request, or by the tick once its run date has come: a test clock dates that
    run at the cancel), its next invoice a new one. Unchanged when no Processed item holds that invoice
    (re-opened already, or removed)."""
    item = next((i for i in schedule.items if i.status is ItemStatus.PROCESSED and i.invoice_id == invoice_id), None)
    if item is None:
        return schedule
    reopened = replace(item, status=ItemStatus.PENDING, invoice_id=None, invoice_number=None, bill_run_id=None,
                       reissues=item.reissues + 1)
    return replace(_with_item(schedule, reopened), updated_date=now, updated_by_id=actor_id)


def pause(schedule: InvoiceSchedule) -> InvoiceSchedule:
    """Any schedule can be paused (Zuora: even a fully processed one); pausing a paused one changes nothing."""
    return schedule if schedule.paused else replace(schedule, paused=True)


def resume(schedule: InvoiceSchedule) -> InvoiceSchedule:
    """Paused -> the status it had; resuming a schedule that is not paused is a 409."""
    if not schedule.paused:
        raise conflict(f"the invoice schedule is {schedule.status.value}, not Paused")
    return replace(schedule, paused=False)


def check_editable(schedule: InvoiceSchedule) -> None:
    if schedule.paused:
        raise conflict("the invoice schedule is Paused; resume it before changing it")
    if schedule.status is InvoiceScheduleStatus.FULLY_PROCESSED:
        raise conflict("the invoice schedule is FullyProcessed: there are no pending items to change")


def check_deletable(schedule: InvoiceSchedule) -> None:
    busy = [i for i in schedule.items if i.status is not ItemStatus.PENDING]
    if busy:
        raise conflict(f"item {busy[0].id} is {busy[0].status.value}: only a schedule with nothing executed or "
                       "processed can be deleted")


# --- time: when items fall due ---------------------------------------------------------------------------------

def due_at(schedule: InvoiceSchedule, item: ScheduleItem) -> datetime:
    """The instant an item falls due: the start of its run date in the schedule's zone, in UTC."""
    return datetime.combine(item.run_date, time(0), tzinfo=zone_info(schedule.timezone)).astimezone(UTC)


def next_due_at(schedule: InvoiceSchedule) -> datetime | None:
    """When the tick must look at the schedule next: its earliest pending item's due instant; None when paused
    or nothing is pending (the schedule then leaves the due index)."""
    item = None if schedule.paused else next_pending(schedule)
    return due_at(schedule, item) if item else None


def due_items(schedule: InvoiceSchedule, until: datetime) -> list[ScheduleItem]:
    if schedule.paused:
        return []
    return sorted((i for i in schedule.items if i.status is ItemStatus.PENDING and due_at(schedule, i) <= until),
                  key=lambda i: i.run_date)


def invoice_date(item: ScheduleItem, effective: datetime, timezone: str) -> date:
    """An item is invoiced on its run date, or on the day it is executed when that is later (a late item: the
    schedule was paused, or the run date was in the past when it was set). Executing early (invoicing in
    advance, as in the seed) keeps the run date."""
    return max(item.run_date, local_date(effective, timezone))


# --- the invoice of an item --------------------------------------------------------------------------------

def invoice_lines(schedule: InvoiceSchedule, item: ScheduleItem, order_lines: list, product_names: dict[str, str],
                  line_ids: list[str]) -> tuple[DocumentLine, ...]:
    """One invoice line per order line with a share of the item (lines whose share is zero are left out)."""
    shares = allocate_lines(item.amount, [line.amount for line in order_lines], schedule.currency)
    position = next(n for n, i in enumerate(schedule.items, 1) if i.id == item.id)
    label = item.name or f"item {position} of {len(schedule.items)}"
    return tuple(DocumentLine(
        id=line_id, description=f"{product_names.get(line.product_id, line.product_id)} ({schedule.number}, {label})",
        quantity=Decimal(1), unit_price=share, amount=share, subscription_id=line.subscription_id,
        product_id=line.product_id) for line_id, line, share in zip(line_ids, order_lines, shares) if share != 0)


def schedule_invoice(schedule: InvoiceSchedule, item: ScheduleItem, lines: tuple[DocumentLine, ...],
                     customer: Customer, *, invoice_id: str, name: str, bill_run_id: str, invoice_date: date,
                     target_date: date, created_by_id: str, auto_post: bool, now: datetime) -> Invoice:
    """The item's invoice: amountWithoutTax is the item's amount, the customer's taxRate is added on top (as on
    every invoice); Draft, or Active when the bill run posts its invoices (autoPost)."""
    t = totals(lines, customer.tax_rate, schedule.currency)
    invoice = Invoice(
        id=invoice_id, name=name, customer_id=schedule.customer_id, currency=schedule.currency,
        status=InvoiceStatus.DRAFT, payment_status=PaymentStatus.NOT_TRANSFERRED,
        source=InvoiceSource.INVOICE_SCHEDULE, invoice_date=invoice_date,
        due_date=invoice_date + timedelta(days=customer.payment_term_days), start_date=None, end_date=None,
        target_date=target_date, amount_without_tax=t.amount_without_tax, tax_amount=t.tax_amount, amount=t.amount,
        balance=t.amount, lines=lines, created_by_id=created_by_id, last_modified_by_id=created_by_id,
        created_date=now, last_modified_date=now, bill_to_contact_id=customer.bill_to_contact_id,
        invoice_schedule_id=schedule.id, invoice_schedule_item_id=item.id, bill_run_id=bill_run_id)
    if auto_post:
        invoice = activate(invoice, now, created_by_id, "", customer.payment_term_days)
    return invoice
