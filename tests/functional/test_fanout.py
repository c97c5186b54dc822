"""Fan-out (issue 7): a billing job over more customers than BILLRUN_FANOUT_CUSTOMERS is split into work units
sent to SQS (moto); `app.worker` bills them as Lambda would. Redelivered messages, crashed workers, lost
messages and units that keep failing (dead-letter queue) all end with the invoices of a single-process run."""
import json
from datetime import timedelta
from decimal import Decimal

import pytest

from chalicelib.local.ticker import sqs_event
from chalicelib.services import billing_job_runner, billing_pages
from chalicelib.store import documents, work_queue
from chalicelib.store import billing_jobs as job_store
from chalicelib.store.tenants import get_tenant
from tests.functional.test_billing_api import clock_tenant
from tests.functional.test_exactly_once import SimulatedCrash

CLOCK = "2025-01-01T00:00:00Z"
RUN = {"targetDate": "2025-01-31", "invoiceDate": "2025-01-31"}


@pytest.fixture(name="queues")
def queues_fixture(aws, monkeypatch):
    work_queue.ensure_queues(visibility_seconds=30)
    monkeypatch.setenv("BILLRUN_FANOUT_CUSTOMERS", "5")
    monkeypatch.setenv("BILLRUN_UNIT_CUSTOMERS", "4")
    return work_queue.client()


def world(api, t, customers: int, lines: int) -> dict:
    """`customers` customers, each with one order of `lines` lines (subscriptions), quantities 1..lines."""
    product = api.product(t, price=Decimal("12.34"))
    ids = {}
    for c in range(customers):
        customer = api.post("/customers", {"name": f"Customer {c:04d}", "billCycleDay": 1,
                                           "taxRate": Decimal("7.25")}, key=t.key, check=False).body
        body = {"customerId": customer["id"], "lines": [
            {"productId": product["id"], "quantity": q + 1, "startDate": "2025-01-01"} for q in range(lines)]}
        order = api.post("/orders", body, key=t.key, check=False)
        assert order.status == 201, order.body
        assert api.post(f"/orders/{order.body['id']}:activate", key=t.key, check=False).status == 200
        ids[customer["id"]] = customer["name"]
    return ids


def bill_job(api, t, **fields) -> dict:
    schedule = api.post("/billing/schedules", {"scheduleType": "OnDemand", **fields}, key=t.key).body
    answer = api.post(f"/billing/schedules/{schedule['id']}:run", RUN, key=t.key)
    assert answer.status == 201, answer.body
    return answer.body


def invoices_by_name(t, names: dict, job_id: str | None = None) -> dict:
    """Every invoice of the tenant (of one billing job) by customer name: totals, status, date and lines."""
    result, token = {}, None
    while True:
        page, token = documents.invoices.list(t.id, limit=1000, next_token=token)
        for inv in page:
            if job_id is not None and inv.billing_job_id != job_id:
                continue
            lines = sorted((l.description, l.quantity, l.unit_price, l.amount, l.start_date, l.end_date)
                           for l in inv.lines)
            assert names[inv.customer_id] not in result, "two invoices for one customer"
            result[names[inv.customer_id]] = (inv.amount_without_tax, inv.tax_amount, inv.amount, inv.status,
                                              inv.invoice_date, tuple(lines))
        if token is None:
            return result


def drain(api, sqs, crash_on=None, limit=500) -> list:
    """The Lambda event source mapping, one message per invocation: success deletes the message, a failure
    (or a crash) makes it visible again for another delivery. Answers what each delivery ended with."""
    url = work_queue.queue_url()
    outcomes = []
    for _ in range(limit):
        got = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=1, AttributeNames=["All"])
        if not got.get("Messages"):
            return outcomes
        m = got["Messages"][0]
        event = sqs_event(m, "arn:aws:sqs:us-east-1:123456789012:billrun-dev-work")
        try:
            if crash_on is not None:
                crash_on(json.loads(m["Body"]), int(m["Attributes"]["ApproximateReceiveCount"]))
            api.client.lambda_.invoke("worker", event)
            sqs.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])
            outcomes.append("ok")
        except BaseException as error:  # noqa: B036 - a crashed worker: the message comes back
            sqs.change_message_visibility(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"], VisibilityTimeout=0)
            outcomes.append(type(error).__name__)
    raise AssertionError("the queue did not drain")


def dead_letters(sqs) -> list[dict]:
    url = work_queue.queue_url(f"{work_queue.settings().work_queue}-dlq")
    got = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)
    return [json.loads(m["Body"]) for m in got.get("Messages", [])]


def test_2000_subscriptions_fanned_out_with_a_worker_crash_equal_a_single_process_run(api, queues, monkeypatch):
    t = clock_tenant(api, CLOCK)
    names = world(api, t, 40, 50)  # 2,000 subscriptions
    # the reference: one job billing all 2,000 in this process (the threshold above its 40 customers)
    monkeypatch.setenv("BILLRUN_FANOUT_CUSTOMERS", "1000")
    single = bill_job(api, t)
    assert single["status"] == "Completed" and single["unitsTotal"] is None, single
    expected = invoices_by_name(t, names, single["id"])
    assert len(expected) == 40 and sum(len(inv[-1]) for inv in expected.values()) == 2000
    # canceling its invoices gives every period back to the ledger, so the fanned-out job bills them all again
    canceled = api.post("/billing/invoices:cancel", {"invoiceIds": [d["invoiceId"] for d in single["decisions"]]},
                        key=t.key)
    assert canceled.status == 200 and (canceled.body["succeeded"], canceled.body["failed"]) == (40, 0), canceled.body

    monkeypatch.setenv("BILLRUN_FANOUT_CUSTOMERS", "10")
    monkeypatch.setenv("BILLRUN_UNIT_CUSTOMERS", "4")
    job = bill_job(api, t)
    assert job["status"] == "Running" and job["counts"] is None, job
    assert (job["unitsTotal"], job["unitsFinished"]) == (10, 0)

    real, crashed = billing_pages._plan, []

    def dies_once_mid_unit(job, customer, *args, **kw):  # the 3rd unit's worker dies on its 3rd customer
        if not crashed and customer.id == sorted(names)[2 * 4 + 2]:
            crashed.append(customer.id)
            raise SimulatedCrash("worker killed mid-unit")
        return real(job, customer, *args, **kw)

    monkeypatch.setattr(billing_pages, "_plan", dies_once_mid_unit)
    outcomes = drain(api, queues)
    assert outcomes.count("SimulatedCrash") == 1 and outcomes.count("ok") == 10, outcomes
    done = api.get(f"/billing/jobs/{job['id']}", key=t.key).body
    assert done["status"] == "Completed", done
    assert done["counts"] == {"customers": 40, "billed": 40, "skipped": 0, "errors": 0, "invoices": 40,
                              "creditMemos": 0}
    assert invoices_by_name(t, names, job["id"]) == expected  # line for line, cent for cent
    assert dead_letters(queues) == []


def test_redelivered_and_duplicate_messages_change_nothing(api, queues):
    t = clock_tenant(api, CLOCK)
    names = world(api, t, 9, 2)
    outsider = api.customer(t, name="Not in scope")
    api.post(f"/orders/{api.order(t, outsider['id'], api.product(t)['id'])['id']}:activate", key=t.key)
    job = bill_job(api, t, customerFilter='{name: {_like: "Customer%"}}')  # units keep the job's own filter
    assert job["status"] == "Running"
    units = job_store.units(t.id, job["id"])
    assert [len(u.customer_ids) for u in units] == [4, 4, 1]
    assert sorted(c for u in units for c in u.customer_ids) == sorted(names)
    url = work_queue.queue_url()
    duplicate = {"tenantId": t.id, "jobId": job["id"], "unit": 0, "now": "2025-01-01T00:00:00+00:00"}
    queues.send_message(QueueUrl=url, MessageBody=json.dumps(duplicate))  # at-least-once: sent twice
    assert drain(api, queues) == ["ok"] * 4
    first = invoices_by_name(t, names)
    assert len(first) == 9
    queues.send_message(QueueUrl=url, MessageBody=json.dumps(duplicate))  # redelivered after the job finished
    assert drain(api, queues) == ["ok"]
    assert invoices_by_name(t, names) == first
    done = api.get(f"/billing/jobs/{job['id']}", key=t.key).body
    assert done["status"] == "Completed" and done["counts"]["invoices"] == 9 and done["counts"]["customers"] == 9


def test_a_unit_that_keeps_failing_lands_in_the_dead_letter_queue_and_the_job_reports_it(api, queues, monkeypatch):
    t = clock_tenant(api, CLOCK)
    names = world(api, t, 9, 1)
    doomed = sorted(names)[5]  # in unit 1
    real = billing_pages._plan

    def fails_for_one(job, customer, *args, **kw):  # the customer's proposal fails
        if customer.id == doomed:
            raise RuntimeError("tax service unavailable")
        return real(job, customer, *args, **kw)

    monkeypatch.setattr(billing_pages, "_plan", fails_for_one)
    job = bill_job(api, t)
    outcomes = drain(api, queues)
    assert outcomes.count("UnitFailed") == 3 and outcomes.count("ok") == 2, outcomes  # 3 deliveries, then DLQ
    assert [m["unit"] for m in dead_letters(queues)] == [1]
    done = api.get(f"/billing/jobs/{job['id']}", key=t.key).body
    assert done["status"] == "CompletedWithErrors", done
    assert "unit 1" in done["error"] and "tax service unavailable" in done["error"]
    assert done["counts"]["errors"] == 1 and done["counts"]["invoices"] == 8
    [decision] = [d for d in done["decisions"] if d["customerId"] == doomed]
    assert decision["decision"] == "Error" and "tax service unavailable" in decision["reason"]
    billed = invoices_by_name(t, names)
    assert names[doomed] not in billed and len(billed) == 8  # the unit's other customers were billed


def test_a_lost_message_is_sent_again_when_the_jobs_lease_runs_out(api, queues, wall):
    t = clock_tenant(api, CLOCK)
    names = world(api, t, 6, 1)
    job = bill_job(api, t)
    url = work_queue.queue_url()
    lost = queues.receive_message(QueueUrl=url, MaxNumberOfMessages=1)["Messages"][0]
    queues.delete_message(QueueUrl=url, ReceiptHandle=lost["ReceiptHandle"])  # never processed
    assert drain(api, queues) == ["ok"]
    assert api.get(f"/billing/jobs/{job['id']}", key=t.key).body["status"] == "Running"

    wall.now += job_store.LEASE + timedelta(seconds=1)
    tenant = get_tenant(t.id)
    for tenant_id, job_id in job_store.expired(tenant.clock_id, wall.now):
        billing_job_runner.bill_job(tenant, job_id, wall.now)  # what the tick's recovery does
    assert drain(api, queues) == ["ok"]
    done = api.get(f"/billing/jobs/{job['id']}", key=t.key).body
    assert done["status"] == "Completed" and done["counts"]["invoices"] == 6, done
    assert len(invoices_by_name(t, names)) == 6
