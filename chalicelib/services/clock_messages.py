"""The work-queue message that gives a worker a turn on a test clock's advance (services/clock.py handles it): sent
when a turn's budget is spent, or when a fanned-out billing job the advance waits for finishes. Apart from clock.py
because fan-out sends it too, and the advance runs the billing jobs that fan out."""
import logging

from ..domain.tenants import LIVE_CLOCK, Tenant
from ..store import tenants as store
from ..store import work_queue

log = logging.getLogger("billrun.clock")
MESSAGE_KIND = "clockAdvance"


def job_finished(tenant_id: str, clock_id: str) -> None:
    """A fanned-out billing job of a test clock finished: its advance (if one waits for it) goes on now."""
    if clock_id == LIVE_CLOCK:
        return
    tenant = store.find_tenant(tenant_id)
    if tenant is not None and tenant.advancing_to is not None:
        send(tenant)


def send(tenant: Tenant, delay_seconds: int = 0) -> None:
    try:
        work_queue.send([{"kind": MESSAGE_KIND, "tenantId": tenant.id, "to": tenant.advancing_to.isoformat()}],
                        delay_seconds)
    except Exception:  # the advance is not lost: its lease is free, and the next wall-clock tick takes it
        log.exception("the advance of %s could not be handed to the worker", tenant.id)
