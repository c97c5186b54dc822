"""Per-tenant quotas (issue 12, docs/limits.md): billing schedules and recurring invoices not archived answer 409
QuotaExceeded at their limit, open jobs (invoice jobs and bill runs a request queued) 429 TooManyOpenJobs with
Retry-After. Counting is exact under Idempotency-Key retries and concurrent creates, and self-healing after a
crash; the tick's own bill runs are never refused. Limits are set small through their environment variables."""
import os
import threading
import time
from datetime import timedelta
from decimal import Decimal as D

import pytest

from chalicelib.services import invoices as invoice_service
from chalicelib.services import quotas
from chalicelib.store import idempotency
from chalicelib.store import quotas as quota_store
from chalicelib.store import billing_schedules as schedule_store
from chalicelib.store.engine_models import CounterModel
from tests.functional.test_exactly_once import concurrently
from tests.functional.test_invoice_schedules import (  # noqa: F401  (seed_world is a fixture)
    clocked, execute, get_schedule, milestone_order, new_schedule as new_invoice_schedule, seed_world, statuses,
    wall_tick)
from tests.functional.test_recurring_invoices import PATH as TEMPLATES
from tests.functional.test_recurring_invoices import clock_tenant as template_tenant
from tests.functional.test_recurring_invoices import template_body

SCHEDULES = "/billing/schedules"
DRAFTS = {"graphqlFilter": '{status: {_eq: "Draft"}}'}


def new_billing_schedule(api, t, **kw):
    return api.post(SCHEDULES, {"scheduleType": "OnDemand"}, key=t.key, **kw)


def tally(t, quota: str):
    return quota_store.read(t.id, quota)


def schedule_ids(api, t) -> list[str]:
    return [s["id"] for s in api.get(f"{SCHEDULES}?limit=1000", key=t.key).body["data"]]


def assert_quota_exceeded(answer, quota: str, message: str):
    assert answer.status == 409, (answer.status, answer.body)
    assert answer.body == {"errorCode": "QuotaExceeded", "message": message,
                           "details": [{"field": quota, "issue": answer.body["details"][0]["issue"]}]}


def assert_too_many_open_jobs(answer, limit: int):
    assert answer.status == 429, (answer.status, answer.body)
    assert answer.headers["retry-after"] == "60"
    assert answer.body["errorCode"] == "TooManyOpenJobs"
    assert answer.body["message"] == (f"this tenant has {limit} invoice jobs and bill runs not finished yet, the "
                                      "most allowed (BILLRUN_MAX_OPEN_JOBS); retry once one has finished")
    assert answer.body["details"] == [{"field": "openJobs", "issue": f"at most {limit} per tenant"}]


def concurrent_requests(monkeypatch, n: int, action) -> list:
    """chalice.test swaps os.environ for a copy during each request, so concurrent requests can leave a copy
    (holding the test's limits) in place: teardown puts the real one back before it unsets the limits."""
    monkeypatch.setattr(os, "environ", os.environ)
    return concurrently(n, action)


@pytest.fixture
def later(wall):
    """later(): the wall clock moved past IN_FLIGHT, when an admission whose object never appeared is known to
    have died."""
    def move():
        wall.now += quotas.IN_FLIGHT + timedelta(seconds=1)
    return move


def dies(*args, **kwargs):
    raise RuntimeError("the request's process died here")


# --- billing schedules -----------------------------------------------------------------------------------------

def test_a_billing_schedule_past_the_quota_is_409_and_writes_nothing_until_one_is_deleted(api, tenant, monkeypatch):
    monkeypatch.setenv("BILLRUN_MAX_BILLING_SCHEDULES", "2")
    first, second = (new_billing_schedule(api, tenant).body for _ in range(2))
    refused = new_billing_schedule(api, tenant)
    assert_quota_exceeded(refused, "billingSchedules", "this tenant has 2 billing schedules, the most allowed "
                                                       "(BILLRUN_MAX_BILLING_SCHEDULES); delete one first")
    assert refused.body["details"][0]["issue"] == "at most 2 per tenant"
    assert sorted(schedule_ids(api, tenant)) == sorted([first["id"], second["id"]])
    assert api.delete(f"{SCHEDULES}/{first['id']}", key=tenant.key).status == 200
    assert api.delete(f"{SCHEDULES}/{first['id']}", key=tenant.key).status == 404  # frees no second slot
    third = new_billing_schedule(api, tenant)
    assert third.status == 201 and third.body["name"] == "BS-00000003"  # the refused create drew no number
    assert new_billing_schedule(api, tenant).status == 409
    assert tally(tenant, "billingSchedules").count == 2


def test_an_idempotency_key_retry_is_counted_once(api, tenant, monkeypatch):
    monkeypatch.setenv("BILLRUN_MAX_BILLING_SCHEDULES", "3")
    new_billing_schedule(api, tenant)
    key = {"Idempotency-Key": "schedule-1"}
    first = new_billing_schedule(api, tenant, headers=key)
    replayed = new_billing_schedule(api, tenant, headers=key)
    assert first.status == replayed.status == 201 and replayed.body == first.body
    assert replayed.headers.get("idempotent-replayed") == "true"
    # The answer was lost (the record never written): the retry runs the create again, with the same ids.
    monkeypatch.setattr(idempotency, "record", lambda scope, k, *rest: idempotency.release(scope, k))
    key = {"Idempotency-Key": "schedule-2"}
    at_limit_minus_one = new_billing_schedule(api, tenant, headers=key)
    again = new_billing_schedule(api, tenant, headers=key)
    assert at_limit_minus_one.status == again.status == 201 and again.body == at_limit_minus_one.body
    assert "idempotent-replayed" not in again.headers
    assert tally(tenant, "billingSchedules").count == 3 and tally(tenant, "billingSchedules").entries == {}
    assert len(schedule_ids(api, tenant)) == 3
    assert new_billing_schedule(api, tenant).status == 409


def test_concurrent_creates_at_limit_minus_one_admit_exactly_one(api, tenant, monkeypatch):
    monkeypatch.setenv("BILLRUN_MAX_BILLING_SCHEDULES", "2")
    new_billing_schedule(api, tenant)
    real = schedule_store.schedules.create

    def slow(*args):  # the admitted create writes only after the others have recounted
        time.sleep(0.3)
        return real(*args)

    monkeypatch.setattr(schedule_store.schedules, "create", slow)
    answers = concurrent_requests(monkeypatch, 4, lambda: new_billing_schedule(api, tenant))
    assert sorted(a.status for a in answers) == [201, 409, 409, 409], [a.body for a in answers]
    assert len(schedule_ids(api, tenant)) == 2 and tally(tenant, "billingSchedules").count == 2


def test_a_create_that_died_after_its_admission_holds_the_slot_only_until_it_is_known_dead(
        api, tenant, monkeypatch, later):
    monkeypatch.setenv("BILLRUN_MAX_BILLING_SCHEDULES", "2")
    new_billing_schedule(api, tenant)
    real = schedule_store.schedules.create
    monkeypatch.setattr(schedule_store.schedules, "create", dies)
    key = {"Idempotency-Key": "dies-once"}
    assert new_billing_schedule(api, tenant, headers=key, check=False).status == 500  # (a 500 is undocumented)
    monkeypatch.setattr(schedule_store.schedules, "create", real)
    retried = new_billing_schedule(api, tenant, headers=key)  # the retry reuses the admission
    assert retried.status == 201 and tally(tenant, "billingSchedules").count == 2
    assert api.delete(f"{SCHEDULES}/{retried.body['id']}", key=tenant.key).status == 200

    monkeypatch.setattr(schedule_store.schedules, "create", dies)
    assert new_billing_schedule(api, tenant, check=False).status == 500  # and no retry comes
    monkeypatch.setattr(schedule_store.schedules, "create", real)
    assert new_billing_schedule(api, tenant).status == 409  # it might still be writing
    later()
    assert new_billing_schedule(api, tenant).status == 201  # the recount at the limit dropped it
    assert len(schedule_ids(api, tenant)) == 2 and tally(tenant, "billingSchedules").count == 2


def test_a_refused_write_gives_its_slot_back_at_once(api, tenant, monkeypatch):
    from chalicelib.domain.errors import conflict
    monkeypatch.setenv("BILLRUN_MAX_BILLING_SCHEDULES", "1")
    real = schedule_store.schedules.create

    def refused(*args):
        raise conflict("refused by the store")

    monkeypatch.setattr(schedule_store.schedules, "create", refused)
    assert new_billing_schedule(api, tenant).status == 409
    monkeypatch.setattr(schedule_store.schedules, "create", real)
    assert new_billing_schedule(api, tenant).status == 201


def test_a_delete_that_died_before_its_release_is_recounted_at_the_limit(api, tenant, monkeypatch):
    monkeypatch.setenv("BILLRUN_MAX_BILLING_SCHEDULES", "2")
    first, _ = (new_billing_schedule(api, tenant).body for _ in range(2))
    monkeypatch.setattr(quotas, "release", lambda *args: None)
    assert api.delete(f"{SCHEDULES}/{first['id']}", key=tenant.key).status == 200
    assert tally(tenant, "billingSchedules").count == 2  # one too many, until the limit
    assert new_billing_schedule(api, tenant).status == 201
    assert tally(tenant, "billingSchedules").count == 2
    assert new_billing_schedule(api, tenant).status == 409


def test_counting_starts_from_what_exists(api, tenant, monkeypatch):
    """Schedules made before the quota item existed (an upgrade) are counted on the first admission that fails."""
    monkeypatch.setenv("BILLRUN_MAX_BILLING_SCHEDULES", "3")
    for _ in range(2):
        new_billing_schedule(api, tenant)
    CounterModel(tenant_id=tenant.id, name="quota#billingSchedules").delete()
    assert new_billing_schedule(api, tenant).status == 201
    assert new_billing_schedule(api, tenant).status == 409
    assert tally(tenant, "billingSchedules").count == 3


# --- recurring invoices ------------------------------------------------------------------------------------------

def test_archive_frees_a_template_slot_and_restore_takes_one(api, monkeypatch):
    monkeypatch.setenv("BILLRUN_MAX_RECURRING_INVOICES", "2")
    t = template_tenant(api)
    body = template_body(api.customer(t)["id"])
    a, b = (api.post(TEMPLATES, body, key=t.key).body for _ in range(2))
    message = ("this tenant has 2 recurring invoices that are not archived, the most allowed "
               "(BILLRUN_MAX_RECURRING_INVOICES); archive one first")
    assert_quota_exceeded(api.post(TEMPLATES, body, key=t.key), "recurringInvoices", message)
    assert api.post(f"{TEMPLATES}/{a['id']}/archive", key=t.key).status == 200
    assert api.post(f"{TEMPLATES}/{a['id']}/archive", key=t.key).status == 200  # already archived: no slot freed
    c = api.post(TEMPLATES, body, key=t.key)
    assert c.status == 201
    assert api.post(TEMPLATES, body, key=t.key).status == 409
    assert_quota_exceeded(api.post(f"{TEMPLATES}/{a['id']}/restore", key=t.key), "recurringInvoices", message)
    assert api.get(f"{TEMPLATES}/{a['id']}", key=t.key).body["archived"] is True  # the refused restore wrote nothing
    assert api.post(f"{TEMPLATES}/{c.body['id']}/archive", key=t.key).status == 200
    restored = api.post(f"{TEMPLATES}/{a['id']}/restore", key=t.key)
    assert restored.status == 200 and restored.body["archived"] is False
    assert api.post(f"{TEMPLATES}/{a['id']}/restore", key=t.key).status == 200  # already restored: no slot taken
    assert tally(t, "recurringInvoices").count == 2 and tally(t, "recurringInvoices").entries == {}
    assert {x["id"] for x in api.get(f"{TEMPLATES}?archived=false", key=t.key).body["data"]} == {a["id"], b["id"]}


def test_template_creates_retried_with_their_key_count_once_and_archived_ones_are_not_recounted(api, monkeypatch):
    monkeypatch.setenv("BILLRUN_MAX_RECURRING_INVOICES", "2")
    t = template_tenant(api)
    body = template_body(api.customer(t)["id"])
    monkeypatch.setattr(idempotency, "record", lambda scope, k, *rest: idempotency.release(scope, k))
    first = api.post(TEMPLATES, body, key=t.key, headers={"Idempotency-Key": "t-1"})
    again = api.post(TEMPLATES, body, key=t.key, headers={"Idempotency-Key": "t-1"})
    assert first.status == again.status == 201 and again.body == first.body
    assert api.post(f"{TEMPLATES}/{first.body['id']}/archive", key=t.key).status == 200
    CounterModel(tenant_id=t.id, name="quota#recurringInvoices").delete()  # the recount sees what exists
    assert [api.post(TEMPLATES, body, key=t.key).status for _ in range(3)] == [201, 201, 409]
    assert tally(t, "recurringInvoices").count == 2


# --- open jobs -----------------------------------------------------------------------------------------------------

def test_bill_runs_past_the_open_job_quota_are_429_until_one_finishes(api, seed_world, monkeypatch):
    monkeypatch.setenv("BILLRUN_MAX_OPEN_JOBS", "2")
    t, _, schedule = seed_world
    first, second, third = (i["id"] for i in schedule["scheduleItems"])
    assert execute(api, t, schedule["id"], {"scheduleItemId": first}).status == 201
    key = {"Idempotency-Key": "second"}
    made = execute(api, t, schedule["id"], {"scheduleItemId": second}, headers=key)
    assert made.status == 201 and execute(api, t, schedule["id"], {"scheduleItemId": second}, headers=key).body == \
        made.body
    assert_too_many_open_jobs(execute(api, t, schedule["id"], {"scheduleItemId": third}), 2)
    assert statuses(get_schedule(api, t, schedule["id"])) == ["Executing", "Executing", "Pending"]
    assert api.get("/v1/bill-runs/BR-00000003", key=t.key).status == 404  # the refused request made no bill run
    wall_tick()  # both runs complete, and free their slots
    assert tally(t, "openJobs").entries == {}
    assert execute(api, t, schedule["id"], {"scheduleItemId": third}).status == 201


def test_concurrent_executes_for_two_open_job_slots_admit_exactly_two(api, seed_world, monkeypatch):
    """The tenant's first jobs: the requests also race to make the quota's item."""
    monkeypatch.setenv("BILLRUN_MAX_OPEN_JOBS", "2")
    t, _, schedule = seed_world
    items, lock = [i["id"] for i in schedule["scheduleItems"]], threading.Lock()

    def execute_one():
        with lock:
            item = items.pop()
        return execute(api, t, schedule["id"], {"scheduleItemId": item})

    answers = concurrent_requests(monkeypatch, 3, execute_one)
    assert sorted(a.status for a in answers) == [201, 201, 429], [a.body for a in answers]
    assert len(tally(t, "openJobs").entries) == 2


def test_the_tenants_first_jobs_racing_to_make_the_quota_item_both_pass(api, seed_world, monkeypatch):
    """Both first tries fail (no item yet); one request makes the item and is admitted; the other reads the item
    only then, with a slot still free: it tries again rather than refusing."""
    monkeypatch.setenv("BILLRUN_MAX_OPEN_JOBS", "2")
    t, _, schedule = seed_world
    real, lock, both_tried, tries = quota_store.add_open, threading.Lock(), threading.Barrier(2), []

    def add_open(*args):
        added = real(*args)
        with lock:
            tries.append(added)
            n = len(tries)
        if n <= 2:
            both_tried.wait()
        if n == 2:
            time.sleep(0.3)  # the other request makes the item and takes its slot meanwhile
        return added

    monkeypatch.setattr(quota_store, "add_open", add_open)
    items = [i["id"] for i in schedule["scheduleItems"][:2]]

    def execute_one():
        with lock:
            item = items.pop()
        return execute(api, t, schedule["id"], {"scheduleItemId": item})

    answers = concurrent_requests(monkeypatch, 2, execute_one)
    assert [a.status for a in answers] == [201, 201], [a.body for a in answers]
    assert tries[:2] == [False, False] and len(tally(t, "openJobs").entries) == 2


def test_invoice_jobs_and_bill_runs_share_the_open_job_quota(api, seed_world, monkeypatch):
    monkeypatch.setenv("BILLRUN_MAX_OPEN_JOBS", "2")
    monkeypatch.setattr(invoice_service, "MAX_BULK", 1)  # two Draft invoices are an invoice job
    t, _, schedule = seed_world
    first, second, third = (i["id"] for i in schedule["scheduleItems"])
    for item in (first, second):
        assert execute(api, t, schedule["id"], {"scheduleItemId": item}).status == 201
    wall_tick()  # two Draft invoices
    queued = api.post("/billing/invoices:activate", DRAFTS, key=t.key)
    assert queued.status == 202, queued.body
    assert execute(api, t, schedule["id"], {"scheduleItemId": third}).status == 201
    assert_too_many_open_jobs(api.post("/billing/invoices:cancel", DRAFTS, key=t.key), 2)
    assert_too_many_open_jobs(api.delete("/billing/invoices", DRAFTS, key=t.key), 2)
    wall_tick()  # the invoice job and the bill run finish
    assert api.get(f"/billing/invoice-jobs/{queued.body['id']}", key=t.key).body["status"] == "Completed"
    assert tally(t, "openJobs").entries == {}
    assert api.post("/billing/invoices:cancel", {"graphqlFilter": '{status: {_eq: "Active"}}'},
                    key=t.key).status == 202


def test_finished_jobs_the_quota_missed_are_dropped_at_the_limit(api, seed_world, monkeypatch, later):
    from chalicelib.services import invoice_schedules
    monkeypatch.setenv("BILLRUN_MAX_OPEN_JOBS", "1")
    t, _, schedule = seed_world
    first, second, third = (i["id"] for i in schedule["scheduleItems"])
    monkeypatch.setattr(quotas, "finished_job", lambda *args: None)  # the finish's release was lost
    assert execute(api, t, schedule["id"], {"scheduleItemId": first}).status == 201
    wall_tick()
    assert len(tally(t, "openJobs").entries) == 1
    assert execute(api, t, schedule["id"], {"scheduleItemId": second}).status == 201  # the Completed run dropped
    wall_tick()
    real = invoice_schedules._create_run
    monkeypatch.setattr(invoice_schedules, "_create_run", dies)
    assert execute(api, t, schedule["id"], {"scheduleItemId": third}, check=False).status == 500
    monkeypatch.setattr(invoice_schedules, "_create_run", real)
    assert_too_many_open_jobs(execute(api, t, schedule["id"], {"scheduleItemId": third}), 1)  # may still write
    later()
    assert execute(api, t, schedule["id"], {"scheduleItemId": third}).status == 201


def test_the_ticks_own_bill_runs_are_never_refused(api, seed_world, monkeypatch):
    monkeypatch.setenv("BILLRUN_MAX_OPEN_JOBS", "1")
    t, _, schedule = seed_world
    first, second, _ = (i["id"] for i in schedule["scheduleItems"])
    assert execute(api, t, schedule["id"], {"scheduleItemId": first}).status == 201  # open until it runs
    assert execute(api, t, schedule["id"], {"scheduleItemId": second}).status == 429
    ran = api.post("/test/clock:advance", {"to": "2023-02-01T00:00:00Z"}, key=t.key)
    # the two due items' automatic runs first (the tenant's one slot still taken), then the request's run
    assert ran.status == 200 and ran.body["ran"]["invoiceScheduleItems"] == 3, ran.body
    assert statuses(get_schedule(api, t, schedule["id"])) == ["Processed", "Processed", "Processed"]
    assert len(tally(t, "openJobs").entries) == 0  # automatic runs took no slot; the request's run freed its own


# --- isolation --------------------------------------------------------------------------------------------------

def test_one_tenant_at_its_limits_leaves_another_alone(api, seed_world, monkeypatch):
    monkeypatch.setenv("BILLRUN_MAX_BILLING_SCHEDULES", "1")
    monkeypatch.setenv("BILLRUN_MAX_RECURRING_INVOICES", "1")
    monkeypatch.setenv("BILLRUN_MAX_OPEN_JOBS", "1")
    t, _, schedule = seed_world
    other = clocked(api, name="Other shop")
    other_schedule = new_invoice_schedule(api, other, [milestone_order(api, other)["id"]], [
        {"runDate": "2022-12-03", "amount": D("1000.00")}])
    assert new_billing_schedule(api, t).status == 201 and new_billing_schedule(api, t).status == 409
    body = template_body(api.customer(t)["id"])
    assert api.post(TEMPLATES, body, key=t.key).status == 201 and api.post(TEMPLATES, body, key=t.key).status == 409
    assert execute(api, t, schedule["id"], {}).status == 201 and execute(api, t, schedule["id"], {}).status == 429

    assert new_billing_schedule(api, other).status == 201
    assert api.post(TEMPLATES, template_body(api.customer(other)["id"]), key=other.key).status == 201
    assert execute(api, other, other_schedule["id"], {}).status == 201
