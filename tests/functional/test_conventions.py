"""API conventions (SPEC "Conventions"): the error envelope, Decimal-only money, field validation that names the
field, forgiving enum input, the 1 MiB limit, pagination, Idempotency-Key, and never a 500 for bad input."""
import re
from decimal import Decimal

import simplejson

from tests.support import check_against_openapi

ENVELOPE = {"errorCode", "message", "details"}


def assert_envelope(answer, status: int, code: str | None = None):
    assert answer.status == status, (answer.status, answer.body)
    assert isinstance(answer.body, dict) and set(answer.body) == ENVELOPE, answer.body
    assert isinstance(answer.body["errorCode"], str) and answer.body["errorCode"]
    assert isinstance(answer.body["message"], str) and answer.body["message"]
    assert isinstance(answer.body["details"], list)
    for detail in answer.body["details"]:
        assert set(detail) == {"field", "issue"}, detail
        assert isinstance(detail["field"], str) and isinstance(detail["issue"], str)
    assert answer.headers.get("content-type", "").startswith("application/json")
    if code is not None:
        assert answer.body["errorCode"] == code, answer.body


def assert_invalid(answer, *fields):
    assert_envelope(answer, 400, "ValidationError")
    for name in fields:
        assert name in answer.error_fields, (name, answer.body)


def raw_call(api, method: str, path: str, text: str | bytes | None, key: str):
    """The answer's exact text (to see how numbers are written), still checked against the OpenAPI document."""
    response = getattr(api.client.http, method.lower())(
        path, headers={"x-api-key": key, "content-type": "application/json"}, body=text)
    body = response.body.decode() if isinstance(response.body, bytes) else response.body
    parsed = simplejson.loads(body, use_decimal=True) if body else None
    check_against_openapi(method, path, response.status_code, parsed)
    return response.status_code, body, parsed


def number_in(text: str, name: str) -> str:
    """The literal JSON number written for a field, e.g. '19.99'."""
    found = re.search(rf'"{name}":\s*(-?[0-9.eE+-]+)\s*[,}}]', text)
    assert found, (name, text)
    return found.group(1)


# --- the error envelope -----------------------------------------------------------------------------

def test_error_envelope_on_every_error_status(api, tenant):
    assert_envelope(api.post("/customers", {}, key=tenant.key), 400, "ValidationError")
    assert_envelope(api.get("/customers"), 401, "Unauthorized")
    assert_envelope(api.get("/customers/no-such-id", key=tenant.key), 404, "NotFound")
    sub_order = api.order(tenant, api.customer(tenant)["id"], api.product(tenant)["id"])
    assert api.post(f"/orders/{sub_order['id']}:activate", key=tenant.key).status == 200
    assert_envelope(api.post(f"/orders/{sub_order['id']}:activate", key=tenant.key), 409, "InvalidState")
    big = api.post("/customers", {"name": "x", "email": "y" * (1024 * 1024)}, key=tenant.key)
    assert_envelope(big, 413, "PayloadTooLarge")
    assert big.error_fields == ["body"]


def test_validation_error_names_every_bad_field(api, tenant):
    answer = api.post("/customers", {"billCycleDay": 32, "timezone": "Nowhere/Land", "taxRate": "5"},
                      key=tenant.key)
    assert_invalid(answer, "name", "billCycleDay", "timezone", "taxRate")
    assert len(answer.body["details"]) == 4
    for field in ["name", "billCycleDay", "timezone", "taxRate"]:
        assert field in answer.body["message"]


# --- money and Decimal ------------------------------------------------------------------------------

def test_price_is_answered_exactly_as_sent(api, tenant):
    status, text, body = raw_call(api, "POST", "/products",
                                  '{"name":"p","price":19.99,"billingPeriod":"Month"}', tenant.key)
    assert status == 201, text
    assert number_in(text, "price") == "19.99"
    assert body["price"] == Decimal("19.99")
    # and after a round trip through the store
    status, text, _ = raw_call(api, "GET", f"/products/{body['id']}", None, tenant.key)
    assert status == 200 and number_in(text, "price") == "19.99"

    for literal in ["1234567890.12", "0.10", "999999999999.99", "0.01"]:
        status, text, body = raw_call(api, "POST", "/products",
                                      '{"name":"p","price":%s,"billingPeriod":"Month"}' % literal, tenant.key)
        assert status == 201, text
        assert number_in(text, "price") == literal
        status, text, _ = raw_call(api, "GET", f"/products/{body['id']}", None, tenant.key)
        assert number_in(text, "price") == literal

    # a price is written in the currency's minor units, however it was sent
    for sent, written in [("19.990", "19.99"), ("1e2", "100.00"), ("5", "5.00"), ("0.1", "0.10")]:
        status, text, _ = raw_call(api, "POST", "/products",
                                   '{"name":"p","price":%s,"billingPeriod":"Month"}' % sent, tenant.key)
        assert status == 201, text
        assert number_in(text, "price") == written, sent


def test_line_amounts_are_exact_and_round_half_up(api, tenant):
    customer = api.customer(tenant)
    product = api.product(tenant, price=Decimal("0.10"))
    order = api.post("/orders", {"customerId": customer["id"], "lines": [
        {"productId": product["id"], "quantity": 3},  # 0.30, not 0.30000000000000004
        {"productId": product["id"], "quantity": Decimal("2.5"), "unitPrice": Decimal("0.01")},  # 0.025 -> 0.03
        {"productId": product["id"], "quantity": Decimal("0.333"), "unitPrice": Decimal("1.00")},  # 0.333 -> 0.33
    ]}, key=tenant.key)
    assert order.status == 201, order.body
    assert [line["amount"] for line in order.body["lines"]] == [Decimal("0.30"), Decimal("0.03"), Decimal("0.33")]
    assert order.body["totalAmount"] == Decimal("0.66")
    status, text, _ = raw_call(api, "GET", f"/orders/{order.body['id']}", None, tenant.key)
    assert number_in(text, "totalAmount") == "0.66"


def test_too_many_decimals_for_the_currency_is_400(api, tenant):
    jpy = api.post("/products", {"name": "yen", "price": Decimal("100.5"), "billingPeriod": "Month",
                                 "currency": "JPY"}, key=tenant.key)
    assert_invalid(jpy, "price")
    assert jpy.body["details"] == [{"field": "price", "issue": "at most 0 decimal places for JPY"}]
    ok_jpy = api.post("/products", {"name": "yen", "price": 100, "billingPeriod": "Month", "currency": "jpy"},
                      key=tenant.key)
    assert ok_jpy.status == 201 and ok_jpy.body["price"] == 100 and ok_jpy.body["currency"] == "JPY"

    kwd = api.post("/products", {"name": "dinar", "price": Decimal("1.234"), "billingPeriod": "Month",
                                 "currency": "KWD"}, key=tenant.key)
    assert kwd.status == 201, kwd.body
    assert kwd.body["price"] == Decimal("1.234") and kwd.body["currency"] == "KWD"
    too_fine = api.post("/products", {"name": "dinar", "price": Decimal("1.2345"), "billingPeriod": "Month",
                                      "currency": "KWD"}, key=tenant.key)
    assert_invalid(too_fine, "price")
    usd = api.post("/products", {"name": "usd", "price": Decimal("1.001"), "billingPeriod": "Month"},
                   key=tenant.key)
    assert_invalid(usd, "price")

    names = sorted(p["name"] for p in api.get("/products", key=tenant.key).body["data"])
    assert names == ["dinar", "yen"]


def test_numbers_must_be_json_numbers(api, tenant):
    for literal in ['"19.99"', "true", "null", "[19.99]", '{"v": 19.99}']:
        status, text, body = raw_call(api, "POST", "/products",
                                      '{"name":"p","price":%s,"billingPeriod":"Month"}' % literal, tenant.key)
        assert status == 400, (literal, text)
        assert "price" in [d["field"] for d in body["details"]], literal
    string_price = api.post("/products", {"name": "p", "price": "19.99", "billingPeriod": "Month"}, key=tenant.key)
    assert_invalid(string_price, "price")
    assert string_price.body["details"] == [{"field": "price", "issue": "must be a JSON number"}]
    assert api.get("/products", key=tenant.key).body["data"] == []


def test_nan_infinity_and_invalid_json_are_400_naming_body(api, tenant):
    for text in ['{"name":"p","price":NaN,"billingPeriod":"Month"}',
                 '{"name":"p","price":Infinity,"billingPeriod":"Month"}',
                 '{"name":"p","price":-Infinity,"billingPeriod":"Month"}',
                 '{"name":"p","price":19.99,', '{"name":"p",}', "{'name': 'p'}", "nope", '{"name":"p"} x']:
        status, body_text, body = raw_call(api, "POST", "/products", text, tenant.key)
        assert status == 400, (text, body_text)
        assert body["errorCode"] == "ValidationError"
        assert [d["field"] for d in body["details"]] == ["body"], text
    assert api.get("/products", key=tenant.key).body["data"] == []


def test_out_of_range_numbers_are_400_not_500(api, tenant):
    customer = api.customer(tenant)
    product = api.product(tenant)
    for literal in ["1e30", "123456789012345678901234567890123456789", "1E+126", "1e999999999"]:
        status, text, body = raw_call(api, "POST", "/products",
                                      '{"name":"p","price":%s,"billingPeriod":"Month"}' % literal, tenant.key)
        assert status == 400, (literal, text)
        assert [d["field"] for d in body["details"]] == ["price"]
    for literal in ["1e400", "1e-400", "0.0000000000001"]:
        text = '{"customerId":"%s","lines":[{"productId":"%s","quantity":%s}]}' % (
            customer["id"], product["id"], literal)
        status, answer, body = raw_call(api, "POST", "/orders", text, tenant.key)
        assert status == 400, (literal, answer)
        assert [d["field"] for d in body["details"]] == ["lines[0].quantity"]
    assert api.get("/orders", key=tenant.key).body["data"] == []


# --- unknown and read-only fields -------------------------------------------------------------------

def test_unknown_field_is_400_naming_it(api, tenant):
    answer = api.post("/customers", {"name": "x", "bogus": 1}, key=tenant.key)
    assert_envelope(answer, 400, "ValidationError")
    assert answer.body["details"] == [{"field": "bogus", "issue": "unknown field"}]
    snake = api.post("/customers", {"name": "x", "bill_cycle_day": 1}, key=tenant.key)
    assert snake.body["details"] == [{"field": "bill_cycle_day", "issue": "unknown field"}]
    customer = api.customer(tenant)
    patched = api.patch(f"/customers/{customer['id']}", {"nickname": "x"}, key=tenant.key)
    assert patched.status == 400
    assert patched.body["details"] == [{"field": "nickname", "issue": "unknown field"}]
    assert [c["id"] for c in api.get("/customers", key=tenant.key).body["data"]] == [customer["id"]]


def test_read_only_field_is_400_naming_it(api, tenant):
    for field, value in [("id", "my-own-id"), ("createdDate", "2024-01-01T00:00:00Z"),
                         ("lastModifiedDate", "2024-01-01T00:00:00Z")]:
        answer = api.post("/customers", {"name": "x", field: value}, key=tenant.key)
        assert_envelope(answer, 400, "ValidationError")
        assert answer.body["details"] == [{"field": field, "issue": "read-only field"}]
    assert api.get("/customers", key=tenant.key).body["data"] == []

    customer = api.customer(tenant, currency="USD")
    for field, value in [("currency", "EUR"), ("id", "other"), ("createdDate", "2024-01-01T00:00:00Z")]:
        answer = api.patch(f"/customers/{customer['id']}", {field: value}, key=tenant.key)
        assert_envelope(answer, 400, "ValidationError")
        assert answer.body["details"] == [{"field": field, "issue": "read-only field"}]
    product = api.product(tenant)
    answer = api.patch(f"/products/{product['id']}", {"currency": "EUR"}, key=tenant.key)
    assert answer.body["details"] == [{"field": "currency", "issue": "read-only field"}]
    assert api.get(f"/customers/{customer['id']}", key=tenant.key).body == customer
    assert api.get(f"/products/{product['id']}", key=tenant.key).body == product


def test_nested_unknown_field_is_named_with_its_path(api, tenant):
    customer = api.customer(tenant)
    product = api.product(tenant)
    answer = api.post("/orders", {"customerId": customer["id"], "lines": [{"productId": product["id"], "bogus": 1}]},
                      key=tenant.key)
    assert_envelope(answer, 400, "ValidationError")
    assert answer.body["details"] == [{"field": "lines[0].bogus", "issue": "unknown field"}]
    second = api.post("/orders", {"customerId": customer["id"], "lines": [
        {"productId": product["id"]}, {"productId": product["id"], "quantity": "2", "amount": 5}]}, key=tenant.key)
    assert_invalid(second, "lines[1].quantity", "lines[1].amount")
    assert api.get("/orders", key=tenant.key).body["data"] == []


# --- enums ------------------------------------------------------------------------------------------

def test_enum_input_ignores_case_spaces_and_underscores(api, tenant):
    for spelling in ["semi annual", "SEMI_ANNUAL", "semiannual", "SemiAnnual", " Semi_Annual "]:
        answer = api.post("/products", {"name": "p", "price": 1, "billingPeriod": spelling}, key=tenant.key)
        assert answer.status == 201, (spelling, answer.body)
        assert answer.body["billingPeriod"] == "SemiAnnual"
    one_time = api.post("/products", {"name": "setup", "price": 5, "productType": "one time"}, key=tenant.key)
    assert one_time.status == 201 and one_time.body["productType"] == "OneTime"
    assert one_time.body["billingPeriod"] is None

    customer = api.customer(tenant)
    product = api.product(tenant)
    order = api.post("/orders", {"customerId": customer["id"], "lines": [
        {"productId": product["id"], "billingTiming": "in arrears", "billingPeriod": "QUARTER"}]}, key=tenant.key)
    assert order.status == 201, order.body
    assert order.body["lines"][0]["billingTiming"] == "InArrears"
    assert order.body["lines"][0]["billingPeriod"] == "Quarter"
    patched = api.patch(f"/products/{product['id']}", {"billingPeriod": "annual"}, key=tenant.key)
    assert patched.status == 200 and patched.body["billingPeriod"] == "Annual"

    # query parameters too
    listed = api.get("/orders?status=draft", key=tenant.key)
    assert listed.status == 200 and [o["id"] for o in listed.body["data"]] == [order.body["id"]]
    assert api.get("/orders?status=ACTIVATED", key=tenant.key).body["data"] == []


def test_unknown_enum_value_is_400_naming_the_field(api, tenant):
    bad = api.post("/products", {"name": "p", "price": 1, "billingPeriod": "Fortnight"}, key=tenant.key)
    assert_invalid(bad, "billingPeriod")
    assert "SemiAnnual" in bad.body["details"][0]["issue"]  # the allowed values are listed
    assert_invalid(api.post("/products", {"name": "p", "price": 1, "billingPeriod": 3}, key=tenant.key),
                   "billingPeriod")
    customer = api.customer(tenant)
    product = api.product(tenant)
    line = api.post("/orders", {"customerId": customer["id"], "lines": [
        {"productId": product["id"], "billingTiming": "sometimes"}]}, key=tenant.key)
    assert_invalid(line, "lines[0].billingTiming")
    assert_invalid(api.get("/orders?status=bogus", key=tenant.key), "status")
    assert_invalid(api.get("/subscriptions?status=paused", key=tenant.key), "status")
    assert [p["id"] for p in api.get("/products", key=tenant.key).body["data"]] == [product["id"]]


# --- 413 --------------------------------------------------------------------------------------------

def test_body_over_one_mib_is_413_and_creates_nothing(api, tenant):
    big = api.post("/products", {"name": "p", "price": 1, "billingPeriod": "Month", "description": "x" * 1_100_000},
                   key=tenant.key)
    assert_envelope(big, 413, "PayloadTooLarge")
    assert big.body["details"] == [{"field": "body", "issue": "over 1 MiB"}]
    assert api.get("/products", key=tenant.key).body["data"] == []

    # the limit is exactly 1 MiB: a body of 1 MiB is read (and validated), one byte more is refused
    prefix = '{"name":"edge","price":1,"billingPeriod":"Month"'
    exact = prefix + " " * (1024 * 1024 - len(prefix) - 1) + "}"
    assert len(exact.encode()) == 1024 * 1024
    status, text, body = raw_call(api, "POST", "/products", exact, tenant.key)
    assert status == 201, text[:300]
    status, text, body = raw_call(api, "POST", "/products", exact[:-1] + " }", tenant.key)
    assert status == 413
    assert body["errorCode"] == "PayloadTooLarge"
    assert [p["name"] for p in api.get("/products", key=tenant.key).body["data"]] == ["edge"]

    # an oversized body with an Idempotency-Key does not claim the key
    key = {"Idempotency-Key": "big-1", "x-api-key": tenant.key}
    assert api.post("/customers", {"name": "c", "email": "e" * 1_100_000}, headers=key).status == 413
    ok = api.post("/customers", {"name": "c"}, headers=key)
    assert ok.status == 201 and "idempotent-replayed" not in ok.headers


def test_long_free_text_under_the_body_limit_is_400_not_a_storage_error(api, tenant):
    """Under 1 MiB but over DynamoDB's 400 KB item: refused by validation, naming the field."""
    answer = api.post("/products", {"name": "p", "price": 1, "billingPeriod": "Month", "description": "x" * 500_000},
                      key=tenant.key)
    assert_invalid(answer, "description")
    answer = api.post("/customers", {"name": "c", "email": "x" * 500_000}, key=tenant.key)
    assert_invalid(answer, "email")
    assert api.get("/products", key=tenant.key).body["data"] == []
    assert api.get("/customers", key=tenant.key).body["data"] == []
    # and an over-long key is refused too, without claiming anything
    answer = api.post("/customers", {"name": "x"}, headers={"x-api-key": tenant.key, "Idempotency-Key": "k" * 256})
    assert_invalid(answer, "Idempotency-Key")
    assert api.get("/customers", key=tenant.key).body["data"] == []


# --- pagination -------------------------------------------------------------------------------------

def test_pages_of_two_visit_every_customer_exactly_once(api, tenant):
    created = {api.customer(tenant, name=f"c{i}")["id"] for i in range(5)}
    seen, token, pages = [], None, []
    while True:
        path = "/customers?limit=2" + (f"&nextToken={token}" if token else "")
        page = api.get(path, key=tenant.key)
        assert page.status == 200, page.body
        assert len(page.body["data"]) <= 2
        pages.append(len(page.body["data"]))
        seen += [c["id"] for c in page.body["data"]]
        token = page.body["nextToken"]
        if token is None:
            break
        assert len(pages) < 10
    assert pages == [2, 2, 1]
    assert len(seen) == 5 and set(seen) == created

    everything = api.get("/customers", key=tenant.key)
    assert everything.body["nextToken"] is None
    assert {c["id"] for c in everything.body["data"]} == created
    assert api.get("/customers?limit=1000", key=tenant.key).body["nextToken"] is None


def test_limit_must_be_between_1_and_1000_and_unknown_parameters_are_refused(api, tenant):
    for limit in ["0", "1001", "-1", "abc", "1.5", ""]:
        answer = api.get(f"/customers?limit={limit}", key=tenant.key)
        assert_invalid(answer, "limit")
        assert answer.error_fields == ["limit"], limit
    for path in ["/products?limit=0", "/orders?limit=1001", "/subscriptions?limit=0"]:
        assert_invalid(api.get(path, key=tenant.key), "limit")
    assert api.get("/customers?limit=1", key=tenant.key).status == 200
    assert api.get("/customers?limit=1000", key=tenant.key).status == 200

    # an unknown query parameter is named too
    for path, name in [("/customers?bogus=1", "bogus"), ("/customers?next_token=x", "next_token"),
                       ("/products?customerId=x", "customerId"), ("/orders?orderId=x", "orderId"),
                       ("/subscriptions?productId=x", "productId"), ("/settings?x=1", "x"),
                       ("/customers/some-id?expand=all", "expand")]:
        answer = api.get(path, key=tenant.key)
        assert_envelope(answer, 400, "ValidationError")
        assert answer.error_fields == [name], path


# --- Idempotency-Key --------------------------------------------------------------------------------

def test_same_key_and_body_replays_the_first_answer(api, tenant):
    headers = {"x-api-key": tenant.key, "Idempotency-Key": "create-wayne"}
    first = api.post("/customers", {"name": "Wayne", "taxRate": Decimal("8.25")}, headers=headers)
    assert first.status == 201
    assert "idempotent-replayed" not in first.headers
    second = api.post("/customers", {"name": "Wayne", "taxRate": Decimal("8.25")}, headers=headers)
    assert second.status == 201
    assert second.headers.get("idempotent-replayed") == "true"
    assert second.body == first.body
    assert second.body["id"] == first.body["id"]
    listed = api.get("/customers", key=tenant.key).body["data"]
    assert [c["id"] for c in listed] == [first.body["id"]]


def test_same_key_with_another_body_or_route_is_409(api, tenant):
    headers = {"x-api-key": tenant.key, "Idempotency-Key": "k-1"}
    first = api.post("/customers", {"name": "Wayne"}, headers=headers)
    assert first.status == 201
    other_body = api.post("/customers", {"name": "Stark"}, headers=headers)
    assert_envelope(other_body, 409, "IdempotencyKeyReused")
    assert other_body.error_fields == ["Idempotency-Key"]
    other_route = api.post("/products", {"name": "Wayne", "price": 1, "billingPeriod": "Month"}, headers=headers)
    assert_envelope(other_route, 409, "IdempotencyKeyReused")
    assert [c["name"] for c in api.get("/customers", key=tenant.key).body["data"]] == ["Wayne"]
    assert api.get("/products", key=tenant.key).body["data"] == []


def test_idempotency_keys_belong_to_one_tenant(api, tenant, other):
    body = {"name": "Same"}
    a = api.post("/customers", body, headers={"x-api-key": tenant.key, "Idempotency-Key": "shared"})
    b = api.post("/customers", body, headers={"x-api-key": other.key, "Idempotency-Key": "shared"})
    assert a.status == b.status == 201
    assert "idempotent-replayed" not in b.headers
    assert a.body["id"] != b.body["id"]
    assert [c["id"] for c in api.get("/customers", key=other.key).body["data"]] == [b.body["id"]]


def test_a_failed_request_does_not_burn_the_key(api, tenant):
    headers = {"x-api-key": tenant.key, "Idempotency-Key": "retry-me"}
    # refused by validation of the body...
    invalid = api.post("/customers", {"name": "Wayne", "bogus": True}, headers=headers)
    assert_invalid(invalid, "bogus")
    # ...and by a rule checked later (tax rate over 100%)
    rule = api.post("/customers", {"name": "Wayne", "taxRate": 150}, headers=headers)
    assert_invalid(rule, "taxRate")
    fixed = api.post("/customers", {"name": "Wayne"}, headers=headers)
    assert fixed.status == 201, fixed.body
    assert "idempotent-replayed" not in fixed.headers
    replay = api.post("/customers", {"name": "Wayne"}, headers=headers)
    assert replay.status == 201 and replay.headers.get("idempotent-replayed") == "true"
    assert replay.body["id"] == fixed.body["id"]

    # a 404 (unknown customer) does not burn a key either
    product = api.product(tenant)
    order_headers = {"x-api-key": tenant.key, "Idempotency-Key": "order-1"}
    missing = api.post("/orders", {"customerId": "nope", "lines": [{"productId": product["id"]}]},
                       headers=order_headers)
    assert_envelope(missing, 404, "NotFound")
    made = api.post("/orders", {"customerId": fixed.body["id"], "lines": [{"productId": product["id"]}]},
                    headers=order_headers)
    assert made.status == 201, made.body
    assert len(api.get("/customers", key=tenant.key).body["data"]) == 1
    assert [o["id"] for o in api.get("/orders", key=tenant.key).body["data"]] == [made.body["id"]]


def test_activation_with_a_key_replays_and_without_one_conflicts(api, tenant):
    customer = api.customer(tenant)
    product = api.product(tenant)
    order = api.order(tenant, customer["id"], product["id"])
    headers = {"x-api-key": tenant.key, "Idempotency-Key": "activate-1"}
    first = api.post(f"/orders/{order['id']}:activate", headers=headers)
    assert first.status == 200, first.body
    assert first.body["status"] == "Activated"
    second = api.post(f"/orders/{order['id']}:activate", headers=headers)
    assert second.status == 200, second.body
    assert second.headers.get("idempotent-replayed") == "true"
    assert second.body == first.body

    again = api.post(f"/orders/{order['id']}:activate", key=tenant.key)
    assert_envelope(again, 409, "InvalidState")
    fresh_key = api.post(f"/orders/{order['id']}:activate",
                         headers={"x-api-key": tenant.key, "Idempotency-Key": "activate-2"})
    assert_envelope(fresh_key, 409, "InvalidState")
    subs = api.get(f"/subscriptions?orderId={order['id']}", key=tenant.key).body["data"]
    assert [s["id"] for s in subs] == [first.body["lines"][0]["subscriptionId"]]

    other = api.order(tenant, customer["id"], product["id"])
    assert api.post(f"/orders/{other['id']}:activate", key=tenant.key).status == 200
    assert_envelope(api.post(f"/orders/{other['id']}:activate", key=tenant.key), 409, "InvalidState")


# --- never a 500 for bad input ----------------------------------------------------------------------

WRONG_VALUES = [True, [], {"a": {"b": []}}, "x" * 5000, -1, Decimal("-1.5")]
ORDER_FIELDS = ["customerId", "orderDate", "description", "lines"]
LINE_FIELDS = ["productId", "quantity", "unitPrice", "startDate", "endDate", "billingPeriod", "billCycleDay",
               "billingTiming"]


def test_malformed_order_bodies_are_always_4xx(api, tenant):
    customer = api.customer(tenant)
    product = api.product(tenant)
    good = {"customerId": customer["id"], "lines": [{"productId": product["id"], "quantity": 1}]}
    assert api.post("/orders", good, key=tenant.key, check=False).status == 201  # the baseline is valid
    created = api.get("/orders", key=tenant.key).body["data"]

    def expect_4xx(answer, case):
        assert 400 <= answer.status < 500, (case, answer.status, answer.body)
        assert set(answer.body) == ENVELOPE, (case, answer.body)

    for value in WRONG_VALUES:
        for field in ORDER_FIELDS:
            expect_4xx(api.post("/orders", {**good, field: value}, key=tenant.key), (field, value))
        for field in LINE_FIELDS:
            body = {**good, "lines": [{**good["lines"][0], field: value}]}
            expect_4xx(api.post("/orders", body, key=tenant.key), (f"lines[0].{field}", value))
        expect_4xx(api.post("/orders", {**good, "lines": [value]}, key=tenant.key), ("lines[0]", value))

    for text in ["[]", "[1]", '"order"', "1", "1.5", "true", "null", "", "{", '{"customerId":', "\x00",
                 '{"lines": [' * 5000, "[" * 200_000 + "]" * 200_000, '{"a":' * 100_000 + "1" + "}" * 100_000,
                 '{"customerId": "%s", "lines": [{"productId": "%s", "quantity": NaN}]}' % (customer["id"],
                                                                                           product["id"])]:
        status, answer, body = raw_call(api, "POST", "/orders", text, tenant.key)
        assert 400 <= status < 500, (text[:40], status, answer[:200])
        assert set(body) == ENVELOPE
    status, answer, body = raw_call(api, "POST", "/orders", b"\xff\xfe{\x00", tenant.key)
    assert status == 400 and body["details"][0]["field"] == "body"

    # empty, odd and oversized ids are simply not found
    for ident in ["%20", "x" * 2000, "%00", "..", "a%2Fb"]:
        expect_4xx(api.get(f"/orders/{ident}", key=tenant.key), ("GET /orders", ident))
        expect_4xx(api.post(f"/orders/{ident}:activate", key=tenant.key), ("activate", ident))
    for ident in ["", " ", "x" * 2000]:
        body = {"customerId": ident, "lines": [{"productId": product["id"]}]}
        expect_4xx(api.post("/orders", body, key=tenant.key), ("customerId", ident))
        body = {"customerId": customer["id"], "lines": [{"productId": ident}]}
        expect_4xx(api.post("/orders", body, key=tenant.key), ("productId", ident))

    assert api.get("/orders", key=tenant.key).body["data"] == created


def test_forged_next_tokens_are_400_not_500(api, tenant):
    import base64

    from chalicelib.store.paging import query_fingerprint

    for i in range(3):
        api.customer(tenant, name=f"c{i}")
    fingerprint = query_fingerprint("billrun-dev-customers", {})
    own = {"S": tenant.id}
    for key in [{"tenant_id": own, "id": {"S": ""}}, {"tenant_id": own, "id": {"N": "1"}},
                {"tenant_id": own, "id": "plain"}, {"tenant_id": own},
                {"tenant_id": own, "id": {"S": "a"}, "extra": {"S": "b"}},
                {"tenant_id": own, "id": {"S": "a" * 3000}}, {"tenant_id": own, "id": {"S": ["a"]}}]:
        raw = simplejson.dumps({"t": tenant.id, "q": fingerprint, "k": key})
        token = base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")
        answer = api.get(f"/customers?limit=1&nextToken={token}", key=tenant.key)
        assert_invalid(answer, "nextToken")
