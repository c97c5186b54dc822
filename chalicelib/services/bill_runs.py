"""Bill runs: execute one invoice schedule item, exactly once.

1. The right to invoice an item is claimed on the schedule by compare-and-set: Pending -> Executing with the
   bill run's id (an execute request does it before answering; the tick before running its own bill run). Of
   an execute request and the tick racing for an item, one wins; the other gets a 409 (or ends in Error).
2. Only the holder of the bill run's lease runs it. The item's invoice has an id derived from (schedule, item)
   and is written by store/documents.write_once in one transaction with the item's move Executing -> Processed
   (a compare-and-set on the schedule's version): the invoice exists exactly when its item is Processed.
3. The bill run then goes Completed with the invoice.
A crash after any single write leaves the run unfinished in the `unfinished` index with its item Executing or
Processed; when its lease has run out the tick runs it again, which finds the item Processed with its invoice (or
writes both), and completes the run."""
import logging
import uuid
from datetime import datetime

from .. import observability
from ..domain import invoice_schedules as rules
from ..domain.bill_runs import BillRun
from ..domain.errors import BillrunError, conflict
from ..domain.invoice_schedules import InvoiceSchedule, ItemStatus, ScheduleItem
from ..domain.invoices import Invoice
from ..domain.numbering import human_number
from ..domain.tenants import LIVE_CLOCK, Tenant
from ..domain.timeutil import wall_now
from ..store import bill_runs as store
from ..store import counters, documents
from ..store.catalog import customers, orders, products
from ..store.invoice_schedules import MAX_ATTEMPTS, schedules
from . import invoice_pdf, quotas
from .ids import derived_id

log = logging.getLogger("billrun.bill_runs")


def invoice_id_of(schedule_id: str, item: ScheduleItem) -> str:
    """One invoice per (schedule, item), whichever bill run writes it; a re-opened item's next one is new."""
    return derived_id(schedule_id, item.id, "invoice", *([item.reissues] if item.reissues else []))


def hold(tenant_id: str, schedule_id: str, item_id: str, run_id: str) -> InvoiceSchedule:
    """Claim the item for the run (compare-and-set on the schedule); a 409 when it cannot be had."""
    return schedules.change(tenant_id, schedule_id, lambda s: rules.hold(s, item_id, run_id))


def run(tenant: Tenant, run_id: str) -> BillRun:
    """Runs the bill run if its lease can be taken; answers it as it then is."""
    take(tenant, run_id)
    return store.bill_runs.get(tenant.id, run_id)


def take(tenant: Tenant, run_id: str) -> bool:
    """Runs the bill run if its lease can be taken: True when this call ran it, False when another runner holds
    it or it is finished."""
    with observability.correlated(tenantId=tenant.id, jobId=run_id):
        return _take(tenant, run_id)


def _take(tenant: Tenant, run_id: str) -> bool:
    owner = uuid.uuid4().hex
    bill_run = store.claim(tenant.id, run_id, owner, wall_now())
    if bill_run is None:
        return False
    now = documents_time(tenant, bill_run)
    try:
        invoice = execute(tenant, bill_run, now)
    except BillrunError as refused:  # the item is not this run's to invoice: nothing was written for it
        if store.fail(tenant.id, run_id, owner, refused.message, wall_now(), now):
            _finished(tenant, bill_run)
            log.info("bill run %s ended in Error: %s", bill_run.number, refused.message,
                     extra={"jobName": bill_run.number, "status": "Error"})
    else:
        if store.complete(tenant.id, run_id, owner, [invoice.id], [invoice.name], wall_now(), now):
            _finished(tenant, bill_run)
            log.info("bill run %s completed: %s", bill_run.number, invoice.name,
                     extra={"jobName": bill_run.number, "status": "Completed", "invoiceId": invoice.id})
    return True


def _finished(tenant: Tenant, bill_run: BillRun) -> None:
    """An execute request's run frees its open-job slot; the tick's automatic runs never took one."""
    if not bill_run.automatic:
        quotas.finished_job(tenant.id, quotas.BILL_RUN, bill_run.id)


def documents_time(tenant: Tenant, bill_run: BillRun) -> datetime:
    """The tenant's instant the run's documents are dated by: the tenant's clock now (the wall for live tenants,
    the test clock for test-mode ones); for an automatic run in a test clock, the instant the tick
    replayed (the run's creation), so a re-run after a crash dates them the same."""
    if bill_run.automatic and bill_run.clock_id != LIVE_CLOCK:
        return bill_run.created_date
    return tenant.now(wall_now())


def execute(tenant: Tenant, bill_run: BillRun, now: datetime) -> Invoice:
    """Hold the item (if the request that made the run did not get to), write its invoice, mark it Processed."""
    schedule = schedules.find(tenant.id, bill_run.invoice_schedule_id)
    if schedule is None:
        raise BillrunError("the invoice schedule was deleted", code="InvalidState", kind="conflict")
    schedule = hold(tenant.id, schedule.id, bill_run.item_id, bill_run.id)
    item = schedule.item(bill_run.item_id)
    if item.status is ItemStatus.PROCESSED:  # an earlier attempt of this run finished everything but the run
        return documents.invoices.get(tenant.id, item.invoice_id)
    return write_invoice(tenant, schedule, item, bill_run, now)


def write_invoice(tenant: Tenant, schedule: InvoiceSchedule, item: ScheduleItem, bill_run: BillRun,
                  now: datetime) -> Invoice:
    """The item's invoice and the item Processed, in one transaction (store/documents.py); on a lost race for the
    schedule (another change landed), read it again: an item another attempt processed answers its invoice."""
    invoice_id = invoice_id_of(schedule.id, item)
    name = human_number("INV", counters.next_value(tenant.id, "INV"))
    for _ in range(MAX_ATTEMPTS):
        invoice = _invoice(tenant, schedule, item, bill_run, invoice_id, name, now)
        processed = rules.processed(schedule, item.id, bill_run.id, invoice.id, invoice.name)
        done, _ = documents.write_once(
            tenant.id, invoice, lambda transaction: schedules.replace_in(transaction, tenant.id, processed, schedule))
        if done is documents.Outcome.WRITTEN:
            invoice_pdf.queue(tenant.id, [invoice.id])
            return invoice
        if done is documents.Outcome.STORED:
            return documents.invoices.get(tenant.id, invoice_id)
        schedule = schedules.get(tenant.id, schedule.id)
        item = schedule.item(item.id)
        if item is not None and item.status is ItemStatus.PROCESSED and item.bill_run_id == bill_run.id:
            return documents.invoices.get(tenant.id, item.invoice_id)
    raise conflict("the invoice schedule kept changing while its item was invoiced", "ConcurrentModification")


def _invoice(tenant: Tenant, schedule: InvoiceSchedule, item: ScheduleItem, bill_run: BillRun, invoice_id: str,
             name: str, now: datetime) -> Invoice:
    customer = customers.get(tenant.id, schedule.customer_id)
    order_lines = [line for order_id in schedule.order_ids for line in orders.get(tenant.id, order_id).lines]
    names = {}
    for line in order_lines:
        if line.product_id not in names:
            product = products.find(tenant.id, line.product_id)
            names[line.product_id] = product.name if product else line.product_id
    lines = rules.invoice_lines(schedule, item, order_lines, names,
                                [derived_id(invoice_id, line.id) for line in order_lines])
    return rules.schedule_invoice(
        schedule, item, lines, customer, invoice_id=invoice_id, name=name, bill_run_id=bill_run.id,
        invoice_date=bill_run.invoice_date, target_date=bill_run.target_date, created_by_id=bill_run.created_by_id,
        auto_post=bill_run.auto_post, now=now)
