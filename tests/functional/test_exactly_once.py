"""SPEC guarantee 1, exactly once: each (subscription, period) is invoiced once whatever happens to the ticks.

Every test compares the final state with the state a clean single run of the same scenario leaves, through
`snapshot()`: the finalized invoices and credit memos reduced to comparable content (customers and
subscriptions by name, not by id), and the billing ledger, whose every claim must be backed by the lines of
a finalized document (net billed per period = its invoice lines - its credit memo lines = what it is worth).
Human numbers may have gaps after a crash; they must stay unique.

Faults are injected where they really happen: PynamoDB's low-level call (`Connection._make_api_call`), which
every DynamoDB request of the app passes through, counts successful writes and raises `SimulatedCrash` (a
BaseException, like a Lambda being killed: no `except Exception` can swallow it) right after the N-th one.
The wall clock (leases, the live tick) is a fake the tests move, so "after the lease expired" is exact."""
import threading
from collections import Counter, defaultdict
from contextlib import contextmanager
from datetime import date, datetime, timedelta
from decimal import Decimal

import boto3
import pytest
from moto import mock_aws
from pynamodb.connection.base import Connection

from chalicelib.domain.billing import ALREADY_BILLED, should_amount
from chalicelib.domain.timeutil import parse_instant
from chalicelib.services import billing_jobs, billing_schedules
from chalicelib.services import clock as clock_service
from chalicelib.services import tick
from chalicelib.store import jobs as job_store
from chalicelib.store import ledger, tables
from chalicelib.store import tenants as tenant_store
from chalicelib.store.billing_models import CreditMemoModel, InvoiceModel
from chalicelib.store.catalog import subscriptions as subscription_store
from tests.support import Api

WRITE_OPERATIONS = frozenset({"PutItem", "UpdateItem", "DeleteItem", "BatchWriteItem", "TransactWriteItems"})
START = "2025-01-01"
CHECK_OPENAPI = False  # the snapshot reads dozens of documents per run; other suites check the answers' shapes


def at(text: str) -> datetime:
    return parse_instant(text)


class SimulatedCrash(BaseException):
    """The process dies here (Lambda timeout, OOM, kill): nothing after this line of the code under test runs."""


# --- fixtures: a fake wall clock, a DynamoDB write meter, fresh moto stacks ------------------------------------

class Wall:
    def __init__(self, now: datetime):
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def wall(monkeypatch):
    """Every module that reads the wall clock for leases, the live tick or request time reads this one."""
    import app as app_module
    from chalicelib.api import http
    from chalicelib.domain import timeutil

    fake = Wall(at("2025-01-01T00:00:00Z"))
    for module in (billing_jobs, billing_schedules, http, app_module, timeutil):
        monkeypatch.setattr(module, "wall_now", fake)
    return fake


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
        table = kwargs.get("TableName") or ",".join(kwargs.get("RequestItems", {})) or "transaction"
        with self._lock:
            self.writes.append(f"{operation} {table.removeprefix('billrun-dev-')}")
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


@contextmanager
def fresh_stack():
    """A brand-new, empty moto account with the app's tables, and an API client on it."""
    from chalice.test import Client

    from app import app
    with mock_aws():
        tables.create_all()
        with Client(app, stage_name="dev") as client:
            yield Api(client)


def dump_tables() -> dict:
    client = boto3.client("dynamodb", region_name="us-east-1")
    data = {}
    for model in tables.ALL_MODELS:
        name, items, start = model.Meta.table_name, [], None
        while True:
            page = client.scan(TableName=name, ConsistentRead=True, **({"ExclusiveStartKey": start} if start else {}))
            items += page["Items"]
            start = page.get("LastEvaluatedKey")
            if not start:
                break
        data[name] = items
    return data


def restore_tables(data: dict) -> None:
    client = boto3.client("dynamodb", region_name="us-east-1")
    for name, items in data.items():
        for i in range(0, len(items), 25):
            client.batch_write_item(RequestItems={name: [{"PutRequest": {"Item": item}} for item in items[i:i + 25]]})


def concurrently(n: int, action) -> list:
    """Runs action() on n threads released at the same instant; re-raises the first failure."""
    barrier, results, errors = threading.Barrier(n), [None] * n, []

    def run(i):
        try:
            barrier.wait()
            results[i] = action()
        except BaseException as error:  # noqa: B036 - reported to the test below
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
    """Each customer: Pro x2 from Jan 1 and Seat x3 (Cyd's from Jan 10: a prorated first period), monthly,
    in advance, bill cycle day 1, tax 10%."""
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


def subscription_of(api: Api, t, customer_id: str, product_name: str) -> dict:
    products = {p["id"]: p["name"] for p in everything(api, t, "/products")}
    found = [s for s in everything(api, t, f"/subscriptions?customerId={customer_id}&")
             if products[s["productId"]] == product_name]
    assert len(found) == 1
    return found[0]


def cancel(api: Api, t, customer_id: str, product_name: str, effective: str) -> None:
    sub = subscription_of(api, t, customer_id, product_name)
    answer = api.post(f"/subscriptions/{sub['id']}:cancel", {"effectiveDate": effective}, key=t.key)
    assert answer.status == 200, answer.body


# --- what the tests compare --------------------------------------------------------------------------------

def everything(api: Api, t, path: str) -> list[dict]:
    joiner = "" if path.endswith("&") else "?"
    answer = api.get(f"{path}{joiner}limit=1000", key=t.key, check=CHECK_OPENAPI)
    assert answer.status == 200, answer.body
    assert answer.body.get("nextToken") is None
    return answer.body["data"]


def snapshot(api: Api, t, *, settled: bool = True) -> dict:
    """The tenant's billing outcome as comparable content, after checking that the ledger and the finalized
    documents agree claim by claim. `settled`: every billed period is worth exactly what it was billed."""
    customers = {c["id"]: c["name"] for c in everything(api, t, "/customers")}
    products = {p["id"]: p["name"] for p in everything(api, t, "/products")}
    subs = {s["id"]: s for s in everything(api, t, "/subscriptions")}
    label = {sid: f"{customers[s['customerId']]}/{products[s['productId']]}" for sid, s in subs.items()}
    assert len(set(label.values())) == len(label)

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

    # No document is left half-written (a `building` one would hold claims nobody finishes).
    for model in (InvoiceModel, CreditMemoModel):
        assert [i.id for i in model.query(t.id) if i.building] == []

    entries = ledger.entries(t.id, list(subs))
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
            worth = should_amount(subscription_store.get(t.id, entry.subscription_id), entry.period)
            assert entry.billed_amount == worth, (label[entry.subscription_id], entry.period_start,
                                                  entry.billed_amount, worth)
        ledger_rows.append((label[entry.subscription_id], entry.period_start.isoformat(),
                            entry.period_end.isoformat(), entry.billed_amount))
    assert dict(claimed) == dict(from_documents), "ledger claims and document lines disagree"
    # An invoice line never repeats a period: a (subscription, start date) appears on one invoice line only.
    charged = Counter((l["subscriptionId"], l["startDate"]) for _, doc in (d for d in documents.values()
                                                                          if d[0] > 0) for l in doc["lines"])
    assert [k for k, n in charged.items() if n > 1] == []
    return {"invoices": sorted(invoices), "creditMemos": sorted(memos), "ledger": sorted(ledger_rows)}


def _lines(doc: dict, label: dict) -> tuple:
    return tuple(sorted((label[l["subscriptionId"]], l["startDate"], l["endDate"], l["quantity"], l["unitPrice"],
                         l["amount"]) for l in doc["lines"]))


def job_slots(api: Api, t) -> dict[str, list[str]]:
    """Per schedule (by description): its jobs' slots. Exactly one job per slot, each finished."""
    schedules = {s["id"]: s["description"] for s in everything(api, t, "/billing/schedules")}
    slots = defaultdict(list)
    for job in everything(api, t, "/billing/jobs"):
        assert job["status"] == "Completed", job
        slots[schedules.get(job["scheduleId"], job["scheduleId"])].append(job["scheduledTime"])
    for times in slots.values():
        assert len(times) == len(set(times)), f"a slot has more than one job: {sorted(times)}"
    return {k: sorted(v) for k, v in slots.items()}


def job_details(api: Api, t) -> list[dict]:
    return [api.get(f"/billing/jobs/{j['id']}", key=t.key).body for j in everything(api, t, "/billing/jobs")]


# --- 1. the same tick delivered 3 times, concurrently and in sequence --------------------------------------

TICK_UNTIL = at("2025-02-02T12:00:00Z")  # 4 daily slots, across a month boundary: January and February bill


def live_scenario(api: Api, wall: Wall):
    wall.now = at("2025-01-30T00:00:00Z")
    t = api.new_tenant("Live shop", timezone="UTC", currency="USD")
    ids = build_catalog(api, t)
    first = add_schedule(api, t, "daily AB", "0 0 3 ? * *", [ids["Ada"], ids["Bob"]])
    add_schedule(api, t, "daily C", "0 30 4 ? * *", [ids["Cyd"]])
    assert at(first["nextRunDate"]) == at("2025-01-30T03:00:00Z")
    wall.now = TICK_UNTIL  # the tick fires later: every slot since is due (next_run_date in the past)
    return t


def deliver_tick(api: Api) -> dict:
    """What EventBridge invokes (the app's tick handler, reading the wall clock)."""
    event = api.client.events.generate_cw_event(source="aws.events", detail_type="Scheduled Event", detail={},
                                                resources=["arn:aws:events:us-east-1:123456789012:rule/tick"])
    return api.client.lambda_.invoke("tick", event).payload


def test_live_tick_delivered_three_times_concurrently_and_in_sequence(wall):
    with fresh_stack() as api:
        t = live_scenario(api, wall)
        tick.run_domain("live", TICK_UNTIL)
        clean, clean_slots = snapshot(api, t), job_slots(api, t)
    assert len(clean["invoices"]) == 6 and clean["creditMemos"] == []  # Jan and Feb for each customer
    assert {k: len(v) for k, v in clean_slots.items()} == {"daily AB": 4, "daily C": 4}

    with fresh_stack() as api:
        t = live_scenario(api, wall)
        concurrently(3, lambda: tick.run_domain("live", TICK_UNTIL))
        assert snapshot(api, t) == clean and job_slots(api, t) == clean_slots
        for _ in range(3):  # redelivered later, in sequence, through the handler EventBridge calls
            assert deliver_tick(api)["domain"] == "live"
        assert snapshot(api, t) == clean and job_slots(api, t) == clean_slots

    with fresh_stack() as api:
        t = live_scenario(api, wall)
        for _ in range(3):
            deliver_tick(api)
        assert snapshot(api, t) == clean and job_slots(api, t) == clean_slots


def clocked_scenario(api: Api):
    t = api.new_tenant("Test shop", testMode=True, timezone="UTC", currency="USD", clockStart="2025-01-30T00:00:00Z")
    ids = build_catalog(api, t)
    add_schedule(api, t, "daily AB", "0 0 3 ? * *", [ids["Ada"], ids["Bob"]])
    add_schedule(api, t, "daily C", "0 30 4 ? * *", [ids["Cyd"]])
    return t


def advance(api: Api, t, to: datetime):
    return api.post("/test/clock:advance", {"to": to.isoformat().replace("+00:00", "Z")}, key=t.key)


def test_test_clock_advance_delivered_three_times_concurrently_and_in_sequence(wall):
    with fresh_stack() as api:
        t = clocked_scenario(api)
        assert advance(api, t, TICK_UNTIL).status == 200
        clean, clean_slots = snapshot(api, t), job_slots(api, t)
    assert len(clean["invoices"]) == 6
    assert {k: len(v) for k, v in clean_slots.items()} == {"daily AB": 4, "daily C": 4}

    with fresh_stack() as api:
        t = clocked_scenario(api)
        statuses = [a.status for a in concurrently(3, lambda: advance(api, t, TICK_UNTIL))]
        assert 200 in statuses and set(statuses) <= {200, 409}, statuses  # 409: lost the clock's compare-and-set
        assert snapshot(api, t) == clean and job_slots(api, t) == clean_slots
        concurrently(3, lambda: tick.run_domain(f"test#{t.id}", TICK_UNTIL))
        for _ in range(3):
            assert advance(api, t, TICK_UNTIL).status == 200
            tick.run_domain(f"test#{t.id}", TICK_UNTIL)
        assert snapshot(api, t) == clean and job_slots(api, t) == clean_slots

    with fresh_stack() as api:  # the raw domain tick raced from the start, before any advance
        t = clocked_scenario(api)
        tenant_store.move_clock(t.id, at("2025-01-30T00:00:00Z"), TICK_UNTIL)
        concurrently(3, lambda: tick.run_domain(f"test#{t.id}", TICK_UNTIL))
        assert snapshot(api, t) == clean and job_slots(api, t) == clean_slots


# --- 2. overlapping schedules -------------------------------------------------------------------------------

def overlap_scenario(api: Api, crons: tuple[str, str] | None):
    """Ada, Bob, Cyd; two schedules that both include Bob (crons given), or one schedule for all (the clean
    reference: one invoice per customer per slot)."""
    t = api.new_tenant("Overlap", testMode=True, timezone="UTC", currency="USD", clockStart="2025-01-30T00:00:00Z")
    ids = build_catalog(api, t)
    if crons is None:
        add_schedule(api, t, "all", "0 0 3 ? * *", list(ids.values()))
    else:
        add_schedule(api, t, "AB", crons[0], [ids["Ada"], ids["Bob"]])
        add_schedule(api, t, "BC", crons[1], [ids["Bob"], ids["Cyd"]])
    return t, ids


def bob_decisions_by_slot(api: Api, t, bob: str) -> dict[str, list[tuple[str, str | None]]]:
    found = defaultdict(list)
    for job in job_details(api, t):
        for d in job["decisions"]:
            if d["customerId"] == bob:
                found[job["scheduledTime"][:10]].append((d["decision"], d["reason"]))
    return found


@pytest.mark.parametrize("crons", [("0 0 3 ? * *", "0 0 3 ? * *"), ("0 0 3 ? * *", "0 0 5 ? * *")],
                         ids=["same-cron", "different-crons"])
def test_overlapping_schedules_bill_each_period_once(wall, crons):
    with fresh_stack() as api:
        t, _ = overlap_scenario(api, None)
        assert advance(api, t, TICK_UNTIL).status == 200
        clean = snapshot(api, t)
    assert len(clean["invoices"]) == 6

    with fresh_stack() as api:
        t, ids = overlap_scenario(api, crons)
        assert advance(api, t, TICK_UNTIL).status == 200
        assert snapshot(api, t) == clean  # settled: ledger net == worth for every period, no period twice
        slots = job_slots(api, t)
        assert {k: len(v) for k, v in slots.items()} == {"AB": 4, "BC": 4}
        decisions = bob_decisions_by_slot(api, t, ids["Bob"])
        # Both schedules' jobs looked at Bob on every slot day; the one that came second found it billed.
        assert sorted(decisions) == ["2025-01-30", "2025-01-31", "2025-02-01", "2025-02-02"]
        for day, made in decisions.items():
            assert len(made) == 2, (day, made)
            if day in ("2025-01-30", "2025-02-01"):  # January, then February, fall due
                assert sorted(made) == [("Billed", None), ("Skipped", ALREADY_BILLED)], (day, made)
            else:
                assert made == [("Skipped", ALREADY_BILLED)] * 2, (day, made)


def test_overlapping_jobs_racing_for_the_same_periods(wall, monkeypatch):
    """Job B proposes from the same empty ledger as job A, then A claims and finishes everything before B
    writes: B loses every compare-and-set, writes no invoice for Bob, and logs "already billed"."""
    def run_two_jobs(race: bool):
        t, ids = overlap_scenario(api, ("0 0 3 ? * *", "0 0 3 ? * *"))
        tenant = tenant_store.get_tenant(t.id)
        by_name = {s.description: s for s in billing_schedules.schedules.list(t.id, limit=10)[0]}
        slot = at("2025-01-30T03:00:00Z")
        made = {}
        for name in ("AB", "BC"):
            schedule = by_name[name]
            made[name] = billing_jobs.new_job(
                tenant, job_id=billing_jobs.derived_id(schedule.id, slot.isoformat()), scheduled_time=slot,
                target_date=date(2025, 1, 30), invoice_date=date(2025, 1, 30), created_by_id="test", now=slot,
                schedule=schedule)
        if not race:
            for name in ("AB", "BC"):
                billing_jobs.run_job(tenant, made[name].id, slot)
            return t, ids, made
        b_proposed, a_done = threading.Event(), threading.Event()
        original = billing_jobs.billing.propose
        b_documents = {billing_jobs.derived_id(made["BC"].id, ids["Bob"], "invoice")}

        def propose(subs, seen, target, names, own_documents=()):
            proposal = original(subs, seen, target, names, own_documents=own_documents)
            if b_documents & set(own_documents):  # job BC, for Bob: hold the stale proposal until AB is done
                assert proposal.lines and not seen
                b_proposed.set()
                assert a_done.wait(30)
            return proposal

        monkeypatch.setattr(billing_jobs.billing, "propose", propose)
        runner_b = threading.Thread(target=billing_jobs.run_job, args=(tenant, made["BC"].id, slot))
        runner_b.start()
        assert b_proposed.wait(30)
        billing_jobs.run_job(tenant, made["AB"].id, slot)
        a_done.set()
        runner_b.join()
        return t, ids, made

    with fresh_stack() as api:
        t, _, _ = run_two_jobs(race=False)
        clean = snapshot(api, t)
    assert len(clean["invoices"]) == 3
    with fresh_stack() as api:
        t, ids, made = run_two_jobs(race=True)
        assert snapshot(api, t) == clean
        ab, bc = (api.get(f"/billing/jobs/{made[n].id}", key=t.key).body for n in ("AB", "BC"))
        bob = lambda job: [(d["decision"], d["reason"], d["invoiceId"]) for d in job["decisions"]
                           if d["customerId"] == ids["Bob"]]
        assert bob(ab) == [("Billed", None, billing_jobs.derived_id(made["AB"].id, ids["Bob"], "invoice"))]
        assert bob(bc) == [("Skipped", ALREADY_BILLED, None)]
        assert ab["status"] == bc["status"] == "Completed"
        assert (ab["counts"]["billed"], bc["counts"]["billed"]) == (2, 1)  # AB: Ada, Bob; BC: Cyd only


# --- the February job: invoices and a credit memo, the subject of the fault tests ----------------------------

FEB = at("2025-02-01T04:00:00Z")
MAR = at("2025-03-01T04:00:00Z")
CRASH_WALL = at("2025-02-01T04:00:00Z")
_TEMPLATES: dict = {}


def february_template(wall: Wall):
    """Ada, Bob, Cyd on a monthly schedule (03:00 on the 1st) whose January job has run; Bob's Seat then
    canceled from Jan 21 (billed in advance to Jan 31). The February job bills February for the five live
    subscriptions, and gives Bob back Jan 21-31 on a credit memo."""
    if "feb" not in _TEMPLATES:
        with fresh_stack() as api:
            wall.now = at("2025-01-01T00:00:00Z")
            t = api.new_tenant("Monthly", testMode=True, timezone="UTC", currency="USD",
                               clockStart="2025-01-01T00:00:00Z")
            ids = build_catalog(api, t)
            add_schedule(api, t, "monthly", "0 0 3 1 * ?")
            assert advance(api, t, at("2025-01-01T04:00:00Z")).status == 200
            assert len(snapshot(api, t)["invoices"]) == 3
            cancel(api, t, ids["Bob"], "Seat", "2025-01-21")
            _TEMPLATES["feb"] = (dump_tables(), t, ids)
    return _TEMPLATES["feb"]


def key_schemas() -> dict[str, list[str]]:
    client = boto3.client("dynamodb", region_name="us-east-1")
    return {m.Meta.table_name: [k["AttributeName"] for k in
                                client.describe_table(TableName=m.Meta.table_name)["Table"]["KeySchema"]]
            for m in tables.ALL_MODELS}


def reset_to(data: dict, keys: dict[str, list[str]]) -> None:
    """Empties every table, then loads the template: the same as a fresh moto account, much faster."""
    client = boto3.client("dynamodb", region_name="us-east-1")
    for name, key_names in keys.items():
        items = client.scan(TableName=name, ConsistentRead=True)["Items"]
        for i in range(0, len(items), 25):
            client.batch_write_item(RequestItems={name: [
                {"DeleteRequest": {"Key": {k: item[k] for k in key_names}}} for item in items[i:i + 25]]})
        assert "LastEvaluatedKey" not in client.scan(TableName=name, Limit=1)
    restore_tables(data)


def advance_clock(tenant_id: str, to: datetime):
    """POST /test/clock:advance without the HTTP layer (a crash must propagate, as a dying Lambda would)."""
    return clock_service.advance(tenant_store.get_tenant(tenant_id), to)


def test_february_scenario_writes_invoices_and_a_credit_memo(wall, meter):
    data, t, ids = february_template(wall)
    with fresh_stack() as api:
        restore_tables(data)
        wall.now = CRASH_WALL
        advance_clock(t.id, FEB)
        after = snapshot(api, t)
    feb_invoices = [i for i in after["invoices"] if i[1] == "2025-02-01"]
    assert sorted(i[0] for i in feb_invoices) == ["Ada", "Bob", "Cyd"]
    assert [i[-1] for i in feb_invoices if i[0] == "Bob"] == [(("Bob/Pro", "2025-02-01", "2025-02-28", 2,
                                                                 Decimal("30.00"), Decimal("60.00")),)]
    assert after["creditMemos"] == [("Bob", "2025-01-21", "2025-01-31", Decimal("14.64"), Decimal("13.31"),
                                     Decimal("1.33"), "CreditMemo",
                                     (("Bob/Seat", "2025-01-21", "2025-01-31", 1, Decimal("13.31"),
                                       Decimal("13.31")),))]


# --- 3. a crash after every single DynamoDB write ------------------------------------------------------------

def test_crash_after_every_single_write_then_rerun_converges(wall, meter, capsys):
    data, t, _ = february_template(wall)
    with fresh_stack() as api:
        keys = key_schemas()
        reset_to(data, keys)
        wall.now = CRASH_WALL
        meter.reset()
        advance_clock(t.id, FEB)
        positions = list(meter.writes)
        clean, clean_slots = snapshot(api, t), job_slots(api, t)
        assert len(clean["creditMemos"]) == 1 and len(clean["invoices"]) == 6
        kinds = Counter(w.split()[0] for w in positions)
        assert kinds["PutItem"] and kinds["UpdateItem"]

        for n in range(1, len(positions) + 1):
            reset_to(data, keys)
            wall.now = CRASH_WALL
            meter.reset(crash_after=n)
            with pytest.raises(SimulatedCrash):
                advance_clock(t.id, FEB)
            assert meter.crashed_at == positions[n - 1], "a clean run and a crashed run write in the same order"
            meter.reset()
            wall.now = CRASH_WALL + job_store.LEASE + timedelta(minutes=1)  # the first tick after the lease ran out
            advance_clock(t.id, FEB)
            assert snapshot(api, t) == clean, f"crash after write #{n} ({positions[n - 1]})"
            assert job_slots(api, t) == clean_slots, n
    with capsys.disabled():
        print(f"\n[exactly-once] crash positions covered: {len(positions)} writes "
              f"({', '.join(f'{k}={v}' for k, v in sorted(Counter(positions).items()))})")
