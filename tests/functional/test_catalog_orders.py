"""Catalog, orders, subscriptions, settings and the test clock, through the HTTP API (moto behind it)."""
from datetime import date, timedelta
from decimal import Decimal

import pytest

from chalicelib.domain.timeutil import local_date, parse_instant, wall_now

CLOCK_START = "2024-01-01T00:00:00Z"


def lab(api, **fields):
    """A test-mode tenant whose clock starts at a known instant."""
    return api.new_tenant("Lab", testMode=True, clockStart=fields.pop("clockStart", CLOCK_START), **fields)


def today_in(timezone: str) -> set[date]:
    """Today in a zone for a live tenant: either side of a midnight that passes during the test."""
    return {local_date(wall_now(), timezone), local_date(wall_now() + timedelta(seconds=30), timezone)}


# --- customers --------------------------------------------------------------------------------------

def test_customer_defaults_come_from_tenant_settings(api):
    t = api.new_tenant("Acme", timezone="Asia/Shanghai", currency="JPY", paymentTermDays=45)
    c = api.customer(t)
    assert (c["timezone"], c["currency"], c["paymentTermDays"]) == ("Asia/Shanghai", "JPY", 45)
    assert c["billCycleDay"] is None and c["taxRate"] == 0 and c["email"] is None
    assert api.get(f"/customers/{c['id']}", key=t.key).body == c

    # settings changed later are the defaults of later customers; explicit fields win
    assert api.patch("/settings", {"timezone": "Europe/Berlin", "currency": "usd", "paymentTermDays": 10},
                     key=t.key).status == 200
    later = api.customer(t)
    assert (later["timezone"], later["currency"], later["paymentTermDays"]) == ("Europe/Berlin", "USD", 10)
    own = api.customer(t, timezone="America/New_York", currency="kwd", paymentTermDays=0, billCycleDay=31,
                       taxRate=Decimal("8.25"), email="ap@wayne.example", billToContactId="ct_1")
    assert (own["timezone"], own["currency"], own["paymentTermDays"]) == ("America/New_York", "KWD", 0)
    assert (own["billCycleDay"], own["taxRate"], own["email"], own["billToContactId"]) == (
        31, Decimal("8.25"), "ap@wayne.example", "ct_1")


def test_customer_patch_and_validation(api, tenant):
    c = api.customer(tenant)
    answer = api.patch(f"/customers/{c['id']}", {"name": "Wayne Corp", "billCycleDay": 15, "taxRate": 7.5},
                       key=tenant.key)
    assert answer.status == 200
    assert (answer.body["name"], answer.body["billCycleDay"], answer.body["taxRate"]) == ("Wayne Corp", 15,
                                                                                           Decimal("7.5"))
    assert answer.body["createdDate"] == c["createdDate"]
    assert api.get(f"/customers/{c['id']}", key=tenant.key).body == answer.body

    bad = [
        ({"billCycleDay": 0}, "billCycleDay"), ({"billCycleDay": 32}, "billCycleDay"),
        ({"billCycleDay": "5"}, "billCycleDay"), ({"taxRate": 101}, "taxRate"), ({"taxRate": -1}, "taxRate"),
        ({"name": None}, "name"), ({"name": ""}, "name"), ({"timezone": "Mars/Base"}, "timezone"),
        ({"timezone": None}, "timezone"), ({"paymentTermDays": -1}, "paymentTermDays"),
        ({"currency": "EUR"}, "currency"), ({"id": "x"}, "id"), ({"colour": "red"}, "colour"),
    ]
    for body, field in bad:
        answer = api.patch(f"/customers/{c['id']}", body, key=tenant.key)
        assert answer.status == 400, (body, answer.body)
        assert field in answer.error_fields, (body, answer.body)
    assert api.get(f"/customers/{c['id']}", key=tenant.key).body["name"] == "Wayne Corp"

    for body, field in [({"name": "x", "billCycleDay": 0}, "billCycleDay"), ({"name": "x", "taxRate": 101}, "taxRate"),
                        ({}, "name"), ({"name": "x", "currency": "XAU"}, "currency"),
                        ({"name": "x", "timezone": "Nowhere"}, "timezone")]:
        answer = api.post("/customers", body, key=tenant.key)
        assert answer.status == 400 and field in answer.error_fields, (body, answer.body)
    assert api.get("/customers/nope", key=tenant.key).status == 404
    assert api.patch("/customers/nope", {"name": "x"}, key=tenant.key).status == 404


# --- products ---------------------------------------------------------------------------------------

def test_products_recurring_and_one_time(api, tenant):
    recurring = api.product(tenant, billingPeriod="semi annual")
    assert (recurring["productType"], recurring["billingPeriod"], recurring["currency"], recurring["price"]) == (
        "Recurring", "SemiAnnual", "USD", Decimal("30.00"))
    setup = api.product(tenant, name="Setup", productType="ONE_TIME", price=99, billingPeriod=None)
    assert (setup["productType"], setup["billingPeriod"], setup["price"]) == ("OneTime", None, Decimal("99.00"))

    cases = [
        ({"name": "x", "price": 1}, "billingPeriod"),  # Recurring by default, needs a period
        ({"name": "x", "price": 1, "productType": "Recurring"}, "billingPeriod"),
        ({"name": "x", "price": 1, "productType": "OneTime", "billingPeriod": "Month"}, "billingPeriod"),
        ({"name": "x", "price": "1.00", "billingPeriod": "Month"}, "price"),  # a string is not a JSON number
        ({"name": "x", "price": Decimal("1.001"), "billingPeriod": "Month"}, "price"),
        ({"name": "x", "price": -1, "billingPeriod": "Month"}, "price"),
        ({"name": "x", "price": 1, "billingPeriod": "Monthly"}, "billingPeriod"),
        ({"name": "x", "price": 1, "billingPeriod": "Month", "currency": "ABC"}, "currency"),
    ]
    for body, field in cases:
        answer = api.post("/products", body, key=tenant.key)
        assert answer.status == 400 and field in answer.error_fields, (body, answer.body)

    # numbers far outside any amount's range are a 400 naming the field, never a 500
    for raw, field in [('{"name": "x", "billingPeriod": "Month", "price": 1.5e999999999}', "price"),
                       ('{"name": "x", "billingPeriod": "Month", "price": -1E+30}', "price"),
                       ('{"name": "x", "billingPeriod": "Month", "price": 1e-999999999}', "price")]:
        answer = api.post("/products", raw=raw, key=tenant.key)
        assert answer.status == 400 and answer.error_fields == [field], (raw, answer.body)

    jpy = api.post("/products", {"name": "Yen", "price": 500, "billingPeriod": "Month", "currency": "jpy"},
                   key=tenant.key)
    assert jpy.status == 201 and (jpy.body["currency"], jpy.body["price"]) == ("JPY", 500)
    assert api.post("/products", {"name": "Yen", "price": Decimal("500.5"), "billingPeriod": "Month",
                                  "currency": "JPY"}, key=tenant.key).error_fields == ["price"]


def test_product_patch(api, tenant):
    p = api.product(tenant)
    answer = api.patch(f"/products/{p['id']}", {"price": Decimal("35.5")}, key=tenant.key)
    assert answer.status == 200 and answer.body["price"] == Decimal("35.50")
    assert api.get(f"/products/{p['id']}", key=tenant.key).body["price"] == Decimal("35.50")
    for body, field in [({"price": Decimal("1.234")}, "price"), ({"price": None}, "price"),
                        ({"billingPeriod": None}, "billingPeriod"), ({"productType": "OneTime"}, "productType"),
                        ({"currency": "EUR"}, "currency"), ({"name": None}, "name")]:
        answer = api.patch(f"/products/{p['id']}", body, key=tenant.key)
        assert answer.status == 400 and field in answer.error_fields, (body, answer.body)
    setup = api.product(tenant, productType="OneTime", billingPeriod=None)
    answer = api.patch(f"/products/{setup['id']}", {"billingPeriod": "Month"}, key=tenant.key)
    assert answer.status == 400 and answer.error_fields == ["billingPeriod"]

    # an order placed after the price change takes the new price
    c = api.customer(tenant)
    order = api.order(tenant, c["id"], p["id"])
    assert order["lines"][0]["unitPrice"] == Decimal("35.50") and order["lines"][0]["amount"] == Decimal("71.00")


# --- orders -----------------------------------------------------------------------------------------

def test_order_defaults_and_amounts(api):
    # the tenant's clock sits at 20:00 UTC on 29 June: already 30 June in Shanghai
    t = lab(api, clockStart="2025-06-29T20:00:00Z")
    shanghai = api.customer(t, timezone="Asia/Shanghai")
    utc = api.customer(t, timezone="UTC")
    anchored = api.customer(t, timezone="UTC", billCycleDay=31)
    p = api.product(t, price=Decimal("19.99"))
    setup = api.product(t, name="Setup", productType="OneTime", billingPeriod=None, price=Decimal("0.10"))

    o = api.order(t, shanghai["id"], p["id"], quantity=Decimal("1.5"))
    line = o["lines"][0]
    assert o["status"] == "Draft" and o["currency"] == "USD" and o["customerId"] == shanghai["id"]
    assert line["unitPrice"] == Decimal("19.99")
    assert line["amount"] == Decimal("29.99")  # 29.985 HALF_UP
    assert line["startDate"] == "2025-06-30" and o["orderDate"] == "2025-06-30"
    assert line["billCycleDay"] == 30  # no customer bill cycle day: the start date's day
    assert (line["billingPeriod"], line["billingTiming"], line["endDate"], line["subscriptionId"]) == (
        "Month", "InAdvance", None, None)
    assert o["totalAmount"] == Decimal("29.99") and o["activatedDate"] is None

    assert api.order(t, utc["id"], p["id"])["lines"][0]["startDate"] == "2025-06-29"
    assert api.order(t, anchored["id"], p["id"])["lines"][0]["billCycleDay"] == 31

    body = {"customerId": utc["id"], "orderDate": "2025-06-01", "description": "two lines", "lines": [
        {"productId": p["id"], "quantity": 3, "unitPrice": Decimal("33.33"), "startDate": "2025-07-15",
         "endDate": "2026-07-14", "billingPeriod": "quarter", "billCycleDay": 1, "billingTiming": "in arrears"},
        {"productId": setup["id"], "quantity": Decimal("0.5")},
    ]}
    answer = api.post("/orders", body, key=t.key)
    assert answer.status == 201, answer.body
    o = answer.body
    first, second = o["lines"]
    assert (first["unitPrice"], first["amount"], first["startDate"], first["endDate"]) == (
        Decimal("33.33"), Decimal("99.99"), "2025-07-15", "2026-07-14")
    assert (first["billingPeriod"], first["billCycleDay"], first["billingTiming"]) == ("Quarter", 1, "InArrears")
    assert (second["productType"], second["amount"], second["billingPeriod"], second["billCycleDay"]) == (
        "OneTime", Decimal("0.05"), None, None)
    assert o["totalAmount"] == first["amount"] + second["amount"] == Decimal("100.04")
    assert (o["orderDate"], o["description"]) == ("2025-06-01", "two lines")
    assert api.get(f"/orders/{o['id']}", key=t.key).body == o
    listed = api.get(f"/orders?customerId={utc['id']}", key=t.key).body["data"]
    assert len(listed) == 2 and o["id"] in {x["id"] for x in listed}
    assert all(x["customerId"] == utc["id"] for x in listed)


def test_order_validation(api, tenant):
    c = api.customer(tenant)
    p = api.product(tenant)
    euro = api.product(tenant, currency="EUR")
    setup = api.product(tenant, productType="OneTime", billingPeriod=None)

    def refused(lines, field, status=400):
        answer = api.post("/orders", {"customerId": c["id"], "lines": lines}, key=tenant.key)
        assert answer.status == status, answer.body
        assert field in answer.error_fields, answer.body

    # a live tenant's "today" is the wall clock's date in the customer's zone
    for timezone in ("Pacific/Kiritimati", "Pacific/Pago_Pago"):  # UTC+14 and UTC-11: never the same date
        far = api.customer(tenant, timezone=timezone)
        placed = api.order(tenant, far["id"], p["id"])
        assert date.fromisoformat(placed["lines"][0]["startDate"]) in today_in(timezone)
        assert placed["orderDate"] == placed["lines"][0]["startDate"]

    refused([{"productId": euro["id"], "quantity": 1}], "lines[0].productId")
    refused([{"productId": p["id"]}, {"productId": euro["id"]}], "lines[1].productId")
    refused([{"productId": p["id"], "startDate": "2025-03-01", "endDate": "2025-02-28"}], "lines[0].endDate")
    refused([{"productId": p["id"], "quantity": 0}], "lines[0].quantity")
    refused([{"productId": p["id"], "unitPrice": Decimal("1.001")}], "lines[0].unitPrice")
    refused([{"productId": p["id"], "billCycleDay": 32}], "lines[0].billCycleDay")
    refused([{"productId": p["id"], "startDate": "2025-02-30"}], "lines[0].startDate")
    refused([{"productId": setup["id"], "billingPeriod": "Month"}], "lines[0].productId")
    refused([{"productId": "nope"}], "lines[0].productId", 404)  # a reference to nothing: 404 naming it
    refused([], "lines")
    refused([{"productId": p["id"], "amount": 5}], "lines[0].amount")
    answer = api.post("/orders", {"customerId": "nope", "lines": [{"productId": p["id"]}]}, key=tenant.key)
    assert answer.status == 404 and answer.error_fields == ["customerId"]
    assert len(api.get("/orders", key=tenant.key).body["data"]) == 2  # only the two valid orders were written


# --- activation and subscriptions -------------------------------------------------------------------

def test_activation_creates_subscriptions(api, tenant):
    c = api.customer(tenant, billCycleDay=31)
    p = api.product(tenant, billingPeriod="Annual")
    setup = api.product(tenant, name="Setup", productType="OneTime", billingPeriod=None, price=50)
    body = {"customerId": c["id"], "lines": [
        {"productId": p["id"], "quantity": 4, "startDate": "2025-01-31", "endDate": "2027-01-30",
         "billingTiming": "InArrears"},
        {"productId": setup["id"]},
        {"productId": p["id"], "unitPrice": Decimal("12.50"), "startDate": "2025-02-10", "billCycleDay": 10}]}
    order = api.post("/orders", body, key=tenant.key).body

    answer = api.post(f"/orders/{order['id']}:activate", key=tenant.key)
    assert answer.status == 200, answer.body
    activated = answer.body
    assert activated["status"] == "Activated" and activated["activatedDate"] is not None
    first, one_time, third = activated["lines"]
    assert one_time["subscriptionId"] is None
    assert first["subscriptionId"] and third["subscriptionId"] and first["subscriptionId"] != third["subscriptionId"]
    assert api.get(f"/orders/{order['id']}", key=tenant.key).body == activated

    sub = api.get(f"/subscriptions/{first['subscriptionId']}", key=tenant.key).body
    assert sub["id"] == first["subscriptionId"]
    assert (sub["customerId"], sub["orderId"], sub["orderLineId"], sub["productId"], sub["currency"]) == (
        c["id"], order["id"], first["id"], p["id"], "USD")
    assert (sub["status"], sub["startDate"], sub["endDate"], sub["quantity"], sub["unitPrice"]) == (
        "Active", "2025-01-31", "2027-01-30", 4, Decimal("30.00"))
    assert (sub["billingPeriod"], sub["billCycleDay"], sub["billingTiming"]) == ("Annual", 31, "InArrears")
    assert sub["billedThrough"] is None and sub["cancellationDate"] is None and sub["quantityChanges"] == []
    other = api.get(f"/subscriptions/{third['subscriptionId']}", key=tenant.key).body
    assert (other["unitPrice"], other["billCycleDay"], other["billingTiming"], other["endDate"], other["quantity"]) == (
        Decimal("12.50"), 10, "InAdvance", None, 1)

    again = api.post(f"/orders/{order['id']}:activate", key=tenant.key)
    assert again.status == 409, again.body
    by_order = api.get(f"/subscriptions?orderId={order['id']}", key=tenant.key).body["data"]
    assert sorted(s["id"] for s in by_order) == sorted([first["subscriptionId"], third["subscriptionId"]])
    assert api.post("/orders/nope:activate", key=tenant.key).status == 404


def test_subscription_filters(api, tenant):
    alice, bob = api.customer(tenant, name="Alice"), api.customer(tenant, name="Bob")
    p = api.product(tenant)
    subs = {}
    for who in (alice, alice, bob):
        order = api.order(tenant, who["id"], p["id"])
        activated = api.post(f"/orders/{order['id']}:activate", key=tenant.key).body
        subs.setdefault(who["id"], []).append((order["id"], activated["lines"][0]["subscriptionId"]))
    alice_order, alice_sub = subs[alice["id"]][0]
    canceled = api.post(f"/subscriptions/{alice_sub}:cancel", {}, key=tenant.key)
    assert canceled.status == 200, canceled.body

    def ids(query):
        answer = api.get(f"/subscriptions{query}", key=tenant.key)
        assert answer.status == 200, answer.body
        return sorted(s["id"] for s in answer.body["data"])

    every = sorted(s for pairs in subs.values() for _, s in pairs)
    assert ids("") == every
    assert ids(f"?orderId={alice_order}") == [alice_sub]
    assert ids(f"?customerId={alice['id']}") == sorted(s for _, s in subs[alice["id"]])
    assert ids(f"?customerId={bob['id']}") == [subs[bob["id"]][0][1]]
    assert ids("?status=Canceled") == [alice_sub]
    assert ids("?status=active") == sorted(set(every) - {alice_sub})
    assert ids(f"?customerId={alice['id']}&status=Active") == [subs[alice["id"]][1][1]]
    assert ids("?orderId=nope") == []
    assert api.get("/subscriptions?status=Paused", key=tenant.key).error_fields == ["status"]

    # paging walks every item once
    seen, token = [], None
    while True:
        answer = api.get("/subscriptions?limit=1" + (f"&nextToken={token}" if token else ""), key=tenant.key)
        seen += [s["id"] for s in answer.body["data"]]
        token = answer.body["nextToken"]
        if not token:
            break
    assert sorted(seen) == every
    assert api.get("/subscriptions?limit=0", key=tenant.key).error_fields == ["limit"]
    assert api.get("/subscriptions?limit=1001", key=tenant.key).error_fields == ["limit"]


def test_action_routes(api, tenant):
    c, p = api.customer(tenant), api.product(tenant)
    order = api.order(tenant, c["id"], p["id"])
    encoded = api.post(f"/orders/{order['id']}%3Aactivate", key=tenant.key, check=False)
    assert encoded.status == 200, encoded.body
    assert encoded.body["status"] == "Activated"
    other = api.order(tenant, c["id"], p["id"])
    for action in ("explode", "Activate", ""):
        answer = api.post(f"/orders/{other['id']}:{action}", key=tenant.key, check=False)
        assert answer.status == 404, (action, answer.body)
        assert set(answer.body) == {"errorCode", "message", "details"}
    assert api.post(f"/orders/{other['id']}", key=tenant.key, check=False).status == 404
    assert api.get(f"/orders/{other['id']}", key=tenant.key).body["status"] == "Draft"


def test_subscription_cancel(api):
    t = lab(api, clockStart="2025-03-10T12:00:00Z")
    sub = api.active_subscription(t, startDate="2025-01-15")
    answer = api.post(f"/subscriptions/{sub['id']}:cancel", {"effectiveDate": "2025-04-01"}, key=t.key)
    assert answer.status == 200, answer.body
    canceled = answer.body
    assert (canceled["status"], canceled["cancellationDate"], canceled["endDate"]) == (
        "Canceled", "2025-04-01", "2025-03-31")
    assert api.get(f"/subscriptions/{sub['id']}", key=t.key).body == canceled
    again = api.post(f"/subscriptions/{sub['id']}:cancel", {"effectiveDate": "2025-05-01"}, key=t.key)
    assert again.status == 409, again.body
    assert api.patch(f"/subscriptions/{sub['id']}", {"quantity": 3}, key=t.key).status == 409

    other = api.active_subscription(t, startDate="2025-01-15")
    for body, field in [({"effectiveDate": "2025-01-14"}, "effectiveDate"),
                        ({"effectiveDate": "01/04/2025"}, "effectiveDate"), ({"reason": "x"}, "reason")]:
        answer = api.post(f"/subscriptions/{other['id']}:cancel", body, key=t.key)
        assert answer.status == 400 and field in answer.error_fields, (body, answer.body)
    # without an effective date: today on the tenant's clock
    today = api.post(f"/subscriptions/{other['id']}:cancel", {}, key=t.key).body
    assert (today["cancellationDate"], today["endDate"]) == ("2025-03-10", "2025-03-09")
    assert api.post("/subscriptions/nope:cancel", {}, key=t.key).status == 404


def test_subscription_quantity_changes(api):
    t = lab(api, clockStart="2025-03-10T12:00:00Z")
    sub = api.active_subscription(t, startDate="2025-01-15")
    assert sub["quantity"] == 2

    future = api.patch(f"/subscriptions/{sub['id']}", {"quantity": 5, "effectiveDate": "2025-04-01"}, key=t.key)
    assert future.status == 200, future.body
    assert future.body["quantity"] == 2  # today's quantity is unchanged
    assert future.body["quantityChanges"] == [{"effectiveDate": "2025-04-01", "quantity": 5}]

    replaced = api.patch(f"/subscriptions/{sub['id']}", {"quantity": 6, "effectiveDate": "2025-04-01"}, key=t.key)
    assert replaced.body["quantityChanges"] == [{"effectiveDate": "2025-04-01", "quantity": 6}]

    past = api.patch(f"/subscriptions/{sub['id']}", {"quantity": 3, "effectiveDate": "2025-02-01"}, key=t.key)
    assert past.status == 200 and past.body["quantity"] == 3
    assert [c["effectiveDate"] for c in past.body["quantityChanges"]] == ["2025-02-01", "2025-04-01"]

    today = api.patch(f"/subscriptions/{sub['id']}", {"quantity": Decimal("4.5")}, key=t.key)
    assert today.status == 200 and today.body["quantity"] == Decimal("4.5")
    assert {"effectiveDate": "2025-03-10", "quantity": Decimal("4.5")} in today.body["quantityChanges"]

    # moving the clock past the future change makes it today's quantity
    assert api.post("/test/clock:advance", {"to": "2025-04-01T00:00:00Z"}, key=t.key).status == 200
    assert api.get(f"/subscriptions/{sub['id']}", key=t.key).body["quantity"] == 6

    for body, fields in [({"quantity": 3, "unitPrice": 5}, ["unitPrice"]), ({"quantity": 3, "status": "Canceled"},
                                                                              ["status"]),
                         ({"quantity": 3, "billingPeriod": "Annual", "endDate": "2026-01-01"},
                          ["billingPeriod", "endDate"]),
                         ({"quantity": 0}, ["quantity"]), ({"quantity": "2"}, ["quantity"]),
                         ({"quantity": 2, "effectiveDate": "2025-01-14"}, ["effectiveDate"]), ({}, ["quantity"])]:
        answer = api.patch(f"/subscriptions/{sub['id']}", body, key=t.key)
        assert answer.status == 400, (body, answer.body)
        assert sorted(answer.error_fields) == sorted(fields), (body, answer.body)


def test_subscription_quantity_today_is_the_customers_today(api):
    """A tenant in UTC at 20:00 on 29 June; the customer is in Shanghai, where it is already 30 June."""
    t = lab(api, clockStart="2025-06-29T20:00:00Z")
    c = api.customer(t, timezone="Asia/Shanghai")
    p = api.product(t)
    order = api.order(t, c["id"], p["id"], startDate="2025-06-01")
    sub_id = api.post(f"/orders/{order['id']}:activate", key=t.key).body["lines"][0]["subscriptionId"]
    answer = api.patch(f"/subscriptions/{sub_id}", {"quantity": 7}, key=t.key)
    assert answer.status == 200, answer.body
    assert answer.body["quantityChanges"] == [{"effectiveDate": "2025-06-30", "quantity": 7}]
    assert answer.body["quantity"] == 7
    assert api.get(f"/subscriptions/{sub_id}", key=t.key).body["quantity"] == 7
    listed = api.get(f"/subscriptions?customerId={c['id']}", key=t.key).body["data"]
    assert [s["quantity"] for s in listed] == [7]


# --- settings ---------------------------------------------------------------------------------------

def test_settings(api, tenant):
    answer = api.get("/settings", key=tenant.key)
    assert answer.status == 200
    assert answer.body == {"timezone": "UTC", "currency": "USD", "paymentTermDays": 30,
                           "generateFirstInvoiceOnOrderActivation": False}
    on = api.patch("/settings", {"generateFirstInvoiceOnOrderActivation": True}, key=tenant.key)
    assert on.status == 200 and on.body["generateFirstInvoiceOnOrderActivation"] is True
    assert api.get("/settings", key=tenant.key).body["generateFirstInvoiceOnOrderActivation"] is True
    off = api.patch("/settings", {"generateFirstInvoiceOnOrderActivation": False, "timezone": "Asia/Shanghai"},
                    key=tenant.key)
    assert off.body == {"timezone": "Asia/Shanghai", "currency": "USD", "paymentTermDays": 30,
                        "generateFirstInvoiceOnOrderActivation": False}
    for body, field in [({"timezone": "Mars/Base"}, "timezone"), ({"timezone": None}, "timezone"),
                        ({"currency": "XAU"}, "currency"), ({"paymentTermDays": -1}, "paymentTermDays"),
                        ({"generateFirstInvoiceOnOrderActivation": "maybe"}, "generateFirstInvoiceOnOrderActivation"),
                        ({"testMode": True}, "testMode"), ({"name": "x"}, "name")]:
        answer = api.patch("/settings", body, key=tenant.key)
        assert answer.status == 400 and field in answer.error_fields, (body, answer.body)
    assert api.get("/settings", key=tenant.key).body == off.body


# --- test clock -------------------------------------------------------------------------------------

def test_test_clock(api, tenant):
    t = lab(api)
    clock = api.get("/test/clock", key=t.key)
    assert clock.status == 200
    assert clock.body["tenantId"] == t.id and parse_instant(clock.body["now"]) == parse_instant(CLOCK_START)

    # the tenant's world is at its clock: today, and createdDate of what it makes
    c = api.customer(t)
    assert parse_instant(c["createdDate"]) == parse_instant(CLOCK_START) == parse_instant(c["lastModifiedDate"])
    p = api.product(t)
    o = api.order(t, c["id"], p["id"])
    assert o["lines"][0]["startDate"] == "2024-01-01" and o["orderDate"] == "2024-01-01"
    assert parse_instant(o["createdDate"]) == parse_instant(CLOCK_START)
    west = api.customer(t, timezone="America/Los_Angeles")
    assert api.order(t, west["id"], p["id"])["lines"][0]["startDate"] == "2023-12-31"

    moved = api.post("/test/clock:advance", {"to": "2024-02-15T08:30:00+01:00"}, key=t.key)
    assert moved.status == 200, moved.body
    assert moved.body["tenantId"] == t.id and isinstance(moved.body["ran"], dict)
    assert parse_instant(moved.body["now"]) == parse_instant("2024-02-15T07:30:00Z")
    assert parse_instant(api.get("/test/clock", key=t.key).body["now"]) == parse_instant("2024-02-15T07:30:00Z")
    assert api.order(t, c["id"], p["id"])["lines"][0]["startDate"] == "2024-02-15"
    activated = api.post(f"/orders/{o['id']}:activate", key=t.key).body
    assert parse_instant(activated["activatedDate"]) == parse_instant("2024-02-15T07:30:00Z")

    same = api.post("/test/clock:advance", {"to": "2024-02-15T07:30:00Z"}, key=t.key)
    assert same.status == 200
    back = api.post("/test/clock:advance", {"to": "2024-02-15T07:29:59Z"}, key=t.key)
    assert back.status == 409 and back.error_fields == ["to"]
    assert parse_instant(api.get("/test/clock", key=t.key).body["now"]) == parse_instant("2024-02-15T07:30:00Z")
    for body, field in [({"to": "2024-03-01T00:00:00"}, "to"), ({"to": "soon"}, "to"), ({}, "to")]:
        answer = api.post("/test/clock:advance", body, key=t.key)
        assert answer.status == 400 and field in answer.error_fields, (body, answer.body)

    # a live tenant has no test clock
    assert api.get("/test/clock", key=tenant.key).status == 404
    assert api.post("/test/clock:advance", {"to": "2030-01-01T00:00:00Z"}, key=tenant.key).status == 404


def test_wall_tick_leaves_test_clocks_alone(api):
    from chalicelib.store import ticks

    t = lab(api)
    clock_id = f"test#{t.id}"
    before_live, live_count = ticks.last_beat("live")
    assert ticks.last_beat(clock_id) == (None, 0)

    client = api.client
    event = client.events.generate_cw_event(source="aws.events", detail_type="Scheduled Event", detail={},
                                            resources=[])
    started = wall_now()
    result = client.lambda_.invoke("tick", event)
    assert result.payload["clockId"] == "live"
    last_live, count = ticks.last_beat("live")
    assert count == live_count + 1 and last_live >= started - timedelta(seconds=1)
    assert ticks.last_beat(clock_id) == (None, 0)
    client.lambda_.invoke("tick", event)
    assert ticks.last_beat("live")[1] == live_count + 2
    assert ticks.last_beat(clock_id) == (None, 0)

    # the test clock's advance is what beats the tenant's own clock, at the clock's instant
    assert api.post("/test/clock:advance", {"to": "2024-03-01T00:00:00Z"}, key=t.key).status == 200
    at, beats = ticks.last_beat(clock_id)
    assert beats == 1 and at == parse_instant("2024-03-01T00:00:00Z")
    assert ticks.last_beat("live")[1] == live_count + 2
    health = api.get("/health")
    assert health.body["tickCount"] == live_count + 2


@pytest.mark.parametrize("method, path", [("GET", "/test/clock"), ("POST", "/test/clock:advance")])
def test_clock_requires_a_key(api, method, path):
    answer = api.call(method, path, {"to": CLOCK_START} if method == "POST" else None)
    assert answer.status == 401
