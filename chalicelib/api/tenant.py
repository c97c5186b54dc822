"""The calling tenant's own settings and test clock."""
from chalice import Blueprint

from ..domain.errors import not_found
from ..services import clock as clock_service
from ..services import tenants as tenant_service
from . import schemas as s
from .http import Accepted, changes, operation

bp = Blueprint(__name__)


@operation(bp, "GET", "/settings", summary="Get tenant settings", tag="Settings", response=s.Settings)
def get_settings(call):
    return call.ctx.tenant


@operation(bp, "PATCH", "/settings", summary="Update tenant settings", tag="Settings", body=s.SettingsUpdate,
           response=s.Settings)
def update_settings(call):
    sent = changes(call.body, set(s.SettingsUpdate.model_fields))
    return tenant_service.update_settings(call.ctx.tenant, sent, call.ctx.now)


def _test_tenant(call):
    if not call.ctx.tenant.test_mode:
        raise not_found("test clock", "live tenants have no test clock")
    return call.ctx.tenant


def _clock(tenant) -> dict:
    return {"tenant_id": tenant.id, "now": tenant.clock, "status": tenant.clock_status,
            "advancing_to": tenant.advancing_to, "ran": dict(sorted((tenant.advance_ran or {}).items()))}


@operation(bp, "GET", "/test/clock", summary="A test-mode tenant's clock, and the progress of its advance",
           tag="Test clock", response=s.Clock)
def get_clock(call):
    return _clock(_test_tenant(call))


@operation(bp, "POST", "/test/clock:advance", summary="Move the test clock forward, running all work that "
           "falls due on the way, in order; 202 when that work goes on after the answer (poll GET /test/clock)",
           tag="Test clock", body=s.ClockAdvance, response=s.Clock, accepted=s.Clock)
def advance_clock(call):
    tenant, done = clock_service.advance(_test_tenant(call), call.body.to)
    return _clock(tenant) if done else Accepted(_clock(tenant), "/test/clock")
