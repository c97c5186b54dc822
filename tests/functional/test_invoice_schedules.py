"""Invoice schedules and bill runs (Zuora dialect, seed 002) through the API: the seed's two execute requests and
its two conditions (a future item invoiced in advance, a past item not yet invoiced), create validation, GET by id
or number, PUT, DELETE, pause and resume with every refused transition, bill runs (Pending -> Completed or Error,
autoPost), automatic execution through test-clock advances and the live tick, and the invoices made (ordinary
invoices: listed, activated, canceled, paid)."""
from datetime import timedelta
from decimal import Decimal

import pytest

from chalicelib.domain.timeutil import wall_now
from chalicelib.services import tick

D = Decimal
SEED_CLOCK = "2022-11-08T17:26:09Z"  # the seed's createdDate: the test clock starts there

# Every field of the seed's execute responses (bill run), and of its billRunFilters entry.
SEED_FIELDS = {"id", "autoEmail", "autoPost", "autoRenewal", "billCycleDay", "billRunNumber", "invoiceDate",
               "noEmailForZeroAmountInvoice", "status", "targetDate", "targetDateOffset", "invoiceDateOffset",
               "scheduledExecutionTime", "createdById", "createdDate", "updatedById", "updatedDate", "batches",
               "chargeTypeToExclude", "billRunFilters", "schedule", "success"}
SEED_FILTER_FIELDS = {"filterType", "accountId", "subscriptionId", "invoiceScheduleId", "invoiceScheduleItemId"}


# --- builders (also used by the exactly-once tests) --------------------------------------------------------------

def clocked(api, start: str = SEED_CLOCK, currency: str = "USD", timezone: str = "UTC", name: str = "Zuora shop"):
    return api.new_tenant(name, testMode=True, timezone=timezone, currency=currency, clockStart=start)


def milestone_order(api, t, amounts=("1000.00",), tax_rate=0, activate=True, customer=None) -> dict:
    """An order of OneTime services lines (professional services billed in milestones)."""
    customer = customer or api.customer(t, name="Wayne Enterprises", taxRate=tax_rate, paymentTermDays=30)
    lines = []
    for n, amount in enumerate(amounts):
        product = api.product(t, name=f"Services {n + 1}", productType="OneTime", price=D(amount), billingPeriod=None)
        lines.append({"productId": product["id"], "quantity": 1})
    order = api.post("/orders", {"customerId": customer["id"], "lines": lines}, key=t.key)
    assert order.status == 201, order.body
    if activate:
        activated = api.post(f"/orders/{order.body['id']}:activate", key=t.key)
        assert activated.status == 200, activated.body
    return {**order.body, "customer": customer}


def new_schedule(api, t, order_ids, items, **fields) -> dict:
    answer = api.post("/v1/invoice-schedules", {"orders": order_ids, "scheduleItems": items, **fields}, key=t.key)
    assert answer.status == 201, answer.body
    return answer.body


def thirds(dates=("2025-02-01", "2025-03-01", "2025-04-01")) -> list[dict]:
    return [{"runDate": d, "percentage": p} for d, p in zip(dates, (D("33.33"), D("33.33"), D("33.34")))]


def wall_tick(api=None) -> dict:
    """The wall-clock tick, as EventBridge invokes it (through the Lambda handler when a client is given)."""
    if api is None:
        return tick.run_wall_tick(wall_now()).ran
    event = api.client.events.generate_cw_event(source="aws.events", detail_type="Scheduled Event", detail={},
                                                resources=["arn:aws:events:us-east-1:123456789012:rule/tick"])
    return api.client.lambda_.invoke("tick", event).payload["ran"]


def advance(api, t, to: str):
    answer = api.post("/test/clock:advance", {"to": to}, key=t.key)
    assert answer.status == 200, answer.body
    return answer.body


def get_schedule(api, t, key) -> dict:
    answer = api.get(f"/v1/invoice-schedules/{key}", key=t.key)
    assert answer.status == 200, answer.body
    return answer.body


def execute(api, t, key, body=None, **kw):
    return api.post(f"/v1/invoice-schedules/{key}/execute", body if body is not None else {}, key=t.key, **kw)


def invoices(api, t) -> list[dict]:
    return sorted(api.get("/billing/invoices?limit=1000", key=t.key).body["data"], key=lambda i: i["name"])


def statuses(schedule) -> list[str]:
    return [i["status"] for i in schedule["scheduleItems"]]


def assert_error(answer, status, fields=None, code=None):
    assert answer.status == status, (answer.status, answer.body)
    assert set(answer.body) == {"errorCode", "message", "details"}
    if fields is not None:
        assert answer.error_fields == fields, answer.body
    if code is not None:
        assert answer.body["errorCode"] == code, answer.body


# --- seed 002: the two execute requests ----------------------------------------------------------------------

@pytest.fixture
def seed_world(api):
    """A test-mode tenant at the seed's instant, an activated order of 3,000.00 and a schedule of three items on
    the seed's dates (2022-12-03 and 2022-12-08, then 2023-01-08)."""
    t = clocked(api)
    order = milestone_order(api, t, amounts=("3000.00",))
    schedule = new_schedule(api, t, [order["id"]], [
        {"runDate": "2022-12-03", "amount": D("1000.00"), "name": "Design"},
        {"runDate": "2022-12-08", "amount": D("1000.00"), "name": "Build"},
        {"runDate": "2023-01-08", "amount": D("1000.00"), "name": "Launch"}])
    return t, order, schedule


def assert_seed_shape(body, schedule, requested_item):
    assert SEED_FIELDS <= set(body), SEED_FIELDS - set(body)
    assert body["status"] == "Pending" and body["success"] is True
    assert (body["autoEmail"], body["autoPost"], body["autoRenewal"], body["noEmailForZeroAmountInvoice"]) == (
        False, False, False, False)
    assert (body["billCycleDay"], body["targetDateOffset"], body["invoiceDateOffset"], body["scheduledExecutionTime"],
            body["batches"], body["schedule"]) == (None,) * 6
    assert body["chargeTypeToExclude"] == ["Usage"]
    assert body["billRunNumber"].startswith("BR-") and len(body["billRunNumber"]) == 11
    assert body["createdDate"] == body["updatedDate"] == "2022-11-08T17:26:09.000+00:00"
    assert body["createdById"] == body["updatedById"] == schedule["createdById"]
    [f] = body["billRunFilters"]
    assert set(f) == SEED_FILTER_FIELDS
    assert (f["filterType"], f["accountId"], f["subscriptionId"], f["invoiceScheduleId"],
            f["invoiceScheduleItemId"]) == ("InvoiceSchedule", schedule["accountId"], None, schedule["id"],
                                            requested_item)


def test_seed_execute_with_and_without_an_item_id(api, seed_world):
    t, _, schedule = seed_world
    first = schedule["scheduleItems"][0]
    with_item = execute(api, t, schedule["id"], {"scheduleItemId": first["id"]})
    assert with_item.status == 201, with_item.body
    assert_seed_shape(with_item.body, schedule, first["id"])
    assert (with_item.body["invoiceDate"], with_item.body["targetDate"]) == ("2022-12-03", "2022-12-03")  # as seed

    without = execute(api, t, schedule["number"], {})  # by IS- number; the next pending item: 2022-12-08
    assert without.status == 201, without.body
    assert_seed_shape(without.body, schedule, None)
    assert (without.body["invoiceDate"], without.body["targetDate"]) == ("2022-12-08", "2022-12-08")  # as seed
    assert without.body["invoiceScheduleItemId"] == schedule["scheduleItems"][1]["id"]
    numbers = [with_item.body["billRunNumber"], without.body["billRunNumber"]]
    assert numbers == ["BR-00000001", "BR-00000002"]

    # both items are held by their bill runs until the tick runs them
    held = get_schedule(api, t, schedule["id"])
    assert statuses(held) == ["Executing", "Executing", "Pending"]
    assert [i["billRunId"] for i in held["scheduleItems"][:2]] == [with_item.body["id"], without.body["id"]]
    assert api.get(f"/v1/bill-runs/{numbers[0]}", key=t.key).body["status"] == "Pending"

    ran = wall_tick(api)  # the wall-clock tick runs request-made bill runs of every tenant, test-mode or not
    assert ran["invoiceScheduleItems"] == 2
    for answer, item in ((with_item, schedule["scheduleItems"][0]), (without, schedule["scheduleItems"][1])):
        run = api.get(f"/v1/bill-runs/{answer.body['billRunNumber']}", key=t.key)
        assert run.status == 200 and run.body["status"] == "Completed" and run.body["errorMessage"] is None
        by_id = api.get(f"/v1/bill-runs/{answer.body['id']}", key=t.key).body
        assert by_id == run.body
        [made] = run.body["invoices"]
        invoice = api.get(f"/billing/invoices/{made['id']}", key=t.key).body
        assert (invoice["name"], invoice["amount"], invoice["status"], invoice["source"]) == (
            made["invoiceNumber"], D("1000.00"), "Draft", "InvoiceSchedule")
        assert (invoice["invoiceDate"], invoice["targetDate"]) == (item["runDate"], item["runDate"])
        assert (invoice["invoiceScheduleId"], invoice["invoiceScheduleItemId"], invoice["billRunId"]) == (
            schedule["id"], item["id"], answer.body["id"])
    done = get_schedule(api, t, schedule["number"])
    assert statuses(done) == ["Processed", "Processed", "Pending"]
    assert (done["status"], done["billedAmount"], done["unbilledAmount"], done["nextRunDate"]) == (
        "PartiallyProcessed", D("2000.00"), D("1000.00"), "2023-01-08")
    assert [i["invoiceNumber"] for i in done["scheduleItems"]] == ["INV-00000001", "INV-00000002", None]


def test_seed_conditions_future_item_in_advance_and_past_item_not_yet_invoiced(api):
    """Today is 2025-03-10 (test clock): item 1 (2025-03-01) has passed without an invoice (it was created with a
    past run date and the tenant's tick has not run since); item 3 (2025-05-01) is in the future."""
    t = clocked(api, "2025-03-10T12:00:00Z")
    order = milestone_order(api, t, amounts=("900.00",))
    schedule = new_schedule(api, t, [order["id"]], [{"runDate": d, "amount": D("300.00")}
                                                    for d in ("2025-03-01", "2025-04-01", "2025-05-01")])
    past, _, future = schedule["scheduleItems"]
    in_advance = execute(api, t, schedule["id"], {"scheduleItemId": future["id"]})
    assert in_advance.status == 201 and in_advance.body["invoiceDate"] == "2025-05-01"  # dated its run date
    late = execute(api, t, schedule["id"], {"scheduleItemId": past["id"]})
    assert late.status == 201 and late.body["invoiceDate"] == "2025-03-10"  # a late item: dated the day it runs
    wall_tick()
    after = get_schedule(api, t, schedule["id"])
    assert statuses(after) == ["Processed", "Pending", "Processed"]
    assert after["nextRunDate"] == "2025-04-01" and after["billedAmount"] == D("600.00")
    assert [(i["invoiceDate"], i["amount"]) for i in invoices(api, t)] == [
        ("2025-05-01", D("300.00")), ("2025-03-10", D("300.00"))]


# --- create -------------------------------------------------------------------------------------------------

def test_create_answers_the_schedule_with_its_amounts(api):
    t = clocked(api, "2025-01-15T00:00:00Z")
    order = milestone_order(api, t, amounts=("600.00", "400.00"))
    created = new_schedule(api, t, [order["id"]], thirds(), notes="Milestones", accountKey=order["customerId"],
                           currency="usd")
    assert created["number"] == "IS-00000001" and created["status"] == "Pending" and created["success"] is True
    assert (created["accountId"], created["orders"], created["currency"], created["notes"]) == (
        order["customerId"], [order["id"]], "USD", "Milestones")
    assert (created["totalAmount"], created["actualAmount"], created["billedAmount"], created["unbilledAmount"],
            created["nextRunDate"]) == (D("1000.00"), D("1000.00"), D("0.00"), D("1000.00"), "2025-02-01")
    assert [(i["runDate"], i["amount"], i["percentage"], i["status"], i["invoiceId"], i["billRunId"])
            for i in created["scheduleItems"]] == [
        ("2025-02-01", D("333.30"), D("33.33"), "Pending", None, None),
        ("2025-03-01", D("333.30"), D("33.33"), "Pending", None, None),
        ("2025-04-01", D("333.40"), D("33.34"), "Pending", None, None)]
    assert get_schedule(api, t, created["id"]) == created == get_schedule(api, t, "IS-00000001")
    second = new_schedule(api, t, [milestone_order(api, t)["id"]], [{"runDate": "2025-06-01", "amount": 1000}])
    assert second["number"] == "IS-00000002"


def test_several_orders_of_one_customer(api):
    t = clocked(api, "2025-01-15T00:00:00Z")
    first = milestone_order(api, t, amounts=("100.00",))
    second = milestone_order(api, t, amounts=("50.50",), customer=first["customer"])
    schedule = new_schedule(api, t, [first["id"], second["id"]], [{"runDate": "2025-02-01", "percentage": 50},
                                                                  {"runDate": "2025-03-01", "percentage": 50}])
    assert schedule["totalAmount"] == D("150.50")
    assert [i["amount"] for i in schedule["scheduleItems"]] == [D("75.25"), D("75.25")]
    advance(api, t, "2025-02-01T00:00:00Z")
    [invoice] = invoices(api, t)
    lines = api.get(f"/billing/invoices/{invoice['id']}", key=t.key).body["lines"]
    assert [l["amount"] for l in lines] == [D("50.00"), D("25.25")]  # 100 : 50.50 of 75.25
    assert sum(l["amount"] for l in lines) == invoice["amountWithoutTax"] == D("75.25")


@pytest.mark.parametrize("body, status, fields", [
    ({"scheduleItems": [{"runDate": "2025-02-01", "amount": 1000}]}, 400, ["orders"]),
    ({"orders": [], "scheduleItems": [{"runDate": "2025-02-01", "amount": 1000}]}, 400, ["orders"]),
    ({"orders": ["{order}"], "scheduleItems": []}, 400, ["scheduleItems"]),
    ({"orders": ["{order}"], "scheduleItems": [{"runDate": "2025-02-01", "amount": 500}, {"amount": 500}]}, 400,
     ["scheduleItems[1].runDate"]),
    ({"orders": ["{order}"], "scheduleItems": [{"runDate": "2025-02-01", "amount": 500},
                                               {"runDate": "2025-03-01", "amount": 250},
                                               {"runDate": "2025-02-15", "amount": 250}]}, 400,
     ["scheduleItems[2].runDate"]),
    ({"orders": ["{order}"], "scheduleItems": [{"runDate": "2025-02-30", "amount": 1000}]}, 400,
     ["scheduleItems[0].runDate"]),
    ({"orders": ["{order}"], "scheduleItems": [{"runDate": "0001-01-01", "amount": 1000}]}, 400,
     ["scheduleItems[0].runDate"]),
    ({"orders": ["{order}"], "scheduleItems": [{"runDate": "9999-12-31", "amount": 1000}]}, 400,
     ["scheduleItems[0].runDate"]),
    ({"orders": ["{order}"], "scheduleItems": [{"runDate": "2025-02-01", "amount": "1000"}]}, 400,
     ["scheduleItems[0].amount"]),
    ({"orders": ["{order}"], "scheduleItems": [{"runDate": "2025-02-01", "amount": D("999.999")},
                                               {"runDate": "2025-03-01", "amount": D("0.001")}]}, 400,
     ["scheduleItems[0].amount"]),
    ({"orders": ["{order}"], "scheduleItems": [{"runDate": "2025-02-01", "amount": 1000},
                                               {"runDate": "2025-03-01", "amount": 0}]}, 400,
     ["scheduleItems[1].amount"]),
    ({"orders": ["{order}"], "scheduleItems": [{"runDate": "2025-02-01", "percentage": 60},
                                               {"runDate": "2025-03-01", "percentage": 30}]}, 400, ["scheduleItems"]),
    ({"orders": ["{order}"], "scheduleItems": [{"runDate": "2025-02-01", "amount": 500, "percentage": 50},
                                               {"runDate": "2025-03-01", "percentage": 50}]}, 400,
     ["scheduleItems[0].percentage"]),
    ({"orders": ["{order}"], "scheduleItems": [{"runDate": "2025-02-01", "amount": 1000}], "currency": "EUR"}, 400,
     ["currency"]),
    ({"orders": ["{order}"], "scheduleItems": [{"runDate": "2025-02-01", "amount": 1000}], "currency": "XXX"}, 400,
     ["currency"]),
    ({"orders": ["{order}", "{order}"], "scheduleItems": [{"runDate": "2025-02-01", "amount": 2000}]}, 400,
     ["orders[1]"]),
    ({"orders": ["{order}"], "scheduleItems": [{"runDate": "2025-02-01", "amount": 1000}], "status": "Paused"}, 400,
     ["status"]),
    ({"orders": ["{order}"], "scheduleItems": [{"runDate": "2025-02-01", "amount": 1000, "invoiceId": "x"}]}, 400,
     ["scheduleItems[0].invoiceId"]),
    ({"orders": ["{order}"], "scheduleItems": [{"runDate": f"2025-01-{d:02d}", "amount": 1} for d in range(1, 32)]
      + [{"runDate": f"2025-02-{d:02d}", "amount": 1} for d in range(1, 21)]}, 400, ["scheduleItems"]),  # 51 items
    ({"orders": ["unknown-order"], "scheduleItems": [{"runDate": "2025-02-01", "amount": 1000}]}, 404, ["orders[0]"]),
    ({"orders": ["{order}"], "accountKey": "unknown", "scheduleItems": [{"runDate": "2025-02-01", "amount": 1000}]},
     404, ["accountKey"]),
    ({"orders": ["{draft}"], "scheduleItems": [{"runDate": "2025-02-01", "amount": 1000}]}, 409, ["orders[0]"]),
    ({"orders": ["{order}", "{stranger}"], "scheduleItems": [{"runDate": "2025-02-01", "amount": 2000}]}, 400,
     ["orders[1]"]),
    ({"orders": ["{order}"], "accountKey": "{stranger_customer}",
      "scheduleItems": [{"runDate": "2025-02-01", "amount": 1000}]}, 400, ["accountKey"]),
])
def test_create_refusals_name_the_field(api, body, status, fields):
    t = clocked(api, "2025-01-15T00:00:00Z")
    order = milestone_order(api, t)
    draft = milestone_order(api, t, activate=False)
    stranger = milestone_order(api, t)  # another customer's order
    names = {"order": order["id"], "draft": draft["id"], "stranger": stranger["id"],
             "stranger_customer": stranger["customerId"]}
    sent = _fill(body, names)
    answer = api.post("/v1/invoice-schedules", sent, key=t.key)
    assert_error(answer, status, fields)
    assert api.post("/v1/invoice-schedules", sent, key=t.key).status == status  # nothing half-made either


def _fill(value, names):
    if isinstance(value, str) and value.startswith("{") and value.endswith("}"):
        return names[value[1:-1]]
    if isinstance(value, list):
        return [_fill(v, names) for v in value]
    if isinstance(value, dict):
        return {k: _fill(v, names) for k, v in value.items()}
    return value


def test_amounts_follow_the_order_currency_minor_units(api):
    """JPY: no decimals; KWD: three. 33.33/33.33/33.34 % of 100 JPY and of 100.000 KWD."""
    for currency, total, expected, too_precise in (("JPY", "100", ["33", "33", "34"], D("33.5")),
                                                   ("KWD", "100.000", ["33.330", "33.330", "33.340"], D("33.3335"))):
        t = clocked(api, "2025-01-15T00:00:00Z", currency=currency, name=currency)
        order = milestone_order(api, t, amounts=(total,))
        schedule = new_schedule(api, t, [order["id"]], thirds())
        assert [str(i["amount"]) for i in schedule["scheduleItems"]] == expected
        refused = api.post("/v1/invoice-schedules", {"orders": [order["id"]], "scheduleItems": [
            {"runDate": "2025-02-01", "amount": too_precise},
            {"runDate": "2025-03-01", "amount": D(total) - too_precise}]}, key=t.key)
        assert_error(refused, 400, ["scheduleItems[0].amount"])
        assert currency in refused.body["details"][0]["issue"]
        advance(api, t, "2025-04-01T00:00:00Z")  # each item invoiced on its run date, exactly its amount
        made = invoices(api, t)
        assert [str(i["amountWithoutTax"]) for i in made] == expected
        assert sum(i["amountWithoutTax"] for i in made) == D(total)


def test_an_unknown_or_foreign_key_is_404(api, seed_world, other):
    t, order, schedule = seed_world
    for key in ("IS-99999999", "IS-1", "nope", "BR-00000001", "x" * 2000):
        assert_error(api.get(f"/v1/invoice-schedules/{key}", key=t.key), 404, [], "NotFound")
    assert_error(api.get("/v1/bill-runs/BR-00000001", key=t.key), 404)
    assert_error(api.get(f"/v1/invoice-schedules/{schedule['number']}", key=other.key), 404)
    foreign = api.post("/v1/invoice-schedules", {"orders": [order["id"]], "scheduleItems": [
        {"runDate": "2023-01-01", "amount": 3000}]}, key=other.key)  # another tenant's order
    assert_error(foreign, 404, ["orders[0]"])


# --- one invoice schedule per order -----------------------------------------------------------------------------

def test_an_order_is_billed_by_one_invoice_schedule_at_most(api):
    t = clocked(api, "2025-01-15T00:00:00Z")
    order = milestone_order(api, t)
    other = milestone_order(api, t, customer=order["customer"])
    first = new_schedule(api, t, [order["id"]], thirds())
    assert api.get(f"/orders/{order['id']}", key=t.key).body["invoiceScheduleId"] == first["id"]
    again = api.post("/v1/invoice-schedules", {"orders": [other["id"], order["id"]], "scheduleItems": [
        {"runDate": "2025-02-01", "amount": 2000}]}, key=t.key)
    assert_error(again, 409, ["orders[1]"])
    assert first["number"] in again.body["message"]
    assert api.get(f"/orders/{other['id']}", key=t.key).body["invoiceScheduleId"] is None  # nothing left marked
    assert api.delete(f"/v1/invoice-schedules/{first['id']}", key=t.key).status == 200
    assert api.get(f"/orders/{order['id']}", key=t.key).body["invoiceScheduleId"] is None
    second = new_schedule(api, t, [other["id"], order["id"]], [{"runDate": "2025-02-01", "amount": 2000}])
    assert second["number"] == "IS-00000002"
    assert {api.get(f"/orders/{o}", key=t.key).body["invoiceScheduleId"] for o in second["orders"]} == {second["id"]}


def test_a_mark_left_by_a_create_that_died_is_taken_over(api):
    from chalicelib.services.invoice_schedules import MARK_STALE
    from chalicelib.store.catalog import mark_scheduled
    t = clocked(api, "2025-01-15T00:00:00Z")
    order = milestone_order(api, t)
    died = wall_now() - MARK_STALE - timedelta(seconds=1)  # the create died right after this, long enough ago
    assert mark_scheduled(t.id, order["id"], "a-schedule-never-written", now=died)
    schedule = new_schedule(api, t, [order["id"]], thirds())
    assert api.get(f"/orders/{order['id']}", key=t.key).body["invoiceScheduleId"] == schedule["id"]


def test_concurrent_creates_on_one_order_make_one_schedule(api):
    from tests.functional.test_exactly_once import concurrently
    t = clocked(api, "2025-01-15T00:00:00Z")
    order = milestone_order(api, t)
    answers = concurrently(4, lambda: api.post("/v1/invoice-schedules", {"orders": [order["id"]],
                                                                         "scheduleItems": thirds()}, key=t.key))
    assert sorted(a.status for a in answers) == [201, 409, 409, 409], [a.body for a in answers]
    [made] = [a.body for a in answers if a.status == 201]
    assert api.get(f"/orders/{order['id']}", key=t.key).body["invoiceScheduleId"] == made["id"]
    assert get_schedule(api, t, made["id"]) == made


# --- PUT ---------------------------------------------------------------------------------------------------------

def test_put_replaces_pending_items_and_processed_ones_are_immutable(api):
    t = clocked(api, "2025-01-15T00:00:00Z")
    order = milestone_order(api, t)
    schedule = new_schedule(api, t, [order["id"]], thirds())
    first, second, third = schedule["scheduleItems"]
    advance(api, t, "2025-02-01T00:00:00Z")  # item 1 processed
    put = api.put(f"/v1/invoice-schedules/{schedule['number']}", {"notes": "re-planned", "scheduleItems": [
        {"id": second["id"], "runDate": "2025-03-15", "amount": D("166.70")},
        {"runDate": "2025-05-01", "percentage": 50}]}, key=t.key)
    assert put.status == 200, put.body
    assert [(i["id"], i["runDate"], i["amount"], i["status"]) for i in put.body["scheduleItems"]] == [
        (first["id"], "2025-02-01", D("333.30"), "Processed"), (second["id"], "2025-03-15", D("166.70"), "Pending"),
        (put.body["scheduleItems"][2]["id"], "2025-05-01", D("500.00"), "Pending")]
    assert third["id"] not in {i["id"] for i in put.body["scheduleItems"]}  # not listed: removed
    assert (put.body["notes"], put.body["status"], put.body["nextRunDate"]) == ("re-planned", "PartiallyProcessed",
                                                                               "2025-03-15")
    assert get_schedule(api, t, schedule["id"]) == put.body

    changed = api.put(f"/v1/invoice-schedules/{schedule['id']}", {"scheduleItems": [
        {"id": first["id"], "runDate": "2025-02-01", "amount": D("300.00")},
        {"runDate": "2025-05-01", "amount": D("700.00")}]}, key=t.key)
    assert_error(changed, 409, ["scheduleItems[0]"])
    same = api.put(f"/v1/invoice-schedules/{schedule['id']}", {"scheduleItems": [
        {"id": first["id"], "runDate": "2025-02-01", "percentage": D("33.33")},
        {"runDate": "2025-05-01", "amount": D("666.70")}]}, key=t.key)
    assert same.status == 200, same.body  # a processed item listed unchanged is fine
    short = api.put(f"/v1/invoice-schedules/{schedule['id']}", {"scheduleItems": [
        {"runDate": "2025-05-01", "amount": D("600.00")}]}, key=t.key)
    assert_error(short, 400, ["scheduleItems"])
    assert_error(api.put(f"/v1/invoice-schedules/{schedule['id']}", {"scheduleItems": [
        {"runDate": "2025-05-01", "amount": D("666.70")}], "orders": ["another"]}, key=t.key), 400, ["orders"])
    assert_error(api.put(f"/v1/invoice-schedules/{schedule['id']}", {"scheduleItems": [
        {"id": "nope", "runDate": "2025-05-01", "amount": D("666.70")}]}, key=t.key), 404,
        ["scheduleItems[0].id"])
    assert_error(api.put(f"/v1/invoice-schedules/{schedule['id']}", {}, key=t.key), 400, ["scheduleItems"])
    assert get_schedule(api, t, schedule["id"]) == same.body  # nothing refused changed anything

    advance(api, t, "2025-06-01T00:00:00Z")
    full = get_schedule(api, t, schedule["id"])
    assert full["status"] == "FullyProcessed" and full["unbilledAmount"] == 0
    assert_error(api.put(f"/v1/invoice-schedules/{schedule['id']}", {"scheduleItems": []}, key=t.key), 409)


# --- DELETE ------------------------------------------------------------------------------------------------------

def test_delete_only_when_nothing_is_executed_or_processed(api):
    t = clocked(api, "2025-01-15T00:00:00Z")
    order = milestone_order(api, t)
    pending = new_schedule(api, t, [order["id"]], thirds())
    deleted = api.delete(f"/v1/invoice-schedules/{pending['number']}", key=t.key)
    assert deleted.status == 200 and deleted.body == pending
    assert_error(api.get(f"/v1/invoice-schedules/{pending['id']}", key=t.key), 404)
    assert_error(api.delete(f"/v1/invoice-schedules/{pending['id']}", key=t.key), 404)

    schedule = new_schedule(api, t, [order["id"]], thirds())
    held = execute(api, t, schedule["id"], {})
    assert held.status == 201
    assert_error(api.delete(f"/v1/invoice-schedules/{schedule['id']}", key=t.key), 409)  # an item is Executing
    wall_tick()
    assert_error(api.delete(f"/v1/invoice-schedules/{schedule['id']}", key=t.key), 409)  # an item is Processed
    assert get_schedule(api, t, schedule["id"])["status"] == "PartiallyProcessed"


# --- pause and resume --------------------------------------------------------------------------------------------

def test_pause_and_resume_with_the_refused_transitions(api):
    t = clocked(api, "2025-01-15T00:00:00Z")
    schedule = new_schedule(api, t, [milestone_order(api, t)["id"]], thirds())
    path = f"/v1/invoice-schedules/{schedule['id']}"
    assert_error(api.put(f"{path}/resume", key=t.key), 409)  # not paused
    paused = api.put(f"{path}/pause", key=t.key)
    assert paused.status == 200 and paused.body["status"] == "Paused"
    assert api.put(f"{path}/pause", {}, key=t.key).body == paused.body  # pausing again: unchanged
    assert_error(execute(api, t, schedule["id"], {}), 409)
    assert_error(execute(api, t, schedule["id"], {"scheduleItemId": schedule["scheduleItems"][1]["id"]}), 409)
    assert_error(api.put(path, {"scheduleItems": thirds()}, key=t.key), 409)
    assert_error(api.put(f"{path}/pause", {"reason": "x"}, key=t.key), 400, ["reason"])

    advance(api, t, "2025-03-05T00:00:00Z")  # two run dates pass while paused: nothing is invoiced
    assert invoices(api, t) == [] and statuses(get_schedule(api, t, schedule["id"])) == ["Pending"] * 3
    resumed = api.put(f"{path}/resume", key=t.key)
    assert resumed.status == 200 and resumed.body["status"] == "Pending"
    assert_error(api.put(f"{path}/resume", key=t.key), 409)

    advance(api, t, "2025-03-06T00:00:00Z")  # the next tick catches up both, dated the day of the resume
    assert [(i["invoiceDate"], i["amount"]) for i in invoices(api, t)] == [("2025-03-05", D("333.30"))] * 2
    assert statuses(get_schedule(api, t, schedule["id"])) == ["Processed", "Processed", "Pending"]
    advance(api, t, "2025-04-01T00:00:00Z")
    done = get_schedule(api, t, schedule["id"])
    assert done["status"] == "FullyProcessed" and invoices(api, t)[-1]["invoiceDate"] == "2025-04-01"
    paused = api.put(f"{path}/pause", key=t.key)  # even a fully processed schedule can be paused (Zuora)
    assert paused.body["status"] == "Paused"
    assert api.put(f"{path}/resume", key=t.key).body["status"] == "FullyProcessed"  # back to its status


# --- execute refusals and Idempotency-Key -------------------------------------------------------------------------

def test_execute_refusals(api, seed_world):
    t, _, schedule = seed_world
    first, second, third = (i["id"] for i in schedule["scheduleItems"])
    assert_error(execute(api, t, schedule["id"], {"scheduleItemId": "unknown"}), 404, ["scheduleItemId"])
    assert_error(execute(api, t, schedule["id"], {"scheduleItemId": first, "extra": 1}), 400, ["extra"])
    assert_error(execute(api, t, schedule["id"], {"scheduleItemId": 7}), 400, ["scheduleItemId"])
    assert execute(api, t, schedule["id"], {"scheduleItemId": first}).status == 201
    executing = execute(api, t, schedule["id"], {"scheduleItemId": first})
    assert_error(executing, 409)
    assert "being executed" in executing.body["message"]
    wall_tick()
    processed = execute(api, t, schedule["id"], {"scheduleItemId": first})
    assert_error(processed, 409)
    assert "already Processed" in processed.body["message"]
    for _ in range(2):
        assert execute(api, t, schedule["id"], {}).status == 201  # items 2 and 3
    assert_error(execute(api, t, schedule["id"], {}), 409)  # nothing pending
    wall_tick()
    assert get_schedule(api, t, schedule["id"])["status"] == "FullyProcessed"
    assert_error(execute(api, t, schedule["id"], {"scheduleItemId": third}), 409)
    assert len(invoices(api, t)) == 3
    runs = [api.get(f"/v1/bill-runs/BR-0000000{n}", key=t.key).body["status"] for n in range(1, 4)]
    assert runs == ["Completed"] * 3  # refused requests made no bill run


def test_execute_honours_the_idempotency_key(api, seed_world):
    t, _, schedule = seed_world
    item = schedule["scheduleItems"][0]["id"]
    first = execute(api, t, schedule["id"], {"scheduleItemId": item}, headers={"Idempotency-Key": "run-1"})
    again = execute(api, t, schedule["id"], {"scheduleItemId": item}, headers={"Idempotency-Key": "run-1"})
    assert first.status == again.status == 201 and again.body == first.body
    assert again.headers.get("idempotent-replayed") == "true"
    other_body = execute(api, t, schedule["id"], {}, headers={"Idempotency-Key": "run-1"})
    assert_error(other_body, 409, ["Idempotency-Key"])
    wall_tick()
    replay = execute(api, t, schedule["id"], {"scheduleItemId": item}, headers={"Idempotency-Key": "run-1"})
    assert replay.body == first.body  # the first answer (Pending), not a second run
    assert len(invoices(api, t)) == 1
    assert_error(api.get("/v1/bill-runs/BR-00000002", key=t.key), 404)
    order = milestone_order(api, t)["id"]
    created = api.post("/v1/invoice-schedules", {"orders": [order], "scheduleItems": thirds()},
                       key=t.key, headers={"Idempotency-Key": "create-1"})
    replayed = api.post("/v1/invoice-schedules", {"orders": [order], "scheduleItems": thirds()},
                        key=t.key, headers={"Idempotency-Key": "create-1"})
    assert created.status == replayed.status == 201 and replayed.body == created.body


def test_a_retry_of_an_execute_that_lost_its_item_is_a_409_again(api, seed_world, monkeypatch):
    """Request B read the item Pending, made its bill run, then lost the item to request A (a race, forced here
    by B's stale read): 409, its bill run in Error. B's retry with the same key answers 409 again."""
    from chalicelib.domain import invoice_schedules as rules
    t, _, schedule = seed_world
    item = schedule["scheduleItems"][0]["id"]
    assert execute(api, t, schedule["id"], {"scheduleItemId": item}, headers={"Idempotency-Key": "a"}).status == 201
    real = rules.executable_item
    monkeypatch.setattr(rules, "executable_item", lambda s, item_id: s.item(item_id))  # B's read was stale
    lost = execute(api, t, schedule["id"], {"scheduleItemId": item}, headers={"Idempotency-Key": "b"})
    assert_error(lost, 409)
    monkeypatch.setattr(rules, "executable_item", real)
    retried = execute(api, t, schedule["id"], {"scheduleItemId": item}, headers={"Idempotency-Key": "b"})
    assert_error(retried, 409)
    assert retried.body["message"] == lost.body["message"]
    b_run = api.get("/v1/bill-runs/BR-00000002", key=t.key).body
    assert b_run["status"] == "Error" and "being executed" in b_run["errorMessage"]
    wall_tick()
    assert api.get("/v1/bill-runs/BR-00000001", key=t.key).body["status"] == "Completed"
    assert len(invoices(api, t)) == 1


# --- bill runs --------------------------------------------------------------------------------------------------

def test_auto_post_activates_the_invoice(api, seed_world):
    t, _, schedule = seed_world
    run = execute(api, t, schedule["id"], {"autoPost": True})
    assert run.status == 201 and run.body["autoPost"] is True
    wall_tick()
    [made] = api.get(f"/v1/bill-runs/{run.body['id']}", key=t.key).body["invoices"]
    invoice = api.get(f"/billing/invoices/{made['id']}", key=t.key).body
    assert invoice["status"] == "Active" and invoice["activatedTime"] == "2022-11-08T17:26:09.000+00:00"
    assert invoice["activatedById"] == schedule["createdById"]


def test_a_bill_run_that_cannot_take_its_item_ends_in_error_with_the_reason(api, seed_world, monkeypatch):
    """A request dies after creating its bill run, before holding the item; the schedule is then paused. The
    tick's recovery runs the bill run: it must not invoice a paused schedule's item."""
    from chalicelib.services import bill_runs
    t, _, schedule = seed_world
    real = bill_runs.hold

    def dies(*args, **kwargs):
        raise RuntimeError("the request's process died here")

    monkeypatch.setattr(bill_runs, "hold", dies)
    assert execute(api, t, schedule["id"], {}, check=False).status == 500  # (a 500 is undocumented)
    monkeypatch.setattr(bill_runs, "hold", real)
    assert api.put(f"/v1/invoice-schedules/{schedule['id']}/pause", key=t.key).status == 200
    wall_tick()
    run = api.get("/v1/bill-runs/BR-00000001", key=t.key).body
    assert run["status"] == "Error" and "Paused" in run["errorMessage"] and run["invoices"] == []
    assert statuses(get_schedule(api, t, schedule["id"])) == ["Pending"] * 3 and invoices(api, t) == []


# --- automatic execution --------------------------------------------------------------------------------------------

def test_items_run_automatically_on_their_run_dates_through_test_clock_advances(api):
    t = clocked(api, "2025-01-15T00:00:00Z", timezone="Asia/Tokyo")
    order = milestone_order(api, t, amounts=("700.00", "300.00"), tax_rate=10)
    schedule = new_schedule(api, t, [order["id"]], thirds())
    assert advance(api, t, "2025-01-31T14:59:59Z")["ran"]["invoiceScheduleItems"] == 0  # 23:59:59 in Tokyo
    assert advance(api, t, "2025-01-31T15:00:00Z")["ran"]["invoiceScheduleItems"] == 1  # Feb 1, 00:00 in Tokyo
    s = get_schedule(api, t, schedule["id"])
    assert (s["status"], statuses(s), s["billedAmount"]) == ("PartiallyProcessed", ["Processed", "Pending", "Pending"],
                                                             D("333.30"))
    run = api.get(f"/v1/bill-runs/{s['scheduleItems'][0]['billRunId']}", key=t.key).body
    assert run["status"] == "Completed" and run["billRunFilters"][0]["filterType"] == "InvoiceSchedule"
    assert run["invoiceScheduleItemId"] == s["scheduleItems"][0]["id"] and run["invoiceDate"] == "2025-02-01"
    assert advance(api, t, "2025-12-31T00:00:00Z")["ran"]["invoiceScheduleItems"] == 2
    s = get_schedule(api, t, schedule["id"])
    assert (s["status"], s["billedAmount"], s["unbilledAmount"], s["nextRunDate"]) == (
        "FullyProcessed", D("1000.00"), D("0.00"), None)
    made = invoices(api, t)
    assert [(i["invoiceDate"], i["amountWithoutTax"], i["taxAmount"], i["amount"], i["dueDate"]) for i in made] == [
        ("2025-02-01", D("333.30"), D("33.33"), D("366.63"), "2025-03-03"),
        ("2025-03-01", D("333.30"), D("33.33"), D("366.63"), "2025-03-31"),
        ("2025-04-01", D("333.40"), D("33.34"), D("366.74"), "2025-05-01")]
    assert [i["createdDate"] for i in made] == ["2025-01-31T15:00:00.000+00:00", "2025-02-28T15:00:00.000+00:00",
                                                "2025-03-31T15:00:00.000+00:00"]  # as if the tick fired then
    for invoice in made:
        lines = api.get(f"/billing/invoices/{invoice['id']}", key=t.key).body["lines"]
        assert sum(l["amount"] for l in lines) == invoice["amountWithoutTax"]  # 70 : 30 of the item, exactly
    assert [l["amount"] for l in api.get(f"/billing/invoices/{made[2]['id']}", key=t.key).body["lines"]] == [
        D("233.38"), D("100.02")]
    assert advance(api, t, "2026-12-31T00:00:00Z")["ran"]["invoiceScheduleItems"] == 0


def test_live_items_run_on_the_wall_tick(api, tenant):
    today = wall_now().date()
    order = milestone_order(api, tenant, amounts=("99.99",))
    schedule = new_schedule(api, tenant, [order["id"]], [
        {"runDate": (today - timedelta(days=1)).isoformat(), "amount": D("33.33")},
        {"runDate": today.isoformat(), "amount": D("33.33")},
        {"runDate": (today + timedelta(days=1)).isoformat(), "amount": D("33.33")}])
    assert wall_tick(api)["invoiceScheduleItems"] == 2
    assert wall_tick(api)["invoiceScheduleItems"] == 0
    s = get_schedule(api, tenant, schedule["id"])
    assert statuses(s) == ["Processed", "Processed", "Pending"]
    # yesterday's item was already late when the schedule was created: it is dated the day it runs
    assert [i["invoiceDate"] for i in invoices(api, tenant)] == [today.isoformat()] * 2


# --- the invoices are ordinary invoices ---------------------------------------------------------------------------

def test_schedule_invoices_are_listed_activated_paid_and_canceled_like_any_other(api):
    t = clocked(api, "2025-01-15T00:00:00Z")
    schedule = new_schedule(api, t, [milestone_order(api, t)["id"]], thirds())
    advance(api, t, "2025-03-01T00:00:00Z")
    first, second = invoices(api, t)
    assert {i["source"] for i in api.get("/billing/invoices?status=Draft", key=t.key).body["data"]} == {
        "InvoiceSchedule"}
    activated = api.post("/billing/invoices:activate", {"invoiceIds": [first["id"]]}, key=t.key)
    assert activated.body["succeeded"] == 1
    paid = api.post("/billing/payments", {"invoiceId": first["id"], "amount": D("333.30")}, key=t.key)
    assert paid.status == 201 and paid.body["invoice"]["paymentStatus"] == "Paid"
    graphql = api.post("/graphql", {"query": "query { invoice(where: {source: {_eq: \"InvoiceSchedule\"}}) "
                                             "{ name amount } }"}, key=t.key)
    assert graphql.status == 200 and len(graphql.body["data"]["invoice"]) == 2


def test_canceling_an_items_invoice_reopens_the_item_for_a_new_invoice(api):
    t = clocked(api, "2025-01-15T00:00:00Z")
    schedule = new_schedule(api, t, [milestone_order(api, t)["id"]], thirds())
    advance(api, t, "2025-03-01T00:00:00Z")
    first, second = invoices(api, t)
    assert api.post("/billing/invoices:activate", {"invoiceIds": [first["id"]]}, key=t.key).body["succeeded"] == 1
    assert api.post("/billing/payments", {"invoiceId": first["id"], "amount": D("333.30")}, key=t.key).status == 201

    canceled = api.post("/billing/invoices:cancel", {"invoiceIds": [first["id"], second["id"]]}, key=t.key)
    assert [(r["invoiceId"], r["success"]) for r in canceled.body["results"]] == [(first["id"], False),
                                                                                  (second["id"], True)]
    s = get_schedule(api, t, schedule["id"])
    item = s["scheduleItems"][1]
    assert statuses(s) == ["Processed", "Pending", "Pending"] and s["status"] == "PartiallyProcessed"
    assert (item["invoiceId"], item["invoiceNumber"], item["billRunId"]) == (None, None, None)
    assert (s["billedAmount"], s["unbilledAmount"], s["nextRunDate"]) == (D("333.30"), D("666.70"), "2025-03-01")
    again = api.post("/billing/invoices:cancel", {"invoiceIds": [second["id"]]}, key=t.key)  # a retry: no change
    assert again.body["succeeded"] == 1 and get_schedule(api, t, schedule["id"]) == s

    # its run date has come: the next advance runs it again, dated at the cancel, on a new invoice
    assert advance(api, t, "2025-03-02T00:00:00Z")["ran"]["invoiceScheduleItems"] == 1
    s = get_schedule(api, t, schedule["id"])
    item = s["scheduleItems"][1]
    assert statuses(s) == ["Processed", "Processed", "Pending"] and s["billedAmount"] == D("666.60")
    reissued = api.get(f"/billing/invoices/{item['invoiceId']}", key=t.key).body
    assert reissued["id"] not in (first["id"], second["id"]) and reissued["name"] == item["invoiceNumber"]
    assert (reissued["status"], reissued["amountWithoutTax"], reissued["invoiceDate"]) == (
        "Draft", D("333.30"), "2025-03-01")
    assert api.get(f"/billing/invoices/{second['id']}", key=t.key).body["status"] == "Canceled"
    run = api.get(f"/v1/bill-runs/{item['billRunId']}", key=t.key).body
    assert run["status"] == "Completed" and [i["id"] for i in run["invoices"]] == [reissued["id"]]

    # canceled again, it is executed on request too; the schedule can then finish
    api.post("/billing/invoices:cancel", {"invoiceIds": [reissued["id"]]}, key=t.key)
    ran = execute(api, t, schedule["id"], {"scheduleItemId": item["id"]})
    assert ran.status == 201, ran.body
    wall_tick(api)  # runs the request's bill run, if the worker has not
    advance(api, t, "2025-04-01T00:00:00Z")
    s = get_schedule(api, t, schedule["id"])
    assert s["status"] == "FullyProcessed" and s["billedAmount"] == D("1000.00")
    live = [i for i in invoices(api, t) if i["status"] != "Canceled"]
    assert sorted(i["amountWithoutTax"] for i in live) == [D("333.30"), D("333.30"), D("333.40")]
    assert len(invoices(api, t)) == 5  # the two canceled ones stay


def test_tick_report_names_invoice_schedule_items(api):
    t = clocked(api, "2025-01-15T00:00:00Z")
    assert advance(api, t, "2025-01-16T00:00:00Z")["ran"] == {
        "billingJobs": 0, "invoiceScheduleItems": 0, "recurringInvoices": 0, "invoiceJobs": 0, "workUnits": 0}


# --- an order on an invoice schedule is billed by the schedule only -------------------------------------------

def recurring_order(api, t, customer, price="300.00", start="2025-01-15") -> dict:
    """An activated order of one Recurring line (monthly, quantity 1): it created one subscription."""
    product = api.product(t, name="Retainer", productType="Recurring", price=D(price), billingPeriod="Month")
    order = api.order(t, customer["id"], product["id"], quantity=1, startDate=start)
    activated = api.post(f"/orders/{order['id']}:activate", key=t.key)
    assert activated.status == 200, activated.body
    return activated.body


def billing_run(api, t, target_date: str) -> dict:
    schedule = api.post("/billing/schedules", {"scheduleType": "OnDemand"}, key=t.key)
    assert schedule.status == 201, schedule.body
    job = api.post(f"/billing/schedules/{schedule.body['id']}:run", {"targetDate": target_date}, key=t.key)
    assert job.status == 201 and job.body["status"] == "Completed", job.body
    return job.body


def test_billing_jobs_leave_the_subscriptions_of_a_scheduled_order_to_its_schedule(api):
    t = clocked(api, "2025-01-15T00:00:00Z")
    scheduled_customer = api.customer(t, name="Scheduled", billCycleDay=1)
    order = recurring_order(api, t, scheduled_customer)
    schedule = new_schedule(api, t, [order["id"]], [{"runDate": "2025-02-01", "amount": D("300.00")}])
    plain_customer = api.customer(t, name="Plain", billCycleDay=1)
    recurring_order(api, t, plain_customer)

    preview = api.post("/billing/jobs:preview", {"targetDate": "2025-03-01"}, key=t.key)
    assert preview.status == 200, preview.body
    assert {i["customerId"] for i in preview.body["invoices"]} == {plain_customer["id"]}

    job = billing_run(api, t, "2025-03-01")
    decisions = {d["customerId"]: d for d in job["decisions"]}
    assert decisions[scheduled_customer["id"]]["decision"] == "Skipped"
    assert decisions[scheduled_customer["id"]]["reason"] == f"billed by invoice schedule {schedule['number']}"
    assert decisions[plain_customer["id"]]["decision"] == "Billed"  # the job itself bills the others

    advance(api, t, "2025-02-01T00:00:00Z")  # the schedule's item runs
    billed = [i for i in invoices(api, t) if i["customerId"] == scheduled_customer["id"]]
    assert [(i["amount"], i["invoiceScheduleId"]) for i in billed] == [(D("300.00"), schedule["id"])]


def test_an_order_already_billed_by_billing_jobs_cannot_be_put_on_a_schedule(api):
    t = clocked(api, "2025-01-15T00:00:00Z")
    customer = api.customer(t, billCycleDay=1)
    billed = recurring_order(api, t, customer)
    billing_run(api, t, "2025-01-15")
    fresh = recurring_order(api, t, customer)
    refused = api.post("/v1/invoice-schedules", {"orders": [fresh["id"], billed["id"]], "scheduleItems": [
        {"runDate": "2025-02-01", "amount": D("600.00")}]}, key=t.key)
    assert_error(refused, 409, ["orders[1]"])
    assert "already billed" in refused.body["message"]
    for order in (fresh, billed):  # nothing left marked
        assert api.get(f"/orders/{order['id']}", key=t.key).body["invoiceScheduleId"] is None
    assert new_schedule(api, t, [fresh["id"]], [{"runDate": "2025-02-01", "amount": D("300.00")}])


def test_a_mark_of_a_create_still_in_flight_is_not_taken_over_until_it_is_stale(api, wall):
    """Create A marks the order, then (before A writes its schedule) create B reads the order: A's schedule does not
    exist yet, yet A is alive. B must not take the order over, or both answer 201 (two schedules bill the order).
    Only a mark older than a create can take (MARK_STALE, its creator died) is taken over."""
    from chalicelib.services import invoice_schedules as service
    from chalicelib.store import catalog
    t = clocked(api, "2025-01-15T00:00:00Z")
    order = milestone_order(api, t)
    assert catalog.mark_scheduled(t.id, order["id"], "create-a-in-flight", now=wall.now)
    refused = api.post("/v1/invoice-schedules", {"orders": [order["id"]], "scheduleItems": thirds()}, key=t.key)
    assert refused.status == 409 and refused.error_fields == ["orders[0]"], refused.body
    wall.now += service.MARK_STALE + timedelta(seconds=1)
    taken = api.post("/v1/invoice-schedules", {"orders": [order["id"]], "scheduleItems": thirds()}, key=t.key)
    assert taken.status == 201, taken.body
    assert api.get(f"/orders/{order['id']}", key=t.key).body["invoiceScheduleId"] == taken.body["id"]
