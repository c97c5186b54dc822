"""Owns the customers, products, orders and subscriptions tables (all keyed tenantId, id)."""
from .models import CustomerModel, OrderModel, ProductModel, SubscriptionModel
from .repository import TenantRepository


class SubscriptionRepository(TenantRepository):
    """Subscriptions are also indexed by customer: a customer's subscriptions are read without the others."""

    def __init__(self):
        super().__init__(SubscriptionModel, "subscription")

    def derived(self, tenant_id: str, entity) -> dict:
        return {"customer_key": f"{tenant_id}#{entity.customer_id}"}

    def list(self, tenant_id: str, *, customer_id=None, **options):
        if customer_id is None:
            return super().list(tenant_id, **options)
        return self.list_by_index(tenant_id, SubscriptionModel.by_customer, f"{tenant_id}#{customer_id}", **options)

    def of_customer(self, tenant_id: str, customer_id: str) -> list:
        return _all_pages(lambda token: self.list(tenant_id, customer_id=customer_id, limit=1000, next_token=token))

    def of_tenant(self, tenant_id: str) -> list:
        return _all_pages(lambda token: self.list(tenant_id, limit=1000, next_token=token))


def _all_pages(fetch) -> list:
    found, token = [], None
    while True:
        page, token = fetch(token)
        found += page
        if token is None:
            return found


customers = TenantRepository(CustomerModel, "customer")
products = TenantRepository(ProductModel, "product")
orders = TenantRepository(OrderModel, "order")
subscriptions = SubscriptionRepository()
