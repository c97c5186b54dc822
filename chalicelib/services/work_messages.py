"""The work-queue messages that only speed work up: work a request starts (an execute's bill run, a bulk invoice
job), sent when the work is created, so a worker runs it at once instead of the next wall-clock tick; and every
other nudge (an advance's turn, invoice PDFs) goes out through `nudge`. A message is only a nudge: the work is run
under its lease or is idempotent (a message for work already done or held is a no-op), and one that is lost, or
cannot be sent, leaves the work where the tick (or a test clock's advance, or a later read) finds it."""
import logging

from ..store import work_queue

log = logging.getLogger("billrun.work_messages")
BILL_RUN = "billRun"
INVOICE_JOB = "invoiceJob"
KINDS = (BILL_RUN, INVOICE_JOB)


def nudge(messages: list[dict], what: str, tenant_id: str, delay_seconds: int = 0) -> None:
    """Sends the messages; a failure is logged, never raised: the work is not lost (the module docstring)."""
    try:
        work_queue.send(messages, delay_seconds)
    except Exception:
        log.exception("%s could not be handed to the worker", what, extra={"tenantId": tenant_id})


def send(kind: str, tenant_id: str, work_id: str) -> None:
    nudge([{"kind": kind, "tenantId": tenant_id, "id": work_id}], f"the {kind} {work_id}", tenant_id)
