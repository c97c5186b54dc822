"""A billing job scoped to customers by id reads those customers' subscriptions only (the by-customer index),
however many other subscriptions the tenant has; so does one whose order filter names orders (their lines name
their subscriptions) or the orders' customer, or whose product filter names products (the by-product index). The
narrowed read selects exactly what reading every subscription would."""
from datetime import date

from chalicelib.services import billing_jobs
from chalicelib.services.billing_jobs import find_scope
from chalicelib.store import catalog
from chalicelib.store import tenants as tenant_store
from tests.support import ReadMeter


def _job(tenant, customer_filter=None, **filters):
    return billing_jobs.BillingJob(
        id="j", name="BJ-1", status=billing_jobs.JobStatus.QUEUED, clock_id="live",
        target_date=date(2025, 1, 31), invoice_date=date(2025, 1, 31), scheduled_time=tenant.created_date,
        created_by_id="k", created_date=tenant.created_date, customer_filter=customer_filter, **filters)


def _scope_reads(monkeypatch, api, tenant, customer_filter, **filters):
    job = _job(tenant, customer_filter, **filters)
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


def _subscription_reads(reads) -> int:
    return sum(count for table, count in reads.by_table.items() if table.endswith("-subscriptions"))


def test_order_and_product_scoped_jobs_read_only_what_their_ids_name(api, tenant, monkeypatch):
    chosen = api.active_subscription(tenant)
    for _ in range(12):
        api.active_subscription(tenant)
    t = tenant_store.get_tenant(tenant.id)
    cases = {  # the filters, and the subscription items each read may touch: the 1 chosen (an index entry and
        # the item for the by-product index)
        "orderFilter id": (dict(order_filter='{id: {_eq: "%s"}}' % chosen["orderId"]), 1),
        "orderFilter customerId": (dict(order_filter='{customerId: {_eq: "%s"}}' % chosen["customerId"]), 1),
        "orderFilter customer.id": (dict(order_filter='{customer: {id: {_in: ["%s"]}}}' % chosen["customerId"]), 1),
        "productFilter id": (dict(product_filter='{id: {_eq: "%s"}}' % chosen["productId"]), 2),
    }
    for name, (filters, budget) in cases.items():
        scope, reads = _scope_reads(monkeypatch, api, t, None, **filters)
        assert [s.id for subs in scope.subscriptions.values() for s in subs] == [chosen["id"]], name
        assert reads.calls["Scan"] == 0 and _subscription_reads(reads) <= budget, (name, reads)
    _, everyone = _scope_reads(monkeypatch, api, t, None, order_filter="{}")
    assert _subscription_reads(everyone) >= 13  # unnamed: every subscription is read, so the budgets mean something


def test_a_narrowed_scope_selects_what_reading_every_subscription_selects(api, tenant, monkeypatch):
    """The source an id names only narrows the read: against the full read, the same subscriptions, customers
    in scope and customers filtered out, for filters mixing named ids with other conditions."""
    first = api.active_subscription(tenant)
    others = [api.active_subscription(tenant) for _ in range(3)]
    second = others[0]
    services = api.product(tenant, name="Setup", productType="OneTime", billingPeriod=None)
    one_time = api.order(tenant, first["customerId"], services["id"])  # a one-time charge, no subscription
    assert api.post(f"/orders/{one_time['id']}:activate", key=tenant.key).status == 200
    t = tenant_store.get_tenant(tenant.id)
    filters = [
        dict(order_filter='{id: {_in: ["%s", "%s"]}}' % (one_time["id"], second["orderId"])),
        dict(product_filter='{id: {_eq: "%s"}}' % services["id"]),
        dict(order_filter='{customerId: {_eq: "%s"}}' % first["customerId"]),
        dict(order_filter='{id: {_in: ["%s", "%s"]}}' % (first["orderId"], second["orderId"])),
        dict(order_filter='{_and: [{id: {_eq: "%s"}}, {status: {_eq: "Draft"}}]}' % first["orderId"]),
        dict(order_filter='{customer: {id: {_eq: "%s"}}, currency: {_eq: "USD"}}' % first["customerId"]),
        dict(order_filter='{customerId: {_eq: "%s"}}' % first["customerId"],
             customer_filter='{id: {_eq: "%s"}}' % second["customerId"]),  # disjoint: nothing
        dict(product_filter='{id: {_in: ["%s", "no-such-product"]}}' % second["productId"]),
        dict(product_filter='{id: {_eq: "%s"}}' % first["productId"], order_filter='{id: {_eq: "%s"}}'
             % second["orderId"]),  # disjoint: nothing
        dict(order_filter='{_or: [{id: {_eq: "%s"}}, {customer: {name: {_like: "%%"}}}]}' % first["orderId"]),
    ]
    for f in filters:
        narrowed = find_scope(t.id, _job(t, **f))
        with monkeypatch.context() as patched:
            patched.setattr(billing_jobs, "_candidates", lambda tenant_id, *_: (
                catalog.subscriptions.of_tenant(tenant_id), catalog.orders.with_one_time_charges(tenant_id)))
            full = find_scope(t.id, _job(t, **f))
        picked = {c: sorted(s.id for s in subs) for c, subs in narrowed.subscriptions.items() if subs}
        if f.get("product_filter") == '{id: {_eq: "%s"}}' % services["id"]:
            assert picked == {first["customerId"]: [s.id for s in full.subscriptions[first["customerId"]]]} and all(
                s.id.startswith("otc_") for s in full.subscriptions[first["customerId"]]), picked  # not vacuous
        assert picked == {c: sorted(s.id for s in subs) for c, subs in full.subscriptions.items() if subs}, f
        assert set(picked) <= set(full.customers) and narrowed.filtered_out <= full.filtered_out, f
