"""Batched DynamoDB requests within real DynamoDB's limits: BatchGetItem (100 keys a request, unprocessed keys
asked again), BatchWriteItem (25 items a request, unprocessed items sent again) and TransactWriteItems (100
actions, all or nothing, each refused action named by its cancellation reason).

Every request costs milliseconds of client CPU and a round trip whatever it carries, so the billing core reads
and writes a page of customers in a few of these instead of a few requests per customer."""
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Iterable

from pynamodb.exceptions import TransactWriteError

from ..config import settings
from . import tables

MAX_GET = 100  # BatchGetItem
MAX_WRITE = 25  # BatchWriteItem
MAX_ACTIONS = 100  # TransactWriteItems


def get_many(model, keys: Iterable[tuple]) -> list:
    """The items of these (hash, range) or (hash,) keys that exist, strongly consistent, in no particular order.
    PynamoDB sends them 100 at a time and asks again for the keys DynamoDB left unprocessed; more than 100 keys go
    out `page_threads` requests at a time (a request's wait overlaps the previous answer's decoding)."""
    keys = [k if len(k) > 1 else k[0] for k in dict.fromkeys(keys)]
    if not keys:
        return []
    tables.bind()
    chunks = [keys[start:start + MAX_GET] for start in range(0, len(keys), MAX_GET)]
    threads = min(settings().page_threads, len(chunks))
    if threads <= 1:
        return list(model.batch_get(keys, consistent_read=True))
    with ThreadPoolExecutor(threads, thread_name_prefix="batch-get") as pool:
        return [item for found in pool.map(lambda chunk: list(model.batch_get(chunk, consistent_read=True)), chunks)
                for item in found]


def put_many(items: Iterable) -> None:
    """Writes the items (any models), unconditionally: only for writes whose key makes a repeat harmless. Sent
    25 at a time per table; PynamoDB sends again what DynamoDB left unprocessed."""
    by_model: dict[type, list] = {}
    for item in items:
        by_model.setdefault(type(item), []).append(item)
    tables.bind()
    for model, group in by_model.items():
        with model.batch_write() as batch:
            for item in group:
                batch.save(item)


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
