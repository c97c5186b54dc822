"""One pass over a clock's due work, and the kinds of work every clock has: billing schedules, invoice
schedule items (and the bill runs execute requests made), recurring invoices, invoice jobs. A test clock's
advance runs these passes over its tenant's work; the tick (tick.py) adds the live clock's own (advances nobody
holds). Apart from tick.py because a clock advance is itself work of the live clock: the tick imports clock.py,
which imports this module.

Each kind of work is a DueWork source that finds its due items by an index query keyed on the domain, never by
a Scan. A pass is bounded (docs/limits.md): at most `slots_per_pass` slots of each schedule or template, and no
unit started once the pass's time budget is spent; what it leaves stays due for the next pass."""
import logging
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from ..domain.tenants import LIVE_CLOCK
from ..store import ticks
from .billing_schedules import BillingScheduleWork
from .budget import Budget
from .invoice_jobs import InvoiceJobWork
from .invoice_schedules import InvoiceScheduleWork
from .recurring_invoices import RecurringInvoiceWork

log = logging.getLogger("billrun.tick")


class DueWork(Protocol):
    name: str
    live_only: bool  # only the wall-clock tick runs it (advances nobody holds), never a test clock's advance

    def process_due(self, clock_id: str, until: datetime, budget: Budget) -> int:
        """One pass over the items due at or before `until` in `clock_id` (at most `slots_per_pass` per schedule or
        template), starting none once the budget is spent; returns how many ran. What a pass leaves stays due."""

    def oldest_due(self, clock_id: str, until: datetime) -> datetime | None:
        """The due instant of the earliest item process_due would run (None: nothing is due), from one-item index
        queries: cheap enough for every tick."""


EVERY_CLOCK: tuple[DueWork, ...] = (BillingScheduleWork(), InvoiceScheduleWork(), RecurringInvoiceWork(),
                                    InvoiceJobWork())


@dataclass
class TickReport:
    clock_id: str
    until: datetime
    ran: dict[str, int] = field(default_factory=dict)
    out_of_time: bool = False  # the budget ran out during the pass: some due work may not have started

    @property
    def total(self) -> int:
        return sum(self.ran.values())


def process_due_work(clock_id: str, until: datetime, budget: Budget, sources=EVERY_CLOCK) -> TickReport:
    """One pass of the sources (those of them the domain runs) over its due work, within the budget."""
    report = TickReport(clock_id, until)
    for source in sources:
        if source.live_only and clock_id != LIVE_CLOCK:
            continue
        report.ran[source.name] = source.process_due(clock_id, until, budget)
    report.out_of_time = budget.exhausted()
    ticks.beat(clock_id, until)
    log.log(logging.INFO if report.total else logging.DEBUG, "tick of %s ran %s", clock_id, report.ran,
            extra={"clockId": clock_id, "until": until.isoformat(), "ran": report.ran, "outOfTime": report.out_of_time})
    return report
