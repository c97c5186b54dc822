"""The calling tenant's own settings and test clock."""
from chalice import Blueprint

from ..domain.errors import not_found
from ..services import clock as clock_service
from ..services import tenants as tenant_service
from . import schemas as s
from .http import changes, operation

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


@operation(bp, "GET", "/test/clock", summary="A test-mode tenant's clock", tag="Test clock", response=s.Clock)
def get_clock(call):
    tenant = _test_tenant(call)
    return {"tenant_id": tenant.id, "now": tenant.clock}


@operation(bp, "POST", "/test/clock:advance", summary="Move the test clock forward, running all work that "
           "falls due on the way, in order", tag="Test clock", body=s.ClockAdvance, response=s.ClockAdvanced)
def advance_clock(call):
    tenant, report = clock_service.advance(_test_tenant(call), call.body.to)
    return {"tenant_id": tenant.id, "now": tenant.clock, "ran": report.ran}
