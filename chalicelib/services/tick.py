"""The tick: one pass over the work that is due on a clock (services/due_work.py), every kind of work named.

The wall-clock tick (EventBridge every minute, or the local tick loop) runs the 'live' clock only; a
test-mode tenant's work sits in its own clock ('test#<tenantId>') and runs only when its test clock
advances. Work kinds (billing schedules, invoice schedule items, recurring invoices, invoice jobs, unfinished
clock advances) are DueWork sources; the last is the live clock's only. Work a request starts (an execute's bill
run, an invoice job) is handed to the worker at once; the tick recovers it if that message was lost.

Every wall-clock tick reports how late it is (the metric TickLagSeconds, which the late-schedules alarm
watches): before it runs anything, the age of the oldest work waiting in the live clock, i.e. the tick's
instant minus the earliest due instant among the items its sources would run (a billing schedule's next
slot, an invoice schedule item's run date, a recurring invoice's generation date, an expired lease of
unfinished work), and 0 when nothing is due. It is measured first so that a tick that fails or times out
still reports the backlog it found, and it counts due work that keeps failing, which only grows older."""
import logging
from datetime import datetime

from .. import observability
from ..config import settings
from ..domain.tenants import LIVE_CLOCK
from .budget import Budget
from .clock import ClockAdvanceWork
from .due_work import EVERY_CLOCK, TickReport, process_due_work

log = logging.getLogger("billrun.tick")
# the test clocks' advances last: the live clock's own work comes first in a wall-clock tick
SOURCES = EVERY_CLOCK + (ClockAdvanceWork(),)


def process_clock(clock_id: str, until: datetime, budget: Budget | None = None) -> TickReport:
    """One pass of every source over the domain's due work, within the budget (default: a tick's)."""
    return process_due_work(clock_id, until, budget or Budget(settings().tick_budget_seconds), SOURCES)


def run_wall_tick(now: datetime) -> TickReport:
    measure_lag(now)
    return process_clock(LIVE_CLOCK, until=now)


def oldest_due(clock_id: str, until: datetime) -> datetime | None:
    return min(filter(None, (source.oldest_due(clock_id, until) for source in SOURCES
                             if clock_id == LIVE_CLOCK or not source.live_only)), default=None)


def lag_seconds(now: datetime, oldest: datetime | None) -> float:
    """How late the oldest due work is at `now`, to the millisecond; 0 when nothing is due."""
    return round(max((now - oldest).total_seconds(), 0.0), 3) if oldest is not None else 0.0


def measure_lag(now: datetime) -> None:
    """Emits TickLagSeconds for the live clock at `now` (never raises: measuring must not stop the tick)."""
    try:
        lag = lag_seconds(now, oldest_due(LIVE_CLOCK, now))
    except Exception:
        log.exception("the tick's lag could not be measured")
        return
    observability.emit({observability.TICK_LAG: lag})


