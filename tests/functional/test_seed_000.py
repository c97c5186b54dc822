"""Seed 000 (Nue, "Generate invoices"): the seed's create request is accepted as captured, answered with every
field of the seed's response in canonical form, and the seed's activation request makes billing jobs start at
the scheduled time (03:00 every day in Asia/Shanghai) and write invoices.

The capture lost its punctuation and case; restored here: `{id: {_in: [...]}}`, `2025-06-30`, the Quartz cron
`0 0 3 ? * *`, `nue-api-key`. Enum values are sent lowercase, as captured (enum input is case-insensitive)."""
import re
import uuid
from decimal import Decimal

import pytest

from tests.support import NOTHING_RAN

SEED_CUSTOMER = "001ks00000dvz1ayad"
SEED_FILTER = '{id: {_in: ["%s"]}}' % SEED_CUSTOMER
SEED_INSTANT = "2025-06-30T02:42:32.016+00:00"  # the seed's createdDate: our test clock starts there

SEED_REQUEST = {
    "createdThrough": "api",
    "scheduleStartDate": "2025-06-30",
    "invoiceDate": "2025-06-30",
    "targetDate": None,
    "scheduleType": "recurring",
    "status": "draft",
    "recurringSchedule": "0 0 3 ? * *",
    "dailyObject": {},
    "customExpression": [],
    "recordType": "billingschedule",
    "customerFilter": SEED_FILTER,
    "orderFilter": None,
    "billCycleDayFilter": None,
    "productFilter": None,
    "description": "this is a sample billing schedule!",
}

# Every field of the seed's response, with the value billrun must answer (None: checked separately).
SEED_RESPONSE = {
    "orderFilter": None,
    "dailyObject": {},
    "description": "this is a sample billing schedule!",
    "lastRunDate": None,
    "customExpression": [],
    "billCycleDayFilter": None,
    "recurringSchedule": "0 0 3 ? * *",
    "lastModifiedById": ...,
    "zoneId": "Asia/Shanghai",
    "targetDateIncrementTimeUnit": "Days",
    "id": ...,
    "createdById": ...,
    "targetDateIncrement": 0,
    "targetDateIncrementSign": "Plus",
    "productFilter": None,
    "lastModifiedDate": SEED_INSTANT,
    "targetDate": None,
    "recordType": "BillingSchedule",
    "createdThrough": "API",
    "invoiceDate": "2025-06-30",
    "customerFilter": SEED_FILTER,
    "createdDate": SEED_INSTANT,
    "scheduleType": "Recurring",
    "scheduleStartDate": "2025-06-30",
    "name": ...,
    "status": "Draft",
}


@pytest.fixture
def shanghai(api):
    """A test-mode tenant in Asia/Shanghai whose clock stands at the seed's createdDate."""
    return api.new_tenant("Nue seed", testMode=True, timezone="Asia/Shanghai", currency="USD",
                          clockStart="2025-06-30T02:42:32.016Z")


def create_as_seed(api, tenant, body):
    """The seed's curl: POST with the nue-api-key header and an accept header."""
    return api.post("/billing/schedules", body,
                    headers={"nue-api-key": tenant.key, "accept": "application/json"})


def assert_seed_response(body, name):
    missing = set(SEED_RESPONSE) - set(body)
    assert not missing, f"fields of the seed's response missing: {sorted(missing)}"
    for field, expected in SEED_RESPONSE.items():
        if expected is not ...:
            assert body[field] == expected, (field, body[field])
    assert str(uuid.UUID(body["id"])) == body["id"]
    assert re.fullmatch(r"BS-\d{8}", body["name"]) and body["name"] == name
    assert body["createdById"] and body["lastModifiedById"] == body["createdById"]
    assert type(body["targetDateIncrement"]) is int  # 0, not "0" or 0.0
    assert body["nextRunDate"] is None  # a Draft schedule is not scheduled


def test_seed_create_request_is_accepted_as_captured_and_answered_like_the_seed(api, shanghai):
    created = create_as_seed(api, shanghai, SEED_REQUEST)
    assert created.status == 201, created.body
    assert_seed_response(created.body, "BS-00000001")

    # reading it back gives the same record
    fetched = api.get(f"/billing/schedules/{created.body['id']}", key=shanghai.key)
    assert fetched.status == 200
    assert fetched.body == created.body

    # the canonical spelling of the enum values is the same request
    canonical = {**SEED_REQUEST, "createdThrough": "API", "scheduleType": "Recurring", "status": "Draft",
                 "recordType": "BillingSchedule"}
    again = create_as_seed(api, shanghai, canonical)
    assert again.status == 201, again.body
    assert_seed_response(again.body, "BS-00000002")
    assert again.body["id"] != created.body["id"]
    ignore = {"id", "name"}
    assert {k: v for k, v in again.body.items() if k not in ignore} == \
        {k: v for k, v in created.body.items() if k not in ignore}

    # zoneId defaults to the tenant's timezone: a UTC tenant's schedule is in UTC
    utc_tenant = api.new_tenant("UTC shop", testMode=True, timezone="UTC", clockStart="2025-06-30T02:42:32.016Z")
    in_utc = create_as_seed(api, utc_tenant, SEED_REQUEST)
    assert in_utc.status == 201, in_utc.body
    assert in_utc.body["zoneId"] == "UTC"
    assert in_utc.body["name"] == "BS-00000001"  # numbers are per tenant


def test_seed_activation_request_starts_billing_jobs_at_the_scheduled_time(api, shanghai):
    key = shanghai.key
    customer = api.customer(shanghai, name="Seed customer", timezone="Asia/Shanghai", billCycleDay=1, taxRate=10)
    bystander = api.customer(shanghai, name="Not in the filter", timezone="Asia/Shanghai", billCycleDay=1)
    product = api.product(shanghai, name="Monthly plan", price=Decimal("30.00"), billingPeriod="Month")
    for who in (customer, bystander):
        order = api.order(shanghai, who["id"], product["id"], startDate="2025-07-01")
        assert api.post(f"/orders/{order['id']}:activate", key=key).status == 200

    created = create_as_seed(api, shanghai, SEED_REQUEST)
    assert created.status == 201, created.body
    schedule_id = created.body["id"]
    # The seed's customer 001ks00000dvz1ayad does not exist here: point the same filter at ours.
    ours = '{id: {_in: ["%s"]}}' % customer["id"]
    patched = api.patch(f"/billing/schedules/{schedule_id}", {"customerFilter": ours}, key=key)
    assert patched.status == 200, patched.body
    assert patched.body["customerFilter"] == ours and patched.body["status"] == "Draft"

    # the seed's activation request
    activated = api.post("/billing/schedules:activate", {"scheduleIds": [schedule_id]},
                         headers={"nue-api-key": key, "accept": "application/json"})
    assert activated.status == 200, activated.body
    [schedule] = activated.body["data"]
    assert schedule["id"] == schedule_id and schedule["status"] == "Active"
    # 10:42 in Shanghai on 06-30: the first 03:00 is on 07-01, i.e. 2025-06-30T19:00Z
    assert schedule["nextRunDate"] == "2025-06-30T19:00:00.000+00:00"
    assert schedule["lastRunDate"] is None

    # nothing runs before 03:00 Shanghai
    early = api.post("/test/clock:advance", {"to": "2025-06-30T18:59:59Z"}, key=key)
    assert early.status == 200 and early.body["ran"] == NOTHING_RAN
    assert api.get("/billing/jobs", key=key).body["data"] == []
    assert api.get("/billing/invoices", key=key).body["data"] == []

    # at 03:00 Shanghai the job runs and bills the customer's first month
    late = api.post("/test/clock:advance", {"to": "2025-06-30T19:05:00Z"}, key=key)
    assert late.status == 200 and late.body["ran"] == {**NOTHING_RAN, "billingJobs": 1}
    [job] = api.get("/billing/jobs", key=key).body["data"]
    assert job["scheduleId"] == schedule_id and job["scheduleName"] == created.body["name"]
    assert job["status"] == "Completed"
    assert job["scheduledTime"] == "2025-06-30T19:00:00.000+00:00"
    assert job["targetDate"] == "2025-07-01" and job["invoiceDate"] == "2025-07-01"
    assert re.fullmatch(r"BJ-\d{8}", job["name"])
    assert job["counts"] == {"customers": 1, "billed": 1, "skipped": 0, "errors": 0, "invoices": 1,
                             "creditMemos": 0}

    [invoice] = api.get("/billing/invoices", key=key).body["data"]
    assert invoice["customerId"] == customer["id"]
    assert re.fullmatch(r"INV-\d{8}", invoice["name"])
    assert invoice["billingJobId"] == job["id"] and invoice["billingScheduleId"] == schedule_id
    assert (invoice["startDate"], invoice["endDate"]) == ("2025-07-01", "2025-07-31")
    assert invoice["invoiceDate"] == "2025-07-01" and invoice["dueDate"] == "2025-07-31"  # 30 days' terms
    assert invoice["amountWithoutTax"] == Decimal("60.00")  # 30.00 x 2
    assert invoice["taxAmount"] == Decimal("6.00") and invoice["amount"] == Decimal("66.00")
    assert invoice["status"] == "Draft" and invoice["source"] == "Billing"

    detail = api.get(f"/billing/jobs/{job['id']}", key=key).body
    assert [(d["customerId"], d["decision"], d["invoiceId"]) for d in detail["decisions"]] == \
        [(customer["id"], "Billed", invoice["id"])]

    after = api.get(f"/billing/schedules/{schedule_id}", key=key).body
    assert after["lastRunDate"] == "2025-06-30T19:00:00.000+00:00"
    assert after["nextRunDate"] == "2025-07-01T19:00:00.000+00:00"  # 03:00 Shanghai on 07-02

    # the next day's job finds July already billed: no second invoice
    next_day = api.post("/test/clock:advance", {"to": "2025-07-01T19:05:00Z"}, key=key)
    assert next_day.body["ran"] == {**NOTHING_RAN, "billingJobs": 1}
    assert len(api.get("/billing/invoices", key=key).body["data"]) == 1
    assert len(api.get("/billing/jobs", key=key).body["data"]) == 2
