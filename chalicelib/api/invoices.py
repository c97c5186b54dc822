"""Nue dialect, seed 001: activate, cancel, delete (by invoiceIds and/or graphqlFilter), update, pay."""
from dataclasses import asdict

from chalice import Blueprint

from ..domain.invoice_jobs import InvoiceJob
from ..services import invoices as service
from ..services import views
from . import schemas as s
from .billing import invoice_view
from .http import Accepted, changes, operation

bp = Blueprint(__name__)
TAG = "Invoices"


def _bulk(outcome):
    """Per-invoice results; or, when the filter matched more than one request handles, 202 and the job."""
    if isinstance(outcome, InvoiceJob):
        return Accepted(job_view(outcome), f"/billing/invoice-jobs/{outcome.id}")
    ok = sum(r.success for r in outcome)
    return {"results": outcome, "succeeded": ok, "failed": len(outcome) - ok}


def job_view(job: InvoiceJob) -> dict:
    return {**asdict(job), "results_url": f"/billing/invoice-jobs/{job.id}/results"}


def _comment(body) -> str | None:
    return body.invoice_comment.comment if body.invoice_comment else None


BULK = {"tag": TAG, "response": s.BulkResults, "accepted": s.InvoiceJob, "errors": (429,)}  # 429: open-job quota


@operation(bp, "POST", "/billing/invoices:activate", summary="Activate Draft invoices (per-invoice results; a "
           "filter matching over 500 becomes an invoice job)", body=s.InvoiceActivation, **BULK)
def activate_invoices(call):
    b = call.body
    return _bulk(service.activate(call.ctx, b.invoice_ids, b.graphql_filter, b.invoice_date, _comment(b)))


@operation(bp, "POST", "/billing/invoices:cancel", summary="Cancel unpaid invoices; their periods are billed "
           "again by the next billing job", body=s.InvoiceCancellation, **BULK)
def cancel_invoices(call):
    b = call.body
    return _bulk(service.cancel(call.ctx, b.invoice_ids, b.graphql_filter, _comment(b)))


@operation(bp, "DELETE", "/billing/invoices", summary="Delete Canceled invoices with no payment applied",
           body=s.InvoiceSelection, **BULK)
def delete_invoices(call):
    b = call.body
    return _bulk(service.delete(call.ctx, b.invoice_ids, b.graphql_filter))


@operation(bp, "GET", "/billing/invoice-jobs/{id}", summary="An invoice job: status, phase and counts",
           tag=TAG, response=s.InvoiceJob)
def get_invoice_job(call):
    return job_view(views.invoice_jobs.get(call.ctx.tenant.id, call.params["id"]))


@operation(bp, "GET", "/billing/invoice-jobs/{id}/results", summary="An invoice job's per-invoice results",
           tag=TAG, query=s.InvoiceJobResultQuery, response=s.InvoiceJobResultPage)
def list_invoice_job_results(call):
    q, tenant_id = call.query, call.ctx.tenant.id
    job = views.invoice_jobs.get(tenant_id, call.params["id"])  # another tenant's job: 404
    items, token = views.invoice_job_results(tenant_id, job.id, limit=q.limit, next_token=q.next_token,
                                             state=q.state)
    return {"data": items, "next_token": token}


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


@operation(bp, "GET", "/billing/payments", summary="List payments, in the order they were applied to an invoice's "
           "or a customer's invoices", tag=TAG, query=s.PaymentQuery, response=s.PaymentPage)
def list_payments(call):
    q = call.query
    items, token = views.payments.list(call.ctx.tenant.id, invoice_id=q.invoice_id, customer_id=q.customer_id,
                                       limit=q.limit, next_token=q.next_token)
    return {"data": items, "next_token": token}
