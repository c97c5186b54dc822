"""Provisioning tenants and their API keys, and resolving a presented key to its tenant."""
import uuid
from dataclasses import replace
from datetime import datetime

from ..domain.errors import invalid, unauthorized
from ..domain.tenants import ApiKey, Tenant, hash_key, new_secret
from ..store import tenants as store


def provision(*, name: str, test_mode: bool, timezone: str, currency: str, clock_start: datetime | None,
              now: datetime, key_secret: str | None = None, tenant_id: str | None = None,
              payment_term_days: int = 30) -> tuple[Tenant, ApiKey, str]:
    """A new tenant and its first key; the secret is returned once and only its hash is kept."""
    if clock_start is not None and not test_mode:
        raise invalid("clockStart", "only a test-mode tenant has a test clock")
    tenant = Tenant(id=tenant_id or str(uuid.uuid4()), name=name, test_mode=test_mode, timezone=timezone,
                    currency=currency, payment_term_days=payment_term_days, created_date=now,
                    last_modified_date=now, clock=(clock_start or now) if test_mode else None)
    tenant = store.create_tenant(tenant)
    key, secret = add_key(tenant, "default", now, key_secret)
    return tenant, key, secret


def add_key(tenant: Tenant, name: str, now: datetime, secret: str | None = None) -> tuple[ApiKey, str]:
    secret = secret or new_secret(tenant.test_mode)
    key = ApiKey(id="key_" + uuid.uuid4().hex[:16], tenant_id=tenant.id, name=name, key_hash=hash_key(secret),
                 created_date=now)
    existing = store.find_api_key(key.key_hash)
    if existing is not None:  # only reachable with a chosen secret (BILLRUN_DEMO_API_KEY) re-used on restart
        if existing.tenant_id != tenant.id:
            raise invalid("key", "this key already belongs to another tenant")
        return existing, secret
    return store.save_api_key(key), secret


def revoke_key(tenant_id: str, key_id: str, now: datetime) -> ApiKey:
    store.get_tenant(tenant_id)
    return store.revoke_api_key(tenant_id, key_id, now)


def list_keys(tenant_id: str) -> list[ApiKey]:
    store.get_tenant(tenant_id)
    return store.list_api_keys(tenant_id)


def authenticate(secret: str | None) -> tuple[Tenant, ApiKey]:
    """Missing, unknown or revoked: the same 401, so a probe learns nothing."""
    if not secret:
        raise unauthorized("an API key is required (x-api-key header)")
    key = store.find_api_key(hash_key(secret))
    if key is None or not key.active:
        raise unauthorized("the API key is unknown or revoked")
    tenant = store.find_tenant(key.tenant_id)
    if tenant is None:
        raise unauthorized("the API key is unknown or revoked")
    return tenant, key


def update_settings(tenant: Tenant, changes: dict, now: datetime) -> Tenant:
    updated = replace(tenant, **changes, last_modified_date=now)
    return store.replace_tenant(updated, tenant)
