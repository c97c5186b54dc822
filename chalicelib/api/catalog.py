"""Customers and products."""
from chalice import Blueprint

from ..services import catalog as service
from ..services import views
from . import schemas as s
from .http import changes, operation

bp = Blueprint(__name__)


@operation(bp, "POST", "/customers", summary="Create a customer", tag="Customers", body=s.CustomerCreate,
           response=s.Customer, status=201)
def create_customer(call):
    return service.create_customer(call.ctx, call.body.model_dump(exclude_none=True))


@operation(bp, "GET", "/customers", summary="List customers", tag="Customers", query=s.ListQuery,
           response=s.CustomerPage)
def list_customers(call):
    items, token = views.customers.list(call.ctx.tenant.id, limit=call.query.limit,
                                        next_token=call.query.next_token)
    return {"data": items, "next_token": token}


@operation(bp, "GET", "/customers/{id}", summary="Get a customer", tag="Customers", response=s.Customer)
def get_customer(call):
    return views.customers.get(call.ctx.tenant.id, call.params["id"])


@operation(bp, "PATCH", "/customers/{id}", summary="Update a customer", tag="Customers", body=s.CustomerUpdate,
           response=s.Customer)
def update_customer(call):
    sent = changes(call.body, {"name", "timezone", "payment_term_days", "tax_rate"})
    return service.update_customer(call.ctx, call.params["id"], sent)


@operation(bp, "POST", "/products", summary="Create a product", tag="Products", body=s.ProductCreate,
           response=s.Product, status=201)
def create_product(call):
    return service.create_product(call.ctx, call.body.model_dump(exclude_none=True))


@operation(bp, "GET", "/products", summary="List products", tag="Products", query=s.ListQuery,
           response=s.ProductPage)
def list_products(call):
    items, token = views.products.list(call.ctx.tenant.id, limit=call.query.limit,
                                       next_token=call.query.next_token)
    return {"data": items, "next_token": token}


@operation(bp, "GET", "/products/{id}", summary="Get a product", tag="Products", response=s.Product)
def get_product(call):
    return views.products.get(call.ctx.tenant.id, call.params["id"])


@operation(bp, "PATCH", "/products/{id}", summary="Update a product (future orders use the new price)",
           tag="Products", body=s.ProductUpdate, response=s.Product)
def update_product(call):
    return service.update_product(call.ctx, call.params["id"], changes(call.body, {"name", "price"}))
