"""The tick: one pass over the work that is due in a clock domain.

The wall-clock tick (EventBridge every minute, or the local tick loop) runs the 'live' domain only; a
test-mode tenant's work sits in its own domain ('test#<tenantId>') and runs only when its test clock
advances. Work kinds (billing schedules, invoice schedule items, recurring invoices) register a
DueWork source; each finds its due items by an index query keyed on the domain, never by a Scan."""
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from ..domain.tenants import LIVE_CLOCK
from ..store import ticks


class DueWork(Protocol):
    name: str
    live_only: bool  # work asked for by API calls rather than by time: only the wall-clock tick runs it

    def run_due(self, domain: str, until: datetime) -> int:
        """Runs every item due at or before `until` in `domain`; returns how many ran."""


def _sources() -> list[DueWork]:
    from .billing_schedules import BillingScheduleWork
    from .invoice_jobs import InvoiceJobWork
    from .invoice_schedules import InvoiceScheduleWork
    from .recurring_invoices import RecurringInvoiceWork
    return [BillingScheduleWork(), InvoiceScheduleWork(), RecurringInvoiceWork(), InvoiceJobWork()]


SOURCES: list[DueWork] = _sources()


@dataclass
class TickReport:
    domain: str
    until: datetime
    ran: dict[str, int] = field(default_factory=dict)


def run_domain(domain: str, until: datetime) -> TickReport:
    report = TickReport(domain, until)
    for source in SOURCES:
        if source.live_only and domain != LIVE_CLOCK:
            continue
        report.ran[source.name] = source.run_due(domain, until)
    ticks.beat(domain, until)
    return report


def run_wall_tick(now: datetime) -> TickReport:
    return run_domain(LIVE_CLOCK, until=now)


