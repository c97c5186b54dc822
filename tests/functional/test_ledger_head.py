"""A customer's ledger head (store/ledger.py): what a billing job reads of the ledger, and what the head holds, grow
with the subscriptions billed, not with the periods billed before; the head stays exact across a crash between the
transactions of a customer too large for one, a re-run after its last one, and a canceled invoice."""
import json
from datetime import date, datetime
from decimal import Decimal

import boto3
import pytest
from dateutil.relativedelta import relativedelta

from chalicelib.domain.timeutil import UTC
from chalicelib.services import billing_jobs, billing_pages
from chalicelib.store import batch, ledger, tables
from chalicelib.store import billing_jobs as job_store
from chalicelib.store import tenants as tenant_store
from chalicelib.store.billing_models import LedgerModel
from chalicelib.store.documents import invoices
from tests.functional.test_billing_api import clock_tenant, listed, new_schedule, run, subscribe
from tests.support import ReadMeter


def head_bytes(tenant_id: str, customer_id: str) -> int:
    item = boto3.client("dynamodb", region_name="us-east-1").get_item(
        TableName=tables.table_name(LedgerModel), Key={"subscription_key": {"S": f"{tenant_id}#{customer_id}"},
                                                      "period_key": {"S": "head"}})["Item"]
    return len(json.dumps(item, sort_keys=True))


def test_a_months_billing_reads_and_writes_the_same_ledger_after_two_years_as_after_one(api, monkeypatch):
    t = clock_tenant(api, "2025-01-01T00:00:00Z")
    pro, seats = api.product(t, name="Pro"), api.product(t, name="Seats")
    customer = api.customer(t, name="Ada", billCycleDay=1)
    subscribe(api, t, customer, pro, startDate="2025-01-01")
    subscribe(api, t, customer, seats, startDate="2025-01-01", quantity=3)
    schedule = new_schedule(api, t)
    meter = ReadMeter(monkeypatch)
    ledger_table = tables.table_name(LedgerModel)
    reads, heads = [], []
    for month in range(24):
        target = date(2025, 1, 1) + relativedelta(months=month)
        with meter.measuring() as measured:
            job = run(api, t, schedule["id"], targetDate=target.isoformat())
        assert (job["counts"]["invoices"], job["counts"]["billed"]) == (1, 1), job  # one invoice a month
        reads.append(measured.by_table[ledger_table])
        heads.append(head_bytes(t.id, customer["id"]))
    assert reads[23] == reads[11] == 1, reads  # the head: no entry is read (none is unsettled)
    assert heads[23] == heads[11], heads  # one mark per subscription, whatever was billed before
    invoices = listed(api, t, "/billing/invoices")
    assert len(invoices) == 24 and len({i["startDate"] for i in invoices}) == 24  # each month once


# --- a customer with more claims than one transaction holds ------------------------------------------------------

class Crash(BaseException):
    """The process dies (not an error billing would catch and log)."""


def large_customer(api):
    """A customer with 60 monthly subscriptions from Jan 1: billed through Feb 1, 120 claims, more than a
    transaction's 100 actions. Answers (tenant, the job, its customers and subscriptions to bill, product names, the
    instant, the tenant's API key)."""
    t = clock_tenant(api, "2025-01-01T00:00:00Z")
    product = api.product(t, name="Pro")
    customer = api.customer(t, name="Big", billCycleDay=1)
    lines = [{"productId": product["id"], "quantity": 1, "unitPrice": Decimal("10.00"), "startDate": "2025-01-01"}] * 60
    order = api.post("/orders", {"customerId": customer["id"], "lines": lines}, key=t.key)
    assert order.status == 201, order.body
    assert api.post(f"/orders/{order.body['id']}:activate", key=t.key).status == 200
    tenant = tenant_store.get_tenant(t.id)
    now = datetime(2025, 2, 1, tzinfo=UTC)
    job = billing_jobs.new_job(tenant, job_id="big-job", scheduled_time=now, target_date=date(2025, 2, 1),
                               invoice_date=date(2025, 2, 1), created_by_id="test", now=now)
    scope = billing_jobs.find_scope(t.id, job)
    return tenant, job, billing_jobs.billable(scope), scope.product_names, now, t.key


def billed_state(tenant, job, customers):
    """What billing left, in terms two tenants can compare (their ids differ): the customer's invoices (lines,
    amount), each ledger entry (period, amount, whether it holds exactly the invoice), the head's marks (fingerprints
    leave ids out), and the job's decisions (kind, whether they name the invoice, lines)."""
    (customer, subs), = customers
    entries = ledger.entries(tenant.id, [s.id for s in subs])
    head = ledger.read(tenant.id, {customer.id: subs}).heads[customer.id]
    found = invoices.list(tenant.id, customer_id=customer.id, limit=100)[0]
    ids = [i.id for i in found]
    return ([(len(i.lines), i.amount) for i in found],
            sorted((start, e.billed_amount, [d for d, _ in e.documents] == ids) for (_, start), e in entries.items()),
            sorted(head.marks.values()),
            [(d.decision, [d.invoice_id] == ids, d.lines) for d in job_store.decisions(tenant.id, job.id)])


def crashing_after(monkeypatch, commits: int):
    """Transaction.commit dies right after the commits-th transaction went in."""
    original, seen = batch.Transaction.commit, []

    def commit(self):
        refusals = original(self)
        seen.append(refusals)
        if len(seen) == commits:
            raise Crash(f"after transaction {commits}")
        return refusals

    monkeypatch.setattr(batch.Transaction, "commit", commit)


@pytest.mark.parametrize("crash_after", [1, 2])
def test_a_customer_too_large_for_one_transaction_is_billed_once_across_a_crash(api, monkeypatch, crash_after):
    """Transaction 1 holds 99 claims and the head (marking their subscriptions unvouched), transaction 2 the
    other 21 claims, the invoice and the head (settled). A crash after either, then a re-run of the job: the
    clean run's invoice, entries, marks and decision."""
    tenant, job, customers, names, now, key = large_customer(api)
    billing_pages.bill(tenant, job, customers, names, now)
    clean = billed_state(tenant, job, customers)
    assert clean[0] == [(120, Decimal("1200.00"))]
    assert len(clean[1]) == 120 and all(billed == Decimal("10.00") and mine for _, billed, mine in clean[1])
    assert len(clean[2]) == 60 and ledger.UNVOUCHED not in clean[2]  # every subscription settled
    assert clean[3] == [("Billed", True, 120)]

    tenant, job, customers, names, now, key = large_customer(api)  # a second tenant, billed with a crash
    with monkeypatch.context() as patched:
        crashing_after(patched, crash_after)
        with pytest.raises(Crash):
            billing_pages.bill(tenant, job, customers, names, now)
    crashed = billed_state(tenant, job, customers)
    assert len(crashed[1]) == (99 if crash_after == 1 else 120) and crashed[3] == []  # no decision logged yet
    assert (ledger.UNVOUCHED in crashed[2]) == (crash_after == 1)  # the claims' subscriptions are read in full
    billing_pages.bill(tenant, job, customers, names, now)
    assert billed_state(tenant, job, customers) == clean


def test_a_head_written_before_marks_is_read_as_unvouched_and_rewritten_by_the_next_claim(api, monkeypatch):
    """An earlier version's head named every entry ("subscriptionId@start", no version): its subscriptions' entries
    are read in full, nothing is billed twice, and the next claim writes the head with marks."""
    t = clock_tenant(api, "2025-01-01T00:00:00Z")
    customer = api.customer(t, name="Ada", billCycleDay=1)
    sub_id = subscribe(api, t, customer, api.product(t, name="Pro"), startDate="2025-01-01")["subscription"]
    schedule = new_schedule(api, t)
    run(api, t, schedule["id"], targetDate="2025-01-01")
    LedgerModel(f"{t.id}#{customer['id']}", ledger.HEAD, starts={f"{sub_id}@2025-01-01"}).save()  # the old shape
    meter = ReadMeter(monkeypatch)
    with meter.measuring() as measured:
        february = run(api, t, schedule["id"], targetDate="2025-02-01")
    assert measured.by_table[tables.table_name(LedgerModel)] == 2  # the head, and January's entry (its Query)
    invoice = api.get(f"/billing/invoices/{february['decisions'][0]['invoiceId']}", key=t.key).body
    assert [(l["startDate"], l["endDate"]) for l in invoice["lines"]] == [("2025-02-01", "2025-02-28")]
    head = LedgerModel.get(f"{t.id}#{customer['id']}", ledger.HEAD)
    assert head.starts is None and int(head.version) == 1 and list(head.settled.as_dict()) == [sub_id]


def test_claims_a_crashed_run_made_that_its_re_run_no_longer_wants_are_released(api, monkeypatch):
    """Transaction 1 claimed 99 periods for the invoice, then the run died; before the re-run, 20 subscriptions are
    canceled from their start (nothing of them is owed). The re-run releases their claims, bills the other 40, and
    the ledger holds exactly what the invoice says."""
    tenant, job, customers, names, now, key = large_customer(api)
    with monkeypatch.context() as patched:
        crashing_after(patched, 1)
        with pytest.raises(Crash):
            billing_pages.bill(tenant, job, customers, names, now)
    (customer, subs), = customers
    claimed = {sub_id for (sub_id, _), e in ledger.entries(tenant.id, [s.id for s in subs]).items() if e.documents}
    leaving = sorted(claimed)[:20]
    for sub_id in leaving:
        canceled = api.post(f"/subscriptions/{sub_id}:cancel", {"effectiveDate": "2025-01-01"}, key=key)
        assert canceled.status == 200, canceled.body
    scope = billing_jobs.find_scope(tenant.id, job)
    billing_pages.bill(tenant, job, billing_jobs.billable(scope), scope.product_names, now)
    (invoice,) = invoices.list(tenant.id, customer_id=customer.id, limit=10)[0]
    assert len(invoice.lines) == 80 and {l.subscription_id for l in invoice.lines}.isdisjoint(leaving)
    entries = ledger.entries(tenant.id, [s.id for s in subs])
    for (sub_id, _), entry in entries.items():
        assert entry.billed_amount == (0 if sub_id in leaving else Decimal("10.00")), (sub_id, entry)
        assert [d for d, _ in entry.documents] == ([] if sub_id in leaving else [invoice.id])
    head = ledger.read(tenant.id, {customer.id: subs}).heads[customer.id]
    assert all(head.through(s) is not None for s in subs if s.id not in leaving)
