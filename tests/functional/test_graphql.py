"""GraphQL (seed 001): `POST /orders/async/graphql` and `/graphql` through the HTTP API, on invoices that real
billing jobs wrote. Every answer, the GraphQL spec's 400 (`{"errors": [...]}`) included, is checked against the
OpenAPI document."""
from decimal import Decimal

import pytest

from tests.functional.test_billing_api import clock_tenant, new_schedule, run, subscribe
from tests.support import ReadMeter


SEED_FIELDS = ("amount amountWithoutTax balance createdDate customerId dueDate endDate invoiceDate name invoicePdf "
               "paymentStatus startDate status taxAmount")


def seed_query(customer_id: str) -> str:
    return ('query { invoice(where: {_and: [{customer: {id: {_eq: "%s"}}}, {status: {_eq: "active"}}]}) '
            '{ %s } }' % (customer_id, SEED_FIELDS))


def gql(api, t, query, variables=None, path="/orders/async/graphql", **kw):
    body = {"query": query}
    if variables is not None:
        body["variables"] = variables
    return api.post(path, body, key=t.key, **kw)


@pytest.fixture
def billed(api):
    """A test-mode tenant: xavier with Draft invoices, yvonne and zoe with Active ones (activateInvoices)."""
    t = clock_tenant(api, "2025-01-01T00:00:00Z")
    product = api.product(t)
    people = {name: api.customer(t, name=name, billCycleDay=1) for name in ("xavier", "yvonne", "zoe")}
    orders = {name: subscribe(api, t, customer, product, startDate="2025-01-01")["order"]
              for name, customer in people.items()}
    drafts = new_schedule(api, t, customerFilter='{name: {_eq: "xavier"}}')
    actives = new_schedule(api, t, customerFilter='{name: {_in: ["yvonne", "zoe"]}}', activateInvoices=True)
    run(api, t, drafts["id"], targetDate="2025-01-01", invoiceDate="2025-01-05")
    run(api, t, actives["id"], targetDate="2025-01-01", invoiceDate="2025-01-10")
    run(api, t, drafts["id"], targetDate="2025-02-01", invoiceDate="2025-02-05")
    run(api, t, actives["id"], targetDate="2025-02-01", invoiceDate="2025-02-10")
    invoices = []
    token = None
    while True:
        answer = api.get("/billing/invoices" + (f"?nextToken={token}" if token else ""), key=t.key)
        invoices += answer.body["data"]
        token = answer.body["nextToken"]
        if token is None:
            break
    return {"t": t, "people": {k: v["id"] for k, v in people.items()}, "invoices": invoices,
            "schedules": [drafts, actives], "orders": orders, "product": product}


def test_seed_query_answers_exactly_its_fields_for_the_customers_active_invoices(api, billed):
    t, yvonne = billed["t"], billed["people"]["yvonne"]
    expected = sorted((i for i in billed["invoices"] if i["customerId"] == yvonne and i["status"] == "Active"),
                      key=lambda i: i["invoiceDate"])
    assert len(expected) == 2
    for path in ("/orders/async/graphql", "/graphql"):
        answer = gql(api, t, seed_query(yvonne), path=path)
        assert answer.status == 200, answer.body
        assert "errors" not in answer.body
        rows = answer.body["data"]["invoice"]
        assert [set(r) for r in rows] == [set(SEED_FIELDS.split())] * 2
        assert [r["invoiceDate"] for r in rows] == [i["invoiceDate"] for i in expected]
        for row, invoice in zip(rows, expected):
            assert row == {k: invoice[k] for k in SEED_FIELDS.split()}
            assert isinstance(row["amount"], Decimal) and row["amount"] > 0  # a JSON number, exact
            assert row["status"] == "Active" and row["customerId"] == yvonne
    # xavier's invoices are Draft: the same query finds none
    answer = gql(api, t, seed_query(billed["people"]["xavier"]))
    assert answer.body == {"data": {"invoice": []}}


def test_every_invoice_field_and_lines_are_queryable(api, billed):
    t = billed["t"]
    from chalicelib.api import schemas as s
    fields = [f.alias or name for name, f in s.Invoice.model_fields.items() if name != "lines"]
    query = "{ invoice(limit: 1, orderBy: {invoiceDate: asc}) { %s lines { id description quantity unitPrice " \
            "amount startDate endDate } } }" % " ".join(fields)
    answer = gql(api, t, query)
    assert answer.status == 200, answer.body
    [row] = answer.body["data"]["invoice"]
    first = min(billed["invoices"], key=lambda i: (i["invoiceDate"], i["id"]))
    assert row["lines"] == [{k: line[k] for k in row["lines"][0]} for line in first["lines"]]
    assert {k: v for k, v in row.items() if k != "lines"} == {k: first[k] for k in fields}


def test_tenant_isolation_even_with_match_all(api, billed, other):
    for where in ("", "(where: {})", '(where: {customerId: {_eq: "%s"}})' % billed["people"]["yvonne"]):
        for field in ("invoice", "customer", "subscription", "billingSchedule", "billingJob", "creditMemo", "order",
                      "product"):
            answer = gql(api, other, "{ %s%s { id } }" % (field, where if field == "invoice" or not where
                                                             or "{}" in where else ""))
            assert answer.status == 200, answer.body
            assert answer.body["data"][field] == [], (field, answer.body)


def test_every_query_type_returns_data(api, billed):
    t, people = billed["t"], billed["people"]
    query = """{
      invoice { id name customerId }
      creditMemo { id }
      billingSchedule(orderBy: {name: asc}) { id name status activateInvoices customerFilter }
      billingJob { id status scheduleId counts { invoices } }
      customer(orderBy: {name: asc}) { id name billCycleDay taxRate }
      subscription { id customerId quantity unitPrice status }
    }"""
    answer = gql(api, t, query)
    assert answer.status == 200, answer.body
    data = answer.body["data"]
    assert len(data["invoice"]) == 6
    assert data["creditMemo"] == []
    assert {x["id"] for x in data["billingSchedule"]} == {x["id"] for x in billed["schedules"]}
    assert len(data["billingJob"]) == 4 and all(j["status"] == "Completed" for j in data["billingJob"])
    assert [c["name"] for c in data["customer"]] == ["xavier", "yvonne", "zoe"]
    assert {s["customerId"] for s in data["subscription"]} == set(people.values())
    assert all(s["quantity"] == 2 and isinstance(s["unitPrice"], Decimal) for s in data["subscription"])
    # filters on the other types
    answer = gql(api, t, '{ customer(where: {name: {_like: "%%o%%"}}) { name } '
                         'billingJob(where: {scheduleId: {_eq: "%s"}}) { scheduleId } '
                         'subscription(where: {customer: {name: {_eq: "zoe"}}}) { customerId } '
                         'billingSchedule(where: {activateInvoices: {_eq: true}}) { id } }'
                 % billed["schedules"][0]["id"])
    assert answer.status == 200, answer.body
    data = answer.body["data"]
    assert sorted(c["name"] for c in data["customer"]) == ["yvonne", "zoe"]
    assert [j["scheduleId"] for j in data["billingJob"]] == [billed["schedules"][0]["id"]] * 2
    assert [s["customerId"] for s in data["subscription"]] == [people["zoe"]]
    assert [s["id"] for s in data["billingSchedule"]] == [billed["schedules"][1]["id"]]


def test_order_by_limit_and_offset(api, billed):
    t = billed["t"]
    everything = sorted(billed["invoices"], key=lambda i: i["invoiceDate"])
    dates = [i["invoiceDate"] for i in everything]

    def invoice_dates(args):
        answer = gql(api, t, "{ invoice%s { invoiceDate } }" % args)
        assert answer.status == 200, answer.body
        return [r["invoiceDate"] for r in answer.body["data"]["invoice"]]

    assert invoice_dates("") == dates
    assert invoice_dates("(orderBy: {invoiceDate: desc})") == dates[::-1]
    assert invoice_dates("(orderBy: [{invoiceDate: desc}])") == dates[::-1]
    assert invoice_dates("(orderBy: {invoiceDate: desc}, limit: 2)") == dates[::-1][:2]
    assert invoice_dates("(orderBy: {invoiceDate: desc}, limit: 2, offset: 3)") == dates[::-1][3:5]
    assert invoice_dates("(limit: 2, offset: 1)") == dates[1:3]
    assert invoice_dates("(offset: 10)") == []
    assert invoice_dates("(limit: 0)") == []
    # a field that is not the index's order: sorted in memory, ties broken by the next key
    answer = gql(api, t, "{ invoice(orderBy: [{status: asc}, {invoiceDate: desc}]) { status invoiceDate } }")
    rows = [(r["status"], r["invoiceDate"]) for r in answer.body["data"]["invoice"]]
    assert rows == sorted(sorted(rows, key=lambda r: r[1], reverse=True), key=lambda r: r[0])
    assert [r[0] for r in rows] == ["Active"] * 4 + ["Draft"] * 2
    # limits are checked: an execution error for that field
    answer = gql(api, t, "{ invoice(limit: 1001) { id } }")
    assert answer.status == 200 and answer.body["data"] == {"invoice": None}
    assert "limit" in answer.body["errors"][0]["message"] and answer.body["errors"][0]["path"] == ["invoice"]
    answer = gql(api, t, "{ invoice(orderBy: {invoiceDate: desc, name: asc}) { id } }")
    assert answer.body["data"] == {"invoice": None} and "orderBy" in answer.body["errors"][0]["message"]


def test_relation_filter_status_case_insensitive_and_variables(api, billed):
    t, people = billed["t"], billed["people"]

    def ids(where, variables=None, declare=""):
        answer = gql(api, t, "query%s { invoice(where: %s) { id customerId status } }" % (declare, where),
                     variables)
        assert answer.status == 200, answer.body
        assert "errors" not in answer.body, answer.body
        return answer.body["data"]["invoice"]

    by_relation = ids('{customer: {id: {_eq: "%s"}}}' % people["zoe"])
    assert len(by_relation) == 2 and {r["customerId"] for r in by_relation} == {people["zoe"]}
    assert ids('{customer: {name: {_eq: "xavier"}}}') == ids('{customerId: {_eq: "%s"}}' % people["xavier"])
    for spelled in ("active", "ACTIVE", "Active"):
        rows = ids('{status: {_eq: "%s"}}' % spelled)
        assert len(rows) == 4 and {r["status"] for r in rows} == {"Active"}
    assert len(ids('{status: {_eq: "draft"}}')) == 2
    assert len(ids('{status: {_in: ["draft", "active"]}}')) == 6
    assert len(ids('{_or: [{status: {_eq: "draft"}}, {customer: {name: {_eq: "zoe"}}}]}')) == 4
    assert len(ids('{invoiceDate: {_gte: "2025-02-01"}, amount: {_gt: 0}}')) == 3
    # a variable holding the filter object (JSON) or its text
    seed = {"_and": [{"customer": {"id": {"_eq": people["yvonne"]}}}, {"status": {"_eq": "active"}}]}
    assert len(ids("$w", {"w": seed}, "($w: Filter)")) == 2
    assert len(ids("$w", {"w": '{status: {_eq: "draft"}}'}, "($w: Filter)")) == 2


def test_syntax_and_validation_errors_are_400_with_graphql_errors(api, billed):
    t = billed["t"]
    for query, words in (("{ invoice { id }", "Syntax Error"),
                         ("{ invoice { id nonsense } }", "nonsense"),
                         ("{ ledger { id } }", "ledger"),
                         ("{ invoice(limit: \"x\") { id } }", "Int"),
                         ("query($w: Filter!) { invoice(where: $w) { id } }", "$w"),
                         ('{ invoice(where: {name: {_eq: "\\', "unterminated string")):  # graphql-core's IndexError
        answer = gql(api, t, query)
        assert answer.status == 400, (query, answer.body)
        assert set(answer.body) == {"errors"}, answer.body
        [first, *_] = answer.body["errors"]
        assert words in first["message"], (query, first)
        assert first.get("locations") or words in ("$w", "unterminated string")
    # a body that is not a GraphQL request at all: the REST envelope, naming the field
    answer = api.post("/orders/async/graphql", {"query": "{ invoice { id } }", "bogus": 1}, key=t.key)
    assert answer.status == 400 and answer.error_fields == ["bogus"]
    # no key: 401
    assert api.post("/graphql", {"query": "{ invoice { id } }"}).status == 401


def test_bad_where_is_an_execution_error_naming_the_filter_path(api, billed):
    t = billed["t"]
    cases = (('{_and: [{customer: {idd: {_eq: "x"}}}]}', "where: _and[0].customer.idd"),
             ('{status: {_eq: "Lost"}}', "where: status._eq"),
             ('{amount: {_gt: "ten"}}', "where: amount._gt"),
             ('{status: {_foo: 1}}', "where: status"),
             ('{}', None))
    for where, message in cases:
        answer = gql(api, t, "{ invoice(where: %s) { id } customer { id } }" % where)
        assert answer.status == 200, answer.body
        if message is None:
            assert "errors" not in answer.body and len(answer.body["data"]["invoice"]) == 6
            continue
        assert answer.body["data"]["invoice"] is None, answer.body
        assert len(answer.body["data"]["customer"]) == 3  # other fields still answer
        [error] = answer.body["errors"]
        assert error["message"].startswith(message), error
        assert error["path"] == ["invoice"] and error["locations"]


def test_customer_equality_reads_only_that_customers_invoices(api, billed, monkeypatch):
    t, people = billed["t"], billed["people"]
    meter = ReadMeter(monkeypatch)
    for where in ('{customer: {id: {_eq: "%s"}}}' % people["zoe"], '{customerId: {_eq: "%s"}}' % people["zoe"]):
        with meter.measuring() as reads:
            answer = gql(api, t, "{ invoice(where: %s) { id } }" % where)
        assert len(answer.body["data"]["invoice"]) == 2
        assert reads.scans == [] and reads.calls["Query"] == 1 and reads.calls["BatchGetItem"] == 1, reads
        # GetItems are the key, the tenant and the related customer; the one Query read the index entries of
        # zoe's 2 of 6 invoices, the one BatchGetItem those 2 invoices
        assert reads.items - reads.calls["GetItem"] == 2 + 2, reads
    with meter.measuring() as reads:
        answer = gql(api, t, seed_query(people["zoe"]))
    assert len(answer.body["data"]["invoice"]) == 2
    assert reads.calls["Query"] == 1 and reads.calls["BatchGetItem"] == 1, reads
    assert reads.items - reads.calls["GetItem"] == 2 + 2, reads
    # status equality goes through the by-status index: only the 2 Draft invoices are read
    with meter.measuring() as draft_reads:
        gql(api, t, '{ invoice(where: {status: {_eq: "draft"}}) { id } }')
    with meter.measuring() as all_reads:
        gql(api, t, '{ invoice(where: {amount: {_gt: 0}}) { id } }')
    assert draft_reads.items < all_reads.items


def test_reading_is_bounded_and_reported_as_an_error(api, billed, monkeypatch):
    from chalicelib.api import graphql_queries
    monkeypatch.setattr(graphql_queries, "MAX_READ", 3)
    answer = gql(api, billed["t"], '{ invoice(where: {amount: {_gt: 0}}) { id } customer(limit: 1) { id } }')
    assert answer.status == 200, answer.body
    assert answer.body["data"] == {"invoice": None, "customer": [{"id": answer.body["data"]["customer"][0]["id"]}]}
    [error] = answer.body["errors"]
    assert "more than 3 invoices" in error["message"] and error["path"] == ["invoice"]
    # an indexed filter stays under the bound
    answer = gql(api, billed["t"], '{ invoice(where: {customerId: {_eq: "%s"}}) { id } }' % billed["people"]["zoe"])
    assert "errors" not in answer.body and len(answer.body["data"]["invoice"]) == 2


def test_order_and_product_queries_answer_the_rest_shapes_with_where_order_by_and_windows(api, billed):
    t, people, orders = billed["t"], billed["people"], billed["orders"]
    extra = api.product(t, name="Zeta", sku="Z-1")
    draft = api.order(t, people["zoe"], extra["id"])  # zoe's second order, still Draft
    answer = gql(api, t, "{ order(orderBy: {id: asc}) { id customerId status totalAmount lines { productId } } "
                         "product(orderBy: {name: desc}) { id name sku productType } }")
    assert answer.status == 200 and "errors" not in answer.body, answer.body
    listed = answer.body["data"]["order"]
    assert [o["id"] for o in listed] == sorted([*orders.values(), draft["id"]])
    rest = {o["id"]: o for o in api.get("/orders?limit=1000", key=t.key).body["data"]}
    for o in listed:  # the REST shape: the same values, lines as asked for
        same = rest[o["id"]]
        assert {k: same[k] for k in o if k != "lines"} == {k: v for k, v in o.items() if k != "lines"}
        assert o["lines"] == [{"productId": line["productId"]} for line in same["lines"]]
    assert [p["name"] for p in answer.body["data"]["product"]] == ["Zeta", billed["product"]["name"]]
    assert answer.body["data"]["product"][0] == {"id": extra["id"], "name": "Zeta", "sku": "Z-1",
                                                 "productType": "Recurring"}

    def order_ids(args):
        found = gql(api, t, "{ order%s { id } }" % args)
        assert found.status == 200 and "errors" not in found.body, (args, found.body)
        return [o["id"] for o in found.body["data"]["order"]]
    everything = sorted([*orders.values(), draft["id"]])
    assert order_ids("(limit: 2, offset: 1)") == everything[1:3]
    assert order_ids("(orderBy: {id: desc}, limit: 1)") == everything[-1:]
    assert order_ids('(where: {customer: {name: {_eq: "zoe"}}}, orderBy: {status: asc})') == [
        orders["zoe"], draft["id"]]  # Activated before Draft
    assert order_ids('(where: {customerId: {_eq: "%s"}, status: {_eq: "draft"}})' % people["zoe"]) == [draft["id"]]
    assert order_ids('(where: {id: {_eq: "%s"}})' % orders["xavier"]) == [orders["xavier"]]
    assert order_ids('(where: {customer: {name: {_eq: "nobody"}}})') == []
    found = gql(api, t, '{ product(where: {sku: {_eq: "Z-1"}}) { id } subscription(where: {order: {id: {_eq: "%s"}}})'
                        ' { customerId orderId } }' % orders["yvonne"])
    assert found.body["data"] == {"product": [{"id": extra["id"]}],
                                  "subscription": [{"customerId": people["yvonne"], "orderId": orders["yvonne"]}]}
    bad = gql(api, t, '{ order(where: {customer: {planet: {_eq: 1}}}) { id } product(where: {price: {_gt: 1}}) '
                      '{ id } }')
    assert bad.status == 200 and bad.body["data"] == {"order": None, "product": None}, bad.body
    assert sorted(e["message"].split(":")[1].strip() for e in bad.body["errors"]) == ["customer.planet", "price"]


def test_named_orders_customers_and_products_are_read_without_the_partition(api, billed, monkeypatch):
    t, people, orders = billed["t"], billed["people"], billed["orders"]
    meter = ReadMeter(monkeypatch)

    def reads_of(query, table):
        with meter.measuring() as reads:
            answer = gql(api, t, query)
        assert answer.status == 200 and "errors" not in answer.body, answer.body
        assert reads.scans == [], reads
        return answer.body["data"], sum(n for name, n in reads.by_table.items() if name.endswith(table))

    data, read = reads_of('{ subscription(where: {order: {id: {_eq: "%s"}}}) { id } }' % orders["zoe"],
                          "-subscriptions")
    assert len(data["subscription"]) == 1 and read == 1  # the order's line names it: one item, of 3
    data, read = reads_of('{ subscription(where: {orderId: {_eq: "%s"}}) { id } }' % orders["zoe"],
                          "-subscriptions")
    assert len(data["subscription"]) == 1 and read == 1
    data, read = reads_of('{ subscription(where: {product: {id: {_eq: "%s"}}}, limit: 1) { id } }'
                          % billed["product"]["id"], "-subscriptions")
    assert len(data["subscription"]) == 1 and read == 3 + 3  # every one has the product: entries, then items
    other = api.product(t, name="Unsold")
    data, read = reads_of('{ subscription(where: {productId: {_eq: "%s"}}) { id } }' % other["id"], "-subscriptions")
    assert data["subscription"] == [] and read == 0
    for where in ('{customer: {id: {_eq: "%s"}}}' % people["zoe"], '{customerId: {_eq: "%s"}}' % people["zoe"]):
        data, read = reads_of("{ order(where: %s) { id } }" % where, "-orders")
        assert [o["id"] for o in data["order"]] == [orders["zoe"]] and read == 2, where  # entry and item, of 3
    data, read = reads_of("{ order { id } }", "-orders")
    assert len(data["order"]) == 3 and read == 3  # unnamed: the partition, so the counts above mean something
