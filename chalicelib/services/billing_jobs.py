"""Billing jobs: find the scope, propose per customer, claim periods in the ledger, finalize documents.

Exactly-once, by design (SPEC guarantee 1), with no multi-item transaction:
1. Each slot's job has an id derived from (schedule, slot), created by a conditional put: redelivered
   or concurrent ticks share one job, and only the holder of its lease runs it (store/jobs.py).
2. Each customer's invoice and credit memo in a job have ids derived from (job, customer). A document is
   first written `building`, listing the ledger keys it will claim; then each period is claimed in the
   ledger by compare-and-set (store/ledger.py); then the document is finalized with the lines it won.
3. A re-run (crash, expired lease) proposes with the job's own documents counted as unbilled, recognises
   its own claims instead of adding them again, releases claims it no longer needs, and finishes the
   building documents. Another job racing for a period loses the compare-and-set and skips that period.
So whichever single write a crash interrupts, re-running converges on the invoices a clean run writes."""
import json
import logging
import uuid
from collections import defaultdict
from dataclasses import asdict, dataclass, field, replace
from datetime import date, datetime, timedelta

from pydantic.alias_generators import to_camel

from .. import observability
from ..domain import billing
from ..domain.billing import PeriodChange, Proposal, ProposedLine
from ..domain.billing_schedules import (CUSTOMER_FILTER, ORDER_FILTER, PRODUCT_FILTER, bill_cycle_days)
from ..domain.catalog import Customer
from ..domain.filters import evaluate, index_plan, parse_filter
from ..domain.invoices import (CreditMemo, DocumentLine, Invoice, InvoiceSource, InvoiceStatus, PaymentStatus,
                               totals)
from ..domain.jobs import BillingJob, Decision, DecisionKind, JobStatus, counts
from ..domain.numbering import human_number
from ..domain.subscriptions import Subscription
from ..domain.tenants import Tenant
from ..domain.timeutil import wall_now
from ..store import counters, documents, ledger
from ..store.catalog import customers, orders, products, subscriptions
from ..store import invoice_schedules
from ..store import jobs as job_store

_NS = uuid.UUID("0f6f3a8e-58c2-4d8e-9d0e-6f1b2a3c4d5e")
log = logging.getLogger("billrun.billing_jobs")


def derived_id(*parts) -> str:
    return str(uuid.uuid5(_NS, "/".join(str(p) for p in parts)))


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
        clock_domain=tenant.clock_domain, target_date=target_date, invoice_date=invoice_date,
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


def _record(entity) -> dict:
    return {to_camel(k): v for k, v in asdict(entity).items()}


def find_scope(tenant_id: str, job: BillingJob) -> Scope:
    """Subscriptions the job may bill, grouped by customer, through its filters (or explicit ids)."""
    scope = Scope()
    customer_f = parse_filter(job.customer_filter, CUSTOMER_FILTER, "customerFilter")
    chosen_customers = index_plan(customer_f).equals.get("id")
    if job.subscription_ids is not None:
        candidates = [s for s in (subscriptions.find(tenant_id, i) for i in job.subscription_ids) if s]
    elif chosen_customers is not None:  # {id: {_in: [...]}}: read those customers' subscriptions only
        candidates = [s for c in sorted(set(chosen_customers)) for s in subscriptions.of_customer(tenant_id, c)]
    else:
        candidates = subscriptions.of_tenant(tenant_id)
    order_f = parse_filter(job.order_filter, ORDER_FILTER, "orderFilter")
    product_f = parse_filter(job.product_filter, PRODUCT_FILTER, "productFilter")
    cycle_days = bill_cycle_days(job.bill_cycle_day_filter)
    cache: dict = {}
    for sub in candidates:
        customer = _cached(cache, customers, tenant_id, sub.customer_id)
        if customer is None or not evaluate(customer_f, _record(customer)):
            continue
        scope.customers[customer.id] = customer
        product = _cached(cache, products, tenant_id, sub.product_id)
        order = _cached(cache, orders, tenant_id, sub.order_id)
        if product is not None:
            scope.product_names[product.id] = product.name
        if order is not None and order.invoice_schedule_id is not None:
            schedule = _cached(cache, invoice_schedules.schedules, tenant_id, order.invoice_schedule_id)
            if schedule is not None:  # the schedule bills this order's total: billing jobs leave it alone
                scope.scheduled[customer.id] = schedule.number
                continue
        keep = (cycle_days is None or sub.bill_cycle_day in cycle_days) and (
            job.product_filter is None or (product is not None and evaluate(product_f, _record(product)))) and (
            job.order_filter is None or (order is not None and evaluate(order_f, _record(order))))
        if keep:
            scope.subscriptions[customer.id].append(sub)
        else:
            scope.filtered_out.add(customer.id)
    return scope


def restricted(job: BillingJob, customer_ids) -> BillingJob:
    """The job narrowed to these customers (a work unit): its own filters AND the ids, served by the index."""
    chosen = f"{{id: {{_in: {json.dumps(sorted(customer_ids))}}}}}"
    own = job.customer_filter if job.customer_filter and job.customer_filter.strip("{} \n") else None
    return replace(job, customer_filter=f"{{_and: [{own}, {chosen}]}}" if own else chosen)


def _cached(cache: dict, repository, tenant_id: str, ident: str):
    key = (repository.what, ident)
    if key not in cache:
        cache[key] = repository.find(tenant_id, ident)
    return cache[key]


# --- one customer ------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class CustomerRun:
    decision: Decision
    invoice: Invoice | None = None
    credit_memo: CreditMemo | None = None


def bill_customer(tenant: Tenant, job: BillingJob, customer: Customer, subs: list[Subscription],
                  product_names: dict[str, str], now: datetime, dry_run: bool = False) -> CustomerRun:
    invoice_id, memo_id = derived_id(job.id, customer.id, "invoice"), derived_id(job.id, customer.id, "credit")
    seen = ledger.entries(tenant.id, [s.id for s in subs])
    proposal = billing.propose(subs, seen, job.target_date, product_names, own_documents={invoice_id, memo_id})
    charges, credits = _split(proposal)
    if dry_run:
        invoice = _invoice(tenant, job, customer, invoice_id, None, [l for _, ls in charges for l in ls], now)
        memo = _memo(job, customer, memo_id, None, [l for _, ls in credits for l in ls], now)
        return CustomerRun(_decision(customer.id, proposal, invoice, memo), invoice, memo)
    invoice = _commit(tenant, documents.invoices, invoice_id, charges, seen,
                      lambda name, lines: _invoice(tenant, job, customer, invoice_id, name, lines, now), "INV")
    memo = _commit(tenant, documents.credit_memos, memo_id, credits, seen,
                   lambda name, lines: _memo(job, customer, memo_id, name, lines, now), "CM")
    return CustomerRun(_decision(customer.id, proposal, invoice, memo), invoice, memo)


def _split(proposal: Proposal):
    """(change, its lines) pairs: periods whose delta is positive go on the invoice, negative on the memo."""
    by_period = defaultdict(list)
    for line in proposal.lines:
        by_period[(line.subscription_id, line.period_start)].append(line)
    charges, credits = [], []
    for change in proposal.changes:
        lines = by_period[(change.subscription_id, change.period.start)]
        (charges if change.delta > 0 else credits).append((change, lines))
    return charges, credits


def _commit(tenant: Tenant, repository, doc_id: str, parts: list[tuple[PeriodChange, list[ProposedLine]]], seen,
            build, prefix: str):
    """building -> claims -> finished, each step safe to repeat (see the module docstring)."""
    state = repository.building(tenant.id, doc_id)
    if state is not None and state[1] is None:
        return state[0]  # finished by an earlier run
    wanted = [ledger.ledger_key(c.subscription_id, c.period.start) for c, _ in parts]
    held_before = state[1] if state else []
    if not parts and not held_before:
        return None
    if state is None:
        name = human_number(prefix, counters.next_value(tenant.id, prefix))
        if not repository.start(tenant.id, build(name, [l for _, ls in parts for l in ls]), wanted):
            return _commit(tenant, repository, doc_id, parts, seen, build, prefix)  # a concurrent run started it
    else:
        name = state[0].name
        repository.set_claims(tenant.id, doc_id, sorted(set(held_before) | set(wanted)))
    won = [lines for change, lines in parts
           if ledger.claim(tenant.id, change, doc_id, seen.get((change.subscription_id, change.period.start)))]
    for key in set(held_before) - set(wanted):
        sub_id, _, start = key.rpartition("#")
        ledger.release(tenant.id, sub_id, date.fromisoformat(start), doc_id)
    lines = [l for ls in won for l in ls]
    if not lines:
        repository.discard(tenant.id, doc_id)
        return None
    document = build(name, lines)
    if not repository.finish(tenant.id, document):
        return repository.get(tenant.id, doc_id)
    return document


def _document_lines(doc_id: str, lines: list[ProposedLine]) -> tuple[DocumentLine, ...]:
    return tuple(DocumentLine(
        id=derived_id(doc_id, l.subscription_id, l.start_date, l.kind), description=l.description,
        quantity=l.quantity, unit_price=abs(l.unit_price) if l.kind == billing.ADJUSTMENT else l.unit_price,
        amount=abs(l.amount), subscription_id=l.subscription_id, product_id=l.product_id, start_date=l.start_date,
        end_date=l.end_date, proration_days=l.days if l.days != l.full_days else None,
        proration_full_days=l.full_days if l.days != l.full_days else None, period_start=l.period_start)
        for l in lines)


def _invoice(tenant, job, customer, invoice_id, name, lines, now) -> Invoice | None:
    if not lines:
        return None
    doc_lines = _document_lines(invoice_id, lines)
    t = totals(doc_lines, customer.tax_rate, customer.currency)
    status = InvoiceStatus.ACTIVE if job.activate_invoices else InvoiceStatus.DRAFT
    return Invoice(
        id=invoice_id, name=name, customer_id=customer.id, currency=customer.currency, status=status,
        payment_status=PaymentStatus.NOT_TRANSFERRED, source=InvoiceSource.BILLING, invoice_date=job.invoice_date,
        due_date=job.invoice_date + timedelta(days=customer.payment_term_days),
        start_date=min(l.start_date for l in doc_lines), end_date=max(l.end_date for l in doc_lines),
        target_date=job.target_date, amount_without_tax=t.amount_without_tax, tax_amount=t.tax_amount,
        amount=t.amount, balance=t.amount, lines=doc_lines, created_by_id=job.created_by_id,
        last_modified_by_id=job.created_by_id, created_date=now, last_modified_date=now,
        is_catch_up=job.is_catch_up, bill_to_contact_id=customer.bill_to_contact_id, billing_job_id=job.id,
        billing_schedule_id=job.schedule_id, activated_by_id=job.created_by_id if job.activate_invoices else None,
        activated_time=now if job.activate_invoices else None)


def _memo(job, customer, memo_id, name, lines, now) -> CreditMemo | None:
    if not lines:
        return None
    doc_lines = _document_lines(memo_id, lines)
    t = totals(doc_lines, customer.tax_rate, customer.currency)
    reasons = sorted({l.description.rpartition("(")[2].rstrip(")") for l in lines if "(" in l.description})
    return CreditMemo(
        id=memo_id, name=name, customer_id=customer.id, currency=customer.currency, memo_date=job.invoice_date,
        amount_without_tax=t.amount_without_tax, tax_amount=t.tax_amount, amount=t.amount, lines=doc_lines,
        reason="; ".join(reasons) or "billed time given back", created_by_id=job.created_by_id, created_date=now,
        billing_job_id=job.id)


def _decision(customer_id: str, proposal: Proposal, invoice, memo) -> Decision:
    if invoice is not None or memo is not None:
        return Decision(customer_id, DecisionKind.BILLED.value, None, invoice.id if invoice else None,
                        memo.id if memo else None, len(invoice.lines if invoice else ()) + len(memo.lines if memo else ()))
    reasons = {reason for _, reason in proposal.skipped}
    if proposal.lines:  # proposed, but other jobs claimed every period first
        reason = billing.ALREADY_BILLED
    else:
        reason = next((r for r in (billing.ALREADY_BILLED, billing.ZERO_AMOUNT) if r in reasons), billing.NOTHING_DUE)
    return Decision(customer_id, DecisionKind.SKIPPED.value, reason)


# --- the job ---------------------------------------------------------------------------------------------

def run_job(tenant: Tenant, job_id: str, now: datetime) -> BillingJob:
    """Runs the job if its lease can be taken; `now` is the tenant's instant the documents are dated by."""
    with observability.correlated(tenantId=tenant.id, jobId=job_id):
        return _run_job(tenant, job_id, now)


def _run_job(tenant: Tenant, job_id: str, now: datetime) -> BillingJob:
    owner = uuid.uuid4().hex
    job = job_store.claim(tenant.id, job_id, owner, wall_now())
    if job is None:
        return job_store.jobs.get(tenant.id, job_id)
    log.info("billing job %s started (attempt %d)", job.name, job.attempts,
             extra={"jobName": job.name, "attempt": job.attempts, "scheduleId": job.schedule_id})
    from . import fanout  # fan-out builds on this module's scope and bill_customer
    if job.units_total is not None:  # split before; its runner died or a count was lost
        return fanout.resume(tenant, job, owner, now)
    scope = find_scope(tenant.id, job)
    if fanout.should_split(scope):
        return fanout.dispatch(tenant, job, scope, owner, now)
    recorded, errors = _bill_scope(tenant, job, scope, now)
    status = JobStatus.COMPLETED_WITH_ERRORS if errors else JobStatus.COMPLETED
    # A first attempt wrote the whole decision log itself; a later one also finds the earlier attempts' there
    decided = recorded.values() if job.attempts == 1 else job_store.decisions(tenant.id, job.id)
    tally, finished = counts(decided), wall_now()
    done = job_store.complete(tenant.id, job.id, owner, status, tally, finished, "; ".join(errors) or None)
    if done is None:  # this lease ran out and another runner took the job over: the stored job is its
        return job_store.jobs.get(tenant.id, job_id)
    report_finished(tenant.id, job, status, tally, finished, fanned_out=False)
    return done


def _bill_scope(tenant: Tenant, job: BillingJob, scope: Scope, now: datetime) -> tuple[dict[str, Decision], list[str]]:
    """Bills each customer in scope and logs its decision; answers the decisions logged (by customer, as the log
    keys them) and the customers' errors."""
    recorded, errors = {}, []

    def record(decision: Decision) -> None:
        job_store.record_decision(tenant.id, job.id, decision)
        recorded[decision.customer_id] = decision

    for customer_id in sorted(scope.customers):
        subs = scope.subscriptions.get(customer_id, [])
        if not subs:
            record(scope.skipped(customer_id))
            continue
        try:
            record(bill_customer(tenant, job, scope.customers[customer_id], subs, scope.product_names, now).decision)
        except Exception as error:  # one customer's failure must not stop the others; the job reports it
            errors.append(f"{customer_id}: {error!r}")
            record(Decision(customer_id, DecisionKind.ERROR.value, str(error)[:500]))
    return recorded, errors


def report_finished(tenant_id: str, job: BillingJob, status: JobStatus, tally: dict, finished: datetime, *,
                    fanned_out: bool, **details) -> None:
    """The job's finish line and its metrics. Called once per job: by the one write that finished it."""
    duration = round((finished - job.started_time).total_seconds(), 3) if job.started_time else 0.0
    log.info("billing job %s finished: %s", job.name, status.value, extra={
        "jobName": job.name, "status": status.value, "counts": tally, "durationSeconds": duration,
        "fannedOut": fanned_out, **details})
    observability.emit({observability.JOB_DURATION: duration, observability.INVOICES: tally["invoices"],
                        observability.CREDIT_MEMOS: tally["creditMemos"], observability.ERRORS: tally["errors"]},
                       tenantId=tenant_id, jobId=job.id, jobName=job.name, status=status.value,
                       fannedOut=fanned_out)


def preview(tenant: Tenant, job: BillingJob, now: datetime) -> dict:
    """Exactly what run_job would create, computed by the same code, writing nothing."""
    scope = find_scope(tenant.id, job)
    runs = []
    for customer_id in sorted(scope.customers):
        subs = scope.subscriptions.get(customer_id, [])
        if not subs:
            runs.append(CustomerRun(scope.skipped(customer_id)))
            continue
        runs.append(bill_customer(tenant, job, scope.customers[customer_id], subs, scope.product_names, now,
                                  dry_run=True))
    return {"target_date": job.target_date, "invoice_date": job.invoice_date,
            "invoices": [r.invoice for r in runs if r.invoice], "credit_memos": [r.credit_memo for r in runs if r.credit_memo],
            "decisions": [r.decision for r in runs]}
