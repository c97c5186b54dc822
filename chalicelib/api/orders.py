"""Orders and the subscriptions their activation creates."""
from dataclasses import asdict

from chalice import Blueprint

from ..services import orders as service
from ..services import subscriptions as subscription_service
from ..services import views
from . import schemas as s
from .http import operation

bp = Blueprint(__name__)


@operation(bp, "POST", "/orders", summary="Create a Draft order with lines", tag="Orders", body=s.OrderCreate,
           response=s.Order, status=201)
def create_order(call):
    return service.create_order(call.ctx, call.body.model_dump(exclude_none=True))


@operation(bp, "GET", "/orders", summary="List orders", tag="Orders", query=s.OrderQuery, response=s.OrderPage)
def list_orders(call):
    q = call.query
    items, token = views.orders.list(call.ctx.tenant.id, limit=q.limit, next_token=q.next_token,
                                     customer_id=q.customer_id, status=q.status)
    return {"data": items, "next_token": token}


@operation(bp, "GET", "/orders/{id}", summary="Get an order", tag="Orders", response=s.Order)
def get_order(call):
    return service.get_order(call.ctx, call.params["id"])


@operation(bp, "POST", "/orders/{id}:activate", summary="Activate a Draft order: creates its subscriptions",
           tag="Orders", response=s.Order)
def activate_order(call):
    return service.activate_order(call.ctx, call.params["id"])


def _subscription_view(ctx, sub, zones=None):
    """`quantity` is the one in effect today in the customer's zone (the zone its effective dates default to)."""
    return {**asdict(sub), "quantity": sub.quantity_on(subscription_service.today_for(ctx, sub, zones))}


@operation(bp, "GET", "/subscriptions", summary="List subscriptions", tag="Subscriptions",
           query=s.SubscriptionQuery, response=s.SubscriptionPage)
def list_subscriptions(call):
    q = call.query
    items, token = views.subscriptions.list(call.ctx.tenant.id, limit=q.limit, next_token=q.next_token,
                                            customer_id=q.customer_id, order_id=q.order_id, status=q.status)
    zones: dict[str, str] = {}
    return {"data": [_subscription_view(call.ctx, sub, zones) for sub in items], "next_token": token}


@operation(bp, "GET", "/subscriptions/{id}", summary="Get a subscription", tag="Subscriptions",
           response=s.Subscription)
def get_subscription(call):
    return _subscription_view(call.ctx, views.subscriptions.get(call.ctx.tenant.id, call.params["id"]))


@operation(bp, "POST", "/subscriptions/{id}:cancel", summary="Cancel a subscription from an effective date",
           tag="Subscriptions", body=s.SubscriptionCancel, response=s.Subscription)
def cancel_subscription(call):
    sub = subscription_service.cancel(call.ctx, call.params["id"], call.body.effective_date)
    return _subscription_view(call.ctx, sub)


@operation(bp, "PATCH", "/subscriptions/{id}", summary="Change the quantity from an effective date",
           tag="Subscriptions", body=s.SubscriptionUpdate, response=s.Subscription)
def update_subscription(call):
    sub = subscription_service.change_quantity(call.ctx, call.params["id"], call.body.quantity,
                                               call.body.effective_date)
    return _subscription_view(call.ctx, sub)
