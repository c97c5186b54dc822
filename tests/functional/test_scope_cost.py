"""A billing job scoped to customers by id reads those customers' subscriptions only (the by-customer index),
however many other subscriptions the tenant has."""
from datetime import date

from chalicelib.services import billing_jobs
from chalicelib.services.billing_jobs import find_scope
from chalicelib.store import catalog
from chalicelib.store import tenants as tenant_store
from tests.support import ReadMeter


def _scope_reads(monkeypatch, api, tenant, customer_filter):
    job = billing_jobs.BillingJob(
        id="j", name="BJ-1", status=billing_jobs.JobStatus.QUEUED, clock_id="live",
        target_date=date(2025, 1, 31), invoice_date=date(2025, 1, 31), scheduled_time=tenant.created_date,
        created_by_id="k", created_date=tenant.created_date, customer_filter=customer_filter)
    meter = ReadMeter(monkeypatch)
    with meter.measuring() as reads:
        scope = find_scope(tenant.id, job)
    return scope, reads


def test_id_scoped_job_reads_only_the_chosen_customers_subscriptions(api, tenant, monkeypatch):
    chosen = api.active_subscription(tenant)
    for _ in range(12):  # other customers' subscriptions, which the scoped job must not read
        api.active_subscription(tenant)
    t = tenant_store.get_tenant(tenant.id)
    scope, reads = _scope_reads(monkeypatch, api, t, '{id: {_in: ["%s"]}}' % chosen["customerId"])
    assert list(scope.customers) == [chosen["customerId"]]
    assert [s.id for s in scope.subscriptions[chosen["customerId"]]] == [chosen["id"]]
    # one subscription from the index, its customer, product and order (is it on an invoice schedule?):
    # 4 items, not the tenant's 13 subscriptions
    assert reads.items == 4 and reads.calls["Scan"] == 0, reads

    everyone, all_reads = _scope_reads(monkeypatch, api, t, None)
    assert len(everyone.customers) == 13
    assert all_reads.items > 13  # the unscoped job reads every subscription: the comparison is meaningful
    assert len(catalog.subscriptions.of_tenant(tenant.id)) == 13
