"""Capacity units by DynamoDB's documented rules, computed inside the bench's moto server.

moto 5.2.5 answers ReturnConsumedCapacity with constants whatever the items (read from its
dynamodb/responses.py): GetItem 0.5, UpdateItem 0.5, PutItem, DeleteItem, Query and Scan 1.0,
BatchWriteItem 1.0 per table, BatchGetItem 1 per key; nothing for index writes, nothing for a failed
conditional write. The bench still asks for it and reports what moto says (`moto_reported_units`), but the
figures it reads are these, computed from the items moto holds and sent back in the response header
X-Billrun-Capacity (JSON: {table: [read units, write units, index write units]} of that request), for the
requests that ask for ReturnConsumedCapacity=INDEXES (the bench's meter does so while it measures):

- reads: GetItem rounds the item up to 4 KB (a missing item still costs the minimum); BatchGetItem does so per
  item; Query and Scan round the total of the items they read (evaluated before any filter) up to 4 KB, at
  least one unit; eventually consistent reads (and every index read) cost half;
- writes (PutItem, UpdateItem, DeleteItem, each item of BatchWriteItem and of TransactWriteItems): the larger of
  the item before and after, rounded up to 1 KB, twice that inside a transaction; a failed conditional write costs
  the existing item (at least 1);
- global secondary indexes: one write of the projected entry when an item enters, leaves or changes projected
  attributes in an index, two when its index key changes.

Item sizes are moto's Item.size() (attribute names plus values; numbers are counted as their decimal digits,
slightly more than DynamoDB's ~1 byte per 2 digits). Only the bench's moto process installs this."""
import inspect
import json
import math
import threading
from dataclasses import dataclass, field

from moto.dynamodb.exceptions import ConditionalCheckFailed
from moto.dynamodb.models import DynamoDBBackend
from moto.dynamodb.models.table import Table
from moto.dynamodb.responses import DynamoHandler
from moto.dynamodb.models.utilities import bytesize

from .meter import HEADER

READ_UNIT, WRITE_UNIT = 4096, 1024
_request = threading.local()


@dataclass
class _Tally:
    operation: str
    reads: list = field(default_factory=list)  # (table name, total size in bytes, consistent or None)
    # table name -> [table write units, index write units, table write units had no write been transactional]
    writes: dict = field(default_factory=dict)

    def write(self, table_name: str, units: int, index_units: int = 0, plain_units: int | None = None) -> None:
        spent = self.writes.setdefault(table_name, [0, 0, 0])
        spent[0] += units
        spent[1] += index_units
        spent[2] += units if plain_units is None else plain_units


def _units(size: int, unit: int) -> int:
    return max(1, math.ceil(size / unit))


def _attrs_size(attrs: dict) -> int:
    return sum(bytesize(name) + value.size() for name, value in attrs.items())


def _projected(index, attrs: dict) -> dict | None:
    """The index entry of an item (None: the item is not in the index, a key attribute is missing)."""
    keys = [k["AttributeName"] for k in index.schema]
    if not all(name in attrs for name in keys):
        return None
    kind = (index.projection or {}).get("ProjectionType", "ALL")
    if kind == "ALL":
        return attrs
    wanted = set(index.table_key_attrs) | set(keys)
    if kind == "INCLUDE":
        wanted |= set(index.projection.get("NonKeyAttributes", []))
    return {name: value for name, value in attrs.items() if name in wanted}


@dataclass(frozen=True)
class _Image:
    """An item as stored, enough to price a write against it: its size, and each index entry (key, size, body)."""
    size: int
    entries: dict


def _image(table: Table, item) -> _Image | None:
    if item is None:
        return None
    entries = {}
    for index in table.global_indexes:
        entry = _projected(index, item.attrs)
        if entry is not None:
            keys = tuple(json.dumps(entry[k["AttributeName"]].to_json(), sort_keys=True) for k in index.schema)
            body = {name: value.to_json() for name, value in entry.items()}
            entries[index.name] = (keys, _attrs_size(entry), json.dumps(body, sort_keys=True, default=str))
    return _Image(item.size(), entries)


def _price_write(table: Table, before: _Image | None, after: _Image | None) -> tuple[int, int]:
    size = max(before.size if before else 0, after.size if after else 0)
    index_units = 0
    for index in table.global_indexes:
        old = before.entries.get(index.name) if before else None
        new = after.entries.get(index.name) if after else None
        if old is None and new is None:
            continue
        if old is None or new is None:
            index_units += _units((new or old)[1], WRITE_UNIT)
        elif old[0] != new[0]:  # the index key changed: delete the old entry, put the new one
            index_units += _units(old[1], WRITE_UNIT) + _units(new[1], WRITE_UNIT)
        elif old[2] != new[2]:  # projected attributes changed
            index_units += _units(new[1], WRITE_UNIT)
    return _units(size, WRITE_UNIT), index_units


def _tally() -> _Tally | None:
    return getattr(_request, "tally", None)


def _current(backend: DynamoDBBackend, table_name: str, keys: dict):
    table = backend.get_table(table_name)
    hash_key, range_key = backend.get_keys_value(table, keys)
    return table, table.get_item(hash_key, range_key)


def _write(original, keyed_by: str):
    def priced(self, table_name, *args, **kwargs):
        tally = _tally()
        if tally is None:
            return original(self, table_name, *args, **kwargs)
        keys = _keys_of(self, table_name, args[0] if args else kwargs[keyed_by], keyed_by)
        table, current = _current(self, table_name, keys)
        before = _image(table, current)
        try:
            result = original(self, table_name, *args, **kwargs)
        except ConditionalCheckFailed:
            tally.write(table_name, _units(before.size if before else 0, WRITE_UNIT))
            raise
        units, index_units = _price_write(table, before, _image(table, _current(self, table_name, keys)[1]))
        tally.write(table_name, units * (2 if tally.operation == "TransactWriteItems" else 1), index_units, units)
        return result
    priced.__wrapped__ = original
    return priced


def _keys_of(backend: DynamoDBBackend, table_name: str, given: dict, keyed_by: str) -> dict:
    if keyed_by == "key":  # update_item, delete_item
        return given
    table = backend.get_table(table_name)  # put_item: the key attributes of the item
    names = [table.hash_key_attr] + ([table.range_key_attr] if table.range_key_attr else [])
    return {name: given[name] for name in names}


def _get(original):
    def priced(self, table_name, keys, projection_expressions=None):
        result = original(self, table_name, keys, projection_expressions)
        tally = _tally()
        if tally is not None and tally.operation in ("GetItem", "BatchGetItem"):
            whole = original(self, table_name, keys) if projection_expressions and result is not None else result
            tally.reads.append((table_name, whole.size() if whole is not None else 0, None))
        return result
    priced.__wrapped__ = original
    return priced


def _read_many(original, operation: str, projection: str):
    signature = inspect.signature(original)

    def priced(self, *args, **kwargs):
        result = original(self, *args, **kwargs)
        tally = _tally()
        if tally is None or tally.operation != operation:
            return result
        bound = signature.bind(self, *args, **kwargs)
        arguments = bound.arguments
        items = result[0]
        if arguments.get("filter_expression") is not None or arguments.get(projection):
            # read what was evaluated, before the filter and the projection drop anything
            bound.arguments["filter_expression"] = None
            bound.arguments[projection] = None
            items = original(*bound.args, **bound.kwargs)[0]
        index = arguments.get("index_name")
        consistent = bool(arguments.get("consistent_read")) and not index
        tally.reads.append((self.name, sum(i.size() for i in items), consistent))
        return result
    priced.__wrapped__ = original
    return priced


def _priced(tally: _Tally, body: dict) -> dict:
    """{table name: [read units, write units, index write units, write units without transactions]} of one
    request."""
    tables = {name: [0.0, float(units), float(index_units), float(plain)]
              for name, (units, index_units, plain) in tally.writes.items()}
    for table_name, size, consistent in tally.reads:
        if consistent is None:  # GetItem / BatchGetItem: as the request asked
            asked = body if tally.operation == "GetItem" else body.get("RequestItems", {}).get(table_name, {})
            consistent = bool(asked.get("ConsistentRead"))
        tables.setdefault(table_name, [0.0, 0.0, 0.0, 0.0])[0] += _units(size, READ_UNIT) * (1.0 if consistent else 0.5)
    return tables


def _handler(original):
    def priced(self, *args, **kwargs):
        if getattr(self, "params", {}).get("ReturnConsumedCapacity") != "INDEXES":
            return original(self, *args, **kwargs)  # only what the bench measures asks so (not its seeding)
        target = self.headers.get("X-Amz-Target") or self.headers.get("x-amz-target") or ""
        _request.tally = tally = _Tally(target.rpartition(".")[2])
        try:
            status, headers, body = original(self, *args, **kwargs)
        finally:
            _request.tally = None
        if tally.reads or tally.writes:
            headers[HEADER] = json.dumps(_priced(tally, getattr(self, "body", None) or {}), separators=(",", ":"))
        return status, headers, body
    priced.__wrapped__ = original
    return priced


def install() -> None:
    """Idempotent. Install after chalicelib.local.stack.start_moto (whose moto_speed replaces Table.query)."""
    if getattr(DynamoHandler.call_action, "_billrun_capacity", False):
        return
    for name, keyed_by in (("put_item", "item_attrs"), ("update_item", "key"), ("delete_item", "key")):
        setattr(DynamoDBBackend, name, _write(getattr(DynamoDBBackend, name), keyed_by))
    DynamoDBBackend.get_item = _get(DynamoDBBackend.get_item)
    Table.query = _read_many(Table.query, "Query", "projection_expressions")
    Table.scan = _read_many(Table.scan, "Scan", "projection_expression")
    DynamoHandler.call_action = _handler(DynamoHandler.call_action)
    DynamoHandler.call_action._billrun_capacity = True
