"""Runtime settings read from the environment on every call (chalice.test.Client sets env per request)."""
import os
from dataclasses import dataclass


@dataclass(frozen=True)
class Settings:
    stage: str
    table_prefix: str
    dynamodb_endpoint: str | None
    region: str
    admin_key: str | None
    work_queue: str  # the SQS queue a large billing job's work units go to
    fanout_customers: int  # a job whose scope has more customers than this is split into work units
    unit_customers: int  # customers per work unit
    page_threads: int  # pages of one job (or work unit) billed at once: one page's requests wait while another computes
    max_receives: int  # deliveries of one unit before SQS moves it to the dead-letter queue (infra's redrive)
    render_pdfs: bool  # the worker renders each invoice version's PDF when it is written (else: on first GET .../pdf)
    # Bounds on the work one request, schedule or template can buy (docs/limits.md says each, and why).
    min_slot_interval_seconds: int  # a billing schedule's cron slots are at least this far apart
    max_catch_up_days: int  # how far before the tenant's today a start, nextDueDate or runDate may be set
    slots_per_pass: int  # slots of one schedule (due dates of one template) a tick pass runs; the rest: next pass
    tick_budget_seconds: int  # a tick starts no new work after this long (the Lambda timeout is 300 s)
    advance_request_seconds: int  # a clock advance works this long in its request, then answers 202 and goes on
    max_advance_days: int  # how far one clock advance may move a test clock
    max_billing_schedules: int  # per tenant
    max_recurring_invoices: int  # per tenant, archived ones not counted
    max_open_jobs: int  # per tenant: invoice jobs and bill runs not finished yet


def settings() -> Settings:
    stage = os.environ.get("BILLRUN_STAGE", "dev")
    prefix = os.environ.get("BILLRUN_TABLE_PREFIX", f"billrun-{stage}")
    return Settings(
        stage=stage,
        table_prefix=prefix,
        dynamodb_endpoint=os.environ.get("DYNAMODB_ENDPOINT_URL") or None,
        region=os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or "us-east-1",
        admin_key=os.environ.get("BILLRUN_ADMIN_KEY") or None,
        work_queue=os.environ.get("BILLRUN_WORK_QUEUE") or f"{prefix}-work",
        # a job billed in one process takes about 5-12 s for 1,000 customers on the local stack (docs/benchmark.md),
        # well inside a `:run` request's 29 s and the tick's budget
        fanout_customers=_number("BILLRUN_FANOUT_CUSTOMERS", 1000),
        unit_customers=_number("BILLRUN_UNIT_CUSTOMERS", 100),
        page_threads=_number("BILLRUN_PAGE_THREADS", 2),
        max_receives=_number("BILLRUN_MAX_RECEIVES", 3),
        render_pdfs=os.environ.get("BILLRUN_RENDER_PDFS", "true").lower() != "false",
        min_slot_interval_seconds=_number("BILLRUN_MIN_SLOT_INTERVAL_SECONDS", 3600),
        max_catch_up_days=_number("BILLRUN_MAX_CATCH_UP_DAYS", 400),
        slots_per_pass=_number("BILLRUN_SLOTS_PER_PASS", 50),
        tick_budget_seconds=_number("BILLRUN_TICK_BUDGET_SECONDS", 240),
        advance_request_seconds=_number("BILLRUN_ADVANCE_REQUEST_SECONDS", 20),
        max_advance_days=_number("BILLRUN_MAX_ADVANCE_DAYS", 400),
        max_billing_schedules=_number("BILLRUN_MAX_BILLING_SCHEDULES", 1000),
        max_recurring_invoices=_number("BILLRUN_MAX_RECURRING_INVOICES", 10000),
        max_open_jobs=_number("BILLRUN_MAX_OPEN_JOBS", 100),
    )


def _number(name: str, default: int) -> int:
    text = os.environ.get(name)
    return int(text) if text else default
