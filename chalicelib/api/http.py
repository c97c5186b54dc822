"""HTTP plumbing every route shares: auth, Decimal-only JSON, validation errors that name the field,
the error envelope, Idempotency-Key, `{id}:action` dispatch, and the registry the OpenAPI document reads.

API Gateway (and Chalice) cannot route a segment such as `{id}:activate`, so action routes register
one `POST /orders/{id}` view that splits the action off the id."""
import hashlib
import hmac
import logging
from dataclasses import dataclass, field
from typing import Any, Callable
from urllib.parse import unquote

import simplejson
from chalice import Response
from pydantic import BaseModel, ValidationError

from .. import observability
from ..domain.errors import BillrunError, FieldIssue, invalid, not_found, unauthorized
from ..domain.timeutil import format_instant, wall_now
from ..services import tenants as tenant_service
from ..services.context import RequestContext
from ..store import idempotency
from .. import config

log = logging.getLogger("billrun.api")

MAX_BODY_BYTES = 1024 * 1024
# The bodies every route reads as JSON. Routes are registered for any type (*/*) so that a request of another type
# gets this API's own 415, in the error envelope and naming Content-Type, rather than Chalice's {"Code", "Message"}.
CONTENT_TYPES = ("application/json", "application/x-www-form-urlencoded", "text/plain")
ANY_TYPE = ["*/*"]
STATUS_BY_KIND = {"invalid": 400, "unauthorized": 401, "not_found": 404, "conflict": 409, "too_large": 413,
                  "unsupported": 415, "too_many": 429}


@dataclass
class Operation:
    """One documented operation: the contract path, what it takes and what it answers."""
    method: str
    path: str
    summary: str
    tag: str
    auth: str = "tenant"  # tenant | admin | none
    body: type[BaseModel] | None = None
    query: type[BaseModel] | None = None
    response: type[BaseModel] | None = None
    status: int = 200
    media_type: str = "application/json"
    bad_request: type[BaseModel] | None = None  # a 400 body of its own besides the error envelope (GraphQL)
    accepted: type[BaseModel] | None = None  # a 202 answer when the work is too large to do in the request
    errors: tuple[int, ...] = ()  # error statuses only some operations answer (429: the open-job quota)


@dataclass
class Accepted:
    """A handler's answer when it queued the work instead of doing it: 202, the `accepted` model, Location."""
    value: Any
    location: str


OPERATIONS: list[Operation] = []
_ACTION_TABLES: dict[tuple, dict[str, Callable]] = {}


@dataclass
class Call:
    """What a handler receives: the caller's context, path parameters, validated query and body."""
    ctx: RequestContext | None
    params: dict[str, str]
    query: Any = None
    body: Any = None
    headers: dict = field(default_factory=dict)


def operation(bp, method: str, path: str, *, summary: str, tag: str, **options):
    op = Operation(method, path, summary, tag, **options)
    OPERATIONS.append(op)
    route_path, action = _split_action(path)

    def register(fn):
        def handle(params):
            return _handle(bp, op, fn, params)

        if action is None:
            bp.route(route_path, methods=[method], name=fn.__name__, content_types=ANY_TYPE)(
                lambda **params: handle(params))
        else:
            _register_action(bp, route_path, method, action, handle)
        return fn

    return register


def _split_action(path: str) -> tuple[str, str | None]:
    """'/orders/{id}:activate' -> ('/orders/{id}', 'activate'); literal colons ('/test/clock:advance') stay."""
    head, _, last = path.rpartition("/")
    if last.startswith("{") and "}:" in last:
        param, _, action = last.partition(":")
        return f"{head}/{param}", action
    return path, None


def _register_action(bp, route_path: str, method: str, action: str, handle: Callable) -> None:
    key = (id(bp), route_path, method)
    table = _ACTION_TABLES.get(key)
    if table is None:
        table = _ACTION_TABLES[key] = {}
        param = route_path.rpartition("/{")[2].rstrip("}")

        def dispatch(**params):
            ident, _, name = unquote(params[param]).rpartition(":")
            if not ident or name not in table:
                return error_response(not_found("action", f"{route_path.rsplit('/', 1)[0]}/{{{param}}}:{name}"))
            return table[name]({**params, param: ident})

        bp.route(route_path, methods=[method], name=f"{method.lower()}_{route_path.strip('/').replace('/', '_')}"
                 .replace("{", "").replace("}", ""), content_types=ANY_TYPE)(dispatch)
    table[action] = handle


def _handle(bp, op: Operation, fn: Callable, params: dict) -> Response:
    request = bp.current_request
    observability.bind(path=op.path)  # the contract's template: '/orders/{id}:activate' rather than the route's
    try:
        _require_json_type(request.headers.get("content-type"))
        raw = request.raw_body or b""
        if len(raw) > MAX_BODY_BYTES:
            raise BillrunError("request body is larger than 1 MiB", [FieldIssue("body", "over 1 MiB")],
                               "PayloadTooLarge", "too_large")
        ctx = _authenticate(op, request.headers)
        parsed = parse_json(raw)
        call = Call(ctx, {k: unquote(v) for k, v in (params or {}).items()},
                    query=_validate(op.query, dict(request.query_params or {}), op.response, "query"),
                    body=_validate(op.body, parsed if raw.strip() else {}, op.response, "body") if op.body else None,
                    headers=dict(request.headers))
        key = request.headers.get("idempotency-key")
        if op.method == "POST" and key:
            scope = ctx.tenant.id if ctx else "admin"
            return _idempotent(scope, key, _fingerprint(op, call.params, parsed), ctx, lambda: _run(op, fn, call))
        return _run(op, fn, call)
    except BillrunError as error:
        return error_response(error)
    except Exception:  # a bug, never the caller's fault: logged with its trace, answered in the envelope
        log.exception("unhandled error on %s %s", op.method, op.path)
        return json_response({"errorCode": "InternalError", "message": "an internal error occurred",
                              "details": []}, 500)


def _require_json_type(header: str | None) -> None:
    """No Content-Type reads as JSON (as Chalice does); a type among CONTENT_TYPES, parameters aside, is read as
    JSON too; anything else is a 415."""
    if header is None:
        return
    media_type = header.split(";", 1)[0].strip().lower()
    if media_type not in CONTENT_TYPES:
        raise BillrunError(f"unsupported media type {media_type!r}: send application/json",
                           [FieldIssue("Content-Type", f"must be one of {', '.join(CONTENT_TYPES)}")],
                           "UnsupportedMediaType", "unsupported")


def _run(op: Operation, fn: Callable, call: Call) -> Response:
    result = fn(call)
    if isinstance(result, Response):
        return result
    if isinstance(result, Accepted):
        return json_response(dump(op.accepted, result.value), 202, {"Location": result.location})
    body = None if result is None else dump(op.response, result)
    return json_response(body, op.status)


def _authenticate(op: Operation, headers) -> RequestContext | None:
    if op.auth == "none":
        return None
    if op.auth == "admin":
        expected = config.settings().admin_key
        presented = headers.get("x-admin-key") or ""
        if not expected or not _same(presented, expected):
            raise unauthorized("a valid x-admin-key header is required")
        return None
    tenant, key = tenant_service.authenticate(api_key_from(headers))
    observability.bind(tenantId=tenant.id)
    return RequestContext(tenant=tenant, actor_id=key.id, actor_name=key.name, now=tenant.now(wall_now()))


def api_key_from(headers) -> str | None:
    """x-api-key (API Gateway convention); nue-api-key and Authorization: Bearer are aliases."""
    key = headers.get("x-api-key") or headers.get("nue-api-key")
    if not key:
        scheme, _, token = (headers.get("authorization") or "").partition(" ")
        key = token.strip() if scheme.lower() == "bearer" else None
    return key or None


def _same(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode(), b.encode())


def parse_json(raw: bytes) -> Any:
    """JSON numbers become Decimal (or int): money never passes through float."""
    if not raw or not raw.strip():
        return None
    try:
        return simplejson.loads(raw, use_decimal=True, allow_nan=False)
    except (ValueError, UnicodeDecodeError) as error:
        raise invalid("body", f"not valid JSON: {error}") from None
    except RecursionError:
        raise invalid("body", "JSON nested too deeply") from None


def _validate(model: type[BaseModel] | None, data: Any, response: type[BaseModel] | None, where: str):
    if model is None:
        if where == "query" and data:
            name = sorted(data)[0]
            raise invalid(name, "unknown query parameter")
        return None
    if not isinstance(data, dict):  # JSON null included: only an absent body reads as {}
        raise invalid(where, "must be a JSON object")
    try:
        return model.model_validate(data)
    except ValidationError as error:
        read_only = _aliases(response) - _aliases(model)
        issues = [_issue(e, read_only) for e in error.errors(include_url=False)]
        raise BillrunError("; ".join(f"{i.field}: {i.issue}" for i in issues), issues, "ValidationError") from None


def _aliases(model) -> set[str]:
    if model is None:
        return set()
    return {f.alias or name for name, f in model.model_fields.items()}


def _issue(error: dict, read_only: set[str]) -> FieldIssue:
    path = ""
    for part in error["loc"]:
        path += f"[{part}]" if isinstance(part, int) else (f".{part}" if path else str(part))
    if error["type"] == "extra_forbidden":
        top = error["loc"][0]
        return FieldIssue(path, "read-only field" if len(error["loc"]) == 1 and top in read_only
                          else "unknown field")
    message = error["msg"].removeprefix("Value error, ")
    return FieldIssue(path or "body", message)


def _fingerprint(op: Operation, params: dict, parsed: Any) -> str:
    canonical = simplejson.dumps([op.method, op.path, params, parsed], sort_keys=True, use_decimal=True)
    return hashlib.sha256(canonical.encode()).hexdigest()


def _idempotent(scope: str, key: str, fingerprint: str, ctx: RequestContext | None, run: Callable) -> Response:
    """Same key + same request within 24 h answers the first response again; a different request: 409."""
    if len(key) > 255:
        raise invalid("Idempotency-Key", "at most 255 characters")
    prior = idempotency.claim(scope, key, fingerprint, wall_now())
    if prior is not None:
        if prior.fingerprint != fingerprint:
            raise BillrunError("this Idempotency-Key was used with a different request",
                               [FieldIssue("Idempotency-Key", "reused with a different request")],
                               "IdempotencyKeyReused", "conflict")
        if not prior.done:
            raise BillrunError("a request with this Idempotency-Key is still in progress",
                               [FieldIssue("Idempotency-Key", "in progress")], "IdempotencyKeyInProgress",
                               "conflict")
        return Response(body=prior.body, status_code=prior.status_code,
                        headers={"Content-Type": "application/json", "Idempotent-Replayed": "true"})
    if ctx is not None:
        ctx.idempotency_key = key
    try:
        response = run()
    except BaseException:
        idempotency.release(scope, key)
        raise
    if response.status_code < 300:
        idempotency.record(scope, key, response.status_code, _replayable(response.body))
    else:
        idempotency.release(scope, key)
    return response


def _replayable(body: str) -> str:
    """A key secret is shown once: the replayed answer carries everything but the secret."""
    data = simplejson.loads(body, use_decimal=True) if body else None
    if isinstance(data, dict) and isinstance(data.get("apiKey"), dict) and "key" in data["apiKey"]:
        data["apiKey"]["key"] = None
        return simplejson.dumps(data, use_decimal=True, default=_json_default)
    return body


def dump(model: type[BaseModel] | None, value: Any) -> Any:
    if model is None:
        return value
    return model.model_validate(value).model_dump(by_alias=True)


def _json_default(value):
    from datetime import date, datetime
    if isinstance(value, datetime):
        return format_instant(value)
    if isinstance(value, date):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


def to_json(body: Any) -> str:
    return simplejson.dumps(body, use_decimal=True, default=_json_default)


def json_response(body: Any, status: int = 200, headers: dict | None = None) -> Response:
    text = "" if body is None else to_json(body)
    return Response(body=text, status_code=status, headers={"Content-Type": "application/json", **(headers or {})})


def error_response(error: BillrunError) -> Response:
    body = {"errorCode": error.code, "message": error.message,
            "details": [{"field": d.field, "issue": d.issue} for d in error.details]}
    headers = {"Retry-After": str(error.retry_after)} if error.retry_after is not None else None
    return json_response(body, STATUS_BY_KIND.get(error.kind, 400), headers)


def changes(body: BaseModel, required: set[str] = frozenset()) -> dict:
    """The fields a PATCH sent; null is refused for fields that cannot be empty."""
    sent = body.model_dump(exclude_unset=True)
    for name in required & {k for k, v in sent.items() if v is None}:
        raise invalid(type(body).model_fields[name].alias or name, "must not be null")
    return sent
