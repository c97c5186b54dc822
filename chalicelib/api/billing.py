"""Nue dialect, seed 000: billing schedules, billing jobs and their preview; invoices and credit memos as read."""
from dataclasses import asdict

import simplejson
from chalice import Blueprint

from ..domain.billing_schedules import ScheduleStatus
from ..domain.errors import invalid
from ..domain.billing_jobs import BillingJob
from ..domain.timeutil import format_instant, zone_info
from ..services import billing_job_runner, billing_jobs
from ..services import billing_schedules as service
from ..services import views
from . import schemas as s
from .http import changes, operation

bp = Blueprint(__name__)
SCHEDULES, JOBS, INVOICES = "Billing schedules", "Billing jobs", "Invoices"


def _schedule_fields(body) -> dict:
    fields = body.model_dump(exclude_none=True)
    fields.pop("created_through", None)  # always "API" here, as in the seed's response
    fields.pop("record_type", None)
    if fields.get("status") is ScheduleStatus.INACTIVE:
        raise invalid("status", "a new schedule is Draft (the default) or Active")
    if "custom_expression" in fields:
        fields["custom_expression"] = tuple(fields["custom_expression"])
    return fields


@operation(bp, "POST", "/billing/schedules", summary="Create a billing schedule (Draft unless status says Active)",
           tag=SCHEDULES, body=s.BillingScheduleCreate, response=s.BillingSchedule, status=201)
def create_schedule(call):
    return service.create(call.ctx, _schedule_fields(call.body))


@operation(bp, "GET", "/billing/schedules", summary="List billing schedules", tag=SCHEDULES, query=s.ScheduleQuery,
           response=s.BillingSchedulePage)
def list_schedules(call):
    q = call.query
    items, token = service.schedules.list(call.ctx.tenant.id, limit=q.limit, next_token=q.next_token,
                                          status=q.status, schedule_type=q.schedule_type)
    return {"data": items, "next_token": token}


@operation(bp, "GET", "/billing/schedules/{id}", summary="Get a billing schedule", tag=SCHEDULES,
           response=s.BillingSchedule)
def get_schedule(call):
    return service.schedules.get(call.ctx.tenant.id, call.params["id"])


@operation(bp, "PATCH", "/billing/schedules/{id}", summary="Change a billing schedule", tag=SCHEDULES,
           body=s.BillingScheduleUpdate, response=s.BillingSchedule)
def update_schedule(call):
    sent = changes(call.body, {"schedule_start_date", "zone_id", "target_date_increment",
                               "target_date_increment_sign", "target_date_increment_time_unit", "activate_invoices"})
    if "custom_expression" in sent:
        sent["custom_expression"] = tuple(sent["custom_expression"] or ())
    return service.update(call.ctx, call.params["id"], sent)


@operation(bp, "DELETE", "/billing/schedules/{id}", summary="Delete a billing schedule that is not Active",
           tag=SCHEDULES, response=s.BillingSchedule)
def delete_schedule(call):
    schedule = service.schedules.get(call.ctx.tenant.id, call.params["id"])
    service.delete(call.ctx, schedule.id)
    return schedule


@operation(bp, "POST", "/billing/schedules:activate", summary="Activate billing schedules: jobs start at their "
           "scheduled times (an OnDemand schedule runs now, or at scheduleStartDate)", tag=SCHEDULES,
           body=s.ScheduleIds, response=s.BillingScheduleList)
def activate_schedules(call):
    return {"data": service.activate(call.ctx, call.body.schedule_ids)}


@operation(bp, "POST", "/billing/schedules:deactivate", summary="Deactivate billing schedules", tag=SCHEDULES,
           body=s.ScheduleIds, response=s.BillingScheduleList)
def deactivate_schedules(call):
    return {"data": service.deactivate(call.ctx, call.body.schedule_ids)}


@operation(bp, "POST", "/billing/schedules/{id}:run", summary="Run a billing job for the schedule's scope now",
           tag=SCHEDULES, body=s.RunRequest, response=s.BillingJobDetail, status=201)
def run_schedule(call):
    job = service.bill_now(call.ctx, call.params["id"], call.body.target_date, call.body.invoice_date)
    return _job_detail(call.ctx.tenant.id, job)


@operation(bp, "GET", "/billing/schedules/{id}/slots", summary="The next fire times, in the schedule's zone",
           tag=SCHEDULES, query=s.SlotQuery, response=s.Slots)
def schedule_slots(call):
    schedule = service.schedules.get(call.ctx.tenant.id, call.params["id"])
    slots = service.slots(call.ctx, schedule.id, call.query.count)
    tz = zone_info(schedule.zone_id)
    return {"schedule_id": schedule.id, "zone_id": schedule.zone_id, "slots": slots,
            "local_slots": [slot.astimezone(tz).isoformat() for slot in slots]}


def _job_detail(tenant_id: str, job: BillingJob) -> dict:
    return {**asdict(job), "decisions": views.billing_job_decisions(tenant_id, job.id)}


@operation(bp, "GET", "/billing/jobs", summary="List billing jobs", tag=JOBS, query=s.JobQuery,
           response=s.BillingJobPage)
def list_jobs(call):
    q = call.query
    items, token = views.billing_jobs.list(call.ctx.tenant.id, limit=q.limit, next_token=q.next_token,
                                           schedule_id=q.schedule_id, status=q.status)
    return {"data": items, "next_token": token}


@operation(bp, "GET", "/billing/jobs/{id}", summary="A billing job: status, counts and the per-customer decisions",
           tag=JOBS, response=s.BillingJobDetail)
def get_job(call):
    return _job_detail(call.ctx.tenant.id, views.billing_jobs.get(call.ctx.tenant.id, call.params["id"]))


@operation(bp, "POST", "/billing/jobs/{id}:retry", summary="Run a Failed billing job again (a new attempt series; "
           "409 JobNotFailed unless it is Failed)", tag=JOBS, body=s.NoBody, response=s.BillingJobDetail)
def retry_job(call):
    return _job_detail(call.ctx.tenant.id, billing_job_runner.retry(call.ctx.tenant, call.params["id"]))


@operation(bp, "POST", "/billing/jobs:preview", summary="What a billing job would create (a dry run: nothing is "
           "written)", tag=JOBS, body=s.PreviewRequest, response=s.Preview)
def preview_job(call):
    b = call.body
    filters = {name: getattr(b, name) for name in billing_jobs.SCOPE_FIELDS}
    result = service.preview(call.ctx, b.schedule_id, filters, b.target_date, b.invoice_date)
    result["invoices"] = [invoice_view(call.ctx.tenant.id, i) for i in result["invoices"]]
    result["credit_memos"] = [memo_view(m) for m in result["credit_memos"]]
    return result


def invoice_view(tenant_id: str, invoice) -> dict:
    comments = [{"comment": c.comment, "createTime": format_instant(c.create_time),
                 "createUserName": c.create_user_name} for c in invoice.comments]
    return {**asdict(invoice), "tenant_id": tenant_id, "sales_account_id": invoice.customer_id,
            "currency_iso_code": invoice.currency, "comments": simplejson.dumps(comments) if comments else None,
            "invoice_pdf": views.invoice_pdf_url(tenant_id, invoice)}


def memo_view(memo) -> dict:
    return {**asdict(memo), "currency_iso_code": memo.currency}


@operation(bp, "GET", "/billing/invoices", summary="List invoices", tag=INVOICES, query=s.InvoiceQuery,
           response=s.InvoicePage)
def list_invoices(call):
    q = call.query
    items, token = views.invoices.list(call.ctx.tenant.id, limit=q.limit, next_token=q.next_token,
                                       customer_id=q.customer_id, status=q.status)
    return {"data": [invoice_view(call.ctx.tenant.id, i) for i in items], "next_token": token}


@operation(bp, "GET", "/billing/invoices/{id}", summary="Get an invoice with its lines", tag=INVOICES,
           response=s.Invoice)
def get_invoice(call):
    return invoice_view(call.ctx.tenant.id, views.invoices.get(call.ctx.tenant.id, call.params["id"]))


@operation(bp, "GET", "/billing/credit-memos", summary="List credit memos", tag=INVOICES, query=s.CreditMemoQuery,
           response=s.CreditMemoPage)
def list_credit_memos(call):
    q = call.query
    items, token = views.credit_memos.list(call.ctx.tenant.id, limit=q.limit, next_token=q.next_token,
                                           customer_id=q.customer_id)
    return {"data": [memo_view(m) for m in items], "next_token": token}


@operation(bp, "GET", "/billing/credit-memos/{id}", summary="Get a credit memo", tag=INVOICES, response=s.CreditMemo)
def get_credit_memo(call):
    return memo_view(views.credit_memos.get(call.ctx.tenant.id, call.params["id"]))
