"""Owns the billing-ledger table: the net amount invoiced per (subscription, period), and by which documents.

A billing job claims a period for a document with a compare-and-set on the entry's version, so of two
jobs racing for the same period exactly one adds its amount. A claim remembers the document
("<documentId>=<amount>"), so re-running a crashed job recognises its own earlier claims and never adds
them twice."""
from datetime import date
from decimal import Decimal

from pynamodb.exceptions import DoesNotExist, PutError, UpdateError

from ..domain.billing import LedgerEntry, PeriodChange
from . import tables
from .billing_models import LedgerModel
from .repository import condition_failed


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
        for item in LedgerModel.query(f"{tenant_id}#{sub_id}", consistent_read=True):
            entry = _entry(item)
            found[(entry.subscription_id, entry.period_start)] = entry
    return found


def billed(tenant_id: str, subscription_id: str) -> bool:
    """Whether any period of the subscription is held by a document (released periods hold none)."""
    tables.bind()
    return any(item.documents for item in LedgerModel.query(f"{tenant_id}#{subscription_id}", consistent_read=True))


def _find(key: tuple[str, str]) -> LedgerEntry | None:
    try:
        return _entry(LedgerModel.get(*key, consistent_read=True))
    except DoesNotExist:
        return None


def _holds(entry: LedgerEntry | None, document_id: str) -> bool:
    return entry is not None and any(doc == document_id for doc, _ in entry.documents)


def claim(tenant_id: str, change: PeriodChange, document_id: str, seen: LedgerEntry | None) -> bool:
    """Adds change.delta for document_id if the entry is still at change.expected_version.
    True when the document holds the claim (now or from an earlier run), False when another job got there.
    `seen` is the entry the change was computed from: if it already holds the document (a re-run after a
    crash), nothing is written again."""
    if _holds(seen, document_id):
        return True
    tables.bind()
    key = _item_key(tenant_id, change.subscription_id, change.period.start)
    record = f"{document_id}={change.delta}"
    try:
        if change.expected_version == 0:
            p = change.period
            LedgerModel(*key, tenant_id=tenant_id, subscription_id=change.subscription_id, period_start=p.start,
                        period_end=p.end, full_start=p.full_start, full_end=p.full_end,
                        billed_amount=change.delta, version=1, documents=[record]).save(
                condition=LedgerModel.period_key.does_not_exist())
        else:
            M = LedgerModel
            M(*key).update(
                actions=[M.billed_amount.add(change.delta), M.version.add(1),
                         M.documents.set(M.documents.append([record]))],
                condition=M.version == change.expected_version)
        return True
    except (PutError, UpdateError) as error:
        if not condition_failed(error):
            raise
    return _holds(_find(key), document_id)


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
