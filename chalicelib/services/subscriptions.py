"""Subscriptions: reads, cancellation and dated quantity changes."""
from datetime import date
from decimal import Decimal

from ..domain import subscriptions as rules
from ..domain.subscriptions import Subscription
from ..store.catalog import customers, subscriptions
from .context import RequestContext


def cancel(ctx: RequestContext, sub_id: str, effective_date: date | None) -> Subscription:
    current = subscriptions.get(ctx.tenant.id, sub_id)
    effective = effective_date or ctx.today(_zone_of(ctx, current))
    return subscriptions.replace(ctx.tenant.id, rules.cancel(current, effective, ctx.now), current)


def change_quantity(ctx: RequestContext, sub_id: str, quantity: Decimal, effective_date: date | None
                    ) -> Subscription:
    current = subscriptions.get(ctx.tenant.id, sub_id)
    effective = effective_date or ctx.today(_zone_of(ctx, current))
    updated = rules.change_quantity(current, effective, quantity, ctx.now)
    return subscriptions.replace(ctx.tenant.id, updated, current)


def today_for(ctx: RequestContext, sub: Subscription, zones: dict[str, str] | None = None) -> date:
    """Today in the subscription's customer's zone: the day its `quantity` and default effective dates use.
    `zones` caches customer zones across a page of subscriptions."""
    zones = {} if zones is None else zones
    if sub.customer_id not in zones:
        zones[sub.customer_id] = _zone_of(ctx, sub)
    return ctx.today(zones[sub.customer_id])


def _zone_of(ctx: RequestContext, sub: Subscription) -> str:
    customer = customers.find(ctx.tenant.id, sub.customer_id)
    return customer.timezone if customer else ctx.tenant.timezone
