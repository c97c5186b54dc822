"""Orders: creation from catalog items, and activation into subscriptions."""
from ..domain import orders as rules
from ..domain.enums import OrderStatus
from ..domain.orders import LineRequest, Order
from ..domain.timeutil import local_date
from ..store.catalog import customers, orders, products, subscriptions
from . import billing_job_runner, billing_jobs
from .ids import derived_id
from .context import RequestContext



def create_order(ctx: RequestContext, fields: dict) -> Order:
    tenant_id = ctx.tenant.id
    customer = customers.get(tenant_id, fields["customer_id"], "customerId")
    today = local_date(ctx.now, customer.timezone)
    lines = []
    for index, raw in enumerate(fields["lines"]):
        request = LineRequest(**raw)
        product = products.get(tenant_id, request.product_id, f"lines[{index}].productId")
        lines.append(rules.build_line(index, ctx.new_id(), request, product, customer, today))
    order = Order(id=ctx.new_id(), customer_id=customer.id, currency=customer.currency, status=OrderStatus.DRAFT,
                  order_date=fields.get("order_date") or today, description=fields.get("description"),
                  lines=tuple(lines), total_amount=rules.order_total(lines), created_date=ctx.now,
                  last_modified_date=ctx.now)
    return orders.create(tenant_id, order)


def activate_order(ctx: RequestContext, order_id: str) -> Order:
    """Claim/finalize without a transaction: subscriptions are written first under ids derived from the
    order line (a re-run rewrites nothing), then the order flips Draft -> Activated under a condition.
    A crash between the two leaves a Draft order whose re-activation completes the same work."""
    tenant_id = ctx.tenant.id
    current = orders.get(tenant_id, order_id)
    sub_ids = [f"sub_{line.id.replace('-', '')}" for line in current.lines]
    activated, new_subscriptions = rules.activate(current, sub_ids, ctx.now)
    for subscription in new_subscriptions:
        subscriptions.create(tenant_id, subscription)
    activated = orders.replace(tenant_id, activated, current)
    billable = new_subscriptions + rules.one_time_charges(activated)
    if ctx.tenant.generate_first_invoice_on_order_activation and billable:
        bill_first_periods(ctx, activated, billable)
    return activated


def bill_first_periods(ctx: RequestContext, order: Order, new_subscriptions) -> None:
    """Nue's "generate the first invoice when an order is activated": a billing job scoped to the order's new
    subscriptions and one-time charges, targeting their first start date. Its id derives from the order: it runs
    once."""
    customer = customers.get(ctx.tenant.id, order.customer_id)
    job = billing_jobs.new_job(
        ctx.tenant, job_id=derived_id(order.id, "first-invoice"), scheduled_time=ctx.now,
        target_date=min(s.start_date for s in new_subscriptions), invoice_date=local_date(ctx.now, customer.timezone),
        created_by_id=ctx.actor_id, now=ctx.now, subscription_ids=tuple(s.id for s in new_subscriptions))
    billing_job_runner.bill_in_request(ctx.tenant, job.id, ctx.now)


def get_order(ctx: RequestContext, order_id: str) -> Order:
    return orders.get(ctx.tenant.id, order_id)
