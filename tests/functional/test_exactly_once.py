"""SPEC guarantee 1, exactly once: each (subscription, period) is invoiced once whatever happens to the ticks.

Every test compares the final state with the state a clean single run of the same scenario leaves, through
`snapshot()`: the finalized invoices and credit memos reduced to comparable content (customers and
subscriptions by name, not by id), and the billing ledger, whose every claim must be backed by the lines of
a finalized document (net billed per period = its invoice lines - its credit memo lines = what it is worth).
Human numbers may have gaps after a crash; they must stay unique.

Faults are injected where they really happen: PynamoDB's low-level call (`Connection._make_api_call`), which
every DynamoDB request of the app passes through, counts successful writes and raises `SimulatedCrash` (a
BaseException, like a Lambda being killed: no `except Exception` can swallow it) right after the N-th one; and,
on the same call, batches are answered in part, the rest UnprocessedItems or UnprocessedKeys, as real DynamoDB may
answer them (tests.support.PartialBatches).
The wall clock (leases, the live tick) is a fake the tests move, so "after the lease expired" is exact.

Speed: a "fresh moto state" is moto's in-memory DynamoDB tables swapped for a saved copy (empty, or a
scenario template), which is what creating the tables or building the scenario again would produce."""
import copy
import threading
from collections import Counter, defaultdict
from contextlib import contextmanager
from datetime import date, datetime, timedelta
from decimal import Decimal

import pytest
from moto import mock_aws
from moto.core import DEFAULT_ACCOUNT_ID
from moto.dynamodb.models import dynamodb_backends
from pynamodb.connection.base import Connection

from chalicelib.domain.billing import ALREADY_BILLED, should_amount
from chalicelib.domain.timeutil import parse_instant
from chalicelib.services import billing_job_runner, billing_jobs, billing_pages, billing_schedules
from chalicelib.services import clock as clock_service
from chalicelib.services.ids import derived_id
from chalicelib.services import tick
from chalicelib.store import batch
from chalicelib.store import billing_jobs as job_store
from chalicelib.store import ledger, tables
from chalicelib.store import billing_schedules as schedule_store
from chalicelib.store import tenants as tenant_store
from chalicelib.store.document_models import CreditMemoModel, InvoiceModel
from chalicelib.store.catalog import subscriptions as subscription_store
from tests.clock import Wall
from tests.support import Api, PartialBatches

WRITE_OPERATIONS = frozenset({"PutItem", "UpdateItem", "DeleteItem", "BatchWriteItem", "TransactWriteItems"})
START = "2025-01-01"
CHECK_OPENAPI = False  # the snapshots read dozens of documents per run; other suites check the answers' shapes
pytestmark = pytest.mark.wall("2025-01-01T00:00:00Z")  # where the `wall` fixture's clock starts


def at(text: str) -> datetime:
    return parse_instant(text)


class SimulatedCrash(BaseException):
    """The process dies here (Lambda timeout, OOM, kill): nothing after this line of the code under test runs."""


# --- fixtures: a DynamoDB write meter, fresh moto states ---------------------------------------------------------

def tables_of(kwargs: dict) -> list[str]:
    """The tables a write request writes to (a batch's or a transaction's, sorted), named without the prefix."""
    names = {kwargs["TableName"]} if "TableName" in kwargs else set(kwargs.get("RequestItems", {})) | {
        op["TableName"] for action in kwargs.get("TransactItems", []) for op in action.values()}
    return sorted(name.removeprefix("billrun-dev-") for name in names)


class WriteMeter:
    """Counts the app's successful DynamoDB writes; dies right after the `crash_after`-th one."""

    def __init__(self):
        self._lock = threading.Lock()
        self.reset()

    def reset(self, crash_after: int | None = None):
        self.writes: list[str] = []
        self.crash_after = crash_after
        self.crashed_at: str | None = None

    def after(self, operation: str, kwargs: dict) -> None:
        if operation not in WRITE_OPERATIONS:
            return
        with self._lock:
            self.writes.append(f"{operation} {'+'.join(tables_of(kwargs))}")
            n = len(self.writes)
        if n == self.crash_after:
            self.crashed_at = self.writes[-1]
            raise SimulatedCrash(f"crash after write #{n}: {self.writes[-1]}")


@pytest.fixture
def meter(monkeypatch):
    m = WriteMeter()
    original = Connection._make_api_call

    def metered(self, operation_name, operation_kwargs):
        result = original(self, operation_name, operation_kwargs)  # a failed (conditional) write raises here
        m.after(operation_name, operation_kwargs)
        return result

    monkeypatch.setattr(Connection, "_make_api_call", metered)
    return m


def _dynamodb():
    return dynamodb_backends[DEFAULT_ACCOUNT_ID]["us-east-1"]


def save_state() -> dict:
    return copy.deepcopy(_dynamodb().tables)


def load_state(saved: dict) -> None:
    """Every table exactly as saved (items, indexes, TTL): a fresh account holding just that."""
    _dynamodb().tables = copy.deepcopy(saved)


_SAVED: dict = {}  # "empty": the app's tables, no items; scenario templates by name


@contextmanager
def fresh_stack(state: str = "empty"):
    """A new moto account with the app's tables (empty, or a saved scenario), and an API client on it."""
    from chalice.test import Client

    from app import app
    with mock_aws():
        if "empty" not in _SAVED:
            tables.create_all()
            _SAVED["empty"] = save_state()
        load_state(_SAVED[state])
        tables.bind()  # the models keep their connections: moto intercepts every botocore client, old or new
        with Client(app, stage_name="dev") as client:
            yield Api(client)


def concurrently(n: int, action) -> list:
    """Runs action() on n threads released at the same instant; re-raises the first failure."""
    barrier, results, errors = threading.Barrier(n), [None] * n, []

    def run(i):
        try:
            barrier.wait()
            results[i] = action()
        except BaseException as error:  # noqa: B036 - handed to the test below
            errors.append(error)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise errors[0]
    return results


# --- the scenario ------------------------------------------------------------------------------------------

def build_catalog(api: Api, t, names=("Ada", "Bob", "Cyd")) -> dict[str, str]:
    """Each customer: Pro x2 at 30.00 and Seat x3 at 12.50 from Jan 1 (Cyd's Seat from Jan 10: a prorated
    first period), monthly, in advance, bill cycle day 1, tax 10%."""
    pro = api.product(t, name="Pro", price=Decimal("30.00"), billingPeriod="Month")
    seat = api.product(t, name="Seat", price=Decimal("12.50"), billingPeriod="Month")
    ids = {}
    for name in names:
        customer = api.customer(t, name=name, timezone="UTC", billCycleDay=1, taxRate=10)
        order = api.post("/orders", {"customerId": customer["id"], "lines": [
            {"productId": pro["id"], "quantity": 2, "startDate": START},
            {"productId": seat["id"], "quantity": 3, "startDate": "2025-01-10" if name == "Cyd" else START}]},
            key=t.key)
        assert order.status == 201, order.body
        activated = api.post(f"/orders/{order.body['id']}:activate", key=t.key)
        assert activated.status == 200, activated.body
        ids[name] = customer["id"]
    return ids


def add_schedule(api: Api, t, description: str, cron: str, customer_ids=None) -> dict:
    body = {"scheduleType": "Recurring", "recurringSchedule": cron, "zoneId": "UTC", "scheduleStartDate": START,
            "description": description,
            "customerFilter": "{id: {_in: [%s]}}" % ", ".join(f'"{i}"' for i in customer_ids) if customer_ids
            else None}
    created = api.post("/billing/schedules", body, key=t.key)
    assert created.status == 201, created.body
    activated = api.post("/billing/schedules:activate", {"scheduleIds": [created.body["id"]]}, key=t.key)
    assert activated.status == 200, activated.body
    return activated.body["data"][0]


def cancel(api: Api, t, customer_id: str, product_name: str, effective: str) -> None:
    products = {p["id"]: p["name"] for p in everything(api, t, "/products")}
    found = [s for s in everything(api, t, "/subscriptions")
             if s["customerId"] == customer_id and products[s["productId"]] == product_name]
    assert len(found) == 1
    answer = api.post(f"/subscriptions/{found[0]['id']}:cancel", {"effectiveDate": effective}, key=t.key)
    assert answer.status == 200, answer.body


def advance(api: Api, t, to: datetime):
    """POST /test/clock:advance."""
    return api.post("/test/clock:advance", {"to": to.isoformat().replace("+00:00", "Z")}, key=t.key)


def advance_clock(tenant_id: str, to: datetime):
    """The same as POST /test/clock:advance without the HTTP layer: a crash propagates, as a dying Lambda's."""
    return clock_service.advance(tenant_store.get_tenant(tenant_id), to)


# --- what the tests compare --------------------------------------------------------------------------------

def everything(api: Api, t, path: str) -> list[dict]:
    answer = api.get(f"{path}{'&' if '?' in path else '?'}limit=1000", key=t.key, check=CHECK_OPENAPI)
    assert answer.status == 200, answer.body
    assert answer.body.get("nextToken") is None
    return answer.body["data"]


_LABELS: dict = {}  # tenant id -> (customer names, subscription labels); the scenarios' catalogs never change


def labels(api: Api, t) -> tuple[dict, dict]:
    if t.id not in _LABELS:
        customers = {c["id"]: c["name"] for c in everything(api, t, "/customers")}
        products = {p["id"]: p["name"] for p in everything(api, t, "/products")}
        label = {s["id"]: f"{customers[s['customerId']]}/{products[s['productId']]}"
                 for s in everything(api, t, "/subscriptions")}
        assert len(set(label.values())) == len(label) == 2 * len(customers)
        _LABELS[t.id] = customers, label
    return _LABELS[t.id]


def snapshot(api: Api, t, *, settled: bool = True) -> dict:
    """The tenant's billing outcome as comparable content, after checking that the ledger and the finalized
    documents agree claim by claim. `settled`: every billed period is worth exactly what it was billed."""
    customers, label = labels(api, t)

    listed_invoices, listed_memos = everything(api, t, "/billing/invoices"), everything(api, t, "/billing/credit-memos")
    names = [d["name"] for d in listed_invoices + listed_memos]
    assert len(names) == len(set(names)), f"human numbers repeat: {sorted(names)}"
    documents = {}  # id -> (sign in the ledger, the document as GET returns it)
    invoices, memos = [], []
    for summary in listed_invoices:
        doc = api.get(f"/billing/invoices/{summary['id']}", key=t.key, check=CHECK_OPENAPI).body
        documents[doc["id"]] = (Decimal(1), doc)
        invoices.append((customers[doc["customerId"]], doc["startDate"], doc["endDate"], doc["amount"],
                         doc["amountWithoutTax"], doc["taxAmount"], doc["status"], _lines(doc, label)))
    for summary in listed_memos:
        doc = api.get(f"/billing/credit-memos/{summary['id']}", key=t.key, check=CHECK_OPENAPI).body
        documents[doc["id"]] = (Decimal(-1), doc)
        memos.append((customers[doc["customerId"]], min(l["startDate"] for l in doc["lines"]),
                      max(l["endDate"] for l in doc["lines"]), doc["amount"], doc["amountWithoutTax"],
                      doc["taxAmount"], "CreditMemo", _lines(doc, label)))
    assert len(documents) == len(listed_invoices) + len(listed_memos)

    # Every stored document is listed: none is stored that a read does not show.
    for model, listed in ((InvoiceModel, listed_invoices), (CreditMemoModel, listed_memos)):
        assert sorted(i.id for i in model.query(t.id)) == sorted(d["id"] for d in listed)

    entries = ledger.entries(t.id, list(label))
    by_subscription = defaultdict(list)
    for entry in entries.values():
        by_subscription[entry.subscription_id].append(entry)
    from_documents = defaultdict(Decimal)  # (subscription, period start, document) -> signed line amounts
    for doc_id, (sign, doc) in documents.items():
        for line in doc["lines"]:
            day = date.fromisoformat(line["startDate"])
            owners = [e for e in by_subscription[line["subscriptionId"]] if e.period_start <= day <= e.period_end]
            assert len(owners) == 1, f"line {line} of {doc['name']} has {len(owners)} ledger periods"
            from_documents[(line["subscriptionId"], owners[0].period_start, doc_id)] += sign * line["amount"]
    entities = {s.id: s for s in subscription_store.of_tenant(t.id)} if settled else {}
    claimed = defaultdict(Decimal)
    ledger_rows = []
    for entry in entries.values():
        assert sum((amount for _, amount in entry.documents), Decimal(0)) == entry.billed_amount
        for doc_id, amount in entry.documents:
            assert doc_id in documents, f"{entry.subscription_id} {entry.period_start}: claim by {doc_id}, " \
                                        "which is not a finalized invoice or credit memo"
            claimed[(entry.subscription_id, entry.period_start, doc_id)] += amount
        net_of_documents = sum((v for (s, p, _), v in from_documents.items()
                                if (s, p) == (entry.subscription_id, entry.period_start)), Decimal(0))
        assert entry.billed_amount == net_of_documents, (label[entry.subscription_id], entry.period_start)
        if settled:
            worth = should_amount(entities[entry.subscription_id], entry.period)
            assert entry.billed_amount == worth, (label[entry.subscription_id], entry.period_start,
                                                  entry.billed_amount, worth)
        ledger_rows.append((label[entry.subscription_id], entry.period_start.isoformat(),
                            entry.period_end.isoformat(), entry.billed_amount))
    assert dict(claimed) == dict(from_documents), "ledger claims and document lines disagree"
    # No period is charged twice: a (subscription, line start) appears on one invoice line only.
    charged = Counter((l["subscriptionId"], l["startDate"])
                      for sign, doc in documents.values() if sign > 0 for l in doc["lines"])
    assert [k for k, n in charged.items() if n > 1] == []
    return {"invoices": sorted(invoices), "creditMemos": sorted(memos), "ledger": sorted(ledger_rows)}


def _lines(doc: dict, label: dict) -> tuple:
    return tuple(sorted((label[l["subscriptionId"]], l["startDate"], l["endDate"], l["quantity"], l["unitPrice"],
                         l["amount"]) for l in doc["lines"]))


def job_slots(api: Api, t) -> dict[str, list[str]]:
    """Per schedule (by description): its jobs' slots. Exactly one job per slot, each Completed."""
    schedules = {s["id"]: s["description"] for s in everything(api, t, "/billing/schedules")}
    slots = defaultdict(list)
    for job in everything(api, t, "/billing/jobs"):
        assert job["status"] == "Completed", job
        slots[schedules.get(job["scheduleId"], job["scheduleId"])].append(job["scheduledTime"])
    for times in slots.values():
        assert len(times) == len(set(times)), f"a slot has more than one job: {sorted(times)}"
    return {k: sorted(v) for k, v in slots.items()}


def decision_logs(api: Api, t) -> dict:
    """Per job (by slot): its counts and its decision log, with whether each document it names exists (ids are
    derived from job and customer, so equal across runs; numbers are not: a crashed run leaves gaps)."""
    stored = {d["id"] for path in ("/billing/invoices", "/billing/credit-memos") for d in everything(api, t, path)}
    return {job["scheduledTime"]: (job["counts"], sorted(
        (d["customerId"], d["decision"], d["reason"], d["lines"], d["invoiceId"], d["creditMemoId"],
         {d["invoiceId"], d["creditMemoId"]} - {None} <= stored) for d in job["decisions"]))
        for job in job_details(api, t)}


def job_details(api: Api, t) -> list[dict]:
    return [api.get(f"/billing/jobs/{j['id']}", key=t.key, check=CHECK_OPENAPI).body
            for j in everything(api, t, "/billing/jobs")]


# --- 1. the same tick delivered 3 times, concurrently and in sequence --------------------------------------

TICK_UNTIL = at("2025-02-02T12:00:00Z")  # 4 daily slots per schedule, across a month end: Jan and Feb bill
DAILY_SLOTS = {"daily AB": 4, "daily C": 4}
_TENANTS: dict = {}  # the tenant of each saved scenario


def live_template(wall: Wall):
    """A live tenant: Ada, Bob, Cyd; schedules created and activated through the API on Jan 30 at 00:00 (daily
    03:00 for Ada and Bob, daily 04:30 for Cyd). Saved once; each use starts from a fresh copy."""
    if "live" not in _SAVED:
        with fresh_stack() as api:
            wall.now = at("2025-01-30T00:00:00Z")
            t = api.new_tenant("Live shop", timezone="UTC", currency="USD")
            ids = build_catalog(api, t)
            first = add_schedule(api, t, "daily AB", "0 0 3 ? * *", [ids["Ada"], ids["Bob"]])
            add_schedule(api, t, "daily C", "0 30 4 ? * *", [ids["Cyd"]])
            assert at(first["nextRunDate"]) == at("2025-01-30T03:00:00Z")
            _SAVED["live"], _TENANTS["live"] = save_state(), t
    wall.now = TICK_UNTIL  # the tick fires later: every slot since is due (next_run_date in the past)
    return _TENANTS["live"]


def deliver_tick(api: Api) -> dict:
    """What EventBridge invokes: the app's tick Lambda, which reads the wall clock."""
    event = api.client.events.generate_cw_event(source="aws.events", detail_type="Scheduled Event", detail={},
                                                resources=["arn:aws:events:us-east-1:123456789012:rule/tick"])
    return api.client.lambda_.invoke("tick", event).payload


def test_live_tick_delivered_three_times_concurrently_and_in_sequence(wall):
    t = live_template(wall)
    with fresh_stack("live") as api:
        tick.process_clock("live", TICK_UNTIL)
        clean, clean_slots = snapshot(api, t), job_slots(api, t)
    assert len(clean["invoices"]) == 6 and clean["creditMemos"] == []  # Jan and Feb for each customer
    assert {k: len(v) for k, v in clean_slots.items()} == DAILY_SLOTS

    with fresh_stack("live") as api:
        concurrently(3, lambda: tick.process_clock("live", TICK_UNTIL))
        assert snapshot(api, t) == clean and job_slots(api, t) == clean_slots
        for _ in range(3):  # redelivered later, in sequence, through the handler EventBridge calls
            assert deliver_tick(api)["clockId"] == "live"
        assert snapshot(api, t) == clean and job_slots(api, t) == clean_slots

    with fresh_stack("live") as api:
        for _ in range(3):
            deliver_tick(api)
        assert snapshot(api, t) == clean and job_slots(api, t) == clean_slots


def clocked_template() -> tuple:
    """The same scenario for a test-mode tenant whose clock starts on Jan 30 at 00:00."""
    if "clocked" not in _SAVED:
        with fresh_stack() as api:
            t = api.new_tenant("Test shop", testMode=True, timezone="UTC", currency="USD",
                               clockStart="2025-01-30T00:00:00Z")
            ids = build_catalog(api, t)
            add_schedule(api, t, "daily AB", "0 0 3 ? * *", [ids["Ada"], ids["Bob"]])
            add_schedule(api, t, "daily C", "0 30 4 ? * *", [ids["Cyd"]])
            _SAVED["clocked"], _TENANTS["clocked"] = save_state(), t
    return _TENANTS["clocked"]


def clean_daily() -> tuple[dict, dict]:
    """One clean advance of the test-mode daily scenario: the invoices every variant must end with."""
    if "clean daily" not in _SAVED:
        t = clocked_template()
        with fresh_stack("clocked") as api:
            assert advance(api, t, TICK_UNTIL).status == 200
            _SAVED["clean daily"] = snapshot(api, t), job_slots(api, t)
    return _SAVED["clean daily"]


def test_test_clock_advance_delivered_three_times_concurrently_and_in_sequence(wall):
    t = clocked_template()
    clean, clean_slots = clean_daily()
    assert len(clean["invoices"]) == 6
    assert {k: len(v) for k, v in clean_slots.items()} == DAILY_SLOTS

    with fresh_stack("clocked") as api:
        statuses = [a.status for a in concurrently(3, lambda: advance(api, t, TICK_UNTIL))]
        # the one that moved the clock holds the advance and answers 200 when it is done; the others found it
        # under way (202), or done already and made an advance of their own that finds nothing due (200)
        assert 200 in statuses and set(statuses) <= {200, 202}, statuses
        assert api.get("/test/clock", key=t.key).body["status"] == "Ready"
        assert snapshot(api, t) == clean and job_slots(api, t) == clean_slots
        concurrently(3, lambda: tick.process_clock(f"test#{t.id}", TICK_UNTIL))
        for _ in range(3):
            assert advance(api, t, TICK_UNTIL).status == 200
            tick.process_clock(f"test#{t.id}", TICK_UNTIL)
        assert snapshot(api, t) == clean and job_slots(api, t) == clean_slots

    with fresh_stack("clocked") as api:  # the domain's tick raced from the start, without the clock route
        tenant_store.move_clock(t.id, at("2025-01-30T00:00:00Z"), TICK_UNTIL)
        concurrently(3, lambda: tick.process_clock(f"test#{t.id}", TICK_UNTIL))
        assert snapshot(api, t) == clean and job_slots(api, t) == clean_slots


# --- the monthly scenario: a February job that writes invoices and a credit memo ------------------------------

FEB = at("2025-02-01T04:00:00Z")
MAR = at("2025-03-01T04:00:00Z")
RUN_WALL = at("2025-02-01T04:00:00Z")
AFTER_LEASE = RUN_WALL + job_store.LEASE + timedelta(minutes=1)  # the first tick after a lease taken at RUN_WALL


def monthly_template(wall: Wall):
    """Ada, Bob, Cyd on a monthly schedule (03:00 UTC on the 1st) whose January job has run; then Bob's Seat
    is canceled from Jan 21 (it was billed in advance to Jan 31). The February job bills February for the five
    live subscriptions (and Cyd's Seat Jan 10-31, first due on Feb 1), and gives Bob back Jan 21-31 on a
    credit memo. Saved once; each use starts from a fresh copy."""
    if "monthly" not in _SAVED:
        with fresh_stack() as api:
            wall.now = at("2025-01-01T00:00:00Z")
            t = api.new_tenant("Monthly", testMode=True, timezone="UTC", currency="USD",
                               clockStart="2025-01-01T00:00:00Z")
            ids = build_catalog(api, t)
            add_schedule(api, t, "monthly", "0 0 3 1 * ?")
            assert advance(api, t, at("2025-01-01T04:00:00Z")).status == 200
            assert len(snapshot(api, t)["invoices"]) == 3
            cancel(api, t, ids["Bob"], "Seat", "2025-01-21")
            _SAVED["monthly"], _TENANTS["monthly"] = save_state(), (t, ids)
    wall.now = RUN_WALL
    return _TENANTS["monthly"]


def clean_monthly(wall: Wall, until: datetime) -> tuple[dict, dict]:
    """Snapshot and job slots of one clean run of the monthly template up to `until`."""
    key = f"clean {until.isoformat()}"
    if key not in _SAVED:
        t, _ = monthly_template(wall)
        with fresh_stack("monthly") as api:
            advance_clock(t.id, until)
            _SAVED[key] = (snapshot(api, t), job_slots(api, t))
    wall.now = RUN_WALL
    return _SAVED[key]


def the_job(api: Api, t, slot: str) -> dict:
    jobs = [j for j in everything(api, t, "/billing/jobs") if j["scheduledTime"].startswith(slot)]
    assert len(jobs) == 1, jobs
    return api.get(f"/billing/jobs/{jobs[0]['id']}", key=t.key, check=CHECK_OPENAPI).body


def test_the_february_job_writes_invoices_and_a_credit_memo(wall):
    t, ids = monthly_template(wall)
    with fresh_stack("monthly") as api:
        before = snapshot(api, t, settled=False)  # Bob's Seat: billed to Jan 31, in service to Jan 20
        advance_clock(t.id, FEB)
        after = snapshot(api, t)
        job = the_job(api, t, "2025-02-01")
    new = [i for i in after["invoices"] if i not in before["invoices"]]
    assert sorted(i[0] for i in new) == ["Ada", "Bob", "Cyd"]
    assert [i[-1] for i in new if i[0] == "Bob"] == [(("Bob/Pro", "2025-02-01", "2025-02-28", 2, Decimal("30.00"),
                                                       Decimal("60.00")),)]
    assert after["creditMemos"] == [("Bob", "2025-01-21", "2025-01-31", Decimal("14.64"), Decimal("13.31"),
                                     Decimal("1.33"), "CreditMemo", (("Bob/Seat", "2025-01-21", "2025-01-31", 1,
                                                                      Decimal("13.31"), Decimal("13.31")),))]
    assert job["status"] == "Completed" and job["attempts"] == 1
    assert job["counts"] == {"customers": 3, "billed": 3, "skipped": 0, "errors": 0, "invoices": 3, "creditMemos": 1}


def test_a_redelivered_tick_never_overtakes_a_slow_runner(wall, monkeypatch):
    """A catch-up over two monthly slots (Feb 1 and Mar 1). Runner A is slow inside the February job (it holds
    the job's lease) when the same tick is delivered again (runner B). B must neither run February's job nor
    jump ahead to March's, which would bill February on March's invoices: the end state is the clean run's."""
    t, _ = monthly_template(wall)
    clean, clean_slots = clean_monthly(wall, MAR)
    with fresh_stack("monthly") as api:
        a_inside, b_done, failures = threading.Event(), threading.Event(), []
        original = billing_jobs.find_scope

        def slow_scope(tenant_id, job):  # runs right after bill_job took the lease
            if threading.current_thread() is runner_a and not a_inside.is_set():
                assert job.scheduled_time == at("2025-02-01T03:00:00Z")
                a_inside.set()
                assert b_done.wait(30)
            return original(tenant_id, job)

        def run_a():
            try:
                advance_clock(t.id, MAR)
            except BaseException as error:  # noqa: B036 - handed to the test below
                failures.append(error)

        monkeypatch.setattr(billing_jobs, "find_scope", slow_scope)
        runner_a = threading.Thread(target=run_a)
        runner_a.start()
        assert a_inside.wait(30)
        tick.process_clock(f"test#{t.id}", MAR)  # runner B: the same tick, delivered again
        b_done.set()
        runner_a.join()
        assert failures == []
        assert snapshot(api, t) == clean and job_slots(api, t) == clean_slots


# --- 2. overlapping schedules -------------------------------------------------------------------------------

def overlap_scenario(api: Api, crons: tuple[str, str]):
    """Ada, Bob, Cyd; two schedules whose scopes both include Bob."""
    t = api.new_tenant("Overlap", testMode=True, timezone="UTC", currency="USD", clockStart="2025-01-30T00:00:00Z")
    ids = build_catalog(api, t)
    add_schedule(api, t, "AB", crons[0], [ids["Ada"], ids["Bob"]])
    add_schedule(api, t, "BC", crons[1], [ids["Bob"], ids["Cyd"]])
    return t, ids


@pytest.mark.parametrize("crons", [("0 0 3 ? * *", "0 0 3 ? * *"), ("0 0 3 ? * *", "0 0 5 ? * *")],
                         ids=["same-cron", "different-crons"])
def test_overlapping_schedules_bill_each_period_once(wall, crons):
    clean, _ = clean_daily()  # the same customers and subscriptions, disjoint scopes
    with fresh_stack() as api:
        t, ids = overlap_scenario(api, crons)
        assert advance(api, t, TICK_UNTIL).status == 200
        assert snapshot(api, t) == clean  # settled: ledger net == worth for every period, no period twice
        assert {k: len(v) for k, v in job_slots(api, t).items()} == {"AB": 4, "BC": 4}
        bob = defaultdict(list)  # slot day -> Bob's decisions in the two schedules' jobs
        for job in job_details(api, t):
            bob[job["scheduledTime"][:10]] += [(d["decision"], d["reason"]) for d in job["decisions"]
                                               if d["customerId"] == ids["Bob"]]
    assert sorted(bob) == ["2025-01-30", "2025-01-31", "2025-02-01", "2025-02-02"]
    for day, made in bob.items():
        if day in ("2025-01-30", "2025-02-01"):  # January, then February, fall due: one job bills, one finds it billed
            assert sorted(made) == [("Billed", None), ("Skipped", ALREADY_BILLED)], (day, made)
        else:
            assert made == [("Skipped", ALREADY_BILLED)] * 2, (day, made)


def test_overlapping_jobs_racing_for_the_same_periods(wall, monkeypatch):
    """Job BC proposes Bob's periods from the same empty ledger as job AB, then AB claims and finishes before BC
    writes anything: BC loses every compare-and-set, keeps no invoice for Bob and logs "already billed"."""
    slot = at("2025-01-30T03:00:00Z")

    def two_jobs(api):
        t, ids = overlap_scenario(api, ("0 0 3 ? * *", "0 0 3 ? * *"))
        tenant = tenant_store.get_tenant(t.id)
        jobs = {}
        for schedule in billing_schedules.schedules.list(t.id, limit=10)[0]:
            jobs[schedule.description] = billing_jobs.new_job(
                tenant, job_id=derived_id(schedule.id, slot.isoformat()), scheduled_time=slot,
                target_date=date(2025, 1, 30), invoice_date=date(2025, 1, 30), created_by_id="test", now=slot,
                schedule=schedule).id
        return t, ids, tenant, jobs

    with fresh_stack() as api:
        t, _, tenant, jobs = two_jobs(api)
        billing_job_runner.bill_job(tenant, jobs["AB"], slot)
        billing_job_runner.bill_job(tenant, jobs["BC"], slot)
        clean = snapshot(api, t)
    assert len(clean["invoices"]) == 3

    with fresh_stack() as api:
        t, ids, tenant, jobs = two_jobs(api)
        b_proposed, a_done = threading.Event(), threading.Event()
        original = billing_pages.billing.propose
        bob_in_bc = derived_id(jobs["BC"], ids["Bob"], "invoice")

        def propose(subs, seen, target, names, own_documents=(), settled=None):
            proposal = original(subs, seen, target, names, own_documents=own_documents, settled=settled)
            if bob_in_bc in own_documents and not b_proposed.is_set():  # job BC's first proposal for Bob: hold
                # it until AB has finished (BC then loses the compare-and-set, reads Bob's ledger and proposes again)
                assert proposal.lines and not seen
                b_proposed.set()
                assert a_done.wait(30)
            return proposal

        monkeypatch.setattr(billing_pages.billing, "propose", propose)
        runner_b = threading.Thread(target=billing_job_runner.bill_job, args=(tenant, jobs["BC"], slot))
        runner_b.start()
        assert b_proposed.wait(30)
        billing_job_runner.bill_job(tenant, jobs["AB"], slot)
        a_done.set()
        runner_b.join()
        assert snapshot(api, t) == clean
        ab, bc = (api.get(f"/billing/jobs/{jobs[n]}", key=t.key).body for n in ("AB", "BC"))
    of_bob = lambda job: [(d["decision"], d["reason"], d["invoiceId"]) for d in job["decisions"]  # noqa: E731
                          if d["customerId"] == ids["Bob"]]
    assert of_bob(ab) == [("Billed", None, derived_id(jobs["AB"], ids["Bob"], "invoice"))]
    assert of_bob(bc) == [("Skipped", ALREADY_BILLED, None)]
    assert ab["status"] == bc["status"] == "Completed"
    assert (ab["counts"]["billed"], bc["counts"]["billed"]) == (2, 1)  # AB: Ada and Bob; BC: Cyd only


# --- 3. a crash after every single DynamoDB write, then the next tick ---------------------------------------

@pytest.fixture
def partial(monkeypatch):
    """Batches answered as DynamoDB may: part of each unprocessed on its first try (tests.support.PartialBatches),
    installed after `meter`, so the meter counts what reaches moto; off until a test turns it on (clean runs are
    clean). The pauses before resends are test_batch's."""
    monkeypatch.setattr(batch, "sleep", lambda seconds: None)
    partial = PartialBatches(monkeypatch)
    partial.on = False
    return partial


def test_batches_partly_unprocessed_on_their_first_try_bill_exactly(wall, meter, partial):
    """Every BatchGetItem and BatchWriteItem of the job's tick leaves part of its keys or items unprocessed on its
    first try: they are asked and sent again, and the outcome is the clean run's."""
    t, _ = monthly_template(wall)
    clean, clean_slots = clean_monthly(wall, FEB)
    with fresh_stack("monthly") as api:
        meter.reset()
        partial.on = True
        advance_clock(t.id, FEB)
        partial.on = False
        cut, requests = Counter(operation for operation, _, _ in partial.cut), Counter(partial.requests)
        assert snapshot(api, t) == clean and job_slots(api, t) == clean_slots
    # the scope's customers, products and orders, the ledger's heads (which vouch for January: no entry is read);
    # the page's decisions
    assert (cut["BatchGetItem"], cut["BatchWriteItem"]) == (4, 1)
    assert requests == {op: 2 * n for op, n in cut.items()}  # each first try cut, each resend whole
    assert partial.pending == set()  # every key and item left was sent again
    assert Counter(w.split()[0] for w in meter.writes)["BatchWriteItem"] == 2  # part of the decisions, then the rest


@pytest.mark.parametrize("batches", ["whole", "partly-unprocessed"])
def test_crash_after_every_single_write_then_rerun_converges(wall, meter, request, monkeypatch, capsys, batches):
    """The job's tick is run once per DynamoDB write request it makes, dying right after that request each time,
    and then the next tick runs: every end state is the clean run's (documents, ledger, jobs and their decision
    logs). A position is each write request that reached
    moto, whatever its kind: PutItem, UpdateItem and DeleteItem, each BatchWriteItem (a page's decisions) and each
    TransactWriteItems (a page's documents and ledger claims), in the order a clean run makes them: 14 in all.
    partly-unprocessed: batches of 2 (so the page's 3 decisions take two BatchWriteItems, its reads several
    BatchGetItems), each batch leaving part of its keys or items unprocessed on its first try, in the crashed run
    and the re-run alike. The decisions' 1 position becomes 3: right after a batch write that only partly succeeded
    (1 decision of 3 written, the one left never sent again), after its resend (2 written: between the two
    batches), and after the second batch's resend (none of it was processed on its first try: not a position)."""
    partial = request.getfixturevalue("partial") if batches == "partly-unprocessed" else None
    if partial:
        monkeypatch.setattr(batch, "MAX_WRITE", 2)
        monkeypatch.setattr(batch, "MAX_GET", 2)
    t, _ = monthly_template(wall)
    with fresh_stack("monthly") as api:
        meter.reset()
        if partial:
            partial.on = True
        advance_clock(t.id, FEB)  # the clean run, metered: one tick, one slot, one job
        positions = list(meter.writes)
        if partial:
            partial.on = False
        clean, clean_slots, clean_logs = snapshot(api, t), job_slots(api, t), decision_logs(api, t)
    assert (clean, clean_slots) == clean_monthly(wall, FEB)
    assert len(clean["creditMemos"]) == 1 and len(clean["invoices"]) == 6
    assert {table for w in positions for table in w.split()[1].split("+")} >= {
        "invoices", "credit-memos", "billing-ledger", "billing-jobs", "billing-decisions"}
    writes = Counter(w.split()[0] for w in positions)
    assert (writes["TransactWriteItems"], writes["BatchWriteItem"], len(positions)) == (
        (1, 3, 16) if partial else (1, 1, 14))

    decisions_at_crash = []  # decisions stored when the run died right after a BatchWriteItem
    for n in range(1, len(positions) + 1):
        with fresh_stack("monthly") as api:
            wall.now = RUN_WALL
            if partial:
                partial.reset()
                partial.on = True
            meter.reset(crash_after=n)
            with pytest.raises(SimulatedCrash):
                advance_clock(t.id, FEB)
            assert meter.crashed_at == positions[n - 1], "a clean run and a crashed run write in the same order"
            if positions[n - 1].startswith("BatchWriteItem"):
                decisions_at_crash.append(len(the_job(api, t, "2025-02-01")["decisions"]))
            meter.reset()
            wall.now = AFTER_LEASE  # the next tick after the lease ran out (the clock route re-runs the domain)
            advance_clock(t.id, FEB)
            if partial:
                partial.on = False
            assert snapshot(api, t) == clean, f"crash after write #{n} ({positions[n - 1]})"
            assert job_slots(api, t) == clean_slots, f"crash after write #{n} ({positions[n - 1]})"
            assert decision_logs(api, t) == clean_logs, f"crash after write #{n} ({positions[n - 1]})"
    assert decisions_at_crash == ([1, 2, 3] if partial else [3])
    with capsys.disabled():
        print(f"\n[exactly-once] crash positions covered ({batches} batches): {len(positions)} writes of one job's "
              f"tick ({', '.join(f'{k} x{v}' for k, v in sorted(Counter(positions).items()))})")


# --- 4. a lease that expires mid-job -------------------------------------------------------------------------

def test_lease_expiring_mid_job_is_taken_over_only_after_it_expired(wall, meter, monkeypatch):
    t, _ = monthly_template(wall)
    clean, clean_slots = clean_monthly(wall, FEB)
    with fresh_stack("monthly") as api:
        recorded = job_store.record_decisions
        monkeypatch.setattr(billing_pages, "PAGE", 1)  # a page per customer: "after its first customer" is a page
        monkeypatch.setenv("BILLRUN_PAGE_THREADS", "1")  # one page after the other: the first page is the first

        def dies_after_the_first_customer(*args, **kwargs):
            recorded(*args, **kwargs)
            raise SimulatedCrash("runner A dies after billing its first customer")

        monkeypatch.setattr(job_store, "record_decisions", dies_after_the_first_customer)
        with pytest.raises(SimulatedCrash):
            advance_clock(t.id, FEB)
        monkeypatch.setattr(job_store, "record_decisions", recorded)
        job = the_job(api, t, "2025-02-01")
        assert (job["status"], job["attempts"], len(job["decisions"])) == ("Running", 1, 1)
        partial = snapshot(api, t, settled=False)
        assert len(partial["invoices"]) == 4  # January's three, and the first customer's February

        wall.now = RUN_WALL + job_store.LEASE - timedelta(seconds=1)  # the lease still runs
        meter.reset()
        tenant = tenant_store.get_tenant(t.id)
        returned = billing_job_runner.bill_job(tenant, job["id"], FEB)  # a second runner (a redelivered message)
        assert (returned.status.value, returned.attempts) == ("Running", 1)
        assert job_store.expired(f"test#{t.id}", wall.now) == []
        tick.process_clock(f"test#{t.id}", FEB)  # and the next tick: neither touches the job
        assert meter.writes == ["UpdateItem ticks"], "only the tick's heartbeat is written while the lease runs"
        meter.reset()
        assert advance_clock(t.id, FEB)[1] is False  # runner A's advance is leased too: a second one only reads
        assert meter.writes == []
        assert snapshot(api, t, settled=False) == partial
        assert the_job(api, t, "2025-02-01") == job

        wall.now = AFTER_LEASE
        assert job_store.expired(f"test#{t.id}", wall.now) == [(t.id, job["id"])]
        advance_clock(t.id, FEB)  # the recovery path: the tick's expired-jobs query
        assert snapshot(api, t) == clean and job_slots(api, t) == clean_slots
        job = the_job(api, t, "2025-02-01")
    assert (job["status"], job["attempts"]) == ("Completed", 2)
    assert job["counts"] == {"customers": 3, "billed": 3, "skipped": 0, "errors": 0, "invoices": 3, "creditMemos": 1}
    assert sorted(d["decision"] for d in job["decisions"]) == ["Billed"] * 3


# --- 5. a crash between creating a slot's job, advancing the schedule and running the job --------------------

def _dies_before_first_call(monkeypatch, module, name: str) -> list:
    real, calls = getattr(module, name), []

    def wrapper(*args, **kwargs):
        calls.append(name)
        if len(calls) == 1:
            raise SimulatedCrash(f"dies before {name}")
        return real(*args, **kwargs)

    monkeypatch.setattr(module, name, wrapper)
    return calls


@pytest.mark.parametrize("until", [FEB, MAR], ids=["one-slot", "two-slots"])
@pytest.mark.parametrize("gap", ["after-create-before-advance", "after-advance-before-run"])
def test_crash_between_job_creation_advance_and_run(wall, monkeypatch, gap, until):
    t, _ = monthly_template(wall)
    clean, clean_slots = clean_monthly(wall, until)
    with fresh_stack("monthly") as api:
        if gap == "after-create-before-advance":
            calls = _dies_before_first_call(monkeypatch, schedule_store, "advance")
        else:
            calls = _dies_before_first_call(monkeypatch, billing_job_runner, "bill_job")
        with pytest.raises(SimulatedCrash):
            advance_clock(t.id, until)
        job = the_job(api, t, "2025-02-01")
        assert (job["status"], job["attempts"]) == ("Queued", 0)  # created, never run
        schedule = everything(api, t, "/billing/schedules")[0]
        expected_next = "2025-02-01T03:00" if gap == "after-create-before-advance" else "2025-03-01T03:00"
        assert schedule["nextRunDate"].startswith(expected_next)

        wall.now = RUN_WALL + timedelta(minutes=1)  # the domain's next pass, a minute later
        tick.process_clock(f"test#{t.id}", until)
        assert snapshot(api, t) == clean and job_slots(api, t) == clean_slots
        assert len(calls) > 1
        assert the_job(api, t, "2025-02-01")["attempts"] == 1
        wall.now = RUN_WALL + clock_service.LEASE  # the crashed advance's lease ran out: the next one finishes it
        assert advance_clock(t.id, until)[1] is True
        assert snapshot(api, t) == clean and job_slots(api, t) == clean_slots


# --- 6. a Completed job run again ---------------------------------------------------------------------------

def test_rerunning_a_completed_job_changes_nothing(wall, meter):
    t, _ = monthly_template(wall)
    clean, clean_slots = clean_monthly(wall, FEB)
    with fresh_stack("monthly") as api:
        advance_clock(t.id, FEB)
        job = the_job(api, t, "2025-02-01")
        tenant = tenant_store.get_tenant(t.id)
        meter.reset()
        for later in (RUN_WALL, AFTER_LEASE, AFTER_LEASE + timedelta(days=30)):
            wall.now = later
            assert billing_job_runner.bill_job(tenant, job["id"], FEB).status.value == "Completed"
            advance_clock(t.id, FEB)  # and the ticks, whose queries no longer find it
        # each advance starts, makes one pass that finds nothing (the heartbeat) and finishes: nothing else is written
        assert meter.writes == ["UpdateItem tenants", "UpdateItem ticks", "UpdateItem tenants"] * 3
        assert the_job(api, t, "2025-02-01") == job
        assert snapshot(api, t) == clean and job_slots(api, t) == clean_slots
