"""Billing lists in time order, and batch activation that is all-or-nothing on unknown ids."""


def _schedule(api, t, **fields):
    body = {"scheduleType": "Recurring", "recurringSchedule": "0 0 3 ? * *", "zoneId": "UTC", **fields}
    answer = api.post("/billing/schedules", body, key=t.key)
    assert answer.status == 201, answer.body
    return answer.body


def test_jobs_list_newest_first_and_by_schedule(api):
    t = api.new_tenant("Clocked", testMode=True, clockStart="2025-01-01T00:00:00Z")
    api.active_subscription(t, startDate="2025-01-01")
    daily = _schedule(api, t, scheduleStartDate="2025-01-01")
    hourly = _schedule(api, t, recurringSchedule="0 0 */6 ? * *", scheduleStartDate="2025-01-01")
    assert api.post("/billing/schedules:activate", {"scheduleIds": [daily["id"], hourly["id"]]}, key=t.key).status == 200
    assert api.post("/test/clock:advance", {"to": "2025-01-03T00:00:00Z"}, key=t.key).status == 200

    jobs = api.get("/billing/jobs?limit=1000", key=t.key).body["data"]
    times = [j["scheduledTime"] for j in jobs]
    assert len(jobs) == 2 + 9 and times == sorted(times, reverse=True)  # 03:00 x2; 00,06,12,18 x2 + Jan 3 00:00
    of_daily = api.get(f"/billing/jobs?scheduleId={daily['id']}", key=t.key).body["data"]
    assert [j["scheduledTime"] for j in of_daily] == ["2025-01-02T03:00:00.000+00:00", "2025-01-01T03:00:00.000+00:00"]
    assert {j["scheduleId"] for j in of_daily} == {daily["id"]}

    first = api.get("/billing/jobs?limit=4", key=t.key).body
    rest = api.get(f"/billing/jobs?limit=1000&nextToken={first['nextToken']}", key=t.key).body["data"]
    assert [j["id"] for j in first["data"] + rest] == [j["id"] for j in jobs]


def test_batch_activation_with_an_unknown_id_changes_nothing(api, tenant):
    schedule = _schedule(api, tenant)
    answer = api.post("/billing/schedules:activate", {"scheduleIds": [schedule["id"], "no-such-schedule"]},
                      key=tenant.key)
    assert answer.status == 404 and answer.error_fields == ["scheduleIds"]
    assert api.get(f"/billing/schedules/{schedule['id']}", key=tenant.key).body["status"] == "Draft"

    active = _schedule(api, tenant)
    assert api.post("/billing/schedules:activate", {"scheduleIds": [active["id"]]}, key=tenant.key).status == 200
    refused = api.post("/billing/schedules:deactivate", {"scheduleIds": [active["id"], schedule["id"]]},
                       key=tenant.key)
    assert refused.status == 409  # the Draft one cannot be deactivated, so neither is
    assert api.get(f"/billing/schedules/{active['id']}", key=tenant.key).body["status"] == "Active"


def test_preview_refuses_bad_filters_and_schedule_plus_filters(api, tenant):
    bad = api.post("/billing/jobs:preview", {"customerFilter": "{id: {_eqq: \"x\"}}"}, key=tenant.key)
    assert bad.status == 400 and bad.error_fields == ["customerFilter"] and "_eqq" in bad.body["message"]
    cycle = api.post("/billing/jobs:preview", {"billCycleDayFilter": "0"}, key=tenant.key)
    assert cycle.status == 400 and cycle.error_fields == ["billCycleDayFilter"]
    schedule = _schedule(api, tenant)
    both = api.post("/billing/jobs:preview", {"scheduleId": schedule["id"], "orderFilter": "{}"}, key=tenant.key)
    assert both.status == 400 and both.error_fields == ["scheduleId"]
    empty = api.post("/billing/jobs:preview", {"scheduleId": schedule["id"]}, key=tenant.key)
    assert empty.status == 200 and empty.body["invoices"] == [] and empty.body["decisions"] == []
