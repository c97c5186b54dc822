"""BILL dialect (seed 003): recurring invoices through the HTTP API, and the invoices the tick generates from them.
Every answer is checked against the OpenAPI document by the Api helper."""
import copy
import json
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from urllib.parse import quote

import pytest

from chalicelib.domain.timeutil import parse_instant
from chalicelib.store import pdfs

PATH = "/v3/recurring-invoices"
SEED_REQUEST = """{
  "customerId": "{customer_id}",
  "schedule": {
    "period": "MONTHLY",
    "frequency": 1,
    "nextDueDate": "2025-12-31",
    "endDate": "2026-11-01",
    "daysInAdvance": 5
  },
  "recurringInvoiceLineItems": [{
    "amount": 19.99,
    "quantity": 1,
    "description": "Monthly subscription"
  }]
}"""
SEED_DUE_DATES = ["2025-12-31", "2026-01-31", "2026-02-28", "2026-03-31", "2026-04-30", "2026-05-31", "2026-06-30",
                  "2026-07-31", "2026-08-31", "2026-09-30", "2026-10-31"]


# --- helpers ---------------------------------------------------------------------------------------------------

def clock_tenant(api, start="2025-12-01T00:00:00Z", name="BILL shop", **fields):
    return api.new_tenant(name, testMode=True, timezone="UTC", currency="USD", clockStart=start, **fields)


def template_body(customer_id, *, period="MONTHLY", frequency=1, next_due="2026-01-31", end=None, days=0,
                  lines=None) -> dict:
    schedule = {"period": period, "frequency": frequency, "nextDueDate": next_due, "daysInAdvance": days}
    if end is not None:
        schedule["endDate"] = end
    return {"customerId": customer_id, "schedule": schedule,
            "recurringInvoiceLineItems": lines or [{"amount": Decimal("10.00"), "description": "Service"}]}


def create(api, t, body, status=201, **kw):
    answer = api.post(PATH, body, key=t.key, **kw)
    assert answer.status == status, answer.body
    return answer.body


def advance(api, t, to: str) -> int:
    """Invoices generated while the clock moves to `to`, in advances of at most BILLRUN_MAX_ADVANCE_DAYS (400)."""
    generated, target = 0, parse_instant(to)
    while True:
        clock = parse_instant(api.get("/test/clock", key=t.key).body["now"])
        step = min(target, clock + timedelta(days=400))
        answer = api.post("/test/clock:advance", {"to": step.isoformat()}, key=t.key)
        assert answer.status == 200, answer.body
        generated += answer.body["ran"]["recurringInvoices"]
        if step == target:
            return generated


def invoices(api, t, customer_id=None) -> list[dict]:
    """Every invoice of the tenant (or one customer), with lines, in invoice-date order."""
    query = f"?customerId={customer_id}&limit=1000" if customer_id else "?limit=1000"
    listed = api.get(f"/billing/invoices{query}", key=t.key)
    assert listed.status == 200 and listed.body["nextToken"] is None
    return listed.body["data"]


def of_template(api, t, template_id) -> list[dict]:
    return [i for i in invoices(api, t) if i["recurringInvoiceId"] == template_id]


def get_template(api, t, template_id) -> dict:
    answer = api.get(f"{PATH}/{template_id}", key=t.key)
    assert answer.status == 200, answer.body
    return answer.body


def lines_of(invoice) -> list[tuple]:
    return [(l["description"], l["quantity"], l["unitPrice"], l["amount"]) for l in invoice["lines"]]


# --- the seed's request ----------------------------------------------------------------------------------------

def test_seed_request_as_written_and_its_response_shape(api):
    t = clock_tenant(api)
    customer = api.customer(t, name="Wayne Enterprises")
    raw = SEED_REQUEST.replace("{customer_id}", customer["id"])
    answer = api.call("POST", PATH, raw=raw, key=t.key, headers={"Idempotency-Key": "seed-003"})
    assert answer.status == 201, answer.body
    body = answer.body
    seed_response = {"id", "archived", "customerId", "schedule", "recurringInvoiceLineItems"}
    assert set(body) == seed_response | {"createdTime", "updatedTime"}
    assert body["id"].startswith("rit") and body["archived"] is False and body["customerId"] == customer["id"]
    # endDate echoes what was sent (the seed's response shows 2025-11-01: a typo in the vendor doc)
    assert body["schedule"] == {"period": "MONTHLY", "frequency": 1, "nextDueDate": "2025-12-31",
                                "endDate": "2026-11-01", "daysInAdvance": 5}
    [item] = body["recurringInvoiceLineItems"]
    assert set(item) == {"id", "amount", "description", "quantity"}  # the seed's three, and quantity
    assert item["id"].startswith("rli") and item["id"] != body["id"]
    assert (item["amount"], item["description"], item["quantity"]) == (Decimal("19.99"), "Monthly subscription", 1)
    assert body["createdTime"] == body["updatedTime"] == "2025-12-01T00:00:00.000+00:00"
    assert get_template(api, t, body["id"]) == body

    # the same request retried with its Idempotency-Key: the first answer, nothing created twice
    again = api.call("POST", PATH, raw=raw, key=t.key, headers={"Idempotency-Key": "seed-003"})
    assert (again.status, again.body, again.headers.get("idempotent-replayed")) == (201, body, "true")
    assert [r["id"] for r in api.get(PATH, key=t.key).body["data"]] == [body["id"]]
    # quantity may be left out: it is 1
    no_quantity = json.loads(raw)
    del no_quantity["recurringInvoiceLineItems"][0]["quantity"]
    assert create(api, t, no_quantity)["recurringInvoiceLineItems"][0]["quantity"] == 1


def test_seed_template_generates_eleven_invoices_numbered_by_due_date(api):
    t = clock_tenant(api)
    customer = api.customer(t, taxRate=10, billToContactId="contact-1")
    template = create(api, t, json.loads(SEED_REQUEST.replace("{customer_id}", customer["id"])))

    assert advance(api, t, "2025-12-25T23:59:59Z") == 0  # generated 5 days before Dec 31: on Dec 26
    assert of_template(api, t, template["id"]) == []
    assert advance(api, t, "2025-12-26T00:00:00Z") == 1
    [first] = of_template(api, t, template["id"])
    assert (first["name"], first["invoiceDate"], first["dueDate"]) == ("2025-12-31", "2025-12-26", "2025-12-31")
    assert (first["status"], first["paymentStatus"], first["source"]) == ("Draft", "NotTransferred", "RecurringInvoice")
    assert (first["amountWithoutTax"], first["taxAmount"], first["amount"], first["balance"]) == (
        Decimal("19.99"), Decimal("2.00"), Decimal("21.99"), Decimal("21.99"))  # tax at the customer's 10 %
    assert lines_of(first) == [("Monthly subscription", 1, Decimal("19.99"), Decimal("19.99"))]
    assert (first["customerId"], first["currencyIsoCode"], first["billToContactId"]) == (customer["id"], "USD",
                                                                                         "contact-1")
    assert first["recurringInvoiceId"] == template["id"] and first["isCatchUp"] is False
    assert first["createdDate"] == "2025-12-26T00:00:00.000+00:00"  # as if the tick fired on the generation day
    assert get_template(api, t, template["id"])["schedule"]["nextDueDate"] == "2026-01-31"

    assert advance(api, t, "2027-06-01T00:00:00Z") == 10  # the rest of the series, endDate 2026-11-01
    generated = of_template(api, t, template["id"])
    assert [i["name"] for i in generated] == [i["dueDate"] for i in generated] == SEED_DUE_DATES
    assert [i["invoiceDate"] for i in generated][:3] == ["2025-12-26", "2026-01-26", "2026-02-23"]
    assert {i["amount"] for i in generated} == {Decimal("21.99")}
    after = get_template(api, t, template["id"])
    assert after["schedule"]["nextDueDate"] == "2026-11-30" and after["archived"] is False  # past endDate: done
    assert advance(api, t, "2030-01-01T00:00:00Z") == 0


# --- validation ----------------------------------------------------------------------------------------------

def test_invalid_requests_are_400s_naming_the_field_and_create_nothing(api):
    t = clock_tenant(api)
    usd = api.customer(t)["id"]
    jpy = api.customer(t, name="Tokyo", currency="JPY")["id"]
    good = template_body(usd, end="2026-12-31")

    def variant(change) -> dict:
        body = copy.deepcopy(good)
        change(body)
        return body

    cases = {
        "unknown top field": (variant(lambda b: b.update(invoiceNumber="X")), ["invoiceNumber"]),
        "read-only field": (variant(lambda b: b.update(archived=True)), ["archived"]),
        "unknown schedule field": (variant(lambda b: b["schedule"].update(every=2)), ["schedule.every"]),
        "unknown line field": (variant(lambda b: b["recurringInvoiceLineItems"][0].update(price=1)),
                               ["recurringInvoiceLineItems[0].price"]),
        "line id on create": (variant(lambda b: b["recurringInvoiceLineItems"][0].update(id="x")),
                              ["recurringInvoiceLineItems[0].id"]),
        "end before next due": (variant(lambda b: b["schedule"].update(endDate="2026-01-30")), ["schedule.endDate"]),
        "frequency 0": (variant(lambda b: b["schedule"].update(frequency=0)), ["schedule.frequency"]),
        "frequency 1.5": (variant(lambda b: b["schedule"].update(frequency=Decimal("1.5"))), ["schedule.frequency"]),
        "negative days": (variant(lambda b: b["schedule"].update(daysInAdvance=-1)), ["schedule.daysInAdvance"]),
        "unknown period": (variant(lambda b: b["schedule"].update(period="HOURLY")), ["schedule.period"]),
        "no next due date": (variant(lambda b: b["schedule"].pop("nextDueDate")), ["schedule.nextDueDate"]),
        "bad date": (variant(lambda b: b["schedule"].update(nextDueDate="2026-02-30")), ["schedule.nextDueDate"]),
        "no line items": (variant(lambda b: b.update(recurringInvoiceLineItems=[])), ["recurringInvoiceLineItems"]),
        "no schedule": (variant(lambda b: b.pop("schedule")), ["schedule"]),
        "no customer": (variant(lambda b: b.pop("customerId")), ["customerId"]),
        "3 decimals in USD": (variant(lambda b: b["recurringInvoiceLineItems"][0].update(amount=Decimal("19.999"))),
                              ["recurringInvoiceLineItems[0].amount"]),
        "amount as text": (variant(lambda b: b["recurringInvoiceLineItems"][0].update(amount="19.99")),
                           ["recurringInvoiceLineItems[0].amount"]),
        "negative amount": (variant(lambda b: b["recurringInvoiceLineItems"][0].update(amount=-1)),
                            ["recurringInvoiceLineItems[0].amount"]),
        "quantity 0": (variant(lambda b: b["recurringInvoiceLineItems"][0].update(quantity=0)),
                       ["recurringInvoiceLineItems[0].quantity"]),
        "decimals in JPY": (variant(lambda b: (b.update(customerId=jpy), b["recurringInvoiceLineItems"][0].update(
            amount=Decimal("1.5")))), ["recurringInvoiceLineItems[0].amount"]),
    }
    for name, (body, fields) in cases.items():
        answer = api.post(PATH, body, key=t.key)
        assert answer.status == 400, (name, answer.body)
        assert answer.body["errorCode"] == "ValidationError" and answer.error_fields == fields, (name, answer.body)
    unknown = api.post(PATH, {**good, "customerId": "0cu01ABCDEFGHIJKLMNO"}, key=t.key)
    assert unknown.status == 404 and unknown.body["details"] == [{"field": "customerId",
                                                                 "issue": "no customer with this id"}]
    assert api.get(PATH, key=t.key).body["data"] == []
    # enums are case-insensitive; JPY amounts are whole
    ok = create(api, t, {**good, "customerId": jpy, "schedule": {**good["schedule"], "period": "monthly"},
                         "recurringInvoiceLineItems": [{"amount": 1500}]})
    assert ok["schedule"]["period"] == "MONTHLY" and ok["recurringInvoiceLineItems"][0]["amount"] == 1500


# --- get, list ---------------------------------------------------------------------------------------------------

def test_list_filters_by_customer_and_archived_with_pagination(api):
    t = clock_tenant(api)
    a, b = api.customer(t, name="A")["id"], api.customer(t, name="B")["id"]
    made = [create(api, t, template_body(c)) for c in (a, a, b)]
    archived = api.post(f"{PATH}/{made[1]['id']}/archive", key=t.key).body

    def ids(query):
        answer = api.get(f"{PATH}{query}", key=t.key)
        assert answer.status == 200, answer.body
        return sorted(r["id"] for r in answer.body["data"])

    assert ids("") == sorted(m["id"] for m in made)
    assert ids(f"?customerId={a}") == sorted([made[0]["id"], made[1]["id"]])
    assert ids(f"?customerId={b}") == [made[2]["id"]]
    assert ids("?archived=true") == [archived["id"]]
    assert ids("?archived=false") == sorted([made[0]["id"], made[2]["id"]])
    assert ids(f"?customerId={a}&archived=false") == [made[0]["id"]]
    assert ids("?customerId=nobody") == []

    seen, token, pages = [], None, 0
    while True:
        page = api.get(f"{PATH}?limit=1" + (f"&nextToken={quote(token)}" if token else ""), key=t.key).body
        seen += [r["id"] for r in page["data"]]
        pages += 1
        token = page["nextToken"]
        if token is None:
            break
    assert sorted(seen) == sorted(m["id"] for m in made) and pages >= 3
    token = api.get(f"{PATH}?customerId={a}&limit=1", key=t.key).body["nextToken"]
    elsewhere = api.get(f"{PATH}?customerId={b}&limit=1&nextToken={quote(token)}", key=t.key)
    assert elsewhere.status == 400 and elsewhere.error_fields == ["nextToken"]
    assert api.get(f"{PATH}?archived=maybe", key=t.key).error_fields == ["archived"]
    missing = api.get(f"{PATH}/rit00000000000000000000000000000000", key=t.key)
    assert missing.status == 404 and missing.body["errorCode"] == "NotFound"


# --- the series through the tick ------------------------------------------------------------------------------

def test_month_end_anchor_across_a_leap_year_through_the_tick(api):
    t = clock_tenant(api, start="2024-01-01T00:00:00Z")
    customer = api.customer(t)["id"]
    template = create(api, t, template_body(customer, next_due="2024-01-31", end="2025-03-31"))
    assert advance(api, t, "2025-06-01T00:00:00Z") == 15
    assert [i["dueDate"] for i in of_template(api, t, template["id"])] == [
        "2024-01-31", "2024-02-29", "2024-03-31", "2024-04-30", "2024-05-31", "2024-06-30", "2024-07-31",
        "2024-08-31", "2024-09-30", "2024-10-31", "2024-11-30", "2024-12-31", "2025-01-31", "2025-02-28",
        "2025-03-31"]  # endDate exactly on a due date: the last invoice


def test_daily_weekly_yearly_with_frequency_above_one_and_end_dates_on_due_dates(api):
    t = clock_tenant(api, start="2024-02-01T00:00:00Z")
    made = {}
    for name, period, frequency, first, end in (("daily", "DAILY", 3, "2024-02-26", "2024-03-09"),
                                                ("weekly", "WEEKLY", 2, "2024-02-07", "2024-04-03"),
                                                ("yearly", "YEARLY", 2, "2024-02-29", "2030-02-28")):
        customer = api.customer(t, name=name)["id"]
        made[name] = create(api, t, template_body(customer, period=period, frequency=frequency, next_due=first,
                                                  end=end, days=1))["id"]
    assert advance(api, t, "2031-01-01T00:00:00Z") == 5 + 5 + 4
    due = {name: [i["dueDate"] for i in of_template(api, t, ident)] for name, ident in made.items()}
    assert due == {
        "daily": ["2024-02-26", "2024-02-29", "2024-03-03", "2024-03-06", "2024-03-09"],
        "weekly": ["2024-02-07", "2024-02-21", "2024-03-06", "2024-03-20", "2024-04-03"],
        "yearly": ["2024-02-29", "2026-02-28", "2028-02-29", "2030-02-28"]}
    assert of_template(api, t, made["daily"])[1]["invoiceDate"] == "2024-02-28"  # one day in advance


def test_catch_up_after_a_long_pause_generates_each_missed_invoice_once(api):
    t = clock_tenant(api, start="2025-01-01T00:00:00Z")
    customer = api.customer(t)["id"]
    weekly = create(api, t, template_body(customer, period="WEEKLY", next_due="2025-01-06", days=2))
    monthly = create(api, t, template_body(customer, next_due="2025-01-31", days=3))
    assert advance(api, t, "2026-01-01T00:00:00Z") == 52 + 12  # a year of downtime, caught up in one tick
    weeks = [i["dueDate"] for i in of_template(api, t, weekly["id"])]
    months = [i["dueDate"] for i in of_template(api, t, monthly["id"])]
    assert len(weeks) == len(set(weeks)) == 52 and weeks[0] == "2025-01-06" and weeks[-1] == "2025-12-29"
    assert len(months) == 12 and months[-1] == "2025-12-31"
    assert advance(api, t, "2026-01-01T00:00:00Z") == 0  # the same tick again: nothing twice
    assert advance(api, t, "2026-01-03T00:00:00Z") == 1  # Jan 5's weekly invoice, generated Jan 3
    names = [i["name"] for i in invoices(api, t, customer)]
    assert len(names) == len(set(names)) == 65


def test_dates_are_local_to_the_customers_zone(api):
    t = clock_tenant(api, start="2026-01-01T00:00:00Z")
    auckland = api.customer(t, name="Auckland", timezone="Pacific/Auckland")["id"]  # UTC+13 in January
    honolulu = api.customer(t, name="Honolulu", timezone="Pacific/Honolulu")["id"]  # UTC-10
    moving = api.customer(t, name="Moving", timezone="Pacific/Auckland")["id"]
    made = {c: create(api, t, template_body(c, next_due="2026-01-10"))["id"] for c in (auckland, honolulu, moving)}
    # Moving's template was indexed at Auckland's midnight; the customer moves to Honolulu before it falls due
    assert api.patch(f"/customers/{moving}", {"timezone": "Pacific/Honolulu"}, key=t.key).status == 200
    assert advance(api, t, "2026-01-09T10:59:59Z") == 0
    assert advance(api, t, "2026-01-09T11:00:00Z") == 1  # midnight of Jan 10 in Auckland
    assert [i["invoiceDate"] for i in of_template(api, t, made[auckland])] == ["2026-01-10"]
    assert of_template(api, t, made[honolulu]) == of_template(api, t, made[moving]) == []
    assert advance(api, t, "2026-01-10T09:59:59Z") == 0
    assert advance(api, t, "2026-01-10T10:00:00Z") == 2  # midnight of Jan 10 in Honolulu
    assert [i["invoiceDate"] for i in of_template(api, t, made[moving])] == ["2026-01-10"]


# --- PATCH and PUT change future invoices only --------------------------------------------------------------------

def test_patch_and_put_change_future_invoices_only(api):
    t = clock_tenant(api, start="2026-01-01T00:00:00Z")
    customer = api.customer(t)["id"]
    template = create(api, t, template_body(customer, next_due="2026-01-31", lines=[
        {"amount": Decimal("10.00"), "description": "Hosting"},
        {"amount": Decimal("2.50"), "quantity": 4, "description": "Seats"}]))
    hosting, seats = (i["id"] for i in template["recurringInvoiceLineItems"])
    assert advance(api, t, "2026-02-28T00:00:00Z") == 2  # January and February
    generated = of_template(api, t, template["id"])
    assert [lines_of(i) for i in generated] == [[("Hosting", 1, Decimal("10.00"), Decimal("10.00")),
                                                 ("Seats", 4, Decimal("2.50"), Decimal("10.00"))]] * 2

    patched = api.patch(f"{PATH}/{template['id']}", {"recurringInvoiceLineItems": [
        {"id": seats, "quantity": 5}, {"amount": Decimal("1.25"), "quantity": Decimal("0.5"), "description": "Fee"}]},
        key=t.key)
    assert patched.status == 200, patched.body
    items = patched.body["recurringInvoiceLineItems"]
    assert [(i["id"], i["amount"], i["quantity"], i["description"]) for i in items[:1]] == [
        (seats, Decimal("2.50"), 5, "Seats")]
    assert items[1]["id"].startswith("rli") and items[1]["id"] not in (hosting, seats)  # Hosting was left out
    assert patched.body["schedule"] == template["schedule"] | {"nextDueDate": "2026-03-31"}
    assert patched.body["updatedTime"] == "2026-02-28T00:00:00.000+00:00"
    assert advance(api, t, "2026-03-31T00:00:00Z") == 1
    march = of_template(api, t, template["id"])[2]
    assert lines_of(march) == [("Seats", 5, Decimal("2.50"), Decimal("12.50")),
                               ("Fee", Decimal("0.5"), Decimal("1.25"), Decimal("0.63"))]  # 0.625 HALF_UP
    assert of_template(api, t, template["id"])[:2] == generated  # January and February unchanged

    fee = items[1]["id"]
    replaced = api.put(f"{PATH}/{template['id']}", {
        "customerId": customer, "schedule": {"period": "MONTHLY", "nextDueDate": "2026-04-30", "daysInAdvance": 0},
        "recurringInvoiceLineItems": [{"id": fee, "amount": Decimal("3.00")},
                                      {"amount": Decimal("7.00"), "description": "Support"}]}, key=t.key)
    assert replaced.status == 200, replaced.body
    assert [(i["id"] == fee, i["amount"], i["quantity"], i["description"])
            for i in replaced.body["recurringInvoiceLineItems"]] == [
        (True, Decimal("3.00"), 1, None), (False, Decimal("7.00"), 1, "Support")]  # Seats removed; Fee replaced
    # the current nextDueDate sent back: the month-end anchor holds (April 30, then May 31)
    assert replaced.body["schedule"] == {"period": "MONTHLY", "frequency": 1, "nextDueDate": "2026-04-30",
                                         "endDate": None, "daysInAdvance": 0}
    assert advance(api, t, "2026-05-31T00:00:00Z") == 2
    after = of_template(api, t, template["id"])
    assert [i["dueDate"] for i in after] == ["2026-01-31", "2026-02-28", "2026-03-31", "2026-04-30", "2026-05-31"]
    assert lines_of(after[4]) == [("", 1, Decimal("3.00"), Decimal("3.00")),
                                  ("Support", 1, Decimal("7.00"), Decimal("7.00"))]
    assert after[:3] == of_template(api, t, template["id"])[:3] and lines_of(after[2]) == lines_of(march)

    # a new nextDueDate re-anchors the series; frequency multiplies from there
    moved = api.patch(f"{PATH}/{template['id']}", {"schedule": {"nextDueDate": "2026-07-15", "frequency": 2,
                                                                "endDate": "2026-11-15"}}, key=t.key)
    assert moved.status == 200 and moved.body["schedule"]["nextDueDate"] == "2026-07-15"
    assert advance(api, t, "2027-01-01T00:00:00Z") == 3
    assert [i["dueDate"] for i in of_template(api, t, template["id"])][5:] == ["2026-07-15", "2026-09-15",
                                                                               "2026-11-15"]


def test_patch_and_put_refusals(api):
    t = clock_tenant(api)
    customer = api.customer(t)["id"]
    template = create(api, t, template_body(customer, end="2026-12-31"))
    item = template["recurringInvoiceLineItems"][0]["id"]
    url = f"{PATH}/{template['id']}"
    refusals = [
        ("PATCH", {"schedule": {"endDate": "2026-01-01"}}, ["schedule.endDate"]),
        ("PATCH", {"schedule": {"frequency": None}}, ["schedule.frequency"]),
        ("PATCH", {"schedule": {"nextDueDate": None}}, ["schedule.nextDueDate"]),
        ("PATCH", {"customerId": None}, ["customerId"]),
        ("PATCH", {"recurringInvoiceLineItems": []}, ["recurringInvoiceLineItems"]),
        ("PATCH", {"recurringInvoiceLineItems": [{"id": "rli-nope", "amount": 1}]}, ["recurringInvoiceLineItems[0].id"]),
        ("PATCH", {"recurringInvoiceLineItems": [{"id": item, "amount": Decimal("0.001")}]},
         ["recurringInvoiceLineItems[0].amount"]),
        ("PATCH", {"recurringInvoiceLineItems": [{"description": "no amount"}]},
         ["recurringInvoiceLineItems[0].amount"]),
        ("PATCH", {"archived": True}, ["archived"]),
        ("PATCH", {"id": "rit-other"}, ["id"]),
        ("PUT", {"customerId": customer, "recurringInvoiceLineItems": [{"amount": 1}]}, ["schedule"]),
        ("PUT", {"customerId": customer, "schedule": {"period": "MONTHLY", "nextDueDate": "2026-01-31"},
                 "recurringInvoiceLineItems": [{"id": item}]}, ["recurringInvoiceLineItems[0].amount"]),
    ]
    for method, body, fields in refusals:
        answer = api.call(method, url, body, key=t.key)
        assert answer.status == 400 and answer.error_fields == fields, (method, body, answer.body)
    foreign = api.patch(url, {"customerId": "0cu-unknown"}, key=t.key)
    assert foreign.status == 404 and foreign.error_fields == ["customerId"]
    assert get_template(api, t, template["id"]) == template  # nothing changed
    cleared = api.patch(url, {"schedule": {"endDate": None}}, key=t.key).body
    assert cleared["schedule"]["endDate"] is None  # open-ended now


# --- archive and restore ------------------------------------------------------------------------------------------

def test_archive_and_restore_are_idempotent_and_restore_catches_up(api):
    t = clock_tenant(api, start="2026-01-01T00:00:00Z")
    customer = api.customer(t)["id"]
    template = create(api, t, template_body(customer, next_due="2026-01-31", days=5))
    url = f"{PATH}/{template['id']}"
    first = api.post(f"{url}/archive", key=t.key)
    second = api.post(f"{url}/archive", {}, key=t.key)
    assert first.status == second.status == 200 and first.body == second.body and first.body["archived"] is True
    assert advance(api, t, "2026-04-01T00:00:00Z") == 0  # Jan, Feb, Mar fell due while archived: none generated
    assert of_template(api, t, template["id"]) == []
    assert [r["id"] for r in api.get(f"{PATH}?archived=true", key=t.key).body["data"]] == [template["id"]]

    restored = api.post(f"{url}/restore", key=t.key)
    again = api.post(f"{url}/restore", key=t.key)
    assert restored.status == again.status == 200 and restored.body == again.body
    assert restored.body["archived"] is False and restored.body["schedule"]["nextDueDate"] == "2026-01-31"
    assert advance(api, t, "2026-04-01T00:00:00Z") == 3  # the next tick: every missed invoice, once
    caught_up = of_template(api, t, template["id"])
    assert [i["dueDate"] for i in caught_up] == ["2026-01-31", "2026-02-28", "2026-03-31"]
    assert [i["invoiceDate"] for i in caught_up] == ["2026-01-26", "2026-02-23", "2026-03-26"]
    assert {i["createdDate"] for i in caught_up} == {"2026-04-01T00:00:00.000+00:00"}  # generated at the restore
    assert advance(api, t, "2026-04-01T00:00:00Z") == 0
    assert api.post(f"{url}/archive", {"reason": "x"}, key=t.key).error_fields == ["reason"]

    # an archived template can be changed; it stays archived, and generates nothing until restored
    archived = api.post(f"{url}/archive", key=t.key).body
    changed = api.patch(url, {"schedule": {"daysInAdvance": 0}}, key=t.key)
    assert changed.status == 200 and changed.body["archived"] is True
    assert changed.body["updatedTime"] == archived["updatedTime"] == "2026-04-01T00:00:00.000+00:00"
    assert advance(api, t, "2026-05-01T00:00:00Z") == 0


def test_a_template_created_with_past_dates_is_caught_up_by_the_next_tick_not_by_the_create(api):
    t = clock_tenant(api, start="2026-03-10T12:00:00Z")
    customer = api.customer(t)["id"]
    template = create(api, t, template_body(customer, period="WEEKLY", next_due="2026-02-20"))
    assert of_template(api, t, template["id"]) == []  # the create generates nothing
    assert advance(api, t, "2026-03-10T12:00:00Z") == 3  # the next tick (the clock advanced by nothing)
    assert [i["dueDate"] for i in of_template(api, t, template["id"])] == ["2026-02-20", "2026-02-27", "2026-03-06"]
    assert {i["createdDate"] for i in of_template(api, t, template["id"])} == {"2026-03-10T12:00:00.000+00:00"}


# --- invoice numbers -------------------------------------------------------------------------------------------

def test_a_second_invoice_for_the_same_customer_and_due_date_gets_a_suffix(api):
    t = clock_tenant(api, start="2026-01-01T00:00:00Z")
    customer, other = api.customer(t, name="One")["id"], api.customer(t, name="Two")["id"]
    early = create(api, t, template_body(customer, next_due="2026-01-31", days=10, end="2026-02-28"))
    late = create(api, t, template_body(customer, next_due="2026-01-31", days=2, end="2026-02-28"))
    elsewhere = create(api, t, template_body(other, next_due="2026-01-31", days=2, end="2026-01-31"))
    assert advance(api, t, "2026-03-01T00:00:00Z") == 5
    assert [i["name"] for i in of_template(api, t, early["id"])] == ["2026-01-31", "2026-02-28"]  # generated first
    assert [i["name"] for i in of_template(api, t, late["id"])] == ["2026-01-31-1", "2026-02-28-1"]
    assert [i["name"] for i in of_template(api, t, elsewhere["id"])] == ["2026-01-31"]  # another customer's own
    third = create(api, t, template_body(customer, next_due="2026-01-31", end="2026-01-31"))
    assert advance(api, t, "2026-03-01T00:00:00Z") == 1
    assert [i["name"] for i in of_template(api, t, third["id"])] == ["2026-01-31-2"]


# --- generated invoices are ordinary invoices -------------------------------------------------------------------

def test_generated_invoices_are_listed_activated_paid_rendered_canceled_and_deleted_like_any(api):
    pdfs.ensure_bucket()
    t = clock_tenant(api, start="2026-01-01T00:00:00Z")
    customer = api.customer(t, taxRate=Decimal("8.25"), paymentTermDays=15)["id"]
    template = create(api, t, template_body(customer, next_due="2026-01-31", end="2026-02-28", days=3, lines=[
        {"amount": Decimal("19.99"), "quantity": 3, "description": "Monthly subscription"}]))
    assert advance(api, t, "2026-03-01T00:00:00Z") == 2
    jan, feb = of_template(api, t, template["id"])
    assert (jan["amountWithoutTax"], jan["taxAmount"], jan["amount"]) == (Decimal("59.97"), Decimal("4.95"),
                                                                         Decimal("64.92"))
    assert [i["id"] for i in invoices(api, t, customer)] == [jan["id"], feb["id"]]
    assert [i["id"] for i in api.get("/billing/invoices?status=Draft", key=t.key).body["data"]] == [jan["id"],
                                                                                                     feb["id"]]
    found = api.post("/graphql", {"query": '{ invoice(where: {recurringInvoiceId: {_eq: "%s"}}) { name dueDate '
                                           'source lines { amount } } }' % template["id"]}, key=t.key)
    assert found.status == 200 and [i["name"] for i in found.body["data"]["invoice"]] == ["2026-01-31", "2026-02-28"]
    assert found.body["data"]["invoice"][0]["source"] == "RecurringInvoice"

    moved = api.patch(f"/billing/invoices/{jan['id']}", {"dueDate": "2026-02-05"}, key=t.key)
    assert moved.status == 200 and moved.body["dueDate"] == "2026-02-05"
    activated = api.post("/billing/invoices:activate", {"invoiceIds": [jan["id"]]}, key=t.key)
    assert activated.body["results"][0]["success"] is True
    paid = api.post("/billing/payments", {"invoiceId": jan["id"], "amount": Decimal("64.92")}, key=t.key)
    assert paid.status == 201 and (paid.body["invoice"]["paymentStatus"], paid.body["invoice"]["balance"]) == (
        "Paid", 0)
    pdf = api.get(f"/billing/invoices/{jan['id']}/pdf", key=t.key)
    assert pdf.status == 200 and pdf.body["invoicePdf"].startswith("http")
    text = _pdf_text(jan["id"], t.id)
    assert "2026-01-31" in text and "Monthly subscription" in text and "64.92" in text

    by_template = '{_and: [{recurringInvoiceId: {_eq: "%s"}}, {status: {_eq: "Draft"}}]}' % template["id"]
    canceled = api.post("/billing/invoices:cancel", {"graphqlFilter": by_template}, key=t.key)
    assert [(r["invoiceId"], r["status"]) for r in canceled.body["results"]] == [(feb["id"], "Canceled")]
    deleted = api.delete("/billing/invoices", {"invoiceIds": [feb["id"]]}, key=t.key)
    assert deleted.body["succeeded"] == 1
    assert [i["id"] for i in invoices(api, t, customer)] == [jan["id"]]
    # canceling re-opened February's due date: the next run generates it again, on a new number; the watermark stays
    assert advance(api, t, "2026-03-01T00:00:00Z") == 1
    assert [i["name"] for i in invoices(api, t, customer)] == ["2026-01-31", "2026-02-28-1"]
    assert get_template(api, t, template["id"])["schedule"]["nextDueDate"] == "2026-03-31"


def test_canceling_a_generated_invoice_regenerates_its_due_date_on_the_next_run(api):
    t = clock_tenant(api, start="2026-01-01T00:00:00Z")
    customer = api.customer(t)["id"]
    template = create(api, t, template_body(customer, next_due="2026-01-31"))
    assert advance(api, t, "2026-02-10T00:00:00Z") == 1
    [jan] = of_template(api, t, template["id"])
    assert api.post("/billing/invoices:cancel", {"invoiceIds": [jan["id"]]}, key=t.key).body["succeeded"] == 1
    assert api.post("/billing/invoices:cancel", {"invoiceIds": [jan["id"]]}, key=t.key).body["succeeded"] == 1  # retry

    # archived, it generates nothing, the re-opened date included; the lines are the template's as they are then
    api.post(f"{PATH}/{template['id']}/archive", key=t.key)
    assert advance(api, t, "2026-02-11T00:00:00Z") == 0
    api.post(f"{PATH}/{template['id']}/restore", key=t.key)
    patched = api.patch(f"{PATH}/{template['id']}", {"recurringInvoiceLineItems": [
        {"amount": Decimal("12.00"), "description": "Service, corrected"}]}, key=t.key)
    assert patched.status == 200, patched.body
    assert advance(api, t, "2026-02-12T00:00:00Z") == 1  # once: the retried cancel re-opened it once
    canceled, again = sorted(of_template(api, t, template["id"]), key=lambda i: i["name"])
    assert (canceled["id"], canceled["status"]) == (jan["id"], "Canceled")
    assert (again["name"], again["dueDate"], again["status"], lines_of(again)) == (
        "2026-01-31-1", "2026-01-31", "Draft", [("Service, corrected", Decimal("1"), Decimal("12.00"),
                                                  Decimal("12.00"))])
    assert get_template(api, t, template["id"])["schedule"]["nextDueDate"] == "2026-02-28"
    assert advance(api, t, "2026-02-13T00:00:00Z") == 0

    # the invoice generated again, canceled in turn, is generated again once more; the series goes on meanwhile
    api.post("/billing/invoices:cancel", {"invoiceIds": [again["id"]]}, key=t.key)
    api.post("/billing/invoices:cancel", {"invoiceIds": [jan["id"]]}, key=t.key)  # an old cancel's retry: nothing
    assert advance(api, t, "2026-03-01T00:00:00Z") == 2  # January's third invoice, February's first
    names = sorted(i["name"] for i in of_template(api, t, template["id"]) if i["status"] != "Canceled")
    assert names == ["2026-01-31-2", "2026-02-28"]


def _pdf_text(invoice_id: str, tenant_id: str) -> str:
    import io

    import pypdf
    client = pdfs.client()
    keys = [o["Key"] for o in client.list_objects_v2(Bucket=pdfs.bucket()).get("Contents", [])
            if invoice_id in o["Key"]]
    assert len(keys) == 1, keys
    data = client.get_object(Bucket=pdfs.bucket(), Key=keys[0])["Body"].read()
    return "\n".join(page.extract_text() for page in pypdf.PdfReader(io.BytesIO(data)).pages)


@pytest.mark.wall("2026-01-01T00:00:00Z")
def test_live_tenants_are_generated_by_the_wall_clock_tick_with_catch_up_flagged(api, wall):
    t = api.new_tenant("Live shop", timezone="UTC", currency="USD")
    customer = api.customer(t)["id"]
    template = create(api, t, template_body(customer, next_due="2026-01-10", period="DAILY", end="2026-01-14"))
    event = api.client.events.generate_cw_event(source="aws.events", detail_type="Scheduled Event", detail={},
                                                resources=["arn:aws:events:us-east-1:123456789012:rule/tick"])
    assert api.client.lambda_.invoke("tick", event).payload["ran"]["recurringInvoices"] == 0
    wall.now = datetime(2026, 1, 12, 0, 1, tzinfo=timezone.utc)  # the tick was down from Jan 1 to Jan 12
    assert api.client.lambda_.invoke("tick", event).payload["ran"]["recurringInvoices"] == 3
    assert [(i["dueDate"], i["isCatchUp"]) for i in of_template(api, t, template["id"])] == [
        ("2026-01-10", True), ("2026-01-11", True), ("2026-01-12", False)]  # Jan 12 is on time (within 5 min)
    assert api.client.lambda_.invoke("tick", event).payload["ran"]["recurringInvoices"] == 0
