"""Admin routes (x-admin-key): provision tenants and manage their API keys."""
from chalice import Blueprint

from ..domain.timeutil import wall_now
from ..services import tenants as service
from ..services import views
from . import schemas as s
from .http import operation

bp = Blueprint(__name__)
TAG = "Admin"


def _key_view(key, secret=None):
    return {**key.__dict__, "active": key.active, "key": secret}


@operation(bp, "POST", "/admin/tenants", summary="Provision a tenant and its first API key (shown once)",
           tag=TAG, auth="admin", body=s.TenantCreate, response=s.TenantCreated, status=201)
def create_tenant(call):
    b = call.body
    tenant, key, secret = service.provision(name=b.name, test_mode=b.test_mode, timezone=b.timezone,
                                            currency=b.currency, clock_start=b.clock_start, now=wall_now(),
                                            payment_term_days=b.payment_term_days)
    return {"tenant": tenant, "api_key": _key_view(key, secret)}


@operation(bp, "GET", "/admin/tenants", summary="List tenants", tag=TAG, auth="admin", response=s.TenantList)
def list_tenants(call):
    return {"data": views.tenants()}


@operation(bp, "GET", "/admin/tenants/{id}", summary="Get a tenant", tag=TAG, auth="admin", response=s.Tenant)
def get_tenant(call):
    return views.tenant(call.params["id"])


@operation(bp, "POST", "/admin/tenants/{id}/api-keys", summary="Add an API key (shown once)", tag=TAG,
           auth="admin", body=s.ApiKeyCreate, response=s.ApiKeyCreated, status=201)
def create_api_key(call):
    key, secret = service.add_key(views.tenant(call.params["id"]), call.body.name, wall_now())
    return _key_view(key, secret)


@operation(bp, "GET", "/admin/tenants/{id}/api-keys", summary="List a tenant's API keys (never the secrets)",
           tag=TAG, auth="admin", response=s.ApiKeyList)
def list_api_keys(call):
    return {"data": [_key_view(k) for k in service.list_keys(call.params["id"])]}


@operation(bp, "DELETE", "/admin/tenants/{id}/api-keys/{keyId}", summary="Revoke an API key (idempotent)",
           tag=TAG, auth="admin", response=s.ApiKey)
def revoke_api_key(call):
    return _key_view(service.revoke_key(call.params["id"], call.params["keyId"], wall_now()))
