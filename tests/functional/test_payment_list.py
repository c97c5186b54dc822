"""GET /billing/payments: every payment applied, from the payments table written in the payment's own transaction
(never read out of the invoices): paged across pages, filtered by invoice and customer in the order applied, a
payment listed exactly when its invoice holds it (a retried, a raced or a refused payment included), and bad
filters refused with a 400 naming the field."""
from dataclasses import replace
from decimal import Decimal

import pytest

from chalicelib.domain import invoices as rules
from chalicelib.domain.errors import BillrunError
from chalicelib.store import documents
from tests.functional.test_billing_api import advance, clock_tenant
from tests.functional.test_invoice_management import _ctx, _threads, billed, bulk
from tests.functional.test_invoice_schedule_lists import bad, ids, listed, pages
from chalicelib.services import invoices as service

D = Decimal


def pay(api, t, invoice_id, amount, **kw) -> dict:
    answer = api.post("/billing/payments", {"invoiceId": invoice_id, "amount": amount}, key=t.key, **kw)
    assert answer.status == 201, answer.body
    return answer.body["payment"]


@pytest.fixture
def paid(api):
    """Three Active January invoices (60.00 each, customers a, b, c) and four payments, one day apart: two on a's
    invoice, one on b's, one on a's again; c's invoice unpaid."""
    t = clock_tenant(api, "2025-01-01T00:00:00Z")
    invoices = billed(api, t, ["a", "b", "c"])
    bulk(api, t, "activate", {"invoiceIds": [i["id"] for i in invoices.values()]})
    made = []
    for day, (name, amount) in enumerate([("a", "10.00"), ("a", "5.00"), ("b", "60.00"), ("a", "1.25")], start=2):
        advance(api, t, f"2025-01-{day:02d}T00:00:00Z")
        made.append(pay(api, t, invoices[name]["id"], D(amount)))
    return t, invoices, made


def test_payments_are_listed_in_pages_and_by_invoice_and_customer_in_the_order_applied(api, paid):
    t, invoices, made = paid
    a, b = invoices["a"], invoices["b"]
    everything = pages(api, t, "/billing/payments", 3)
    assert [len(page) for page in everything] == [3, 1]
    assert sorted(ids(p for page in everything for p in page)) == sorted(ids(made))
    first = next(p for page in everything for p in page if p["id"] == made[0]["id"])
    assert first == {**made[0], "invoiceId": a["id"], "customerId": a["customerId"], "currency": "USD"}
    assert (first["amount"], first["paymentDate"], first["createdTime"]) == (
        D("10.00"), "2025-01-02", "2025-01-02T00:00:00.000+00:00")

    by_invoice = pages(api, t, f"/billing/payments?invoiceId={a['id']}", 2)
    assert [len(page) for page in by_invoice] == [2, 1]
    assert [p["amount"] for page in by_invoice for p in page] == [D("10.00"), D("5.00"), D("1.25")]
    assert [p["amount"] for p in listed(api, t, f"/billing/payments?customerId={a['customerId']}", 1)] == [
        D("10.00"), D("5.00"), D("1.25")]
    assert ids(listed(api, t, f"/billing/payments?customerId={b['customerId']}")) == [made[2]["id"]]
    assert ids(listed(api, t, f"/billing/payments?invoiceId={b['id']}&customerId={b['customerId']}")) == [
        made[2]["id"]]
    assert listed(api, t, f"/billing/payments?invoiceId={b['id']}&customerId={a['customerId']}") == []
    assert listed(api, t, f"/billing/payments?invoiceId={invoices['c']['id']}") == []
    assert listed(api, t, f"/billing/payments?customerId={invoices['c']['customerId']}") == []
    assert listed(api, t, "/billing/payments?invoiceId=no-such-invoice") == []
    # what the list says adds up to what the invoices say
    assert api.get(f"/billing/invoices/{a['id']}", key=t.key).body["balance"] == D("60.00") - D("16.25")


def test_a_retried_payment_is_listed_once(api, paid):
    t, invoices, made = paid
    c = invoices["c"]["id"]
    headers = {"Idempotency-Key": "pay-c-once"}
    first = pay(api, t, c, D("7.00"), headers=headers)
    assert pay(api, t, c, D("7.00"), headers=headers) == first
    assert ids(listed(api, t, f"/billing/payments?invoiceId={c}")) == [first["id"]]
    # the same payment proposed again to the service (a retry whose stored answer was lost) writes nothing more
    ctx = replace(_ctx(t.id, "retry"), idempotency_key="pay-c-once")
    payment, invoice = service.pay(ctx, c, D("7.00"), None)
    assert payment.id == first["id"] and invoice.balance == D("53.00")
    assert ids(listed(api, t, f"/billing/payments?invoiceId={c}")) == [first["id"]]


def test_a_payment_is_listed_exactly_when_its_invoice_holds_it(api, paid):
    t, invoices, _ = paid
    c = invoices["c"]["id"]
    # racing payments: each either lands (invoice and list together) or is refused with nothing written
    outcomes = _threads(4, lambda i: service.pay(_ctx(t.id, f"p{i}"), c, D("2.00"), None))
    assert {kind for kind, _ in outcomes} <= {"ok", "error"}
    won = [value[0].id for kind, value in outcomes if kind == "ok"]
    assert won and all(value.code == "ConcurrentModification" for kind, value in outcomes if kind == "error")
    stored = documents.invoices.get(t.id, c)
    assert sorted(p.id for p in stored.payments) == sorted(won) == sorted(ids(
        listed(api, t, f"/billing/payments?invoiceId={c}")))
    assert stored.balance == D("60.00") - 2 * len(won)

    # a payment whose own item is refused (its id is taken) leaves the invoice as it was: one transaction
    taken = stored.payments[0]
    again = rules.Payment(id=taken.id, amount=D("1.00"), payment_date=taken.payment_date,
                          created_time=taken.created_time)
    fresh = replace(stored, payments=(), balance=stored.balance)  # as if the invoice did not hold it
    with pytest.raises(BillrunError) as refused:
        documents.record_payment(t.id, rules.pay(fresh, again, "someone"), stored, rules.applied(again, stored))
    assert refused.value.code == "ConcurrentModification"
    assert documents.invoices.get(t.id, c) == stored
    assert len(listed(api, t, f"/billing/payments?invoiceId={c}")) == len(won)


def test_bad_filters_are_a_400_naming_the_field(api, paid):
    t, invoices, _ = paid
    bad(api, t, "/billing/payments?limit=0", "limit")
    bad(api, t, "/billing/payments?limit=abc", "limit")
    bad(api, t, f"/billing/payments?invoiceId={'x' * 256}", "invoiceId")
    bad(api, t, f"/billing/payments?customerId={'x' * 256}", "customerId")
    bad(api, t, "/billing/payments?status=Paid", "status")
    bad(api, t, "/billing/payments?nextToken=not-a-token", "nextToken")
    token = api.get("/billing/payments?limit=1", key=t.key).body["nextToken"]
    assert token
    a = invoices["a"]
    for other in (f"invoiceId={a['id']}&limit=1", f"customerId={a['customerId']}&limit=1"):
        bad(api, t, f"/billing/payments?{other}&nextToken={token}", "nextToken")
    bad(api, t, f"/billing/invoices?limit=1&nextToken={token}", "nextToken")
