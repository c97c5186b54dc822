"""The OpenAPI 3.1 document, built from the operation registry that also registers the routes (http.OPERATIONS).

The registry holds every operation once api/blueprints.py is imported: the app imports it before it serves a
request, and `python -m chalicelib.api` (which prints the document) and the tests import it. This module does not:
ops.py, one of the blueprints, serves the document."""
import importlib.metadata
import re

import simplejson
from pydantic.json_schema import models_json_schema

from ..domain.timeutil import timezone_names
from . import schemas
from .http import OPERATIONS, STATUS_BY_KIND, Operation

REF = "#/components/schemas/{model}"
RESPONSE_REF = "#/components/responses/{name}"
ZONE_NAME = "ZoneName"
ERRORS = {400: "Invalid input (the field is named in details)", 401: "Missing, unknown or revoked key",
          404: "Not found (also: another tenant's object)", 409: "State conflict", 413: "Body over 1 MiB",
          415: "Content-Type is not JSON (application/json; text/plain and form-urlencoded bodies are read as JSON)",
          429: "TooManyOpenJobs: the tenant's open-job quota is full (docs/limits.md); retry after Retry-After seconds"}
EVERY_OPERATION = (400, 401, 404, 409, 413, 415)  # the others only where Operation.errors names them
WITHOUT_KEY = (400, 413, 415)  # what an operation that needs no key can answer of EVERY_OPERATION
RETRY_AFTER = {"Retry-After": {"schema": {"type": "integer"}, "description": "seconds to wait before retrying"}}
# Every operation refers to the error responses, written once in components/responses under the name of their
# kind (domain/errors.py: not_found is NotFound)
RESPONSE_NAMES = {status: kind.title().replace("_", "") for kind, status in STATUS_BY_KIND.items()}


def build() -> dict:
    inputs = {m for op in OPERATIONS for m in (op.body,) if m}
    outputs = {op.response for op in OPERATIONS if op.response} | {schemas.Error} | {
        op.bad_request for op in OPERATIONS if op.bad_request} | {op.accepted for op in OPERATIONS if op.accepted}
    pairs = [(m, "validation") for m in sorted(inputs, key=_name)] + [
        (m, "serialization") for m in sorted(outputs, key=_name)]
    refs, definitions = models_json_schema(pairs, ref_template=REF)
    paths: dict = {}
    for op in OPERATIONS:
        paths.setdefault(op.path, {})[op.method.lower()] = _operation(op, refs)
    envelope = refs[(schemas.Error, "serialization")]
    return {
        "openapi": "3.1.0",
        "info": {"title": "billrun", "version": "0.1.0",
                 "description": "Serverless billing-schedule and invoicing engine. Dialects: Nue, Zuora, BILL."},
        "paths": dict(sorted(paths.items())),
        "components": {
            "schemas": {**_zone_refs(definitions.get("$defs", {})), ZONE_NAME: _zone_name_schema()},
            "responses": {RESPONSE_NAMES[status]: _error_response(status, envelope) for status in ERRORS},
            "securitySchemes": {
                "apiKey": {"type": "apiKey", "in": "header", "name": "x-api-key",
                           "description": "also accepted as nue-api-key or Authorization: Bearer"},
                "adminKey": {"type": "apiKey", "in": "header", "name": "x-admin-key"},
            },
        },
    }


def _zone_refs(value):
    """The schemas with each zone-name field (schemas.ZONE_NAME_MARK) a reference to the one ZoneName component."""
    if isinstance(value, dict) and value.get(schemas.ZONE_NAME_KEY):  # siblings (a default, a title) are kept
        return {"$ref": REF.format(model=ZONE_NAME), **{k: v for k, v in value.items()
                                                        if k not in schemas.ZONE_NAME_MARK}}
    if isinstance(value, dict):
        return {k: _zone_refs(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_zone_refs(v) for v in value]
    return value


def _zone_name_schema() -> dict:
    return {"type": "string", "enum": sorted(timezone_names()), "example": "Asia/Shanghai",
            "description": f"an IANA time zone name (tzdata {importlib.metadata.version('tzdata')})"}


def _name(model) -> str:
    return model.__name__


def _operation(op: Operation, refs) -> dict:
    doc: dict = {"summary": op.summary, "tags": [op.tag], "operationId": _operation_id(op)}
    doc["security"] = {"tenant": [{"apiKey": []}], "admin": [{"adminKey": []}], "none": []}[op.auth]
    parameters = [{"name": p, "in": "path", "required": True, "schema": {"type": "string"}}
                  for p in re.findall(r"{(\w+)}", op.path)]
    if op.query is not None:
        schema = op.query.model_json_schema(ref_template=REF)
        for name, prop in schema["properties"].items():
            parameters.append({"name": name, "in": "query", "required": name in schema.get("required", []),
                               "schema": prop})
    if op.method == "POST" and op.auth != "none":
        parameters.append({"name": "Idempotency-Key", "in": "header", "required": False,
                           "schema": {"type": "string", "maxLength": 255},
                           "description": "same key and body within 24 h answers the first response"})
    if parameters:
        doc["parameters"] = parameters
    if op.body is not None:
        # required only when something in it is: an absent body reads as {} (a PATCH of nothing is a no-op)
        required = any(field.is_required() for field in op.body.model_fields.values())
        doc["requestBody"] = {"required": required, "content": {
            "application/json": {"schema": refs[(op.body, "validation")]}}}
    ok: dict = {"description": "OK"}
    if op.response is not None:
        ok["content"] = {op.media_type: {"schema": refs[(op.response, "serialization")]}}
    elif op.media_type != "application/json":  # a page or an asset (the console): text, no JSON Schema
        ok["content"] = {op.media_type: {"schema": {"type": "string"}}}
    responses = {str(op.status): ok}
    if op.accepted is not None:
        responses["202"] = {"description": "Accepted: too large for one request, queued as a job to poll",
                            "headers": {"Location": {"schema": {"type": "string"}, "description": "the job"}},
                            "content": {"application/json": {"schema": refs[(op.accepted, "serialization")]}}}
    for status in ERRORS:
        answered = status in op.errors or (status in EVERY_OPERATION and (op.auth != "none" or status in WITHOUT_KEY))
        if answered and status == 400 and op.bad_request is not None:  # its own 400 body besides the envelope
            schema = {"anyOf": [refs[(op.bad_request, "serialization")], refs[(schemas.Error, "serialization")]]}
            responses["400"] = _error_response(400, schema)
        elif answered:
            responses[str(status)] = {"$ref": RESPONSE_REF.format(name=RESPONSE_NAMES[status])}
    doc["responses"] = responses
    return doc


def _error_response(status: int, schema: dict) -> dict:
    return {"description": ERRORS[status], "content": {"application/json": {"schema": schema}},
            **({"headers": RETRY_AFTER} if status == 429 else {})}


def _operation_id(op: Operation) -> str:
    words = re.sub(r"[{}]", "", op.path).replace(":", "/").replace("-", "/").strip("/").split("/")
    return op.method.lower() + "".join(w[:1].upper() + w[1:] for w in words if w)


def document_json() -> str:
    return simplejson.dumps(build(), indent=2, sort_keys=False) + "\n"
