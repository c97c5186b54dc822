"""A billing job with nothing in scope costs a few DynamoDB requests, not a full run, and is still a job: one per
slot, with its BJ- number, Completed, zero counts and an empty decision log, exactly once whatever the ticks do.

Requests are counted by bench/meter.py's botocore hooks on every session PynamoDB opens (failed conditional writes
included). A slot's cost is the difference between two test-clock advances over the same kind of tenant, 3 and 9
hourly slots: what an advance costs beside its slots (the clock's move, the due-work queries, the heartbeat)
cancels out. Measured: 7 per slot (UpdateItem: the BJ counter, the schedule's advance, the claim, the completion;
PutItem: the job; Query: the scope's subscriptions and its one-time charges), down from 12 (issue 12; 6 until
billing jobs billed one-time lines, issue 15)."""
import threading
from dataclasses import replace
from datetime import datetime, timedelta

import pynamodb.connection.base as pynamodb_base
import pytest
from pynamodb.connection.base import Connection

from bench.meter import Meter
from chalicelib.domain.billing_jobs import counts
from chalicelib.domain.timeutil import parse_instant
from chalicelib.services import billing_job_runner, billing_jobs, tick
from chalicelib.services import clock as clock_service
from chalicelib.store import billing_jobs as job_store
from chalicelib.store import tables
from chalicelib.store import tenants as tenant_store

START = parse_instant("2025-01-01T00:00:00Z")
HOURLY = "0 0 * ? * *"
PER_SLOT = 7  # the bound this module holds the empty slot to
WRITES = frozenset({"PutItem", "UpdateItem", "DeleteItem", "BatchWriteItem", "TransactWriteItems"})


@pytest.fixture
def meter(aws, monkeypatch):
    """bench/meter.py's hooks on every session PynamoDB opens during the test (the models' connections are dropped
    before and after, so no other test keeps a hooked client)."""
    counting, opened = Meter(), pynamodb_base.get_session

    def hooked():
        session = opened()
        counting.attach(session)
        return session

    monkeypatch.setattr(pynamodb_base, "get_session", hooked)
    tables.bind(force=True)
    yield counting
    monkeypatch.undo()
    tables.bind(force=True)


def empty_tenant(api, name: str, customer_filter: str | None = None):
    """A test-mode tenant with no subscriptions and an hourly schedule, active from its clock's start."""
    t = api.new_tenant(name, testMode=True, timezone="UTC", currency="USD", clockStart="2025-01-01T00:00:00Z")
    created = api.post("/billing/schedules", {"scheduleType": "Recurring", "recurringSchedule": HOURLY,
                                              "zoneId": "UTC", "scheduleStartDate": "2025-01-01",
                                              "customerFilter": customer_filter}, key=t.key)
    assert created.status == 201, created.body
    assert api.post("/billing/schedules:activate", {"scheduleIds": [created.body["id"]]}, key=t.key).status == 200
    return t


def advance(t, hours: int):
    tenant = tenant_store.get_tenant(t.id)
    return clock_service.advance(tenant, tenant.clock + timedelta(hours=hours))


def jobs_of(api, t) -> list[dict]:
    """The tenant's jobs in slot order, each as GET /billing/jobs/{id} answers it."""
    listed = api.get("/billing/jobs?limit=1000", key=t.key).body["data"]
    return sorted((api.get(f"/billing/jobs/{j['id']}", key=t.key).body for j in listed),
                  key=lambda job: job["scheduledTime"])


def assert_one_empty_job_per_slot(api, t, slots: int) -> None:
    jobs = jobs_of(api, t)
    assert [parse_instant(j["scheduledTime"]) for j in jobs] == [START + timedelta(hours=h) for h in range(slots)]
    for job in jobs:
        assert job["status"] == "Completed" and job["decisions"] == [], job
        assert set(job["counts"].values()) == {0}, job
    numbers = [int(j["name"].removeprefix("BJ-")) for j in jobs]
    assert all(j["name"].startswith("BJ-") for j in jobs) and numbers == sorted(set(numbers)), numbers


@pytest.mark.parametrize("customer_filter", [None, '{id: {_in: ["nobody"]}}'], ids=["tenant-wide", "by-id"])
def test_an_empty_slot_costs_a_few_requests(api, meter, customer_filter):
    counts = {}
    for hours in (2, 8):  # 3 and 9 slots: the first falls on the clock's start
        t = empty_tenant(api, f"Empty {hours}h", customer_filter)
        with meter.measuring() as tally:
            tenant, done = advance(t, hours)
        assert done and tenant.advance_ran["billingJobs"] == hours + 1
        assert tally.errors == {}, tally.errors  # no conditional write lost: nobody raced this advance
        counts[hours] = tally.of("dynamodb")
        assert_one_empty_job_per_slot(api, t, hours + 1)
    per_slot = {op: (counts[8].get(op, 0) - counts[2].get(op, 0)) / 6 for op in counts[8]}
    assert sum(per_slot.values()) <= PER_SLOT, per_slot
    # no read of a job, of the schedule or of the decision log: the scope's own Queries only
    assert per_slot.get("GetItem", 0) == 0 and per_slot["Query"] == 2, per_slot


def test_a_run_answers_the_job_as_stored_and_counts_its_decision_log(api, aws):
    """The claim and the completion answer the job from their own writes, and a first attempt counts the decisions
    it logged instead of reading the log back: both agree with what a read finds."""
    t = empty_tenant(api, "Stored")
    for _ in range(2):
        api.active_subscription(t, startDate="2025-01-01")
    tenant = tenant_store.get_tenant(t.id)
    job = billing_jobs.new_job(tenant, job_id="on-demand", scheduled_time=START, target_date=START.date(),
                               invoice_date=START.date(), created_by_id="test", now=START)
    assert job_store.claim(t.id, job.id, "runner-a", datetime.now(START.tzinfo)) == job_store.jobs.get(t.id, job.id)
    job_store.jobs.create(t.id, replace(job, id="second"))
    done = billing_job_runner.bill_job(tenant, "second", START)
    assert done == job_store.jobs.get(t.id, "second") and done.status.value == "Completed"
    assert done.counts == counts(job_store.decisions(t.id, "second")) and done.counts["invoices"] == 2


class Crash(BaseException):
    """The process dies right after a write (a BaseException, as a killed Lambda: no handler swallows it)."""


@pytest.mark.wall("2025-06-01T00:00:00Z")  # leases are taken by the fake wall clock, moved past them by the test
def test_a_crash_after_any_write_of_an_empty_slot_then_the_next_tick_converges(api, aws, wall, monkeypatch):
    """Each hour of the clock brings one slot; each advance dies right after its n-th write (the clock's move, then
    the slot's counter, job, schedule, claim and completion), and the next wall tick, after any lease ran out,
    takes the dead advance over and settles it."""
    t = empty_tenant(api, "Crashing")
    writes, crashed, crash_after = [], [], [0]
    original = Connection._make_api_call

    def dying(self, operation, kwargs):
        result = original(self, operation, kwargs)  # a failed (conditional) write raises here: not counted
        if operation in WRITES:
            writes.append(f"{operation} {kwargs.get('TableName', '').removeprefix('billrun-dev-')}")
            if len(writes) == crash_after[0]:
                crashed.append(writes[-1])
                raise Crash(writes[-1])
        return result

    monkeypatch.setattr(Connection, "_make_api_call", dying)
    for n in range(1, 7):
        writes.clear()
        crash_after[0] = n
        with pytest.raises(Crash):
            advance(t, 1)
        crash_after[0] = 0
        wall.now += max(job_store.LEASE, clock_service.LEASE) + timedelta(seconds=1)
        assert tick.run_wall_tick(wall.now).ran["clockAdvances"] == 1
        assert tenant_store.get_tenant(t.id).advancing_to is None
    assert crashed == ["UpdateItem tenants", "UpdateItem counters", "PutItem billing-jobs",
                       "UpdateItem billing-schedules", "UpdateItem billing-jobs", "UpdateItem billing-jobs"]
    assert_one_empty_job_per_slot(api, t, 7)


def test_ticks_racing_over_empty_slots_share_one_job_per_slot(api, aws):
    t = empty_tenant(api, "Racing")
    tenant = tenant_store.get_tenant(t.id)
    until = START + timedelta(hours=5)
    tenant_store.move_clock(t.id, tenant.clock, until)
    barrier, failures = threading.Barrier(3), []

    def deliver():
        try:
            barrier.wait()
            tick.process_clock(f"test#{t.id}", until)
        except BaseException as error:  # noqa: B036 - reported below
            failures.append(error)

    threads = [threading.Thread(target=deliver) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []
    assert_one_empty_job_per_slot(api, t, 6)  # numbers unique and increasing by slot; a lost race leaves a gap
