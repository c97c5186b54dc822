"""The invoice as a PDF: rendered once per invoice version, stored in S3, handed out as a presigned GET URL."""
from datetime import datetime, timedelta

from chalice import Blueprint

from ..domain.timeutil import wall_now
from ..services.invoice_pdf import render_pdf
from ..store import catalog, documents, pdfs
from .http import operation
from .schemas import Instant, Output

bp = Blueprint(__name__)


class InvoicePdf(Output):
    invoice_id: str
    invoice_pdf: str
    expires_at: Instant


@operation(bp, "GET", "/billing/invoices/{id}/pdf", summary="A time-limited (1 hour) URL to the invoice's PDF; "
           "rendered once per invoice version", tag="Invoices", response=InvoicePdf)
def invoice_pdf(call):
    tenant_id = call.ctx.tenant.id
    invoice = documents.invoices.get(tenant_id, call.params["id"])  # another tenant's invoice: 404
    issued: datetime = wall_now()
    key = pdfs.key_for(tenant_id, invoice)
    url = pdfs.ensure_pdf(key, lambda: render_pdf(invoice, catalog.customers.get(tenant_id, invoice.customer_id)))
    if invoice.pdf_key != key:
        documents.invoices.record_pdf(tenant_id, invoice, key)  # the invoice's invoicePdf field from now on
    return {"invoice_id": invoice.id, "invoice_pdf": url,
            "expires_at": issued + timedelta(seconds=pdfs.URL_SECONDS)}
