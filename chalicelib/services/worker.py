"""What one work-queue message asks for: a work unit of a fanned-out billing job, a turn on a clock's advance, work
a request started (an execute's bill run, a bulk invoice job), or the PDFs of invoices just written or changed."""
import json

from ..store.tenants import find_tenant
from . import bill_runs, clock, clock_messages, fanout, invoice_jobs, invoice_pdf, work_messages


def handle(body: str, receive_count: int) -> None:
    message = json.loads(body)
    kind = message.get("kind")
    if kind == clock_messages.MESSAGE_KIND:
        clock.handle(message)
    elif kind in work_messages.KINDS:
        _requested(message)
    elif kind == invoice_pdf.MESSAGE_KIND:
        invoice_pdf.render_queued(message)
    else:
        fanout.handle(message, receive_count)


def _requested(message: dict) -> None:
    """Runs the work if its lease can be taken: a message for work already done, or held by another runner (the
    tick, an advance, a redelivery), does nothing."""
    tenant = find_tenant(message["tenantId"])
    if tenant is None:
        return
    if message["kind"] == work_messages.BILL_RUN:
        bill_runs.take(tenant, message["id"])
    else:
        invoice_jobs.run(tenant.id, message["id"])
