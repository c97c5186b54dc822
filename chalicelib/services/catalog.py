"""Customers and products."""
from dataclasses import replace

from ..domain.catalog import Customer, Product, check_product
from ..domain.errors import invalid
from ..domain.money import currency_code
from ..store.catalog import customers, products
from .context import RequestContext



def _check_customer(customer: Customer) -> Customer:
    if customer.bill_cycle_day is not None and not 1 <= customer.bill_cycle_day <= 31:
        raise invalid("billCycleDay", "must be between 1 and 31 (31 = last day of the month)")
    if not 0 <= customer.tax_rate <= 100:
        raise invalid("taxRate", "must be a percentage between 0 and 100")
    if customer.payment_term_days < 0:
        raise invalid("paymentTermDays", "must not be negative")
    return customer


def create_customer(ctx: RequestContext, fields: dict) -> Customer:
    t = ctx.tenant
    fields = {"timezone": t.timezone, "payment_term_days": t.payment_term_days, **fields}
    fields["currency"] = currency_code(fields.get("currency") or t.currency)
    customer = Customer(id=ctx.new_id(), created_date=ctx.now, last_modified_date=ctx.now, **fields)
    return customers.create(t.id, _check_customer(customer))


def update_customer(ctx: RequestContext, customer_id: str, changes: dict) -> Customer:
    current = customers.get(ctx.tenant.id, customer_id)
    updated = _check_customer(replace(current, **changes, last_modified_date=ctx.now))
    return customers.replace(ctx.tenant.id, updated, current)


def create_product(ctx: RequestContext, fields: dict) -> Product:
    fields["currency"] = currency_code(fields.get("currency") or ctx.tenant.currency)
    product = Product(id=ctx.new_id(), created_date=ctx.now, last_modified_date=ctx.now, **fields)
    return products.create(ctx.tenant.id, check_product(product))


def update_product(ctx: RequestContext, product_id: str, changes: dict) -> Product:
    current = products.get(ctx.tenant.id, product_id)
    updated = check_product(replace(current, **changes, last_modified_date=ctx.now))
    return products.replace(ctx.tenant.id, updated, current)
