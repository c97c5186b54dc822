"""Orders and their activation: the pure rules that turn order lines into subscriptions, and OneTime lines into
the one-time charges billing jobs bill."""
from dataclasses import dataclass, replace
from datetime import date, datetime
from decimal import Decimal

from .catalog import Customer, Product
from .enums import BillingPeriod, BillingTiming, OrderStatus, ProductType, SubscriptionStatus
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


# --- one-time charges --------------------------------------------------------------------------------------

ONE_TIME = "otc_"  # a one-time charge's id: otc_<order id>_<line id> (ids are UUIDs: no "_" inside)


def one_time_charge_id(order_id: str, line_id: str) -> str:
    return f"{ONE_TIME}{order_id}_{line_id}"


def one_time_line_of(charge_id: str) -> tuple[str, str] | None:
    """(order id, line id) of a one-time charge's id; None for any other id (a subscription's)."""
    if not charge_id.startswith(ONE_TIME):
        return None
    order_id, _, line_id = charge_id[len(ONE_TIME):].rpartition("_")
    return (order_id, line_id) if order_id and line_id else None


def has_one_time_charges(order: Order) -> bool:
    return order.status is OrderStatus.ACTIVATED and any(
        line.product_type is ProductType.ONE_TIME for line in order.lines)


def one_time_charges(order: Order, bill_cycle_day: int | None = None) -> list[Subscription]:
    """An Activated order's OneTime lines as billing sees them: each a one-day Day period on its start date, due in
    advance, worth its amount (round(quantity x unitPrice), as on the order). So billing charges it once, by the
    first billing job whose target date reaches that date, under the same ledger as subscription periods: a
    claim per charge, released (and so billed again) when its invoice is canceled. Never stored: the order is the
    record; the id names the ledger entry. `bill_cycle_day` (the customer's) is what a billCycleDayFilter reads;
    a Day period ignores it; without one, the start date's day."""
    if order.status is not OrderStatus.ACTIVATED:
        return []
    activated = order.activated_date or order.last_modified_date
    return [Subscription(
        id=one_time_charge_id(order.id, line.id), customer_id=order.customer_id, order_id=order.id,
        order_line_id=line.id, product_id=line.product_id, currency=order.currency,
        status=SubscriptionStatus.ACTIVE, start_date=line.start_date, end_date=line.start_date,
        initial_quantity=line.quantity, unit_price=line.unit_price, billing_period=BillingPeriod.DAY,
        bill_cycle_day=bill_cycle_day or line.start_date.day, billing_timing=BillingTiming.IN_ADVANCE,
        created_date=activated, last_modified_date=activated)
        for line in order.lines if line.product_type is ProductType.ONE_TIME]
