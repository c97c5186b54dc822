"""Billing jobs: created once per slot, scoped by their filters (the customers and subscriptions a job may bill),
previewed, and their finish reported. The customers in scope are billed page by page (services/billing_pages.py,
where the exactly-once argument for documents and ledger claims is); services/billing_job_runner.py runs a job."""
import json
import logging
from collections import defaultdict
from dataclasses import dataclass, field, replace
from datetime import date, datetime

from .. import observability
from ..domain.billing_schedules import bill_cycle_days
from ..domain.catalog import Customer
from ..domain.filter_schemas import CUSTOMER, ORDER, PRODUCT, record
from ..domain.filters import evaluate, index_plan, intersect, parse_filter
from ..domain.billing_jobs import BillingJob, Decision, DecisionKind, JobStatus
from ..domain.numbering import human_number
from ..domain.orders import Order, has_one_time_charges, one_time_charges, one_time_line_of
from ..domain.subscriptions import Subscription
from ..domain.tenants import Tenant
from ..domain.timeutil import wall_now
from ..store import counters
from ..store.catalog import customers, orders, products, subscriptions
from ..store import invoice_schedules
from ..store import billing_jobs as job_store
from . import billing_pages

log = logging.getLogger("billrun.billing_jobs")


SCOPE_FIELDS = ("customer_filter", "order_filter", "product_filter", "bill_cycle_day_filter")


def scope_of(schedule) -> dict:
    return {name: getattr(schedule, name) for name in SCOPE_FIELDS} if schedule else {}


def new_job(tenant: Tenant, *, job_id: str, scheduled_time: datetime, target_date: date, invoice_date: date,
            created_by_id: str, now: datetime, schedule=None, is_catch_up: bool = False,
            subscription_ids: tuple[str, ...] | None = None, activate_invoices: bool = False) -> BillingJob:
    """Creates the job once; a repeated call answers the stored job. The number is drawn before the conditional
    put rather than after a read: a job is nearly always new, and a lost race only leaves a gap in the numbers."""
    job = BillingJob(
        id=job_id, name=human_number("BJ", counters.next_value(tenant.id, "BJ")), status=JobStatus.QUEUED,
        clock_id=tenant.clock_id, target_date=target_date, invoice_date=invoice_date,
        scheduled_time=scheduled_time, created_by_id=created_by_id, created_date=now, is_catch_up=is_catch_up,
        schedule_id=schedule.id if schedule else None, schedule_name=schedule.name if schedule else None,
        activate_invoices=schedule.activate_invoices if schedule else activate_invoices, **scope_of(schedule),
        subscription_ids=subscription_ids, lease_until=wall_now())  # expired at once: recovery finds it if unrun
    return job_store.jobs.create(tenant.id, job)


# --- scope --------------------------------------------------------------------------------------------------

@dataclass
class Scope:
    customers: dict[str, Customer] = field(default_factory=dict)
    subscriptions: dict[str, list[Subscription]] = field(default_factory=lambda: defaultdict(list))
    filtered_out: set[str] = field(default_factory=set)
    product_names: dict[str, str] = field(default_factory=dict)
    scheduled: dict[str, str] = field(default_factory=dict)  # customer id -> the invoice schedule billing it

    def skipped(self, customer_id: str) -> Decision:
        """The decision for a customer in scope with no subscriptions to bill, and why."""
        number = self.scheduled.get(customer_id)
        return Decision(customer_id, DecisionKind.SKIPPED.value,
                        f"billed by invoice schedule {number}" if number else "filtered out")


def find_scope(tenant_id: str, job: BillingJob) -> Scope:
    """Subscriptions the job may bill, grouped by customer, through its filters (or explicit ids); the customers,
    products, orders and invoice schedules they need are read in batches."""
    scope = Scope()
    customer_f = parse_filter(job.customer_filter, CUSTOMER, "customerFilter")
    order_f = parse_filter(job.order_filter, ORDER, "orderFilter")
    product_f = parse_filter(job.product_filter, PRODUCT, "productFilter")
    candidates, one_time_orders = _candidates(tenant_id, job, customer_f, order_f, product_f)
    cycle_days = bill_cycle_days(job.bill_cycle_day_filter)
    known = customers.find_many(tenant_id, [s.customer_id for s in candidates]
                                + [o.customer_id for o in one_time_orders])
    candidates += _one_time_charges(one_time_orders, known, job.subscription_ids)
    candidates = [s for s in candidates if s.customer_id in known and evaluate(customer_f, record(known[s.customer_id]))]
    catalog = products.find_many(tenant_id, [s.product_id for s in candidates])
    sold = {o.id: o for o in one_time_orders} | orders.find_many(
        tenant_id, {s.order_id for s in candidates} - {o.id for o in one_time_orders})
    schedules = invoice_schedules.schedules.find_many(
        tenant_id, [o.invoice_schedule_id for o in sold.values() if o.invoice_schedule_id])
    for sub in candidates:
        customer, product, order = known[sub.customer_id], catalog.get(sub.product_id), sold.get(sub.order_id)
        scope.customers[customer.id] = customer
        if product is not None:
            scope.product_names[product.id] = product.name
        schedule = schedules.get(order.invoice_schedule_id) if order and order.invoice_schedule_id else None
        if schedule is not None:  # the schedule bills this order's total: billing jobs leave it alone
            scope.scheduled[customer.id] = schedule.number
            continue
        keep = (cycle_days is None or sub.bill_cycle_day in cycle_days) and (
            job.product_filter is None or (product is not None and evaluate(product_f, record(product)))) and (
            job.order_filter is None or (order is not None and evaluate(order_f, record(order, customer=record(
                known.get(order.customer_id, customer))))))
        if keep:
            scope.subscriptions[customer.id].append(sub)
        else:
            scope.filtered_out.add(customer.id)
    return scope


def _candidates(tenant_id: str, job: BillingJob, customer_f, order_f, product_f) -> tuple[list[Subscription],
                                                                                         list[Order]]:
    """The subscriptions the job's filters can match, and the orders whose one-time charges they can match, read
    through the narrowest source an id names (explicit ids; customers by id, in the customer filter or the order
    filter's customerId / customer.id; orders by id, whose lines name their subscriptions; products by id, by
    index); otherwise the tenant's. Every filter is still evaluated on each candidate: a source only narrows what
    is read."""
    order_plan, product_plan = index_plan(order_f).equals, index_plan(product_f).equals
    chosen_customers = intersect(index_plan(customer_f).equals.get("id"), order_plan.get("customerId"),
                                  order_plan.get("customer.id"))
    if job.subscription_ids is not None:
        return _by_id(tenant_id, job.subscription_ids)
    if chosen_customers is not None:  # {id: {_in: [...]}}: read those customers' subscriptions only
        return ([s for c in sorted(set(chosen_customers)) for s in subscriptions.of_customer(tenant_id, c)],
                orders.with_one_time_charges(tenant_id, chosen_customers))
    if order_plan.get("id") is not None:
        found = orders.find_many(tenant_id, order_plan["id"])
        chosen = [found[i] for i in sorted(found)]
        return subscriptions.of_orders(tenant_id, chosen), [o for o in chosen if has_one_time_charges(o)]
    if product_plan.get("id") is not None:  # one-time charges have no product index: the sparse one-time index
        return ([s for p in sorted(set(product_plan["id"])) for s in subscriptions.of_product(tenant_id, p)],
                orders.with_one_time_charges(tenant_id))
    return subscriptions.of_tenant(tenant_id), orders.with_one_time_charges(tenant_id)


def _by_id(tenant_id: str, ids) -> tuple[list[Subscription], list[Order]]:
    """The subscriptions named, and the orders of the one-time charges named (read in batches)."""
    charges = {i: one_time_line_of(i) for i in ids}
    found = subscriptions.find_many(tenant_id, [i for i in ids if charges[i] is None])
    sold = orders.find_many(tenant_id, {line[0] for line in charges.values() if line})
    return [found[i] for i in ids if i in found], list(sold.values())


def _one_time_charges(one_time_orders, known: dict[str, Customer], chosen=None) -> list[Subscription]:
    """The one-time charges of these orders whose customer exists (those named in `chosen`, when given)."""
    charges = [charge for o in one_time_orders if o.customer_id in known
               for charge in one_time_charges(o, known[o.customer_id].bill_cycle_day)]
    if chosen is None:
        return charges
    named = set(chosen)  # once: a fan-out unit names hundreds of ids
    return [c for c in charges if c.id in named]


def restricted(job: BillingJob, customer_ids, subscription_ids=None) -> BillingJob:
    """The job narrowed to these customers (a work unit): its own filters AND the ids, served by the index; or,
    given the unit's subscriptions, those read by id in batches."""
    chosen = f"{{id: {{_in: {json.dumps(sorted(customer_ids))}}}}}"
    own = job.customer_filter if job.customer_filter and job.customer_filter.strip("{} \n") else None
    narrowed = replace(job, customer_filter=f"{{_and: [{own}, {chosen}]}}" if own else chosen)
    return narrowed if subscription_ids is None else replace(narrowed, subscription_ids=tuple(subscription_ids))


def billable(scope: Scope, customer_ids=None) -> list:
    """(customer, its subscriptions in scope) of each customer with some, by id."""
    ids = sorted(scope.customers) if customer_ids is None else customer_ids
    return [(scope.customers[c], scope.subscriptions[c]) for c in ids
            if c in scope.customers and scope.subscriptions.get(c)]


def report_finished(tenant_id: str, job: BillingJob, status: JobStatus, tally: dict, finished: datetime, *,
                    fanned_out: bool, **details) -> None:
    """The job's finish line and its metrics. Called once per job: by the one write that finished it."""
    duration = round((finished - job.started_time).total_seconds(), 3) if job.started_time else 0.0
    log.info("billing job %s finished: %s", job.name, status.value, extra={
        "jobName": job.name, "status": status.value, "counts": tally, "durationSeconds": duration,
        "fannedOut": fanned_out, **details})
    failed = {observability.JOBS_FAILED: 1} if status is JobStatus.FAILED else {}
    observability.emit({observability.JOB_DURATION: duration, observability.INVOICES: tally["invoices"],
                        observability.CREDIT_MEMOS: tally["creditMemos"], observability.ERRORS: tally["errors"],
                        **failed},
                       tenantId=tenant_id, jobId=job.id, jobName=job.name, status=status.value,
                       fannedOut=fanned_out)


def preview(tenant: Tenant, job: BillingJob, now: datetime) -> dict:
    """Exactly what bill_job would create, computed by the same code, writing nothing."""
    scope = find_scope(tenant.id, job)
    runs = {run.decision.customer_id: run for run in
            billing_pages.bill(tenant, job, billable(scope), scope.product_names, now, dry_run=True)}
    runs = [runs.get(c) or billing_pages.CustomerOutcome(scope.skipped(c)) for c in sorted(scope.customers)]
    return {"target_date": job.target_date, "invoice_date": job.invoice_date,
            "invoices": [r.invoice for r in runs if r.invoice], "credit_memos": [r.credit_memo for r in runs if r.credit_memo],
            "decisions": [r.decision for r in runs]}
