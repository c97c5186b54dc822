"""Observability (issue 7): JSON log lines with correlation keys, and job and tick metrics in Embedded Metric
Format, read back from what the app prints on stdout, as CloudWatch Logs would receive it."""
import json
import logging
import threading
from datetime import datetime, time, timedelta
from decimal import Decimal

import pytest

from chalicelib import observability
from chalicelib.domain.tenants import LIVE_CLOCK
from chalicelib.domain.timeutil import UTC
from chalicelib.services import billing_pages, fanout
from chalicelib.services import tick as tick_service
from chalicelib.store import catalog
from chalicelib.store import billing_jobs as job_store
from infra import alarms, stages
from tests.clock import Wall
from tests.functional.test_billing_api import clock_tenant, new_schedule, subscribe
from tests.functional.test_fanout import drain, queues_fixture, bill_job, world  # noqa: F401 (fixture `queues`)

STAGE = "dev"  # tests/conftest.py: the stage every test runs as


def printed(capsys) -> list[dict]:
    """Every line printed since the last call, each parsed as JSON (a line that is not JSON fails the test)."""
    return [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.strip()]


def emf(lines: list[dict], metric: str) -> list[dict]:
    """The EMF documents among the lines that carry this metric."""
    return [d for d in lines
            if "_aws" in d and metric in {m["Name"] for m in d["_aws"]["CloudWatchMetrics"][0]["Metrics"]}]


def logs(lines: list[dict]) -> list[dict]:
    return [d for d in lines if "_aws" not in d]


def invoke_tick(api, at: datetime, wall: Wall) -> dict:
    """The tick as EventBridge invokes it, the wall clock moved to `at`."""
    wall.now = at
    event = api.client.events.generate_cw_event(source="aws.events", detail_type="Scheduled Event", detail={},
                                                resources=["arn:aws:events:us-east-1:123456789012:rule/tick"])
    return api.client.lambda_.invoke("tick", event).payload


# --- log lines --------------------------------------------------------------------------------------------------

def test_a_request_is_one_json_line_with_its_request_id_tenant_status_and_duration(api, tenant, capsys):
    printed(capsys)
    assert api.get("/customers/no-such-customer", key=tenant.key).status == 404
    [line] = logs(printed(capsys))
    assert line["level"] == "INFO" and line["service"] == "billrun" and line["stage"] == STAGE
    assert (line["method"], line["path"], line["status"]) == ("GET", "/customers/{id}", 404)
    assert line["tenantId"] == tenant.id and line["requestId"] and "jobId" not in line
    assert isinstance(line["durationMs"], float) and line["durationMs"] > 0
    assert datetime.fromisoformat(line["timestamp"]).utcoffset() == timedelta(0)

    assert api.post("/orders/nope:activate", key=tenant.key).status == 404  # the action's template is named
    [line] = logs(printed(capsys))
    assert (line["path"], line["status"], line["tenantId"]) == ("/orders/{id}:activate", 404, tenant.id)

    assert api.get("/customers", key="not-a-key").status == 401  # no tenant known: no tenantId
    [line] = logs(printed(capsys))
    assert line["status"] == 401 and "tenantId" not in line and line["requestId"]


def test_the_request_id_is_api_gateways_when_it_gives_one():
    class Request:
        method, context, lambda_context = "GET", {"requestId": "apigw-1234", "resourcePath": "/health"}, None

    class Answer:
        status_code = 200

    seen = {}

    def view(request):
        seen.update(observability.current())
        return Answer()

    assert observability.http_middleware(Request(), view).status_code == 200
    assert seen == {"requestId": "apigw-1234", "method": "GET", "path": "/health"}
    assert observability.current() == {}  # nothing left behind for the next invocation on this thread


def test_concurrent_requests_of_two_tenants_keep_their_own_keys(api, tenant, other, capsys, monkeypatch):
    """Both requests are inside the app at once (each waits for the other), on two threads, as the local stack's
    HTTP server, tick loop and worker loop share one process."""
    listed, inside = catalog.customers.list, {tenant.id: threading.Event(), other.id: threading.Event()}
    answers = {}

    def meets_the_other_request(tenant_id, **options):
        inside[tenant_id].set()
        assert all(e.wait(10) for e in inside.values()), "the two requests never overlapped"
        logging.getLogger("billrun.test").info("listing customers")  # logged while both requests are running
        return listed(tenant_id, **options)

    monkeypatch.setattr(catalog.customers, "list", meets_the_other_request)
    printed(capsys)

    def request(t):
        answers[t.id] = api.get("/customers", key=t.key).status

    first = threading.Thread(target=request, args=(tenant,))
    first.start()
    assert inside[tenant.id].wait(10)  # the first request is past reading its request: the second can start
    second = threading.Thread(target=request, args=(other,))
    second.start()
    first.join(20)
    second.join(20)
    assert answers == {tenant.id: 200, other.id: 200}

    lines = logs(printed(capsys))
    assert len(lines) == 4
    by_request = {}
    for line in lines:
        by_request.setdefault(line["requestId"], []).append(line)
    assert len(by_request) == 2
    for request_lines in by_request.values():
        assert [line["message"] for line in request_lines] == ["listing customers", "GET /customers 200"]
        assert len({line["tenantId"] for line in request_lines}) == 1  # never the other request's tenant
    assert {lines[0]["tenantId"] for lines in by_request.values()} == {tenant.id, other.id}


def test_keys_set_on_one_thread_never_show_on_another():
    ready = threading.Barrier(2)
    seen = {}

    def work(name):
        with observability.invocation(f"request-{name}", tenantId=f"tenant-{name}"):
            ready.wait(5)  # both invocations are open now
            with observability.correlated(jobId=f"job-{name}"):
                ready.wait(5)
                seen[name, "job"] = observability.current()
            seen[name, "after"] = observability.current()

    threads = [threading.Thread(target=work, args=(n,)) for n in ("a", "b")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    for n in ("a", "b"):
        assert seen[n, "job"] == {"requestId": f"request-{n}", "tenantId": f"tenant-{n}", "jobId": f"job-{n}"}
        assert seen[n, "after"] == {"requestId": f"request-{n}", "tenantId": f"tenant-{n}"}  # jobId is gone
    assert observability.current() == {}


# --- billing job metrics -----------------------------------------------------------------------------------------

def job_metrics(doc: dict) -> dict:
    cw = doc["_aws"]["CloudWatchMetrics"][0]
    return {"namespace": cw["Namespace"], "dimensions": cw["Dimensions"],
            "units": {m["Name"]: m["Unit"] for m in cw["Metrics"]}, "stage": doc["Stage"],
            "values": {m["Name"]: doc[m["Name"]] for m in cw["Metrics"]}}


def duration_of(tenant_id: str, job_id: str) -> float:
    job = job_store.jobs.get(tenant_id, job_id)
    return round((job.completed_time - job.started_time).total_seconds(), 3)


def test_a_billing_job_emits_one_emf_document_with_its_counts_and_two_log_lines(api, capsys, monkeypatch):
    t = clock_tenant(api, "2025-01-01T00:00:00Z")
    product = api.product(t, price=Decimal("30.00"))
    leaving = api.customer(t, name="leaving", billCycleDay=1)
    leaving_sub = subscribe(api, t, leaving, product, startDate="2025-01-01")["subscription"]
    schedule = new_schedule(api, t)
    january = api.post(f"/billing/schedules/{schedule['id']}:run", {"targetDate": "2025-01-01"}, key=t.key).body
    assert january["counts"]["invoices"] == 1
    # then: a credit memo (a cancellation back in billed time), two new invoices, one customer that fails
    assert api.post(f"/subscriptions/{leaving_sub}:cancel", {"effectiveDate": "2025-01-21"}, key=t.key).status == 200
    for n in range(2):
        subscribe(api, t, api.customer(t, name=f"new {n}", billCycleDay=1), product, startDate="2025-01-01")
    failing = api.customer(t, name="failing", billCycleDay=1)
    subscribe(api, t, failing, product, startDate="2025-01-01")
    real = billing_pages._plan

    def fails_for_one(job, customer, *args, **kw):  # the customer's proposal fails
        if customer.id == failing["id"]:
            raise RuntimeError("tax service unavailable")
        return real(job, customer, *args, **kw)

    monkeypatch.setattr(billing_pages, "_plan", fails_for_one)
    printed(capsys)
    answer = api.post(f"/billing/schedules/{schedule['id']}:run", {"targetDate": "2025-01-25"}, key=t.key)
    job = answer.body
    assert answer.status == 201 and job["status"] == "CompletedWithErrors"
    assert job["counts"] == {"customers": 4, "billed": 3, "skipped": 0, "errors": 1, "invoices": 2, "creditMemos": 1}

    lines = printed(capsys)
    [doc] = emf(lines, observability.JOB_DURATION)
    assert job_metrics(doc) == {
        "namespace": "billrun", "dimensions": [["Stage"]], "stage": STAGE,
        "units": {"JobDurationSeconds": "Seconds", "Invoices": "Count", "CreditMemos": "Count", "Errors": "Count"},
        "values": {"JobDurationSeconds": [duration_of(t.id, job["id"])], "Invoices": [2.0], "CreditMemos": [1.0],
                   "Errors": [1.0]}}
    assert (doc["tenantId"], doc["jobId"], doc["jobName"], doc["status"], doc["fannedOut"]) == (
        t.id, job["id"], job["name"], "CompletedWithErrors", False)  # properties, not dimensions
    request = [line for line in logs(lines) if line.get("path") == "/billing/schedules/{id}:run"]
    assert doc["requestId"] == request[-1]["requestId"]  # the metrics join the request's log lines

    of_job = [line for line in logs(lines) if line.get("jobId") == job["id"]]  # one per start and finish, and
    assert [line["message"] for line in of_job] == [  # one per customer that failed (its trace); not one per customer
        f"billing job {job['name']} started (attempt 1)",
        f"customer {failing['id']} of billing job {job['name']} failed: RuntimeError('tax service unavailable')",
        f"billing job {job['name']} finished: CompletedWithErrors"]
    assert of_job[1]["level"] == "ERROR" and "Traceback" in of_job[1].get("exception", "")
    assert of_job[2]["counts"] == job["counts"] and of_job[2]["tenantId"] == t.id
    assert all(line["requestId"] == request[-1]["requestId"] for line in of_job)


def test_a_job_billed_in_concurrent_pages_bills_each_customer_once_and_logs_with_its_keys(api, capsys, monkeypatch):
    """Pages of 2 customers, 2 at once (the first two wait for each other): every customer decided once, and a
    failing customer's line logged from a page thread carries the job's keys."""
    monkeypatch.setattr(billing_pages, "PAGE", 2)
    monkeypatch.setenv("BILLRUN_PAGE_THREADS", "2")
    t = clock_tenant(api, "2025-01-01T00:00:00Z")
    product = api.product(t, price=Decimal("30.00"))
    customers = [api.customer(t, name=f"c{n}", billCycleDay=1) for n in range(7)]
    for customer in customers:
        subscribe(api, t, customer, product, startDate="2025-01-01")
    failing = sorted(c["id"] for c in customers)[4]  # pages go by customer id: the third page holds 2
    real_page, real_plan, threads = billing_pages._page, billing_pages._plan, []
    together = threading.Barrier(2, timeout=10)  # the first two pages wait for each other: they run at once

    def page(run, customers_of_page):
        threads.append(threading.current_thread().name)
        if len(threads) <= 2:
            together.wait()
        return real_page(run, customers_of_page)

    def fails_for_one(job, customer, *args, **kw):
        if customer.id == failing:
            raise RuntimeError("tax service unavailable")
        return real_plan(job, customer, *args, **kw)

    monkeypatch.setattr(billing_pages, "_page", page)
    monkeypatch.setattr(billing_pages, "_plan", fails_for_one)
    printed(capsys)
    job = api.post(f"/billing/schedules/{new_schedule(api, t)['id']}:run", {"targetDate": "2025-01-01"},
                   key=t.key).body
    assert job["counts"] == {"customers": 7, "billed": 6, "skipped": 0, "errors": 1, "invoices": 6, "creditMemos": 0}
    # 4 pages, and the failing page again one customer at a time; the first two on two threads at once
    assert len(threads) == 6 and len(set(threads[:2])) == 2 and all(n.startswith("billing-page") for n in threads)
    listed = api.get("/billing/invoices?limit=100", key=t.key).body["data"]
    assert sorted(i["customerId"] for i in listed) == sorted(c["id"] for c in customers if c["id"] != failing)
    [failed] = [line for line in logs(printed(capsys)) if line["message"].startswith(f"customer {failing}")]
    assert (failed["jobId"], failed["tenantId"], failed["level"]) == (job["id"], t.id, "ERROR")


@pytest.fixture(name="small_fanout")
def small_fanout_fixture(api, queues):
    """9 customers over units of 4 (fan-out above 5): 3 work units."""
    t = clock_tenant(api, "2025-01-01T00:00:00Z")
    world(api, t, 9, 1)
    return t


def test_a_fanned_out_job_emits_its_metrics_exactly_once(api, queues, small_fanout, capsys):
    t = small_fanout
    printed(capsys)
    job = bill_job(api, t)
    assert job["status"] == "Running" and job["unitsTotal"] == 3
    assert drain(api, queues) == ["ok"] * 3
    assert not fanout.finish_job(t.id, job["id"])  # a late finisher (a redelivery, the tick's recovery): no-op
    lines = printed(capsys)
    [doc] = emf(lines, observability.JOB_DURATION)
    assert job_metrics(doc)["values"] == {"JobDurationSeconds": [duration_of(t.id, job["id"])], "Invoices": [9.0],
                                          "CreditMemos": [0.0], "Errors": [0.0]}
    assert (doc["jobId"], doc["status"], doc["fannedOut"], doc["tenantId"]) == (job["id"], "Completed", True, t.id)
    assert not emf(lines, observability.UNITS_FAILED)
    units = [line for line in logs(lines) if line["message"].startswith("work unit")]
    assert sorted(line["unit"] for line in units) == [0, 1, 2]  # one line per unit, each in its own invocation
    assert len({line["requestId"] for line in units}) == 3 and {line["jobId"] for line in units} == {job["id"]}


def test_workers_racing_to_finish_a_job_emit_its_metrics_once(api, queues, small_fanout, capsys, monkeypatch):
    t = small_fanout
    monkeypatch.setattr(fanout, "_count", lambda tenant_id, job_id: None)  # every unit done, nobody finished
    job = bill_job(api, t)
    assert drain(api, queues) == ["ok"] * 3
    printed(capsys)
    start, finished = threading.Barrier(3), []

    def finisher():
        start.wait(5)
        finished.append(fanout.finish_job(t.id, job["id"]))

    threads = [threading.Thread(target=finisher) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(20)
    assert sorted(finished) == [False, False, True]
    [doc] = emf(printed(capsys), observability.JOB_DURATION)
    assert doc["jobId"] == job["id"] and doc["Invoices"] == [9.0]


def test_a_unit_that_fails_for_good_counts_once_in_units_failed(api, queues, small_fanout, capsys, monkeypatch):
    t = small_fanout
    real = billing_pages._plan

    def fails_for_one(job, customer, *args, **kw):  # the customer's proposal fails
        if customer.name == "Customer 0005":
            raise RuntimeError("tax service unavailable")
        return real(job, customer, *args, **kw)

    monkeypatch.setattr(billing_pages, "_plan", fails_for_one)
    job = bill_job(api, t)
    [doomed] = [c.id for c in catalog.customers.list(t.id, limit=100)[0] if c.name == "Customer 0005"]
    [unit] = [u.position for u in job_store.units(t.id, job["id"]) if doomed in u.customer_ids]
    printed(capsys)
    assert drain(api, queues).count("UnitFailed") == 3  # three deliveries, then the dead-letter queue
    lines = printed(capsys)
    [failed] = emf(lines, observability.UNITS_FAILED)
    assert failed["UnitsFailed"] == [1.0] and (failed["jobId"], failed["unit"]) == (job["id"], unit)
    [done] = emf(lines, observability.JOB_DURATION)
    assert (done["status"], done["Errors"], done["Invoices"]) == ("CompletedWithErrors", [1.0], [8.0])


# --- the tick's lag, and the alarm that watches it ---------------------------------------------------------------

def daily_schedule(api, t, hour: int) -> datetime:
    """An Active daily schedule firing at `hour`:00 UTC; answers its first slot."""
    body = {"scheduleType": "Recurring", "recurringSchedule": f"0 0 {hour} ? * *", "zoneId": "UTC"}
    schedule = api.post("/billing/schedules", body, key=t.key).body
    activated = api.post("/billing/schedules:activate", {"scheduleIds": [schedule["id"]]}, key=t.key)
    assert activated.status == 200, activated.body
    return datetime.fromisoformat(activated.body["data"][0]["nextRunDate"])


def test_the_live_tick_reports_how_late_its_oldest_due_work_is(api, tenant, capsys, wall):
    at_three, at_four = daily_schedule(api, tenant, 3), daily_schedule(api, tenant, 4)
    sandbox = clock_tenant(api, "2020-01-01T00:00:00Z")  # its overdue slot waits for its own clock: not counted
    daily_schedule(api, sandbox, 3)
    printed(capsys)

    first = min(at_three, at_four)
    assert invoke_tick(api, first - timedelta(minutes=1), wall)["ran"]["billingJobs"] == 0
    [doc] = emf(printed(capsys), observability.TICK_LAG)
    assert doc["TickLagSeconds"] == [0.0]  # nothing due: 0, so the alarm has a data point every tick

    late = max(at_three, at_four) + timedelta(seconds=90, milliseconds=250)
    assert tick_service.oldest_due(LIVE_CLOCK, late) == first  # the older of the two due slots
    # and a recurring invoice due the day before (generated from 00:00 in the customer's zone): older still
    day = first.date() - timedelta(days=1)
    customer = api.customer(tenant, name="Monthly", timezone="UTC")
    template = {"customerId": customer["id"], "recurringInvoiceLineItems": [{"amount": 10, "description": "Plan"}],
                "schedule": {"period": "MONTHLY", "nextDueDate": day.isoformat(), "daysInAdvance": 0}}
    assert api.post("/v3/recurring-invoices", template, key=tenant.key).status == 201
    midnight = datetime.combine(day, time(0), tzinfo=UTC)
    assert tick_service.oldest_due(LIVE_CLOCK, late) == midnight
    printed(capsys)

    ran = invoke_tick(api, late, wall)["ran"]
    assert (ran["billingJobs"], ran["recurringInvoices"]) == (2, 1)
    lines = printed(capsys)
    [doc] = emf(lines, observability.TICK_LAG)
    assert doc["TickLagSeconds"] == [(late - midnight).total_seconds()]  # to the millisecond: ... .25
    [tick_line] = [line for line in logs(lines) if line["message"].startswith("tick of live")]
    assert tick_line["requestId"] == doc["requestId"] and tick_line["ran"] == ran

    assert invoke_tick(api, late + timedelta(seconds=5), wall)["ran"]["billingJobs"] == 0
    [doc] = emf(printed(capsys), observability.TICK_LAG)
    assert doc["TickLagSeconds"] == [0.0]  # caught up


def test_tick_lag_is_the_metric_the_late_schedules_alarm_watches(api, capsys, wall):
    alarm = alarms.resources(stages.stage(STAGE))["LateSchedulesAlarm"]["Properties"]
    printed(capsys)
    invoke_tick(api, wall.now, wall)
    [doc] = emf(printed(capsys), alarm["MetricName"])
    cw = doc["_aws"]["CloudWatchMetrics"][0]
    assert cw["Namespace"] == alarm["Namespace"] == observability.NAMESPACE
    assert cw["Dimensions"] == [[d["Name"] for d in alarm["Dimensions"]]]  # exactly the alarm's dimensions
    assert {d["Name"]: doc[d["Name"]] for d in alarm["Dimensions"]} == {
        d["Name"]: d["Value"] for d in alarm["Dimensions"]}
    [metric] = [m for m in cw["Metrics"] if m["Name"] == alarm["MetricName"]]
    assert metric["Unit"] == alarm.get("Unit", "Seconds") and "StorageResolution" not in metric  # 60 s resolution
    # what TickLagSeconds is defined against (docs/operations.md, Observability): the worst lag per period; emitted every
    # tick, so no data means no tick: breaching
    assert (alarm["Statistic"], alarm["TreatMissingData"]) == ("Maximum", "breaching")
