"""Owns the tenants and api-keys tables."""
from dataclasses import replace
from datetime import datetime

from pynamodb.exceptions import DoesNotExist, PutError, UpdateError

from ..domain.errors import conflict, not_found
from ..domain.tenants import ApiKey, Tenant
from . import tables
from .models import ApiKeyModel, TenantModel
from .repository import condition_failed


def create_tenant(tenant: Tenant) -> Tenant:
    tables.bind()
    try:
        TenantModel.from_entity(tenant).save(condition=TenantModel.id.does_not_exist())
    except PutError as error:
        if not condition_failed(error):
            raise
        return get_tenant(tenant.id)
    return tenant


def find_tenant(tenant_id: str) -> Tenant | None:
    tables.bind()
    try:
        return TenantModel.get(tenant_id, consistent_read=True).to_entity()
    except DoesNotExist:
        return None


def get_tenant(tenant_id: str) -> Tenant:
    tenant = find_tenant(tenant_id)
    if tenant is None:
        raise not_found("tenant", tenant_id)
    return tenant


def list_tenants() -> list[Tenant]:
    """Admin listing; tenants are few, and this is never on a request or tick hot path."""
    tables.bind()
    return [item.to_entity() for item in TenantModel.scan()]


def replace_tenant(tenant: Tenant, previous: Tenant) -> Tenant:
    tables.bind()
    tenant = replace(tenant, version=previous.version + 1)
    try:
        TenantModel.from_entity(tenant).save(condition=TenantModel.version == previous.version)
    except PutError as error:
        if not condition_failed(error):
            raise
        raise conflict("settings were changed by another request; read them again and retry",
                       "ConcurrentModification") from None
    return tenant


def move_clock(tenant_id: str, old: datetime, new: datetime) -> None:
    """Compare-and-set: two concurrent advances cannot both move the clock from the same instant."""
    tables.bind()
    try:
        TenantModel(id=tenant_id).update(actions=[TenantModel.clock.set(new)],
                                         condition=TenantModel.clock == old)
    except UpdateError as error:
        if not condition_failed(error):
            raise
        raise conflict("the test clock moved meanwhile; read it again and retry", "ConcurrentModification") from None


def save_api_key(key: ApiKey) -> ApiKey:
    tables.bind()
    ApiKeyModel.from_entity(key).save(condition=ApiKeyModel.key_hash.does_not_exist())
    return key


def find_api_key(key_hash: str) -> ApiKey | None:
    tables.bind()
    try:
        return ApiKeyModel.get(key_hash, consistent_read=True).to_entity()
    except DoesNotExist:
        return None


def list_api_keys(tenant_id: str) -> list[ApiKey]:
    tables.bind()
    return [item.to_entity() for item in ApiKeyModel.by_tenant.query(tenant_id)]


def revoke_api_key(tenant_id: str, key_id: str, at: datetime) -> ApiKey:
    """Idempotent: revoking a revoked key keeps its first revocation time."""
    matches = [k for k in list_api_keys(tenant_id) if k.id == key_id]
    if not matches:
        raise not_found("api key", key_id)
    key = matches[0]
    if key.revoked_date is None:
        try:
            ApiKeyModel(key_hash=key.key_hash).update(actions=[ApiKeyModel.revoked_date.set(at)],
                                                      condition=ApiKeyModel.revoked_date.does_not_exist())
        except UpdateError as error:
            if not condition_failed(error):
                raise
    return find_api_key(key.key_hash)
