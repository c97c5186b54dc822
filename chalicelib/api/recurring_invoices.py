"""BILL dialect, seed 003: recurring invoices (templates that generate one invoice per due date)."""
from dataclasses import asdict

from chalice import Blueprint

from ..domain.errors import invalid
from ..domain.recurring_invoices import RecurringInvoice
from ..services import recurring_invoices as service
from . import schemas as s
from .http import changes, operation

bp = Blueprint(__name__)
TAG = "Recurring invoices"
PATH = "/v3/recurring-invoices"


def view(template: RecurringInvoice) -> dict:
    return {"id": template.id, "archived": template.archived, "customer_id": template.customer_id,
            "schedule": {"period": template.period, "frequency": template.frequency,
                         "next_due_date": template.next_due_date, "end_date": template.end_date,
                         "days_in_advance": template.days_in_advance},
            "recurring_invoice_line_items": [asdict(item) for item in template.line_items],
            "created_time": template.created_date, "updated_time": template.last_modified_date}


@operation(bp, "POST", PATH, summary="Create a recurring invoice: its invoices are generated daysInAdvance days "
           "before each due date", tag=TAG, body=s.RecurringInvoiceCreate, response=s.RecurringInvoice, status=201)
def create_recurring_invoice(call):
    return view(service.create(call.ctx, call.body.model_dump()))


@operation(bp, "GET", PATH, summary="List recurring invoices", tag=TAG, query=s.RecurringInvoiceQuery,
           response=s.RecurringInvoicePage)
def list_recurring_invoices(call):
    q = call.query
    items, token = service.templates.list(call.ctx.tenant.id, limit=q.limit, next_token=q.next_token,
                                          customer_id=q.customer_id, archived=q.archived)
    return {"data": [view(t) for t in items], "next_token": token}


@operation(bp, "GET", PATH + "/{id}", summary="Get a recurring invoice", tag=TAG, response=s.RecurringInvoice)
def get_recurring_invoice(call):
    return view(service.templates.get(call.ctx.tenant.id, call.params["id"]))


@operation(bp, "PATCH", PATH + "/{id}", summary="Change a recurring invoice (the fields sent); invoices not "
           "generated yet follow it", tag=TAG, body=s.RecurringInvoiceUpdate, response=s.RecurringInvoice)
def update_recurring_invoice(call):
    sent = changes(call.body, {"customer_id", "schedule", "recurring_invoice_line_items"})
    if sent.get("schedule") is not None:
        _no_nulls(sent["schedule"], s.RecurringScheduleUpdate, "schedule", {"end_date"})
    return view(service.update(call.ctx, call.params["id"], sent, partial=True))


def _no_nulls(sent: dict, model, prefix: str, nullable: set[str]) -> None:
    for name, value in sent.items():
        if value is None and name not in nullable:
            raise invalid(f"{prefix}.{model.model_fields[name].alias or name}", "must not be null")


@operation(bp, "PUT", PATH + "/{id}", summary="Replace a recurring invoice; line items sent without an id are "
           "new, those left out are removed", tag=TAG, body=s.RecurringInvoiceReplace, response=s.RecurringInvoice)
def replace_recurring_invoice(call):
    return view(service.update(call.ctx, call.params["id"], call.body.model_dump(), partial=False))


@operation(bp, "POST", PATH + "/{id}/archive", summary="Archive a recurring invoice: it generates nothing until "
           "restored (idempotent)", tag=TAG, body=s.NoBody, response=s.RecurringInvoice)
def archive_recurring_invoice(call):
    return view(service.set_archived(call.ctx, call.params["id"], True))


@operation(bp, "POST", PATH + "/{id}/restore", summary="Restore an archived recurring invoice: invoices whose "
           "generation date passed meanwhile are generated (idempotent)", tag=TAG, body=s.NoBody,
           response=s.RecurringInvoice)
def restore_recurring_invoice(call):
    return view(service.set_archived(call.ctx, call.params["id"], False))
