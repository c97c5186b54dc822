"""Test helpers: an API client over chalice.test.Client that checks every answer against the OpenAPI document."""
import re
from collections import Counter
from contextlib import contextmanager
from dataclasses import dataclass, field
from decimal import Decimal
from functools import lru_cache

import jsonschema
import simplejson

ADMIN_KEY = "test-admin-key"
# what a test clock's advance (and GET /test/clock) reports it ran, by kind of work, when nothing fell due
NOTHING_RAN = {"billingJobs": 0, "invoiceScheduleItems": 0, "recurringInvoices": 0, "invoiceJobs": 0, "workUnits": 0}


@lru_cache(maxsize=1)
def openapi() -> dict:
    from chalicelib.api import blueprints  # noqa: F401  (registers every operation)
    from chalicelib.api.openapi import build
    return simplejson.loads(simplejson.dumps(build()))


def _operation_for(method: str, path: str) -> dict | None:
    doc = openapi()
    for template, operations in doc["paths"].items():
        pattern = "^" + re.sub(r"\\{\w+\\}", "[^/:]+", re.escape(template)) + "$"
        if re.match(pattern, path) and method.lower() in operations:
            return operations[method.lower()]
    return None


def check_against_openapi(method: str, path: str, status: int, body) -> None:
    """The answer's status is documented for the operation, and its body matches the documented schema."""
    op = _operation_for(method, path.split("?")[0])
    assert op is not None, f"{method} {path} is not documented"
    response = op["responses"].get(str(status))
    assert response is not None, f"{method} {path} answered {status}, which is not documented"
    if "$ref" in response:  # a response shared by many operations (components/responses)
        response = openapi()["components"]["responses"][response["$ref"].rpartition("/")[2]]
    content = response.get("content", {}).get("application/json")
    if content is None:
        return
    schema = {**content["schema"], "components": openapi()["components"]}
    schema = simplejson.loads(simplejson.dumps(schema).replace("#/components/schemas/", "#/components/schemas/"))
    jsonschema.validate(_plain(body), schema, cls=jsonschema.Draft202012Validator)


def _plain(value):
    """jsonschema treats Decimal as a number only via float-free conversion: keep ints, Decimals as Decimal."""
    return value


@dataclass
class Answer:
    status: int
    body: object
    headers: dict

    @property
    def error_fields(self) -> list[str]:
        return [d["field"] for d in self.body.get("details", [])]


@dataclass
class Tenant:
    id: str
    key: str
    body: dict


class Api:
    def __init__(self, client):
        self.client = client

    def call(self, method: str, path: str, body=None, *, key=None, headers=None, raw: bytes | str | None = None,
             check: bool = True) -> Answer:
        sent = dict(headers or {})
        if key is not None:
            sent.setdefault("x-api-key", key)
        sent.setdefault("content-type", "application/json")
        data = raw if raw is not None else (simplejson.dumps(body, use_decimal=True) if body is not None else None)
        response = getattr(self.client.http, method.lower())(path, headers=sent, body=data)
        text = response.body.decode() if isinstance(response.body, bytes) else response.body
        parsed = simplejson.loads(text, use_decimal=True) if text else None
        if check:
            check_against_openapi(method, path, response.status_code, parsed)
        return Answer(response.status_code, parsed, {k.lower(): v for k, v in response.headers.items()})

    def get(self, path, **kw):
        return self.call("GET", path, **kw)

    def post(self, path, body=None, **kw):
        return self.call("POST", path, body if body is not None else {}, **kw)

    def patch(self, path, body=None, **kw):
        return self.call("PATCH", path, body, **kw)

    def put(self, path, body=None, **kw):
        return self.call("PUT", path, body, **kw)

    def delete(self, path, body=None, **kw):
        return self.call("DELETE", path, body, **kw)

    def admin(self, method, path, body=None, **kw):
        return self.call(method, path, body, headers={"x-admin-key": ADMIN_KEY}, **kw)

    def new_tenant(self, name="Acme", **fields) -> Tenant:
        answer = self.admin("POST", "/admin/tenants", {"name": name, **fields})
        assert answer.status == 201, answer.body
        return Tenant(answer.body["tenant"]["id"], answer.body["apiKey"]["key"], answer.body["tenant"])

    # small builders used across tests
    def customer(self, t: Tenant, **fields) -> dict:
        answer = self.post("/customers", {"name": "Wayne Enterprises", **fields}, key=t.key)
        assert answer.status == 201, answer.body
        return answer.body

    def product(self, t: Tenant, **fields) -> dict:
        body = {"name": "Pro plan", "price": Decimal("30.00"), "billingPeriod": "Month", **fields}
        answer = self.post("/products", body, key=t.key)
        assert answer.status == 201, answer.body
        return answer.body

    def order(self, t: Tenant, customer_id: str, product_id: str, **line) -> dict:
        body = {"customerId": customer_id, "lines": [{"productId": product_id, "quantity": 2, **line}]}
        answer = self.post("/orders", body, key=t.key)
        assert answer.status == 201, answer.body
        return answer.body

    def active_subscription(self, t: Tenant, **line) -> dict:
        customer = self.customer(t)
        product = self.product(t)
        order = self.order(t, customer["id"], product["id"], **line)
        answer = self.post(f"/orders/{order['id']}:activate", key=t.key)
        assert answer.status == 200, answer.body
        return self.get(f"/subscriptions/{answer.body['lines'][0]['subscriptionId']}", key=t.key).body


@dataclass
class Reads:
    """What the DynamoDB calls made while measuring read: items, and calls per operation."""
    items: int = 0
    calls: Counter = field(default_factory=Counter)
    scans: list = field(default_factory=list)
    by_table: Counter = field(default_factory=Counter)  # items read, per table


class ReadMeter:
    """Counts the items every PynamoDB call reads (all models' connections go through _make_api_call):
    a Query's ScannedCount, a GetItem's item, a BatchGetItem's items, a Scan's ScannedCount (and the Scan)."""

    def __init__(self, monkeypatch):
        from pynamodb.connection.base import Connection

        self._tally: Reads | None = None
        original = Connection._make_api_call
        meter = self

        def counted(connection, operation_name, operation_kwargs):
            data = original(connection, operation_name, operation_kwargs)
            if meter._tally is not None:
                meter._count(meter._tally, operation_name, operation_kwargs, data)
            return data

        monkeypatch.setattr(Connection, "_make_api_call", counted)

    @staticmethod
    def _count(r: Reads, operation: str, kwargs: dict, data: dict) -> None:
        r.calls[operation] += 1
        found: dict[str, int] = {}
        if operation in ("Query", "Scan"):
            found[kwargs.get("TableName")] = data.get("ScannedCount", data.get("Count", 0))
        if operation == "Scan":
            r.scans.append(kwargs.get("TableName"))
        elif operation == "GetItem":
            found[kwargs.get("TableName")] = 1 if data.get("Item") else 0
        elif operation == "BatchGetItem":
            found = {table: len(items) for table, items in data.get("Responses", {}).items()}
        for table, count in found.items():
            r.items += count
            r.by_table[table] += count

    @contextmanager
    def measuring(self):
        self._tally = Reads()
        try:
            yield self._tally
        finally:
            self._tally = None


def store_as_repository(model, repository, entries) -> None:
    """Writes (tenantId, entity) pairs straight into the table in batches of 25, each exactly as `repository`
    stores it: the entity plus the index keys its `derived` sets (seeding thousands of items fast)."""
    from chalicelib.store import tables
    tables.bind()
    with model.batch_write() as batch:
        for tenant_id, entity in entries:
            batch.save(model.from_entity(entity, tenant_id=tenant_id, **repository.derived(tenant_id, entity)))


def due_reads(monkeypatch, due, now):
    """measure(clock_id) -> (what due(clock_id, now) found, Reads of every DynamoDB call it made)."""
    meter = ReadMeter(monkeypatch)

    def measure(clock_id: str):
        with meter.measuring() as tally:
            found = due(clock_id, now)
        return found, tally
    return measure


class PartialBatches:
    """Real DynamoDB may answer a BatchWriteItem with UnprocessedItems and a BatchGetItem with UnprocessedKeys (a
    throttled partition, a response over 16 MB); moto never does. While `on`, each put/delete request and each key
    of a batch is left unprocessed the first `times` requests that carry it: of those still to be left, the second
    half of the request's (all of a request of one), so a request partly succeeds. The request reaches moto with the
    rest only (not at all when nothing is left of it), and the answer names the rest unprocessed, as DynamoDB's
    would: the client has to send them again. Installed on PynamoDB's low-level call, which every app request
    passes; `cut` lists (operation, entries processed, entries left) of each request answered in part, `pending`
    the entries left and not sent again (yet), `requests` counts the batch requests by operation."""

    OPERATIONS = ("BatchWriteItem", "BatchGetItem")

    def __init__(self, monkeypatch, times: int = 1):
        from pynamodb.connection.base import Connection

        self.times, self.on = times, True
        self.reset()
        original = Connection._make_api_call
        partial = self

        def call(connection, operation_name, operation_kwargs):
            if not partial.on or operation_name not in PartialBatches.OPERATIONS:
                return original(connection, operation_name, operation_kwargs)
            return partial._answer(original, connection, operation_name, operation_kwargs)

        monkeypatch.setattr(Connection, "_make_api_call", call)

    def reset(self) -> None:
        self.tries: Counter = Counter()  # entry -> the requests it was left unprocessed by
        self.cut: list[tuple[str, int, int]] = []
        self.pending: set = set()
        self.requests: Counter = Counter()  # batch requests by operation, cut or not

    def _answer(self, send, connection, operation: str, kwargs: dict) -> dict:
        reads = operation == "BatchGetItem"
        self.requests[operation] += 1
        entries = [(table, entry) for table, request in kwargs["RequestItems"].items()
                   for entry in (request["Keys"] if reads else request)]
        def fingerprint(table, entry):
            return operation, table, simplejson.dumps(entry, sort_keys=True, default=str)

        eligible = [e for e in entries if self.tries[fingerprint(*e)] < self.times]
        left = eligible[len(eligible) // 2:]
        left_prints = {fingerprint(*e) for e in left}
        processed = [e for e in entries if fingerprint(*e) not in left_prints]
        self.pending -= {fingerprint(*e) for e in processed}
        if not left:
            return send(connection, operation, kwargs)
        self.tries.update(left_prints)
        self.pending |= left_prints
        self.cut.append((operation, len(processed), len(left)))
        data = send(connection, operation, {**kwargs, "RequestItems": self._requests(kwargs, processed, reads)}) \
            if processed else {}
        if reads:
            data.setdefault("Responses", {})
            for table in kwargs["RequestItems"]:
                data["Responses"].setdefault(table, [])
            data["UnprocessedKeys"] = self._requests(kwargs, left, reads)
        else:
            data["UnprocessedItems"] = self._requests(kwargs, left, reads)
        return data

    @staticmethod
    def _requests(kwargs: dict, entries: list, reads: bool) -> dict:
        """RequestItems (or Unprocessed*) carrying just these entries, each table's read parameters kept."""
        out: dict = {}
        for table, entry in entries:
            if reads:
                out.setdefault(table, {**{k: v for k, v in kwargs["RequestItems"][table].items() if k != "Keys"},
                                       "Keys": []})["Keys"].append(entry)
            else:
                out.setdefault(table, []).append(entry)
        return out
