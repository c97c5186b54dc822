"""Test clocks under bounds (issue 12): an advance never holds its request past its budget. It moves the clock,
works while the request's budget lasts, then answers 202 and goes on in the worker (one work-queue message per
turn) or, if its runner died, in the wall-clock tick; GET /test/clock shows the target and the progress. The
work done in steps equals the work of one uninterrupted advance."""
import time
from datetime import datetime, timedelta, timezone
from decimal import Decimal

import pytest

from chalicelib.domain.timeutil import parse_instant
from chalicelib.local.ticker import sqs_event
from chalicelib.services import clock as clock_service
from chalicelib.services import due_work
from chalicelib.services import tenants as tenant_service
from chalicelib.services import tick
from chalicelib.store import tenants as tenant_store
from chalicelib.store import work_queue


def at(text: str) -> datetime:
    return parse_instant(text)


def test_a_settings_change_racing_an_advance_never_moves_the_clock_back(api):
    t = api.new_tenant("Racy", testMode=True, timezone="UTC", currency="USD", clockStart="2025-01-01T00:00:00Z")
    stale = tenant_store.get_tenant(t.id)  # PATCH /settings read the tenant...
    tenant_store.move_clock(t.id, at("2025-01-01T00:00:00Z"), at("2025-03-01T00:00:00Z"))  # ...an advance moved
    tenant_service.update_settings(stale, {"payment_term_days": 10}, stale.last_modified_date)  # ...then it wrote
    now = tenant_store.get_tenant(t.id)
    assert now.clock == at("2025-03-01T00:00:00Z")
    assert now.payment_term_days == 10


# --- an advance in steps ---------------------------------------------------------------------------------------

WORKER_ARN = "arn:aws:sqs:us-east-1:123456789012:billrun-dev-work"
TO = "2025-01-13T00:00:00Z"  # 12 daily invoices of the template below fall due


@pytest.fixture(name="queues")
def queues_fixture(aws):
    work_queue.ensure_queues(visibility_seconds=30)
    return work_queue.client()


def daily_world(api, name: str):
    """A test-mode tenant at 2025-01-01 with a DAILY recurring invoice due from Jan 2."""
    t = api.new_tenant(name, testMode=True, timezone="UTC", currency="USD", clockStart="2025-01-01T00:00:00Z")
    customer = api.customer(t, name="Ada", timezone="UTC")["id"]
    body = {"customerId": customer, "schedule": {"period": "DAILY", "frequency": 1, "nextDueDate": "2025-01-02",
                                                 "daysInAdvance": 0},
            "recurringInvoiceLineItems": [{"amount": Decimal("10.00"), "description": "Daily"}]}
    assert api.post("/v3/recurring-invoices", body, key=t.key).status == 201
    return t


def invoices(api, t) -> list:
    body = api.get("/billing/invoices?limit=1000", key=t.key).body
    return sorted((i["name"], i["invoiceDate"], i["amount"]) for i in body["data"])


def worker_turn(api, sqs) -> bool:
    """One delivery of the work queue's next message to the worker, as Lambda's event source mapping makes it."""
    got = sqs.receive_message(QueueUrl=work_queue.queue_url(), MaxNumberOfMessages=1, AttributeNames=["All"])
    if not got.get("Messages"):
        return False
    message = got["Messages"][0]
    api.client.lambda_.invoke("worker", sqs_event(message, WORKER_ARN))
    sqs.delete_message(QueueUrl=work_queue.queue_url(), ReceiptHandle=message["ReceiptHandle"])
    return True


def test_an_advance_over_its_request_budget_answers_202_and_the_worker_finishes_it_step_by_step(
        api, queues, monkeypatch):
    reference = daily_world(api, "In one go")
    answer = api.post("/test/clock:advance", {"to": TO}, key=reference.key)
    assert answer.status == 200 and answer.body["status"] == "Ready", answer.body
    assert answer.body["ran"]["recurringInvoices"] == 12 and answer.body["advancingTo"] is None
    expected = invoices(api, reference)
    assert len(expected) == 12

    monkeypatch.setenv("BILLRUN_ADVANCE_REQUEST_SECONDS", "0")  # a budget of 0: one unit per turn
    monkeypatch.setenv("BILLRUN_TICK_BUDGET_SECONDS", "0")
    t = daily_world(api, "In steps")
    answer = api.post("/test/clock:advance", {"to": TO}, key=t.key)
    assert answer.status == 202, answer.body
    assert answer.headers["location"] == "/test/clock"
    assert (answer.body["status"], at(answer.body["now"]), at(answer.body["advancingTo"])) == (
        "Advancing", at(TO), at(TO))
    assert answer.body["ran"]["recurringInvoices"] == 1

    elsewhere = api.post("/test/clock:advance", {"to": "2025-02-01T00:00:00Z"}, key=t.key)
    assert elsewhere.status == 409 and elsewhere.body["errorCode"] == "ClockAdvancing", elsewhere.body
    assert elsewhere.error_fields == ["to"]

    progress = [answer.body["ran"]["recurringInvoices"]]
    while worker_turn(api, queues):  # each turn runs one unit and hands the rest on with a new message
        clock = api.get("/test/clock", key=t.key).body
        progress.append(clock["ran"]["recurringInvoices"])
        assert len(progress) < 30, "the advance does not end"
    assert progress == list(range(1, 13)) + [12]  # the last turn finds nothing more and declares it Ready
    clock = api.get("/test/clock", key=t.key).body
    assert (clock["status"], clock["advancingTo"], at(clock["now"])) == ("Ready", None, at(TO))
    assert invoices(api, t) == expected


def test_sending_the_same_target_again_helps_an_advance_on(api, queues, monkeypatch):
    t = daily_world(api, "Resumed")
    monkeypatch.setenv("BILLRUN_ADVANCE_REQUEST_SECONDS", "0")
    assert api.post("/test/clock:advance", {"to": TO}, key=t.key).status == 202
    monkeypatch.delenv("BILLRUN_ADVANCE_REQUEST_SECONDS")
    again = api.post("/test/clock:advance", {"to": TO}, key=t.key)
    assert again.status == 200 and again.body["status"] == "Ready", again.body
    assert again.body["ran"]["recurringInvoices"] == 12  # the whole advance's work, the first request's included
    assert len(invoices(api, t)) == 12
    assert not worker_turn(api, queues) or api.get("/test/clock", key=t.key).body["status"] == "Ready"


def test_the_wall_tick_takes_over_an_advance_whose_runner_died(api, queues, wall, monkeypatch):
    t = daily_world(api, "Orphaned")
    real = due_work.process_due_work

    def dies(*args, **kwargs):
        raise RuntimeError("the runner dies inside its first pass")

    monkeypatch.setattr(due_work, "process_due_work", dies)
    assert api.post("/test/clock:advance", {"to": TO}, key=t.key, check=False).status == 500  # a bug's answer
    monkeypatch.setattr(due_work, "process_due_work", real)
    assert api.get("/test/clock", key=t.key).body["status"] == "Advancing"

    assert tick.run_wall_tick(wall.now).ran["clockAdvances"] == 0  # its lease still runs
    assert api.post("/test/clock:advance", {"to": TO}, key=t.key).status == 202  # nor does a request take it
    wall.now += clock_service.LEASE + timedelta(seconds=1)
    assert tick.run_wall_tick(wall.now).ran["clockAdvances"] == 1
    clock = api.get("/test/clock", key=t.key).body
    assert (clock["status"], clock["ran"]["recurringInvoices"]) == ("Ready", 12)
    assert len(invoices(api, t)) == 12


def test_a_handed_on_advance_whose_message_was_lost_is_finished_by_the_next_wall_tick(api, queues, monkeypatch):
    t = daily_world(api, "Lost message")
    monkeypatch.setenv("BILLRUN_ADVANCE_REQUEST_SECONDS", "0")
    assert api.post("/test/clock:advance", {"to": TO}, key=t.key).status == 202
    queues.purge_queue(QueueUrl=work_queue.queue_url())  # the worker never gets the message
    monkeypatch.delenv("BILLRUN_ADVANCE_REQUEST_SECONDS")
    assert tick.run_wall_tick(datetime.now(timezone.utc)).ran["clockAdvances"] == 1  # handed on: free at once
    assert api.get("/test/clock", key=t.key).body["status"] == "Ready"
    assert len(invoices(api, t)) == 12


# --- bounded passes ----------------------------------------------------------------------------------------------

def test_a_pass_runs_at_most_slots_per_pass_of_each_template_and_schedule(api, monkeypatch):
    monkeypatch.setenv("BILLRUN_SLOTS_PER_PASS", "5")
    t = daily_world(api, "Bounded")
    schedule = {"scheduleType": "Recurring", "recurringSchedule": "0 0 1 * * ?", "zoneId": "UTC",
                "status": "Active"}
    assert api.post("/billing/schedules", schedule, key=t.key).status == 201
    tenant_store.move_clock(t.id, at("2025-01-01T00:00:00Z"), at(TO))  # the clock moved, nothing ran yet
    clock_id = f"test#{t.id}"
    passes = [tick.process_clock(clock_id, at(TO)).ran for _ in range(4)]
    assert [(p["recurringInvoices"], p["billingJobs"]) for p in passes] == [(5, 5), (5, 5), (2, 2), (0, 0)]
    assert len(invoices(api, t)) == 12


def test_an_advance_bills_the_units_of_fanned_out_jobs_itself_before_it_is_ready(api, queues, monkeypatch):
    """Each month's job is large enough to fan out: its next slot waits for it. The advance bills the job's work
    units itself, as a worker would, so it answers Ready with every slot's job Completed (SPEC: it answers when the
    work is done). The units' messages the workers receive afterwards find them Done: nothing is billed twice."""
    from tests.functional.test_fanout import world
    monkeypatch.setenv("BILLRUN_FANOUT_CUSTOMERS", "5")
    monkeypatch.setenv("BILLRUN_UNIT_CUSTOMERS", "4")
    t = api.new_tenant("Fanned", testMode=True, timezone="UTC", currency="USD", clockStart="2025-01-01T00:00:00Z")
    world(api, t, 6, 1)  # 6 customers: every job fans out into 2 units
    schedule = api.post("/billing/schedules", {"scheduleType": "Recurring", "recurringSchedule": "0 0 0 1 * ?",
                                               "scheduleStartDate": "2025-01-01"}, key=t.key).body
    assert api.post("/billing/schedules:activate", {"scheduleIds": [schedule["id"]]}, key=t.key).status == 200
    answer = api.post("/test/clock:advance", {"to": "2025-03-15T00:00:00Z"}, key=t.key)
    assert answer.status == 200 and answer.body["status"] == "Ready", answer.body
    assert answer.body["ran"]["workUnits"] == 6 and answer.body["ran"]["billingJobs"] == 3, answer.body
    jobs = api.get(f"/billing/jobs?scheduleId={schedule['id']}&limit=100", key=t.key).body["data"]
    assert sorted(j["scheduledTime"][:10] for j in jobs) == ["2025-01-01", "2025-02-01", "2025-03-01"]
    assert all(j["status"] == "Completed" and j["unitsTotal"] == 2 and j["counts"]["billed"] == 6 for j in jobs), jobs
    billed = invoices(api, t)
    assert len(billed) == 18
    delivered = 0
    while worker_turn(api, queues):  # the units' messages, and the turns each job's end sent the advance on
        delivered += 1
    assert delivered == 6 + 3
    assert invoices(api, t) == billed
    jobs_after = api.get(f"/billing/jobs?scheduleId={schedule['id']}&limit=100", key=t.key).body["data"]
    assert [j["counts"] for j in jobs_after] == [j["counts"] for j in jobs]


def test_a_unit_the_advance_cannot_bill_is_left_to_the_workers_and_the_advance_waits_for_them(
        api, queues, monkeypatch):
    from chalicelib.services import fanout
    from tests.functional.test_fanout import world
    monkeypatch.setenv("BILLRUN_FANOUT_CUSTOMERS", "5")
    monkeypatch.setenv("BILLRUN_UNIT_CUSTOMERS", "4")
    t = api.new_tenant("Flaky", testMode=True, timezone="UTC", currency="USD", clockStart="2025-01-01T00:00:00Z")
    world(api, t, 6, 1)
    schedule = api.post("/billing/schedules", {"scheduleType": "Recurring", "recurringSchedule": "0 0 0 1 * ?",
                                               "scheduleStartDate": "2025-01-01"}, key=t.key).body
    assert api.post("/billing/schedules:activate", {"scheduleIds": [schedule["id"]]}, key=t.key).status == 200
    real, broken = fanout.bill_unit, {"on": True}

    def bill_unit(*args):
        if broken["on"]:
            raise RuntimeError("the advance's process cannot bill units just now")
        return real(*args)
    monkeypatch.setattr(fanout, "bill_unit", bill_unit)
    answer = api.post("/test/clock:advance", {"to": "2025-01-15T00:00:00Z"}, key=t.key)
    assert answer.status == 202 and answer.body["status"] == "Advancing", answer.body  # the job is Running
    [job] = api.get(f"/billing/jobs?scheduleId={schedule['id']}", key=t.key).body["data"]
    assert job["status"] == "Running" and job["unitsTotal"] == 2, job
    broken["on"] = False
    for _ in range(200):  # the workers bill the units, then the job's end sends the advance on
        if api.get("/test/clock", key=t.key).body["status"] == "Ready":
            break
        if not worker_turn(api, queues):
            time.sleep(0.2)
    assert api.get("/test/clock", key=t.key).body["status"] == "Ready"
    [job] = api.get(f"/billing/jobs?scheduleId={schedule['id']}", key=t.key).body["data"]
    assert job["status"] == "Completed" and job["counts"]["billed"] == 6, job
    assert len(invoices(api, t)) == 6
