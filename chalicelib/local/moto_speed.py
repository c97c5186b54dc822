"""Makes moto's DynamoDB Query cost grow with the partition it reads, not with the table; and a stored item's
construction grow with its attributes, not with their square.

moto 5.2.5 answers every Query by listing the whole table, sorted (`Table.all_items`), filtering that list
down to the key condition, and then sorting the matches again. A Query therefore costs O(n log n) in the
table's size, and a billing job over thousands of subscriptions spends its minutes inside moto rather than
in billrun. moto's Query re-sorts whatever it keeps, so the first sort is wasted; and a base-table Query can
only keep items of its own partition. While moto runs a Query, `all_items` here hands it just that
partition (base table) or, for an index, the items whose index partition key has the queried value
(unsorted; moto compares each item's key with a method call per item, here a string key is compared
directly: a 10,000-item table's index Query went from ~48 ms to a few). Everything else (Scan and its
paging order, GetItem, writes, conditions) sees moto's own `all_items`.

moto 5.2.5 also builds every item it stores (PutItem, each item of BatchWriteItem, Query results' copies) one
attribute at a time into a LimitedSizeDict that re-measures all the attributes already there on each insertion
(to refuse items over 400 KB): quadratic in the attributes, about half of moto's time on a 25-attribute item.
Here the running total is kept instead, and the same ItemSizeTooLarge is raised at the same attribute.

moto 5.2.5 runs TransactWriteItems by deep-copying every table the transaction touches first, to roll back if
an action fails: a transaction costs the tables' size (45 s for 25 puts on a 20,000-item table). Here only the
items the transaction names are copied beforehand, and those are put back on failure: the same all-or-nothing
outcome, at the cost of the transaction's own items. Each action's condition is checked once, not twice.

moto 5.2.5 also serializes every response through botocore's shapes, one attribute value at a time (a value
picker, a path, a method lookup per member): a Query or BatchGetItem answering 100 items spends most of its time
there. Here an item's attribute values (DynamoDB's AttributeValue structures, already in their wire form inside
moto) are written as they are, binary values base64-encoded as moto's serializer encodes them.

Results are identical, item for item and page for page: tests/functional/test_moto_speed.py compares Queries with
and without this on random tables, items built both ways, random transactions (conditions failing or not)
applied both ways, and responses carrying random items serialized both ways. Only the local stack and the tests
install it; Lambda never imports it."""
import base64
import copy
import inspect
import logging
import threading
import types
from contextlib import contextmanager

import moto
import moto.dynamodb.models as dynamodb_models
from moto.core.serialize import BaseJSONSerializer
from moto.dynamodb.exceptions import ItemSizeTooLarge
from moto.dynamodb.models import DynamoDBBackend
from moto.dynamodb.models.dynamo_type import DynamoType, Item, LimitedSizeDict
from moto.dynamodb.models.table import Table
from moto.dynamodb.models.utilities import bytesize

MOTO_VERSION = "5.2.5"  # the version whose Query this was read against
_INDEX = object()  # an index Query: any partition, order irrelevant
_query = threading.local()
_original_all_items = Table.all_items
_original_query = Table.query
_original_item_init = Item.__init__
_original_transact = DynamoDBBackend.transact_write_items
_original_structure = BaseJSONSerializer._serialize_type_structure
_original_writes = {name: getattr(DynamoDBBackend, name) for name in ("put_item", "update_item", "delete_item")}
_transaction = threading.local()
ITEM_SIZE_LIMIT = 405_000  # LimitedSizeDict's own limit (between DynamoDB's measured 409 and 410 KB)
_query_signature = inspect.signature(_original_query)
log = logging.getLogger("billrun.local")


def _all_items(self):
    scope = getattr(_query, "scope", None)
    if scope is None or scope[0] is not self:
        return _original_all_items(self)
    if scope[1] is _INDEX:
        items = [item for value in self.items.values()
                 for item in (value.values() if self.range_key_attr else (value,))]
        for name, wanted in scope[2]:  # moto keeps exactly these (and checks them again)
            if wanted.type == "S":  # a string's DynamoType equality is type and value
                items = [i for i in items if (v := i.attrs.get(name)) is not None
                         and v.type == "S" and v.value == wanted.value]
            else:
                items = [i for i in items if (v := i.attrs.get(name)) is not None and v == wanted]
        return items
    partition = self.items.get(scope[1])
    if partition is None:
        return []
    return list(partition.values()) if self.range_key_attr else [partition]


def _partition_query(self, hash_key, *args, **kwargs):
    arguments = _query_signature.bind(self, hash_key, *args, **kwargs).arguments
    previous = getattr(_query, "scope", None)
    if arguments.get("index_name"):
        _query.scope = (self, _INDEX, tuple(arguments.get("hash_key_conditions") or ()))
    else:
        _query.scope = (self, hash_key)
    try:
        return _original_query(self, hash_key, *args, **kwargs)
    finally:
        _query.scope = previous


def _item_init(self, hash_key, range_key, attrs) -> None:
    """Item.__init__ with LimitedSizeDict's check done on a running total: the same attributes, the same refusal."""
    self.hash_key = hash_key
    self.range_key = range_key
    self.attrs = LimitedSizeDict()
    total = 0
    for key, value in attrs.items():
        typed = DynamoType(value)
        total += bytesize(key) + typed.size()
        if total > ITEM_SIZE_LIMIT:
            raise ItemSizeTooLarge
        dict.__setitem__(self.attrs, key, typed)


def _deepcopy(value, memo=None):
    """moto's module calls copy.deepcopy for a transaction's tables and an updated item: a table is not copied
    while _transact_write_items runs (it rolls back item by item instead)."""
    if isinstance(value, Table) and getattr(_transaction, "active", False):
        return value
    return copy.deepcopy(value, memo)


def _touched(backend, transact_items) -> list[tuple[Table, DynamoType, DynamoType | None]]:
    """(table, hash key, range key) of every item the transaction names, in moto's terms."""
    touched = []
    for action in transact_items:
        _, op = next(iter(action.items()))
        table = backend.tables.get(op.get("TableName"))
        if table is None:
            continue  # moto refuses the transaction itself
        key = op.get("Item") if "Item" in op else op.get("Key", {})
        if table.hash_key_attr not in key or (table.range_key_attr and table.range_key_attr not in key):
            continue  # moto refuses it too
        range_value = DynamoType(key[table.range_key_attr]) if table.range_key_attr else None
        touched.append((table, DynamoType(key[table.hash_key_attr]), range_value))
    return touched


def _restore(table: Table, hash_value, range_value, saved: Item | None) -> None:
    if range_value is None:
        if saved is None:
            table.items.pop(hash_value, None)
        else:
            table.items[hash_value] = saved
    elif saved is None:
        table.items.get(hash_value, {}).pop(range_value, None)
    else:
        table.items[hash_value][range_value] = saved


def _transact_write_items(self, transact_items):
    """moto's own transaction, rolled back by putting back copies of just the items it names."""
    saved = [(table, h, r, copy.deepcopy(table.get_item(h, r))) for table, h, r in _touched(self, transact_items)]
    _transaction.active = True
    try:
        return _original_transact(self, transact_items)
    except BaseException:
        for table, h, r, item in reversed(saved):
            _restore(table, h, r, item)
        raise
    finally:
        _transaction.active = False


def _checked_once(name: str):
    """moto's transaction checks each action's condition against the item, then calls put_item/update_item/
    delete_item with the same condition, which parses and checks it again against the same item (requests are
    served one at a time: chalicelib/local/atomic.py). Inside a transaction the second check is dropped."""
    original = _original_writes[name]

    def write(self, *args, **kwargs):
        if getattr(_transaction, "active", False):
            kwargs["condition_expression"] = None
        return original(self, *args, **kwargs)
    write.__wrapped__ = original
    return write


_SCALARS = {"S", "N", "BOOL", "NULL"}
_STRING_SETS = {"SS", "NS"}


def _wire(value: dict) -> dict:
    """An AttributeValue as moto's shape-by-shape serializer writes it: its known members that are not None, strings
    as str, binary base64-encoded, maps and lists recursively."""
    out = {}
    for kind, member in value.items():
        if member is None:
            continue
        if kind in _SCALARS:
            out[kind] = str(member) if kind in ("S", "N") and member not in ({}, []) else member
        elif kind in _STRING_SETS:
            out[kind] = [str(v) for v in member]
        elif kind == "B":
            out[kind] = _b64(member)
        elif kind == "BS":
            out[kind] = [_b64(v) for v in member]
        elif kind == "M":
            out[kind] = {k: _wire(v) for k, v in member.items()}
        elif kind == "L":
            out[kind] = [_wire(v) for v in member]
    return out


def _b64(value) -> str:
    return base64.b64encode(value.encode("utf-8") if isinstance(value, str) else value).strip().decode("utf-8")


def _serialize_type_structure(self, serialized, value, shape, key):
    if key and shape.name == "AttributeValue" and isinstance(value, dict):
        self._default_serialize(serialized, _wire(value), shape, key)
        return
    _original_structure(self, serialized, value, shape, key)


def install() -> bool:
    """Idempotent. False (and moto left alone) on a moto version this was not checked against."""
    if moto.__version__ != MOTO_VERSION:
        log.warning("moto %s is not %s: Query runs at moto's own speed", moto.__version__, MOTO_VERSION)
        return False
    Table.all_items = _all_items
    Table.query = _partition_query
    Item.__init__ = _item_init
    dynamodb_models.copy = types.SimpleNamespace(deepcopy=_deepcopy)
    DynamoDBBackend.transact_write_items = _transact_write_items
    BaseJSONSerializer._serialize_type_structure = _serialize_type_structure
    for name in _original_writes:
        setattr(DynamoDBBackend, name, _checked_once(name))
    return True


def uninstall() -> None:
    Table.all_items = _original_all_items
    Table.query = _original_query
    Item.__init__ = _original_item_init
    dynamodb_models.copy = copy
    DynamoDBBackend.transact_write_items = _original_transact
    BaseJSONSerializer._serialize_type_structure = _original_structure
    for name, original in _original_writes.items():
        setattr(DynamoDBBackend, name, original)


@contextmanager
def moto_speed(enabled: bool):
    """For the equivalence test: Queries inside run with (True) or without (False) the narrowing."""
    installed = Table.query is _partition_query
    install() if enabled else uninstall()
    try:
        yield
    finally:
        install() if installed else uninstall()
