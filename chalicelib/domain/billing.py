"""Billing proposals: what a billing job should charge and credit, per subscription period, up to a target date.

This module only computes, deterministically, from the subscriptions and a ledger of what is already billed.
Exactly-once is enforced by the caller: the ledger is keyed by (subscription id, period start) and each
PeriodChange carries the entry version it was computed from, so a claim is a conditional write.

Rules of propose():

1. Every subscription is considered whatever its status: a Canceled one may still owe (a period not yet
   billed before the cancellation) or be owed (time billed in advance and then given back).
2. Due periods: periods(start, end, billing_period, bill_cycle_day, through=target) filtered by
   due_periods(): InAdvance = periods starting on/before the target, InArrears = ending on/before it.
3. A due period that is unbilled (no ledger entry, or an entry holding only own_documents and netting to 0
   without them) gets CHARGE lines: one per quantity piece (split_by_quantity within the service range),
   amount = prorate(quantity x unit_price, piece days, full cycle days, currency). Zero-amount pieces get
   no line (a free product bills nothing).
4. A period with a ledger entry billed by someone else (due or not, including periods that a cancellation
   removed from the generated schedule) is re-valued: diff = should_amount(sub, period as billed) -
   entry.billed_excluding(own_documents). diff > 0: one adjustment charge; diff < 0: one adjustment credit;
   0: nothing. The adjustment covers the days whose worth changed, best effort: a cancellation gives
   new end + 1 .. period end, a quantity change gives change date .. period end, otherwise the whole period.
5. own_documents are the documents of the job now (re-)running: their claims count as not yet billed, so a
   re-run after a crash proposes the same lines again. The entry's version is still reported as
   expected_version; the caller recognises its own document on the entry and does not apply it twice.
6. changes: one PeriodChange per period that has lines; delta = signed sum of that period's lines;
   expected_version = the entry's version, 0 without an entry. For a charge the period is the generated one;
   for an adjustment it is the period as recorded in the ledger (it may no longer have a day in service).
7. skipped: (subscription id, reason) for each subscription without lines: "zero amount" (due periods
   billed nothing but zero), "already billed" (due periods or ledger entries, all settled), else "nothing due".
8. Order: subscriptions by id, periods by start, lines by start date. Same input, same proposal.
9. Money: Decimal only. prorate rounds HALF_UP once per piece at the currency's minor units; products,
   differences and sums are exact (an inexact operation raises instead of rounding silently).
10. settled: {subscription id: a date} for subscriptions whose every period starting on or before that date is
   billed at what it is worth under the subscription's terms as they are (its fingerprint() has not changed since;
   the caller's ledger head vouches for it, see settled_through()). Those periods are left out unread: only later
   ones are proposed, and a subscription with none of them is "already billed". The proposal equals the one
   computed from all the subscription's entries, save that a period billed at zero reads as "already billed".
"""
import hashlib
from collections import defaultdict
from dataclasses import dataclass, replace
from datetime import date, timedelta
from decimal import Decimal, Inexact, getcontext, localcontext
from typing import Collection, Iterable, Mapping, Sequence

from .money import round_money
from .periods import Period, due_periods, periods, prorate, split_by_quantity
from .subscriptions import Subscription

ONE_DAY = timedelta(days=1)
CHARGE = "charge"
ADJUSTMENT = "adjustment"
NOTHING_DUE = "nothing due"
ALREADY_BILLED = "already billed"
ZERO_AMOUNT = "zero amount"


@dataclass(frozen=True)
class LedgerEntry:
    """Net amount invoiced so far for one subscription period (charges minus credits), and by which documents."""
    subscription_id: str
    period_start: date
    period_end: date
    full_start: date
    full_end: date
    billed_amount: Decimal
    version: int
    documents: tuple[tuple[str, Decimal], ...] = ()  # (document id, signed amount), in order

    @property
    def period(self) -> Period:
        return Period(self.period_start, self.period_end, self.full_start, self.full_end)

    def billed_excluding(self, document_ids: Collection[str]) -> Decimal:
        """Net amount not counting those documents."""
        excluded = set(document_ids)
        return _minus(self.billed_amount, _sum(amount for doc, amount in self.documents if doc in excluded))

    def billed_only_by(self, document_ids: Collection[str]) -> bool:
        """Nothing on record outside these documents: for everyone else the period is still unbilled."""
        excluded = set(document_ids)
        return self.billed_excluding(excluded) == 0 and all(doc in excluded for doc, _ in self.documents)


@dataclass(frozen=True)
class ProposedLine:
    subscription_id: str
    product_id: str
    period_start: date  # the ledger period this line belongs to (its key with subscription_id)
    start_date: date  # the days this line covers (a quantity piece, or the adjusted range)
    end_date: date
    quantity: Decimal
    unit_price: Decimal
    amount: Decimal  # signed: > 0 charge (goes on the invoice), < 0 credit (goes on a credit memo)
    days: int | None  # proration numerator/denominator for charge lines; None for adjustment lines
    full_days: int | None
    kind: str  # "charge" | "adjustment"
    description: str


@dataclass(frozen=True)
class PeriodChange:
    """Everything the ledger must record for one period if this proposal is claimed."""
    subscription_id: str
    period: Period
    expected_version: int  # version of the ledger entry the proposal was computed from (0 = no entry yet)
    delta: Decimal  # signed sum of this period's lines


@dataclass(frozen=True)
class Proposal:
    lines: tuple[ProposedLine, ...]
    changes: tuple[PeriodChange, ...]
    skipped: tuple[tuple[str, str], ...]  # (subscription id, reason) for subscriptions without lines


@dataclass(frozen=True)
class _Piece:
    period: Period
    quantity: Decimal
    amount: Decimal


# --- exact arithmetic ------------------------------------------------------------------------------

def _exact():
    # The default 28-digit context would round a huge product or sum without a word; trap it instead.
    context = getcontext().copy()
    context.prec = 60
    context.traps[Inexact] = True
    return localcontext(context)


def _sum(amounts: Iterable[Decimal]) -> Decimal:
    with _exact():
        return sum(amounts, Decimal(0))


def _minus(a: Decimal, b: Decimal) -> Decimal:
    with _exact():
        return a - b


def _times(a: Decimal, b: Decimal) -> Decimal:
    with _exact():
        return Decimal(a) * Decimal(b)


def _prorate(full_amount: Decimal, days: int, full_days: int, currency: str) -> Decimal:
    # prorate is exact but builds its result in the current context: 28 digits would fail on huge amounts.
    with _exact():
        return prorate(full_amount, days, full_days, currency)


def _in_minor_units(amount: Decimal, currency: str) -> Decimal:
    """Same value written with the currency's places; a ledger amount finer than that is corrupt data."""
    normalised = round_money(amount, currency)
    if normalised != amount:
        raise ValueError(f"{amount} has more decimals than {currency} allows")
    return normalised


# --- what a period is worth ------------------------------------------------------------------------

def _in_service(sub: Subscription, period: Period) -> Period | None:
    """The period cut to [start_date, end_date]; None when no day of it is in service."""
    start = max(period.start, sub.start_date)
    end = period.end if sub.end_date is None else min(period.end, sub.end_date)
    return replace(period, start=start, end=end) if start <= end else None


def _worth(sub: Subscription, period: Period) -> list[_Piece]:
    """The period split where the quantity changes, each piece prorated against the full cycle."""
    changes = [(c.effective_date, c.quantity) for c in sub.quantity_changes]
    return [_Piece(piece, quantity,
                   _prorate(_times(quantity, sub.unit_price), piece.days, piece.full_days, sub.currency))
            for piece, quantity in split_by_quantity(period, changes, sub.initial_quantity)]


def _pieces(sub: Subscription, period: Period) -> list[_Piece]:
    in_service = _in_service(sub, period)
    return [] if in_service is None else _worth(sub, in_service)


def should_amount(sub: Subscription, period: Period) -> Decimal:
    """What the period is worth now: its days in service, split by quantity, each piece prorated. 0 if none."""
    return _sum(piece.amount for piece in _pieces(sub, period))


# --- lines -----------------------------------------------------------------------------------------

def _days_text(start: date, end: date) -> str:
    return start.isoformat() if start == end else f"{start.isoformat()} – {end.isoformat()}"


def _quantity_text(quantity: Decimal) -> str:
    return format(quantity.normalize(), "f")  # 3, not 3.00 or 3E+0


def _charge_lines(sub: Subscription, period: Period, product: str) -> list[ProposedLine]:
    pieces = _pieces(sub, period)
    split = len(pieces) > 1  # the quantity only needs naming when it differs within the period
    lines = []
    for piece in pieces:
        if piece.amount == 0:
            continue  # a free product (or a rounding to nothing) bills nothing rather than a 0 line
        description = f"{product} {_days_text(piece.period.start, piece.period.end)}"
        if split:
            description += f" (qty {_quantity_text(piece.quantity)})"
        lines.append(ProposedLine(sub.id, sub.product_id, period.start, piece.period.start, piece.period.end,
                                  piece.quantity, sub.unit_price, piece.amount, piece.period.days,
                                  piece.period.full_days, CHARGE, description))
    return lines


def _quantity_moves(sub: Subscription, first: date, last: date) -> tuple[date | None, list[Decimal]]:
    """First day within [first, last] the quantity changes, and the chain of quantities (2 -> 3 -> 1)."""
    quantities, first_move = [sub.quantity_on(first - ONE_DAY)], None
    for day in sorted({c.effective_date for c in sub.quantity_changes if first <= c.effective_date <= last}):
        quantity = sub.quantity_on(day)
        if quantity != quantities[-1]:
            quantities.append(quantity)
            first_move = first_move or day
    return first_move, quantities


def _explain(sub: Subscription, entry: LedgerEntry, billed_net: Decimal) -> tuple[date, str]:
    """Best-effort first day whose worth changed, and why. The ledger does not record billed quantities."""
    billed = entry.period
    reasons, first = [], billed.end
    if sub.end_date is not None and sub.end_date < billed.end:
        reasons.append("canceled")
        first = max(sub.end_date + ONE_DAY, billed.start)
    # Worth of the billed days at today's quantities: if it differs from what was billed, quantities moved.
    if _sum(piece.amount for piece in _worth(sub, billed)) != billed_net:
        last_in_service = billed.end if sub.end_date is None else min(billed.end, sub.end_date)
        moved, quantities = _quantity_moves(sub, billed.start, last_in_service)
        if moved is not None:
            reasons.append("quantity " + " -> ".join(_quantity_text(q) for q in quantities))
            first = min(first, moved)
        else:
            # e.g. a released invoice (net 0) billed again, or a change dated before the period
            reasons.append("re-billed" if billed_net == 0 else "correction")
            first = billed.start
    return first, ", ".join(reasons)


def _adjustment_lines(sub: Subscription, entry: LedgerEntry, product: str,
                      own: frozenset[str]) -> list[ProposedLine]:
    billed_net = entry.billed_excluding(own)
    diff = _in_minor_units(_minus(should_amount(sub, entry.period), billed_net), sub.currency)
    if diff == 0:
        return []
    first, reason = _explain(sub, entry, billed_net)
    description = f"Adjustment: {product} {_days_text(first, entry.period_end)} ({reason})"
    return [ProposedLine(sub.id, sub.product_id, entry.period_start, first, entry.period_end, Decimal(1), diff,
                         diff, None, None, ADJUSTMENT, description)]


# --- the proposal ----------------------------------------------------------------------------------

def _due(sub: Subscription, target: date) -> dict[date, Period]:
    generated = periods(sub.start_date, sub.end_date, sub.billing_period, sub.bill_cycle_day, through=target)
    return {p.start: p for p in due_periods(generated, sub.billing_timing, target)}


def _propose_subscription(sub: Subscription, entries: Mapping[date, LedgerEntry], target: date, product: str,
                          own: frozenset[str], through: date | None
                          ) -> tuple[list[ProposedLine], list[PeriodChange], str | None]:
    due = _due(sub, target)
    lines, changes, zero_only = [], [], False
    # Ledger periods are visited even when no longer generated: a cancellation may owe them a credit.
    for start in sorted(set(due) | set(entries)):
        if through is not None and start <= through:
            continue  # settled (rule 10)
        entry = entries.get(start)
        if entry is None or entry.billed_only_by(own):
            if start not in due:
                continue
            period, period_lines = due[start], _charge_lines(sub, due[start], product)
            zero_only = zero_only or not period_lines
        else:
            period, period_lines = entry.period, _adjustment_lines(sub, entry, product, own)
        if period_lines:
            version = entry.version if entry is not None else 0
            changes.append(PeriodChange(sub.id, period, version, _sum(line.amount for line in period_lines)))
            lines += period_lines
    if lines:
        return lines, changes, None
    reason = ZERO_AMOUNT if zero_only else ALREADY_BILLED if due or entries or through else NOTHING_DUE
    return [], [], reason


def _entries_by_subscription(ledger: Mapping[tuple[str, date], LedgerEntry]) -> dict[str, dict[date, LedgerEntry]]:
    grouped: dict[str, dict[date, LedgerEntry]] = defaultdict(dict)
    for (subscription_id, start), entry in ledger.items():
        grouped[subscription_id][start] = entry
    return grouped


def propose(subscriptions: Sequence[Subscription], ledger: Mapping[tuple[str, date], LedgerEntry], target: date,
            product_names: Mapping[str, str], own_documents: Collection[str] = (),
            settled: Mapping[str, date] | None = None) -> Proposal:
    """What a billing job should charge and credit up to target (rules in the module docstring)."""
    own, settled = frozenset(own_documents), settled or {}
    entries = _entries_by_subscription(ledger)
    lines: list[ProposedLine] = []
    changes: list[PeriodChange] = []
    skipped: list[tuple[str, str]] = []
    for sub in sorted(subscriptions, key=lambda s: s.id):
        product = product_names.get(sub.product_id, sub.product_id)
        sub_lines, sub_changes, reason = _propose_subscription(sub, entries.get(sub.id, {}), target, product, own,
                                                               settled.get(sub.id))
        lines += sub_lines
        changes += sub_changes
        if reason is not None:
            skipped.append((sub.id, reason))
    return Proposal(tuple(lines), tuple(changes), tuple(skipped))


# --- what a ledger head vouches for (rule 10) --------------------------------------------------------------

def fingerprint(sub: Subscription) -> str:
    """A digest of every term propose() reads from a subscription: while it is unchanged, so is every period's
    worth, and periods billed at their worth stay settled."""
    terms = (sub.start_date, sub.end_date, sub.billing_period.value, sub.bill_cycle_day, sub.billing_timing.value,
             sub.unit_price, sub.initial_quantity, sub.currency,
             tuple((c.effective_date, c.quantity) for c in sub.quantity_changes))
    return hashlib.blake2b(repr(terms).encode(), digest_size=8).hexdigest()


def settled_through(sub: Subscription, entries: Mapping[date, LedgerEntry], changed: Collection[date], target: date,
                    previous: date | None, own_documents: Collection[str] = ()) -> date | None:
    """Once a proposal for sub at target is claimed (changing the periods starting on `changed`), the latest date
    through which every period of sub is billed at its worth: the latest of the previous mark, the starts of the
    entries the proposal read or changed, and the starts of the periods due at target. None when there is no such
    date: sub has no entry, or an entry it read stays unbilled at a worth above zero (released, and not due yet),
    which only reading it again can tell."""
    due = _due(sub, target)
    own = frozenset(own_documents)
    if any(start not in changed and entry.billed_only_by(own) and should_amount(sub, due.get(start, entry.period))
           for start, entry in entries.items()):
        return None
    starts = [*entries, *changed, *due, *([previous] if previous else [])]
    return max(starts) if entries or changed or previous else None
