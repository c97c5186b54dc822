"""Tenants: the per-tenant clock, clocks, and hashed API keys."""
import hashlib
import re
from datetime import datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from chalicelib.domain.errors import BillrunError
from chalicelib.domain.tenants import LIVE_CLOCK, ApiKey, Tenant, advance_clock, hash_key, new_secret
from chalicelib.domain.timeutil import UTC

CREATED = datetime(2025, 1, 1, tzinfo=UTC)
CLOCK = datetime(2024, 1, 1, tzinfo=UTC)


def tenant(test_mode=True, **overrides) -> Tenant:
    fields = dict(id="t1", name="Acme", test_mode=test_mode, timezone="UTC", currency="USD", created_date=CREATED,
                  last_modified_date=CREATED, clock=CLOCK if test_mode else None)
    return Tenant(**{**fields, **overrides})


def test_test_mode_tenant_lives_at_its_clock_and_live_one_at_the_wall():
    wall = datetime(2025, 6, 30, 2, 42, tzinfo=UTC)
    assert tenant().now(wall) == CLOCK
    assert tenant(test_mode=False).now(wall) == wall


def test_clock_ids():
    assert tenant().clock_id == "test#t1"
    assert tenant(test_mode=False).clock_id == LIVE_CLOCK == "live"


MAX_DAYS = 400


def test_advance_clock_forward():
    later = CLOCK + timedelta(days=40, seconds=1)
    moved = advance_clock(tenant(), later, MAX_DAYS)
    assert moved.clock == later
    assert moved.id == "t1" and moved.test_mode


def test_advance_clock_to_the_same_instant_is_fine():
    assert advance_clock(tenant(), CLOCK, MAX_DAYS).clock == CLOCK


def test_advance_clock_backwards_is_a_conflict_naming_to():
    with pytest.raises(BillrunError) as caught:
        advance_clock(tenant(), CLOCK - timedelta(microseconds=1), MAX_DAYS)
    assert caught.value.kind == "conflict"
    assert [d.field for d in caught.value.details] == ["to"]


def test_live_tenant_has_no_test_clock():
    with pytest.raises(BillrunError) as caught:
        advance_clock(tenant(test_mode=False), CLOCK, MAX_DAYS)
    assert caught.value.kind == "not_found"


def test_one_advance_moves_the_clock_at_most_max_days():
    assert advance_clock(tenant(), CLOCK + timedelta(days=MAX_DAYS), MAX_DAYS).clock == CLOCK + timedelta(days=MAX_DAYS)
    with pytest.raises(BillrunError) as caught:
        advance_clock(tenant(), CLOCK + timedelta(days=MAX_DAYS, microseconds=1), MAX_DAYS)
    assert caught.value.kind == "invalid" and [d.field for d in caught.value.details] == ["to"]


def test_an_unfinished_advance_takes_only_its_own_target_again():
    advancing = advance_clock(tenant(), CLOCK + timedelta(days=1), MAX_DAYS)
    assert advance_clock(advancing, advancing.clock, MAX_DAYS) == advancing
    with pytest.raises(BillrunError) as caught:
        advance_clock(advancing, advancing.clock + timedelta(seconds=1), MAX_DAYS)
    assert caught.value.code == "ClockAdvancing" and [d.field for d in caught.value.details] == ["to"]


def test_hash_key_is_sha256_hex():
    secret = "brk_test_abc"
    digest = hash_key(secret)
    assert digest == hashlib.sha256(b"brk_test_abc").hexdigest()
    assert re.fullmatch(r"[0-9a-f]{64}", digest)
    assert hash_key("brk_test_abd") != digest


def test_new_secrets_are_prefixed_and_random():
    assert new_secret(True).startswith("brk_test_")
    assert new_secret(False).startswith("brk_live_")
    assert len({new_secret(True) for _ in range(50)}) == 50


def test_api_key_active_until_revoked():
    key = ApiKey(id="k", tenant_id="t1", name="default", key_hash=hash_key("s"), created_date=CREATED)
    assert key.active
    assert not ApiKey(**{**key.__dict__, "revoked_date": CREATED}).active


@settings(max_examples=200, deadline=None)
@given(st.integers(min_value=-10**12, max_value=MAX_DAYS * 86_400 * 10**6))
def test_clock_only_moves_forward(delta_us):
    to = CLOCK + timedelta(microseconds=delta_us)
    if delta_us < 0:
        with pytest.raises(BillrunError):
            advance_clock(tenant(), to, MAX_DAYS)
    else:
        assert advance_clock(tenant(), to, MAX_DAYS).clock == to


@settings(max_examples=100, deadline=None)
@given(st.text(max_size=64))
def test_hash_key_is_deterministic_hex(secret):
    assert hash_key(secret) == hash_key(secret) == hashlib.sha256(secret.encode()).hexdigest()
