"""Nue dialect, seed 001: activate, cancel, delete (by invoiceIds and/or graphqlFilter), update, pay."""
from chalice import Blueprint

from ..services import invoices as service
from . import schemas as s
from .billing import invoice_view
from .http import changes, operation

bp = Blueprint(__name__)
TAG = "Invoices"


def _bulk(results) -> dict:
    ok = sum(r.success for r in results)
    return {"results": results, "succeeded": ok, "failed": len(results) - ok}


def _comment(body) -> str | None:
    return body.invoice_comment.comment if body.invoice_comment else None


@operation(bp, "POST", "/billing/invoices:activate", summary="Activate Draft invoices (per-invoice results)",
           tag=TAG, body=s.InvoiceActivation, response=s.BulkResults)
def activate_invoices(call):
    b = call.body
    selected = service.select(call.ctx, b.invoice_ids, b.graphql_filter)
    return _bulk(service.activate(call.ctx, selected, b.invoice_date, _comment(b)))


@operation(bp, "POST", "/billing/invoices:cancel", summary="Cancel unpaid invoices; their periods are billed "
           "again by the next billing job", tag=TAG, body=s.InvoiceCancellation, response=s.BulkResults)
def cancel_invoices(call):
    b = call.body
    return _bulk(service.cancel(call.ctx, service.select(call.ctx, b.invoice_ids, b.graphql_filter), _comment(b)))


@operation(bp, "DELETE", "/billing/invoices", summary="Delete Canceled invoices with no payment applied",
           tag=TAG, body=s.InvoiceSelection, response=s.BulkResults)
def delete_invoices(call):
    b = call.body
    return _bulk(service.delete(call.ctx, service.select(call.ctx, b.invoice_ids, b.graphql_filter)))


@operation(bp, "PATCH", "/billing/invoices/{id}", summary="Change dueDate, billToContactId or customFields of a "
           "Draft, PendingActivation or Active invoice", tag=TAG, body=s.InvoiceUpdate, response=s.Invoice)
def update_invoice(call):
    sent = changes(call.body, {"due_date"})
    return invoice_view(call.ctx.tenant.id, service.update(call.ctx, call.params["id"], sent))


@operation(bp, "POST", "/billing/payments", summary="Apply a payment to an Active invoice", tag=TAG,
           body=s.PaymentRequest, response=s.PaymentResult, status=201)
def pay_invoice(call):
    b = call.body
    payment, invoice = service.pay(call.ctx, b.invoice_id, b.amount, b.payment_date)
    return {"payment": payment, "invoice": invoice_view(call.ctx.tenant.id, invoice)}
