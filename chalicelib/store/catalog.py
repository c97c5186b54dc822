"""Owns the customers, products, orders and subscriptions tables (all keyed tenantId, id)."""
from __future__ import annotations  # `list` is also a method name in these classes

from datetime import datetime

from ..domain.orders import Order, has_one_time_charges
from . import tables
from .catalog_models import CustomerModel, OrderModel, ProductModel, SubscriptionModel
from .repository import TenantRepository, update_if


class SubscriptionRepository(TenantRepository):
    """Subscriptions are also indexed by customer: a customer's subscriptions are read without the others."""

    def __init__(self):
        super().__init__(SubscriptionModel, "subscription")

    def derived(self, tenant_id: str, entity) -> dict:
        return {"customer_key": f"{tenant_id}#{entity.customer_id}", "product_key": f"{tenant_id}#{entity.product_id}"}

    def list(self, tenant_id: str, *, customer_id=None, product_id=None, **options):
        if customer_id is not None:
            return self.list_by_index(tenant_id, SubscriptionModel.by_customer, f"{tenant_id}#{customer_id}",
                                      product_id=product_id, **options)
        if product_id is not None:
            return self.list_by_index(tenant_id, SubscriptionModel.by_product, f"{tenant_id}#{product_id}", **options)
        return super().list(tenant_id, **options)

    def of_customer(self, tenant_id: str, customer_id: str) -> list:
        return _all_pages(lambda token: self.list(tenant_id, customer_id=customer_id, limit=1000, next_token=token))

    def of_tenant(self, tenant_id: str) -> list:
        return _all_pages(lambda token: self.list(tenant_id, limit=1000, next_token=token))

    def of_product(self, tenant_id: str, product_id: str) -> list:
        return _all_pages(lambda token: self.list(tenant_id, product_id=product_id, limit=1000, next_token=token))

    def of_orders(self, tenant_id: str, orders) -> list:
        """The subscriptions of these orders, named by their lines (BatchGetItem), in the orders' line order."""
        ids = [line.subscription_id for order in orders for line in order.lines if line.subscription_id]
        found = self.find_many(tenant_id, ids)
        return [found[i] for i in dict.fromkeys(ids) if i in found]


class OrderRepository(TenantRepository):
    """Orders are also indexed by customer (a customer's orders are read without the others), and Activated orders
    with OneTime lines (sparse), so billing finds them without the others."""

    def __init__(self):
        super().__init__(OrderModel, "order")

    def derived(self, tenant_id: str, entity: Order) -> dict:
        keys = {"customer_key": f"{tenant_id}#{entity.customer_id}"}
        if not has_one_time_charges(entity):
            return keys
        return {**keys, "one_time_key": tenant_id, "customer_order": f"{entity.customer_id}#{entity.id}"}

    def list(self, tenant_id: str, *, customer_id=None, **options):
        if customer_id is None:
            return super().list(tenant_id, **options)
        return self.list_by_index(tenant_id, OrderModel.by_customer, f"{tenant_id}#{customer_id}", **options)

    def with_one_time_charges(self, tenant_id: str, customer_ids=None) -> list[Order]:
        """The tenant's Activated orders with a OneTime line (only these customers' when given): one Query per
        customer, or one for the tenant, paged."""
        tables.bind()
        index = OrderModel.one_time
        if customer_ids is None:
            return [item.to_entity() for item in index.query(tenant_id)]
        return [item.to_entity() for c in sorted(set(customer_ids))
                for item in index.query(tenant_id, OrderModel.customer_order.startswith(f"{c}#"))]


def _all_pages(fetch) -> list:
    found, token = [], None
    while True:
        page, token = fetch(token)
        found += page
        if token is None:
            return found


customers = TenantRepository(CustomerModel, "customer")
products = TenantRepository(ProductModel, "product")
orders = OrderRepository()
subscriptions = SubscriptionRepository()


def mark_scheduled(tenant_id: str, order_id: str, schedule_id: str, replacing: str | None = None, *,
                   now: datetime) -> bool:
    """The order is billed by this invoice schedule (marked at `now`): set once (conditional), or taken over from
    `replacing` (a schedule the caller found gone). False when another schedule holds the order."""
    M = OrderModel
    free = M.invoice_schedule_id.does_not_exist() | (M.invoice_schedule_id == schedule_id)
    if replacing is not None:
        free = free | (M.invoice_schedule_id == replacing)
    return _update_order(tenant_id, order_id, [M.invoice_schedule_id.set(schedule_id),
                                               M.invoice_schedule_marked.set(now), M.version.add(1)],
                         M.id.exists() & free)


def unmark_scheduled(tenant_id: str, order_id: str, schedule_id: str) -> bool:
    """The schedule no longer bills the order (it was deleted); a mark of another schedule is left alone."""
    M = OrderModel
    return _update_order(tenant_id, order_id, [M.invoice_schedule_id.remove(), M.invoice_schedule_marked.remove(),
                                               M.version.add(1)], M.invoice_schedule_id == schedule_id)


def _update_order(tenant_id: str, order_id: str, actions, condition) -> bool:
    return update_if(OrderModel(tenant_id=tenant_id, id=order_id), actions, condition)
