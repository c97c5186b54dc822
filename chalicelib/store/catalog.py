"""Owns the customers, products, orders and subscriptions tables (all keyed tenantId, id)."""
from .models import CustomerModel, OrderModel, ProductModel, SubscriptionModel
from .repository import TenantRepository

customers = TenantRepository(CustomerModel, "customer")
products = TenantRepository(ProductModel, "product")
orders = TenantRepository(OrderModel, "order")
subscriptions = TenantRepository(SubscriptionModel, "subscription")
