"""SPEC guarantee 1 for recurring invoices: each (recurring invoice, due date) is invoiced exactly once, whatever
happens to the ticks: delivered 3 times concurrently or in sequence, a crash after any single DynamoDB write of a
generation tick followed by a re-run, a PATCH landing between a generator's read and its write, two templates
racing for one invoice number.

Every test compares the final state with the state one clean run leaves, through `snapshot()`: the finalized
invoices reduced to comparable content (customers and templates by name), no invoice stored but unlisted, each
invoice's id derived from (template, due date), each template's watermark, and the invoice-number claims (every
claim owned by a finalized invoice of that number). The fault-injection machinery (a crash raised right after
the N-th successful DynamoDB write, fresh moto states) is test_exactly_once.py's."""
from collections import Counter
from dataclasses import replace as dataclass_replace
from datetime import date, timedelta
from decimal import Decimal

import pytest

from chalicelib.domain.errors import BillrunError
from chalicelib.services import clock as clock_service
from chalicelib.services import recurring_invoices as service
from chalicelib.services import tick
from chalicelib.store import recurring_invoices as template_store
from chalicelib.store import tenants as tenant_store
from chalicelib.store.document_models import InvoiceModel
from chalicelib.store.recurring_invoice_models import InvoiceNumberModel
from tests.functional.test_exactly_once import (_SAVED, SimulatedCrash, advance, advance_clock, at, concurrently,
                                                fresh_stack, meter, save_state)  # noqa: F401 (meter: a fixture)

PATH = "/v3/recurring-invoices"
START = "2026-01-01T00:00:00Z"
UNTIL = at("2026-02-15T00:00:00Z")  # 5 invoices of 3 templates, two of them due the same day for one customer
_TENANTS: dict = {}
pytestmark = pytest.mark.wall("2025-01-01T00:00:00Z")  # where the `wall` fixture's clock starts


def template(api, t, name: str, customer_id: str, **schedule) -> dict:
    lines = [{"amount": Decimal("19.99"), "quantity": 2, "description": f"{name} plan"},
             {"amount": Decimal("0.05"), "quantity": Decimal("0.5"), "description": f"{name} fee"}]
    body = {"customerId": customer_id, "schedule": schedule, "recurringInvoiceLineItems": lines}
    created = api.post(PATH, body, key=t.key)
    assert created.status == 201, created.body
    return created.body


def build(api, t) -> None:
    """Ada (10 % tax): `early` and `late`, monthly from Jan 31 (generated 5 and 2 days ahead: the same invoice
    number, so `late` gets the suffix). Bob: `biweekly` from Jan 7 (Jan 7, Jan 21, Feb 4 fall due)."""
    ada = api.customer(t, name="Ada", timezone="UTC", taxRate=10)["id"]
    bob = api.customer(t, name="Bob", timezone="UTC")["id"]
    template(api, t, "early", ada, period="MONTHLY", nextDueDate="2026-01-31", daysInAdvance=5)
    template(api, t, "late", ada, period="MONTHLY", nextDueDate="2026-01-31", daysInAdvance=2)
    template(api, t, "biweekly", bob, period="WEEKLY", frequency=2, nextDueDate="2026-01-07")


def scenario(key: str, live: bool = False):
    """A saved moto state holding the scenario's tenant (test-mode, or live) before any invoice; built once."""
    if key not in _SAVED:
        with fresh_stack() as api:
            t = (api.new_tenant("Live BILL", timezone="UTC", currency="USD") if live else
                 api.new_tenant("BILL", testMode=True, timezone="UTC", currency="USD", clockStart=START))
            build(api, t)
            _SAVED[key], _TENANTS[key] = save_state(), t
    return _TENANTS[key]


def everything(api, t, path: str) -> list[dict]:
    answer = api.get(f"{path}{'&' if '?' in path else '?'}limit=1000", key=t.key, check=False)
    assert answer.status == 200 and answer.body["nextToken"] is None, answer.body
    return answer.body["data"]


def snapshot(api, t) -> dict:
    customers = {c["id"]: c["name"] for c in everything(api, t, "/customers")}
    templates = {r["id"]: r["recurringInvoiceLineItems"][0]["description"].split()[0]
                 for r in everything(api, t, PATH)}
    invoices = everything(api, t, "/billing/invoices")
    names = Counter((i["customerId"], i["name"]) for i in invoices)
    assert all(n == 1 for n in names.values()), f"an invoice number repeats for a customer: {names}"
    assert sorted(i.id for i in InvoiceModel.query(t.id)) == sorted(i["id"] for i in invoices), \
        "an invoice is stored that the list does not show"
    for invoice in invoices:
        assert invoice["id"] == service.invoice_id_for(invoice["recurringInvoiceId"],
                                                       date.fromisoformat(invoice["dueDate"]))
    claims = {(item.key.split("#", 1)[1], item.invoice_id) for item in InvoiceNumberModel.query(t.id)}
    assert claims == {(i["name"], i["id"]) for i in invoices}, "every number claim is a finalized invoice's"
    return {
        "invoices": sorted((customers[i["customerId"]], templates[i["recurringInvoiceId"]], i["name"],
                            i["invoiceDate"], i["dueDate"], i["amountWithoutTax"], i["taxAmount"], i["amount"],
                            i["status"], i["source"],
                            tuple((l["description"], l["quantity"], l["unitPrice"], l["amount"]) for l in i["lines"]))
                           for i in invoices),
        "watermarks": sorted((templates[r["id"]], r["schedule"]["nextDueDate"], r["archived"])
                             for r in everything(api, t, PATH)),
    }


def clean(key: str = "recurring", live: bool = False) -> dict:
    if f"clean {key}" not in _SAVED:
        t = scenario(key, live)
        with fresh_stack(key) as api:
            if live:
                tick.process_clock("live", UNTIL)
            else:
                advance_clock(t.id, UNTIL)
            _SAVED[f"clean {key}"] = snapshot(api, t)
    return _SAVED[f"clean {key}"]


def test_the_clean_run(wall):
    expected = clean()
    assert [(c, tpl, name, due) for c, tpl, name, _, due, *_ in expected["invoices"]] == [
        ("Ada", "early", "2026-01-31", "2026-01-31"), ("Ada", "late", "2026-01-31-1", "2026-01-31"),
        ("Bob", "biweekly", "2026-01-07", "2026-01-07"), ("Bob", "biweekly", "2026-01-21", "2026-01-21"),
        ("Bob", "biweekly", "2026-02-04", "2026-02-04")]
    ada_early = expected["invoices"][0]
    assert ada_early[5:8] == (Decimal("40.01"), Decimal("4.00"), Decimal("44.01"))  # 39.98 + 0.03 (0.025 HALF_UP)
    assert expected["watermarks"] == [("biweekly", "2026-02-18", False), ("early", "2026-02-28", False),
                                      ("late", "2026-02-28", False)]


def test_ticks_delivered_three_times_concurrently_and_in_sequence(wall):
    expected = clean()
    t = scenario("recurring")
    with fresh_stack("recurring") as api:
        tenant_store.move_clock(t.id, at(START), UNTIL)
        ran = concurrently(3, lambda: tick.process_clock(f"test#{t.id}", UNTIL))
        assert sum(r.ran["recurringInvoices"] for r in ran) == 5  # each watermark moved once, by one of them
        assert snapshot(api, t) == expected
        for _ in range(3):
            assert tick.process_clock(f"test#{t.id}", UNTIL).ran["recurringInvoices"] == 0
        assert snapshot(api, t) == expected

    with fresh_stack("recurring") as api:  # through the clock route, three at once: one moves the clock
        statuses = [a.status for a in concurrently(3, lambda: advance(api, t, UNTIL))]
        assert 200 in statuses and set(statuses) <= {200, 202}, statuses  # 202: found the first one's under way
        for _ in range(2):
            assert advance(api, t, UNTIL).status == 200
        assert snapshot(api, t) == expected


def test_live_ticks_delivered_three_times_concurrently(wall):
    expected = clean("live recurring", live=True)
    t = scenario("live recurring", live=True)
    wall.now = UNTIL
    with fresh_stack("live recurring") as api:
        concurrently(3, lambda: tick.process_clock("live", UNTIL))
        tick.process_clock("live", UNTIL + timedelta(minutes=1))
        assert snapshot(api, t) == expected
    assert len(expected["invoices"]) == 5


def test_crash_after_every_single_write_then_rerun_converges(wall, meter, capsys):
    expected = clean()
    t = scenario("recurring")
    with fresh_stack("recurring") as api:
        meter.reset()
        advance_clock(t.id, UNTIL)
        positions = list(meter.writes)
        assert snapshot(api, t) == expected
    per_table = Counter(w.split()[1] for w in positions)
    # 5 invoices, each one transaction (number claim, invoice, watermark); the advance's start (it moves the clock),
    # its progress after the pass that generated them and its finish after the pass that found nothing; a heartbeat
    # per pass (`late`'s refused claim of 2026-01-31 cancels its first transaction: no write)
    assert per_table == {"invoice-numbers+invoices+recurring-invoices": 5, "tenants": 3, "ticks": 2}

    for n in range(1, len(positions) + 1):
        with fresh_stack("recurring") as api:
            meter.reset(crash_after=n)
            with pytest.raises(SimulatedCrash):
                advance_clock(t.id, UNTIL)
            assert meter.crashed_at == positions[n - 1], "a clean run and a crashed run write in the same order"
            meter.reset()
            wall.now += clock_service.LEASE  # the crashed advance's lease ran out: the next advance takes it over
            advance_clock(t.id, UNTIL)
            assert snapshot(api, t) == expected, f"crash after write #{n} ({positions[n - 1]})"
    with capsys.disabled():
        print(f"\n[recurring exactly-once] crash positions covered: {len(positions)} writes of one generation tick "
              f"({', '.join(f'{k} x{v}' for k, v in sorted(per_table.items()))})")


def test_a_patch_between_the_generators_read_and_its_write_is_kept_and_the_invoice_follows_it(wall, monkeypatch):
    """The invoice and the watermark move are one transaction on the template's version: a PATCH that lands after
    the generator read the template refuses that transaction; the generator reads the template again and writes
    the invoice from what the PATCH left, moving the watermark once."""
    with fresh_stack() as api:
        t = api.new_tenant("Race", testMode=True, timezone="UTC", currency="USD", clockStart=START)
        customer = api.customer(t, name="Ada")["id"]
        created = template(api, t, "raced", customer, period="MONTHLY", nextDueDate="2026-01-31")
        real, patched = template_store.advance_in, []

        def patch_first(*args):
            if not patched:  # the user's PATCH lands after the generator read the template, before its write
                answer = api.patch(f"{PATH}/{created['id']}", {"recurringInvoiceLineItems": [
                    {"amount": Decimal("5.00"), "description": "raced new"}]}, key=t.key)
                patched.append(answer.status)
            return real(*args)

        monkeypatch.setattr(template_store, "advance_in", patch_first)
        assert advance(api, t, at("2026-02-01T00:00:00Z")).body["ran"]["recurringInvoices"] == 1
        monkeypatch.setattr(template_store, "advance_in", real)
        assert patched == [200]  # the PATCH succeeded; the generator's transaction was refused, re-read, went in
        after = api.get(f"{PATH}/{created['id']}", key=t.key).body
        assert after["schedule"]["nextDueDate"] == "2026-02-28"  # moved once: no invoice twice, none lost
        assert [i["description"] for i in after["recurringInvoiceLineItems"]] == ["raced new"]  # PATCH not lost
        assert advance(api, t, at("2026-03-01T00:00:00Z")).body["ran"]["recurringInvoices"] == 1
        invoices = everything(api, t, "/billing/invoices")
        assert [(i["name"], [l["description"] for l in i["lines"]]) for i in invoices] == [
            ("2026-01-31", ["raced new"]), ("2026-02-28", ["raced new"])]

        # the other way round: a writer holding the template as read before a watermark move gets a 409
        stale = template_store.templates.get(t.id, created["id"])
        assert advance(api, t, at("2026-04-01T00:00:00Z")).body["ran"]["recurringInvoices"] == 1
        with pytest.raises(BillrunError) as refused:
            template_store.templates.replace(t.id, dataclass_replace(stale, frequency=2), stale)
        assert refused.value.kind == "conflict"
        assert api.get(f"{PATH}/{created['id']}", key=t.key).body["schedule"]["nextDueDate"] == "2026-04-30"


def test_two_templates_racing_for_one_invoice_number_get_distinct_numbers(wall):
    with fresh_stack() as api:
        t = api.new_tenant("Numbers", testMode=True, timezone="UTC", currency="USD", clockStart=START)
        customer = api.customer(t, name="Ada")["id"]
        ids = [template(api, t, f"t{n}", customer, period="MONTHLY", nextDueDate="2026-01-31")["id"]
               for n in range(3)]
        due, until = date(2026, 1, 31), at("2026-01-31T00:00:00Z")
        tenant_store.move_clock(t.id, at(START), until)
        tenant = tenant_store.get_tenant(t.id)
        one_each = iter(ids)  # thread n generates template n: three generators claim numbers for one due date
        assert concurrently(3, lambda: service.generate(tenant, next(one_each), due, until)) == [True] * 3
        invoices = everything(api, t, "/billing/invoices")
        assert sorted(i["name"] for i in invoices) == ["2026-01-31", "2026-01-31-1", "2026-01-31-2"]
        assert sorted(i["recurringInvoiceId"] for i in invoices) == sorted(ids)
        snapshot(api, t)  # claims == invoices, every stored invoice listed
