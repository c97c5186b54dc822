"""Free-form JSON fields (an invoice's customFields, a billing schedule's dailyObject and customExpression) store
any JSON value exactly, decimals included, through the HTTP API; their bounds answer 400 naming the field; items
stored in the old native Map/List form still read. Every answer is checked against the OpenAPI document by the
Api helper."""
from decimal import Decimal

import boto3
import simplejson
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from pynamodb.attributes import ListAttribute, MapAttribute

from chalicelib.domain.json_values import MAX_JSON_BYTES, MAX_JSON_DEPTH, check_bounds
from chalicelib.store import tables
from chalicelib.store.billing_models import BillingScheduleModel
from chalicelib.store.document_models import InvoiceModel
from tests.functional.test_billing_api import assert_invalid, clock_tenant, new_schedule
from tests.functional.test_invoice_management import CLOCK, billed, get
from tests.strategies import json_arrays, json_objects, same_json


def nested(levels: int):
    value = []
    for _ in range(levels - 1):
        value = [value]
    return value


def as_sent(value):
    """The value as the server parses the JSON the client sends (a Decimal with exponent 0 arrives as an int)."""
    return simplejson.loads(simplejson.dumps(value, use_decimal=True), use_decimal=True)


def within_bounds(value) -> bool:
    try:
        check_bounds(value)
        return True
    except ValueError:
        return False


# --- decimals, which answered 500 before ------------------------------------------------------------------------

def test_invoice_custom_fields_keep_decimals_and_are_bounded(api):
    t = clock_tenant(api, CLOCK)
    invoice = billed(api, t, ["a"])["a"]
    path = f"/billing/invoices/{invoice['id']}"
    # the decimals that answered 500, and a lone surrogate (valid JSON text, not valid UTF-8 unescaped)
    for custom in ({"a": Decimal("1.5")}, {"a": [Decimal("1.5")]}, {"a": Decimal("1e300")}, {"\ud800": "é"},
                   {"a": Decimal("1e-300")}):
        answer = api.patch(path, {"customFields": custom}, key=t.key)
        assert answer.status == 200, answer.body
        assert same_json(answer.body["customFields"], custom)
        assert same_json(get(api, t, invoice["id"])["customFields"], custom)

    # bounds: 400 naming the field, and the stored value unchanged
    assert_invalid(api.patch(path, {"customFields": {"a": nested(MAX_JSON_DEPTH)}}, key=t.key), "customFields",
                   f"nested more than {MAX_JSON_DEPTH} levels")
    assert_invalid(api.patch(path, {"customFields": {"a": nested(500)}}, key=t.key), "customFields", "nested")
    assert_invalid(api.patch(path, {"customFields": {"a": "x" * MAX_JSON_BYTES}}, key=t.key), "customFields",
                   f"at most {MAX_JSON_BYTES} bytes")
    assert_invalid(api.patch(path, {"customFields": [1]}, key=t.key), "customFields")
    assert same_json(get(api, t, invoice["id"])["customFields"], {"a": Decimal("1e-300")})
    # nesting past the parser's recursion limit is a 400 on the body, never a 500
    deep = b'{"customFields": {"a": ' + b"[" * 100_000 + b"]" * 100_000 + b"}}"
    assert_invalid(api.call("PATCH", path, raw=deep, key=t.key), "body", "nested too deeply")


def test_schedule_daily_object_and_custom_expression_keep_decimals_and_are_bounded(api, tenant):
    created = new_schedule(api, tenant, dailyObject={"a": Decimal("1.5")}, customExpression=[Decimal("1.5")])
    assert same_json((created["dailyObject"], created["customExpression"]), ({"a": Decimal("1.5")}, [Decimal("1.5")]))
    path = f"/billing/schedules/{created['id']}"
    read = api.get(path, key=tenant.key).body
    assert same_json((read["dailyObject"], read["customExpression"]), ({"a": Decimal("1.5")}, [Decimal("1.5")]))
    changed = api.patch(path, {"dailyObject": {"b": [Decimal("1e300")]}, "customExpression": [Decimal("1e-300")]},
                        key=tenant.key)
    assert changed.status == 200, changed.body
    read = api.get(path, key=tenant.key).body
    assert same_json((read["dailyObject"], read["customExpression"]), ({"b": [Decimal("1E+300")]},
                                                                       [Decimal("1E-300")]))

    # bounds, on create and on change: 400 naming the field
    too_deep = {"dailyObject": {"a": nested(MAX_JSON_DEPTH)}, "customExpression": nested(MAX_JSON_DEPTH + 1)}
    too_big = {"dailyObject": {"a": "x" * MAX_JSON_BYTES}, "customExpression": ["x" * MAX_JSON_BYTES]}
    for field in ("dailyObject", "customExpression"):
        for body, issue in ((too_deep, "nested more than"), (too_big, "bytes")):
            assert_invalid(api.post("/billing/schedules", {"scheduleType": "OnDemand", field: body[field]},
                                    key=tenant.key), field, issue)
            assert_invalid(api.patch(path, {field: body[field]}, key=tenant.key), field, issue)
    assert same_json(api.get(path, key=tenant.key).body["customExpression"], [Decimal("1E-300")])


# --- items written before JSONAttribute -------------------------------------------------------------------------

def store_natively(model, key: dict, attribute: str, native: dict) -> None:
    """Overwrite one attribute in the form PynamoDB's raw MapAttribute/ListAttribute wrote before."""
    boto3.client("dynamodb", region_name="us-east-1").update_item(
        TableName=tables.table_name(model), Key={k: {"S": v} for k, v in key.items()},
        UpdateExpression="SET #a = :v", ExpressionAttributeNames={"#a": attribute},
        ExpressionAttributeValues={":v": native})


def test_fields_stored_in_the_old_native_form_still_read(api):
    t = clock_tenant(api, CLOCK)
    invoice = billed(api, t, ["a"])["a"]
    schedule = new_schedule(api, t)
    old_map = {"region": "EU", "seats": 3, "flags": [True, None], "inner": {"n": -7}}
    old_list = ["step", 2, {"x": False}]
    store_natively(InvoiceModel, {"tenant_id": t.id, "id": invoice["id"]}, "custom_fields",
                   {"M": MapAttribute().serialize(old_map)})
    key = {"tenant_id": t.id, "id": schedule["id"]}
    store_natively(BillingScheduleModel, key, "daily_object", {"M": MapAttribute().serialize(old_map)})
    store_natively(BillingScheduleModel, key, "custom_expression", {"L": ListAttribute().serialize(old_list)})

    assert same_json(get(api, t, invoice["id"])["customFields"], old_map)
    read = api.get(f"/billing/schedules/{schedule['id']}", key=t.key).body
    assert same_json((read["dailyObject"], read["customExpression"]), (old_map, old_list))
    # and the next write stores the new form, decimals included
    answer = api.patch(f"/billing/invoices/{invoice['id']}", {"customFields": {**old_map, "rate": Decimal("0.5")}},
                       key=t.key)
    assert answer.status == 200, answer.body
    assert same_json(get(api, t, invoice["id"])["customFields"], {**old_map, "rate": Decimal("0.5")})


# --- the property: any JSON value, every field, every way in ----------------------------------------------------

def test_every_free_form_field_round_trips_any_json_value_through_the_api(api):
    t = clock_tenant(api, CLOCK)
    invoice_path = f"/billing/invoices/{billed(api, t, ['a'])['a']['id']}"
    schedule_path = f"/billing/schedules/{new_schedule(api, t)['id']}"

    def write_schedule(how: str, fields: dict) -> tuple[dict, str]:
        """The schedule's answer to the write, and its path to read it back."""
        if how == "POST":
            created = new_schedule(api, t, **fields)
            return created, f"/billing/schedules/{created['id']}"
        answer = api.patch(schedule_path, fields, key=t.key)
        assert answer.status == 200, answer.body
        return answer.body, schedule_path

    # one schedule write per example (each request costs several moto calls): both ways are drawn
    @settings(max_examples=50, deadline=None)
    @given(custom=json_objects, daily=json_objects, expression=json_arrays, how=st.sampled_from(["POST", "PATCH"]))
    def round_trip(custom, daily, expression, how):
        assume(all(within_bounds(v) for v in (custom, daily, expression)))
        custom, daily, expression = as_sent(custom), as_sent(daily), as_sent(expression)

        written, path = write_schedule(how, {"dailyObject": daily, "customExpression": expression})
        for body in (written, api.get(path, key=t.key).body):
            assert same_json((body["dailyObject"], body["customExpression"]), (daily, expression))

        patched = api.patch(invoice_path, {"customFields": custom}, key=t.key)
        assert patched.status == 200, patched.body
        for body in (patched.body, api.get(invoice_path, key=t.key).body):
            assert same_json(body["customFields"], custom)

    round_trip()
