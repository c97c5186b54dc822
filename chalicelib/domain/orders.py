"""Orders and their activation: the pure rule that turns order lines into subscriptions."""
from dataclasses import dataclass, replace
from datetime import date, datetime
from decimal import Decimal

from .catalog import Customer, Product
from .enums import BillingPeriod, BillingTiming, OrderStatus, ProductType
from .errors import conflict, invalid
from .money import exact_money, line_amount
from .subscriptions import Subscription


@dataclass(frozen=True)
class OrderLine:
    id: str
    product_id: str
    product_type: ProductType
    quantity: Decimal
    unit_price: Decimal
    amount: Decimal
    start_date: date
    end_date: date | None = None
    billing_period: BillingPeriod | None = None
    bill_cycle_day: int | None = None
    billing_timing: BillingTiming = BillingTiming.IN_ADVANCE
    subscription_id: str | None = None


@dataclass(frozen=True)
class Order:
    id: str
    customer_id: str
    currency: str
    status: OrderStatus
    order_date: date
    lines: tuple[OrderLine, ...]
    total_amount: Decimal
    created_date: datetime
    last_modified_date: datetime
    description: str | None = None
    activated_date: datetime | None = None
    version: int = 0
    invoice_schedule_id: str | None = None  # the invoice schedule billing this order (at most one)
    invoice_schedule_marked: datetime | None = None  # when that schedule's create marked the order (wall clock)


@dataclass(frozen=True)
class LineRequest:
    product_id: str
    quantity: Decimal
    unit_price: Decimal | None = None
    start_date: date | None = None
    end_date: date | None = None
    billing_period: BillingPeriod | None = None
    bill_cycle_day: int | None = None
    billing_timing: BillingTiming | None = None


def build_line(index: int, line_id: str, req: LineRequest, product: Product, customer: Customer,
               today: date) -> OrderLine:
    """Defaults come from the product (price, period) and the customer (bill cycle day)."""
    where = f"lines[{index}]"
    if product.currency != customer.currency:
        raise invalid(f"{where}.productId",
                      f"product is priced in {product.currency}, the customer is billed in {customer.currency}")
    if req.quantity <= 0:
        raise invalid(f"{where}.quantity", "must be greater than 0")
    unit_price = product.price if req.unit_price is None else exact_money(
        req.unit_price, customer.currency, f"{where}.unitPrice")
    if unit_price < 0:
        raise invalid(f"{where}.unitPrice", "must not be negative")
    start = req.start_date or today
    if req.end_date is not None and req.end_date < start:
        raise invalid(f"{where}.endDate", "must not be before startDate")
    recurring = product.product_type is ProductType.RECURRING
    if not recurring and (req.billing_period or req.bill_cycle_day or req.billing_timing):
        raise invalid(f"{where}.productId", "a OneTime product takes no billingPeriod, billCycleDay or billingTiming")
    return OrderLine(
        id=line_id,
        product_id=product.id,
        product_type=product.product_type,
        quantity=req.quantity,
        unit_price=unit_price,
        amount=line_amount(req.quantity, unit_price, customer.currency),
        start_date=start,
        end_date=req.end_date,
        billing_period=(req.billing_period or product.billing_period) if recurring else None,
        bill_cycle_day=(req.bill_cycle_day or customer.bill_cycle_day or start.day) if recurring else None,
        billing_timing=(req.billing_timing or BillingTiming.IN_ADVANCE),
    )


def order_total(lines) -> Decimal:
    return sum((line.amount for line in lines), Decimal(0))


def activate(order: Order, subscription_ids: list[str], now: datetime) -> tuple[Order, list[Subscription]]:
    """Draft -> Activated; one subscription per recurring line, ids chosen by the caller (deterministic)."""
    if order.status is not OrderStatus.DRAFT:
        raise conflict(f"order is {order.status.value}; only a Draft order can be activated")
    lines, subscriptions = [], []
    for line, sub_id in zip(order.lines, subscription_ids):
        if line.product_type is not ProductType.RECURRING:
            lines.append(line)
            continue
        subscriptions.append(Subscription.from_order_line(sub_id, order, line, now))
        lines.append(replace(line, subscription_id=sub_id))
    activated = replace(order, status=OrderStatus.ACTIVATED, lines=tuple(lines), activated_date=now,
                        last_modified_date=now)
    return activated, subscriptions
