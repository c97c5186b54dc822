"""Counts every AWS request this process makes, with botocore event hooks on every session.

PynamoDB opens a botocore session per model connection (through pynamodb.connection.base.get_session) and
boto3 clients (SQS) come from boto3's default session: both get the hooks before any client exists.
- `provide-client-params.dynamodb`: while measuring, asks DynamoDB for ReturnConsumedCapacity=INDEXES on
  every operation that takes it (PynamoDB already asks for TOTAL); bench/capacity.py prices only those.
- `after-call`: counts the request by service and operation (errors apart), the items a read evaluated
  (a Query's or Scan's ScannedCount, the items a GetItem or BatchGetItem returned), the capacity moto
  reports (ConsumedCapacity) and the capacity by DynamoDB's rules (bench/capacity.py's response header).
Only requests made while `measuring()` and outside `paused()` (this thread) are counted."""
import json
import threading
from collections import Counter
from contextlib import contextmanager
from dataclasses import dataclass, field

HEADER = "X-Billrun-Capacity"  # bench/capacity.py prices each DynamoDB request in this response header


@dataclass
class Tally:
    requests: Counter = field(default_factory=Counter)  # "dynamodb.Query" -> count
    errors: Counter = field(default_factory=Counter)  # answered with an error (e.g. a failed conditional write)
    items_read: int = 0
    # by DynamoDB's rules (bench/capacity.py): table name -> [read units, write units, index write units, write units
    # had no write been transactional]
    capacity: dict = field(default_factory=dict)
    moto_reported_units: float = 0.0  # what moto answered in ConsumedCapacity
    unpriced: Counter = field(default_factory=Counter)  # DynamoDB requests moto's server did not price
    items_written: int = 0  # items put, updated or deleted by successful write requests
    item_bytes_written: int = 0  # their size as sent (the JSON of their attribute values)

    @property
    def read_units(self) -> float:
        return sum(units[0] for units in self.capacity.values())

    @property
    def write_units(self) -> float:
        """The tables' own writes."""
        return sum(units[1] for units in self.capacity.values())

    @property
    def minimum_write_units(self) -> float:
        """What the same items and index entries cost written once each, none in a transaction (which doubles)."""
        return sum(units[3] + units[2] for units in self.capacity.values())

    @property
    def index_write_units(self) -> float:
        """Writes into global secondary indexes."""
        return sum(units[2] for units in self.capacity.values())

    def of(self, service: str) -> dict[str, int]:
        prefix = f"{service}."
        return {key[len(prefix):]: n for key, n in sorted(self.requests.items()) if key.startswith(prefix)}


class Meter:
    def __init__(self):
        self._tally: Tally | None = None
        self._lock = threading.Lock()
        self._local = threading.local()

    def attach(self, session) -> None:
        """Registers the hooks on a botocore session; clients created from it afterwards carry them."""
        session.register("provide-client-params.dynamodb", self._ask_for_capacity, unique_id="bench-capacity")
        session.register("after-call", self._count, unique_id="bench-count")

    def install(self) -> None:
        """Hooks every session PynamoDB and boto3 open from now on; models drop the connections they held."""
        import boto3
        import pynamodb.connection.base as pynamodb_base

        from chalicelib.store import tables  # its import installs the shared-loader session factory first

        opened = pynamodb_base.get_session
        if not getattr(opened, "_bench_meter", False):
            def hooked_session():
                session = opened()
                self.attach(session)
                return session
            hooked_session._bench_meter = True
            pynamodb_base.get_session = hooked_session
        if boto3.DEFAULT_SESSION is None:
            boto3.setup_default_session()
        self.attach(boto3.DEFAULT_SESSION._session)
        tables.bind(force=True)

    @contextmanager
    def measuring(self):
        tally = Tally()
        self._tally = tally
        try:
            yield tally
        finally:
            self._tally = None

    @contextmanager
    def paused(self):
        """This thread's requests are not counted (the bench's own polling and checks)."""
        self._local.paused = True
        try:
            yield
        finally:
            self._local.paused = False

    def _ask_for_capacity(self, params, model, context=None, **_):
        if self._tally is None or getattr(self._local, "paused", False):
            return
        if "ReturnConsumedCapacity" in model.input_shape.members:
            params["ReturnConsumedCapacity"] = "INDEXES"
        if context is not None:
            context["bench_written"] = _written(model.name, params)

    def _count(self, http_response, parsed, model, context=None, **_):
        tally = self._tally
        if tally is None or getattr(self._local, "paused", False):
            return
        service, operation = model.service_model.endpoint_prefix, model.name
        priced = http_response.headers.get(HEADER) if service == "dynamodb" else None
        with self._lock:
            tally.requests[f"{service}.{operation}"] += 1
            if http_response.status_code >= 300:
                tally.errors[f"{service}.{operation}"] += 1
            if service != "dynamodb":
                return
            if priced:
                for table_name, units in json.loads(priced).items():
                    spent = tally.capacity.setdefault(table_name, [0.0, 0.0, 0.0, 0.0])
                    for i, value in enumerate(units):
                        spent[i] += value
            elif operation not in ("CreateTable", "DescribeTable", "UpdateTimeToLive", "ListTables"):
                tally.unpriced[operation] += 1
            tally.moto_reported_units += _reported(parsed.get("ConsumedCapacity"))
            tally.items_read += _items_read(operation, parsed)
            if http_response.status_code < 300 and context:
                items, size = context.get("bench_written", (0, 0))
                tally.items_written += items
                tally.item_bytes_written += size


def _reported(consumed) -> float:
    if not consumed:
        return 0.0
    if isinstance(consumed, dict):
        consumed = [consumed]
    return float(sum(c.get("CapacityUnits", 0) for c in consumed))


def _items_read(operation: str, parsed: dict) -> int:
    if operation in ("Query", "Scan"):
        return parsed.get("ScannedCount", parsed.get("Count", 0))
    if operation == "GetItem":
        return 1 if parsed.get("Item") else 0
    if operation == "BatchGetItem":
        return sum(len(items) for items in parsed.get("Responses", {}).values())
    return 0


def _written(operation: str, params: dict) -> tuple[int, int]:
    """(items, bytes) a write request carries: its puts' items, its updates' and deletes' keys."""
    if operation == "PutItem":
        bodies = [params.get("Item", {})]
    elif operation in ("UpdateItem", "DeleteItem"):
        bodies = [params.get("Key", {})]
    elif operation == "BatchWriteItem":
        bodies = [r.get("PutRequest", {}).get("Item") or r.get("DeleteRequest", {}).get("Key", {})
                  for requests in params.get("RequestItems", {}).values() for r in requests]
    elif operation == "TransactWriteItems":
        bodies = [op.get("Item") or op.get("Key", {}) for action in params.get("TransactItems", [])
                  for kind, op in action.items() if kind != "ConditionCheck"]
    else:
        return 0, 0
    return len(bodies), sum(len(json.dumps(body, default=str)) for body in bodies)
