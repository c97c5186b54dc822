"""Owns the billing-ledger table: the net amount invoiced per (subscription, period), and by which documents.

A billing job claims a period for a document with a compare-and-set on the entry's version, so of two
jobs racing for the same period exactly one adds its amount. A claim remembers the document
("<documentId>=<amount>"), so re-running a crashed job recognises its own earlier claims and never adds
them twice.

Each customer also has a head item, (tenantId#customerId, "head"), naming every entry of its subscriptions
("subscriptionId@periodStart": a string set, only ever added to, with no condition; the entries' own
compare-and-sets keep billing exact). A page of customers' entries is then two BatchGetItems: their heads, then
the entries the heads name; and a customer's claims add to one head, whatever its subscriptions."""
from datetime import date
from decimal import Decimal

from pynamodb.exceptions import DoesNotExist, UpdateError

from ..domain.billing import LedgerEntry, PeriodChange
from . import tables
from .batch import Transaction, get_many
from .billing_models import LedgerModel
from .repository import condition_failed

HEAD = "head"  # the head's sort key: after every ISO date, so `period_key < HEAD` reads a partition's entries


def ledger_key(subscription_id: str, period_start: date) -> str:
    """A period's name in a document's list of claims."""
    return f"{subscription_id}#{period_start.isoformat()}"


def _item_key(tenant_id: str, subscription_id: str, period_start: date) -> tuple[str, str]:
    """(partition, sort) key of a period's entry: one partition per subscription."""
    return f"{tenant_id}#{subscription_id}", period_start.isoformat()


def _entry(item: LedgerModel) -> LedgerEntry:
    documents = tuple((text.rpartition("=")[0], Decimal(text.rpartition("=")[2])) for text in item.documents or [])
    return LedgerEntry(subscription_id=item.subscription_id, period_start=item.period_start,
                       period_end=item.period_end, full_start=item.full_start, full_end=item.full_end,
                       billed_amount=item.billed_amount, version=int(item.version), documents=documents)


def entries(tenant_id: str, subscription_ids) -> dict[tuple[str, date], LedgerEntry]:
    """Every ledger entry of these subscriptions: one query each, reading only their own periods."""
    tables.bind()
    found = {}
    for sub_id in subscription_ids:
        for item in LedgerModel.query(f"{tenant_id}#{sub_id}", LedgerModel.period_key < HEAD, consistent_read=True):
            entry = _entry(item)
            found[(entry.subscription_id, entry.period_start)] = entry
    return found


def read(tenant_id: str, customer_ids) -> dict[tuple[str, date], LedgerEntry]:
    """Every entry of these customers' subscriptions, in two BatchGetItems (their heads, then the entries)."""
    heads = get_many(LedgerModel, [(f"{tenant_id}#{customer_id}", HEAD) for customer_id in customer_ids])
    keys = []
    for head in heads:
        for named in sorted(head.starts or ()):
            sub_id, _, start = named.rpartition("@")
            keys.append(_item_key(tenant_id, sub_id, date.fromisoformat(start)))
    found = {}
    for item in get_many(LedgerModel, keys):
        entry = _entry(item)
        found[(entry.subscription_id, entry.period_start)] = entry
    return found


def billed(tenant_id: str, subscription_id: str) -> bool:
    """Whether any period of the subscription is held by a document (released periods hold none)."""
    tables.bind()
    return any(item.documents for item in LedgerModel.query(f"{tenant_id}#{subscription_id}",
                                                             LedgerModel.period_key < HEAD, consistent_read=True))


def _find(key: tuple[str, str]) -> LedgerEntry | None:
    try:
        return _entry(LedgerModel.get(*key, consistent_read=True))
    except DoesNotExist:
        return None


def _holds(entry: LedgerEntry | None, document_id: str) -> bool:
    return entry is not None and any(doc == document_id for doc, _ in entry.documents)


def add_claims(transaction: Transaction, tenant_id: str, changes: list[PeriodChange], document_id: str,
               seen: dict, tag) -> set[str]:
    """The claims of `changes` for document_id as actions of `transaction` (each entry's compare-and-set); a change
    whose entry already holds the document (a re-run's) adds nothing. Answers the names of the entries it creates,
    for add_head (a transaction takes one action per item: a customer's head is added to once for all its
    documents; an existing entry is named in its head already)."""
    created: set[str] = set()
    for change in changes:
        if _holds(seen.get((change.subscription_id, change.period.start)), document_id):
            continue
        key = _item_key(tenant_id, change.subscription_id, change.period.start)
        record, M = f"{document_id}={change.delta}", LedgerModel
        if change.expected_version == 0:
            p = change.period
            transaction.put(M(*key, tenant_id=tenant_id, subscription_id=change.subscription_id, period_start=p.start,
                              period_end=p.end, full_start=p.full_start, full_end=p.full_end,
                              billed_amount=change.delta, version=1, documents=[record]),
                            M.period_key.does_not_exist(), tag)
            created.add(f"{change.subscription_id}@{key[1]}")  # a new entry: its head must name it
        else:
            transaction.update(M(*key), [M.billed_amount.add(change.delta), M.version.add(1),
                                         M.documents.set(M.documents.append([record]))],
                               M.version == change.expected_version, tag)
    return created


def add_head(transaction: Transaction, tenant_id: str, customer_id: str, created: set[str], tag) -> None:
    """Names the created entries in the customer's head: one action, with no condition (nothing if none)."""
    if created:
        transaction.update(LedgerModel(f"{tenant_id}#{customer_id}", HEAD), [LedgerModel.starts.add(created)],
                           tag=tag)


def unclaimed(changes: list[PeriodChange], document_id: str, seen: dict) -> list[PeriodChange]:
    """The changes whose entry does not hold the document yet (what add_claims would write)."""
    return [c for c in changes if not _holds(seen.get((c.subscription_id, c.period.start)), document_id)]


def release(tenant_id: str, subscription_id: str, period_start: date, document_id: str) -> None:
    """Takes a document's amounts back out of a period (a canceled invoice, a claim a re-run no longer
    needs), so the next billing job bills the period again. Retried until it applies or there is nothing."""
    tables.bind()
    key = _item_key(tenant_id, subscription_id, period_start)
    for _ in range(20):
        entry = _find(key)
        if not _holds(entry, document_id):
            return
        kept = [f"{doc}={amount}" for doc, amount in entry.documents if doc != document_id]
        removed = sum((amount for doc, amount in entry.documents if doc == document_id), Decimal(0))
        M = LedgerModel
        try:
            M(*key).update(
                actions=[M.billed_amount.add(-removed), M.version.add(1), M.documents.set(kept)],
                condition=M.version == entry.version)
            return
        except UpdateError as error:
            if not condition_failed(error):
                raise
    raise RuntimeError(f"ledger entry {key} kept changing while releasing {document_id}")
