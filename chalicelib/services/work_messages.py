"""The work-queue messages for work a request starts (an execute's bill run, a bulk invoice job): sent when the
work is created, so a worker runs it at once instead of the next wall-clock tick. A message is only a nudge:
the work is run under its lease (a message for work already done or held is a no-op), and one that is lost
leaves the work in its `unfinished` index, where the tick (or a test clock's advance) recovers it."""
import logging

from ..store import work_queue

log = logging.getLogger("billrun.work_messages")
BILL_RUN = "billRun"
INVOICE_JOB = "invoiceJob"
KINDS = (BILL_RUN, INVOICE_JOB)


def send(kind: str, tenant_id: str, work_id: str) -> None:
    try:
        work_queue.send([{"kind": kind, "tenantId": tenant_id, "id": work_id}])
    except Exception:  # the work is not lost: the tick's recovery runs it
        log.exception("the %s %s could not be handed to the worker", kind, work_id,
                      extra={"tenantId": tenant_id, "kind": kind})

