"""An invoice's PDF: rendered (fpdf2, core fonts: the text stays extractable) once per invoice version, kept in S3;
ahead of any read, by the worker, when an invoice is written or changes (a work-queue message names it).

Rendering lives here, not in the pure domain: it is presentation, and fpdf2 is a runtime dependency.
Money is printed from its Decimal (never through float), dates as ISO dates."""
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal

from fpdf import FPDF
from fpdf.enums import Align, TableCellFillMode

from ..config import settings
from ..store import catalog, documents, pdfs
from . import work_messages

MESSAGE_KIND = "invoicePdf"
IDS_PER_MESSAGE = 100  # 100 ids of 36 characters: far below SQS's 256 KB

COLUMNS = (("Description", 64, Align.L), ("Start", 22, Align.C), ("End", 22, Align.C),
           ("Quantity", 20, Align.R), ("Unit price", 28, Align.R), ("Amount", 30, Align.R))


def money(value: Decimal) -> str:
    return format(value, "f")


def quantity(value: Decimal) -> str:
    return format(value.normalize() if value == value.to_integral_value() else value, "f")


def day(value: date | None) -> str:
    return value.isoformat() if value else ""


PUNCTUATION = str.maketrans({"\u2013": "-", "\u2014": "-", "\u2212": "-", "\u2018": "'", "\u2019": "'",
                             "\u201c": '"', "\u201d": '"', "\u2026": "...", "\u2192": "->"})


def latin1(text) -> str:
    """Core fonts cover Latin-1 only: dashes and quotes become ASCII, anything else '?', never a 500."""
    return str(text or "").translate(PUNCTUATION).encode("latin-1", "replace").decode("latin-1")


def render_pdf(invoice, customer) -> bytes:
    pdf = FPDF(format="A4")
    pdf.set_title(latin1(f"Invoice {invoice.name}"))
    pdf.set_creator("billrun")
    created = invoice.last_modified_date
    pdf.set_creation_date(created if created.tzinfo else created.replace(tzinfo=timezone.utc))
    pdf.set_auto_page_break(True, margin=15)
    pdf.add_page()

    pdf.set_font("Helvetica", "B", 20)
    pdf.cell(0, 10, "INVOICE", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Helvetica", "B", 12)
    pdf.cell(0, 7, latin1(invoice.name), new_x="LMARGIN", new_y="NEXT")
    pdf.ln(3)

    pdf.set_font("Helvetica", "", 10)
    bill_to = invoice.bill_to_contact_id or customer.bill_to_contact_id
    facts = [("Invoice date", day(invoice.invoice_date)), ("Due date", day(invoice.due_date)),
             ("Period", f"{day(invoice.start_date)} to {day(invoice.end_date)}" if invoice.start_date else ""),
             ("Currency", invoice.currency), ("Status", invoice.status.value)]
    for label, value in facts:
        pdf.set_font("Helvetica", "B", 10)
        pdf.cell(32, 6, f"{label}:")
        pdf.set_font("Helvetica", "", 10)
        pdf.cell(0, 6, latin1(value), new_x="LMARGIN", new_y="NEXT")
    pdf.ln(4)

    pdf.set_font("Helvetica", "B", 11)
    pdf.cell(0, 6, "Bill to", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Helvetica", "", 10)
    pdf.cell(0, 6, latin1(customer.name), new_x="LMARGIN", new_y="NEXT")
    if bill_to:
        pdf.cell(0, 6, latin1(f"Contact: {bill_to}"), new_x="LMARGIN", new_y="NEXT")
    pdf.cell(0, 6, latin1(f"Customer: {customer.id}"), new_x="LMARGIN", new_y="NEXT")
    pdf.ln(6)

    pdf.set_font("Helvetica", "", 9)
    with pdf.table(col_widths=tuple(w for _, w, _ in COLUMNS), text_align=tuple(a for _, _, a in COLUMNS),
                   line_height=6, cell_fill_color=(240, 240, 240), cell_fill_mode=TableCellFillMode.ROWS,
                   first_row_as_headings=True, width=sum(w for _, w, _ in COLUMNS), align="LEFT") as table:
        header = table.row()
        for title, _, _ in COLUMNS:
            header.cell(title)
        for line in invoice.lines:
            row = table.row()
            for text in (latin1(line.description), day(line.start_date), day(line.end_date),
                         quantity(line.quantity), money(line.unit_price), money(line.amount)):
                row.cell(text)
    pdf.ln(6)

    totals = [("Amount without tax", invoice.amount_without_tax), ("Tax", invoice.tax_amount),
              ("Total", invoice.amount)]
    for label, value in totals:
        bold = "B" if label == "Total" else ""
        pdf.set_font("Helvetica", bold, 10)
        pdf.cell(136, 7, label, align="R")
        pdf.cell(50, 7, f"{money(value)} {invoice.currency}", align="R", new_x="LMARGIN", new_y="NEXT")
    return bytes(pdf.output())


def _stored(tenant_id: str, invoice) -> str:
    """This version's PDF, rendered and stored unless it is already, and recorded on the invoice (so its invoicePdf
    links it; if the invoice changed meanwhile, its newer version is rendered on its own): a presigned URL."""
    key = pdfs.key_for(tenant_id, invoice)
    url = pdfs.ensure_pdf(key, lambda: render_pdf(invoice, catalog.customers.get(tenant_id, invoice.customer_id)))
    if invoice.pdf_key != key:
        documents.invoices.record_pdf(tenant_id, invoice, key)
    return url


def pdf_link(tenant_id: str, invoice_id: str, now: datetime) -> dict:
    """The invoice's PDF, rendered and stored on first ask for each version: a presigned URL and its expiry."""
    invoice = documents.invoices.get(tenant_id, invoice_id)  # another tenant's invoice: 404
    return {"invoice_id": invoice.id, "invoice_pdf": _stored(tenant_id, invoice),
            "expires_at": now + timedelta(seconds=pdfs.URL_SECONDS)}


def queue(tenant_id: str, invoice_ids) -> None:
    """Asks the worker to render these invoices' PDFs as they are now: one message per 100 invoices (a billing
    page's, a bulk request's). A message is a nudge: if it is lost, the PDF is rendered by the next change's
    message or on the first `GET .../pdf`, and invoicePdf stays null meanwhile."""
    ids = list(dict.fromkeys(invoice_ids))
    if not ids or not settings().render_pdfs:
        return
    messages = [{"kind": MESSAGE_KIND, "tenantId": tenant_id, "invoiceIds": ids[i:i + IDS_PER_MESSAGE]}
                for i in range(0, len(ids), IDS_PER_MESSAGE)]
    work_messages.nudge(messages, f"the PDFs of {len(ids)} invoices", tenant_id)


def render_queued(message: dict) -> None:
    """The worker's side of queue(): each invoice's current version rendered once and recorded; a version already
    recorded, or a deleted invoice, costs nothing more; a failure raises, so SQS delivers the message again."""
    tenant_id = message["tenantId"]
    for invoice in documents.invoices.find_many(tenant_id, message["invoiceIds"]).values():
        if invoice.pdf_key != pdfs.key_for(tenant_id, invoice):
            _stored(tenant_id, invoice)
