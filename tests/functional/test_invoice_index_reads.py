"""Invoice lists read keys from an index that holds only those (by-customer also `status`), then the invoices by
BatchGetItem: the same invoices in the same order as the index answered them, one Query and one BatchGetItem per
page of up to 100; and, the index lagging behind the table, an invoice that no longer is where its entry says
(another status, another date, deleted) is left out of that page, the token still going on after it."""
from contextlib import contextmanager
from dataclasses import replace
from datetime import date, timedelta

import pytest
from pynamodb.connection.base import Connection

from chalicelib.domain.invoices import InvoiceStatus
from chalicelib.store import batch, documents, repository
from tests.functional.test_billing_api import clock_tenant, listed
from tests.functional.test_graphql import gql
from tests.functional.test_invoice_management import CLOCK, billed
from tests.support import ReadMeter

STATUSES = (InvoiceStatus.DRAFT, InvoiceStatus.ACTIVE, InvoiceStatus.CANCELED)
FIRST = date(2025, 1, 1)


def seed(api, t, n: int) -> tuple[list, dict]:
    """n invoices of two customers, the i-th dated FIRST + i days, statuses in turn: (invoices in date order,
    {name: customer id})."""
    made = billed(api, t, ["ann", "bob"])
    base = documents.invoices.get(t.id, made["ann"]["id"])
    customers = {name: invoice["customerId"] for name, invoice in made.items()}
    for invoice in made.values():  # the billed ones would share a date with the copies: out of the way
        documents.invoices.delete(t.id, documents.invoices.get(t.id, invoice["id"]))
    invoices = []
    for i in range(n):
        invoice = replace(base, id=f"inv-{i:04d}", name=f"INV-{i:08d}", invoice_date=FIRST + timedelta(days=i),
                          customer_id=customers["ann" if i % 2 else "bob"], status=STATUSES[i % 3], version=0)
        invoices.append(documents.invoices.create(t.id, invoice))
    return invoices, customers


def ids(items) -> list[str]:
    return [i["id"] if isinstance(i, dict) else i.id for i in items]


def of(invoices, customer_id=None, status=None) -> list:
    return [i for i in invoices if customer_id in (None, i.customer_id) and status in (None, i.status)]


def store_pages(t, limit: int, **options) -> list[list[str]]:
    """Every page of a store list, following its token: the ids of each page."""
    pages, token = [], None
    while True:
        items, token = documents.invoices.list(t.id, limit=limit, next_token=token, **options)
        pages.append(ids(items))
        if token is None:
            return pages


def test_every_list_answers_the_invoices_in_index_order_page_after_page(api, monkeypatch):
    t = clock_tenant(api, CLOCK)
    invoices, people = seed(api, t, 42)
    ann, bob = people["ann"], people["bob"]
    lists = {  # query -> the invoices it answers, in invoice-date order
        "": invoices,
        f"customerId={ann}": of(invoices, ann),
        "status=Active": of(invoices, status=InvoiceStatus.ACTIVE),
        f"customerId={bob}&status=Draft": of(invoices, bob, InvoiceStatus.DRAFT),
        f"customerId={bob}&status=Canceled": of(invoices, bob, InvoiceStatus.CANCELED),
    }
    assert all(len(expected) >= 7 for expected in lists.values())
    for query, expected in lists.items():
        for limit in (1, 7, 100):
            got = listed(api, t, f"/billing/invoices?limit={limit}&{query}")
            assert ids(got) == ids(expected), (query, limit)
        # whole invoices, as a GET answers them
        assert got[3] == api.get(f"/billing/invoices/{expected[3].id}", key=t.key).body

    # newest first (GraphQL's orderBy invoiceDate desc), paged by the store
    assert sum(store_pages(t, 7, newest_first=True), []) == ids(reversed(invoices))
    assert sum(store_pages(t, 7, customer_id=ann, status="Active", newest_first=True), []) == ids(
        of(reversed(invoices), ann, InvoiceStatus.ACTIVE))
    answer = gql(api, t, '{ invoice(where: {status: {_eq: "draft"}}, orderBy: [{invoiceDate: desc}], limit: 1000) '
                         '{ id invoiceDate } }')
    assert ids(answer.body["data"]["invoice"]) == ids(of(reversed(invoices), status=InvoiceStatus.DRAFT))

    # BatchGetItem answers in no particular order: a page keeps the index's
    monkeypatch.setattr(repository, "get_many", lambda model, keys: list(reversed(batch.get_many(model, keys))))
    assert ids(listed(api, t, "/billing/invoices?limit=7")) == ids(invoices)


def test_a_page_is_one_query_and_one_batch_get_of_up_to_100_invoices(api, monkeypatch):
    t = clock_tenant(api, CLOCK)
    invoices, people = seed(api, t, 250)
    meter = ReadMeter(monkeypatch)

    def page(query: str) -> tuple[dict, object]:
        with meter.measuring() as reads:
            answer = api.get(f"/billing/invoices?{query}", key=t.key)
        assert answer.status == 200, answer.body
        return answer.body, reads

    body, reads = page("limit=100")
    assert ids(body["data"]) == ids(invoices[:100])
    # one Query of 100 index entries, one BatchGetItem of those 100 invoices (the GetItems are the key's and
    # the tenant's)
    assert (reads.calls["Query"], reads.calls["BatchGetItem"], reads.calls["Scan"]) == (1, 1, 0), reads
    assert reads.items - reads.calls["GetItem"] == 100 + 100, reads

    body, reads = page(f"limit=100&nextToken={body['nextToken']}")
    assert ids(body["data"]) == ids(invoices[100:200])
    assert (reads.calls["Query"], reads.calls["BatchGetItem"]) == (1, 1), reads
    body, reads = page(f"limit=100&nextToken={body['nextToken']}")
    assert ids(body["data"]) == ids(invoices[200:]) and body["nextToken"] is None
    assert (reads.calls["Query"], reads.calls["BatchGetItem"]) == (1, 1), reads
    assert reads.items - reads.calls["GetItem"] == 50 + 50, reads

    # a larger page: still one Query, and a BatchGetItem per 100 keys
    body, reads = page("limit=250")
    assert ids(body["data"]) == ids(invoices)
    assert (reads.calls["Query"], reads.calls["BatchGetItem"]) == (1, 3), reads
    # the by-status and by-customer indexes read the same way
    body, reads = page("limit=50&status=Draft")
    assert ids(body["data"]) == ids(of(invoices, status=InvoiceStatus.DRAFT)[:50])
    assert (reads.calls["Query"], reads.calls["BatchGetItem"]) == (1, 1), reads
    body, reads = page(f"limit=100&customerId={people['ann']}")
    assert ids(body["data"]) == ids(of(invoices, people["ann"])[:100])
    assert (reads.calls["Query"], reads.calls["BatchGetItem"]) == (1, 1), reads


@contextmanager
def changed_after_query(monkeypatch, index_name: str, change):
    """Runs `change` once, right after the first Query of this index has answered, before the invoices are read:
    what the index answered is then out of date, as when an index has not caught up with its table yet (moto's
    indexes never lag). Yields a list that holds True once it ran."""
    original, ran = Connection._make_api_call, []

    def lagging(connection, operation, kwargs):
        data = original(connection, operation, kwargs)
        if operation == "Query" and kwargs.get("IndexName") == index_name and not ran:
            ran.append(True)
            change()
        return data

    monkeypatch.setattr(Connection, "_make_api_call", lagging)
    try:
        yield ran
    finally:
        monkeypatch.setattr(Connection, "_make_api_call", original)


def api_pages(api, t, query: str, token: str | None = None) -> list[list[str]]:
    """The ids of each page of GET /billing/invoices?query, starting from this token, following nextToken."""
    pages = []
    while True:
        answer = api.get(f"/billing/invoices?{query}" + (f"&nextToken={token}" if token else ""), key=t.key)
        assert answer.status == 200, answer.body
        pages.append(ids(answer.body["data"]))
        token = answer.body["nextToken"]
        if token is None:
            return pages


@pytest.fixture
def twelve(api):
    """A tenant with 12 invoices dated a day apart, bob's (even) and ann's (odd), Draft, Active, Canceled in turn."""
    t = clock_tenant(api, CLOCK)
    invoices, people = seed(api, t, 12)
    return t, invoices, people


def test_an_invoice_whose_status_changed_after_indexing_is_not_listed_under_the_old_status(api, twelve,
                                                                                         monkeypatch):
    t, invoices, _ = twelve
    drafts = of(invoices, status=InvoiceStatus.DRAFT)
    first = drafts[0]
    assert len(drafts) == 4

    def activate():
        documents.invoices.replace(t.id, replace(first, status=InvoiceStatus.ACTIVE), first)

    with changed_after_query(monkeypatch, "by-status", activate) as ran:
        pages = api_pages(api, t, "status=Draft&limit=2")
    assert ran
    # the index still named the first draft on the first page; read afterwards, it is Active: that page is
    # shorter, and its token goes on after it
    assert pages == [[drafts[1].id], [drafts[2].id, drafts[3].id]]
    assert ids(listed(api, t, "/billing/invoices?status=Draft")) == ids(drafts[1:])
    assert ids(listed(api, t, "/billing/invoices?status=Active")) == ids(
        sorted([first] + of(invoices, status=InvoiceStatus.ACTIVE), key=lambda i: i.invoice_date))


def test_a_status_filter_is_checked_again_on_the_invoice_read(api, twelve, monkeypatch):
    """by-customer filters on the `status` it holds; a status changed since is seen on the invoice itself."""
    t, invoices, people = twelve
    bob = people["bob"]
    drafts = of(invoices, bob, InvoiceStatus.DRAFT)
    target = drafts[0]
    assert len(drafts) == 2

    def cancel():
        documents.invoices.replace(t.id, replace(target, status=InvoiceStatus.CANCELED), target)

    with changed_after_query(monkeypatch, "by-customer", cancel) as ran:
        pages = api_pages(api, t, f"customerId={bob}&status=Draft")
    assert ran and pages == [[drafts[1].id]]
    assert ids(listed(api, t, f"/billing/invoices?customerId={bob}&status=Canceled")) == ids(
        sorted([target] + of(invoices, bob, InvoiceStatus.CANCELED), key=lambda i: i.invoice_date))


def test_an_invoice_deleted_or_moved_after_indexing_is_left_out(api, twelve, monkeypatch):
    t, invoices, _ = twelve
    gone, moved = invoices[1], invoices[3]

    def delete():
        documents.invoices.delete(t.id, gone)

    with changed_after_query(monkeypatch, "by-date", delete) as ran:
        pages = api_pages(api, t, "limit=5")
    assert ran and pages == [ids(invoices[0:1] + invoices[2:5]), ids(invoices[5:10]), ids(invoices[10:])]

    # a new invoice date moves the invoice in date order: the entry at its old date no longer names it there
    later = invoices[-1].invoice_date + timedelta(days=30)

    def move():
        documents.invoices.replace(t.id, replace(moved, invoice_date=later), moved)

    with changed_after_query(monkeypatch, "by-date", move) as ran:
        pages = api_pages(api, t, "limit=5")
    # left out of the first page, where the index named it at its old date; listed once, where it sorts now
    assert ran and pages == [ids(invoices[0:1] + invoices[2:3] + invoices[4:6]), ids(invoices[6:11]),
                             ids(invoices[11:] + [moved])]
