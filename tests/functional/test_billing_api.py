"""Nue dialect (seed 000): billing schedules, billing jobs, preview, and the invoices and credit memos the jobs
write, through the HTTP API. Scenarios are grouped so each test pays for one moto setup; every answer is also
checked against the OpenAPI document by the Api helper."""
import json
import re
import time
from datetime import date, datetime
from decimal import Decimal

import boto3

from chalicelib.store import tables
from tests.support import NOTHING_RAN

MATCH_ALL = None
UNKNOWN_ID = "00000000-0000-0000-0000-000000000000"


# --- helpers ---------------------------------------------------------------------------------------------------

def clock_tenant(api, start: str, timezone: str = "UTC", name: str = "Clocked"):
    return api.new_tenant(name, testMode=True, timezone=timezone, currency="USD", clockStart=start)


def subscribe(api, t, customer, product, **line) -> dict:
    """An activated order for one line; returns {"order": ..., "subscription": id}."""
    order = api.order(t, customer["id"], product["id"], **line)
    activated = api.post(f"/orders/{order['id']}:activate", key=t.key)
    assert activated.status == 200, activated.body
    return {"order": order["id"], "subscription": activated.body["lines"][0]["subscriptionId"]}


def new_schedule(api, t, **fields) -> dict:
    body = {"scheduleType": "OnDemand", **fields}
    answer = api.post("/billing/schedules", body, key=t.key)
    assert answer.status == 201, answer.body
    return answer.body


def run(api, t, schedule_id, **dates) -> dict:
    answer = api.post(f"/billing/schedules/{schedule_id}:run", dates, key=t.key)
    assert answer.status == 201, answer.body
    assert answer.body["status"] == "Completed", answer.body
    return answer.body


def decisions_by_customer(job) -> dict:
    return {d["customerId"]: d for d in job["decisions"]}


def advance(api, t, to: str) -> dict:
    answer = api.post("/test/clock:advance", {"to": to}, key=t.key)
    assert answer.status == 200, answer.body
    return answer.body["ran"]


def listed(api, t, path: str) -> list:
    """Every item of a list, following nextToken."""
    items, token = [], None
    while True:
        sep = "&" if "?" in path else "?"
        answer = api.get(path + (f"{sep}nextToken={token}" if token else ""), key=t.key)
        assert answer.status == 200, (path, answer.body)
        items += answer.body["data"]
        token = answer.body["nextToken"]
        if token is None:
            return items


def invoice_content(invoice: dict) -> dict:
    """What an invoice says, without the identifiers a real run adds (id, number, job, timestamps)."""
    keep = ("customerId", "currencyIsoCode", "status", "paymentStatus", "source", "invoiceDate", "dueDate",
            "startDate", "endDate", "targetDate", "amount", "amountWithoutTax", "taxAmount", "balance",
            "isCatchUp", "billToContactId", "billingScheduleId", "activatedTime")
    lines = [{k: v for k, v in line.items() if k != "id"} for line in invoice["lines"]]
    return {**{k: invoice[k] for k in keep}, "lines": lines}


def stored_items() -> dict:
    """Every item of every table, as text: equal before and after means nothing was written."""
    client = boto3.client("dynamodb", region_name="us-east-1")
    result = {}
    for model in tables.ALL_MODELS:
        name, items, start = tables.table_name(model), [], {}
        while True:
            page = client.scan(TableName=name, ConsistentRead=True, **start)
            items += page["Items"]
            if "LastEvaluatedKey" not in page:
                break
            start = {"ExclusiveStartKey": page["LastEvaluatedKey"]}
        result[name] = sorted(json.dumps(item, sort_keys=True) for item in items)
    return result


def assert_invalid(answer, field, issue_part=None):
    assert answer.status == 400, answer.body
    assert answer.body["errorCode"] == "ValidationError", answer.body
    assert field in answer.error_fields, answer.body
    if issue_part is not None:
        issues = [d["issue"] for d in answer.body["details"] if d["field"] == field]
        assert any(issue_part in issue for issue in issues), answer.body


def assert_not_found(answer, field=None):
    assert answer.status == 404, answer.body
    assert answer.body["errorCode"] == "NotFound", answer.body
    if field is not None:
        assert answer.error_fields == [field], answer.body


def assert_totals_exact(document):
    assert document["amountWithoutTax"] == sum((line["amount"] for line in document["lines"]), Decimal(0))
    assert document["amount"] == document["amountWithoutTax"] + document["taxAmount"]


# --- schedules: validation ---------------------------------------------------------------------------------

def test_schedule_create_refuses_bad_input_naming_the_field_and_fast(api, tenant):
    recurring = {"scheduleType": "Recurring", "recurringSchedule": "0 0 3 ? * *"}

    # impossible crons: refused at create time, naming recurringSchedule, well under a second each
    for cron in ["0 0 0 30 2 ?", "0 0 0 31 4 ?", "0 0 0 ? 2 6#5 2026", "0 0 0 30 2 ? 2030-2099"]:
        started = time.perf_counter()
        answer = api.post("/billing/schedules", {**recurring, "recurringSchedule": cron}, key=tenant.key)
        elapsed = time.perf_counter() - started
        assert_invalid(answer, "recurringSchedule", "never fires")
        assert answer.error_fields == ["recurringSchedule"]
        assert elapsed < 1.0, (cron, elapsed)
    # syntax errors, and a cron on an OnDemand schedule
    assert_invalid(api.post("/billing/schedules", {**recurring, "recurringSchedule": "0 0 3 * *"},
                            key=tenant.key), "recurringSchedule")
    assert_invalid(api.post("/billing/schedules", {**recurring, "recurringSchedule": "0 0 25 ? * *"},
                            key=tenant.key), "recurringSchedule")
    assert_invalid(api.post("/billing/schedules", {"scheduleType": "OnDemand", "recurringSchedule": "0 0 3 ? * *"},
                            key=tenant.key), "recurringSchedule")

    # Recurring without its cron
    for body in [{"scheduleType": "Recurring"}, {"scheduleType": "recurring", "recurringSchedule": None}]:
        assert_invalid(api.post("/billing/schedules", body, key=tenant.key), "recurringSchedule", "required")

    # unknown zone
    for timezone in ["Mars/Olympus_Mons", "asia/shanghai ", ""]:
        assert_invalid(api.post("/billing/schedules", {**recurring, "zoneId": timezone}, key=tenant.key), "zoneId")

    # bad filters name their field and the path inside the filter
    nested = '{_and: [{id: {_eq: "x"}}, {name: {_like_not: "y"}}]}'
    answer = api.post("/billing/schedules", {**recurring, "customerFilter": nested}, key=tenant.key)
    assert_invalid(answer, "customerFilter", "_and[1].name")
    assert answer.error_fields == ["customerFilter"]
    assert_invalid(api.post("/billing/schedules", {**recurring, "customerFilter": "{planet: {_eq: 1}}"},
                            key=tenant.key), "customerFilter", "planet")
    assert_invalid(api.post("/billing/schedules", {**recurring, "customerFilter": "{id: {_eq: "},
                            key=tenant.key), "customerFilter")
    assert_invalid(api.post("/billing/schedules", {**recurring, "orderFilter": "{status: {_eq: \"Sideways\"}}"},
                            key=tenant.key), "orderFilter", "status")
    assert_invalid(api.post("/billing/schedules", {**recurring, "productFilter": "{price: {_gt: 1}}"},
                            key=tenant.key), "productFilter", "price")
    assert_invalid(api.post("/billing/schedules", {**recurring, "billCycleDayFilter": "1,32"}, key=tenant.key),
                   "billCycleDayFilter")

    # unknown, read-only and mistyped fields
    assert_invalid(api.post("/billing/schedules", {**recurring, "frequency": "daily"}, key=tenant.key),
                   "frequency", "unknown field")
    for read_only in [{"id": UNKNOWN_ID}, {"name": "BS-00000001"}, {"nextRunDate": "2025-01-01T00:00:00Z"},
                      {"lastRunDate": None}]:
        field = next(iter(read_only))
        assert_invalid(api.post("/billing/schedules", {**recurring, **read_only}, key=tenant.key), field,
                       "read-only")
    assert_invalid(api.post("/billing/schedules", {**recurring, "recordType": "Invoice"}, key=tenant.key),
                   "recordType")
    assert_invalid(api.post("/billing/schedules", {**recurring, "scheduleType": "Weekly"}, key=tenant.key),
                   "scheduleType")
    assert_invalid(api.post("/billing/schedules", {**recurring, "status": "Paused"}, key=tenant.key), "status")
    assert_invalid(api.post("/billing/schedules", {**recurring, "status": "Inactive"}, key=tenant.key), "status",
                   "Draft")  # a new schedule is Draft or Active
    assert_invalid(api.post("/billing/schedules", {**recurring, "scheduleStartDate": "2025-02-30"},
                            key=tenant.key), "scheduleStartDate")
    assert_invalid(api.post("/billing/schedules", {**recurring, "targetDateIncrementSign": "Sideways"},
                            key=tenant.key), "targetDateIncrementSign")

    # none of it created anything, and a valid request still works (enum input is forgiving)
    assert api.get("/billing/schedules", key=tenant.key).body["data"] == []
    ok = api.post("/billing/schedules", {**recurring, "scheduleType": "RECURRING", "recordType": "billing_schedule",
                                         "targetDateIncrementSign": "minus", "targetDateIncrementTimeUnit": "WEEKS",
                                         "targetDateIncrement": 1}, key=tenant.key)
    assert ok.status == 201, ok.body
    assert (ok.body["scheduleType"], ok.body["recordType"], ok.body["targetDateIncrementSign"],
            ok.body["targetDateIncrementTimeUnit"]) == ("Recurring", "BillingSchedule", "Minus", "Weeks")
    assert ok.body["zoneId"] == "UTC"  # the tenant's timezone
    assert ok.body["status"] == "Draft" and ok.body["nextRunDate"] is None
    born_active = api.post("/billing/schedules", {**recurring, "status": "ACTIVE"}, key=tenant.key)
    assert born_active.status == 201, born_active.body
    assert born_active.body["status"] == "Active" and born_active.body["nextRunDate"].endswith("T03:00:00.000+00:00")
    assert api.delete(f"/billing/schedules/{born_active.body['id']}", key=tenant.key).status == 409

    # PATCH validates the same way and leaves the schedule unchanged
    path = f"/billing/schedules/{ok.body['id']}"
    assert_invalid(api.patch(path, {"recurringSchedule": "0 0 0 30 2 ?"}, key=tenant.key), "recurringSchedule")
    assert_invalid(api.patch(path, {"zoneId": "Nowhere/Land"}, key=tenant.key), "zoneId")
    assert_invalid(api.patch(path, {"customerFilter": "{id: {_in: 5}}"}, key=tenant.key), "customerFilter")
    assert_invalid(api.patch(path, {"scheduleType": "OnDemand"}, key=tenant.key), "scheduleType")
    assert_invalid(api.patch(path, {"zoneId": None}, key=tenant.key), "zoneId")
    assert api.get(path, key=tenant.key).body == ok.body


# --- schedules: read, list, patch, delete, deactivate --------------------------------------------------------

def test_schedule_get_and_list_with_filters_and_pagination(api):
    t = clock_tenant(api, "2025-05-01T00:00:00Z")
    recurring = [new_schedule(api, t, scheduleType="Recurring", recurringSchedule=f"0 0 {h} ? * *",
                              description=f"r{h}") for h in (1, 2, 3)]
    on_demand = [new_schedule(api, t, scheduleStartDate="2025-09-01", description=f"o{i}") for i in (1, 2)]
    activated = api.post("/billing/schedules:activate", {"scheduleIds": [recurring[0]["id"], on_demand[0]["id"]]},
                         key=t.key)
    assert activated.status == 200, activated.body
    assert [s["status"] for s in activated.body["data"]] == ["Active", "Active"]
    assert activated.body["data"][1]["nextRunDate"] == "2025-09-01T00:00:00.000+00:00"

    got = api.get(f"/billing/schedules/{recurring[1]['id']}", key=t.key)
    assert got.status == 200 and got.body == recurring[1]
    assert_not_found(api.get(f"/billing/schedules/{UNKNOWN_ID}", key=t.key))

    def ids(query):
        return sorted(s["id"] for s in listed(api, t, query))

    everything = sorted(s["id"] for s in recurring + on_demand)
    assert ids("/billing/schedules") == everything
    assert ids("/billing/schedules?status=Active") == sorted([recurring[0]["id"], on_demand[0]["id"]])
    assert ids("/billing/schedules?status=draft") == sorted([recurring[1]["id"], recurring[2]["id"],
                                                             on_demand[1]["id"]])
    assert ids("/billing/schedules?status=Inactive") == []
    assert ids("/billing/schedules?scheduleType=OnDemand") == sorted(s["id"] for s in on_demand)
    assert ids("/billing/schedules?scheduleType=on%20demand") == sorted(s["id"] for s in on_demand)
    assert ids("/billing/schedules?scheduleType=recurring&status=ACTIVE") == [recurring[0]["id"]]
    for query in ["/billing/schedules?status=Paused", "/billing/schedules?scheduleType=Weekly",
                  "/billing/schedules?limit=0", "/billing/schedules?limit=1001", "/billing/schedules?color=red"]:
        assert api.get(query, key=t.key).status == 400, query
    assert_invalid(api.get("/billing/schedules?status=Paused", key=t.key), "status")

    # pagination: pages of 2, no item twice, every item once; the token is bound to its query
    pages, token = [], None
    while True:
        answer = api.get("/billing/schedules?limit=2" + (f"&nextToken={token}" if token else ""), key=t.key)
        assert answer.status == 200, answer.body
        pages.append([s["id"] for s in answer.body["data"]])
        token = answer.body["nextToken"]
        if token is None:
            break
    assert [len(p) for p in pages][:2] == [2, 2] and sum(len(p) for p in pages) == 5
    assert sorted(i for p in pages for i in p) == everything
    first = api.get("/billing/schedules?limit=2", key=t.key).body["nextToken"]
    assert_invalid(api.get(f"/billing/schedules?status=Draft&limit=2&nextToken={first}", key=t.key), "nextToken")
    assert_invalid(api.get(f"/billing/jobs?limit=2&nextToken={first}", key=t.key), "nextToken")


def test_schedule_patch_delete_and_deactivate(api):
    t = clock_tenant(api, "2025-03-01T00:00:00Z")
    schedule = new_schedule(api, t, scheduleType="Recurring", recurringSchedule="0 0 3 ? * *", description="v1")
    path = f"/billing/schedules/{schedule['id']}"

    # a Draft schedule's description changes, nothing else does
    patched = api.patch(path, {"description": "v2"}, key=t.key)
    assert patched.status == 200, patched.body
    assert patched.body["description"] == "v2"
    assert {k: v for k, v in patched.body.items() if k != "description"} == \
        {k: v for k, v in schedule.items() if k != "description"}
    assert_invalid(api.patch(path, {"name": "BS-99999999"}, key=t.key), "name", "read-only")
    assert_invalid(api.patch(path, {"status": "Active"}, key=t.key), "status")

    activated = api.post("/billing/schedules:activate", {"scheduleIds": [schedule["id"]]}, key=t.key).body["data"][0]
    assert activated["nextRunDate"] == "2025-03-01T03:00:00.000+00:00"

    # changing the cron (or the zone) of an Active schedule recomputes its next run
    moved = api.patch(path, {"recurringSchedule": "0 30 6 ? * *"}, key=t.key)
    assert moved.status == 200, moved.body
    assert moved.body["status"] == "Active" and moved.body["nextRunDate"] == "2025-03-01T06:30:00.000+00:00"
    rezoned = api.patch(path, {"zoneId": "Asia/Tokyo"}, key=t.key).body
    assert rezoned["nextRunDate"] == "2025-03-01T21:30:00.000+00:00"  # 06:30 on 03-02 in Tokyo
    described = api.patch(path, {"description": "v3"}, key=t.key).body
    assert described["nextRunDate"] == rezoned["nextRunDate"] and described["description"] == "v3"

    # an Active schedule cannot be deleted
    refused = api.delete(path, key=t.key)
    assert refused.status == 409, refused.body
    assert refused.body["errorCode"] == "InvalidState"
    assert api.get(path, key=t.key).body == described

    # it runs at its slot; after :deactivate it never runs again
    assert advance(api, t, "2025-03-02T00:00:00Z") == {**NOTHING_RAN, "billingJobs": 1}
    [job] = listed(api, t, "/billing/jobs")
    assert job["scheduledTime"] == "2025-03-01T21:30:00.000+00:00" and job["targetDate"] == "2025-03-02"
    deactivated = api.post("/billing/schedules:deactivate", {"scheduleIds": [schedule["id"]]}, key=t.key)
    assert deactivated.status == 200, deactivated.body
    [inactive] = deactivated.body["data"]
    assert inactive["status"] == "Inactive" and inactive["nextRunDate"] is None
    assert inactive["lastRunDate"] == "2025-03-01T21:30:00.000+00:00"
    again = api.post("/billing/schedules:deactivate", {"scheduleIds": [schedule["id"]]}, key=t.key)
    assert again.status == 200 and again.body["data"][0]["status"] == "Inactive"
    assert advance(api, t, "2025-03-06T00:00:00Z") == NOTHING_RAN
    assert [j["id"] for j in listed(api, t, "/billing/jobs")] == [job["id"]]
    # a cron change on an Inactive schedule does not schedule it
    assert api.patch(path, {"recurringSchedule": "0 0 1 ? * *"}, key=t.key).body["nextRunDate"] is None
    assert advance(api, t, "2025-03-08T00:00:00Z") == NOTHING_RAN

    # an Inactive schedule can be deleted: 200 with the schedule, then 404; its job stays readable
    deleted = api.delete(path, key=t.key)
    assert deleted.status == 200, deleted.body
    assert deleted.body["id"] == schedule["id"] and deleted.body["status"] == "Inactive"
    assert_not_found(api.get(path, key=t.key))
    assert_not_found(api.delete(path, key=t.key))
    assert_not_found(api.patch(path, {"description": "ghost"}, key=t.key))
    assert api.get(f"/billing/jobs/{job['id']}", key=t.key).status == 200

    # a Draft schedule is deleted at once; deactivating a Draft is a state conflict
    draft = new_schedule(api, t)
    conflict = api.post("/billing/schedules:deactivate", {"scheduleIds": [draft["id"]]}, key=t.key)
    assert conflict.status == 409, conflict.body
    assert api.delete(f"/billing/schedules/{draft['id']}", key=t.key).status == 200
    assert_not_found(api.get(f"/billing/schedules/{draft['id']}", key=t.key))
    assert_not_found(api.post("/billing/schedules:activate", {"scheduleIds": [draft["id"]]}, key=t.key),
                     "scheduleIds")
    assert listed(api, t, "/billing/schedules") == []
    assert_invalid(api.post("/billing/schedules:activate", {"scheduleIds": []}, key=t.key), "scheduleIds")


# --- slots and time zones ---------------------------------------------------------------------------------------

def test_slots_are_in_the_schedule_zone_dst_safe_and_quartz_numbered(api):
    t = clock_tenant(api, "2025-11-01T00:00:00Z")
    new_york = new_schedule(api, t, scheduleType="Recurring", recurringSchedule="0 30 1 ? * *",
                            zoneId="America/New_York")
    answer = api.get(f"/billing/schedules/{new_york['id']}/slots?count=3", key=t.key)
    assert answer.status == 200, answer.body
    assert answer.body["zoneId"] == "America/New_York" and answer.body["scheduleId"] == new_york["id"]
    # 2025-11-02 falls back from EDT to EST: 01:30 happens twice on the wall, the schedule fires once
    assert answer.body["slots"] == ["2025-11-01T05:30:00.000+00:00", "2025-11-02T05:30:00.000+00:00",
                                    "2025-11-03T06:30:00.000+00:00"]
    assert answer.body["localSlots"] == ["2025-11-01T01:30:00-04:00", "2025-11-02T01:30:00-04:00",
                                         "2025-11-03T01:30:00-05:00"]
    local_days = [s[:10] for s in answer.body["localSlots"]]
    assert local_days.count("2025-11-02") == 1
    assert len(api.get(f"/billing/schedules/{new_york['id']}/slots", key=t.key).body["slots"]) == 10  # default
    assert_invalid(api.get(f"/billing/schedules/{new_york['id']}/slots?count=0", key=t.key), "count")
    assert_invalid(api.get(f"/billing/schedules/{new_york['id']}/slots?count=many", key=t.key), "count")
    assert_not_found(api.get(f"/billing/schedules/{UNKNOWN_ID}/slots", key=t.key))

    # and the tick agrees: one job per local day across the change
    api.post("/billing/schedules:activate", {"scheduleIds": [new_york["id"]]}, key=t.key)
    assert advance(api, t, "2025-11-03T12:00:00Z") == {**NOTHING_RAN, "billingJobs": 3}
    jobs = listed(api, t, f"/billing/jobs?scheduleId={new_york['id']}")
    assert sorted((j["scheduledTime"], j["targetDate"]) for j in jobs) == [
        ("2025-11-01T05:30:00.000+00:00", "2025-11-01"), ("2025-11-02T05:30:00.000+00:00", "2025-11-02"),
        ("2025-11-03T06:30:00.000+00:00", "2025-11-03")]

    # Quartz day-of-week: 1 = Sunday, so 2 = Monday (croniter would read 2 as Tuesday)
    monday = new_schedule(api, t, scheduleType="Recurring", recurringSchedule="0 0 9 ? * 2", zoneId="UTC")
    slots = api.get(f"/billing/schedules/{monday['id']}/slots?count=4", key=t.key).body["slots"]
    days = [datetime.fromisoformat(s).date() for s in slots]
    assert [d.weekday() for d in days] == [0, 0, 0, 0]  # Python: Monday is 0
    assert days[0] == date(2025, 11, 10)  # the clock is at Monday 2025-11-03 12:00 by now
    by_name = new_schedule(api, t, scheduleType="Recurring", recurringSchedule="0 0 9 ? * MON", zoneId="UTC")
    assert api.get(f"/billing/schedules/{by_name['id']}/slots?count=4", key=t.key).body["slots"] == slots
    sunday = new_schedule(api, t, scheduleType="Recurring", recurringSchedule="0 0 9 ? * 1", zoneId="UTC")
    sundays = api.get(f"/billing/schedules/{sunday['id']}/slots?count=2", key=t.key).body["slots"]
    assert [datetime.fromisoformat(s).date() for s in sundays] == [date(2025, 11, 9), date(2025, 11, 16)]

    # an OnDemand schedule has one slot: the start of its scheduleStartDate in its zone
    later = new_schedule(api, t, scheduleStartDate="2025-12-24", zoneId="Asia/Shanghai")
    assert api.get(f"/billing/schedules/{later['id']}/slots?count=5", key=t.key).body["slots"] == [
        "2025-12-23T16:00:00.000+00:00"]


# --- on-demand schedules ----------------------------------------------------------------------------------------

def test_on_demand_schedule_runs_on_activation_or_at_its_start_date(api):
    t = clock_tenant(api, "2025-01-10T12:00:00Z")
    customer = api.customer(t, billCycleDay=1)
    product = api.product(t)
    subscribe(api, t, customer, product, startDate="2025-01-01")

    # scheduleStartDate today: activation runs the job at once
    today = new_schedule(api, t)
    assert today["scheduleStartDate"] == "2025-01-10"
    [active] = api.post("/billing/schedules:activate", {"scheduleIds": [today["id"]]}, key=t.key).body["data"]
    assert active["status"] == "Active"
    assert active["lastRunDate"] == "2025-01-10T12:00:00.000+00:00" and active["nextRunDate"] is None
    [job] = listed(api, t, f"/billing/jobs?scheduleId={today['id']}")
    assert job["status"] == "Completed" and job["targetDate"] == "2025-01-10"
    [invoice] = listed(api, t, "/billing/invoices")
    assert invoice["billingJobId"] == job["id"]
    assert (invoice["startDate"], invoice["endDate"]) == ("2025-01-01", "2025-01-31")

    # scheduleStartDate in the past: also at once
    past = new_schedule(api, t, scheduleStartDate="2025-01-02", targetDate="2025-02-01")
    [ran] = api.post("/billing/schedules:activate", {"scheduleIds": [past["id"]]}, key=t.key).body["data"]
    assert ran["lastRunDate"] == "2025-01-10T12:00:00.000+00:00" and ran["nextRunDate"] is None
    [past_job] = listed(api, t, f"/billing/jobs?scheduleId={past['id']}")
    assert past_job["targetDate"] == "2025-02-01"  # the schedule's fixed targetDate
    assert len(listed(api, t, "/billing/invoices")) == 2

    # scheduleStartDate in the future: nothing until the clock reaches it, then exactly one job
    future = new_schedule(api, t, scheduleStartDate="2025-03-05", zoneId="Asia/Shanghai")
    [waiting] = api.post("/billing/schedules:activate", {"scheduleIds": [future["id"]]}, key=t.key).body["data"]
    assert waiting["nextRunDate"] == "2025-03-04T16:00:00.000+00:00"  # 03-05 00:00 in Shanghai
    assert waiting["lastRunDate"] is None
    assert listed(api, t, f"/billing/jobs?scheduleId={future['id']}") == []
    assert advance(api, t, "2025-03-04T15:59:59Z") == NOTHING_RAN
    assert listed(api, t, f"/billing/jobs?scheduleId={future['id']}") == []
    assert advance(api, t, "2025-03-04T16:00:00Z") == {**NOTHING_RAN, "billingJobs": 1}
    [future_job] = listed(api, t, f"/billing/jobs?scheduleId={future['id']}")
    assert future_job["scheduledTime"] == "2025-03-04T16:00:00.000+00:00"
    assert future_job["targetDate"] == "2025-03-05" and future_job["invoiceDate"] == "2025-03-05"
    assert future_job["counts"]["invoices"] == 1
    march = [i for i in listed(api, t, "/billing/invoices") if i["billingJobId"] == future_job["id"]]
    assert [(i["startDate"], i["endDate"]) for i in march] == [("2025-03-01", "2025-03-31")]
    done = api.get(f"/billing/schedules/{future['id']}", key=t.key).body
    assert done["nextRunDate"] is None and done["lastRunDate"] == "2025-03-04T16:00:00.000+00:00"
    assert advance(api, t, "2025-04-10T00:00:00Z") == NOTHING_RAN  # it ran once


# --- :run, jobs and their decisions ------------------------------------------------------------------------

def test_run_with_dates_records_counts_and_a_decision_per_customer(api):
    t = clock_tenant(api, "2025-01-20T00:00:00Z")
    pro = api.product(t, name="Pro plan")
    free = api.product(t, name="Free plan", price=Decimal("0"))
    excluded = api.product(t, name="Excluded plan", price=Decimal("10.00"))
    due = api.customer(t, name="due", billCycleDay=1)
    later = api.customer(t, name="later", billCycleDay=1)
    gratis = api.customer(t, name="gratis", billCycleDay=1)
    outside = api.customer(t, name="outside", billCycleDay=1)
    due_sub = subscribe(api, t, due, pro, startDate="2025-01-01")
    subscribe(api, t, later, pro, startDate="2025-02-10")  # starts next month: nothing due yet
    subscribe(api, t, gratis, free, startDate="2025-01-01")
    subscribe(api, t, outside, excluded, startDate="2025-01-01")
    schedule = new_schedule(api, t, productFilter='{name: {_neq: "Excluded plan"}}')

    job = run(api, t, schedule["id"], targetDate="2025-01-31", invoiceDate="2025-02-01")
    assert re.fullmatch(r"BJ-\d{8}", job["name"])
    assert (job["scheduleId"], job["scheduleName"]) == (schedule["id"], schedule["name"])
    assert (job["targetDate"], job["invoiceDate"]) == ("2025-01-31", "2025-02-01")
    assert job["counts"] == {"customers": 4, "billed": 1, "skipped": 3, "errors": 0, "invoices": 1,
                             "creditMemos": 0}
    decided = decisions_by_customer(job)
    assert decided[due["id"]]["decision"] == "Billed" and decided[due["id"]]["reason"] is None
    assert decided[due["id"]]["lines"] == 1 and decided[due["id"]]["invoiceId"]
    assert {c: (d["decision"], d["reason"]) for c, d in decided.items() if c != due["id"]} == {
        later["id"]: ("Skipped", "nothing due"), gratis["id"]: ("Skipped", "zero amount"),
        outside["id"]: ("Skipped", "filtered out")}
    invoice = api.get(f"/billing/invoices/{decided[due['id']]['invoiceId']}", key=t.key).body
    assert (invoice["invoiceDate"], invoice["targetDate"]) == ("2025-02-01", "2025-01-31")
    assert invoice["customerId"] == due["id"] and invoice["billingJobId"] == job["id"]

    # the job as read equals the job as answered by :run
    fetched = api.get(f"/billing/jobs/{job['id']}", key=t.key)
    assert fetched.status == 200 and fetched.body == job

    # the same run again: January is already billed
    second = run(api, t, schedule["id"], targetDate="2025-01-31", invoiceDate="2025-02-01")
    assert decisions_by_customer(second)[due["id"]]["reason"] == "already billed"
    assert second["counts"]["billed"] == 0 and second["counts"]["invoices"] == 0
    assert len(listed(api, t, "/billing/invoices")) == 1

    # an orderFilter keeps only that order's subscriptions: every other customer it reads is filtered out
    by_order = new_schedule(api, t, orderFilter='{id: {_ilike: "%s"}}' % due_sub["order"])
    third = run(api, t, by_order["id"], targetDate="2025-01-31")
    assert {c: d["reason"] for c, d in decisions_by_customer(third).items()} == {
        due["id"]: "already billed", later["id"]: "filtered out", gratis["id"]: "filtered out",
        outside["id"]: "filtered out"}
    # (an id equality instead reads that order's subscriptions only: test_ids_named_by_a_scope_decide_only_...)

    # run's defaults: today (the test clock's date) for both dates; bad dates are 400
    fourth = run(api, t, schedule["id"])
    assert (fourth["targetDate"], fourth["invoiceDate"]) == ("2025-01-20", "2025-01-20")
    assert_invalid(api.post(f"/billing/schedules/{schedule['id']}:run", {"targetDate": "2025-13-01"}, key=t.key),
                   "targetDate")
    assert_invalid(api.post(f"/billing/schedules/{schedule['id']}:run", {"when": "now"}, key=t.key), "when")
    assert_not_found(api.post(f"/billing/schedules/{UNKNOWN_ID}:run", {}, key=t.key))

    # jobs list: by schedule, by status
    runs = listed(api, t, f"/billing/jobs?scheduleId={schedule['id']}")
    assert sorted(j["id"] for j in runs) == sorted([job["id"], second["id"], fourth["id"]])
    assert "decisions" not in runs[0]
    assert len(listed(api, t, "/billing/jobs?status=completed")) == 4
    assert listed(api, t, "/billing/jobs?status=Running") == []
    assert [j["id"] for j in listed(api, t, f"/billing/jobs?scheduleId={by_order['id']}")] == [third["id"]]
    paged = api.get("/billing/jobs?limit=3", key=t.key).body
    assert len(paged["data"]) == 3 and paged["nextToken"]
    assert_invalid(api.get("/billing/jobs?status=Sleeping", key=t.key), "status")
    assert_not_found(api.get(f"/billing/jobs/{UNKNOWN_ID}", key=t.key))


# --- preview ----------------------------------------------------------------------------------------------

def test_preview_is_what_run_creates_and_writes_nothing(api):
    t = clock_tenant(api, "2025-03-10T00:00:00Z")
    product = api.product(t)
    alpha = api.customer(t, name="alpha", billCycleDay=1, taxRate=Decimal("10"), paymentTermDays=15)
    beta = api.customer(t, name="beta", billCycleDay=1)
    subscribe(api, t, alpha, product, startDate="2025-01-15")
    subscribe(api, t, beta, product, startDate="2025-03-01")
    schedule = new_schedule(api, t)
    request = {"scheduleId": schedule["id"], "targetDate": "2025-03-10", "invoiceDate": "2025-03-12"}

    before = stored_items()
    preview = api.post("/billing/jobs:preview", request, key=t.key)
    assert preview.status == 200, preview.body
    assert stored_items() == before  # no invoice, job, decision, ledger entry, counter or anything else
    assert (preview.body["targetDate"], preview.body["invoiceDate"]) == ("2025-03-10", "2025-03-12")
    assert preview.body["creditMemos"] == []
    assert {i["customerId"] for i in preview.body["invoices"]} == {alpha["id"], beta["id"]}
    assert listed(api, t, "/billing/invoices") == [] and listed(api, t, "/billing/jobs") == []

    job = run(api, t, schedule["id"], targetDate="2025-03-10", invoiceDate="2025-03-12")
    created = listed(api, t, "/billing/invoices")
    by_customer = lambda invoices: {i["customerId"]: invoice_content(i) for i in invoices}  # noqa: E731
    assert by_customer(created) == by_customer(preview.body["invoices"])
    assert sorted(i["name"] for i in created) == ["INV-00000001", "INV-00000002"]  # the preview drew no numbers
    assert [(d["customerId"], d["decision"], d["reason"], d["lines"]) for d in preview.body["decisions"]] == \
        [(d["customerId"], d["decision"], d["reason"], d["lines"]) for d in job["decisions"]]
    alpha_invoice = next(i for i in created if i["customerId"] == alpha["id"])
    assert [(l["startDate"], l["endDate"], l["amount"]) for l in alpha_invoice["lines"]] == [
        ("2025-01-15", "2025-01-31", Decimal("32.90")), ("2025-02-01", "2025-02-28", Decimal("60.00")),
        ("2025-03-01", "2025-03-31", Decimal("60.00"))]
    assert alpha_invoice["amountWithoutTax"] == Decimal("152.90") and alpha_invoice["taxAmount"] == Decimal("15.29")
    assert alpha_invoice["dueDate"] == "2025-03-27"

    # previewing after the run: all billed, and still nothing written
    before = stored_items()
    after = api.post("/billing/jobs:preview", request, key=t.key).body
    assert stored_items() == before
    assert after["invoices"] == [] and {d["reason"] for d in after["decisions"]} == {"already billed"}

    # preview by filters, without a schedule
    by_filter = api.post("/billing/jobs:preview", {"customerFilter": '{name: {_eq: "beta"}}',
                                                   "targetDate": "2025-04-01"}, key=t.key)
    assert by_filter.status == 200, by_filter.body
    [april] = by_filter.body["invoices"]
    assert april["customerId"] == beta["id"] and april["billingScheduleId"] is None
    assert (april["startDate"], april["endDate"], april["amount"]) == ("2025-04-01", "2025-04-30", Decimal("60.00"))
    assert [d["customerId"] for d in by_filter.body["decisions"]] == [beta["id"]]
    assert by_filter.body["invoiceDate"] == "2025-03-10"  # today, when not given
    everyone = api.post("/billing/jobs:preview", {"targetDate": "2025-04-01"}, key=t.key).body
    assert {i["customerId"] for i in everyone["invoices"]} == {alpha["id"], beta["id"]}
    assert stored_items() == before

    # bad previews
    assert_invalid(api.post("/billing/jobs:preview", {**request, "customerFilter": "{}"}, key=t.key), "scheduleId")
    assert_invalid(api.post("/billing/jobs:preview", {"productFilter": "{color: {_eq: 1}}"}, key=t.key),
                   "productFilter")
    assert_invalid(api.post("/billing/jobs:preview", {"orderFilter": "{id: "}, key=t.key), "orderFilter")
    assert_invalid(api.post("/billing/jobs:preview", {"targetDate": "tomorrow"}, key=t.key), "targetDate")
    assert_not_found(api.post("/billing/jobs:preview", {"scheduleId": UNKNOWN_ID}, key=t.key), "scheduleId")
    assert stored_items() == before


# --- invoice content ------------------------------------------------------------------------------------------

def test_invoice_content_proration_tax_terms_arrears_and_month_end(api):
    t = clock_tenant(api, "2025-01-01T00:00:00Z")
    product = api.product(t, price=Decimal("30.00"))
    partial = api.customer(t, name="partial", billCycleDay=1, taxRate=Decimal("10"), paymentTermDays=15)
    arrears = api.customer(t, name="arrears", billCycleDay=1)
    month_end = api.customer(t, name="month end", billCycleDay=31)
    subscribe(api, t, partial, product, startDate="2025-01-15")
    subscribe(api, t, arrears, product, startDate="2025-01-01", billingTiming="InArrears")
    subscribe(api, t, month_end, product, startDate="2025-01-31")
    schedule = new_schedule(api, t)

    first = run(api, t, schedule["id"], targetDate="2025-01-30", invoiceDate="2025-01-20")
    decided = decisions_by_customer(first)
    assert decided[arrears["id"]]["reason"] == "nothing due"  # January has not ended yet
    assert decided[month_end["id"]]["reason"] == "nothing due"  # starts on the 31st
    invoice = api.get(f"/billing/invoices/{decided[partial['id']]['invoiceId']}", key=t.key).body
    [line] = invoice["lines"]
    # 2025-01-15 .. 01-31 is 17 of January's 31 days: 30.00 x 2 x 17/31 = 32.903... -> 32.90
    assert (line["startDate"], line["endDate"]) == ("2025-01-15", "2025-01-31")
    assert (line["quantity"], line["unitPrice"], line["amount"]) == (2, Decimal("30.00"), Decimal("32.90"))
    assert (line["prorationDays"], line["prorationFullDays"]) == (17, 31)
    assert (invoice["amountWithoutTax"], invoice["taxAmount"], invoice["amount"], invoice["balance"]) == (
        Decimal("32.90"), Decimal("3.29"), Decimal("36.19"), Decimal("36.19"))
    assert invoice["invoiceDate"] == "2025-01-20" and invoice["dueDate"] == "2025-02-04"  # + 15 days' terms
    assert (invoice["status"], invoice["paymentStatus"]) == ("Draft", "NotTransferred")
    assert invoice["currencyIsoCode"] == "USD" and invoice["activatedTime"] is None
    assert_totals_exact(invoice)

    second = run(api, t, schedule["id"], targetDate="2025-01-31", invoiceDate="2025-02-01")
    decided = decisions_by_customer(second)
    assert decided[partial["id"]]["reason"] == "already billed"
    in_arrears = api.get(f"/billing/invoices/{decided[arrears['id']]['invoiceId']}", key=t.key).body
    assert [(l["startDate"], l["endDate"], l["amount"]) for l in in_arrears["lines"]] == [
        ("2025-01-01", "2025-01-31", Decimal("60.00"))]  # billed once the period ended
    assert in_arrears["dueDate"] == "2025-03-03"  # the customer's default 30 days
    in_advance = api.get(f"/billing/invoices/{decided[month_end['id']]['invoiceId']}", key=t.key).body
    assert [(l["startDate"], l["endDate"]) for l in in_advance["lines"]] == [("2025-01-31", "2025-02-27")]

    third = run(api, t, schedule["id"], targetDate="2025-04-30", invoiceDate="2025-04-30")
    decided = decisions_by_customer(third)
    month_end_invoice = api.get(f"/billing/invoices/{decided[month_end['id']]['invoiceId']}", key=t.key).body
    # anchor 31: Jan 31, Feb 28, Mar 31, Apr 30 -- never drifting to the 28th; every period is full price
    assert [(l["startDate"], l["endDate"], l["amount"], l["prorationDays"]) for l in month_end_invoice["lines"]] == [
        ("2025-02-28", "2025-03-30", Decimal("60.00"), None), ("2025-03-31", "2025-04-29", Decimal("60.00"), None),
        ("2025-04-30", "2025-05-30", Decimal("60.00"), None)]
    arrears_invoice = api.get(f"/billing/invoices/{decided[arrears['id']]['invoiceId']}", key=t.key).body
    assert [(l["startDate"], l["endDate"]) for l in arrears_invoice["lines"]] == [
        ("2025-02-01", "2025-02-28"), ("2025-03-01", "2025-03-31"), ("2025-04-01", "2025-04-30")]  # ends on it
    partial_invoice = api.get(f"/billing/invoices/{decided[partial['id']]['invoiceId']}", key=t.key).body
    assert partial_invoice["amountWithoutTax"] == Decimal("180.00")
    assert partial_invoice["taxAmount"] == Decimal("18.00") and partial_invoice["amount"] == Decimal("198.00")
    for document in (in_arrears, in_advance, month_end_invoice, arrears_invoice, partial_invoice):
        assert_totals_exact(document)


# --- credit memos ---------------------------------------------------------------------------------------------

def test_cancellation_and_quantity_decrease_give_back_billed_time_as_credit_memos(api):
    t = clock_tenant(api, "2025-01-01T00:00:00Z")
    product = api.product(t, price=Decimal("30.00"))
    leaving = api.customer(t, name="leaving", billCycleDay=1, taxRate=Decimal("10"))
    shrinking = api.customer(t, name="shrinking", billCycleDay=1)
    leaving_sub = subscribe(api, t, leaving, product, startDate="2025-01-01")["subscription"]
    shrinking_sub = subscribe(api, t, shrinking, product, startDate="2025-01-01", quantity=3)["subscription"]
    schedule = new_schedule(api, t)
    january = run(api, t, schedule["id"], targetDate="2025-01-01")
    assert january["counts"]["invoices"] == 2

    canceled = api.post(f"/subscriptions/{leaving_sub}:cancel", {"effectiveDate": "2025-01-21"}, key=t.key)
    assert canceled.status == 200 and canceled.body["status"] == "Canceled"
    reduced = api.patch(f"/subscriptions/{shrinking_sub}", {"quantity": 1, "effectiveDate": "2025-01-16"}, key=t.key)
    assert reduced.status == 200, reduced.body

    job = run(api, t, schedule["id"], targetDate="2025-01-25", invoiceDate="2025-01-25")
    assert job["counts"] == {"customers": 2, "billed": 2, "skipped": 0, "errors": 0, "invoices": 0,
                             "creditMemos": 2}
    decided = decisions_by_customer(job)
    assert all(d["invoiceId"] is None and d["creditMemoId"] for d in decided.values())

    memo = api.get(f"/billing/credit-memos/{decided[leaving['id']]['creditMemoId']}", key=t.key).body
    assert re.fullmatch(r"CM-\d{8}", memo["name"])
    assert memo["customerId"] == leaving["id"] and memo["billingJobId"] == job["id"]
    assert memo["memoDate"] == "2025-01-25" and "canceled" in memo["reason"]
    [line] = memo["lines"]
    # January was billed 60.00; 2025-01-21 .. 01-31 (11 of 31 days) is given back: 60 x 11/31 = 21.29
    assert (line["startDate"], line["endDate"], line["amount"]) == ("2025-01-21", "2025-01-31", Decimal("21.29"))
    assert line["subscriptionId"] == leaving_sub
    assert (memo["amountWithoutTax"], memo["taxAmount"], memo["amount"]) == (
        Decimal("21.29"), Decimal("2.13"), Decimal("23.42"))
    assert_totals_exact(memo)

    smaller = api.get(f"/billing/credit-memos/{decided[shrinking['id']]['creditMemoId']}", key=t.key).body
    assert "quantity 3 -> 1" in smaller["reason"]
    [line] = smaller["lines"]
    # billed 90.00 at 3; worth 15 days at 3 (43.55) + 16 days at 1 (15.48) = 59.03: 30.97 comes back
    assert (line["startDate"], line["endDate"], line["amount"]) == ("2025-01-16", "2025-01-31", Decimal("30.97"))
    assert smaller["amount"] == Decimal("30.97") and smaller["taxAmount"] == Decimal("0.00")
    assert {memo["name"], smaller["name"]} == {"CM-00000001", "CM-00000002"}

    # lists, filters, 404
    assert sorted(m["id"] for m in listed(api, t, "/billing/credit-memos")) == sorted([memo["id"], smaller["id"]])
    assert [m["id"] for m in listed(api, t, f"/billing/credit-memos?customerId={leaving['id']}")] == [memo["id"]]
    assert listed(api, t, f"/billing/credit-memos?customerId={UNKNOWN_ID}") == []
    assert_not_found(api.get(f"/billing/credit-memos/{UNKNOWN_ID}", key=t.key))
    assert_not_found(api.get(f"/billing/invoices/{memo['id']}", key=t.key))  # a memo is not an invoice

    # nothing is given back twice; February bills the new quantity, and nothing for the canceled one
    again = run(api, t, schedule["id"], targetDate="2025-02-01", invoiceDate="2025-02-01")
    decided = decisions_by_customer(again)
    assert decided[leaving["id"]]["reason"] == "already billed" and again["counts"]["creditMemos"] == 0
    february = api.get(f"/billing/invoices/{decided[shrinking['id']]['invoiceId']}", key=t.key).body
    assert [(l["startDate"], l["quantity"], l["amount"]) for l in february["lines"]] == [
        ("2025-02-01", 1, Decimal("30.00"))]
    assert len(listed(api, t, "/billing/credit-memos")) == 2


# --- activation: of invoices, and of orders -------------------------------------------------------------------

def test_activate_invoices_and_the_first_invoice_on_order_activation(api):
    t = clock_tenant(api, "2025-01-10T12:00:00Z")
    product = api.product(t)
    customer = api.customer(t, billCycleDay=1)

    settings = api.patch("/settings", {"generateFirstInvoiceOnOrderActivation": True}, key=t.key)
    assert settings.status == 200 and settings.body["generateFirstInvoiceOnOrderActivation"] is True
    order = api.order(t, customer["id"], product["id"], startDate="2025-01-10")
    assert listed(api, t, "/billing/invoices") == []
    assert api.post(f"/orders/{order['id']}:activate", key=t.key).status == 200
    [first] = listed(api, t, "/billing/invoices")  # at once, without any schedule
    assert first["customerId"] == customer["id"] and first["billingScheduleId"] is None
    assert (first["startDate"], first["endDate"], first["invoiceDate"]) == ("2025-01-10", "2025-01-31", "2025-01-10")
    assert first["amount"] == Decimal("42.58")  # 22 of 31 days of 60.00
    assert first["status"] == "Draft"
    [first_job] = listed(api, t, "/billing/jobs")
    assert first_job["id"] == first["billingJobId"] and first_job["counts"]["invoices"] == 1

    # activating the order again: a state conflict, and no second invoice or job
    twice = api.post(f"/orders/{order['id']}:activate", key=t.key)
    assert twice.status == 409, twice.body
    assert [i["id"] for i in listed(api, t, "/billing/invoices")] == [first["id"]]
    assert len(listed(api, t, "/billing/jobs")) == 1

    # activateInvoices: the schedule's jobs write Active invoices, stamped with the activation time
    schedule = new_schedule(api, t, activateInvoices=True, targetDate="2025-02-01")
    assert schedule["activateInvoices"] is True
    api.post("/billing/schedules:activate", {"scheduleIds": [schedule["id"]]}, key=t.key)
    [active] = [i for i in listed(api, t, "/billing/invoices") if i["id"] != first["id"]]
    assert active["status"] == "Active" and active["activatedTime"] == "2025-01-10T12:00:00.000+00:00"
    assert active["activatedById"]
    assert [(l["startDate"], l["endDate"]) for l in active["lines"]] == [("2025-02-01", "2025-02-28")]  # Jan billed
    assert api.get(f"/billing/invoices/{first['id']}", key=t.key).body["status"] == "Draft"

    # turning activateInvoices off: later jobs write Draft invoices again
    off = api.patch(f"/billing/schedules/{schedule['id']}", {"activateInvoices": False}, key=t.key).body
    assert off["activateInvoices"] is False
    march = run(api, t, schedule["id"], targetDate="2025-03-01")
    invoice = api.get(f"/billing/invoices/{march['decisions'][0]['invoiceId']}", key=t.key).body
    assert invoice["status"] == "Draft" and invoice["activatedTime"] is None


# --- invoice lists ----------------------------------------------------------------------------------------

def test_invoice_list_filters_by_customer_and_status_in_date_order(api):
    t = clock_tenant(api, "2025-01-01T00:00:00Z")
    product = api.product(t)
    xavier = api.customer(t, name="xavier", billCycleDay=1)
    yvonne = api.customer(t, name="yvonne", billCycleDay=1)
    subscribe(api, t, xavier, product, startDate="2025-01-01")
    subscribe(api, t, yvonne, product, startDate="2025-01-01")
    only_x = new_schedule(api, t, customerFilter='{id: {_eq: "%s"}}' % xavier["id"])
    only_y = new_schedule(api, t, customerFilter='{name: {_eq: "yvonne"}}', activateInvoices=True)

    # created out of date order on purpose
    run(api, t, only_x["id"], targetDate="2025-01-01", invoiceDate="2025-03-01")
    run(api, t, only_y["id"], targetDate="2025-01-01", invoiceDate="2025-01-15")
    run(api, t, only_x["id"], targetDate="2025-02-01", invoiceDate="2025-02-01")
    run(api, t, only_y["id"], targetDate="2025-02-01", invoiceDate="2025-02-20")

    def summary(query):
        return [(i["customerId"], i["invoiceDate"], i["status"]) for i in listed(api, t, query)]

    x, y = xavier["id"], yvonne["id"]
    assert summary("/billing/invoices") == [(y, "2025-01-15", "Active"), (x, "2025-02-01", "Draft"),
                                            (y, "2025-02-20", "Active"), (x, "2025-03-01", "Draft")]
    assert summary(f"/billing/invoices?customerId={x}") == [(x, "2025-02-01", "Draft"), (x, "2025-03-01", "Draft")]
    assert summary("/billing/invoices?status=active") == [(y, "2025-01-15", "Active"), (y, "2025-02-20", "Active")]
    assert summary("/billing/invoices?status=Draft") == [(x, "2025-02-01", "Draft"), (x, "2025-03-01", "Draft")]
    assert summary(f"/billing/invoices?customerId={y}&status=Active") == [(y, "2025-01-15", "Active"),
                                                                          (y, "2025-02-20", "Active")]
    assert summary(f"/billing/invoices?customerId={y}&status=Draft") == []
    assert summary("/billing/invoices?status=Canceled") == []
    assert summary(f"/billing/invoices?customerId={UNKNOWN_ID}") == []
    # one at a time, still in date order
    assert [(i["customerId"], i["invoiceDate"], i["status"]) for i in listed(api, t, "/billing/invoices?limit=1")] \
        == summary("/billing/invoices")
    assert_invalid(api.get("/billing/invoices?status=Lost", key=t.key), "status")

    # unknown ids are 404
    assert_not_found(api.get(f"/billing/invoices/{UNKNOWN_ID}", key=t.key))
    assert_not_found(api.get("/billing/invoices/INV-00000001", key=t.key))  # the number is not the id
    assert_not_found(api.get(f"/billing/credit-memos/{UNKNOWN_ID}", key=t.key))
    assert_not_found(api.get(f"/billing/jobs/{UNKNOWN_ID}", key=t.key))
    invoice = listed(api, t, "/billing/invoices")[0]
    assert_not_found(api.get(f"/billing/jobs/{invoice['id']}", key=t.key))
    assert api.get(f"/billing/invoices/{invoice['id']}", key=t.key).body == invoice


def test_ids_named_by_a_scope_decide_only_the_customers_they_reach(api):
    """An order, an order's customer or a product named by id in an equality is read through it (not the tenant's
    subscriptions, docs/filters.md), as a customer id is: the job bills what it names, and customers it does not
    reach are not read, so get no decision; a filter naming no id reads everyone and reports them filtered out."""
    t = clock_tenant(api, "2025-01-20T00:00:00Z")
    product, other_product = api.product(t, price=Decimal("10.00")), api.product(t, name="Other")
    ann, bob = api.customer(t, name="ann", billCycleDay=1), api.customer(t, name="bob", billCycleDay=1)
    sold = subscribe(api, t, ann, product, startDate="2025-01-01")
    subscribe(api, t, bob, other_product, startDate="2025-01-01")
    for name, scope in (("order id", {"orderFilter": '{id: {_eq: "%s"}}' % sold["order"]}),
                        ("order customer", {"orderFilter": '{customer: {id: {_eq: "%s"}}}' % ann["id"]}),
                        ("product id", {"productFilter": '{id: {_in: ["%s"]}}' % product["id"]})):
        preview = api.post("/billing/jobs:preview", {**scope, "targetDate": "2025-01-31"}, key=t.key)
        assert preview.status == 200, preview.body
        assert {d["customerId"]: d["decision"] for d in preview.body["decisions"]} == {ann["id"]: "Billed"}, name
    unnamed = api.post("/billing/jobs:preview", {"productFilter": '{id: {_like: "%s"}}' % product["id"],
                                                 "targetDate": "2025-01-31"}, key=t.key)
    assert {d["customerId"]: (d["decision"], d["reason"]) for d in unnamed.body["decisions"]} == {
        ann["id"]: ("Billed", None), bob["id"]: ("Skipped", "filtered out")}
