"""Customers and products: the catalog that orders and billing draw on."""
from dataclasses import dataclass, replace
from datetime import datetime
from decimal import Decimal

from .enums import BillingPeriod, ProductType
from .errors import invalid
from .money import exact_money


@dataclass(frozen=True)
class Customer:
    id: str
    name: str
    timezone: str
    currency: str
    payment_term_days: int
    created_date: datetime
    last_modified_date: datetime
    email: str | None = None
    bill_cycle_day: int | None = None  # 1-31, 31 = last day of the month
    tax_rate: Decimal = Decimal(0)  # percent, e.g. 8.25
    bill_to_contact_id: str | None = None
    version: int = 0


@dataclass(frozen=True)
class Product:
    id: str
    name: str
    product_type: ProductType
    price: Decimal
    currency: str
    created_date: datetime
    last_modified_date: datetime
    billing_period: BillingPeriod | None = None
    sku: str | None = None
    description: str | None = None
    version: int = 0


def check_product(product: Product) -> Product:
    """A recurring product bills per period; a one-time product has no period. Price fits the currency."""
    if product.product_type is ProductType.RECURRING and product.billing_period is None:
        raise invalid("billingPeriod", "required for a Recurring product")
    if product.product_type is ProductType.ONE_TIME and product.billing_period is not None:
        raise invalid("billingPeriod", "a OneTime product has no billing period")
    if product.price < 0:
        raise invalid("price", "must not be negative")
    # canonical minor units, as order lines do: 19.990 -> 19.99, 1E+2 -> 100.00
    return replace(product, price=exact_money(product.price, product.currency, "price"))
