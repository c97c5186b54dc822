"""A billing schedule's slots lie at least BILLRUN_MIN_SLOT_INTERVAL_SECONDS apart (issue 12): every slot is a
billing job, so a cron firing every second is refused at create and at PATCH (billing schedules have no PUT),
naming recurringSchedule and saying the interval found and the minimum."""
PATH = "/billing/schedules"
SETTING = "BILLRUN_MIN_SLOT_INTERVAL_SECONDS"


def recurring(cron: str, **fields) -> dict:
    return {"scheduleType": "Recurring", "recurringSchedule": cron, "zoneId": "UTC", **fields}


def assert_refused(answer, *issue_parts):
    assert answer.status == 400, answer.body
    assert answer.body["errorCode"] == "ValidationError" and answer.error_fields == ["recurringSchedule"], answer.body
    issue = answer.body["details"][0]["issue"]
    assert all(part in issue for part in issue_parts), issue


def test_a_per_second_cron_is_refused_and_the_clock_runs_no_job(api):
    """The issue's reproduction: an Active per-second schedule, then a one-minute clock advance (61 jobs before)."""
    t = api.new_tenant("Clocked", testMode=True, timezone="UTC", clockStart="2025-01-01T00:00:00Z")
    api.active_subscription(t, startDate="2025-01-01")
    assert_refused(api.post(PATH, recurring("* * * * * ?", status="Active"), key=t.key),
                   "fires every 1 s (at 00:00:00 and 00:00:01); slots must be at least 1 h apart (" + SETTING + ")")
    assert_refused(api.post(PATH, recurring("0 * * * * ?", status="Active"), key=t.key),
                   "fires every 1 min (at 00:00:00 and 00:01:00)", "at least 1 h apart")
    assert api.get(PATH, key=t.key).body["data"] == []
    advanced = api.post("/test/clock:advance", {"to": "2025-01-01T00:01:00Z"}, key=t.key)
    assert advanced.status == 200 and advanced.body["ran"]["billingJobs"] == 0


def test_the_minimum_under_the_default_and_other_settings(api, tenant, monkeypatch):
    for cron in ("0 0 * * * ?", "0 0 3 ? * *", "0 0 0,23 ? * *"):  # hourly, daily, 23:00 then 00:00: all 1 h+
        assert api.post(PATH, recurring(cron), key=tenant.key).status == 201, cron
    monkeypatch.setenv(SETTING, "7200")
    assert_refused(api.post(PATH, recurring("0 0 0,23 ? * *"), key=tenant.key),
                   "fires every 1 h (at 23:00:00 and 00:00:00 the next day); slots must be at least 2 h apart")
    assert_refused(api.post(PATH, recurring("0 0 * * * ?"), key=tenant.key), "every 1 h (at 00:00:00 and 01:00:00)")
    assert api.post(PATH, recurring("0 0 */2 * * ?"), key=tenant.key).status == 201
    monkeypatch.setenv(SETTING, "60")
    assert api.post(PATH, recurring("0 * * * * ?"), key=tenant.key).status == 201
    assert_refused(api.post(PATH, recurring("* * * * * ?"), key=tenant.key), "at least 1 min apart")
    on_demand = api.post(PATH, {"scheduleType": "OnDemand"}, key=tenant.key)  # runs once: no cron, no interval
    assert on_demand.status == 201, on_demand.body


def test_patch_refuses_a_cron_closer_than_the_minimum_and_keeps_a_stored_one(api, tenant, monkeypatch):
    daily = api.post(PATH, recurring("0 0 3 ? * *"), key=tenant.key).body
    assert_refused(api.patch(f"{PATH}/{daily['id']}", {"recurringSchedule": "* * * * * ?"}, key=tenant.key),
                   "fires every 1 s")
    assert api.get(f"{PATH}/{daily['id']}", key=tenant.key).body["recurringSchedule"] == "0 0 3 ? * *"
    assert_refused(api.patch(f"{PATH}/{daily['id']}", {"recurringSchedule": "0 */5 * * * ?", "description": "x"},
                             key=tenant.key), "fires every 5 min")
    # a cron stored under a lower minimum stays: other fields change, the cron itself only to one that is allowed
    monkeypatch.setenv(SETTING, "60")
    minutely = api.post(PATH, recurring("0 * * * * ?"), key=tenant.key).body
    monkeypatch.delenv(SETTING)
    renamed = api.patch(f"{PATH}/{minutely['id']}", {"description": "every minute"}, key=tenant.key)
    assert renamed.status == 200 and renamed.body["description"] == "every minute", renamed.body
    assert_refused(api.patch(f"{PATH}/{minutely['id']}", {"recurringSchedule": "30 * * * * ?"}, key=tenant.key),
                   "at least 1 h apart")
    assert api.patch(f"{PATH}/{minutely['id']}", {"recurringSchedule": "0 0 * * * ?"}, key=tenant.key).status == 200
