"""What the OpenAPI document says the server enforces, the server enforces, and the other way round (issue 12): the
cases schemathesis (tests/e2e/test_api_fuzz.py) found, pinned here where they run in milliseconds."""
import json

import pytest

from chalicelib.domain.timeutil import zone_info, timezone_names
from tests.support import openapi


@pytest.mark.parametrize(("path", "body", "field"), [
    ("/admin/tenants", {"name": "A", "paymentTermDays": False}, "paymentTermDays"),
    ("/admin/tenants", {"name": "A", "testMode": "yes"}, "testMode"),
    ("/admin/tenants", {"name": "A", "testMode": 1}, "testMode"),
])
def test_a_json_boolean_is_not_a_number_nor_a_string_a_boolean(api, path, body, field):
    answer = api.admin("POST", path, body)
    assert answer.status == 400 and answer.error_fields == [field], answer.body


def test_settings_refuse_a_boolean_for_a_number_and_a_null_body(api, tenant):
    assert api.patch("/settings", {"paymentTermDays": True}, key=tenant.key).error_fields == ["paymentTermDays"]
    nothing = api.patch("/settings", raw="null", key=tenant.key)
    assert nothing.status == 400 and nothing.error_fields == ["body"], nothing.body
    assert api.patch("/settings", raw="", key=tenant.key).status == 200  # no body: a PATCH of nothing


def test_a_body_that_is_not_json_is_our_415_naming_the_content_type(api, tenant):
    answer = api.call("POST", "/customers", raw="<customer/>", key=tenant.key, headers={"content-type": "application/xml"})
    assert answer.status == 415, answer.body
    assert answer.body["errorCode"] == "UnsupportedMediaType" and answer.error_fields == ["Content-Type"]
    charset = api.call("POST", "/customers", raw=json.dumps({"name": "Ada"}), key=tenant.key,
                       headers={"content-type": "application/json; charset=utf-8"})
    assert charset.status == 201, charset.body


def test_the_documented_zone_names_are_exactly_the_accepted_ones(api, tenant):
    documented = openapi()["components"]["schemas"]["ZoneName"]["enum"]
    assert set(documented) == timezone_names() and len(documented) > 500
    for name in ("UTC", "Asia/Shanghai", "America/New_York", "Australia/Lord_Howe"):
        assert name in timezone_names() and zone_info(name)
    for name in ("posixrules", "Asia/shanghai", " UTC", "Mars/Olympus_Mons"):
        with pytest.raises(ValueError):
            zone_info(name)
        assert api.post("/customers", {"name": "Ada", "timezone": name}, key=tenant.key).error_fields == ["timezone"]


def test_the_documented_number_bounds_are_the_enforced_ones(api, tenant):
    schemas = openapi()["components"]["schemas"]
    tax = next(s for s in schemas["CustomerCreate"]["properties"]["taxRate"]["anyOf"] if s.get("type") == "number")
    assert (tax["minimum"], tax["maximum"]) == (0, 100)
    for rate, status in ((0, 201), (100, 201), ("100.01", 400), ("-0.01", 400)):
        raw = '{"name": "Ada", "taxRate": %s}' % rate
        assert api.post("/customers", raw=raw, key=tenant.key).status == status, rate
    price = schemas["ProductCreate"]["properties"]["price"]
    assert price["minimum"] == 0 and "exclusiveMaximum" in price
    refused = api.post("/products", raw='{"name": "P", "productType": "OneTime", "price": -1}', key=tenant.key)
    assert refused.status == 400 and refused.error_fields == ["price"]


def test_an_advance_moves_a_clock_at_most_max_advance_days(api, monkeypatch):
    t = api.new_tenant("Far", testMode=True, timezone="UTC", currency="USD", clockStart="2025-01-01T00:00:00Z")
    far = api.post("/test/clock:advance", {"to": "2026-02-05T00:00:01Z"}, key=t.key)  # 400 days and a second
    assert far.status == 400 and far.error_fields == ["to"], far.body
    assert "BILLRUN_MAX_ADVANCE_DAYS" in far.body["message"]
    assert api.post("/test/clock:advance", {"to": "2026-02-05T00:00:00Z"}, key=t.key).status == 200
    monkeypatch.setenv("BILLRUN_MAX_ADVANCE_DAYS", "1")
    assert api.post("/test/clock:advance", {"to": "2026-02-07T00:00:00Z"}, key=t.key).error_fields == ["to"]
