"""One-time order lines are billed by billing jobs: once, by the first job whose target date reaches the line's
start date, under the same ledger as subscription periods (a claim per line, a crash at any write converging on
the clean run), never when an invoice schedule bills the order, and again after their invoice is canceled."""
from datetime import date, timedelta
from decimal import Decimal

import pytest

from chalicelib.domain.timeutil import parse_instant
from chalicelib.services import billing_job_runner, billing_jobs
from chalicelib.store import ledger
from chalicelib.store import tenants as tenant_store
from chalicelib.store.leases import LEASE
from chalicelib.store import billing_jobs as job_store
from tests.functional.test_billing_api import clock_tenant, listed, new_schedule, run
from tests.functional.test_exactly_once import SimulatedCrash, fresh_stack, meter  # noqa: F401  (a fixture)
from tests.functional.test_fanout import drain, invoices_by_name, queues_fixture  # noqa: F401  (a fixture)

SETUP_FEE = Decimal("150.00")


def one_time_product(api, t, name="Setup fee", price=SETUP_FEE):
    return api.product(t, name=name, productType="OneTime", price=price, billingPeriod=None)


def activated_order(api, t, customer, *lines) -> dict:
    answer = api.post("/orders", {"customerId": customer["id"], "lines": list(lines)}, key=t.key)
    assert answer.status == 201, answer.body
    activated = api.post(f"/orders/{answer.body['id']}:activate", key=t.key)
    assert activated.status == 200, activated.body
    return activated.body


def one_time_lines(invoice: dict) -> list[dict]:
    return [line for line in invoice["lines"] if line["subscriptionId"] is None]


def invoice(api, t, invoice_id: str) -> dict:
    answer = api.get(f"/billing/invoices/{invoice_id}", key=t.key)
    assert answer.status == 200, answer.body
    return answer.body


def test_a_one_time_line_is_billed_once_on_the_first_job_reaching_its_start_date(api):
    t = clock_tenant(api, "2025-01-01T00:00:00Z")
    plan, setup = api.product(t, name="Pro plan"), one_time_product(api, t)
    customer = api.customer(t, billCycleDay=1, taxRate=Decimal("10"))
    order = activated_order(api, t, customer, {"productId": plan["id"], "quantity": 1, "startDate": "2025-01-01"},
                            {"productId": setup["id"], "quantity": 2, "startDate": "2025-01-15"})
    fee_line = order["lines"][1]
    assert fee_line["subscriptionId"] is None and fee_line["amount"] == Decimal("300.00")
    schedule = new_schedule(api, t)

    # before the line's start date: the subscription's January only
    early = run(api, t, schedule["id"], targetDate="2025-01-10", invoiceDate="2025-01-10")
    first = invoice(api, t, early["decisions"][0]["invoiceId"])
    assert one_time_lines(first) == [] and first["amountWithoutTax"] == Decimal("30.00")

    # the first job whose target date reaches it bills it, as the order priced it
    reached = run(api, t, schedule["id"], targetDate="2025-01-15", invoiceDate="2025-01-15")
    assert reached["counts"]["invoices"] == 1
    second = invoice(api, t, reached["decisions"][0]["invoiceId"])
    [line] = second["lines"]
    assert line == {**line, "subscriptionId": None, "orderId": order["id"], "orderLineId": fee_line["id"],
                    "productId": setup["id"], "startDate": "2025-01-15", "endDate": "2025-01-15",
                    "quantity": Decimal("2"), "unitPrice": SETUP_FEE, "amount": Decimal("300.00"),
                    "prorationDays": None, "prorationFullDays": None, "description": "Setup fee 2025-01-15"}
    assert (second["amountWithoutTax"], second["taxAmount"], second["amount"]) == (
        Decimal("300.00"), Decimal("30.00"), Decimal("330.00"))

    # every later job finds it billed
    later = run(api, t, schedule["id"], targetDate="2025-03-31", invoiceDate="2025-03-31")
    third = invoice(api, t, later["decisions"][0]["invoiceId"])
    assert one_time_lines(third) == []  # February and March of the plan only
    assert [(l["startDate"], l["endDate"]) for l in third["lines"]] == [("2025-02-01", "2025-02-28"),
                                                                         ("2025-03-01", "2025-03-31")]
    again = run(api, t, schedule["id"], targetDate="2025-03-31")
    assert again["decisions"][0]["reason"] == "already billed"
    billed = [l for i in listed(api, t, "/billing/invoices") for l in invoice(api, t, i["id"])["lines"]
              if l["orderLineId"] == fee_line["id"]]
    assert len(billed) == 1


def test_an_order_of_one_time_lines_only_is_found_by_a_tenant_wide_job_and_by_a_customer_filter(api):
    t = clock_tenant(api, "2025-02-01T00:00:00Z")
    setup, training = one_time_product(api, t), one_time_product(api, t, name="Training", price=Decimal("80.00"))
    ada, bob = api.customer(t, name="Ada", billCycleDay=1), api.customer(t, name="Bob", billCycleDay=15)
    activated_order(api, t, ada, {"productId": setup["id"], "quantity": 1, "startDate": "2025-02-01"})
    activated_order(api, t, bob, {"productId": setup["id"], "quantity": 1, "startDate": "2025-02-01"},
                    {"productId": training["id"], "quantity": 3, "startDate": "2025-02-01"})
    draft = api.order(t, bob["id"], setup["id"], startDate="2025-02-01")  # never activated: never billed

    # a customer filter (served by the index's key range) and a product filter
    only_bob = new_schedule(api, t, customerFilter='{id: {_eq: "%s"}}' % bob["id"],
                            productFilter='{name: {_eq: "Training"}}')
    job = run(api, t, only_bob["id"], targetDate="2025-02-01")
    assert job["counts"]["invoices"] == 1
    [line] = invoice(api, t, job["decisions"][0]["invoiceId"])["lines"]
    assert (line["productId"], line["amount"]) == (training["id"], Decimal("240.00"))

    # the customer's bill cycle day is what a billCycleDayFilter reads for a one-time line
    day_15 = run(api, t, new_schedule(api, t, billCycleDayFilter="15")["id"], targetDate="2025-02-01")
    assert {d["customerId"]: d["decision"] for d in day_15["decisions"]} == {ada["id"]: "Skipped",
                                                                            bob["id"]: "Billed"}
    [bob_fee] = invoice(api, t, [d for d in day_15["decisions"] if d["customerId"] == bob["id"]][0]["invoiceId"])[
        "lines"]
    assert bob_fee["productId"] == setup["id"]  # Training was billed by the first job

    # tenant-wide: Ada's fee; nothing is left; the draft order's line is not in any invoice
    everyone = run(api, t, new_schedule(api, t)["id"], targetDate="2025-12-31")
    assert {d["customerId"]: (d["decision"], d["reason"]) for d in everyone["decisions"]} == {
        ada["id"]: ("Billed", None), bob["id"]: ("Skipped", "already billed")}
    lines = [l for i in listed(api, t, "/billing/invoices") for l in invoice(api, t, i["id"])["lines"]]
    assert sorted((l["orderId"] != draft["id"], l["amount"]) for l in lines) == [
        (True, Decimal("150.00")), (True, Decimal("150.00")), (True, Decimal("240.00"))]


def test_canceling_the_invoice_reopens_the_line_for_the_next_job(api):
    t = clock_tenant(api, "2025-01-01T00:00:00Z")
    setup = one_time_product(api, t)
    customer = api.customer(t, billCycleDay=1)
    order = activated_order(api, t, customer, {"productId": setup["id"], "quantity": 1, "startDate": "2025-01-01"})
    schedule = new_schedule(api, t)
    first = run(api, t, schedule["id"], targetDate="2025-01-31")["decisions"][0]["invoiceId"]
    canceled = api.post("/billing/invoices:cancel", {"invoiceIds": [first]}, key=t.key)
    assert canceled.status == 200 and canceled.body["succeeded"] == 1, canceled.body

    rebilled = run(api, t, schedule["id"], targetDate="2025-01-31")
    assert rebilled["counts"]["invoices"] == 1
    [line] = invoice(api, t, rebilled["decisions"][0]["invoiceId"])["lines"]
    assert (line["orderLineId"], line["amount"]) == (order["lines"][0]["id"], SETUP_FEE)
    assert run(api, t, schedule["id"], targetDate="2025-01-31")["decisions"][0]["reason"] == "already billed"


def test_an_invoice_schedule_bills_the_order_instead_and_a_billed_line_keeps_the_order_off_schedules(api):
    t = clock_tenant(api, "2025-01-01T00:00:00Z")
    setup = one_time_product(api, t)
    customer = api.customer(t, billCycleDay=1)
    scheduled = activated_order(api, t, customer, {"productId": setup["id"], "quantity": 1,
                                                   "startDate": "2025-01-01"})
    created = api.post("/v1/invoice-schedules", {"orders": [scheduled["id"]], "scheduleItems": [
        {"name": "All", "runDate": "2025-06-01", "percentage": 100}]}, key=t.key)
    assert created.status == 201, created.body
    job = run(api, t, new_schedule(api, t)["id"], targetDate="2025-01-31")
    assert [(d["decision"], d["reason"]) for d in job["decisions"]] == [
        ("Skipped", f"billed by invoice schedule {created.body['number']}")]

    billed = activated_order(api, t, customer, {"productId": setup["id"], "quantity": 1, "startDate": "2025-01-01"})
    assert run(api, t, new_schedule(api, t)["id"], targetDate="2025-01-31")["counts"]["invoices"] == 1
    refused = api.post("/v1/invoice-schedules", {"orders": [billed["id"]], "scheduleItems": [
        {"name": "All", "runDate": "2025-06-01", "percentage": 100}]}, key=t.key)
    assert refused.status == 409, refused.body
    assert refused.body["details"][0]["field"] == "orders[0]" and "one-time" in refused.body["message"]


def test_preview_and_the_first_invoice_on_activation_include_the_one_time_line(api):
    t = clock_tenant(api, "2025-01-10T12:00:00Z")
    plan, setup = api.product(t, name="Pro plan"), one_time_product(api, t)
    customer = api.customer(t, billCycleDay=1)
    preview_order = activated_order(api, t, customer, {"productId": setup["id"], "quantity": 1,
                                                       "startDate": "2025-01-10"})
    preview = api.post("/billing/jobs:preview", {"targetDate": "2025-01-31"}, key=t.key)
    assert preview.status == 200, preview.body
    assert [(l["orderId"], l["amount"]) for i in preview.body["invoices"] for l in i["lines"]] == [
        (preview_order["id"], SETUP_FEE)]
    assert listed(api, t, "/billing/invoices") == []  # a preview writes nothing

    assert api.patch("/settings", {"generateFirstInvoiceOnOrderActivation": True}, key=t.key).status == 200
    order = activated_order(api, t, customer, {"productId": plan["id"], "quantity": 1, "startDate": "2025-01-10"},
                            {"productId": setup["id"], "quantity": 1, "startDate": "2025-01-10"})
    [first] = [i for i in listed(api, t, "/billing/invoices")]
    lines = invoice(api, t, first["id"])["lines"]
    assert sorted((l["orderId"] is not None, l["amount"]) for l in lines) == [
        (False, Decimal("21.29")), (True, SETUP_FEE)]  # 22 of 31 days of 30.00; the fee; not the other order's
    assert [l["orderId"] for l in lines if l["orderId"]] == [order["id"]]


def test_a_fanned_out_job_bills_the_one_time_lines_as_a_single_process_job_does(api, queues, monkeypatch):
    """Work units name the one-time charges of their customers by id, as they name subscriptions."""
    t = clock_tenant(api, "2025-01-01T00:00:00Z")
    plan, setup = api.product(t, name="Pro plan"), one_time_product(api, t)
    names = {}
    for c in range(7):
        customer = api.customer(t, name=f"Customer {c}", billCycleDay=1)
        lines = [{"productId": setup["id"], "quantity": c + 1, "startDate": "2025-01-02"}]
        if c % 2:  # some customers have a subscription too, the others only the one-time line
            lines.append({"productId": plan["id"], "quantity": 1, "startDate": "2025-01-01"})
        activated_order(api, t, customer, *lines)
        names[customer["id"]] = customer["name"]
    monkeypatch.setenv("BILLRUN_FANOUT_CUSTOMERS", "100")
    single = run(api, t, new_schedule(api, t)["id"], targetDate="2025-01-31")
    expected = invoices_by_name(t, names, single["id"])
    assert len(expected) == 7 and sum(len(i[-1]) for i in expected.values()) == 10
    canceled = api.post("/billing/invoices:cancel", {"invoiceIds": [d["invoiceId"] for d in single["decisions"]]},
                        key=t.key)
    assert canceled.body["succeeded"] == 7, canceled.body

    monkeypatch.setenv("BILLRUN_FANOUT_CUSTOMERS", "5")
    answer = api.post(f"/billing/schedules/{new_schedule(api, t)['id']}:run", {"targetDate": "2025-01-31"},
                      key=t.key)
    assert answer.status == 201 and answer.body["unitsTotal"] == 2, answer.body
    units = job_store.units(t.id, answer.body["id"])
    assert sum(i.startswith("otc_") for u in units for i in u.subscription_ids) == 7
    assert drain(api, queues) == ["ok", "ok"]
    done = api.get(f"/billing/jobs/{answer.body['id']}", key=t.key).body
    assert done["status"] == "Completed" and done["counts"]["invoices"] == 7, done
    assert invoices_by_name(t, names, done["id"]) == expected


# --- exactly once under crashes --------------------------------------------------------------------------------

CLOCK_START = "2025-01-01T00:00:00Z"


def _scenario(api, job_id: str, now):
    """Ada and Bob, each a monthly plan and a one-time setup fee on Jan 5; a billing job for January, not run."""
    t = api.new_tenant("One-time", testMode=True, timezone="UTC", currency="USD", clockStart=CLOCK_START)
    plan, setup = api.product(t, name="Pro plan"), one_time_product(api, t)
    for name in ("Ada", "Bob"):
        customer = api.customer(t, name=name, billCycleDay=1, taxRate=Decimal("10"))
        activated_order(api, t, customer, {"productId": plan["id"], "quantity": 1, "startDate": "2025-01-01"},
                        {"productId": setup["id"], "quantity": 1, "startDate": "2025-01-05"})
    tenant = tenant_store.get_tenant(t.id)
    start = parse_instant(CLOCK_START)
    job = billing_jobs.new_job(tenant, job_id=job_id, scheduled_time=start, target_date=date(2025, 1, 31),
                               invoice_date=start.date(), created_by_id="test", now=now)
    return t, tenant, job


def _outcome(api, t) -> list:
    """What was billed, by customer and product name (ids differ between fresh stacks): each invoice's lines, and
    the ledger's claims of the one-time charges."""
    customers = {c["id"]: c["name"] for c in listed(api, t, "/customers")}
    products = {p["id"]: p["name"] for p in listed(api, t, "/products")}
    docs = [invoice(api, t, i["id"]) for i in listed(api, t, "/billing/invoices")]
    invoices = sorted((customers[d["customerId"]], d["amount"], tuple(sorted(
        (products[l["productId"]], l["startDate"], l["endDate"], l["amount"]) for l in d["lines"]))) for d in docs)
    charges = {f"otc_{l['orderId']}_{l['orderLineId']}": customers[d["customerId"]]
               for d in docs for l in d["lines"] if l["orderId"]}
    claims = sorted((charges[e.subscription_id], e.billed_amount) for e in ledger.entries(t.id, charges).values())
    return [invoices, claims]


@pytest.mark.wall("2025-01-01T00:00:00Z")
def test_a_crash_after_every_write_of_the_job_then_a_rerun_bills_each_line_once(wall, meter):
    with fresh_stack() as api:
        t, tenant, job = _scenario(api, "clean", wall.now)
        meter.reset()
        billing_job_runner.bill_job(tenant, job.id, wall.now)
        positions = list(meter.writes)
        clean = _outcome(api, t)
    assert len(clean[0]) == 2 and len(clean[1]) == 2  # an invoice per customer; each fee claimed once
    assert "TransactWriteItems billing-ledger+invoices" in positions  # the invoices with their claims, at once

    for n in range(1, len(positions) + 1):
        with fresh_stack() as api:
            t, tenant, job = _scenario(api, "crashed", wall.now)
            started = wall.now
            meter.reset(crash_after=n)
            with pytest.raises(SimulatedCrash):
                billing_job_runner.bill_job(tenant, job.id, started)
            meter.reset()
            wall.now = started + LEASE + timedelta(seconds=1)  # the recovery after the lease ran out
            billing_job_runner.bill_job(tenant, job.id, started)
            again = _outcome(api, t)
            wall.now = started
        assert again == clean, f"crash after write #{n} ({positions[n - 1]})"

