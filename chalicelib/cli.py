"""Tenant and API-key administration from a shell, straight against this stage's tables.

    python -m chalicelib.cli tenants create --name Acme [--test-mode] [--timezone Europe/Paris]
                                             [--currency EUR] [--clock-start 2025-01-01T00:00:00Z]
    python -m chalicelib.cli tenants list
    python -m chalicelib.cli keys create TENANT_ID [--name ci]
    python -m chalicelib.cli keys list TENANT_ID
    python -m chalicelib.cli keys revoke TENANT_ID KEY_ID

Uses BILLRUN_TABLE_PREFIX, DYNAMODB_ENDPOINT_URL and the usual AWS credentials. Output is JSON."""
import argparse
import sys

from pydantic import ValidationError

from .api import schemas
from .api.http import to_json
from .domain.errors import BillrunError
from .domain.timeutil import wall_now
from .services import tenants as service
from .store import tenants as store


def _key(key, secret=None) -> dict:
    return schemas.ApiKeyCreated.model_validate({**key.__dict__, "active": key.active, "key": secret}).model_dump()


def _tenant(tenant) -> dict:
    return schemas.Tenant.model_validate(tenant).model_dump()


def create_tenant(args) -> dict:
    fields = {"name": args.name, "testMode": args.test_mode, "timezone": args.timezone, "currency": args.currency}
    if args.clock_start:
        fields["clockStart"] = args.clock_start
    body = schemas.TenantCreate.model_validate(fields)
    tenant, key, secret = service.provision(name=body.name, test_mode=body.test_mode, timezone=body.timezone,
                                            currency=body.currency, clock_start=body.clock_start, now=wall_now())
    return {"tenant": _tenant(tenant), "apiKey": _key(key, secret)}


def list_tenants(args) -> dict:
    return {"data": [_tenant(t) for t in store.list_tenants()]}


def create_key(args) -> dict:
    key, secret = service.add_key(store.get_tenant(args.tenant_id), args.name, wall_now())
    return _key(key, secret)


def list_keys(args) -> dict:
    return {"data": [_key(k) for k in service.list_keys(args.tenant_id)]}


def revoke_key(args) -> dict:
    return _key(service.revoke_key(args.tenant_id, args.key_id, wall_now()))


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(prog="python -m chalicelib.cli", description="billrun tenants and API keys")
    groups = root.add_subparsers(dest="group", required=True)
    tenants = groups.add_parser("tenants").add_subparsers(dest="command", required=True)
    create = tenants.add_parser("create", help="provision a tenant; prints its first API key once")
    create.add_argument("--name", required=True)
    create.add_argument("--test-mode", action="store_true", help="a tenant with its own test clock")
    create.add_argument("--timezone", default="UTC")
    create.add_argument("--currency", default="USD")
    create.add_argument("--clock-start", help="test clock's first instant (ISO 8601, UTC)")
    create.set_defaults(run=create_tenant)
    tenants.add_parser("list").set_defaults(run=list_tenants)
    keys = groups.add_parser("keys").add_subparsers(dest="command", required=True)
    add = keys.add_parser("create", help="add an API key; prints it once")
    add.add_argument("tenant_id")
    add.add_argument("--name", default="api key")
    add.set_defaults(run=create_key)
    listing = keys.add_parser("list")
    listing.add_argument("tenant_id")
    listing.set_defaults(run=list_keys)
    revoke = keys.add_parser("revoke")
    revoke.add_argument("tenant_id")
    revoke.add_argument("key_id")
    revoke.set_defaults(run=revoke_key)
    return root


def main(argv=None) -> int:
    args = parser().parse_args(argv)
    try:
        print(to_json(args.run(args)))
        return 0
    except ValidationError as error:
        print(f"invalid: {error.errors(include_url=False)[0]['loc'][0]}: {error.errors()[0]['msg']}",
              file=sys.stderr)
    except BillrunError as error:
        print(f"{error.code}: {error.message}", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
