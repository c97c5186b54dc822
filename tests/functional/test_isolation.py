"""Tenant isolation (SPEC "Tenancy and auth", Guarantee 5): another tenant's object is a 404 on every route
that takes an id, never appears in a list or through a filter, and a pagination token does not cross tenants
or queries."""
import re
from datetime import datetime, timedelta, timezone
from decimal import Decimal

import pytest

from chalicelib.api.http import OPERATIONS
from chalicelib.services import invoices as invoice_service

# A valid body for each (method, path template) that takes one, so a 404 can only come from isolation.
BODIES = {
    ("PATCH", "/customers/{id}"): {"name": "Hijacked", "taxRate": 5},
    ("PATCH", "/products/{id}"): {"name": "Hijacked", "price": 1},
    ("POST", "/orders/{id}:activate"): {},
    ("PATCH", "/subscriptions/{id}"): {"quantity": 7, "effectiveDate": "2030-01-01"},
    ("POST", "/subscriptions/{id}:cancel"): {"effectiveDate": "2030-01-01"},
    ("PATCH", "/billing/schedules/{id}"): {"description": "Hijacked", "customerFilter": "{}"},
    ("POST", "/billing/schedules/{id}:run"): {"targetDate": "2025-12-31", "invoiceDate": "2025-12-31"},
    ("PATCH", "/billing/invoices/{id}"): {"dueDate": "2030-01-01", "billToContactId": "hijacked"},
    ("PUT", "/v1/invoice-schedules/{scheduleKey}"): {"scheduleItems": [{"runDate": "2030-01-01", "amount": 1}]},
    ("POST", "/v1/invoice-schedules/{scheduleKey}/execute"): {},
    ("PUT", "/v1/invoice-schedules/{scheduleKey}/pause"): {},
    ("PUT", "/v1/invoice-schedules/{scheduleKey}/resume"): {},
}

# Which of tenant A's objects each resource's routes take.
RESOURCE_OF = {"/customers": "customer", "/products": "product", "/orders": "order",
               "/subscriptions": "subscription"}


def tenant_id_routes() -> set[tuple[str, str]]:
    """Every tenant route whose path names an object ({id}, and any other path parameter a dialect uses)."""
    from chalicelib.api import blueprints  # noqa: F401  (registers every operation)
    return {(op.method, op.path) for op in OPERATIONS if op.auth == "tenant" and re.search(r"{\w+}", op.path)}


def assert_not_found(answer, context):
    assert answer.status == 404, (context, answer.status, answer.body)
    assert answer.body["errorCode"] == "NotFound", (context, answer.body)
    assert set(answer.body) == {"errorCode", "message", "details"}


@pytest.fixture
def world(api, tenant, other):
    """Tenant A's customer, product, order (activated) and subscription; tenant B's own customer and product."""
    customer = api.customer(tenant, name="A customer", billCycleDay=1)
    product = api.product(tenant, name="A product")
    order = api.order(tenant, customer["id"], product["id"])
    activated = api.post(f"/orders/{order['id']}:activate", key=tenant.key)
    assert activated.status == 200, activated.body
    subscription_id = activated.body["lines"][0]["subscriptionId"]
    subscription = api.get(f"/subscriptions/{subscription_id}", key=tenant.key).body
    draft = api.order(tenant, customer["id"], product["id"])  # a Draft order B could try to activate
    ids = {"customer": customer["id"], "product": product["id"], "order": order["id"], "draft": draft["id"],
           "subscription": subscription_id}
    assert subscription["customerId"] == customer["id"]
    return ids


@pytest.fixture
def billing(api, tenant, world, monkeypatch):
    """Tenant A's billing objects: a Draft OnDemand schedule whose jobs wrote an invoice and then a credit memo
    (the subscription was canceled in between), and an Active Recurring schedule."""
    customer = api.customer(tenant, name="A billed customer", billCycleDay=1)
    order = api.order(tenant, customer["id"], world["product"], startDate="2025-01-01")
    activated = api.post(f"/orders/{order['id']}:activate", key=tenant.key)
    assert activated.status == 200, activated.body
    subscription_id = activated.body["lines"][0]["subscriptionId"]
    draft = api.post("/billing/schedules", {"scheduleType": "OnDemand", "description": "A's"}, key=tenant.key)
    assert draft.status == 201, draft.body
    invoiced = api.post(f"/billing/schedules/{draft.body['id']}:run",
                        {"targetDate": "2025-01-31", "invoiceDate": "2025-01-31"}, key=tenant.key)
    assert invoiced.status == 201 and invoiced.body["counts"]["invoices"] == 1, invoiced.body
    canceled = api.post(f"/subscriptions/{subscription_id}:cancel", {"effectiveDate": "2025-01-21"}, key=tenant.key)
    assert canceled.status == 200, canceled.body
    credited = api.post(f"/billing/schedules/{draft.body['id']}:run",
                        {"targetDate": "2025-01-31", "invoiceDate": "2025-02-01"}, key=tenant.key)
    assert credited.status == 201 and credited.body["counts"]["creditMemos"] == 1, credited.body
    active = api.post("/billing/schedules", {"scheduleType": "Recurring", "recurringSchedule": "0 0 3 ? * *",
                                             "status": "Active"}, key=tenant.key)
    assert active.status == 201 and active.body["status"] == "Active", active.body
    [invoice_id] = [d["invoiceId"] for d in invoiced.body["decisions"] if d["invoiceId"]]
    [memo_id] = [d["creditMemoId"] for d in credited.body["decisions"] if d["creditMemoId"]]
    with monkeypatch.context() as patched:  # any filter is "too many" for a moment: A queues an invoice job
        patched.setattr(invoice_service, "MAX_BULK", 0)
        queued = api.post("/billing/invoices:cancel", {"graphqlFilter": "{}"}, key=tenant.key)
    assert queued.status == 202, queued.body
    return {"invoice_job": queued.body["id"],"customer": customer["id"], "subscription": subscription_id, "schedule": draft.body["id"],
            "active_schedule": active.body["id"], "job": invoiced.body["id"], "memo_job": credited.body["id"],
            "invoice": invoice_id, "credit_memo": memo_id}


@pytest.fixture
def recurring(api, tenant, world) -> dict:
    """Tenant A's recurring invoice (BILL), for A's customer."""
    body = {"customerId": world["customer"], "schedule": {"period": "MONTHLY", "nextDueDate": "2030-01-31"},
            "recurringInvoiceLineItems": [{"amount": Decimal("19.99"), "description": "A's"}]}
    created = api.post("/v3/recurring-invoices", body, key=tenant.key)
    assert created.status == 201, created.body
    return created.body


@pytest.fixture
def zuora(api, tenant, world):
    """Tenant A's invoice schedule (two items on the world's activated order) and the bill run executing item 1;
    a second, paused schedule (so B's resume is tried on a paused one)."""
    def schedule(order_id):
        answer = api.post("/v1/invoice-schedules", {"orders": [order_id], "scheduleItems": [
            {"runDate": "2030-01-01", "percentage": 50}, {"runDate": "2030-02-01", "percentage": 50}]}, key=tenant.key)
        assert answer.status == 201, answer.body
        return answer.body
    services = api.product(tenant, name="A services", productType="OneTime", billingPeriod=None)
    order = api.order(tenant, world["customer"], services["id"])  # a OneTime line: no subscription
    assert api.post(f"/orders/{order['id']}:activate", key=tenant.key).status == 200
    first, second = schedule(world["order"]), schedule(order["id"])
    run = api.post(f"/v1/invoice-schedules/{first['id']}/execute", {}, key=tenant.key)
    assert run.status == 201, run.body
    assert api.put(f"/v1/invoice-schedules/{second['id']}/pause", key=tenant.key).status == 200
    return {"schedule": first["id"], "number": first["number"], "paused": second["id"], "run": run.body["id"],
            "run_number": run.body["billRunNumber"]}


def zuora_snapshot(api, tenant, ids) -> dict:
    paths = [f"/v1/invoice-schedules/{ids['schedule']}", f"/v1/invoice-schedules/{ids['paused']}",
             f"/v1/bill-runs/{ids['run']}", "/v1/invoice-schedules", "/v1/bill-runs"]
    return {path: api.get(path, key=tenant.key).body for path in paths}


def billing_snapshot(api, tenant, ids) -> dict:
    """A's billing objects and lists as A reads them."""
    paths = {"schedule": "/billing/schedules/{schedule}", "active_schedule": "/billing/schedules/{active_schedule}",
             "job": "/billing/jobs/{job}", "memo_job": "/billing/jobs/{memo_job}",
             "invoice": "/billing/invoices/{invoice}", "credit_memo": "/billing/credit-memos/{credit_memo}",
             "schedules": "/billing/schedules", "jobs": "/billing/jobs", "invoices": "/billing/invoices",
             "credit_memos": "/billing/credit-memos", "slots": "/billing/schedules/{active_schedule}/slots?count=2",
             "payments": "/billing/payments",
             "invoice_job": "/billing/invoice-jobs/{invoice_job}"}
    result = {}
    for name, template in paths.items():
        answer = api.get(template.format(**ids), key=tenant.key)
        assert answer.status == 200, (name, answer.body)
        result[name] = answer.body
    return result


def snapshot(api, tenant, ids) -> dict:
    paths = {"customer": "/customers/{}", "product": "/products/{}", "order": "/orders/{}",
             "draft": "/orders/{}", "subscription": "/subscriptions/{}"}
    result = {}
    for name, template in paths.items():
        answer = api.get(template.format(ids[name]), key=tenant.key)
        assert answer.status == 200, answer.body
        result[name] = answer.body
    return result


def test_every_route_with_an_id_answers_404_for_another_tenants_object(api, tenant, other, world, billing,
                                                                      recurring, zuora):
    before = snapshot(api, tenant, world)
    billing_before = billing_snapshot(api, tenant, billing)
    recurring_before = api.get(f"/v3/recurring-invoices/{recurring['id']}", key=tenant.key).body
    zuora_before = zuora_snapshot(api, tenant, zuora)
    covered: set[tuple[str, str]] = set()

    def attempt(method, template, ident, body=None):
        path = re.sub(r"{\w+}", ident, template)
        answer = api.call(method, path, BODIES.get((method, template)) if body is None else body, key=other.key)
        assert_not_found(answer, (method, path))
        covered.add((method, template))

    attempt("GET", "/customers/{id}", world["customer"])
    attempt("PATCH", "/customers/{id}", world["customer"])
    attempt("GET", "/products/{id}", world["product"])
    attempt("PATCH", "/products/{id}", world["product"])
    attempt("GET", "/orders/{id}", world["order"])
    attempt("GET", "/orders/{id}", world["draft"])
    attempt("POST", "/orders/{id}:activate", world["draft"])
    attempt("POST", "/orders/{id}:activate", world["order"])
    attempt("GET", "/subscriptions/{id}", world["subscription"])
    attempt("PATCH", "/subscriptions/{id}", world["subscription"])
    attempt("POST", "/subscriptions/{id}:cancel", world["subscription"])
    for schedule in (billing["schedule"], billing["active_schedule"]):
        attempt("GET", "/billing/schedules/{id}", schedule)
        attempt("PATCH", "/billing/schedules/{id}", schedule)
        attempt("GET", "/billing/schedules/{id}/slots", schedule)
        attempt("POST", "/billing/schedules/{id}:run", schedule)
        attempt("DELETE", "/billing/schedules/{id}", schedule)
    attempt("GET", "/billing/jobs/{id}", billing["job"])
    attempt("GET", "/billing/jobs/{id}", billing["memo_job"])
    attempt("POST", "/billing/jobs/{id}:retry", billing["job"])
    attempt("GET", "/billing/invoices/{id}", billing["invoice"])
    attempt("PATCH", "/billing/invoices/{id}", billing["invoice"])
    attempt("GET", "/billing/invoices/{id}/pdf", billing["invoice"])
    attempt("GET", "/billing/credit-memos/{id}", billing["credit_memo"])
    attempt("GET", "/billing/invoice-jobs/{id}", billing["invoice_job"])
    attempt("GET", "/billing/invoice-jobs/{id}/results", billing["invoice_job"])
    # B's own customer in the bodies: a 404 can only come from A's recurring invoice being out of B's reach
    b_customer = api.customer(other, name="B's customer")["id"]
    template = "/v3/recurring-invoices/{id}"
    attempt("GET", template, recurring["id"])
    attempt("PATCH", template, recurring["id"], {"customerId": b_customer, "schedule": {"frequency": 2}})
    attempt("PUT", template, recurring["id"], {
        "customerId": b_customer, "schedule": {"period": "DAILY", "nextDueDate": "2030-01-01"},
        "recurringInvoiceLineItems": [{"id": recurring["recurringInvoiceLineItems"][0]["id"], "amount": 1}]})
    attempt("POST", template + "/archive", recurring["id"], {})
    attempt("POST", template + "/restore", recurring["id"], {})
    for key in (zuora["schedule"], zuora["number"], zuora["paused"]):
        attempt("GET", "/v1/invoice-schedules/{scheduleKey}", key)
        attempt("PUT", "/v1/invoice-schedules/{scheduleKey}", key)
        attempt("POST", "/v1/invoice-schedules/{scheduleKey}/execute", key)
        attempt("PUT", "/v1/invoice-schedules/{scheduleKey}/pause", key)
        attempt("PUT", "/v1/invoice-schedules/{scheduleKey}/resume", key)
        attempt("DELETE", "/v1/invoice-schedules/{scheduleKey}", key)
    for key in (zuora["run"], zuora["run_number"]):
        attempt("GET", "/v1/bill-runs/{billRunKey}", key)

    # Any route added later with an {id} must get its own isolation check here.
    missing = tenant_id_routes() - covered
    assert not missing, f"routes without an isolation check: {sorted(missing)}"

    # Nothing B tried changed A's objects, and B's draft-order activation created no subscription.
    assert snapshot(api, tenant, world) == before
    assert billing_snapshot(api, tenant, billing) == billing_before  # no job ran, nothing changed or went away
    assert api.get(f"/v3/recurring-invoices/{recurring['id']}", key=tenant.key).body == recurring_before == recurring
    assert zuora_snapshot(api, tenant, zuora) == zuora_before  # no item executed, paused, resumed or replaced
    assert api.get("/v1/bill-runs/BR-00000001", key=other.key).status == 404  # B's execute attempts made no run
    assert billing_before["schedule"]["description"] == "A's" and billing_before["schedule"]["customerFilter"] is None
    assert len(billing_before["jobs"]["data"]) == 2
    assert api.get("/billing/jobs", key=other.key).body["data"] == []  # B's :run attempts created no job either
    assert before["draft"]["status"] == "Draft"
    assert before["customer"]["name"] == "A customer"
    assert before["subscription"]["quantity"] == 2 and before["subscription"]["status"] == "Active"
    subs = api.get("/subscriptions", key=tenant.key).body["data"]
    assert sorted(s["id"] for s in subs) == sorted([world["subscription"], billing["subscription"]])
    assert api.get("/subscriptions", key=other.key).body["data"] == []


def test_zuora_and_payment_lists_never_show_another_tenants_items(api, tenant, other, world, billing, zuora):
    """B's lists of invoice schedules, bill runs and payments, whatever A's ids B filters on, show nothing of A's;
    A's tokens are useless to B; and A's own lists (the filters B tried) still hold A's items."""
    assert api.post("/billing/invoices:activate", {"invoiceIds": [billing["invoice"]]}, key=tenant.key).status == 200
    a_paid = api.post("/billing/payments", {"invoiceId": billing["invoice"], "amount": 1}, key=tenant.key)
    assert a_paid.status == 201, a_paid.body
    a_ids = set(zuora.values()) | {a_paid.body["payment"]["id"]}
    queries = ["/v1/invoice-schedules", f"/v1/invoice-schedules?accountId={world['customer']}",
               f"/v1/invoice-schedules?orderId={world['order']}", "/v1/invoice-schedules?status=Paused",
               f"/v1/invoice-schedules?accountId={world['customer']}&status=Pending",
               "/v1/bill-runs", f"/v1/bill-runs?accountId={world['customer']}",
               f"/v1/bill-runs?orderId={world['order']}",
               "/v1/bill-runs?status=Pending", f"/v1/bill-runs?orderId={world['order']}&status=Pending",
               "/billing/payments", f"/billing/payments?invoiceId={billing['invoice']}",
               f"/billing/payments?customerId={billing['customer']}"]
    for query in queries:
        answer = api.get(query, key=other.key)
        assert answer.status == 200, (query, answer.body)
        assert answer.body == {"data": [], "nextToken": None}, query
        mine = api.get(query, key=tenant.key)
        assert mine.status == 200 and {item["id"] for item in mine.body["data"]} & a_ids, query
    assert api.post(f"/v1/invoice-schedules/{zuora['schedule']}/execute", {}, key=tenant.key).status == 201
    assert api.post("/billing/payments", {"invoiceId": billing["invoice"], "amount": 1}, key=tenant.key).status == 201
    for path in ("/v1/invoice-schedules", "/v1/bill-runs", "/billing/payments"):  # two of each: a second page
        token = api.get(f"{path}?limit=1", key=tenant.key).body["nextToken"]
        assert token, path
        stolen = api.get(f"{path}?limit=1&nextToken={token}", key=other.key)
        assert stolen.status == 400 and stolen.error_fields == ["nextToken"], path


def test_registry_of_id_routes_is_what_the_isolation_test_expects():
    """Guard for the guard: the registry really lists the catalog/order routes (so the check above is not vacuous)."""
    routes = tenant_id_routes()
    assert ("GET", "/customers/{id}") in routes
    assert ("POST", "/orders/{id}:activate") in routes
    assert ("POST", "/subscriptions/{id}:cancel") in routes
    assert len(routes) >= 9


def test_id_of_another_tenant_behaves_exactly_like_an_unknown_id(api, tenant, other, world):
    """404 for A's id and for a made-up id carry the same error code and shape: nothing tells them apart."""
    for template in ["/customers/{}", "/products/{}", "/orders/{}", "/subscriptions/{}"]:
        foreign = api.get(template.format(world[RESOURCE_OF[template[:-3]]]), key=other.key)
        unknown = api.get(template.format("00000000-0000-0000-0000-000000000000"), key=other.key)
        assert_not_found(foreign, template)
        assert_not_found(unknown, template)
        assert foreign.body["errorCode"] == unknown.body["errorCode"]
        assert foreign.body["details"] == unknown.body["details"] == []


def test_lists_never_show_another_tenants_items(api, tenant, other, world):
    a_ids = set(world.values())
    b_customer = api.customer(other, name="B customer")
    b_product = api.product(other, name="B product")
    b_order = api.order(other, b_customer["id"], b_product["id"])

    queries = [
        "/customers", "/customers?limit=1000", "/products", "/products?limit=1000",
        "/orders", f"/orders?customerId={world['customer']}", "/orders?status=Activated",
        "/orders?status=Draft", f"/orders?customerId={world['customer']}&status=draft",
        "/subscriptions", f"/subscriptions?customerId={world['customer']}",
        f"/subscriptions?orderId={world['order']}", "/subscriptions?status=Active",
        f"/subscriptions?customerId={world['customer']}&orderId={world['order']}&status=active",
    ]
    for query in queries:
        answer = api.get(query, key=other.key)
        assert answer.status == 200, (query, answer.body)
        listed = {item["id"] for item in answer.body["data"]}
        assert not listed & a_ids, query
        assert answer.body["nextToken"] is None
        assert all(item.get("customerId", b_customer["id"]) == b_customer["id"] for item in answer.body["data"])

    # B sees exactly its own objects
    assert [c["id"] for c in api.get("/customers", key=other.key).body["data"]] == [b_customer["id"]]
    assert [p["id"] for p in api.get("/products", key=other.key).body["data"]] == [b_product["id"]]
    assert [o["id"] for o in api.get("/orders", key=other.key).body["data"]] == [b_order["id"]]
    assert api.get(f"/orders?customerId={world['customer']}", key=other.key).body["data"] == []

    # and A still sees its own through the same filters
    a_orders = api.get(f"/orders?customerId={world['customer']}", key=tenant.key).body["data"]
    assert {o["id"] for o in a_orders} == {world["order"], world["draft"]}
    a_subs = api.get(f"/subscriptions?orderId={world['order']}", key=tenant.key).body["data"]
    assert [s["id"] for s in a_subs] == [world["subscription"]]
    assert b_order["id"] not in {o["id"] for o in api.get("/orders", key=tenant.key).body["data"]}


def test_order_referencing_another_tenants_customer_or_product_is_404_and_creates_nothing(
        api, tenant, other, world):
    b_customer = api.customer(other, name="B customer")
    b_product = api.product(other, name="B product")

    with_a_customer = api.post("/orders", {"customerId": world["customer"],
                                           "lines": [{"productId": b_product["id"]}]}, key=other.key)
    assert_not_found(with_a_customer, "A's customer")
    assert with_a_customer.body["details"] == [{"field": "customerId", "issue": "no customer with this id"}]

    with_a_product = api.post("/orders", {"customerId": b_customer["id"],
                                          "lines": [{"productId": b_product["id"]},
                                                    {"productId": world["product"], "quantity": 1}]},
                              key=other.key)
    assert_not_found(with_a_product, "A's product")
    assert with_a_product.body["details"] == [{"field": "lines[1].productId", "issue": "no product with this id"}]

    both = api.post("/orders", {"customerId": world["customer"], "lines": [{"productId": world["product"]}]},
                    key=other.key)
    assert_not_found(both, "A's customer and product")

    assert api.get("/orders", key=other.key).body["data"] == []
    assert api.get("/subscriptions", key=other.key).body["data"] == []
    # A's lists did not gain anything either
    assert {o["id"] for o in api.get("/orders", key=tenant.key).body["data"]} == {world["order"], world["draft"]}


def test_next_token_is_bound_to_tenant_and_query(api, tenant, other):
    for name in ["c1", "c2", "c3"]:
        api.customer(tenant, name=name)
    api.customer(other, name="b1")
    api.customer(other, name="b2")

    first = api.get("/customers?limit=1", key=tenant.key)
    assert first.status == 200
    assert len(first.body["data"]) == 1
    token = first.body["nextToken"]
    assert token

    # B replays A's token: 400 naming nextToken, and no data of A's
    for query in [f"/customers?limit=1&nextToken={token}", f"/customers?nextToken={token}"]:
        stolen = api.get(query, key=other.key)
        assert stolen.status == 400, stolen.body
        assert stolen.body["errorCode"] == "ValidationError"
        assert stolen.error_fields == ["nextToken"]
        assert "c1" not in str(stolen.body) and "c2" not in str(stolen.body)

    # A replays its own token on another list, or on the same resource with another filter: 400
    for query in [f"/products?limit=1&nextToken={token}", f"/orders?limit=1&nextToken={token}",
                  f"/subscriptions?limit=1&nextToken={token}",
                  f"/orders?customerId={first.body['data'][0]['id']}&limit=1&nextToken={token}"]:
        elsewhere = api.get(query, key=tenant.key)
        assert elsewhere.status == 400, (query, elsewhere.body)
        assert elsewhere.error_fields == ["nextToken"], query

    # a forged or garbled token: 400 too
    for bad in ["not-a-token", token[:-3], "e30", "eyJ0IjoiYSJ9"]:
        garbled = api.get(f"/customers?limit=1&nextToken={bad}", key=tenant.key)
        assert garbled.status == 400, (bad, garbled.body)
        assert garbled.error_fields == ["nextToken"]

    # the token still works for A on the query that issued it
    second = api.get(f"/customers?limit=1&nextToken={token}", key=tenant.key)
    assert second.status == 200
    assert len(second.body["data"]) == 1
    assert second.body["data"][0]["id"] != first.body["data"][0]["id"]


def test_next_token_of_a_filtered_list_does_not_serve_another_filter(api, tenant):
    c1 = api.customer(tenant, name="one")
    c2 = api.customer(tenant, name="two")
    product = api.product(tenant)
    for _ in range(2):
        api.order(tenant, c1["id"], product["id"])
        api.order(tenant, c2["id"], product["id"])
    page = api.get(f"/orders?customerId={c1['id']}&limit=1", key=tenant.key)
    assert page.status == 200 and page.body["nextToken"]
    assert page.body["data"][0]["customerId"] == c1["id"]
    token = page.body["nextToken"]
    for query in [f"/orders?customerId={c2['id']}&limit=1&nextToken={token}",
                  f"/orders?limit=1&nextToken={token}",
                  f"/orders?customerId={c1['id']}&status=Draft&limit=1&nextToken={token}"]:
        answer = api.get(query, key=tenant.key)
        assert answer.status == 400, (query, answer.body)
        assert answer.error_fields == ["nextToken"]
    rest = api.get(f"/orders?customerId={c1['id']}&limit=1&nextToken={token}", key=tenant.key)
    assert rest.status == 200
    assert [o["customerId"] for o in rest.body["data"]] == [c1["id"]]
    assert rest.body["data"][0]["id"] != page.body["data"][0]["id"]


def test_admin_key_routes_do_not_cross_tenants(api, tenant, other):
    a_keys = api.admin("GET", f"/admin/tenants/{tenant.id}/api-keys").body["data"]
    b_keys = api.admin("GET", f"/admin/tenants/{other.id}/api-keys").body["data"]
    assert len(a_keys) == 1 and len(b_keys) == 1
    assert a_keys[0]["tenantId"] == tenant.id and b_keys[0]["tenantId"] == other.id
    a_key_id = a_keys[0]["id"]

    answer = api.admin("DELETE", f"/admin/tenants/{other.id}/api-keys/{a_key_id}")
    assert_not_found(answer, "A's key under B")

    # A's key is still active and still works
    after = api.admin("GET", f"/admin/tenants/{tenant.id}/api-keys").body["data"]
    assert after == a_keys
    assert after[0]["active"] is True
    assert api.get("/settings", key=tenant.key).status == 200


def test_a_key_only_ever_reaches_its_own_tenant(api, tenant, other):
    """Settings, catalog and data written through B's key land in B, and A's settings are unchanged."""
    patched = api.patch("/settings", {"paymentTermDays": 7, "currency": "EUR"}, key=other.key)
    assert patched.status == 200, patched.body
    assert patched.body["paymentTermDays"] == 7
    a_settings = api.get("/settings", key=tenant.key).body
    assert a_settings["paymentTermDays"] == 30 and a_settings["currency"] == "USD"
    b_customer = api.customer(other)
    assert b_customer["currency"] == "EUR"
    assert_not_found(api.get(f"/customers/{b_customer['id']}", key=tenant.key), "B's customer from A")
    product = api.post("/products", {"name": "x", "price": Decimal("1.00"), "billingPeriod": "Month"},
                       key=other.key).body
    assert product["currency"] == "EUR"


def test_billing_schedules_jobs_and_documents_never_cross_tenants(api, tenant, other, world, billing):
    """B's lists never show A's billing objects; B's bulk actions and previews with A's schedule ids are 404 and
    change nothing; A's match-all schedule never bills B's customers."""
    # B bills its own customer: a schedule, a job, an invoice, and (after a cancellation) a credit memo
    b_customer = api.customer(other, name="B customer", billCycleDay=1)
    b_product = api.product(other, name="B product")
    b_order = api.order(other, b_customer["id"], b_product["id"], startDate="2025-01-01")
    b_sub = api.post(f"/orders/{b_order['id']}:activate", key=other.key).body["lines"][0]["subscriptionId"]
    b_schedule = api.post("/billing/schedules", {"scheduleType": "OnDemand"}, key=other.key).body
    b_job = api.post(f"/billing/schedules/{b_schedule['id']}:run", {"targetDate": "2025-01-31"}, key=other.key).body
    assert b_job["counts"]["invoices"] == 1, b_job
    api.post(f"/subscriptions/{b_sub}:cancel", {"effectiveDate": "2025-01-11"}, key=other.key)
    b_memo_job = api.post(f"/billing/schedules/{b_schedule['id']}:run", {"targetDate": "2025-01-31"},
                          key=other.key).body
    assert b_memo_job["counts"]["creditMemos"] == 1, b_memo_job
    a_customers = {world["customer"], billing["customer"]}

    # A's schedule has no customer filter: its jobs and previews still only ever see A's customers
    b_order2 = api.order(other, b_customer["id"], b_product["id"], startDate="2025-02-01")
    assert api.post(f"/orders/{b_order2['id']}:activate", key=other.key).status == 200  # B has unbilled periods
    a_run = api.post(f"/billing/schedules/{billing['schedule']}:run", {"targetDate": "2025-06-30"}, key=tenant.key)
    assert a_run.status == 201, a_run.body
    assert {d["customerId"] for d in a_run.body["decisions"]} == a_customers
    assert a_run.body["counts"]["invoices"] == 0 and a_run.body["counts"]["customers"] == 2
    a_preview = api.post("/billing/jobs:preview", {"targetDate": "2025-06-30"}, key=tenant.key).body
    assert {d["customerId"] for d in a_preview["decisions"]} == a_customers and a_preview["invoices"] == []
    aimed = api.post("/billing/jobs:preview", {"customerFilter": '{id: {_eq: "%s"}}' % b_customer["id"],
                                               "targetDate": "2025-06-30"}, key=tenant.key).body
    assert aimed["decisions"] == [] and aimed["invoices"] == [] and aimed["creditMemos"] == []
    b_preview = api.post("/billing/jobs:preview", {"targetDate": "2025-06-30"}, key=other.key).body
    assert {d["customerId"] for d in b_preview["decisions"]} == {b_customer["id"]}
    assert [i["customerId"] for i in b_preview["invoices"]] == [b_customer["id"]]  # B's own periods are due
    a_ids = {billing[k] for k in ("schedule", "active_schedule", "job", "memo_job", "invoice", "credit_memo")}
    a_ids |= {a_run.body["id"]}
    before = billing_snapshot(api, tenant, billing)

    # B's lists: only B's own objects, whatever the filter
    queries = {
        "/billing/schedules": {b_schedule["id"]}, "/billing/schedules?status=Active": set(),
        "/billing/schedules?status=Draft": {b_schedule["id"]}, "/billing/schedules?scheduleType=Recurring": set(),
        "/billing/schedules?scheduleType=OnDemand&limit=1000": {b_schedule["id"]},
        "/billing/jobs": {b_job["id"], b_memo_job["id"]}, f"/billing/jobs?scheduleId={billing['schedule']}": set(),
        "/billing/jobs?status=Completed": {b_job["id"], b_memo_job["id"]},
        "/billing/invoices": {b_job["decisions"][0]["invoiceId"]},
        f"/billing/invoices?customerId={billing['customer']}": set(),
        "/billing/invoices?status=Draft": {b_job["decisions"][0]["invoiceId"]},
        f"/billing/invoices?customerId={billing['customer']}&status=Draft": set(),
        "/billing/credit-memos": {b_memo_job["decisions"][0]["creditMemoId"]},
        f"/billing/credit-memos?customerId={billing['customer']}": set(),
    }
    for query, expected in queries.items():
        answer = api.get(query, key=other.key)
        assert answer.status == 200, (query, answer.body)
        ids = {item["id"] for item in answer.body["data"]}
        assert ids == expected, query
        assert not ids & a_ids and answer.body["nextToken"] is None, query
        assert all(item.get("customerId", b_customer["id"]) == b_customer["id"] for item in answer.body["data"])
    assert {d["customerId"] for d in api.get(f"/billing/jobs/{b_job['id']}", key=other.key).body["decisions"]} \
        == {b_customer["id"]}

    # A's pagination token is useless to B
    token = api.get("/billing/jobs?limit=1", key=tenant.key).body["nextToken"]
    assert token
    stolen = api.get(f"/billing/jobs?limit=1&nextToken={token}", key=other.key)
    assert stolen.status == 400 and stolen.error_fields == ["nextToken"]
    assert billing["job"] not in str(stolen.body) and billing["memo_job"] not in str(stolen.body)

    # B's bulk actions and preview with A's schedule ids: 404, and A's schedules are untouched
    for action, schedule in ((":activate", billing["schedule"]), (":deactivate", billing["active_schedule"]),
                             (":activate", billing["active_schedule"]), (":deactivate", billing["schedule"])):
        answer = api.post(f"/billing/schedules{action}", {"scheduleIds": [schedule]}, key=other.key)
        assert_not_found(answer, (action, schedule))
        assert answer.body["details"] == [{"field": "scheduleIds", "issue": "no billing schedule with this id"}]
    mixed = api.post("/billing/schedules:activate", {"scheduleIds": [billing["schedule"], b_schedule["id"]]},
                     key=other.key)
    assert_not_found(mixed, "A's and B's ids together")
    preview = api.post("/billing/jobs:preview", {"scheduleId": billing["schedule"], "targetDate": "2025-06-30"},
                       key=other.key)
    assert_not_found(preview, "B previews A's schedule")
    assert preview.body["details"] == [{"field": "scheduleId", "issue": "no billing schedule with this id"}]
    foreign = api.get(f"/billing/invoices/{billing['invoice']}", key=other.key)
    unknown = api.get("/billing/invoices/00000000-0000-0000-0000-000000000000", key=other.key)
    assert (foreign.status, foreign.body["errorCode"], foreign.body["details"]) == \
        (unknown.status, unknown.body["errorCode"], unknown.body["details"])

    after = billing_snapshot(api, tenant, billing)
    assert after == before
    assert after["schedule"]["status"] == "Draft" and after["active_schedule"]["status"] == "Active"
    assert after["active_schedule"]["nextRunDate"] is not None
    # and B's own things are as B left them
    assert api.get(f"/billing/schedules/{b_schedule['id']}", key=other.key).body["status"] == "Draft"
    assert len(api.get("/billing/jobs", key=other.key).body["data"]) == 2


def test_bulk_invoice_operations_never_touch_another_tenants_invoices(api, tenant, other, billing):
    """By ids, another tenant's invoice is "not found" per id; by filter, even a match-all one, only the
    caller's own invoices are selected."""
    mine = api.get(f"/billing/invoices/{billing['invoice']}", key=tenant.key).body
    for path, body in (("/billing/invoices:activate", {}), ("/billing/invoices:cancel", {})):
        by_id = api.post(path, {"invoiceIds": [billing["invoice"]], **body}, key=other.key)
        assert by_id.status == 200 and by_id.body["failed"] == 1 and by_id.body["succeeded"] == 0
        assert by_id.body["results"][0]["message"] == "invoice not found"
        by_filter = api.post(path, {"graphqlFilter": "{}", **body}, key=other.key)
        assert by_filter.status == 200 and billing["invoice"] not in [r["invoiceId"] for r in by_filter.body["results"]]
    deleted = api.delete("/billing/invoices", {"invoiceIds": [billing["invoice"]]}, key=other.key)
    assert deleted.status == 200 and deleted.body["failed"] == 1
    paid = api.post("/billing/payments", {"invoiceId": billing["invoice"], "amount": 1}, key=other.key)
    assert paid.status == 404 and paid.error_fields == ["invoiceId"]
    assert api.get(f"/billing/invoices/{billing['invoice']}", key=tenant.key).body == mine


def test_recurring_invoices_never_cross_tenants(api, tenant, other, world, recurring):
    """B's lists never show A's recurring invoices (whatever the filter), B cannot aim a template at A's customer,
    A's pagination token is useless to B, and the generation of B's invoices never touches A's."""
    path = "/v3/recurring-invoices"
    aimed = api.post(path, {"customerId": world["customer"], "schedule": {"period": "MONTHLY",
                                                                          "nextDueDate": "2020-01-31"},
                            "recurringInvoiceLineItems": [{"amount": 1}]}, key=other.key)
    assert_not_found(aimed, "B aims at A's customer")
    assert aimed.body["details"] == [{"field": "customerId", "issue": "no customer with this id"}]
    b_customer = api.customer(other, name="B customer")["id"]
    # three days due in the recent past (a live tenant: within BILLRUN_MAX_CATCH_UP_DAYS of today)
    due = [(datetime.now(timezone.utc) - timedelta(days=days)).date().isoformat() for days in (10, 9, 8)]
    mine = api.post(path, {"customerId": b_customer, "schedule": {"period": "DAILY", "nextDueDate": due[0],
                                                                  "endDate": due[2]},
                           "recurringInvoiceLineItems": [{"amount": 1}]}, key=other.key)
    assert mine.status == 201, mine.body
    moved = api.patch(f"{path}/{mine.body['id']}", {"customerId": world["customer"]}, key=other.key)
    assert_not_found(moved, "B moves its template to A's customer")
    for query in ("", "?archived=false", "?archived=true", f"?customerId={world['customer']}", "?limit=1000"):
        listed = api.get(path + query, key=other.key)
        assert listed.status == 200 and recurring["id"] not in str(listed.body), query
        assert {r["customerId"] for r in listed.body["data"]} <= {b_customer}
    api.post(path, {"customerId": world["customer"], "schedule": {"period": "MONTHLY", "nextDueDate": "2030-02-28"},
                    "recurringInvoiceLineItems": [{"amount": 2}]}, key=tenant.key)
    token = api.get(f"{path}?limit=1", key=tenant.key).body["nextToken"]
    assert token
    stolen = api.get(f"{path}?limit=1&nextToken={token}", key=other.key)
    assert stolen.status == 400 and stolen.error_fields == ["nextToken"]
    # B's tick generates B's three invoices (a live tenant: the wall-clock tick), nothing of A's
    from chalicelib.services import tick
    assert tick.process_clock("live", datetime.now(timezone.utc)).ran["recurringInvoices"] == 3
    assert [i["name"] for i in api.get("/billing/invoices", key=other.key).body["data"]] == due
    assert api.get(f"/billing/invoices?customerId={world['customer']}", key=tenant.key).body["data"] == []
    assert api.get(f"{path}/{recurring['id']}", key=tenant.key).body == recurring
