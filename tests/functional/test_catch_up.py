"""How far back a date may be set (issue 12): a billing schedule's scheduleStartDate, a recurring-invoice
template's schedule.nextDueDate and an invoice-schedule item's runDate lie at most BILLRUN_MAX_CATCH_UP_DAYS
(default 400) before the tenant's today (its test clock for a test-mode tenant), local to the schedule's zone, the
customer's or the tenant's. Only a value being set is checked: a date that has fallen behind does not block
changes to other fields."""
from decimal import Decimal

from tests.functional.test_invoice_schedules import milestone_order

SETTING = "BILLRUN_MAX_CATCH_UP_DAYS"
CLOCK = "2026-06-15T12:00:00Z"  # 400 days before 2026-06-15 is 2025-05-11; in Kiritimati (UTC+14) it is already 06-16
TEMPLATES, SCHEDULES, INVOICE_SCHEDULES = "/v3/recurring-invoices", "/billing/schedules", "/v1/invoice-schedules"


def clocked(api, start: str = CLOCK, name: str = "Clocked"):
    return api.new_tenant(name, testMode=True, timezone="UTC", currency="USD", clockStart=start)


def assert_too_old(answer, field: str, days: int, today: str):
    assert answer.status == 400, answer.body
    assert answer.body["errorCode"] == "ValidationError" and answer.error_fields == [field], answer.body
    issue = answer.body["details"][0]["issue"]
    assert f"is {days} days before today ({today})" in issue and f"({SETTING})" in issue, issue


def template(customer_id: str, next_due: str, period: str = "MONTHLY") -> dict:
    return {"customerId": customer_id, "schedule": {"period": period, "nextDueDate": next_due},
            "recurringInvoiceLineItems": [{"amount": Decimal("10.00"), "description": "Service"}]}


def test_a_template_due_in_1900_is_refused(api, tenant):
    """The issue's reproduction: a DAILY template due 1900-01-01 would have generated ~45,800 invoices."""
    customer = api.customer(tenant)["id"]
    answer = api.post(TEMPLATES, template(customer, "1900-01-01", "DAILY"), key=tenant.key)
    assert answer.status == 400 and answer.error_fields == ["schedule.nextDueDate"], answer.body
    assert "at most 400 days back" in answer.body["message"] and SETTING in answer.body["message"]
    assert api.get(TEMPLATES, key=tenant.key).body["data"] == []


def test_template_next_due_dates_within_the_bound_in_the_customers_zone(api, monkeypatch):
    t = clocked(api)
    utc = api.customer(t, timezone="UTC")["id"]
    kiritimati = api.customer(t, name="Line Islands", timezone="Pacific/Kiritimati")["id"]
    kept = api.post(TEMPLATES, template(utc, "2025-05-11", "DAILY"), key=t.key)
    assert kept.status == 201, kept.body  # 400 days back
    assert_too_old(api.post(TEMPLATES, template(utc, "2025-05-10"), key=t.key), "schedule.nextDueDate", 401,
                   "2026-06-15")
    assert_too_old(api.post(TEMPLATES, template(kiritimati, "2025-05-11"), key=t.key), "schedule.nextDueDate", 401,
                   "2026-06-16")  # the customer's today
    path = f"{TEMPLATES}/{kept.body['id']}"
    assert_too_old(api.patch(path, {"schedule": {"nextDueDate": "2025-05-01"}}, key=t.key), "schedule.nextDueDate",
                   410, "2026-06-15")

    # the bound lowered: the stored nextDueDate (2025-05-11) now lies too far back, yet other fields still change
    monkeypatch.setenv(SETTING, "30")
    lines = api.patch(path, {"recurringInvoiceLineItems": [{"amount": Decimal("12.00")}]}, key=t.key)
    assert lines.status == 200 and lines.body["recurringInvoiceLineItems"][0]["amount"] == Decimal("12.00"), lines.body
    advance_only = api.patch(path, {"schedule": {"daysInAdvance": 2}}, key=t.key)
    assert advance_only.status == 200 and advance_only.body["schedule"]["nextDueDate"] == "2025-05-11"
    echoed = api.put(path, {**template(utc, "2025-05-11", "DAILY"), "recurringInvoiceLineItems": [{"amount": 1}]},
                     key=t.key)
    assert echoed.status == 200, echoed.body  # PUT sends the stored nextDueDate back: not being set
    assert_too_old(api.put(path, template(utc, "2025-05-12", "DAILY"), key=t.key), "schedule.nextDueDate", 399,
                   "2026-06-15")
    assert api.patch(path, {"schedule": {"nextDueDate": "2026-06-01"}}, key=t.key).status == 200  # 14 days back


def test_billing_schedule_start_dates_within_the_bound_in_the_schedules_zone(api):
    t = clocked(api)
    body = {"scheduleType": "Recurring", "recurringSchedule": "0 0 3 ? * *", "zoneId": "UTC"}
    kept = api.post(SCHEDULES, {**body, "scheduleStartDate": "2025-05-11"}, key=t.key)
    assert kept.status == 201, kept.body
    assert_too_old(api.post(SCHEDULES, {**body, "scheduleStartDate": "2025-05-10"}, key=t.key),
                   "scheduleStartDate", 401, "2026-06-15")
    assert_too_old(api.post(SCHEDULES, {**body, "scheduleStartDate": "2025-05-11", "zoneId": "Pacific/Kiritimati"},
                            key=t.key), "scheduleStartDate", 401, "2026-06-16")
    path = f"{SCHEDULES}/{kept.body['id']}"
    assert_too_old(api.patch(path, {"scheduleStartDate": "2024-01-01"}, key=t.key), "scheduleStartDate", 896,
                   "2026-06-15")
    # a year later (the schedule still Draft: nothing runs) its start has fallen behind; other fields still change
    assert api.post("/test/clock:advance", {"to": "2027-06-15T12:00:00Z"}, key=t.key).status == 200
    renamed = api.patch(path, {"description": "nightly"}, key=t.key)
    assert renamed.status == 200 and renamed.body["scheduleStartDate"] == "2025-05-11", renamed.body
    assert_too_old(api.patch(path, {"scheduleStartDate": "2025-05-12"}, key=t.key), "scheduleStartDate", 764,
                   "2027-06-15")


def test_invoice_schedule_run_dates_within_the_bound(api, monkeypatch):
    t = clocked(api)
    order = milestone_order(api, t)["id"]
    items = [{"runDate": "2025-05-10", "amount": Decimal("400.00")},
             {"runDate": "2026-08-01", "amount": Decimal("600.00")}]
    assert_too_old(api.post(INVOICE_SCHEDULES, {"orders": [order], "scheduleItems": items}, key=t.key),
                   "scheduleItems[0].runDate", 401, "2026-06-15")
    items[0]["runDate"] = "2026-06-01"
    created = api.post(INVOICE_SCHEDULES, {"orders": [order], "scheduleItems": items}, key=t.key)
    assert created.status == 201, created.body
    first, second = created.body["scheduleItems"]
    path = f"{INVOICE_SCHEDULES}/{created.body['id']}"

    # the bound lowered below the first item's age (14 days): listing it unchanged is fine, moving it back is not
    monkeypatch.setenv(SETTING, "10")
    kept = api.put(path, {"notes": "kept", "scheduleItems": [
        {"id": first["id"], "runDate": "2026-06-01", "amount": Decimal("500.00")},
        {"id": second["id"], "runDate": "2026-08-01", "amount": Decimal("500.00")}]}, key=t.key)
    assert kept.status == 200 and kept.body["notes"] == "kept", kept.body
    assert_too_old(api.put(path, {"scheduleItems": [
        {"id": first["id"], "runDate": "2026-06-01", "amount": Decimal("500.00")},
        {"runDate": "2026-06-02", "amount": Decimal("500.00")}]}, key=t.key), "scheduleItems[1].runDate", 13,
        "2026-06-15")
    assert_too_old(api.put(path, {"scheduleItems": [
        {"id": first["id"], "runDate": "2026-05-31", "amount": Decimal("1000.00")}]}, key=t.key),
        "scheduleItems[0].runDate", 15, "2026-06-15")


def test_a_tenant_whose_clock_is_in_2020_may_use_2020_dates(api):
    t = clocked(api, "2020-01-01T00:00:00Z", name="Time traveller")
    customer = api.customer(t)["id"]
    assert api.post(TEMPLATES, template(customer, "2020-01-01", "DAILY"), key=t.key).status == 201
    schedule = {"scheduleType": "Recurring", "recurringSchedule": "0 0 3 ? * *", "scheduleStartDate": "2020-01-01"}
    assert api.post(SCHEDULES, schedule, key=t.key).status == 201
    order = milestone_order(api, t)["id"]
    items = [{"runDate": "2020-02-01", "amount": Decimal("1000.00")}]
    assert api.post(INVOICE_SCHEDULES, {"orders": [order], "scheduleItems": items}, key=t.key).status == 201
    assert_too_old(api.post(SCHEDULES, {**schedule, "scheduleStartDate": "2018-11-26"}, key=t.key),
                   "scheduleStartDate", 401, "2020-01-01")
