"""Bills a billing job's customers a page at a time: the page's ledger read in batched requests (store/ledger.py),
every proposal computed in memory, each customer's documents, ledger claims and ledger head written in a transaction
it shares with other customers of the page, and the page's decisions in batched writes.

Exactly once is store/documents.py's argument (a document with a derived id, put only if absent, in one
transaction with what records it); here, what records a billing job's documents:
1. A customer's invoice and credit memo have ids derived from (job, customer); their transaction holds the ledger
   claims of their lines, each a compare-and-set on its period entry's version, and the customer's ledger head,
   a compare-and-set on the head's version that marks its subscriptions settled (domain.billing rule 10).
2. A run whose claim or head write lost to another job reads that customer's ledger again and proposes again: the
   other job's claims now count as billed.
3. A re-run proposes from the head, which the first run's transaction marked settled: it proposes nothing for a
   customer the first run billed, and finds that customer's documents by their derived ids (a customer already
   billed is looked up so, by whoever billed it). Were anything proposed still, the documents' puts are refused.
4. A customer with more actions than a transaction holds (batch.MAX_ACTIONS) writes some claims in transactions
   of their own first (with its head, marking their subscriptions unvouched), and its documents with the rest last.
   Until then those claims name documents nobody can see; a re-run reads those subscriptions' entries in full,
   counts its own documents' claims as unbilled, so proposes the same, skips the claims it finds its documents
   already holding (and releases those its new proposal no longer wants): every claim ends backed by a document.
Decisions are then written as batched puts keyed by (job, customer): a re-run writes the same facts again."""
import logging
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from .. import observability
from ..config import settings
from ..domain import billing
from ..domain.billing import PeriodChange, Proposal, ProposedLine
from ..domain.catalog import Customer
from ..domain.invoices import CreditMemo, DocumentLine, Invoice, InvoiceSource, InvoiceStatus, PaymentStatus, totals
from ..domain.billing_jobs import BillingJob, Decision, DecisionKind
from ..domain.numbering import human_number
from ..domain.orders import one_time_line_of
from ..domain.subscriptions import Subscription
from ..domain.tenants import Tenant
from ..store import counters, documents, ledger
from ..store.documents import DOCUMENT
from ..store.batch import MAX_ACTIONS, Transaction
from ..store import billing_jobs as job_store
from . import invoice_pdf
from .ids import derived_id

log = logging.getLogger("billrun.billing_jobs")
PAGE = 50  # customers whose ledger is read, proposed and written together
ROUNDS = 5  # proposals of one customer in one run while other jobs keep winning its periods; then an error
CLAIM = "claim"  # a refused claim was lost to another job (DOCUMENT: the document was written already)


@dataclass(frozen=True)
class CustomerOutcome:
    decision: Decision
    invoice: Invoice | None = None
    credit_memo: CreditMemo | None = None


@dataclass
class _Plan:
    """One customer of a page: what it is proposed, and the numbers its documents got."""
    customer: Customer
    subs: list[Subscription]
    proposal: Proposal
    invoice_id: str
    memo_id: str
    charges: list = field(default_factory=list)  # (PeriodChange, its lines) with a positive delta
    credits: list = field(default_factory=list)  # ... negative
    names: dict = field(default_factory=dict)  # "INV" / "CM" -> the number drawn for this run
    claimed: set = field(default_factory=set)  # (document id, subscription, period start) claimed in this run
    head: ledger.Head | None = None  # the customer's ledger head the proposal was computed from
    entries: dict = field(default_factory=dict)  # subscription id -> {period start: the entry read}

    @property
    def id(self) -> str:
        return self.customer.id

    def parts(self):
        """(prefix, document id, its (change, lines) pairs) of each document the proposal wants."""
        return [(prefix, doc_id, pairs) for prefix, doc_id, pairs in
                (("INV", self.invoice_id, self.charges), ("CM", self.memo_id, self.credits)) if pairs]

    def pending(self, seen) -> list[tuple[str, list[PeriodChange]]]:
        """(document id, the changes it still has to claim) of each wanted document."""
        return [(doc_id, ledger.unclaimed([c for c, _ in pairs if (doc_id, c.subscription_id, c.period.start)
                                           not in self.claimed], doc_id, seen.entries))
                for _, doc_id, pairs in self.parts()]

    def actions(self, seen) -> int:
        """Its documents, its claims still to write, and its head."""
        return len(self.parts()) + sum(len(changes) for _, changes in self.pending(seen)) + 1

    def marks(self, target) -> dict[str, str]:
        """The head's marks once every claim of the proposal is written: each subscription's settled date."""
        marks, changed = dict(self.head.marks), defaultdict(list)
        for change in self.proposal.changes:
            changed[change.subscription_id].append(change.period.start)
        for sub in self.subs:
            entries, changes = self.entries.get(sub.id, {}), changed[sub.id]
            through = billing.settled_through(sub, entries, changes, target, self.head.through(sub),
                                              {self.invoice_id, self.memo_id})
            if through is not None or entries or changes or sub.id in marks:  # a subscription with entries
                marks[sub.id] = ledger.mark(sub, through)
        return marks


@dataclass(frozen=True)
class _BillCall:
    """What a bill() call was asked: whose documents, dated when, and what to write."""
    tenant: Tenant
    job: BillingJob
    product_names: dict[str, str]
    now: datetime
    dry_run: bool  # compute only: a preview
    record_errors: bool  # log Error decisions (a fan-out unit leaves them to its last delivery)


def bill(tenant: Tenant, job: BillingJob, customers: list[tuple[Customer, list[Subscription]]],
         product_names: dict[str, str], now: datetime, *, dry_run: bool = False,
         record_errors: bool = True) -> list[CustomerOutcome]:
    """Bills the customers (each with its subscriptions in scope) page by page, `page_threads` pages at once (pages
    share no customer, so their writes are independent), and logs their decisions; a dry run writes nothing. A page
    that fails is billed again one customer at a time, so one customer's failure is that customer's Error decision
    alone. Runs come back in the customers' order."""
    run = _BillCall(tenant, job, product_names, now, dry_run, record_errors)
    pages = [customers[start:start + PAGE] for start in range(0, len(customers), PAGE)]
    threads = min(settings().page_threads, len(pages))
    if threads <= 1:
        return [one for page in pages for one in _bill_page(run, page)]
    keys = observability.current()  # log lines of the pages' threads carry the job's keys too

    def bill_page(page):
        with observability.correlated(**keys):
            return _bill_page(run, page)

    with ThreadPoolExecutor(threads, thread_name_prefix="billing-page") as pool:
        futures = [pool.submit(bill_page, page) for page in pages]
        try:
            return [one for future in futures for one in future.result()]
        except BaseException:  # the process is going down (a crash, a timeout): start no further page
            for future in futures:
                future.cancel()
            raise


def _bill_page(run: _BillCall, page) -> list[CustomerOutcome]:
    try:
        return _page(run, page)
    except Exception as error:
        if len(page) == 1:
            return [_error(run, page[0][0], error)]
        return [_alone(run, one) for one in page]  # which customer failed, and the others billed


def _alone(run: _BillCall, one) -> CustomerOutcome:
    try:
        return _page(run, [one])[0]
    except Exception as error:  # one customer's failure must not stop the others; the job reports it
        return _error(run, one[0], error)


def _error(run: _BillCall, customer: Customer, error: Exception) -> CustomerOutcome:
    log.error("customer %s of billing job %s failed: %r", customer.id, run.job.name, error, exc_info=error)
    failed = CustomerOutcome(Decision(customer.id, DecisionKind.ERROR.value, str(error)[:500]))
    _record(run, [failed.decision])
    return failed


def _record(run: _BillCall, decisions: list[Decision]) -> None:
    kept = [d for d in decisions if run.record_errors or d.decision != DecisionKind.ERROR.value]
    if not run.dry_run:
        job_store.record_decisions(run.tenant.id, run.job.id, kept)


def _page(run: _BillCall, page) -> list[CustomerOutcome]:
    seen = ledger.read(run.tenant.id, {customer.id: subs for customer, subs in page})
    plans = [_plan(run.job, customer, subs, seen, run.product_names) for customer, subs in page]
    if run.dry_run:
        return [_billed(run.job, plan, run.now) for plan in plans]
    committed = _commit(run, plans, seen)
    runs = [committed[plan.id] for plan in plans]
    _record(run, [r.decision for r in runs])
    invoice_pdf.queue(run.tenant.id, [r.invoice.id for r in runs if r.invoice])
    return runs


def _plan(job: BillingJob, customer: Customer, subs, seen, product_names) -> _Plan:
    invoice_id, memo_id = derived_id(job.id, customer.id, "invoice"), derived_id(job.id, customer.id, "credit")
    sub_ids = {s.id for s in subs}
    head = seen.heads[customer.id]
    entries = {key: entry for key, entry in seen.entries.items() if key[0] in sub_ids}
    settled = {sub.id: through for sub in subs if (through := head.through(sub)) is not None}
    proposal = billing.propose(subs, entries, job.target_date, product_names, own_documents={invoice_id, memo_id},
                               settled=settled)
    by_sub = defaultdict(dict)
    for (sub_id, start), entry in entries.items():
        by_sub[sub_id][start] = entry
    plan = _Plan(customer, subs, proposal, invoice_id, memo_id, head=head, entries=dict(by_sub))
    plan.charges, plan.credits = _split(proposal)
    return plan


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


# --- writing -------------------------------------------------------------------------------------------------

def _commit(run: _BillCall, plans: list[_Plan], seen) -> dict[str, CustomerOutcome]:
    tenant, job, now = run.tenant, run.job, run.now
    runs = {}
    pending = [_again(run, plan, seen) if _release_unwanted(tenant, plan) else plan for plan in plans]
    for _ in range(ROUNDS):
        runs.update(_without_documents(tenant, [plan for plan in pending if not plan.parts()]))
        pending = [plan for plan in pending if plan.parts()]
        if not pending:
            return runs
        _number(tenant, pending)
        retry = []
        for pack in _packs(pending, seen, run):
            refused = _write(run, pack, seen)
            for plan in pack:
                codes = refused.get(plan.id)
                if codes is None:
                    runs[plan.id] = _billed(job, plan, now)
                elif DOCUMENT in codes:  # an earlier run of this job wrote them: they stand
                    runs[plan.id] = _stored(tenant, plan)
                elif CLAIM in codes:  # another job claimed a period first: read and propose again
                    retry.append(_again(run, plan, seen))
                else:  # cancelled for another customer's refusal (or a conflict): as it is, next round
                    retry.append(plan)
        pending = retry
    for plan in pending:
        runs[plan.id] = CustomerOutcome(Decision(plan.id, DecisionKind.ERROR.value,
                                             f"other jobs kept claiming its periods ({ROUNDS} proposals)"))
    return runs


def _release_unwanted(tenant, plan: _Plan) -> bool:
    """Releases the claims an earlier, crashed run of this job made for documents the proposal no longer wants
    there; whether it released any (the plan's head is then behind)."""
    wanted = {(doc_id, c.subscription_id, c.period.start) for _, doc_id, pairs in plan.parts() for c, _ in pairs}
    unwanted = defaultdict(list)
    for sub_id, entries in plan.entries.items():
        for start, entry in entries.items():
            for doc_id in {doc for doc, _ in entry.documents} & {plan.invoice_id, plan.memo_id}:
                if (doc_id, sub_id, start) not in wanted:
                    unwanted[doc_id].append((sub_id, start))
    for doc_id, periods in unwanted.items():
        ledger.release(tenant.id, plan.id, doc_id, periods)
    return bool(unwanted)


def _without_documents(tenant, plans: list[_Plan]) -> dict[str, CustomerOutcome]:
    """The runs of plans that propose no document. A customer found already billed may have been billed by this
    very job (an earlier run that crashed before logging it): its documents, if they exist, are the run's."""
    billed = [plan for plan in plans if billing.ALREADY_BILLED in {reason for _, reason in plan.proposal.skipped}]
    invoices = documents.invoices.find_many(tenant.id, [plan.invoice_id for plan in billed]) if billed else {}
    memos = documents.credit_memos.find_many(tenant.id, [plan.memo_id for plan in billed]) if billed else {}
    runs = {}
    for plan in plans:
        invoice, memo = invoices.get(plan.invoice_id), memos.get(plan.memo_id)
        runs[plan.id] = CustomerOutcome(_decision(plan, invoice, memo), invoice, memo)
    return runs


def _number(tenant, plans: list[_Plan]) -> None:
    """Numbers for the documents that have none yet, one block per prefix."""
    for prefix in ("INV", "CM"):
        needing = [plan for plan in plans if prefix not in plan.names and
                   any(p == prefix for p, _, _ in plan.parts())]
        if needing:
            for plan, value in zip(needing, counters.next_block(tenant.id, prefix, len(needing))):
                plan.names[prefix] = human_number(prefix, value)


def _packs(plans: list[_Plan], seen, run: _BillCall):
    """The plans grouped so each group's actions fit in one transaction. A plan too large for one has its surplus
    claims written first, in transactions of their own (point 4 of the module docstring)."""
    pack, size = [], 0
    for plan in plans:
        _claim_surplus(run.tenant, plan, seen)
        actions = plan.actions(seen)
        if pack and size + actions > MAX_ACTIONS:
            yield pack
            pack, size = [], 0
        pack.append(plan)
        size += actions
    if pack:
        yield pack


def _claim_surplus(tenant, plan: _Plan, seen) -> None:
    while plan.actions(seen) > MAX_ACTIONS:
        doc_id, changes = next((d, c) for d, c in plan.pending(seen) if c)
        batch = changes[:MAX_ACTIONS - 1]  # the claims of a transaction, and its head
        marks = {**plan.head.marks, **{c.subscription_id: ledger.UNVOUCHED for c in batch}}
        transaction = Transaction()
        ledger.add_claims(transaction, tenant.id, batch, doc_id, seen.entries, (plan.id, CLAIM))
        ledger.put_head(transaction, tenant.id, plan.head, marks, (plan.id, CLAIM))
        if transaction.commit():
            raise RuntimeError(f"customer {plan.id}: another job claimed its periods meanwhile")  # billed alone
        plan.claimed |= {(doc_id, c.subscription_id, c.period.start) for c in batch}
        plan.head = plan.head.written(marks)


def _write(run: _BillCall, pack: list[_Plan], seen) -> dict[str, set[str]]:
    """One transaction for the pack: {customer id: what of its actions was refused}, {} when all went in."""
    tenant, job, now = run.tenant, run.job, run.now
    transaction = Transaction()
    for plan in pack:
        for doc_id, changes in plan.pending(seen):
            ledger.add_claims(transaction, tenant.id, changes, doc_id, seen.entries, (plan.id, CLAIM))
        ledger.put_head(transaction, tenant.id, plan.head, plan.marks(job.target_date), (plan.id, CLAIM))
        invoice, memo = _documents(job, plan, now)
        for repository, document in ((documents.invoices, invoice), (documents.credit_memos, memo)):
            if document is not None:
                repository.add(transaction, tenant.id, document, (plan.id, DOCUMENT))
    refused: dict[str, set[str]] = {}
    for refusal in transaction.commit():
        customer_id, kind = refusal.tag
        refused.setdefault(customer_id, set()).add(kind if refusal.code == "ConditionalCheckFailed" else "retry")
    if refused:  # all were cancelled: the plans without a refusal of their own go again as they are
        refused.update({plan.id: set() for plan in pack if plan.id not in refused})
    return refused


def _again(run: _BillCall, plan: _Plan, seen) -> _Plan:
    seen.update(ledger.read(run.tenant.id, {plan.id: plan.subs}))
    again = _plan(run.job, plan.customer, plan.subs, seen, run.product_names)
    again.names, again.claimed = plan.names, plan.claimed
    return again


def _billed(job, plan: _Plan, now) -> CustomerOutcome:
    """The run of a plan whose documents were written (or, previewing, would be)."""
    invoice, memo = _documents(job, plan, now)
    return CustomerOutcome(_decision(plan, invoice, memo), invoice, memo)


def _stored(tenant, plan: _Plan) -> CustomerOutcome:
    invoice = documents.invoices.find(tenant.id, plan.invoice_id)
    memo = documents.credit_memos.find(tenant.id, plan.memo_id)
    return CustomerOutcome(_decision(plan, invoice, memo), invoice, memo)


# --- the documents -------------------------------------------------------------------------------------------

def _documents(job: BillingJob, plan: _Plan, now: datetime) -> tuple[Invoice | None, CreditMemo | None]:
    charges = [line for _, lines in plan.charges for line in lines]
    credits = [line for _, lines in plan.credits for line in lines]
    return (_invoice(job, plan.customer, plan.invoice_id, plan.names.get("INV"), charges, now),
            _memo(job, plan.customer, plan.memo_id, plan.names.get("CM"), credits, now))


def document_lines(doc_id: str, lines: list[ProposedLine]) -> tuple[DocumentLine, ...]:
    return tuple(DocumentLine(
        id=derived_id(doc_id, l.subscription_id, l.start_date, l.kind), description=l.description,
        quantity=l.quantity, unit_price=abs(l.unit_price) if l.kind == billing.ADJUSTMENT else l.unit_price,
        amount=abs(l.amount), product_id=l.product_id, start_date=l.start_date,
        end_date=l.end_date, proration_days=l.days if l.days != l.full_days else None,
        proration_full_days=l.full_days if l.days != l.full_days else None, period_start=l.period_start,
        **_what_it_bills(l.subscription_id)) for l in lines)


def _what_it_bills(ledger_id: str) -> dict:
    """A line's subscription, or (a one-time charge) its order line: DocumentLine.ledger_id reads it back."""
    line = one_time_line_of(ledger_id)
    return {"subscription_id": ledger_id} if line is None else {"order_id": line[0], "order_line_id": line[1]}


def _invoice(job, customer, invoice_id, name, lines, now) -> Invoice | None:
    if not lines:
        return None
    doc_lines = document_lines(invoice_id, lines)
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
    doc_lines = document_lines(memo_id, lines)
    t = totals(doc_lines, customer.tax_rate, customer.currency)
    reasons = sorted({l.description.rpartition("(")[2].rstrip(")") for l in lines if "(" in l.description})
    return CreditMemo(
        id=memo_id, name=name, customer_id=customer.id, currency=customer.currency, memo_date=job.invoice_date,
        amount_without_tax=t.amount_without_tax, tax_amount=t.tax_amount, amount=t.amount, lines=doc_lines,
        reason="; ".join(reasons) or "billed time given back", created_by_id=job.created_by_id, created_date=now,
        billing_job_id=job.id)


def _decision(plan: _Plan, invoice, memo) -> Decision:
    if invoice is not None or memo is not None:
        return Decision(plan.id, DecisionKind.BILLED.value, None, invoice.id if invoice else None,
                        memo.id if memo else None, len(invoice.lines if invoice else ()) + len(memo.lines if memo else ()))
    reasons = {reason for _, reason in plan.proposal.skipped}
    if plan.proposal.lines:  # proposed, but other jobs claimed every period first
        reason = billing.ALREADY_BILLED
    else:
        reason = next((r for r in (billing.ALREADY_BILLED, billing.ZERO_AMOUNT) if r in reasons), billing.NOTHING_DUE)
    return Decision(plan.id, DecisionKind.SKIPPED.value, reason)
