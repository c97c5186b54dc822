"""Checks every DynamoDB request moto receives against limits real DynamoDB enforces and moto (5.2.5) does not,
or not exactly; and reports each request real DynamoDB would refuse.

moto accepts a BatchWriteItem of any number of requests and two puts of one item in it when their other
attributes differ, and measures an item's size its own way (a number by its digits, a list or map without
DynamoDB's overhead), refusing at 405,000 bytes of that. What it does refuse (over 100 keys in a BatchGetItem,
over 100 actions or two on one item in a transaction) is checked here too: the app might catch the error.
Checked, as DynamoDB's documentation states them (docs.aws.amazon.com/amazondynamodb/latest/developerguide/
Constraints.html and CapacityUnitCalculations.html):
- BatchWriteItem: at most 25 put and delete requests across its tables, no two on one item;
- BatchGetItem: at most 100 keys across its tables, none twice;
- TransactWriteItems and TransactGetItems: at most 100 actions, no two on one item; a transaction's puts at most
  4 MB together;
- an item put (PutItem, a BatchWriteItem put, a transaction's put) or left by an update (UpdateItem, a
  transaction's update) at most 400 KB, by `item_size`;
- Query and Scan: a Limit from 1 (DynamoDB refuses less) to MAX_QUERY_LIMIT;
- a Query or Scan page at most 1 MB of items (moto stops a page at 1,000,000 bytes of its own measure, before
  filters; here what it answered is measured again by DynamoDB's rules).

The check runs in moto's request handler, which every DynamoDB request passes in process (mock_aws) and in
moto's server (the local stack's, the bench's): it sees the request as DynamoDB would, with the tables' key
schemas. It never refuses anything itself: a report goes to the innermost `recording()` (the tests fail the
test at its end: an exception inside the app could be caught by the app) or, outside one, to the log as a
warning starting with REFUSED (the local stack's and the bench's moto server: their tests look for it)."""
import json
import logging
import sysconfig
import threading
import traceback
from base64 import b64decode
from contextlib import contextmanager
from decimal import Decimal, InvalidOperation
from pathlib import Path

from .atomic import _LOCK

MAX_BATCH_WRITE = 25
MAX_BATCH_GET = 100
MAX_TRANSACTION_ACTIONS = 100
MAX_TRANSACTION_BYTES = 4 * 1024 * 1024
MAX_ITEM_BYTES = 400 * 1024  # "KB" in DynamoDB's documentation is 1,024 bytes
MAX_PAGE_BYTES = 1024 * 1024
MAX_QUERY_LIMIT = 1000  # not DynamoDB's (it has none): the API's largest page; more is a loop in one request

REFUSED = "DynamoDB would refuse this request"  # what a report outside a recording is logged with
ROOT = Path(__file__).resolve().parents[2]
_STDLIB = Path(sysconfig.get_paths()["stdlib"]).resolve()
_HERE = Path(__file__).resolve().parent  # chalicelib/local: moto's helpers, not a caller
log = logging.getLogger("billrun.local")
_recordings: list[list[str]] = []
_recordings_lock = threading.Lock()


# --- sizes by DynamoDB's rules ---------------------------------------------------------------------------------

def item_size(attributes: dict) -> int:
    """An item's size as DynamoDB counts it: each attribute's name (UTF-8 bytes) and value. `attributes` in the
    wire form ({"S": ...}, {"N": ...}, {"M": {...}}) or as moto holds them (DynamoType)."""
    return sum(len(name.encode()) + value_size(value) for name, value in attributes.items())


def value_size(value) -> int:
    """Strings their UTF-8 bytes, binary its raw bytes, a number 1 byte per two significant digits plus 1, null and
    boolean 1, sets the sum of their members, a list or map 3 bytes plus each element's size plus 1 byte each."""
    kind, member = (value.type, value.value) if hasattr(value, "type") else next(iter(value.items()))
    if kind == "S":
        return len(member.encode())
    if kind == "N":
        return _number_size(member)
    if kind == "B":
        return _binary_size(member)
    if kind in ("BOOL", "NULL"):
        return 1
    if kind == "SS":
        return sum(len(m.encode()) for m in member)
    if kind == "NS":
        return sum(_number_size(m) for m in member)
    if kind == "BS":
        return sum(_binary_size(m) for m in member)
    if kind == "L":
        return 3 + sum(value_size(v) + 1 for v in member)
    if kind == "M":
        return 3 + sum(len(k.encode()) + value_size(v) + 1 for k, v in member.items())
    raise ValueError(f"not an attribute value: {value!r}")


def _number_size(text: str) -> int:
    try:
        number = Decimal(text)
    except InvalidOperation:
        return len(text)  # moto refuses it; its length is the most it could be
    digits = number.normalize().as_tuple().digits  # leading and trailing zeros trimmed
    return (len(digits) + 1) // 2 + 1 + (1 if number < 0 else 0)


def _binary_size(member) -> int:
    if isinstance(member, str):  # moto keeps some binary values in their base64 wire form
        return len(b64decode(member))
    return len(member)


# --- what a request would be refused for -----------------------------------------------------------------------

def violations(operation: str, params: dict, backend) -> list[str]:
    """What real DynamoDB would refuse in this request (before it runs)."""
    check = _CHECKS.get(operation)
    return check(params, backend) if check else []


def _batch_write(params, backend) -> list[str]:
    found, requests, seen = [], 0, set()
    for table_name, table_requests in params.get("RequestItems", {}).items():
        for request in table_requests:
            requests += 1
            if "PutRequest" in request:
                item = request["PutRequest"]["Item"]
                found += _too_large("BatchWriteItem", table_name, item_size(item))
                key = _key(backend, table_name, item)
            else:
                key = _key(backend, table_name, request.get("DeleteRequest", {}).get("Key", {}))
            if _again(seen, key):
                found.append(f"BatchWriteItem: two requests on one item of {table_name} ({dict(key[1])}); "
                             "DynamoDB refuses the batch (ValidationException)")
    if requests > MAX_BATCH_WRITE:
        found.append(f"BatchWriteItem: {requests} put/delete requests in one request; the limit is {MAX_BATCH_WRITE}")
    return found


def _batch_get(params, backend) -> list[str]:
    found, keys, seen = [], 0, set()
    for table_name, request in params.get("RequestItems", {}).items():
        for given in request.get("Keys", []):
            keys += 1
            key = _key(backend, table_name, given)
            if _again(seen, key):
                found.append(f"BatchGetItem: one key of {table_name} asked twice ({dict(key[1])}); "
                             "DynamoDB refuses the batch (ValidationException)")
    if keys > MAX_BATCH_GET:
        found.append(f"BatchGetItem: {keys} keys in one request; the limit is {MAX_BATCH_GET}")
    return found


def _transaction(operation: str):
    def check(params, backend) -> list[str]:
        actions = params.get("TransactItems", [])
        found, seen, put_bytes = [], set(), 0
        for action in actions:
            kind, op = next(iter(action.items()))
            table_name = op.get("TableName")
            if kind == "Put":
                size = item_size(op["Item"])
                found += _too_large(operation, table_name, size)
                put_bytes += size
            key = _key(backend, table_name, op["Item"] if kind == "Put" else op.get("Key", {}))
            if _again(seen, key):
                found.append(f"{operation}: two actions on one item of {table_name} ({dict(key[1])}); DynamoDB "
                             "refuses the transaction (ValidationException)")
        if len(actions) > MAX_TRANSACTION_ACTIONS:
            found.append(f"{operation}: {len(actions)} actions in one transaction; the limit is "
                         f"{MAX_TRANSACTION_ACTIONS}")
        if put_bytes > MAX_TRANSACTION_BYTES:
            found.append(f"{operation}: {put_bytes} bytes of items in one transaction; the limit is "
                         f"{MAX_TRANSACTION_BYTES} (4 MB)")
        return found
    return check


def _put_item(params, backend) -> list[str]:
    return _too_large("PutItem", params.get("TableName"), item_size(params.get("Item", {})))


def _read_page(operation: str):
    def check(params, backend) -> list[str]:
        limit = params.get("Limit")
        if limit is not None and not 1 <= limit <= MAX_QUERY_LIMIT:
            return [f"{operation} on {params.get('TableName')}: Limit {limit}; DynamoDB refuses below 1, and this "
                    f"app never asks more than {MAX_QUERY_LIMIT} (a page holds at most 1 MB anyway)"]
        return []
    return check


_CHECKS = {"BatchWriteItem": _batch_write, "BatchGetItem": _batch_get, "PutItem": _put_item,
           "TransactWriteItems": _transaction("TransactWriteItems"),
           "TransactGetItems": _transaction("TransactGetItems"),
           "Query": _read_page("Query"), "Scan": _read_page("Scan")}


def _again(seen: set, key) -> bool:
    """Whether one request named this item before (a key moto refuses anyway, None, never counts); now seen."""
    if key is None:
        return False
    if key in seen:
        return True
    seen.add(key)
    return False


def _too_large(operation: str, table_name, size: int) -> list[str]:
    if size <= MAX_ITEM_BYTES:
        return []
    return [f"{operation}: an item of {size} bytes into {table_name}; the limit is {MAX_ITEM_BYTES} (400 KB)"]


def _key(backend, table_name, attributes: dict):
    """(table, its key attributes' values) by the table's key schema; None when moto would refuse the request."""
    table = backend.tables.get(table_name)
    if table is None:
        return None
    names = [table.hash_key_attr] + ([table.range_key_attr] if table.range_key_attr else [])
    if not all(name in attributes for name in names):
        return None
    return table_name, tuple((name, _comparable(attributes[name])) for name in names)


def _comparable(value: dict):
    kind, member = next(iter(value.items()))
    if kind == "N":
        return kind, Decimal(member).normalize()  # 1.0 and 1 are one key
    return kind, (b64decode(member) if kind == "B" and isinstance(member, str) else member)


# --- after the request: what it left stored, what it answered ---------------------------------------------------

def stored_violations(operation: str, params: dict, backend) -> list[str]:
    """Items left over 400 KB by the updates of a request moto applied."""
    if operation == "UpdateItem":
        updated = [(params.get("TableName"), params.get("Key", {}))]
    elif operation == "TransactWriteItems":
        updated = [(a["Update"].get("TableName"), a["Update"].get("Key", {}))
                   for a in params.get("TransactItems", []) if "Update" in a]
    else:
        return []
    found = []
    for table_name, key in updated:
        table = backend.tables.get(table_name)
        if table is None or table.hash_key_attr not in key:
            continue
        item = table.get_item(_typed(key[table.hash_key_attr]),
                              _typed(key[table.range_key_attr]) if table.range_key_attr in key else None)
        if item is not None:
            found += _too_large(f"{operation} (the updated item)", table_name, item_size(item.attrs))
    return found


def page_violations(operation: str, params: dict, body) -> list[str]:
    """A Query or Scan page of more than 1 MB of items. Its wire form is never smaller than the items' size by
    DynamoDB's rules (names quoted, type tags, base64), so only a body over 1 MB is measured."""
    if operation not in ("Query", "Scan") or not isinstance(body, (str, bytes)) or len(body) <= MAX_PAGE_BYTES:
        return []
    size = sum(item_size(item) for item in json.loads(body).get("Items", []))
    if size <= MAX_PAGE_BYTES:
        return []
    return [f"{operation} on {params.get('TableName')}: a page of {size} bytes of items; DynamoDB stops a page at "
            f"{MAX_PAGE_BYTES} (1 MB)"]


def _typed(value: dict):
    from moto.dynamodb.models.dynamo_type import DynamoType
    return DynamoType(value)


# --- reporting and installing ----------------------------------------------------------------------------------

@contextmanager
def recording():
    """Collects the reports of requests made inside (any thread) in the list it yields."""
    found: list[str] = []
    with _recordings_lock:
        _recordings.append(found)
    try:
        yield found
    finally:
        with _recordings_lock:
            _recordings.remove(found)


def report(message: str) -> None:
    message = f"{message} [{_call_site()}]"
    with _recordings_lock:
        if _recordings:
            _recordings[-1].append(message)
            return
    log.warning("%s: %s", REFUSED, message)


def _call_site() -> str:
    """The innermost frame of code that is neither a library's nor this module's (in process: the app's or a
    test's); in moto's server, the request came from another process."""
    for frame in reversed(traceback.extract_stack()):
        path = Path(frame.filename)
        if "site-packages" in path.parts or path.is_relative_to(_STDLIB) or path.is_relative_to(_HERE):
            continue
        return f"{path.relative_to(ROOT) if path.is_relative_to(ROOT) else path.name}:{frame.lineno} {frame.name}"
    return "another process"


def install() -> None:
    """Idempotent: every DynamoDB request moto handles from now on is checked."""
    from moto.dynamodb.responses import DynamoHandler

    if getattr(DynamoHandler.call_action, "_billrun_limits", False):
        return
    original = DynamoHandler.call_action

    def checked(self, *args, **kwargs):
        operation, params = self._get_action(), getattr(self, "params", None) or {}
        for message in _safely(violations, operation, params, self.dynamodb_backend):
            report(message)
        after = []
        with _LOCK:  # what the request stored is read before another request changes it
            answer = original(self, *args, **kwargs)
            if answer[0] < 300:  # applied (a refused request stored nothing)
                after = _safely(stored_violations, operation, params, self.dynamodb_backend)
                after += _safely(page_violations, operation, params, answer[2])
        for message in after:
            report(message)
        return answer

    checked._billrun_limits = True
    DynamoHandler.call_action = checked


def _safely(check, *args) -> list[str]:
    """A request too malformed to check is one moto refuses itself."""
    try:
        return check(*args)
    except (KeyError, TypeError, ValueError, AttributeError, StopIteration):
        return []
