"""A billing job that fails on every attempt (issue 15): past the attempt cap invoice jobs have too
(store/leases.py) it is Failed with its reason, the JobsFailed metric is emitted, and its schedule's next slot
runs; POST /billing/jobs/{id}:retry runs it again in a new attempt series (409 JobNotFailed unless it is Failed),
and nothing is billed twice across Failed -> retry."""
from datetime import timedelta

import pytest

from chalicelib import observability
from chalicelib.services import billing_job_runner, tick
from chalicelib.services import billing_jobs as billing_jobs_service
from chalicelib.store.leases import MAX_ATTEMPTS
from tests.functional.test_billing_api import clock_tenant
from tests.functional.test_fanout import world
from tests.functional.test_observability import emf, printed

BROKEN = "the store is down"


def monthly(api, customers: int = 3):
    """A test-mode tenant at 2025-01-01 with `customers` subscribed customers and an Active monthly schedule."""
    t = clock_tenant(api, "2025-01-01T00:00:00Z")
    world(api, t, customers, 1)
    schedule = api.post("/billing/schedules", {"scheduleType": "Recurring", "recurringSchedule": "0 0 0 1 * ?",
                                               "scheduleStartDate": "2025-01-01"}, key=t.key).body
    assert api.post("/billing/schedules:activate", {"scheduleIds": [schedule["id"]]}, key=t.key).status == 200
    return t, schedule


def jobs_by_month(api, t, schedule) -> dict:
    data = api.get(f"/billing/jobs?scheduleId={schedule['id']}&limit=100", key=t.key).body["data"]
    return {j["scheduledTime"][:7]: j for j in data}


def invoice_ids(api, t) -> list[str]:
    return sorted(i["id"] for i in api.get("/billing/invoices?limit=1000", key=t.key).body["data"])


def advance(api, t, to: str) -> dict:
    answer = api.post("/test/clock:advance", {"to": to}, key=t.key)
    assert answer.status == 200 and answer.body["status"] == "Ready", answer.body
    return answer.body


@pytest.fixture(name="january_broken")
def january_broken_fixture(monkeypatch):
    """January's job raises on every attempt (before it bills anything) while `broken["on"]`."""
    broken = {"on": True}
    real = billing_jobs_service.find_scope

    def find_scope(tenant_id, job):
        if broken["on"] and job.scheduled_time.month == 1:
            raise RuntimeError(BROKEN)
        return real(tenant_id, job)
    monkeypatch.setattr(billing_jobs_service, "find_scope", find_scope)
    return broken


def test_a_job_failing_every_attempt_is_failed_with_its_reason_and_the_schedule_moves_on(
        api, january_broken, capsys):
    t, schedule = monthly(api)
    printed(capsys)
    advance(api, t, "2025-02-15T00:00:00Z")
    jobs = jobs_by_month(api, t, schedule)
    january, february = jobs["2025-01"], jobs["2025-02"]
    assert january["status"] == "Failed", january
    assert january["error"] == f"gave up after {MAX_ATTEMPTS} attempts: RuntimeError: {BROKEN}"
    assert january["attempts"] == MAX_ATTEMPTS + 1  # the attempt past the cap gives up without running
    assert february["status"] == "Completed" and february["counts"]["billed"] == 3, february
    assert api.get(f"/billing/schedules/{schedule['id']}", key=t.key).body["nextRunDate"].startswith("2025-03-01")
    [metric] = emf(printed(capsys), observability.JOBS_FAILED)
    assert metric[observability.JOBS_FAILED] == [1.0] and metric["jobId"] == january["id"]
    assert metric["status"] == "Failed"


def test_retry_runs_a_failed_job_again_in_a_new_attempt_series(api, january_broken):
    t, schedule = monthly(api)
    advance(api, t, "2025-01-15T00:00:00Z")
    january = jobs_by_month(api, t, schedule)["2025-01"]
    assert january["status"] == "Failed" and invoice_ids(api, t) == []
    january_broken["on"] = False  # the store is back
    key = {"Idempotency-Key": "retry-january"}
    answer = api.post(f"/billing/jobs/{january['id']}:retry", key=t.key, headers=key)
    assert answer.status == 200, answer.body
    done = answer.body
    assert (done["status"], done["attempts"], done["retries"], done["error"]) == ("Completed", 1, 1, None), done
    assert done["counts"]["billed"] == 3 and len(invoice_ids(api, t)) == 3
    again = api.post(f"/billing/jobs/{january['id']}:retry", key=t.key, headers=key)  # a retried request
    assert again.status == 200 and again.body == done and again.headers.get("idempotent-replayed")
    twice = api.post(f"/billing/jobs/{january['id']}:retry", key=t.key)  # a second retry: the job is not Failed
    assert twice.status == 409 and twice.body["errorCode"] == "JobNotFailed", twice.body
    assert "Completed" in twice.body["message"]
    assert len(invoice_ids(api, t)) == 3


def test_only_a_failed_job_can_be_retried(api):
    t, schedule = monthly(api, customers=1)
    advance(api, t, "2025-01-15T00:00:00Z")
    january = jobs_by_month(api, t, schedule)["2025-01"]
    assert january["status"] == "Completed"
    answer = api.post(f"/billing/jobs/{january['id']}:retry", key=t.key)
    assert answer.status == 409 and answer.body["errorCode"] == "JobNotFailed", answer.body
    assert api.post("/billing/jobs/no-such-job:retry", key=t.key).status == 404


def test_a_job_that_billed_then_failed_every_attempt_is_billed_once_across_failed_and_retry(api, monkeypatch):
    """Each attempt bills every customer, then raises before the job completes (a crash after billing): five
    attempts, the Failed job and its retry all leave one invoice per customer (the ledger's exactly-once)."""
    t, schedule = monthly(api)
    real = billing_job_runner._bill_scope
    crashing = {"on": True}

    def bill_scope(*args):
        result = real(*args)
        if crashing["on"]:
            raise RuntimeError("crashed after billing")
        return result
    monkeypatch.setattr(billing_job_runner, "_bill_scope", bill_scope)
    advance(api, t, "2025-01-15T00:00:00Z")
    january = jobs_by_month(api, t, schedule)["2025-01"]
    assert january["status"] == "Failed" and "crashed after billing" in january["error"], january
    billed = invoice_ids(api, t)
    assert len(billed) == 3
    crashing["on"] = False
    done = api.post(f"/billing/jobs/{january['id']}:retry", key=t.key).body
    assert done["status"] == "Completed" and done["retries"] == 1, done
    assert invoice_ids(api, t) == billed
    assert sorted(d["invoiceId"] for d in done["decisions"] if d["invoiceId"]) == billed


@pytest.mark.wall("2025-06-01T00:00:00Z")
def test_a_live_job_backs_off_between_attempts(api, tenant, wall, monkeypatch):
    """A passing outage must not use up the cap in a few ticks: a live job's next attempt waits 1, 2, 4, 8
    minutes after a failed one (store/leases.py backoff); the wall-clock tick retries it once that has passed."""
    world(api, tenant, 1, 1)
    attempts = []

    def broken(tenant_id, job):
        attempts.append(wall.now)
        raise RuntimeError(BROKEN)
    monkeypatch.setattr(billing_jobs_service, "find_scope", broken)
    schedule = api.post("/billing/schedules", {"scheduleType": "OnDemand"}, key=tenant.key).body
    activated = api.post("/billing/schedules:activate", {"scheduleIds": [schedule["id"]]}, key=tenant.key)
    assert activated.status == 200, activated.body  # the activation was made; its job's first attempt failed
    ran = api.post(f"/billing/schedules/{schedule['id']}:run", {}, key=tenant.key)  # a request-made job: the same
    assert ran.status == 201 and (ran.body["status"], ran.body["error"]) == ("Running", f"RuntimeError: {BROKEN}")
    [job] = [j for j in api.get(f"/billing/jobs?scheduleId={schedule['id']}", key=tenant.key).body["data"]
             if j["id"] != ran.body["id"]]  # the activation's
    for minutes in (1, 2, 4, 8):
        wall.now += timedelta(minutes=minutes) - timedelta(seconds=1)
        tick.run_wall_tick(wall.now)  # a second early: not yet
        wall.now += timedelta(seconds=1)
        tick.run_wall_tick(wall.now)
    # both jobs began at the same instant, so each tick retries both: the attempts' instants come in pairs
    assert sorted({(a - attempts[0]).total_seconds() / 60 for a in attempts}) == [0, 1, 3, 7, 15]
    wall.now += timedelta(minutes=10)
    tick.run_wall_tick(wall.now)  # the attempt past the cap gives up
    job = api.get(f"/billing/jobs/{job['id']}", key=tenant.key).body
    assert (job["status"], job["attempts"]) == ("Failed", MAX_ATTEMPTS + 1)
