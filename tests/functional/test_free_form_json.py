"""Free-form JSON fields (an invoice's customFields, a billing schedule's dailyObject and customExpression) store
any JSON value exactly, decimals included, through the HTTP API. Every answer is checked against the OpenAPI
document by the Api helper."""
from decimal import Decimal

from tests.functional.test_billing_api import clock_tenant, new_schedule
from tests.functional.test_invoice_management import CLOCK, billed, get


def test_invoice_custom_fields_keep_decimals(api):
    t = clock_tenant(api, CLOCK)
    invoice = billed(api, t, ["a"])["a"]
    for custom in ({"a": Decimal("1.5")}, {"a": [Decimal("1.5")]}, {"a": Decimal("1e300")}):
        answer = api.patch(f"/billing/invoices/{invoice['id']}", {"customFields": custom}, key=t.key)
        assert answer.status == 200, answer.body
        assert answer.body["customFields"] == custom
        assert get(api, t, invoice["id"])["customFields"] == custom


def test_schedule_daily_object_and_custom_expression_keep_decimals(api, tenant):
    created = new_schedule(api, tenant, dailyObject={"a": Decimal("1.5")}, customExpression=[Decimal("1.5")])
    assert (created["dailyObject"], created["customExpression"]) == ({"a": Decimal("1.5")}, [Decimal("1.5")])
    read = api.get(f"/billing/schedules/{created['id']}", key=tenant.key).body
    assert (read["dailyObject"], read["customExpression"]) == ({"a": Decimal("1.5")}, [Decimal("1.5")])
