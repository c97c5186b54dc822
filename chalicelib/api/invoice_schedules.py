"""Zuora dialect, seed 002: invoice schedules (create, get, replace items, delete, pause, resume, execute) and
the bill runs their executions make. `{scheduleKey}` is an id or an IS- number, `{billRunKey}` an id or a BR-
number."""
from chalice import Blueprint

from ..domain.bill_runs import CHARGE_TYPES_EXCLUDED, BillRun
from ..domain.invoice_schedules import InvoiceSchedule, ItemRequest
from ..services import invoice_schedules as service
from ..services import views
from . import schemas as s
from .http import operation

bp = Blueprint(__name__)
SCHEDULES, RUNS = "Invoice schedules", "Bill runs"


def schedule_view(schedule: InvoiceSchedule) -> dict:
    return {"id": schedule.id, "number": schedule.number, "account_id": schedule.customer_id,
            "orders": list(schedule.order_ids), "currency": schedule.currency, "notes": schedule.notes,
            "status": schedule.status, "total_amount": schedule.total_amount,
            "actual_amount": schedule.total_amount, "billed_amount": schedule.billed_amount,
            "unbilled_amount": schedule.unbilled_amount, "next_run_date": schedule.next_run_date,
            "schedule_items": [{"id": i.id, "name": i.name, "run_date": i.run_date, "amount": i.amount,
                                "actual_amount": i.amount, "percentage": i.percentage, "status": i.status,
                                "invoice_id": i.invoice_id, "invoice_number": i.invoice_number,
                                "bill_run_id": i.bill_run_id} for i in schedule.items],
            "created_by_id": schedule.created_by_id, "created_date": schedule.created_date,
            "updated_by_id": schedule.updated_by_id, "updated_date": schedule.updated_date}


def bill_run_view(run: BillRun) -> dict:
    return {"id": run.id, "auto_post": run.auto_post, "bill_run_number": run.number, "invoice_date": run.invoice_date,
            "status": run.status, "target_date": run.target_date, "created_by_id": run.created_by_id,
            "created_date": run.created_date, "updated_by_id": run.created_by_id, "updated_date": run.updated_date,
            "charge_type_to_exclude": list(CHARGE_TYPES_EXCLUDED),
            "bill_run_filters": [{"account_id": run.customer_id, "invoice_schedule_id": run.invoice_schedule_id,
                                  "invoice_schedule_item_id": run.requested_item_id}],
            "invoice_schedule_item_id": run.item_id,
            "invoices": [{"id": i, "invoice_number": n, "invoice_schedule_item_id": run.item_id}
                         for i, n in zip(run.invoice_ids, run.invoice_numbers)],
            "error_message": run.error_message}


def _items(body_items) -> list[ItemRequest]:
    return [ItemRequest(run_date=i.run_date, amount=i.amount, percentage=i.percentage, name=i.name,
                        id=getattr(i, "id", None)) for i in body_items]


@operation(bp, "POST", "/v1/invoice-schedules", summary="Create an invoice schedule: an order's total (or several "
           "orders' of one customer) billed in scheduled items", tag=SCHEDULES, body=s.InvoiceScheduleCreate,
           response=s.InvoiceSchedule, status=201)
def create_schedule(call):
    b = call.body
    return schedule_view(service.create(call.ctx, b.orders, _items(b.schedule_items), b.account_key, b.currency,
                                        b.notes))


@operation(bp, "GET", "/v1/invoice-schedules", summary="List invoice schedules: an account's (in number order), "
           "the one billing an order, or those in a status", tag=SCHEDULES, query=s.InvoiceScheduleQuery,
           response=s.InvoiceSchedulePage)
def list_schedules(call):
    q = call.query
    items, token = views.invoice_schedules_page(call.ctx.tenant.id, account_id=q.account_id, order_id=q.order_id,
                                                status=q.status, limit=q.limit, next_token=q.next_token)
    return {"data": [schedule_view(i) for i in items], "next_token": token}


@operation(bp, "GET", "/v1/invoice-schedules/{scheduleKey}", summary="Get an invoice schedule with its items",
           tag=SCHEDULES, response=s.InvoiceSchedule)
def get_schedule(call):
    return schedule_view(service.get(call.ctx, call.params["scheduleKey"]))


@operation(bp, "PUT", "/v1/invoice-schedules/{scheduleKey}", summary="Replace the pending items (and notes) of an "
           "invoice schedule; executing and processed items are immutable", tag=SCHEDULES,
           body=s.InvoiceScheduleUpdate, response=s.InvoiceSchedule)
def update_schedule(call):
    b = call.body
    return schedule_view(service.update(call.ctx, call.params["scheduleKey"], _items(b.schedule_items), b.notes,
                                        "notes" in b.model_fields_set, b.orders))


@operation(bp, "DELETE", "/v1/invoice-schedules/{scheduleKey}", summary="Delete an invoice schedule none of whose "
           "items is executed or processed", tag=SCHEDULES, response=s.InvoiceSchedule)
def delete_schedule(call):
    return schedule_view(service.delete(call.ctx, call.params["scheduleKey"]))


@operation(bp, "PUT", "/v1/invoice-schedules/{scheduleKey}/pause", summary="Pause an invoice schedule: its items "
           "are neither executed automatically nor by execute", tag=SCHEDULES, body=s.Empty,
           response=s.InvoiceSchedule)
def pause_schedule(call):
    return schedule_view(service.pause(call.ctx, call.params["scheduleKey"]))


@operation(bp, "PUT", "/v1/invoice-schedules/{scheduleKey}/resume", summary="Resume a paused invoice schedule; "
           "items whose run date passed meanwhile run at the next tick", tag=SCHEDULES, body=s.Empty,
           response=s.InvoiceSchedule)
def resume_schedule(call):
    return schedule_view(service.resume(call.ctx, call.params["scheduleKey"]))


@operation(bp, "POST", "/v1/invoice-schedules/{scheduleKey}/execute", summary="Execute an invoice schedule item "
           "(the one named, or the next pending one) through an ad hoc bill run", tag=SCHEDULES,
           body=s.ExecuteRequest, response=s.BillRun, status=201, errors=(429,))  # 429: open-job quota
def execute_schedule(call):
    b = call.body
    return bill_run_view(service.execute(call.ctx, call.params["scheduleKey"], b.schedule_item_id, b.auto_post))


@operation(bp, "GET", "/v1/bill-runs/{billRunKey}", summary="Get a bill run: its status and the invoices it made",
           tag=RUNS, response=s.BillRun)
def get_bill_run(call):
    return bill_run_view(views.bill_runs.get_by_key(call.ctx.tenant.id, call.params["billRunKey"]))


@operation(bp, "GET", "/v1/bill-runs", summary="List bill runs: an account's or an order's (in creation order), or "
           "those in a status", tag=RUNS, query=s.BillRunQuery, response=s.BillRunPage)
def list_bill_runs(call):
    q = call.query
    items, token = views.bill_runs_page(call.ctx.tenant.id, account_id=q.account_id, order_id=q.order_id,
                                        status=q.status, limit=q.limit, next_token=q.next_token)
    return {"data": [bill_run_view(r) for r in items], "next_token": token}
