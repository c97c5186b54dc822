"""Test clocks: a test-mode tenant's time moves only when told, and moving it runs the work that fell due."""
from datetime import datetime

from ..domain.tenants import Tenant, advance_clock
from ..store import tenants as store
from . import tick


def advance(tenant: Tenant, to: datetime) -> tuple[Tenant, tick.TickReport]:
    """Moves the clock, then runs (in order) all work due up to the new instant, as the ticks would have."""
    moved = advance_clock(tenant, to)
    if moved.clock != tenant.clock:
        store.move_clock(tenant.id, tenant.clock, moved.clock)
    report = tick.run_domain(moved.clock_domain, until=moved.clock)
    return moved, report
