"""Subscriptions: dated quantity changes and cancellation. Billing effects are the billing module's."""
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from decimal import Decimal

from .enums import BillingPeriod, BillingTiming, SubscriptionStatus
from .errors import conflict, invalid


@dataclass(frozen=True)
class QuantityChange:
    effective_date: date
    quantity: Decimal


@dataclass(frozen=True)
class Subscription:
    id: str
    customer_id: str
    order_id: str
    order_line_id: str
    product_id: str
    currency: str
    status: SubscriptionStatus
    start_date: date
    initial_quantity: Decimal
    unit_price: Decimal
    billing_period: BillingPeriod
    bill_cycle_day: int
    billing_timing: BillingTiming
    created_date: datetime
    last_modified_date: datetime
    end_date: date | None = None  # last day in service, inclusive
    billed_through: date | None = None
    cancellation_date: date | None = None  # first day no longer in service
    quantity_changes: tuple[QuantityChange, ...] = ()
    version: int = 0

    @classmethod
    def from_order_line(cls, sub_id: str, order, line, now: datetime) -> "Subscription":
        return cls(
            id=sub_id, customer_id=order.customer_id, order_id=order.id, order_line_id=line.id,
            product_id=line.product_id, currency=order.currency, status=SubscriptionStatus.ACTIVE,
            start_date=line.start_date, end_date=line.end_date, initial_quantity=line.quantity,
            unit_price=line.unit_price, billing_period=line.billing_period, bill_cycle_day=line.bill_cycle_day,
            billing_timing=line.billing_timing, created_date=now, last_modified_date=now,
        )

    def quantity_on(self, day: date) -> Decimal:
        """The quantity in effect on a day: the latest change dated on or before it."""
        quantity = self.initial_quantity
        for change in self.quantity_changes:
            if change.effective_date <= day:
                quantity = change.quantity
        return quantity


def cancel(sub: Subscription, effective_date: date, now: datetime) -> Subscription:
    """Service stops on effective_date: the last day in service becomes the day before."""
    if sub.status is SubscriptionStatus.CANCELED:
        raise conflict("subscription is already Canceled")
    if effective_date < sub.start_date:
        raise invalid("effectiveDate", "must not be before the subscription's startDate")
    if sub.end_date is not None and effective_date > sub.end_date + timedelta(days=1):
        raise invalid("effectiveDate", "must not be after the day following the subscription's endDate")
    return replace(sub, status=SubscriptionStatus.CANCELED, cancellation_date=effective_date,
                   end_date=effective_date - timedelta(days=1), last_modified_date=now)


def change_quantity(sub: Subscription, effective_date: date, quantity: Decimal, now: datetime) -> Subscription:
    """Recorded as a dated change; a second change on the same date replaces the first."""
    if sub.status is SubscriptionStatus.CANCELED:
        raise conflict("a Canceled subscription's quantity cannot change")
    if quantity <= 0:
        raise invalid("quantity", "must be greater than 0")
    if effective_date < sub.start_date:
        raise invalid("effectiveDate", "must not be before the subscription's startDate")
    if sub.end_date is not None and effective_date > sub.end_date:
        raise invalid("effectiveDate", "must not be after the subscription's endDate")
    others = [c for c in sub.quantity_changes if c.effective_date != effective_date]
    changes = tuple(sorted(others + [QuantityChange(effective_date, quantity)], key=lambda c: c.effective_date))
    return replace(sub, quantity_changes=changes, last_modified_date=now)
