"""One filter text, one reading (issue 14): every entry point that takes a filter of the same entity accepts it, or
refuses it with the same issue naming the same field, and selects the same records. Invoices: the three bulk
operations' `graphqlFilter`, the invoice job a large one becomes, GraphQL `where` (literal and variable).
Customers, products, orders: billing-schedule scopes, `POST /billing/jobs:preview`, GraphQL `where` and the
relations that reach them (`invoice.customer`, `subscription.customer`, `subscription.product`). All through HTTP
(and the tick, as Lambda invokes it); every answer is checked against the OpenAPI document by the Api helper."""
from dataclasses import dataclass
from decimal import Decimal

import pytest

from chalicelib.services import invoices as invoice_service
from tests.functional.test_billing_api import UNKNOWN_ID, clock_tenant, new_schedule, run, subscribe

CLOCK = "2025-01-01T00:00:00Z"


@dataclass(frozen=True)
class Outcome:
    issue: str | None  # None: accepted; else the issue, its path first ("customer.planet: unknown field ...")
    selected: frozenset | None = None  # what it selected, for entry points that say


def refused(answer, field: str) -> Outcome:
    assert answer.status == 400 and answer.body["errorCode"] == "ValidationError", answer.body
    [issue] = [d["issue"] for d in answer.body["details"] if d["field"] == field]
    return Outcome(issue)


def unwrapped(issue: str | None, relation: str | None) -> str | None:
    """The issue of a filter given inside a relation, read as the issue of the filter itself."""
    if issue is None or relation is None:
        return issue
    assert issue.startswith(relation + "."), issue
    return issue.removeprefix(relation + ".")


@pytest.fixture
def shop(api):
    """A USD test-mode tenant: customers ann and bob, one subscription each to a recurring product, one billing job's
    Draft invoices; ann's is then activated, so filters can tell the two invoices apart. Nothing is Canceled, so a
    bulk delete refuses every invoice it selects and changes nothing."""
    t = clock_tenant(api, CLOCK)
    product = api.product(t, price=Decimal("30.00"))
    people = {n: api.customer(t, name=n, billCycleDay=1) for n in ("ann", "bob")}
    subscribed = {n: subscribe(api, t, c, product, startDate="2025-01-01") for n, c in people.items()}
    subs = {n: sold["subscription"] for n, sold in subscribed.items()}
    job = run(api, t, new_schedule(api, t)["id"], targetDate="2025-01-01", invoiceDate="2025-01-01")
    invoices = {d["customerId"]: d["invoiceId"] for d in job["decisions"]}
    invoices = {n: invoices[c["id"]] for n, c in people.items()}
    answer = api.post("/billing/invoices:activate", {"invoiceIds": [invoices["ann"]]}, key=t.key)
    assert answer.status == 200 and answer.body["succeeded"] == 1, answer.body
    return {"t": t, "customers": {n: c["id"] for n, c in people.items()}, "subscriptions": subs,
            "invoices": invoices, "orders": {n: sold["order"] for n, sold in subscribed.items()},
            "product": product["id"]}


def graphql(api, t, type_name: str, where: str, pick: str = "id", relation: str | None = None,
            as_variable: bool = False) -> Outcome:
    if as_variable:
        body = {"query": "query($w: Filter) { %s(where: $w, limit: 1000) { %s } }" % (type_name, pick),
                "variables": {"w": where}}
    else:
        body = {"query": "{ %s(where: %s, limit: 1000) { %s } }" % (type_name, where, pick)}
    answer = api.post("/orders/async/graphql", body, key=t.key)
    assert answer.status == 200, answer.body
    if "errors" in answer.body:
        [error] = answer.body["errors"]
        assert error["message"].startswith("where: ") and answer.body["data"] == {type_name: None}, answer.body
        return Outcome(unwrapped(error["message"].removeprefix("where: "), relation))
    return Outcome(None, frozenset(row[pick] for row in answer.body["data"][type_name]))


# --- invoices ------------------------------------------------------------------------------------------------------

def bulk(api, t, action: str, body: dict):
    if action == "delete":
        return api.delete("/billing/invoices", body, key=t.key)
    return api.post(f"/billing/invoices:{action}", body, key=t.key)


def bulk_with_ids(api, t, action: str, text: str, relation=None) -> Outcome:
    """The filter with an unknown id: read and checked, and nothing it could select is touched."""
    answer = bulk(api, t, action, {"invoiceIds": [UNKNOWN_ID], "graphqlFilter": text})
    if answer.status != 200:
        return Outcome(unwrapped(refused(answer, "graphqlFilter").issue, relation))
    assert [(r["invoiceId"], r["message"]) for r in answer.body["results"]] == [(UNKNOWN_ID, "invoice not found")]
    return Outcome(None)


def bulk_delete(api, t, text: str, relation=None) -> Outcome:
    answer = bulk(api, t, "delete", {"graphqlFilter": text})
    if answer.status != 200:
        return Outcome(unwrapped(refused(answer, "graphqlFilter").issue, relation))
    assert answer.body["succeeded"] == 0, answer.body  # nothing is Canceled: nothing is deleted
    return Outcome(None, frozenset(r["invoiceId"] for r in answer.body["results"]))


def invoice_job(api, t, monkeypatch, text: str, relation=None) -> Outcome:
    """The same delete when any match is too many for a request: the tick's invoice job reads the filter again."""
    with monkeypatch.context() as patched:
        patched.setattr(invoice_service, "MAX_BULK", 0)
        answer = bulk(api, t, "delete", {"graphqlFilter": text})
    if answer.status == 400:
        return Outcome(unwrapped(refused(answer, "graphqlFilter").issue, relation))
    if answer.status == 200:  # nothing matched: nothing to hand to a job
        assert answer.body["results"] == [], answer.body
        return Outcome(None, frozenset())
    assert answer.status == 202, answer.body
    event = api.client.events.generate_cw_event(source="aws.events", detail_type="Scheduled Event", detail={},
                                                resources=["arn:aws:events:us-east-1:123456789012:rule/tick"])
    assert api.client.lambda_.invoke("tick", event).payload["ran"]["invoiceJobs"] == 1
    job = api.get(f"/billing/invoice-jobs/{answer.body['id']}", key=t.key).body
    assert job["status"] == "CompletedWithErrors" and job["error"] is None, job
    results = api.get(f"/billing/invoice-jobs/{job['id']}/results?limit=100", key=t.key).body["data"]
    return Outcome(None, frozenset(r["invoiceId"] for r in results))


def invoice_outcomes(api, t, monkeypatch, text: str, relation=None) -> dict[str, Outcome]:
    return {**{f"{action} graphqlFilter (with invoiceIds)": bulk_with_ids(api, t, action, text, relation)
               for action in ("activate", "cancel", "delete")},
            "delete graphqlFilter": bulk_delete(api, t, text, relation),
            "invoice job graphqlFilter": invoice_job(api, t, monkeypatch, text, relation),
            "GraphQL invoice where": graphql(api, t, "invoice", text, relation=relation),
            "GraphQL invoice where (variable)": graphql(api, t, "invoice", text, relation=relation,
                                                        as_variable=True)}


def assert_alike(outcomes: dict[str, Outcome], expected, text: str) -> None:
    """One verdict everywhere (the same issue, word for word), and one selection wherever one is reported;
    `expected` is the selection, or the path the issue must name."""
    issues = {name: o.issue for name, o in outcomes.items()}
    assert len(set(issues.values())) == 1, (text, issues)
    selections = {name: o.selected for name, o in outcomes.items() if o.selected is not None}
    assert len(set(selections.values())) <= 1, (text, selections)
    [issue] = set(issues.values())
    if isinstance(expected, str):
        assert issue is not None and issue.startswith(expected + ": "), (text, issue)
    else:
        assert issue is None, (text, issue)
        assert set(selections.values()) == {frozenset(expected)}, (text, selections)


def test_an_invoice_filter_reads_alike_in_bulk_operations_invoice_jobs_and_graphql(api, shop, monkeypatch):
    t, ann, bob = shop["t"], shop["invoices"]["ann"], shop["invoices"]["bob"]
    both = {ann, bob}
    cases = [
        ('{currency: {_eq: "USD"}}', both),  # issue 14: GraphQL took it, the bulk operations refused it
        ('{currencyIsoCode: {_eq: "USD"}}', both),
        ('{salesAccountId: {_eq: "%s"}}' % shop["customers"]["ann"], {ann}),
        ('{createdDate: {_lt: "2100-01-01T00:00:00Z"}}', both),
        ('{activatedTime: {_is_null: false}}', {ann}),
        ('{cancellationDate: {_is_null: true}}', both),
        ('{status: {_eq: "draft"}}', {bob}),
        ('{_and: [{currency: {_eq: "USD"}}, {customer: {name: {_eq: "ann"}}}]}', {ann}),
        ('{customer: {createdDate: {_gt: "2000-01-01T00:00:00Z"}}}', both),
        ('{amount: {_gt: 100}}', set()),
        ("{}", both),
        ("{planet: {_eq: 1}}", "planet"),
        ("{lines: {_eq: 1}}", "lines"),  # on the invoice, but not a value a filter can compare
        ('{status: {_eq: "Sideways"}}', "status._eq"),
        ("{currency: {_gt: 1}}", "currency._gt"),
        ('{_or: [{status: {_eq: "Draft"}}, {customer: {planet: {_eq: 1}}}]}', "_or[1].customer.planet"),
    ]
    for text, expected in cases:
        assert_alike(invoice_outcomes(api, t, monkeypatch, text), expected, text)
    assert {i["id"] for i in api.get("/billing/invoices", key=t.key).body["data"]} == both  # nothing was deleted


# --- customers, products, orders -------------------------------------------------------------------------------------

def scope(api, t, field: str, text: str) -> dict[str, Outcome]:
    """A billing schedule's scope and a preview's: the preview selects the customers it does not filter out."""
    key = {"customerFilter": "customer", "productFilter": "product", "orderFilter": "order"}[field]
    created = api.post("/billing/schedules", {"scheduleType": "OnDemand", field: text}, key=t.key)
    previewed = api.post("/billing/jobs:preview", {field: text, "targetDate": "2025-01-01"}, key=t.key)
    outcomes = {f"schedule {field}": refused(created, field) if created.status != 201 else Outcome(None)}
    if previewed.status != 200:
        return {**outcomes, f"preview {field}": refused(previewed, field)}
    kept = frozenset(d["customerId"] for d in previewed.body["decisions"] if d["reason"] != "filtered out")
    return {**outcomes, f"preview {field} ({key})": Outcome(None, kept)}


def subscription_customers(api, t, relation: str, text: str) -> Outcome:
    """GraphQL subscriptions through a relation, as the customers they belong to (what a scope selects)."""
    return graphql(api, t, "subscription", "{%s: %s}" % (relation, text), pick="customerId", relation=relation)


def test_a_customer_filter_reads_alike_in_schedule_scopes_previews_and_graphql(api, shop, monkeypatch):
    t, people, invoices = shop["t"], shop["customers"], shop["invoices"]
    both = {people["ann"], people["bob"]}
    cases = [
        ('{currency: {_eq: "USD"}}', both),
        ('{createdDate: {_gt: "2000-01-01T00:00:00Z"}}', both),  # GraphQL took it, schedule scopes refused it
        ("{billToContactId: {_is_null: true}}", both),
        ('{name: {_eq: "ann"}}', {people["ann"]}),
        ("{billCycleDay: {_eq: 1}, taxRate: {_lte: 0}}", both),
        ("{planet: {_eq: 1}}", "planet"),
        ('{taxRate: {_gt: "x"}}', "taxRate._gt"),
    ]
    invoice_of = {invoices[n]: c for n, c in people.items()}
    for text, expected in cases:
        outcomes = {**scope(api, t, "customerFilter", text),
                    "GraphQL customer where": graphql(api, t, "customer", text),
                    "GraphQL subscription where (customer)": subscription_customers(api, t, "customer", text)}
        for name, o in invoice_outcomes(api, t, monkeypatch, "{customer: %s}" % text, "customer").items():
            # an invoice selection, read as its customers (each has one invoice)
            selected = None if o.selected is None else frozenset(invoice_of[i] for i in o.selected)
            outcomes[f"{name} (customer)"] = Outcome(o.issue, selected)
        assert_alike(outcomes, expected, text)


def products_as_customers(api, t, text: str, product_id: str, customers) -> Outcome:
    """GraphQL products, read as the customers subscribed to them (every customer has the one product)."""
    o = graphql(api, t, "product", text)
    return Outcome(o.issue, None if o.selected is None else frozenset(customers if product_id in o.selected else ()))


def test_product_and_order_filters_read_alike_in_schedule_scopes_previews_and_graphql(api, shop):
    t, people = shop["t"], shop["customers"]
    both = {people["ann"], people["bob"]}
    products = [
        ('{productType: {_eq: "Recurring"}}', both),
        ('{billingPeriod: {_eq: "Week"}}', set()),
        ('{name: {_ilike: "pro%"}}', both),
        ("{planet: {_eq: 1}}", "planet"),
        ('{billingPeriod: {_gt: "Day"}}', "billingPeriod"),  # enum order means nothing: no ranges
    ]
    products.append(('{id: {_eq: "%s"}}' % shop["product"], both))  # served by the by-product index
    for text, expected in products:
        outcomes = {**scope(api, t, "productFilter", text),
                    "GraphQL subscription where (product)": subscription_customers(api, t, "product", text),
                    "GraphQL product where": products_as_customers(api, t, text, shop["product"], both)}
        assert_alike(outcomes, expected, text)
    orders = [
        ('{status: {_eq: "Activated"}}', both),
        ('{currency: {_neq: "USD"}}', set()),
        ("{planet: {_eq: 1}}", "planet"),
    ]
    for text, expected in orders + order_relation_cases(shop):
        assert_alike(order_outcomes(api, t, text), expected, text)


def order_outcomes(api, t, text: str) -> dict[str, Outcome]:
    """An order filter in a schedule's scope, a preview, GraphQL `order(where:)` and the `order` relation of
    GraphQL subscriptions, each read as the customers it selects (each customer has one order)."""
    return {**scope(api, t, "orderFilter", text),
            "GraphQL order where": graphql(api, t, "order", text, pick="customerId"),
            "GraphQL subscription where (order)": subscription_customers(api, t, "order", text)}


def order_relation_cases(shop) -> list:
    """The order's `customer` relation and the ids an index serves (order id, customerId, customer.id)."""
    people, orders = shop["customers"], shop["orders"]
    return [
        ('{customer: {name: {_eq: "ann"}}}', {people["ann"]}),
        ('{customer: {id: {_eq: "%s"}}}' % people["bob"], {people["bob"]}),
        ('{customerId: {_in: ["%s", "%s"]}}' % (people["ann"], people["bob"]), set(people.values())),
        ('{id: {_eq: "%s"}}' % orders["bob"], {people["bob"]}),
        ('{id: {_eq: "%s"}, customer: {name: {_eq: "ann"}}}' % orders["bob"], set()),
        ('{_or: [{customer: {name: {_eq: "bob"}}}, {status: {_eq: "Draft"}}]}', {people["bob"]}),
        ('{_not: {customer: {taxRate: {_gt: 0}}}}', set(people.values())),
        ("{customer: {planet: {_eq: 1}}}", "customer.planet"),
        ('{_and: [{status: {_eq: "Activated"}}, {customer: {billCycleDay: {_gt: "x"}}}]}',
         "_and[1].customer.billCycleDay._gt"),
    ]


def test_a_relation_through_a_relation_reads_alike(api, shop):
    """A subscription's order's customer (GraphQL), read as the customers it selects, agrees with the same
    customer filter given directly as an order filter's relation (scope, preview, GraphQL order)."""
    t, people = shop["t"], shop["customers"]
    for text, expected in (('{name: {_eq: "ann"}}', {people["ann"]}), ("{planet: {_eq: 1}}", "planet"),
                           ('{id: {_eq: "%s"}}' % people["bob"], {people["bob"]})):
        outcomes = {f"{name} (customer)": Outcome(unwrapped(o.issue, "customer"), o.selected)
                    for name, o in order_outcomes(api, t, "{customer: %s}" % text).items()}
        nested = graphql(api, t, "subscription", "{order: {customer: %s}}" % text, pick="customerId",
                         relation="order")
        outcomes["GraphQL subscription where (order.customer)"] = Outcome(unwrapped(nested.issue, "customer"),
                                                                         nested.selected)
        assert_alike(outcomes, expected, text)
