"""Owns the tenants and api-keys tables."""
from dataclasses import replace
from datetime import datetime

from pynamodb.exceptions import DoesNotExist, PutError, UpdateError

from ..domain.errors import conflict, not_found
from ..domain.tenants import ApiKey, Tenant
from . import tables
from .tenant_models import ApiKeyModel, TenantModel
from .repository import condition_failed, earliest, update_if


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


SETTINGS = ("name", "timezone", "currency", "payment_term_days", "generate_first_invoice_on_order_activation",
            "last_modified_date")


def replace_tenant(tenant: Tenant, previous: Tenant) -> Tenant:
    """Writes the settings only (compare-and-set on the version): the clock and its advance have writers of their
    own, which a settings change holding an older copy must never undo."""
    tables.bind()
    tenant = replace(tenant, version=previous.version + 1)
    actions = [getattr(TenantModel, name).set(getattr(tenant, name)) for name in SETTINGS]
    try:
        TenantModel(id=tenant.id).update(actions=actions + [TenantModel.version.set(tenant.version)],
                                         condition=TenantModel.version == previous.version)
    except UpdateError as error:
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


# --- a test clock's advance and its lease (services/clock.py) ----------------------------------------------------

ADVANCING = "advancing"  # the one partition of the sparse `advancing` index, read by the wall-clock tick


def _update(tenant_id: str, actions, condition) -> bool:
    return update_if(TenantModel(id=tenant_id), actions, condition)


def _lease(owner: str, until: datetime) -> list:
    return [TenantModel.advance_partition.set(ADVANCING), TenantModel.advance_lease_until.set(until),
            TenantModel.advance_owner.set(owner)]


def start_advance(tenant: Tenant, moved: Tenant, owner: str, lease_until: datetime) -> bool:
    """The clock moves to `moved.clock` with its advance unfinished (its counts `moved.advance_ran`) and leased to
    `owner`; compare-and-set on the clock, so of concurrent advances from one instant one starts. False: the
    clock moved, or an advance runs."""
    M = TenantModel
    return _update(tenant.id, [M.clock.set(moved.clock), M.advancing_to.set(moved.advancing_to),
                               M.advance_ran.set(moved.advance_ran), *_lease(owner, lease_until)],
                   (M.clock == tenant.clock) & M.advancing_to.does_not_exist())


def take_advance(tenant_id: str, to: datetime, owner: str, now: datetime, lease_until: datetime) -> bool:
    """The unfinished advance to `to`, if nobody holds it (its lease ran out or was handed on)."""
    M = TenantModel
    return _update(tenant_id, _lease(owner, lease_until), (M.advancing_to == to) & (M.advance_lease_until <= now))


def record_advance(tenant_id: str, owner: str, ran: dict[str, int], lease_until: datetime) -> bool:
    """Adds one pass's counts and renews the lease. False: the lease was lost to another runner (stop)."""
    M = TenantModel
    counts = [M.advance_ran[name].set((M.advance_ran[name] | 0) + n) for name, n in ran.items() if n]
    return _update(tenant_id, [*counts, M.advance_lease_until.set(lease_until)], M.advance_owner == owner)


def hand_on_advance(tenant_id: str, owner: str, now: datetime) -> bool:
    """Gives the lease up at once (out of time, work left): the next runner takes it without waiting."""
    return _update(tenant_id, [TenantModel.advance_lease_until.set(now)], TenantModel.advance_owner == owner)


def finish_advance(tenant_id: str, owner: str) -> bool:
    """The advance is done: the clock is Ready again (the counts stay, as the last advance's)."""
    M = TenantModel
    return _update(tenant_id, [M.advancing_to.remove(), M.advance_partition.remove(), M.advance_lease_until.remove(),
                               M.advance_owner.remove()], M.advance_owner == owner)


def advances_waiting(now: datetime) -> list[str]:
    """Tenants whose unfinished advance nobody holds: handed on, or its runner died."""
    tables.bind()
    return [item.id for item in TenantModel.advancing.query(ADVANCING, TenantModel.advance_lease_until <= now)]


def oldest_waiting_advance(now: datetime) -> datetime | None:
    return earliest(TenantModel.advancing, [ADVANCING], TenantModel.advance_lease_until, now)


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
