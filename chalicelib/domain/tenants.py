"""Tenants, API keys and the per-tenant clock (test-mode tenants travel in time; live ones follow the wall)."""
import hashlib
import secrets
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from .enums import CanonicalEnum
from .errors import conflict, invalid, not_found

LIVE_CLOCK = "live"


class ClockStatus(CanonicalEnum):
    READY = "Ready"
    ADVANCING = "Advancing"  # the clock is at its target; work that fell due on the way is still running


@dataclass(frozen=True)
class Tenant:
    id: str
    name: str
    test_mode: bool
    timezone: str
    currency: str
    created_date: datetime
    last_modified_date: datetime
    payment_term_days: int = 30
    generate_first_invoice_on_order_activation: bool = False
    clock: datetime | None = None  # test-mode tenants only: the instant their world is at
    advancing_to: datetime | None = None  # the clock's target while an advance's work is unfinished (= clock)
    advance_ran: dict | None = None  # work run per kind by the current (or the last) advance, so far
    version: int = 0  # compare-and-set counter: timestamps cannot serve, a test clock may stand still

    def now(self, wall: datetime) -> datetime:
        """The instant every date decision for this tenant uses."""
        return self.clock if self.test_mode else wall

    @property
    def clock_status(self) -> ClockStatus:
        return ClockStatus.READY if self.advancing_to is None else ClockStatus.ADVANCING

    @property
    def clock_id(self) -> str:
        """Which tick owns this tenant's due work: the wall-clock tick, or only this tenant's test clock."""
        return f"{TEST_CLOCK_PREFIX}{self.id}" if self.test_mode else LIVE_CLOCK


TEST_CLOCK_PREFIX = "test#"


def clock_tenant(clock_id: str) -> str | None:
    """The tenant whose test clock `clock_id` is (None: the live clock, every live tenant's)."""
    return clock_id.removeprefix(TEST_CLOCK_PREFIX) if clock_id.startswith(TEST_CLOCK_PREFIX) else None


def advance_clock(tenant: Tenant, to: datetime, max_days: int) -> Tenant:
    """The clock moved to `to`, its work not done yet. An unfinished advance only takes its own target again; a
    new one moves the clock at most `max_days` (a year of work comes in steps, as Stripe's test clocks do)."""
    if not tenant.test_mode:
        raise not_found("test clock")
    if tenant.advancing_to is not None and to != tenant.advancing_to:
        raise conflict(f"the test clock is still advancing to {tenant.advancing_to.isoformat()}; wait until "
                       "GET /test/clock answers status Ready (or send that same target again to help it on)",
                       "ClockAdvancing", "to")
    if to < tenant.clock:
        raise conflict("the test clock never moves backwards", "ClockBackwards", "to")
    if to - tenant.clock > timedelta(days=max_days):
        raise invalid("to", f"at most {max_days} days after the clock ({tenant.clock.isoformat()}) in one advance "
                      "(BILLRUN_MAX_ADVANCE_DAYS); advance in steps")
    return replace(tenant, clock=to, advancing_to=to)


@dataclass(frozen=True)
class ApiKey:
    id: str
    tenant_id: str
    name: str
    key_hash: str
    created_date: datetime
    revoked_date: datetime | None = None

    @property
    def active(self) -> bool:
        return self.revoked_date is None


def hash_key(secret: str) -> str:
    """Keys are stored as SHA-256; the secret itself is shown once and never kept."""
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def new_secret(test_mode: bool) -> str:
    return ("brk_test_" if test_mode else "brk_live_") + secrets.token_urlsafe(32)
