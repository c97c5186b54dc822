"""Nue dialect, seed 001: invoice management through the HTTP API (activate, cancel, delete by invoiceIds and/or
graphqlFilter with per-invoice results; PATCH one invoice; payments), cancel-then-rebill, and concurrent writers.
Invoices come from real billing jobs. Scenarios are grouped so each test pays for one moto setup; every answer is
checked against the OpenAPI document by the Api helper."""
import json
import threading
from dataclasses import replace
from decimal import Decimal

import pytest

from chalicelib.domain.errors import BillrunError
from chalicelib.domain.timeutil import wall_now
from chalicelib.services import invoices as service
from chalicelib.services.context import RequestContext
from chalicelib.store import documents
from chalicelib.store import tenants as tenant_store
from chalicelib.store.tenants import list_api_keys
from tests.functional.test_billing_api import (UNKNOWN_ID, assert_invalid, assert_not_found, clock_tenant,
                                               decisions_by_customer, listed, new_schedule, run, subscribe)

CLOCK = "2025-01-01T00:00:00Z"
NOW = "2025-01-01T00:00:00.000+00:00"

# every field of the seed's "updated invoice" answer (seed 001), with its lost capitals restored
SEED_FIELDS = {
    "activatedById", "salesAccountId", "endDate", "dueDate", "source", "taxStatus", "shippingAndHandling",
    "balance", "vatMessages", "id", "billToContactId", "einvoicingMandateId", "createdById", "taxCompanyCode",
    "einvoicingDocStatus", "appliedByObject", "targetDate", "name", "externalTaxId", "currencyIsoCode",
    "taxAmount", "isCatchUp", "startDate", "status", "syncTime", "poNumbers", "customFields", "taxErrorMessage",
    "poDates", "appliedById", "lastModifiedById", "customerId", "paymentDetails", "paymentStatus",
    "einvoicingMessage", "cancellationDate", "amountWithoutTax", "amount", "comments", "lastModifiedDate",
    "recordType", "einvoicingMandateCode", "entityId", "invoiceDate", "accountingStatus", "invoicePdf",
    "paymentHostedUrl", "createdDate", "activatedTime", "tenantId", "externalInvoiceId", "einvoicingDocId"}


# --- helpers ---------------------------------------------------------------------------------------------------

def billed(api, t, names, **customer_fields) -> dict:
    """One Draft invoice per named customer for January 2025 (2 x 30.00 = 60.00 each): {name: invoice}."""
    product = api.product(t, price=Decimal("30.00"))
    customers = {n: api.customer(t, name=n, billCycleDay=1, **customer_fields.get(n, {})) for n in names}
    subs = {n: subscribe(api, t, c, product, startDate="2025-01-01")["subscription"] for n, c in customers.items()}
    schedule = new_schedule(api, t)
    job = run(api, t, schedule["id"], targetDate="2025-01-01", invoiceDate="2025-01-01")
    decided = decisions_by_customer(job)
    result = {}
    for n, c in customers.items():
        invoice = api.get(f"/billing/invoices/{decided[c['id']]['invoiceId']}", key=t.key).body
        assert invoice["status"] == "Draft" and invoice["amount"] == Decimal("60.00"), invoice
        result[n] = {**invoice, "_customer": c, "_subscription": subs[n], "_schedule": schedule["id"]}
    return result


def get(api, t, invoice_id) -> dict:
    answer = api.get(f"/billing/invoices/{invoice_id}", key=t.key)
    assert answer.status == 200, answer.body
    return answer.body


def bulk(api, t, action, body, status=200):
    if action == "delete":
        answer = api.delete("/billing/invoices", body, key=t.key)
    else:
        answer = api.post(f"/billing/invoices:{action}", body, key=t.key)
    assert answer.status == status, answer.body
    return answer.body


def by_id(results: dict) -> dict:
    return {r["invoiceId"]: (r["success"], r["status"], r["message"]) for r in results["results"]}


def assert_counts(results, succeeded, failed):
    assert (results["succeeded"], results["failed"]) == (succeeded, failed), results
    assert len(results["results"]) == succeeded + failed


def pay(api, t, invoice_id, amount, status=201, **kw):
    answer = api.post("/billing/payments", {"invoiceId": invoice_id, "amount": amount, "paymentDate": "2025-01-05"},
                      key=t.key, **kw)
    assert answer.status == status, answer.body
    return answer


# --- the seed's requests, as written ----------------------------------------------------------------------------

def test_seed_requests_activate_cancel_delete_and_update(api):
    t = clock_tenant(api, CLOCK)
    other = clock_tenant(api, CLOCK, name="Other")
    inv = billed(api, t, ["a", "b", "c", "d"], b={"paymentTermDays": 20})
    foreign = billed(api, other, ["x"])["x"]
    actor = list_api_keys(t.id)[0]
    assert actor.name == "default"

    # activate by invoiceIds
    done = bulk(api, t, "activate", {"invoiceIds": [inv["a"]["id"]]})
    assert done["results"] == [{"invoiceId": inv["a"]["id"], "success": True, "status": "Active", "message": None}]
    assert_counts(done, 1, 0)
    a = get(api, t, inv["a"]["id"])
    assert a["status"] == "Active" and a["activatedTime"] == NOW and a["activatedById"] == actor.id
    assert (a["invoiceDate"], a["dueDate"]) == (inv["a"]["invoiceDate"], inv["a"]["dueDate"])  # unchanged
    assert a["comments"] is None

    # activate with a new invoice date and a comment: the due date moves with the customer's terms
    done = bulk(api, t, "activate", {"invoiceIds": [inv["b"]["id"]], "invoiceDate": "2025-07-01",
                                     "invoiceComment": {"comment": "approve and activate the invoice"}})
    assert_counts(done, 1, 0)
    b = get(api, t, inv["b"]["id"])
    assert (b["status"], b["invoiceDate"], b["dueDate"]) == ("Active", "2025-07-01", "2025-07-21")  # + 20 days
    assert json.loads(b["comments"]) == [{"comment": "approve and activate the invoice", "createTime": NOW,
                                          "createUserName": "default"}]
    assert b["activatedTime"] == NOW and b["activatedById"] == actor.id and b["lastModifiedById"] == actor.id

    # activate by graphqlFilter (lowercase enum): every Draft invoice of this tenant, and only those
    done = bulk(api, t, "activate", {"graphqlFilter": '{status: {_eq: "draft"}}'})
    assert by_id(done) == {inv["c"]["id"]: (True, "Active", None), inv["d"]["id"]: (True, "Active", None)}
    assert_counts(done, 2, 0)
    assert get(api, other, foreign["id"])["status"] == "Draft"  # another tenant's Draft invoice is untouched
    assert {i["status"] for i in listed(api, t, "/billing/invoices")} == {"Active"}
    # nothing Draft is left: an empty, successful answer
    assert bulk(api, t, "activate", {"graphqlFilter": '{status: {_eq: "Draft"}}'}) == {
        "results": [], "succeeded": 0, "failed": 0}

    # cancel with a comment
    done = bulk(api, t, "cancel", {"invoiceIds": [inv["c"]["id"]],
                                   "invoiceComment": {"comment": "cancel the invoice due to incorrect billing info"}})
    assert done["results"] == [{"invoiceId": inv["c"]["id"], "success": True, "status": "Canceled", "message": None}]
    c = get(api, t, inv["c"]["id"])
    assert (c["status"], c["cancellationDate"]) == ("Canceled", "2025-01-01")
    assert [x["comment"] for x in json.loads(c["comments"])] == ["cancel the invoice due to incorrect billing info"]
    assert json.loads(c["comments"])[0]["createUserName"] == "default"

    # delete by invoiceIds AND graphqlFilter: only the listed ids that match the filter are deleted
    done = bulk(api, t, "delete", {"invoiceIds": [inv["c"]["id"], inv["d"]["id"]],
                                   "graphqlFilter": '{status: {_eq: "canceled"}}'})
    results = by_id(done)
    assert results[inv["c"]["id"]] == (True, None, None)
    # an own invoice outside the filter is left alone, and says why (not "not found": it exists)
    assert results[inv["d"]["id"]] == (False, "Active", "invoice does not match graphqlFilter")
    assert_counts(done, 1, 1)
    assert_not_found(api.get(f"/billing/invoices/{inv['c']['id']}", key=t.key))
    assert get(api, t, inv["d"]["id"])["status"] == "Active"  # not deleted
    # the other tenant cannot delete or see ours, nor we theirs
    bulk(api, other, "cancel", {"invoiceIds": [foreign["id"]]})
    done = bulk(api, t, "delete", {"invoiceIds": [foreign["id"]]})
    assert by_id(done) == {foreign["id"]: (False, None, "invoice not found")}
    assert get(api, other, foreign["id"])["status"] == "Canceled"
    done = bulk(api, t, "delete", {"graphqlFilter": '{status: {_eq: "canceled"}}'})
    assert_counts(done, 0, 0)  # the other tenant's Canceled invoice is not ours to delete
    assert get(api, other, foreign["id"])["status"] == "Canceled"

    # PATCH dueDate and billToContactId: the updated invoice is returned with every seed field
    answer = api.patch(f"/billing/invoices/{inv['a']['id']}",
                       {"dueDate": "2025-08-30", "billToContactId": "003ks000005imuiyao"}, key=t.key)
    assert answer.status == 200, answer.body
    updated = answer.body
    assert SEED_FIELDS <= set(updated), SEED_FIELDS - set(updated)
    assert (updated["dueDate"], updated["billToContactId"]) == ("2025-08-30", "003ks000005imuiyao")
    assert updated["id"] == inv["a"]["id"] and updated["tenantId"] == t.id and updated["recordType"] == "Invoice"
    assert updated["salesAccountId"] == updated["customerId"] == inv["a"]["customerId"]
    assert updated["activatedById"] == actor.id and updated["lastModifiedById"] == actor.id
    assert (updated["status"], updated["amount"], updated["balance"]) == ("Active", Decimal("60.00"),
                                                                         Decimal("60.00"))
    assert updated["startDate"] == "2025-01-01" and updated["endDate"] == "2025-01-31"
    assert updated["source"] == "Billing" and updated["isCatchUp"] is False
    assert updated["invoiceDate"] == inv["a"]["invoiceDate"]  # untouched
    assert get(api, t, inv["a"]["id"]) == updated  # stored as answered
    # customFields are editable too; a partial PATCH keeps the other fields
    answer = api.patch(f"/billing/invoices/{inv['a']['id']}", {"customFields": {"region": "EU"}}, key=t.key)
    assert answer.status == 200, answer.body
    assert answer.body["customFields"] == {"region": "EU"} and answer.body["dueDate"] == "2025-08-30"
    assert answer.body["billToContactId"] == "003ks000005imuiyao"
    # a due date before the invoice date is refused
    assert_invalid(api.patch(f"/billing/invoices/{inv['a']['id']}", {"dueDate": "2024-12-31"}, key=t.key),
                   "dueDate")
    # another tenant's invoice: 404 on PATCH
    assert_not_found(api.patch(f"/billing/invoices/{foreign['id']}", {"dueDate": "2025-08-30"}, key=t.key))


# --- every transition, allowed and refused, with per-invoice reasons --------------------------------------------

def test_transitions_per_invoice_reasons_partial_success_and_validation(api):
    t = clock_tenant(api, CLOCK)
    other = clock_tenant(api, CLOCK, name="Other")
    inv = billed(api, t, ["draft", "draft2", "active", "canceled", "paid", "partly", "spare"])
    foreign = billed(api, other, ["x"])["x"]
    ids = {n: i["id"] for n, i in inv.items()}
    bulk(api, t, "activate", {"invoiceIds": [ids["active"], ids["canceled"], ids["paid"], ids["partly"],
                                             ids["spare"]]})
    bulk(api, t, "cancel", {"invoiceIds": [ids["canceled"]]})
    pay(api, t, ids["paid"], Decimal("60.00"))
    pay(api, t, ids["partly"], Decimal("10.00"))

    # activate: Draft ok; Active, Canceled refused; unknown and foreign ids reported; duplicates once
    done = bulk(api, t, "activate", {"invoiceIds": [ids["active"], ids["canceled"], UNKNOWN_ID, ids["draft"],
                                                    foreign["id"], ids["draft"]]})
    r = by_id(done)
    assert [x["invoiceId"] for x in done["results"]] == [ids["active"], ids["canceled"], UNKNOWN_ID, ids["draft"],
                                                         foreign["id"]]  # in request order, each id once
    assert r[ids["draft"]] == (True, "Active", None)
    assert r[ids["active"]][:2] == (False, "Active") and "only a Draft" in r[ids["active"]][2]
    assert r[ids["canceled"]][:2] == (False, "Canceled") and "Canceled" in r[ids["canceled"]][2]
    assert r[UNKNOWN_ID] == (False, None, "invoice not found")
    assert r[foreign["id"]] == (False, None, "invoice not found")
    assert_counts(done, 1, 4)
    assert get(api, t, ids["canceled"])["activatedTime"] == NOW  # unchanged by the refusal
    assert get(api, other, foreign["id"])["status"] == "Draft"

    # cancel: Draft and Active ok; Paid and PartiallyPaid refused; unknown reported
    done = bulk(api, t, "cancel", {"invoiceIds": [ids["draft2"], ids["paid"], UNKNOWN_ID, ids["active"],
                                                  ids["partly"]]})
    r = by_id(done)
    assert r[ids["draft2"]] == (True, "Canceled", None) and r[ids["active"]] == (True, "Canceled", None)
    assert r[ids["paid"]][:2] == (False, "Active") and "Paid" in r[ids["paid"]][2]
    assert r[ids["partly"]][:2] == (False, "Active") and "PartiallyPaid" in r[ids["partly"]][2]
    assert r[UNKNOWN_ID] == (False, None, "invoice not found")
    assert_counts(done, 2, 3)
    assert (get(api, t, ids["paid"])["status"], get(api, t, ids["paid"])["paymentStatus"]) == ("Active", "Paid")
    assert get(api, t, ids["partly"])["balance"] == Decimal("50.00")
    # canceling a Canceled invoice again changes nothing and is not an error
    before = get(api, t, ids["active"])
    assert by_id(bulk(api, t, "cancel", {"invoiceIds": [ids["active"]]})) == {ids["active"]: (True, "Canceled", None)}
    assert get(api, t, ids["active"]) == before
    # ids and a filter together: listed ids outside the filter are left alone, with the reason
    done = bulk(api, t, "cancel", {"invoiceIds": [ids["spare"], ids["draft2"]],
                                   "graphqlFilter": '{status: {_eq: "Canceled"}}'})
    assert by_id(done) == {ids["spare"]: (False, "Active", "invoice does not match graphqlFilter"),
                           ids["draft2"]: (True, "Canceled", None)}
    assert get(api, t, ids["spare"])["status"] == "Active"

    # delete: Draft, Active, paid refused (409-style reasons); Canceled ok, then 404
    bulk(api, t, "activate", {"invoiceIds": [ids["draft2"]]})  # Canceled stays Canceled
    fresh = billed(api, t, ["fresh"])["fresh"]  # a Draft (January is billed again for its own customer)
    done = bulk(api, t, "delete", {"invoiceIds": [fresh["id"], ids["spare"], ids["canceled"], ids["paid"],
                                                  UNKNOWN_ID]})
    r = by_id(done)
    assert r[fresh["id"]][:2] == (False, "Draft") and "only a Canceled" in r[fresh["id"]][2]
    assert r[ids["spare"]][:2] == (False, "Active") and "only a Canceled" in r[ids["spare"]][2]
    assert r[ids["paid"]][:2] == (False, "Active")
    assert r[ids["canceled"]] == (True, None, None)
    assert r[UNKNOWN_ID] == (False, None, "invoice not found")
    assert_counts(done, 1, 4)
    assert_not_found(api.get(f"/billing/invoices/{ids['canceled']}", key=t.key))
    assert get(api, t, fresh["id"])["status"] == "Draft" and get(api, t, ids["spare"])["status"] == "Active"
    # deleting it again: reported per id, not a failure of the request
    assert by_id(bulk(api, t, "delete", {"invoiceIds": [ids["canceled"]]})) == {
        ids["canceled"]: (False, None, "invoice not found")}

    # PATCH: Canceled is a 409; Draft, Active ok; read-only and unknown fields are 400 naming the field
    answer = api.patch(f"/billing/invoices/{ids['draft2']}", {"dueDate": "2025-03-01"}, key=t.key)
    assert answer.status == 409, answer.body
    assert api.patch(f"/billing/invoices/{fresh['id']}", {"dueDate": "2025-03-01"}, key=t.key).status == 200
    assert api.patch(f"/billing/invoices/{ids['spare']}", {"billToContactId": "c-1"}, key=t.key).status == 200
    for body in [{"amount": 1}, {"status": "Canceled"}, {"balance": 0}, {"invoiceDate": "2025-02-01"},
                 {"id": UNKNOWN_ID}, {"paymentStatus": "Paid"}, {"activatedTime": NOW}]:
        field = next(iter(body))
        answer = api.patch(f"/billing/invoices/{ids['spare']}", {"dueDate": "2025-04-01", **body}, key=t.key)
        assert_invalid(answer, field, "read-only field")
    assert_invalid(api.patch(f"/billing/invoices/{ids['spare']}", {"color": "red"}, key=t.key), "color",
                   "unknown field")
    assert_invalid(api.patch(f"/billing/invoices/{ids['spare']}", {"dueDate": "2025-02-30"}, key=t.key), "dueDate")
    assert_invalid(api.patch(f"/billing/invoices/{ids['spare']}", {"dueDate": None}, key=t.key), "dueDate")
    spare = get(api, t, ids["spare"])
    assert (spare["amount"], spare["status"], spare["dueDate"]) == (Decimal("60.00"), "Active",
                                                                    inv["spare"]["dueDate"])
    assert_not_found(api.patch(f"/billing/invoices/{UNKNOWN_ID}", {"dueDate": "2025-03-01"}, key=t.key))

    # neither invoiceIds nor graphqlFilter; bad filters; bad bodies: 400 naming the field, nothing changes
    for action in ("activate", "cancel", "delete"):
        answer = (api.delete("/billing/invoices", {}, key=t.key) if action == "delete"
                  else api.post(f"/billing/invoices:{action}", {}, key=t.key))
        assert_invalid(answer, "invoiceIds")
        for bad in ['{status: {_eq: "Sideways"}}', "{planet: {_eq: 1}}", "{status: {_eq: ", "not a filter"]:
            body = {"graphqlFilter": bad}
            answer = (api.delete("/billing/invoices", body, key=t.key) if action == "delete"
                      else api.post(f"/billing/invoices:{action}", body, key=t.key))
            assert_invalid(answer, "graphqlFilter")
    assert_invalid(api.post("/billing/invoices:activate", {"invoiceIds": []}, key=t.key), "invoiceIds")
    assert_invalid(api.post("/billing/invoices:activate", {"invoiceIds": "abc"}, key=t.key), "invoiceIds")
    assert_invalid(api.post("/billing/invoices:activate", {"invoiceIds": [fresh["id"]], "invoiceDate": "2025-13-01"},
                            key=t.key), "invoiceDate")
    assert_invalid(api.post("/billing/invoices:cancel", {"invoiceIds": [fresh["id"]], "invoiceComment": {}},
                            key=t.key), "invoiceComment.comment")
    assert_invalid(api.post("/billing/invoices:cancel", {"invoiceIds": [fresh["id"]], "reason": "x"}, key=t.key),
                   "reason", "unknown field")
    assert get(api, t, fresh["id"])["status"] == "Draft"
    # a filter combining relation and status: only that customer's invoices
    done = bulk(api, t, "activate", {"graphqlFilter": '{_and: [{customer: {id: {_eq: "%s"}}}, '
                                                      '{status: {_in: ["draft", "PENDING ACTIVATION"]}}]}'
                                                      % fresh["customerId"]})
    assert by_id(done) == {fresh["id"]: (True, "Active", None)}


# --- payments ----------------------------------------------------------------------------------------------------

def test_payments_partial_full_overpay_decimals_idempotency(api):
    t = clock_tenant(api, CLOCK)
    inv = billed(api, t, ["p", "draft"])
    p = inv["p"]["id"]

    # only an Active invoice can be paid
    answer = pay(api, t, inv["draft"]["id"], Decimal("1.00"), status=409)
    assert answer.body["errorCode"] != "ValidationError"
    bulk(api, t, "activate", {"invoiceIds": [p]})

    # partial: PartiallyPaid, balance reduced
    answer = pay(api, t, p, Decimal("20.50"))
    payment = answer.body["payment"]
    assert (payment["amount"], payment["paymentDate"]) == (Decimal("20.50"), "2025-01-05")
    assert (answer.body["invoice"]["paymentStatus"], answer.body["invoice"]["balance"]) == (
        "PartiallyPaid", Decimal("39.50"))
    assert answer.body["invoice"]["amount"] == Decimal("60.00")
    assert get(api, t, p)["balance"] == Decimal("39.50")

    # overpayment: 400 naming amount; too many decimals for USD: 400; zero/negative: 400; nothing changes
    assert_invalid(pay(api, t, p, Decimal("39.51"), status=400), "amount")
    assert_invalid(pay(api, t, p, Decimal("1.001"), status=400), "amount")
    assert_invalid(pay(api, t, p, Decimal("0"), status=400), "amount")
    assert_invalid(pay(api, t, p, Decimal("-5"), status=400), "amount")
    assert_invalid(api.post("/billing/payments", {"invoiceId": p, "amount": "ten"}, key=t.key), "amount")
    assert_invalid(api.post("/billing/payments", {"invoiceId": p}, key=t.key), "amount")
    assert_not_found(api.post("/billing/payments", {"invoiceId": UNKNOWN_ID, "amount": 1}, key=t.key), "invoiceId")
    assert get(api, t, p)["balance"] == Decimal("39.50")

    # a retried payment with the same Idempotency-Key applies once
    headers = {"Idempotency-Key": "pay-once-1"}
    first = pay(api, t, p, Decimal("9.50"), headers=headers)
    again = pay(api, t, p, Decimal("9.50"), headers=headers)
    assert again.body == first.body
    assert get(api, t, p)["balance"] == Decimal("30.00")
    # same key, different body: 409, nothing applied
    answer = api.post("/billing/payments", {"invoiceId": p, "amount": Decimal("1.00"), "paymentDate": "2025-01-05"},
                      key=t.key, headers=headers)
    assert answer.status == 409, answer.body
    assert get(api, t, p)["balance"] == Decimal("30.00")

    # full: Paid, balance 0; then nothing more can be paid
    answer = pay(api, t, p, Decimal("30"))
    assert (answer.body["invoice"]["paymentStatus"], answer.body["invoice"]["balance"]) == ("Paid", Decimal("0.00"))
    assert_invalid(pay(api, t, p, Decimal("0.01"), status=400), "amount")

    # a paid invoice cannot be canceled or deleted, and stays as it is
    r = by_id(bulk(api, t, "cancel", {"invoiceIds": [p]}))
    assert r[p][0] is False and "Paid" in r[p][2]
    r = by_id(bulk(api, t, "delete", {"invoiceIds": [p]}))
    assert r[p][0] is False
    final = get(api, t, p)
    assert (final["status"], final["paymentStatus"], final["balance"]) == ("Active", "Paid", Decimal("0.00"))

    # a JPY tenant: no decimals at all
    yen = api.new_tenant("Yen", testMode=True, timezone="UTC", currency="JPY", clockStart=CLOCK)
    product = api.product(yen, price=Decimal("1000"))
    customer = api.customer(yen, name="jp", billCycleDay=1)
    subscribe(api, yen, customer, product, startDate="2025-01-01")
    job = run(api, yen, new_schedule(api, yen)["id"], targetDate="2025-01-01")
    jp = job["decisions"][0]["invoiceId"]
    bulk(api, yen, "activate", {"invoiceIds": [jp]})
    assert_invalid(pay(api, yen, jp, Decimal("0.5"), status=400), "amount")
    assert pay(api, yen, jp, Decimal("500")).body["invoice"]["balance"] == Decimal("1500")


# --- cancel, then re-bill; a later document blocks canceling ------------------------------------------------------

def test_cancel_then_rebill_and_later_documents_block_canceling(api):
    t = clock_tenant(api, CLOCK)
    inv = billed(api, t, ["rebill", "grows", "leaves"])
    schedule = inv["rebill"]["_schedule"]
    original = inv["rebill"]

    # cancel a billed invoice: the next billing job bills the same period again, on a new invoice
    assert by_id(bulk(api, t, "cancel", {"invoiceIds": [original["id"]]}))[original["id"]][0] is True
    job = run(api, t, schedule, targetDate="2025-01-01", invoiceDate="2025-01-02")
    decided = decisions_by_customer(job)
    assert decided[original["customerId"]]["decision"] == "Billed"
    assert decided[inv["grows"]["customerId"]]["reason"] == "already billed"
    rebilled = get(api, t, decided[original["customerId"]]["invoiceId"])
    assert rebilled["id"] != original["id"] and rebilled["name"] != original["name"]
    assert (rebilled["amount"], rebilled["startDate"], rebilled["endDate"]) == (
        original["amount"], original["startDate"], original["endDate"])
    assert [(l["startDate"], l["endDate"], l["amount"]) for l in rebilled["lines"]] == [
        (l["startDate"], l["endDate"], l["amount"]) for l in original["lines"]]
    assert rebilled["status"] == "Draft" and rebilled["invoiceDate"] == "2025-01-02"
    # once is enough: the next run bills nothing more for it
    again = run(api, t, schedule, targetDate="2025-01-01")
    assert decisions_by_customer(again)[original["customerId"]]["reason"] == "already billed"
    # the canceled original can be deleted now and the re-billed one stands
    assert by_id(bulk(api, t, "delete", {"invoiceIds": [original["id"]]}))[original["id"]][0] is True
    assert get(api, t, rebilled["id"])["status"] == "Draft"

    # a quantity increase writes an adjustment invoice for the same period: the original cannot be canceled
    grows = inv["grows"]
    changed = api.patch(f"/subscriptions/{grows['_subscription']}", {"quantity": 3, "effectiveDate": "2025-01-16"},
                        key=t.key)
    assert changed.status == 200, changed.body
    job = run(api, t, schedule, targetDate="2025-01-20", invoiceDate="2025-01-20")
    adjustment_id = decisions_by_customer(job)[grows["customerId"]]["invoiceId"]
    assert adjustment_id and adjustment_id != grows["id"]
    adjustment = get(api, t, adjustment_id)
    assert adjustment["amount"] > 0
    r = by_id(bulk(api, t, "cancel", {"invoiceIds": [grows["id"]]}))
    assert r[grows["id"]][:2] == (False, "Draft")
    assert "later document" in r[grows["id"]][2] and adjustment_id in r[grows["id"]][2]
    assert get(api, t, grows["id"])["status"] == "Draft"
    # latest first: the adjustment, then the original, in one request in that order
    done = bulk(api, t, "cancel", {"invoiceIds": [adjustment_id, grows["id"]]})
    assert by_id(done) == {adjustment_id: (True, "Canceled", None), grows["id"]: (True, "Canceled", None)}
    # January is billed again at its current worth (15 days at 2, 16 days at 3)
    job = run(api, t, schedule, targetDate="2025-01-20", invoiceDate="2025-01-21")
    regrown = get(api, t, decisions_by_customer(job)[grows["customerId"]]["invoiceId"])
    assert regrown["amount"] == grows["amount"] + adjustment["amount"]

    # a cancellation writes a credit memo for the same period: the original cannot be canceled
    leaves = inv["leaves"]
    assert api.post(f"/subscriptions/{leaves['_subscription']}:cancel", {"effectiveDate": "2025-01-21"},
                    key=t.key).status == 200
    job = run(api, t, schedule, targetDate="2025-01-25", invoiceDate="2025-01-25")
    memo_id = decisions_by_customer(job)[leaves["customerId"]]["creditMemoId"]
    assert memo_id
    r = by_id(bulk(api, t, "cancel", {"invoiceIds": [leaves["id"]]}))
    assert r[leaves["id"]][0] is False and memo_id in r[leaves["id"]][2]
    assert get(api, t, leaves["id"])["status"] == "Draft"


# --- concurrency ---------------------------------------------------------------------------------------------------

def _ctx(tenant_id: str, actor: str) -> RequestContext:
    """What the API builds for a request: the tenant, the acting key, the tenant's clock."""
    tenant = tenant_store.get_tenant(tenant_id)
    key = list_api_keys(tenant_id)[0]
    return RequestContext(tenant=tenant, actor_id=f"{key.id}-{actor}", actor_name=actor, now=tenant.now(wall_now()))


def _threads(n, target):
    barrier = threading.Barrier(n)
    outcomes = [None] * n

    def body(i):
        barrier.wait()
        try:
            outcomes[i] = ("ok", target(i))
        except BillrunError as error:
            outcomes[i] = ("error", error)
        except Exception as error:  # noqa: BLE001 - any other exception fails the test below
            outcomes[i] = ("crash", error)

    threads = [threading.Thread(target=body, args=(i,)) for i in range(n)]
    for th in threads:
        th.start()
    for th in threads:
        th.join(30)
    assert not any(th.is_alive() for th in threads)
    crashes = [o for o in outcomes if o is None or o[0] == "crash"]
    assert not crashes, crashes
    for kind, value in outcomes:
        if kind == "error":
            assert value.kind == "conflict", value
    return outcomes


def test_concurrent_writers_conflict_instead_of_losing_updates(api):
    t = clock_tenant(api, CLOCK)
    inv = billed(api, t, ["stale", "racy", "race1", "race2"])

    # a stale copy written after a PATCH: a conflict, and the PATCH stands
    stale = documents.invoices.get(t.id, inv["stale"]["id"])
    answer = api.patch(f"/billing/invoices/{inv['stale']['id']}", {"dueDate": "2025-06-30"}, key=t.key)
    assert answer.status == 200, answer.body
    with pytest.raises(BillrunError) as caught:
        documents.invoices.replace(t.id, replace(stale, bill_to_contact_id="lost"), stale)
    assert caught.value.kind == "conflict"
    after = get(api, t, inv["stale"]["id"])
    assert (after["dueDate"], after["billToContactId"]) == ("2025-06-30", None)
    # a PATCH through the API after another write already landed still works (it reads fresh)
    assert api.patch(f"/billing/invoices/{inv['stale']['id']}", {"billToContactId": "c-9"}, key=t.key).status == 200

    # 5 threads updating one invoice: every write either lands or is a conflict; none is lost silently
    racy = inv["racy"]["id"]
    before = documents.invoices.get(t.id, racy).version
    outcomes = _threads(5, lambda i: service.update(_ctx(t.id, f"u{i}"), racy, {"custom_fields": {"writer": i}}))
    winners = [v for k, v in outcomes if k == "ok"]
    assert winners
    stored = documents.invoices.get(t.id, racy)
    assert stored.version == before + len(winners)
    assert stored.custom_fields in [w.custom_fields for w in winners]

    # 5 threads activating the same invoices (with dates and comments): exactly one activation wins per invoice
    targets = [inv["race1"]["id"], inv["race2"]["id"]]

    def activate(i):
        ctx = _ctx(t.id, f"a{i}")
        return service.activate(ctx, targets, None, None, f"activation {i}")

    outcomes = _threads(5, activate)
    assert all(k == "ok" for k, _ in outcomes)  # per-invoice refusals are results, not exceptions
    for n, target in enumerate(targets):
        per_invoice = [next(r for r in results if r.invoice_id == target) for _, results in outcomes]
        won = [r for r in per_invoice if r.success]
        assert len(won) == 1, per_invoice
        assert all(r.message for r in per_invoice if not r.success)
        final = get(api, t, target)
        assert final["status"] == "Active" and final["activatedTime"] == NOW
        comments = json.loads(final["comments"])
        assert len(comments) == 1  # one activation, one comment: the winner's
        winner_index = [i for i, r in enumerate(per_invoice) if r.success][0]
        assert comments[0]["comment"] == f"activation {winner_index}"
        assert final["activatedById"].endswith(f"-a{winner_index}")

    # and concurrent updates against an activation: each either lands or conflicts; the invoice stays consistent
    target = inv["race1"]["id"]

    def mixed(i):
        ctx = _ctx(t.id, f"m{i}")
        if i % 2:
            return service.activate(ctx, [target], None, None, None)
        return service.update(ctx, target, {"bill_to_contact_id": f"c-{i}"})

    _threads(5, mixed)
    final = get(api, t, target)
    assert final["status"] == "Active" and final["activatedTime"] == NOW and len(json.loads(final["comments"])) == 1

