"""Invoice jobs (issue 4): a bulk activate, cancel or delete whose graphqlFilter matches more invoices than one
request handles (MAX_BULK) is answered 202 with a job to poll; the wall-clock tick runs it under a lease, and
activated invoices pass through PendingActivation. Crashes and lost leases are re-run to the same outcome."""
import threading
from dataclasses import replace
from datetime import timedelta
from decimal import Decimal

import pytest

from chalicelib.domain.invoices import InvoiceStatus, PaymentStatus
from chalicelib.services import invoice_jobs as job_service
from chalicelib.services import invoices as invoice_service
from chalicelib.services import tick
from chalicelib.store import documents
from chalicelib.store import invoice_jobs as job_store
from chalicelib.store.leases import LEASE
from tests.functional.test_billing_api import clock_tenant
from tests.functional.test_invoice_management import CLOCK, billed, get

DRAFTS = {"graphqlFilter": '{status: {_eq: "Draft"}}'}
pytestmark = pytest.mark.wall("2026-11-22T12:00:00Z")  # where the `wall` fixture's clock starts (leases are wall time)


def copies(t, template: dict, n: int, status=InvoiceStatus.DRAFT, prefix="bulk") -> list[str]:
    """n invoices like `template` (a real billed invoice) written through the invoice store; their lines belong
    to no ledger period, so each copy stands alone."""
    base = documents.invoices.get(t.id, template["id"])
    lines = tuple(replace(line, subscription_id=None, period_start=None) for line in base.lines)
    ids = []
    for i in range(n):
        ident = f"{prefix}-{i:04d}"
        documents.invoices.create(t.id, replace(base, id=ident, name=f"INV-{prefix}-{i:04d}", status=status,
                                                lines=lines, version=0))
        ids.append(ident)
    return ids


def accepted(answer) -> dict:
    assert answer.status == 202, answer.body
    job = answer.body
    assert answer.headers["location"] == f"/billing/invoice-jobs/{job['id']}"
    assert job["status"] == "Queued" and job["phase"] == "Selecting" and job["counts"] is None, job
    assert job["resultsUrl"] == f"/billing/invoice-jobs/{job['id']}/results"
    return job


def job_of(api, t, job_id) -> dict:
    answer = api.get(f"/billing/invoice-jobs/{job_id}", key=t.key)
    assert answer.status == 200, answer.body
    return answer.body


def results_of(api, t, job_id, **query) -> dict:
    """Every result of the job, read page by page: {invoiceId: (state, status, message)}."""
    found, token = {}, None
    while True:
        params = "&".join(f"{k}={v}" for k, v in {"limit": 200, **query, "nextToken": token}.items() if v)
        answer = api.get(f"/billing/invoice-jobs/{job_id}/results?{params}", key=t.key)
        assert answer.status == 200, answer.body
        for r in answer.body["data"]:
            assert r["invoiceId"] not in found
            found[r["invoiceId"]] = (r["state"], r["status"], r["message"])
        token = answer.body["nextToken"]
        if token is None:
            return found


def statuses(t, ids) -> dict:
    return {i: (inv.status.value if inv else None) for i in ids for inv in [documents.invoices.find(t.id, i)]}


def test_a_filter_over_500_invoices_becomes_a_job_the_tick_runs(api, wall):
    t = clock_tenant(api, CLOCK)
    other = clock_tenant(api, CLOCK, name="Other")
    [template] = billed(api, t, ["Big"]).values()
    [other_template] = billed(api, other, ["Theirs"]).values()
    drafts = copies(t, template, 520) + [template["id"]]
    active = copies(t, template, 5, status=InvoiceStatus.ACTIVE, prefix="active")
    theirs = copies(other, other_template, 20) + [other_template["id"]]
    key = {"Idempotency-Key": "activate-all-drafts"}
    body = {**DRAFTS, "invoiceDate": "2025-02-01", "invoiceComment": {"comment": "month-end run"}}

    answer = api.post("/billing/invoices:activate", body, key=t.key, headers=key)
    job = accepted(answer)
    assert job["kind"] == "Activate" and job["graphqlFilter"] == DRAFTS["graphqlFilter"]
    assert job["invoiceDate"] == "2025-02-01" and job["comment"] == "month-end run"
    again = api.post("/billing/invoices:activate", body, key=t.key, headers=key)  # a retried request
    assert again.status == 202 and again.body["id"] == job["id"] and again.headers.get("idempotent-replayed")
    assert set(statuses(t, drafts).values()) == {"Draft"}  # the request itself changed no invoice

    ran = tick.run_wall_tick(wall.now)
    assert ran.ran["invoiceJobs"] == 1
    done = job_of(api, t, job["id"])
    assert done["status"] == "Completed" and done["phase"] == "Done" and done["error"] is None, done
    assert done["counts"] == {"selected": 521, "succeeded": 521, "failed": 0, "pending": 0}
    results = results_of(api, t, job["id"])
    assert set(results) == set(drafts) and set(results.values()) == {("Succeeded", "Active", None)}
    assert results_of(api, t, job["id"], state="failed") == {}
    assert set(statuses(t, drafts).values()) == {"Active"}
    assert set(statuses(t, active).values()) == {"Active"}
    assert set(statuses(other, theirs).values()) == {"Draft"}  # only the caller's tenant is touched
    sample = get(api, t, drafts[7])
    assert sample["invoiceDate"] == "2025-02-01" and sample["dueDate"] == "2025-03-03"  # 30 days' terms
    assert sample["activatedTime"] == "2025-01-01T00:00:00.000+00:00"  # the tenant's (test) clock
    assert '"comment": "month-end run"' in sample["comments"]

    assert tick.run_wall_tick(wall.now).ran["invoiceJobs"] == 0  # a finished job leaves the index
    assert api.get(f"/billing/invoice-jobs/{job['id']}", key=other.key).status == 404
    bad = api.get(f"/billing/invoice-jobs/{job['id']}/results?nextToken=forged", key=t.key)
    assert bad.status == 400 and bad.error_fields == ["nextToken"]
    bad = api.get(f"/billing/invoice-jobs/{job['id']}/results?state=sideways", key=t.key)
    assert bad.status == 400 and bad.error_fields == ["state"]


def test_up_to_500_matches_are_answered_in_the_request(api, wall, monkeypatch):
    t = clock_tenant(api, CLOCK)
    [template] = billed(api, t, ["Small"]).values()
    ids = copies(t, template, 4) + [template["id"]]
    monkeypatch.setattr(invoice_service, "MAX_BULK", 5)
    answer = api.post("/billing/invoices:activate", DRAFTS, key=t.key)
    assert answer.status == 200 and answer.body["succeeded"] == 5, answer.body
    assert set(statuses(t, ids).values()) == {"Active"}
    assert job_store.LEASES.expired(job_store.PARTITION, wall.now + LEASE * 2) == []  # no job was queued


def test_activation_passes_through_pending_activation_and_survives_crashes(api, wall, monkeypatch):
    t = clock_tenant(api, CLOCK)
    [template] = billed(api, t, ["Crashy"]).values()
    ids = copies(t, template, 11) + [template["id"]]
    monkeypatch.setattr(invoice_service, "MAX_BULK", 3)
    monkeypatch.setattr(job_service, "APPLY_BATCH", 4)
    monkeypatch.setattr(job_service, "SELECT_PAGE", 5)  # pages of the Draft index shrink as invoices leave it
    job = accepted(api.post("/billing/invoices:activate", DRAFTS, key=t.key))

    # 1. the runner dies right after selecting: every selected invoice shows PendingActivation
    def die(*_):
        raise RuntimeError("worker lost")

    monkeypatch.setattr(job_service, "_apply", die)
    assert tick.run_wall_tick(wall.now).ran["invoiceJobs"] == 0  # the failure is logged, the tick goes on
    assert set(statuses(t, ids).values()) == {"PendingActivation"}
    assert {get(api, t, i)["status"] for i in ids[:2]} == {"PendingActivation"}
    stuck = job_of(api, t, job["id"])
    assert (stuck["status"], stuck["phase"], stuck["attempts"]) == ("Running", "Applying", 1)
    monkeypatch.undo()  # the fake wall clock stays (the `wall` fixture's own patch)
    monkeypatch.setattr(job_service, "APPLY_BATCH", 4)

    # 2. while its lease runs, nobody else takes the job over
    wall.now += LEASE - timedelta(seconds=1)
    assert tick.run_wall_tick(wall.now).ran["invoiceJobs"] == 0

    # 3. the next runner dies after activating 5 invoices
    real, calls = invoice_service.activate_one, []

    def flaky(*args, **kw):
        if len(calls) == 5:
            raise RuntimeError("worker lost again")
        calls.append(1)
        return real(*args, **kw)

    monkeypatch.setattr(job_service.service, "activate_one", flaky)
    wall.now += timedelta(seconds=2)
    tick.run_wall_tick(wall.now)
    assert sorted(statuses(t, ids).values()).count("Active") == 5
    monkeypatch.setattr(job_service.service, "activate_one", real)

    # 4. after that lease expires, a re-run finishes the rest; the 5 done before count as done, not refused
    wall.now += LEASE + timedelta(seconds=1)
    assert tick.run_wall_tick(wall.now).ran["invoiceJobs"] == 1
    done = job_of(api, t, job["id"])
    assert done["status"] == "Completed" and done["attempts"] == 3, done
    assert done["counts"] == {"selected": 12, "succeeded": 12, "failed": 0, "pending": 0}
    assert set(statuses(t, ids).values()) == {"Active"}
    assert all(len(get(api, t, i)["comments"] or "") == 0 for i in ids)  # no comment asked, none added


def test_runners_racing_for_one_job_apply_it_once(api, wall, monkeypatch):
    t = clock_tenant(api, CLOCK)
    [template] = billed(api, t, ["Racy"]).values()
    ids = copies(t, template, 9) + [template["id"]]
    monkeypatch.setattr(invoice_service, "MAX_BULK", 3)
    job = accepted(api.post("/billing/invoices:activate", DRAFTS, key=t.key))
    applied = []
    real = invoice_service.activate_one
    monkeypatch.setattr(job_service.service, "activate_one", lambda *a, **k: applied.append(a[1].id) or real(*a, **k))
    outcomes, errors = [], []

    def runner():
        try:
            outcomes.append(job_service.run(t.id, job["id"]).status.value)
        except Exception as error:  # noqa: BLE001  (a crash is the finding)
            errors.append(error)

    threads = [threading.Thread(target=runner) for _ in range(3)]
    for th in threads:
        th.start()
    for th in threads:
        th.join(60)
    assert not errors and not any(th.is_alive() for th in threads)
    assert sorted(applied) == sorted(ids)  # each invoice activated by exactly one runner
    assert job_of(api, t, job["id"])["counts"]["succeeded"] == 10


def test_cancel_and_delete_jobs_report_each_refusal(api, wall, monkeypatch):
    t = clock_tenant(api, CLOCK)
    [template] = billed(api, t, ["Cancelable"]).values()
    unpaid = copies(t, template, 6, status=InvoiceStatus.ACTIVE)
    paid_id = copies(t, template, 1, status=InvoiceStatus.ACTIVE, prefix="paid")[0]
    paid = documents.invoices.get(t.id, paid_id)
    documents.invoices.replace(t.id, replace(paid, payment_status=PaymentStatus.PAID, balance=Decimal(0)), paid)
    monkeypatch.setattr(invoice_service, "MAX_BULK", 3)

    canceling = accepted(api.post("/billing/invoices:cancel", {"graphqlFilter": '{status: {_eq: "Active"}}',
                                                               "invoiceComment": {"comment": "wrong prices"}},
                                  key=t.key))
    assert canceling["kind"] == "Cancel"
    tick.run_wall_tick(wall.now)
    done = job_of(api, t, canceling["id"])
    assert done["status"] == "CompletedWithErrors" and done["counts"]["failed"] == 1, done
    results = results_of(api, t, canceling["id"])
    assert results[paid_id][0] == "Failed" and "Paid" in results[paid_id][2]
    assert set(statuses(t, unpaid).values()) == {"Canceled"}
    assert statuses(t, [paid_id]) == {paid_id: "Active"}
    assert set(results_of(api, t, canceling["id"], state="Failed")) == {paid_id}

    deleting = api.delete("/billing/invoices", {"graphqlFilter": '{status: {_eq: "Canceled"}}'}, key=t.key)
    job = accepted(deleting)
    assert job["kind"] == "Delete"
    tick.run_wall_tick(wall.now)
    done = job_of(api, t, job["id"])
    assert done["status"] == "Completed" and done["counts"]["succeeded"] == 6, done
    assert set(statuses(t, unpaid).values()) == {None}  # gone
    assert set(results_of(api, t, job["id"]).values()) == {("Succeeded", None, "deleted")}
