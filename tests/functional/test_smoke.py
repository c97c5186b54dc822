from decimal import Decimal


def test_customer_product_order_activate_subscription(api, tenant):
    sub = api.active_subscription(tenant)
    assert sub["status"] == "Active"
    assert sub["quantity"] == 2
    assert sub["unitPrice"] == Decimal("30.00")
