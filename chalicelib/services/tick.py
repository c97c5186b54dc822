"""The tick: one pass over the work that is due in a clock domain.

The wall-clock tick (EventBridge every minute, or the local tick loop) runs the 'live' domain only; a
test-mode tenant's work sits in its own domain ('test#<tenantId>') and runs only when its test clock
advances. Work kinds (billing schedules, invoice schedule items, recurring invoices, invoice jobs, unfinished
clock advances) register a DueWork source; each finds its due items by an index query keyed on the domain, never
by a Scan. A pass is bounded (docs/limits.md): at most `slots_per_pass` slots of each schedule or template, and no
unit started once the pass's time budget is spent; what it leaves stays due for the next pass.

Every wall-clock tick reports how late it is (the metric TickLagSeconds, which the late-schedules alarm
watches): before it runs anything, the age of the oldest work waiting in the live domain, i.e. the tick's
instant minus the earliest due instant among the items its sources would run (a billing schedule's next
slot, an invoice schedule item's run date, a recurring invoice's generation date, an expired lease of
unfinished work), and 0 when nothing is due. It is measured first so that a tick that fails or times out
still reports the backlog it found, and it counts due work that keeps failing, which only grows older."""
import functools
import logging
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from .. import observability
from ..config import settings
from ..domain.tenants import LIVE_CLOCK
from ..store import ticks
from .budget import Budget

log = logging.getLogger("billrun.tick")


class DueWork(Protocol):
    name: str
    live_only: bool  # work asked for by API calls rather than by time: only the wall-clock tick runs it

    def run_due(self, domain: str, until: datetime, budget: Budget) -> int:
        """One pass over the items due at or before `until` in `domain` (at most `slots_per_pass` per schedule or
        template), starting none once the budget is spent; returns how many ran. What a pass leaves stays due."""

    def oldest_due(self, domain: str, until: datetime) -> datetime | None:
        """The due instant of the earliest item run_due would run (None: nothing is due), from one-item index
        queries: cheap enough for every tick."""


@functools.cache
def sources() -> tuple[DueWork, ...]:
    """Built on first use, not at import: the sources' modules use the tick too (a clock advance runs passes)."""
    from .billing_schedules import BillingScheduleWork
    from .clock import ClockAdvanceWork
    from .invoice_jobs import InvoiceJobWork
    from .invoice_schedules import InvoiceScheduleWork
    from .recurring_invoices import RecurringInvoiceWork
    # the test clocks' advances last: the live domain's own work comes first in a wall-clock tick
    return BillingScheduleWork(), InvoiceScheduleWork(), RecurringInvoiceWork(), InvoiceJobWork(), ClockAdvanceWork()


@dataclass
class TickReport:
    domain: str
    until: datetime
    ran: dict[str, int] = field(default_factory=dict)
    out_of_time: bool = False  # the budget ran out during the pass: some due work may not have started

    @property
    def total(self) -> int:
        return sum(self.ran.values())


def run_domain(domain: str, until: datetime, budget: Budget | None = None) -> TickReport:
    """One pass of every source over the domain's due work, within the budget (default: a tick's)."""
    budget = budget or Budget(settings().tick_budget_seconds)
    report = TickReport(domain, until)
    for source in sources():
        if source.live_only and domain != LIVE_CLOCK:
            continue
        report.ran[source.name] = source.run_due(domain, until, budget)
    report.out_of_time = budget.exhausted()
    ticks.beat(domain, until)
    log.log(logging.INFO if report.total else logging.DEBUG, "tick of %s ran %s", domain, report.ran,
            extra={"domain": domain, "until": until.isoformat(), "ran": report.ran, "outOfTime": report.out_of_time})
    return report


def run_wall_tick(now: datetime) -> TickReport:
    measure_lag(now)
    return run_domain(LIVE_CLOCK, until=now)


def oldest_due(domain: str, until: datetime) -> datetime | None:
    return min(filter(None, (source.oldest_due(domain, until) for source in sources()
                             if domain == LIVE_CLOCK or not source.live_only)), default=None)


def lag_seconds(now: datetime, oldest: datetime | None) -> float:
    """How late the oldest due work is at `now`, to the millisecond; 0 when nothing is due."""
    return round(max((now - oldest).total_seconds(), 0.0), 3) if oldest is not None else 0.0


def measure_lag(now: datetime) -> None:
    """Emits TickLagSeconds for the live domain at `now` (never raises: measuring must not stop the tick)."""
    try:
        lag = lag_seconds(now, oldest_due(LIVE_CLOCK, now))
    except Exception:
        log.exception("the tick's lag could not be measured")
        return
    observability.emit({observability.TICK_LAG: lag})


