"""What one work-queue message asks for: a work unit of a fanned-out billing job, a turn on a clock's advance, or
the PDFs of invoices just written or changed."""
import json

from . import clock, clock_messages, fanout, invoice_pdf


def handle(body: str, receive_count: int) -> None:
    message = json.loads(body)
    if message.get("kind") == clock_messages.MESSAGE_KIND:
        clock.handle(message)
    elif message.get("kind") == invoice_pdf.MESSAGE_KIND:
        invoice_pdf.render_queued(message)
    else:
        fanout.handle(message, receive_count)
