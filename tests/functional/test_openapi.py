"""The OpenAPI document and the routes cannot drift apart: each is checked against the other."""
from pathlib import Path

import jsonschema
import pytest
import simplejson
from openapi_spec_validator import validate

from chalicelib.api import blueprints  # noqa: F401  (registers every operation)
from chalicelib.api.http import _ACTION_TABLES, OPERATIONS, _split_action
from chalicelib.api.openapi import build, document_json
from tests.support import check_against_openapi

ROOT = Path(__file__).resolve().parents[2]


def _chalice_routes() -> set[tuple[str, str]]:
    from app import app
    return {(method, path) for path, methods in app.routes.items() for method in methods}


def test_every_route_is_documented_and_every_documented_operation_is_routed():
    documented = build()["paths"]
    routed_by_docs = set()
    for path, operations in documented.items():
        for method in operations:
            route_path, action = _split_action(path)
            routed_by_docs.add((method.upper(), route_path))
            if action is not None:
                tables = [t for (_, p, m), t in _ACTION_TABLES.items() if p == route_path and m == method.upper()]
                assert tables and action in tables[0], f"{method.upper()} {path} is documented but not dispatched"
    routes = _chalice_routes()
    assert routes - routed_by_docs == set(), "routes without documentation"
    assert routed_by_docs - routes == set(), "documented operations without a route"


def test_every_operation_has_a_summary_and_schemas_where_it_takes_or_returns_json():
    for op in OPERATIONS:
        assert op.summary, op.path
        if op.method in ("POST", "PATCH", "PUT") and op.auth != "none" and not op.path.endswith(":activate"):
            assert op.body is not None, f"{op.method} {op.path} documents no request schema"
        if op.path != "/openapi.json" and op.media_type == "application/json":  # not a console page or asset
            assert op.response is not None, f"{op.method} {op.path} documents no response schema"


def test_document_is_valid_openapi():
    validate(build())


def test_error_responses_are_written_once_and_answers_are_checked_against_them():
    doc = build()
    used = {r["$ref"] for ops in doc["paths"].values() for op in ops.values() for r in op["responses"].values()
            if "$ref" in r}
    assert used == {f"#/components/responses/{name}" for name in doc["components"]["responses"]}
    check_against_openapi("GET", "/customers/x", 404, {"errorCode": "NotFound", "message": "m", "details": []})
    with pytest.raises(jsonschema.ValidationError):  # the shared 404's schema, found through its $ref
        check_against_openapi("GET", "/customers/x", 404, {"not": "the error envelope"})


def test_repository_copy_is_current():
    committed = (ROOT / "openapi.json").read_text()
    assert committed == document_json(), "openapi.json is stale: run `make openapi`"


def test_served_document_equals_the_built_one(api):
    answer = api.get("/openapi.json")
    assert answer.status == 200
    assert simplejson.loads(simplejson.dumps(answer.body)) == simplejson.loads(document_json())
