"""Owns the billing-ledger table: the net amount invoiced per (subscription, period), and by which documents.

A billing job claims a period for a document with a compare-and-set on the entry's version, so of two
jobs racing for the same period exactly one adds its amount. A claim remembers the document
("<documentId>=<amount>"), so re-running a crashed job recognises its own earlier claims and never adds
them twice.

Each customer also has a head item, (tenantId#customerId, "head"), holding for each of its subscriptions with entries
a mark: "fingerprint@date" when every period of the subscription starting on or before that date is billed at its
worth under the terms that fingerprint names (domain.billing rule 10), "" when the head cannot vouch for it. Every
write of entries writes the head in the same transaction, under a compare-and-set on the head's version, so the head
is never behind its entries. A page of customers' ledger is then one BatchGetItem of their heads, plus a Query of each
subscription whose mark does not hold (changed since, or ""); a subscription without a mark has no entry. What is read
grows with the subscriptions billed, and the head with the subscriptions a customer has, not with the periods billed.
"""
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Iterable, Mapping

from ..domain.billing import LedgerEntry, PeriodChange, fingerprint
from ..domain.subscriptions import Subscription
from . import tables
from .batch import MAX_ACTIONS, Transaction, get_many
from .billing_models import LedgerModel

HEAD = "head"  # the head's sort key: after every ISO date, so `period_key < HEAD` reads a partition's entries
UNVOUCHED = ""  # a head's mark for a subscription whose entries must be read


def _item_key(tenant_id: str, subscription_id: str, period_start: date) -> tuple[str, str]:
    """(partition, sort) key of a period's entry: one partition per subscription."""
    return f"{tenant_id}#{subscription_id}", period_start.isoformat()


def _entry(item: LedgerModel) -> LedgerEntry:
    documents = tuple((text.rpartition("=")[0], Decimal(text.rpartition("=")[2])) for text in item.documents or [])
    return LedgerEntry(subscription_id=item.subscription_id, period_start=item.period_start,
                       period_end=item.period_end, full_start=item.full_start, full_end=item.full_end,
                       billed_amount=item.billed_amount, version=int(item.version), documents=documents)


@dataclass
class Head:
    """A customer's ledger head as read: its version (0: no head yet) and its marks, by subscription id."""
    customer_id: str
    version: int = 0
    marks: dict[str, str] = field(default_factory=dict)

    def through(self, sub: Subscription) -> date | None:
        """The date sub is settled through, if its mark holds for its terms as they are now."""
        fingerprint_, _, through = self.marks.get(sub.id, UNVOUCHED).partition("@")
        return date.fromisoformat(through) if through and fingerprint_ == fingerprint(sub) else None

    def unread(self, sub: Subscription) -> bool:
        """Whether sub may have entries the head does not vouch for: they are to be read."""
        return sub.id in self.marks and self.through(sub) is None

    def written(self, marks: dict[str, str]) -> "Head":
        """The head after a write of these marks committed."""
        return Head(self.customer_id, self.version + 1, marks)


def mark(sub: Subscription, through: date | None) -> str:
    return UNVOUCHED if through is None else f"{fingerprint(sub)}@{through.isoformat()}"


@dataclass
class View:
    """What billing read of a page's ledger: each customer's head, and the entries of the subscriptions they could
    not vouch for."""
    heads: dict[str, Head]
    entries: dict[tuple[str, date], LedgerEntry]

    def update(self, other: "View") -> None:
        self.heads.update(other.heads)
        self.entries.update(other.entries)


def _head(tenant_id: str, item: LedgerModel) -> Head:
    customer_id = item.subscription_key[len(tenant_id) + 1:]
    if item.settled is None:  # written before marks: it names its entries ("subscriptionId@start"), none settled
        return Head(customer_id, 0, {named.rpartition("@")[0]: UNVOUCHED for named in item.starts or ()})
    return Head(customer_id, int(item.version), item.settled.as_dict())


def read(tenant_id: str, subscriptions: Mapping[str, Iterable[Subscription]]) -> View:
    """The ledger of these customers' subscriptions ({customer id: its subscriptions}): their heads in BatchGetItems
    of 100, and a Query for each subscription whose head cannot vouch for it."""
    heads = {customer_id: Head(customer_id) for customer_id in subscriptions}
    for item in get_many(LedgerModel, [(f"{tenant_id}#{customer_id}", HEAD) for customer_id in subscriptions]):
        head = _head(tenant_id, item)
        heads[head.customer_id] = head
    unread = [sub.id for customer_id, subs in subscriptions.items() for sub in subs if heads[customer_id].unread(sub)]
    return View(heads, entries(tenant_id, unread))


def entries(tenant_id: str, subscription_ids) -> dict[tuple[str, date], LedgerEntry]:
    """Every ledger entry of these subscriptions: one query each, reading only their own periods."""
    tables.bind()
    found = {}
    for sub_id in subscription_ids:
        for item in LedgerModel.query(f"{tenant_id}#{sub_id}", LedgerModel.period_key < HEAD, consistent_read=True):
            entry = _entry(item)
            found[(entry.subscription_id, entry.period_start)] = entry
    return found


def billed(tenant_id: str, subscription_id: str) -> bool:
    """Whether any period of the subscription is held by a document (released periods hold none)."""
    tables.bind()
    return any(item.documents for item in LedgerModel.query(f"{tenant_id}#{subscription_id}",
                                                             LedgerModel.period_key < HEAD, consistent_read=True))


def _holds(entry: LedgerEntry | None, document_id: str) -> bool:
    return entry is not None and any(doc == document_id for doc, _ in entry.documents)


def add_claims(transaction: Transaction, tenant_id: str, changes: list[PeriodChange], document_id: str,
               seen: Mapping, tag) -> None:
    """The claims of `changes` for document_id as actions of `transaction` (each entry's compare-and-set); a change
    whose entry already holds the document (a re-run's) adds nothing. The transaction must also write the head
    (put_head)."""
    for change in unclaimed(changes, document_id, seen):
        key = _item_key(tenant_id, change.subscription_id, change.period.start)
        record, M = f"{document_id}={change.delta}", LedgerModel
        if change.expected_version == 0:
            p = change.period
            transaction.put(M(*key, tenant_id=tenant_id, subscription_id=change.subscription_id, period_start=p.start,
                              period_end=p.end, full_start=p.full_start, full_end=p.full_end,
                              billed_amount=change.delta, version=1, documents=[record]),
                            M.period_key.does_not_exist(), tag)
        else:
            transaction.update(M(*key), [M.billed_amount.add(change.delta), M.version.add(1),
                                         M.documents.set(M.documents.append([record]))],
                               M.version == change.expected_version, tag)


def put_head(transaction: Transaction, tenant_id: str, head: Head, marks: dict[str, str], tag) -> None:
    """Writes the customer's head with these marks, if its version is still the one read (one action)."""
    M = LedgerModel
    transaction.put(M(f"{tenant_id}#{head.customer_id}", HEAD, tenant_id=tenant_id, version=head.version + 1,
                      settled=marks),
                    M.version == head.version if head.version else M.version.does_not_exist(), tag)


def unclaimed(changes: list[PeriodChange], document_id: str, seen: Mapping) -> list[PeriodChange]:
    """The changes whose entry does not hold the document yet (what add_claims would write)."""
    return [c for c in changes if not _holds(seen.get((c.subscription_id, c.period.start)), document_id)]


def release(tenant_id: str, customer_id: str, document_id: str, periods: Iterable[tuple[str, date]]) -> None:
    """Takes a document's amounts back out of its periods ((subscription id, period start); a canceled invoice, a
    claim a re-run no longer needs), so the next billing job bills them again: transactions of the entries and the
    customer's head, which stops vouching for their subscriptions. Retried until it applies or there is nothing."""
    keys = [_item_key(tenant_id, sub_id, start) for sub_id, start in sorted(set(periods))]
    refused = 0
    while keys:
        holding = [e for e in map(_entry, get_many(LedgerModel, keys)) if _holds(e, document_id)]
        if not holding:
            return
        head = next((_head(tenant_id, item) for item in get_many(LedgerModel, [(f"{tenant_id}#{customer_id}", HEAD)])),
                    Head(customer_id))
        chunk = holding[:MAX_ACTIONS - 1]  # and the head
        transaction, M = Transaction(), LedgerModel
        for entry in chunk:
            kept = [f"{doc}={amount}" for doc, amount in entry.documents if doc != document_id]
            removed = sum((amount for doc, amount in entry.documents if doc == document_id), Decimal(0))
            transaction.update(M(*_item_key(tenant_id, entry.subscription_id, entry.period_start)),
                               [M.billed_amount.add(-removed), M.version.add(1), M.documents.set(kept)],
                               M.version == entry.version)
        put_head(transaction, tenant_id, head, {**head.marks, **{e.subscription_id: UNVOUCHED for e in chunk}}, None)
        if transaction.commit():
            refused += 1
            if refused >= 20:
                raise RuntimeError(f"the ledger of customer {customer_id} kept changing while releasing {document_id}")
