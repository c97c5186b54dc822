"""Test clocks under bounds (issue 12): an advance never holds its request past its budget. It moves the clock,
works while the request's budget lasts, then answers 202 and goes on in the worker (one work-queue message per
turn) or, if its runner died, in the wall-clock tick; GET /test/clock shows the target and the progress. The
work done in steps equals the work of one uninterrupted advance."""
from datetime import datetime, timedelta
from decimal import Decimal

import pytest

from chalicelib.domain.timeutil import parse_instant
from chalicelib.services import tenants as tenant_service
from chalicelib.store import tenants as tenant_store


def at(text: str) -> datetime:
    return parse_instant(text)


def test_a_settings_change_racing_an_advance_never_moves_the_clock_back(api):
    t = api.new_tenant("Racy", testMode=True, timezone="UTC", currency="USD", clockStart="2025-01-01T00:00:00Z")
    stale = tenant_store.get_tenant(t.id)  # PATCH /settings read the tenant...
    tenant_store.move_clock(t.id, at("2025-01-01T00:00:00Z"), at("2025-03-01T00:00:00Z"))  # ...an advance moved
    tenant_service.update_settings(stale, {"payment_term_days": 10}, stale.last_modified_date)  # ...then it wrote
    now = tenant_store.get_tenant(t.id)
    assert now.clock == at("2025-03-01T00:00:00Z")
    assert now.payment_term_days == 10
