"""Runs invoice jobs: bulk activate, cancel or delete over a filter matching more than one request handles.

Queued by services/invoices.py, which hands each to the worker; run under a lease by the worker, or by a pass that
recovers it (InvoiceJobWork), in two phases (domain/invoice_jobs.py). Every step is safe to repeat after a crash or
a lost lease:
- Selecting writes a Pending result for each matching invoice before touching the invoice, then (activation)
  moves a Draft invoice to PendingActivation; the cursor saved after each page is where a re-run resumes,
  and an invoice already moved is known by its Pending result.
- Applying carries out each Pending result and records the outcome. An invoice this job already activated
  (its invoice_job_id is the job's) or canceled, or one already deleted, counts as done, not as a failure."""
import logging
import uuid
from dataclasses import replace

from .. import observability
from ..domain.errors import BillrunError
from ..domain.filter_schemas import INVOICE
from ..domain.filters import parse_filter
from ..domain.invoice_jobs import (InvoiceJob, InvoiceJobKind, InvoiceJobPhase, InvoiceJobResult, InvoiceJobStatus,
                                   ResultState, counts)
from ..domain.invoices import InvoiceStatus
from ..domain.tenants import LIVE_CLOCK
from ..domain.timeutil import wall_now
from ..store import invoice_jobs as store
from ..store.documents import invoices
from ..store.invoice_job_models import InvoiceJobModel
from ..store.invoice_jobs import invoice_jobs
from ..store.leases import gave_up, past_cap
from ..store.tenants import get_tenant
from . import invoices as service
from . import invoice_pdf, quotas
from .budget import Budget
from .context import RequestContext

log = logging.getLogger("billrun.invoice_jobs")
SELECT_PAGE = 200  # invoices read per index page while selecting; the cursor is saved after each
APPLY_BATCH = 100


def run(tenant_id: str, job_id: str) -> InvoiceJob:
    """Runs the job if its lease can be taken; answers the job as it is afterwards."""
    with observability.correlated(tenantId=tenant_id, jobId=job_id):
        return _run(tenant_id, job_id)


def _run(tenant_id: str, job_id: str) -> InvoiceJob:
    owner = uuid.uuid4().hex
    if not store.LEASES.claim(tenant_id, job_id, owner, wall_now()):
        return invoice_jobs.get(tenant_id, job_id)
    job = invoice_jobs.get(tenant_id, job_id)
    log.info("invoice job started (%s, attempt %d, %s)", job.kind.value, job.attempts, job.phase.value,
             extra={"kind": job.kind.value, "attempt": job.attempts, "phase": job.phase.value})
    if past_cap(job.attempts):  # the rule billing jobs follow too (store/leases.py)
        _finish(tenant_id, job, owner, gave_up(job.error))
        return invoice_jobs.get(tenant_id, job_id)
    tenant = get_tenant(tenant_id)
    ctx = RequestContext(tenant=tenant, actor_id=job.created_by_id, actor_name=job.created_by_name,
                         now=tenant.now(wall_now()))
    if job.phase is InvoiceJobPhase.SELECTING and not _select(ctx, job, owner):
        return invoice_jobs.get(tenant_id, job_id)  # another runner took the lease over
    if not _apply(ctx, job, owner):
        return invoice_jobs.get(tenant_id, job_id)
    _finish(tenant_id, job, owner)
    return invoice_jobs.get(tenant_id, job_id)


def _select(ctx: RequestContext, job: InvoiceJob, owner: str) -> bool:
    f = parse_filter(job.graphql_filter, INVOICE, "graphqlFilter")
    tenant_id = ctx.tenant.id
    for page, cursor in service.matching_pages(ctx, f, job.cursor, SELECT_PAGE):
        for invoice in page:
            store.record(tenant_id, job.id, InvoiceJobResult(invoice.id, ResultState.PENDING, invoice.status.value))
            if job.kind is InvoiceJobKind.ACTIVATE and invoice.status is InvoiceStatus.DRAFT:
                _mark_pending_activation(ctx, job, invoice)
        if not store.advance(tenant_id, job.id, owner, wall_now(), cursor=cursor,
                             phase=None if cursor else InvoiceJobPhase.APPLYING):
            return False
    return True


def _mark_pending_activation(ctx: RequestContext, job: InvoiceJob, invoice) -> None:
    """Visible progress, not a lock: if a concurrent change wins, Applying activates the Draft all the same."""
    marked = replace(invoice, status=InvoiceStatus.PENDING_ACTIVATION, invoice_job_id=job.id,
                     last_modified_by_id=ctx.actor_id, last_modified_date=ctx.now)
    try:
        invoices.replace(ctx.tenant.id, marked, invoice)
    except BillrunError:
        log.info("invoice %s changed while job %s selected it; it is activated in the next phase", invoice.id, job.id)


def _apply(ctx: RequestContext, job: InvoiceJob, owner: str) -> bool:
    tenant_id, after = ctx.tenant.id, None
    while True:
        batch = store.pending(tenant_id, job.id, APPLY_BATCH, after)
        if not batch:
            return True
        done = []
        for result in batch:
            done.append(_apply_one(ctx, job, result.invoice_id))
            store.record(tenant_id, job.id, done[-1])
        if job.kind is not InvoiceJobKind.DELETE:  # the changed invoices' PDFs, rendered again off the job
            invoice_pdf.queue(tenant_id, [r.invoice_id for r in done if r.state is ResultState.SUCCEEDED])
        after = batch[-1].invoice_id
        if not store.LEASES.renew(tenant_id, job.id, owner, wall_now()):
            return False


def _apply_one(ctx: RequestContext, job: InvoiceJob, invoice_id: str) -> InvoiceJobResult:
    invoice = invoices.find(ctx.tenant.id, invoice_id)
    if invoice is None:
        if job.kind is InvoiceJobKind.DELETE:
            return InvoiceJobResult(invoice_id, ResultState.SUCCEEDED, None, "deleted")
        return InvoiceJobResult(invoice_id, ResultState.FAILED, None, "invoice not found")
    if job.kind is InvoiceJobKind.ACTIVATE and invoice.status is InvoiceStatus.ACTIVE \
            and invoice.invoice_job_id == job.id:
        return InvoiceJobResult(invoice_id, ResultState.SUCCEEDED, invoice.status.value)  # done before a restart
    try:
        if job.kind is InvoiceJobKind.ACTIVATE:
            done = service.activate_one(ctx, invoice, job.invoice_date, job.comment, job_id=job.id)
        elif job.kind is InvoiceJobKind.CANCEL:
            done = service.cancel_one(ctx, invoice, job.comment)
        else:
            service.delete_one(ctx, invoice)
            return InvoiceJobResult(invoice_id, ResultState.SUCCEEDED, None, "deleted")
        return InvoiceJobResult(invoice_id, ResultState.SUCCEEDED, done.status.value)
    except BillrunError as error:  # one invoice's refusal does not stop the others (partial success)
        return InvoiceJobResult(invoice_id, ResultState.FAILED, invoice.status.value, error.message)


def _finish(tenant_id: str, job: InvoiceJob, owner: str, error: str | None = None) -> None:
    tally = counts(store.all_results(tenant_id, job.id))
    failed = error is not None or tally["failed"] > 0 or tally["pending"] > 0
    M = InvoiceJobModel
    actions = [M.counts.set(tally), M.phase.set(InvoiceJobPhase.DONE.value)]
    if error:
        actions.append(M.error.set(error[:2000]))
    status = InvoiceJobStatus.COMPLETED_WITH_ERRORS if failed else InvoiceJobStatus.COMPLETED
    if store.LEASES.finish(tenant_id, job.id, owner, status, wall_now(), actions):
        quotas.finished_job(tenant_id, quotas.INVOICE_JOB, job.id)
        log.info("invoice job finished: %s", status.value, extra={"kind": job.kind.value, "status": status.value,
                                                                   "counts": tally})


class InvoiceJobWork:
    """Tick source: invoice jobs are asked for by API calls, not by time; the worker runs each at once (its message
    is sent when it is queued). A pass runs those whose lease ran out (never started, the message lost, or the
    runner died): the wall-clock tick every tenant's (test-mode ones too), a test clock's advance its tenant's."""
    name = "invoiceJobs"
    live_only = False

    def process_due(self, clock_id: str, until, budget: Budget) -> int:
        ran = 0
        for tenant_id, job_id in store.expired(clock_id, wall_now()):
            if budget.spent():
                break
            try:
                run(tenant_id, job_id)
                ran += 1
            except Exception:  # one job's failure must not stop the others; its lease expires and it is retried
                log.exception("invoice job %s of tenant %s failed", job_id, tenant_id)
        return ran

    def oldest_due(self, clock_id: str, until):
        return store.LEASES.oldest_expired(store.PARTITION, until) if clock_id == LIVE_CLOCK else None
