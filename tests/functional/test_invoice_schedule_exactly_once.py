"""SPEC guarantee 1 for invoice schedule items: each item is invoiced exactly once, whatever happens.

- A crash after every single DynamoDB write of an execution (the execute request, then the wall tick that runs its
  bill run; and an automatic execution by a test-clock advance), followed by a re-run: a retry of the request
  with its Idempotency-Key, and the next tick after the lease ran out. Each ends exactly as a clean run does.
- An execute request and the tick racing for the same item: forced interleavings both ways, and threads released
  at the same instant: exactly one invoice, one Completed bill run holding it, the loser a 409 or an Error run.

Faults are injected as in test_exactly_once.py: PynamoDB's low-level call counts the app's writes and raises
SimulatedCrash (a BaseException: nothing can catch it) right after the N-th. The request is driven through its
service (as the HTTP layer would call it, with the Idempotency-Key's derived ids): a dying Lambda runs no
`except` or `finally` of the HTTP layer either."""
import threading
from datetime import timedelta
from decimal import Decimal

import pytest

from chalicelib.domain.tenants import LIVE_CLOCK
from chalicelib.services import bill_runs as bill_run_service
from chalicelib.services import invoice_schedules as schedule_service
from chalicelib.services import tick
from chalicelib.services.context import RequestContext
from chalicelib.store import bill_runs as run_store
from chalicelib.store import tenants as tenant_store
from chalicelib.store.document_models import InvoiceModel
from chalicelib.store.invoice_schedule_models import BillRunModel
from tests.clock import Wall
from tests.functional.test_exactly_once import (SimulatedCrash, _SAVED, advance_clock, at, concurrently,
                                                fresh_stack, meter, save_state)  # noqa: F401  (meter: a fixture)
from tests.functional.test_invoice_schedules import milestone_order, new_schedule, thirds

D = Decimal
T0 = at("2025-01-20T10:00:00Z")  # the wall clock when the request is made and the tick first runs
AFTER_LEASE = T0 + run_store.LEASE + timedelta(minutes=1)
FEB = at("2025-02-01T00:00:00Z")  # item 1's run date (UTC tenant)
_TENANT: dict = {}
pytestmark = pytest.mark.wall(T0)  # where the `wall` fixture's clock starts


def template(wall: Wall):
    """A test-mode tenant (clock 2025-01-15) whose customer (10 % tax) has an activated order of two services
    lines, 600.00 and 400.00, under a schedule of thirds on Feb 1, Mar 1, Apr 1. Saved once."""
    if "invoice schedule" not in _SAVED:
        with fresh_stack() as api:
            wall.now = T0
            t = api.new_tenant("Milestones", testMode=True, timezone="UTC", currency="USD",
                               clockStart="2025-01-15T00:00:00Z")
            order = milestone_order(api, t, amounts=("600.00", "400.00"), tax_rate=10)
            schedule = new_schedule(api, t, [order["id"]], thirds())
            _SAVED["invoice schedule"], _TENANT["t"] = save_state(), (t, schedule)
    wall.now = T0
    return _TENANT["t"]


def request_context(t, key: str = "execute-1") -> RequestContext:
    tenant = tenant_store.get_tenant(t.id)
    return RequestContext(tenant=tenant, actor_id="key_test", actor_name="test", now=tenant.now(None),
                          idempotency_key=key)


def execute_request(t, schedule_id: str, item_id: str | None):
    """What POST /v1/invoice-schedules/{key}/execute runs, with Idempotency-Key `execute-1`."""
    return schedule_service.execute(request_context(t), schedule_id, item_id, False)


def outcome(api, t, schedule_id: str) -> dict:
    """The schedule's items, its invoices and every bill run of the tenant, as comparable content (numbers may
    have gaps after a crash: they must stay unique)."""
    schedule = api.get(f"/v1/invoice-schedules/{schedule_id}", key=t.key).body
    position = {i["id"]: n for n, i in enumerate(schedule["scheduleItems"])}
    listed = api.get("/billing/invoices?limit=1000", key=t.key).body["data"]
    assert len({i["name"] for i in listed}) == len(listed), "invoice numbers repeat"
    assert sorted(i.id for i in InvoiceModel.query(t.id)) == sorted(i["id"] for i in listed), \
        "an invoice is stored that the list does not show"
    invoices = []
    for summary in listed:
        invoice = api.get(f"/billing/invoices/{summary['id']}", key=t.key).body
        invoices.append((position[invoice["invoiceScheduleItemId"]], invoice["invoiceDate"],
                         invoice["amountWithoutTax"], invoice["taxAmount"], invoice["amount"], invoice["status"],
                         invoice["source"],
                         tuple((l["description"], l["amount"]) for l in invoice["lines"])))
        assert sum(l["amount"] for l in invoice["lines"]) == invoice["amountWithoutTax"]
    runs = []
    for item in BillRunModel.query(t.id):
        run = api.get(f"/v1/bill-runs/{item.id}", key=t.key).body
        runs.append((position[run["invoiceScheduleItemId"]], run["status"], len(run["invoices"])))
        if run["status"] == "Completed":
            [made] = run["invoices"]
            assert made["id"] == schedule["scheduleItems"][position[run["invoiceScheduleItemId"]]]["invoiceId"]
    assert len({r.number for r in BillRunModel.query(t.id)}) == len(runs), "bill run numbers repeat"
    items = [(i["status"], i["invoiceId"] is not None, i["billRunId"] is not None) for i in schedule["scheduleItems"]]
    invoiced = [n for n, *_ in invoices]
    assert len(invoiced) == len(set(invoiced)), f"an item was invoiced twice: {sorted(invoiced)}"
    return {"status": schedule["status"], "billed": schedule["billedAmount"], "items": items,
            "invoices": sorted(invoices), "runs": sorted(runs)}


# --- a crash after every single write ---------------------------------------------------------------------------

def test_execute_request_and_its_bill_run_crash_after_every_write_then_rerun_converges(wall, meter, capsys):
    t, schedule = template(wall)
    future = schedule["scheduleItems"][2]["id"]
    with fresh_stack("invoice schedule") as api:
        meter.reset()
        execute_request(t, schedule["id"], future)
        tick.process_clock(LIVE_CLOCK, wall.now)
        positions = list(meter.writes)
        clean = outcome(api, t, schedule["id"])
    assert clean["items"] == [("Pending", False, False), ("Pending", False, False), ("Processed", True, True)]
    assert clean["runs"] == [(2, "Completed", 1)] and len(clean["invoices"]) == 1
    assert clean["invoices"][0][1:5] == ("2025-04-01", D("333.40"), D("33.34"), D("366.74"))
    assert {w.split()[1] for w in positions} >= {"counters", "bill-runs", "invoice-schedules"}
    assert "TransactWriteItems invoice-schedules+invoices" in positions  # the invoice with its item Processed

    for n in range(1, len(positions) + 1):
        with fresh_stack("invoice schedule") as api:
            wall.now = T0
            meter.reset(crash_after=n)
            with pytest.raises(SimulatedCrash):
                execute_request(t, schedule["id"], future)
                tick.process_clock(LIVE_CLOCK, wall.now)
            assert meter.crashed_at == positions[n - 1]
            meter.reset()
            wall.now = AFTER_LEASE  # the client retries with its key; the next tick finds what is left
            execute_request(t, schedule["id"], future)
            tick.process_clock(LIVE_CLOCK, wall.now)
            assert outcome(api, t, schedule["id"]) == clean, f"crash after write #{n} ({positions[n - 1]})"
    with capsys.disabled():
        print(f"\n[exactly-once] execute + bill run: a crash after each of {len(positions)} writes "
              f"({', '.join(positions)})")


def test_a_crashed_request_is_completed_by_the_tick_even_without_a_retry(wall, meter):
    """The request died right after creating its bill run (before holding the item): the wall tick's recovery
    runs the bill run, which takes the item itself."""
    t, schedule = template(wall)
    with fresh_stack("invoice schedule") as api:
        meter.reset(crash_after=4)  # counters (the open-job quota's first item, its slot, BR-), then the bill run
        with pytest.raises(SimulatedCrash):
            execute_request(t, schedule["id"], None)
        assert meter.writes == ["PutItem counters", "UpdateItem counters", "UpdateItem counters", "PutItem bill-runs"]
        meter.reset()
        assert tick.process_clock(LIVE_CLOCK, wall.now).ran["invoiceScheduleItems"] == 1
        done = outcome(api, t, schedule["id"])
    assert done["items"][0] == ("Processed", True, True) and done["runs"] == [(0, "Completed", 1)]


def test_automatic_execution_crash_after_every_write_then_rerun_converges(wall, meter, capsys):
    t, schedule = template(wall)
    with fresh_stack("invoice schedule") as api:
        meter.reset()
        advance_clock(t.id, FEB)
        positions = list(meter.writes)
        clean = outcome(api, t, schedule["id"])
    assert clean["items"][0] == ("Processed", True, True) and clean["runs"] == [(0, "Completed", 1)]
    assert clean["invoices"][0][1:5] == ("2025-02-01", D("333.30"), D("33.33"), D("366.63"))

    for n in range(1, len(positions) + 1):
        with fresh_stack("invoice schedule") as api:
            wall.now = T0
            meter.reset(crash_after=n)
            with pytest.raises(SimulatedCrash):
                advance_clock(t.id, FEB)
            assert meter.crashed_at == positions[n - 1]
            meter.reset()
            wall.now = AFTER_LEASE  # the next advance (the tenant's tick) after the lease ran out
            advance_clock(t.id, FEB)
            assert outcome(api, t, schedule["id"]) == clean, f"crash after write #{n} ({positions[n - 1]})"
    with capsys.disabled():
        print(f"\n[exactly-once] automatic execution: a crash after each of {len(positions)} writes "
              f"({', '.join(positions)})")


def test_a_completed_bill_run_run_again_changes_nothing(wall, meter):
    t, schedule = template(wall)
    with fresh_stack("invoice schedule") as api:
        run = execute_request(t, schedule["id"], None)
        tick.process_clock(LIVE_CLOCK, wall.now)
        done = outcome(api, t, schedule["id"])
        meter.reset()
        tenant = tenant_store.get_tenant(t.id)
        for later in (T0, AFTER_LEASE, AFTER_LEASE + timedelta(days=30)):
            wall.now = later
            assert bill_run_service.run(tenant, run.id).status.value == "Completed"
            tick.process_clock(LIVE_CLOCK, wall.now)
            advance_clock(t.id, at("2025-01-31T00:00:00Z"))
        # heartbeats, and each advance's start (the first one moves the clock) and finish only
        assert meter.writes == ["UpdateItem ticks", "UpdateItem tenants", "UpdateItem ticks", "UpdateItem tenants"] * 3
        assert outcome(api, t, schedule["id"]) == done


# --- execute and the tick racing for one item --------------------------------------------------------------------

def _due_world(t):
    """The clock moves to item 1's run date without the tick having run: the item is due, and still Pending."""
    tenant_store.move_clock(t.id, at("2025-01-15T00:00:00Z"), FEB)


@pytest.mark.parametrize("first", ["execute", "tick"])
def test_execute_and_tick_race_for_the_same_item_forced_interleavings(wall, monkeypatch, first):
    """The loser reads the item Pending, then waits right before holding it until the winner is done."""
    t, schedule = template(wall)
    item = schedule["scheduleItems"][0]["id"]
    with fresh_stack("invoice schedule") as api:
        _due_world(t)
        loser_waiting, winner_done = threading.Event(), threading.Event()
        real_hold = bill_run_service.hold
        results = {}

        def hold(*args, **kwargs):
            if threading.current_thread().name == "loser" and not loser_waiting.is_set():
                loser_waiting.set()
                assert winner_done.wait(30)
            return real_hold(*args, **kwargs)

        def run_execute():
            try:
                results["execute"] = api.post(f"/v1/invoice-schedules/{schedule['id']}/execute",
                                              {"scheduleItemId": item}, key=t.key)
            finally:
                if threading.current_thread().name != "loser":
                    winner_done.set()

        def run_tick():
            try:
                results["tick"] = tick.process_clock(f"test#{t.id}", FEB).ran["invoiceScheduleItems"]
            finally:
                if threading.current_thread().name != "loser":
                    winner_done.set()

        monkeypatch.setattr(bill_run_service, "hold", hold)
        actions = {"execute": run_execute, "tick": run_tick}
        loser = threading.Thread(target=actions["tick" if first == "execute" else "execute"], name="loser")
        loser.start()
        assert loser_waiting.wait(30)
        winner = threading.Thread(target=actions[first], name="winner")
        winner.start()
        winner.join()
        loser.join()
        tick.process_clock(LIVE_CLOCK, wall.now)  # runs the request's bill run, if it got the item
        done = outcome(api, t, schedule["id"])
    assert done["items"][0] == ("Processed", True, True) and done["items"][1:] == [("Pending", False, False)] * 2
    assert [i[0] for i in done["invoices"]] == [0]  # one invoice, for item 1
    if first == "execute":  # the test clock's pass loses the item, then runs the request's bill run (its tenant's)
        assert results["execute"].status == 201 and results["tick"] == 1
    else:
        # the pass runs the item, then the request's run too (its tenant's), which ends in Error without the item
        assert results["execute"].status == 409 and results["tick"] == 2
        assert "already Processed" in results["execute"].body["message"]  # the tick finished first
    assert sorted(r[1] for r in done["runs"]) == ["Completed", "Error"]  # the loser's run never ran the item


def test_execute_and_tick_released_together_invoice_the_item_once(wall):
    t, schedule = template(wall)
    item = schedule["scheduleItems"][0]["id"]
    for _ in range(6):
        with fresh_stack("invoice schedule") as api:
            _due_world(t)

            def either(i):
                if i % 2:
                    return "tick", tick.process_clock(f"test#{t.id}", FEB).ran["invoiceScheduleItems"]
                return "execute", api.post(f"/v1/invoice-schedules/{schedule['id']}/execute",
                                           {"scheduleItemId": item}, key=t.key).status

            counter = iter(range(4))
            lock = threading.Lock()

            def action():
                with lock:
                    i = next(counter)
                return either(i)

            results = concurrently(4, action)  # two execute requests and two ticks
            tick.process_clock(LIVE_CLOCK, wall.now)
            done = outcome(api, t, schedule["id"])
            assert [i[0] for i in done["invoices"]] == [0], results
            assert done["items"][0] == ("Processed", True, True)
            assert [r[1] for r in done["runs"]].count("Completed") == 1
            answers = [r for kind, r in results if kind == "execute"]
            assert set(answers) <= {201, 409} and answers.count(201) <= 1, results
            [winner] = [r for r in BillRunModel.query(t.id) if r.status.value == "Completed"]
            assert winner.automatic is (201 not in answers), results  # a 201 request's run, or the tick's
            # Every other run ended in Error without invoicing: abandoned when its hold lost, or taken by a tick's
            # recovery query (a new run's lease is expired at once) and refused the item when run.
            assert all(r.status.value == "Error" and not r.invoice_ids for r in BillRunModel.query(t.id)
                       if r.id != winner.id)
