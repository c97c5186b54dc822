"""Batched DynamoDB requests within real DynamoDB's limits: BatchGetItem (100 keys a request), BatchWriteItem (25
items a request) and TransactWriteItems (100 actions, all or nothing, each refused action named by its cancellation
reason).

DynamoDB may process only part of a batch (a throttled partition, a BatchGetItem answer over 16 MB) and name the
rest UnprocessedKeys or UnprocessedItems. Those are sent again here, after a pause that doubles each time (with
jitter), as AWS advises: an immediate resend meets the same throttle. PynamoDB's own batch_get and batch_write
resend at once, and batch_write gives up after two resends (pynamodb 6.1.0, models.py).

Every request costs milliseconds of client CPU and a round trip whatever it carries, so the billing core reads
and writes a page of customers in a few of these instead of a few requests per customer."""
import random
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from time import sleep
from typing import Any, Iterable

from pynamodb.exceptions import TransactWriteError

from ..config import settings
from . import tables

MAX_GET = 100  # BatchGetItem
MAX_WRITE = 25  # BatchWriteItem
MAX_ACTIONS = 100  # TransactWriteItems
ATTEMPTS = 8  # a batch request and up to 7 resends of what DynamoDB left unprocessed: ~5 s of pauses at most
FIRST_PAUSE, MAX_PAUSE = 0.05, 2.0  # seconds before the first resend; doubled each time up to MAX_PAUSE


class Unprocessed(Exception):
    """DynamoDB still left part of a batch unprocessed after ATTEMPTS requests."""


def get_many(model, keys: Iterable[tuple], attributes: list[str] | None = None) -> list:
    """The items of these (hash, range) or (hash,) keys that exist, strongly consistent, in no particular order;
    only `attributes` of them when given. 100 keys a request, `page_threads` requests at a time (a request's wait
    overlaps the previous answer's decoding)."""
    keys = list(dict.fromkeys(keys))
    if not keys:
        return []
    tables.bind()
    connection, table = model._get_connection(), model.Meta.table_name  # a kept connection: its client
    key_attributes = sorted((a for a in model.get_attributes().values() if a.is_hash_key or a.is_range_key),
                            key=lambda a: not a.is_hash_key)
    found = []

    def send(typed_keys: list[dict]) -> list[dict]:
        data = connection.batch_get_item(typed_keys, consistent_read=True, attributes_to_get=attributes)
        found.extend(model.from_raw_data(item) for item in data.get("Responses", {}).get(table, []))
        return data.get("UnprocessedKeys", {}).get(table, {}).get("Keys", [])

    chunks = [[{a.attr_name: {a.attr_type: a.serialize(value)} for a, value in zip(key_attributes, key)}
               for key in keys[start:start + MAX_GET]] for start in range(0, len(keys), MAX_GET)]
    threads = min(settings().page_threads, len(chunks))
    if threads <= 1:
        for typed in chunks:
            _until_processed(send, typed, f"keys of {table}")
        return found
    with ThreadPoolExecutor(threads, thread_name_prefix="batch-get") as pool:
        list(pool.map(lambda typed: _until_processed(send, typed, f"keys of {table}"), chunks))
    return found


def put_many(items: Iterable) -> None:
    """Writes the items (any models), unconditionally: only for writes whose key makes a repeat harmless. 25 a
    request, per table."""
    by_model: dict[type, list] = {}
    for item in items:
        by_model.setdefault(type(item), []).append(item)
    tables.bind()
    for model, group in by_model.items():
        connection, table = model._get_connection(), model.Meta.table_name

        def send(requests: list[dict]) -> list[dict]:
            data = connection.batch_write_item(put_items=[r["PutRequest"]["Item"] for r in requests])
            return data.get("UnprocessedItems", {}).get(table, [])

        for start in range(0, len(group), MAX_WRITE):
            requests = [{"PutRequest": {"Item": item.serialize()}} for item in group[start:start + MAX_WRITE]]
            _until_processed(send, requests, f"put requests of {table}")


def _until_processed(send, pending: list, what: str) -> None:
    """send(pending) answers what DynamoDB left unprocessed of it; that is sent again until nothing is left."""
    for attempt in range(ATTEMPTS):
        if attempt:
            sleep(_pause(attempt))
        pending = send(pending)
        if not pending:
            return
    raise Unprocessed(f"{len(pending)} {what} still unprocessed after {ATTEMPTS} requests")


def _pause(attempt: int) -> float:
    """Before the attempt-th resend: half to all of FIRST_PAUSE * 2^(attempt-1), at most MAX_PAUSE (jittered, so
    writers throttled together do not all come back together)."""
    ceiling = min(MAX_PAUSE, FIRST_PAUSE * 2 ** (attempt - 1))
    return random.uniform(ceiling / 2, ceiling)


@dataclass
class Refusal:
    tag: Any  # what the caller attached to the refused action
    code: str  # ConditionalCheckFailed, TransactionConflict, ...


@dataclass
class Transaction:
    """Up to MAX_ACTIONS puts and updates, applied all together or not at all. Each action carries a tag the
    caller chooses, so a cancellation says whose action was refused."""
    _puts: list = field(default_factory=list)
    _updates: list = field(default_factory=list)
    _model: type | None = None  # whose (kept) connection sends it

    def __len__(self) -> int:
        return len(self._puts) + len(self._updates)

    def put(self, item, condition=None, tag=None) -> None:
        tables.bind()
        self._model = self._model or type(item)
        self._puts.append((item.get_save_kwargs_from_instance(condition=condition), tag))

    def update(self, item, actions, condition=None, tag=None) -> None:
        tables.bind()
        self._model = self._model or type(item)
        self._updates.append((item.get_update_kwargs_from_instance(actions=actions, condition=condition), tag))

    def commit(self) -> list[Refusal]:
        """[] when every action was applied; otherwise nothing was, and the refusals say which and why."""
        if not len(self):
            return []
        if len(self) > MAX_ACTIONS:
            raise ValueError(f"a transaction holds at most {MAX_ACTIONS} actions, not {len(self)}")
        connection = self._model._get_connection().connection  # a new Connection would be a new client
        try:
            connection.transact_write_items(condition_check_items=[], delete_items=[],
                                            put_items=[kwargs for kwargs, _ in self._puts],
                                            update_items=[kwargs for kwargs, _ in self._updates])
            return []
        except TransactWriteError as error:
            if error.cause_response_code != "TransactionCanceledException":
                raise
            tags = [tag for _, tag in self._puts] + [tag for _, tag in self._updates]  # the request's order
            return [Refusal(tag, reason.code) for tag, reason in zip(tags, error.cancellation_reasons) if reason]
