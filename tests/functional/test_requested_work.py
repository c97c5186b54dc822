"""Work a request starts begins at once (issue 15): an execute's bill run and a bulk invoice job are sent to the
work queue when they are made, and the worker runs them under their lease (a message for work already done or
held does nothing, so a redelivery bills nothing twice). A lost message leaves the work in its `unfinished` index,
where the wall-clock tick recovers it. A test clock's advance runs its tenant's requested work too, and is Ready
only when nothing of the tenant is left Pending or Running."""
import json
import threading
from datetime import timedelta

import pytest

from chalicelib.local.ticker import sqs_event
from chalicelib.services import invoices as invoice_service
from chalicelib.services import worker as worker_service
from chalicelib.store import bill_runs as run_store
from chalicelib.store import work_queue
from chalicelib.store.leases import LEASE
from tests.functional.test_invoice_jobs import DRAFTS, copies
from tests.functional.test_invoice_management import billed
from tests.functional.test_invoice_schedules import (clocked, execute, get_schedule, invoices, milestone_order,
                                                     new_schedule, statuses, wall_tick)

D = __import__("decimal").Decimal
WORKER_ARN = "arn:aws:sqs:us-east-1:123456789012:billrun-dev-work"
pytestmark = pytest.mark.wall("2026-11-22T12:00:00Z")  # leases are wall time


@pytest.fixture(name="queues")
def queues_fixture(aws):
    work_queue.ensure_queues(visibility_seconds=30)
    return work_queue.client()


def received(sqs) -> list[dict]:
    """Every message waiting in the work queue (each then hidden for the queue's visibility timeout)."""
    found = []
    while True:
        got = sqs.receive_message(QueueUrl=work_queue.queue_url(), MaxNumberOfMessages=10, AttributeNames=["All"])
        if not got.get("Messages"):
            return found
        found += got["Messages"]


def deliver(api, message: dict) -> None:
    """One delivery to the worker, as Lambda's SQS event source mapping makes it."""
    api.client.lambda_.invoke("worker", sqs_event(message, WORKER_ARN))


def schedule_world(api, name: str = "Zuora shop"):
    """A test-mode tenant at 2025-01-15 and a schedule of three items of 1,000.00 (Feb, Mar, Apr)."""
    t = clocked(api, "2025-01-15T00:00:00Z", name=name)
    order = milestone_order(api, t, amounts=("3000.00",))
    schedule = new_schedule(api, t, [order["id"]], [
        {"runDate": d, "amount": D("1000.00")} for d in ("2025-02-01", "2025-03-01", "2025-04-01")])
    return t, schedule


def bill_run(api, t, run_id: str) -> dict:
    answer = api.get(f"/v1/bill-runs/{run_id}", key=t.key)
    assert answer.status == 200, answer.body
    return answer.body


def executed(api, t, schedule) -> dict:
    answer = execute(api, t, schedule["id"], {"scheduleItemId": schedule["scheduleItems"][0]["id"]})
    assert answer.status == 201 and answer.body["status"] == "Pending", answer.body
    return answer.body


# --- bill runs ----------------------------------------------------------------------------------------------

def test_execute_sends_its_bill_run_to_the_worker_which_runs_it(api, queues):
    t, schedule = schedule_world(api)
    run = executed(api, t, schedule)
    [message] = received(queues)
    assert json.loads(message["Body"]) == {"kind": "billRun", "tenantId": t.id, "id": run["id"]}
    deliver(api, message)
    done = bill_run(api, t, run["id"])
    assert done["status"] == "Completed" and len(done["invoices"]) == 1, done
    assert statuses(get_schedule(api, t, schedule["id"])) == ["Processed", "Pending", "Pending"]
    assert [i["amount"] for i in invoices(api, t)] == [D("1000.00")]
    assert wall_tick()["invoiceScheduleItems"] == 0  # the tick finds nothing left to recover


def test_a_redelivered_or_duplicate_bill_run_message_bills_nothing_twice(api, queues):
    t, schedule = schedule_world(api)
    run = executed(api, t, schedule)
    [message] = received(queues)
    workers = [threading.Thread(target=worker_service.handle, args=(message["Body"], n + 1)) for n in range(3)]
    for w in workers:  # three deliveries of one message at once (SQS is at-least-once)
        w.start()
    for w in workers:
        w.join()
    deliver(api, message)  # and a redelivery after the run completed
    done = bill_run(api, t, run["id"])
    assert done["status"] == "Completed" and len(done["invoices"]) == 1, done
    assert [i["amount"] for i in invoices(api, t)] == [D("1000.00")]
    assert statuses(get_schedule(api, t, schedule["id"])) == ["Processed", "Pending", "Pending"]
    assert run_store.bill_runs.get(t.id, run["id"]).attempts == 1  # only one delivery took the lease


def test_a_lost_bill_run_message_is_recovered_by_the_tick(api, queues):
    t, schedule = schedule_world(api)
    run = executed(api, t, schedule)
    [message] = received(queues)
    queues.delete_message(QueueUrl=work_queue.queue_url(), ReceiptHandle=message["ReceiptHandle"])  # lost
    assert bill_run(api, t, run["id"])["status"] == "Pending"
    assert wall_tick(api)["invoiceScheduleItems"] == 1
    done = bill_run(api, t, run["id"])
    assert done["status"] == "Completed" and len(done["invoices"]) == 1, done


def test_execute_answers_when_the_queue_cannot_be_reached_and_the_tick_runs_the_run(api):
    """No work queue at all (the send fails): the request still answers its Pending run, which the tick runs."""
    t, schedule = schedule_world(api)
    run = executed(api, t, schedule)
    assert wall_tick()["invoiceScheduleItems"] == 1
    assert bill_run(api, t, run["id"])["status"] == "Completed"


# --- invoice jobs -------------------------------------------------------------------------------------------

def bulk_world(api, monkeypatch, name: str = "Bulk"):
    """A test-mode tenant with 6 Draft invoices, and a bulk limit of 3: activating the Drafts makes a job."""
    monkeypatch.setattr(invoice_service, "MAX_BULK", 3)
    t = clocked(api, "2025-01-01T00:00:00Z", name=name)
    [template] = billed(api, t, ["Big"]).values()
    return t, copies(t, template, 5) + [template["id"]]


def queued_job(api, t) -> dict:
    answer = api.post("/billing/invoices:activate", DRAFTS, key=t.key)
    assert answer.status == 202 and answer.body["status"] == "Queued", answer.body
    return answer.body


def invoice_job(api, t, job_id: str) -> dict:
    answer = api.get(f"/billing/invoice-jobs/{job_id}", key=t.key)
    assert answer.status == 200, answer.body
    return answer.body


def test_a_bulk_invoice_job_is_sent_to_the_worker_which_runs_it_once(api, queues, monkeypatch):
    t, drafts = bulk_world(api, monkeypatch)
    job = queued_job(api, t)
    [message] = received(queues)
    assert json.loads(message["Body"]) == {"kind": "invoiceJob", "tenantId": t.id, "id": job["id"]}
    deliver(api, message)
    done = invoice_job(api, t, job["id"])
    assert done["status"] == "Completed" and done["counts"] == {"selected": 6, "succeeded": 6, "failed": 0,
                                                                "pending": 0}, done
    deliver(api, message)  # redelivered: the job is done, nothing runs again
    assert invoice_job(api, t, job["id"]) == done
    assert wall_tick()["invoiceJobs"] == 0
    assert {i["status"] for i in invoices(api, t)} == {"Active"}


def test_a_lost_invoice_job_message_is_recovered_by_the_tick(api, monkeypatch):
    t, _ = bulk_world(api, monkeypatch)
    job = queued_job(api, t)  # no work queue: the message is lost
    assert wall_tick()["invoiceJobs"] == 1
    assert invoice_job(api, t, job["id"])["status"] == "Completed"


# --- a test clock's advance ---------------------------------------------------------------------------------

def test_an_advance_runs_the_tenants_requested_work_before_it_is_ready(api, queues, monkeypatch):
    t, schedule = schedule_world(api)
    run = executed(api, t, schedule)
    t2, _ = bulk_world(api, monkeypatch, name="Same tenant's jobs")
    other, other_schedule = schedule_world(api, name="Another tenant")
    other_run = executed(api, other, other_schedule)
    for message in received(queues):  # every message lost: only the advance can run the work
        queues.delete_message(QueueUrl=work_queue.queue_url(), ReceiptHandle=message["ReceiptHandle"])
    job = queued_job(api, t2)
    received(queues)
    answer = api.post("/test/clock:advance", {"to": "2025-01-15T00:01:00Z"}, key=t.key)
    assert answer.status == 200 and answer.body["status"] == "Ready", answer.body
    assert answer.body["ran"]["invoiceScheduleItems"] == 1
    assert bill_run(api, t, run["id"])["status"] == "Completed"
    assert bill_run(api, other, other_run["id"])["status"] == "Pending"  # another tenant's advance runs that one
    answer = api.post("/test/clock:advance", {"to": "2025-01-01T00:01:00Z"}, key=t2.key)
    assert answer.status == 200 and answer.body["status"] == "Ready", answer.body
    assert answer.body["ran"]["invoiceJobs"] == 1
    assert invoice_job(api, t2, job["id"])["status"] == "Completed"


def test_an_advance_is_not_ready_while_a_worker_holds_the_tenants_bill_run(api, queues, wall):
    t, schedule = schedule_world(api)
    run = executed(api, t, schedule)
    assert run_store.claim(t.id, run["id"], "a worker that dies", wall.now) is not None  # Processing, leased
    answer = api.post("/test/clock:advance", {"to": "2025-01-15T00:01:00Z"}, key=t.key)
    assert answer.status == 202 and answer.body["status"] == "Advancing", answer.body
    assert api.get("/test/clock", key=t.key).body["status"] == "Advancing"
    wall.now += LEASE + timedelta(seconds=1)  # the worker's lease ran out: the run is anyone's to finish
    answer = api.post("/test/clock:advance", {"to": "2025-01-15T00:01:00Z"}, key=t.key)  # the same target helps on
    assert answer.status == 200 and answer.body["status"] == "Ready", answer.body
    done = bill_run(api, t, run["id"])
    assert done["status"] == "Completed" and len(done["invoices"]) == 1, done
