"""The invoice as a PDF: rendered once per invoice version, stored in S3, handed out as a presigned GET URL."""
from chalice import Blueprint

from ..domain.timeutil import wall_now
from ..services.invoice_pdf import pdf_link
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
    return pdf_link(call.ctx.tenant.id, call.params["id"], wall_now())
