"""The work-queue message that gives a worker a turn on a test clock's advance (services/clock.py handles it): sent
when a turn's budget is spent, or when a fanned-out billing job the advance waits for finishes. Apart from clock.py
because fan-out sends it too, and the advance runs the billing jobs that fan out."""
from ..domain.tenants import LIVE_CLOCK, Tenant
from ..store import tenants as store
from . import work_messages

MESSAGE_KIND = "clockAdvance"


def job_finished(tenant_id: str, clock_id: str) -> None:
    """A fanned-out billing job of a test clock finished: its advance (if one waits for it) goes on now."""
    if clock_id == LIVE_CLOCK:
        return
    tenant = store.find_tenant(tenant_id)
    if tenant is not None and tenant.advancing_to is not None:
        send(tenant)


def send(tenant: Tenant, delay_seconds: int = 0) -> None:
    """A nudge: an advance whose message is lost keeps its lease free, and the next wall-clock tick takes it."""
    work_messages.nudge([{"kind": MESSAGE_KIND, "tenantId": tenant.id, "to": tenant.advancing_to.isoformat()}],
                        f"the advance of {tenant.id}", tenant.id, delay_seconds)
