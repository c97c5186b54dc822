"""Per-tenant quotas: what each bounds, the setting that sets it, and the error a request past it gets.

Quotas bound what API requests can make a tenant's objects cost (docs/limits.md, Quotas); how objects are
counted lives in services/quotas.py and store/quotas.py."""
from dataclasses import dataclass

from .errors import BillrunError, FieldIssue, too_many

OPEN_JOBS_RETRY_AFTER = 60  # seconds: the wall-clock tick runs queued jobs every minute


@dataclass(frozen=True)
class Quota:
    name: str  # the resource it counts, as the error's details name it
    setting: str  # the environment variable that sets the limit
    limit_field: str  # the Settings field holding the limit
    counts: str  # what the message says the tenant has that many of
    remedy: str  # what frees a slot


BILLING_SCHEDULES = Quota("billingSchedules", "BILLRUN_MAX_BILLING_SCHEDULES", "max_billing_schedules",
                          "billing schedules", "delete one first")
RECURRING_INVOICES = Quota("recurringInvoices", "BILLRUN_MAX_RECURRING_INVOICES", "max_recurring_invoices",
                           "recurring invoices that are not archived", "archive one first")
OPEN_JOBS = Quota("openJobs", "BILLRUN_MAX_OPEN_JOBS", "max_open_jobs",
                  "invoice jobs and bill runs not finished yet", "retry once one has finished")


def _message(quota: Quota, limit: int) -> str:
    return f"this tenant has {limit} {quota.counts}, the most allowed ({quota.setting}); {quota.remedy}"


def _issue(quota: Quota, limit: int) -> FieldIssue:
    return FieldIssue(quota.name, f"at most {limit} per tenant")


def exceeded(quota: Quota, limit: int) -> BillrunError:
    """A configured object past its quota: 409 until the tenant frees a slot itself."""
    return BillrunError(_message(quota, limit), [_issue(quota, limit)], "QuotaExceeded", "conflict")


def too_many_open_jobs(limit: int) -> BillrunError:
    """Open jobs past their quota: 429, since jobs finish by themselves and a retry later succeeds."""
    return too_many(_message(OPEN_JOBS, limit), _issue(OPEN_JOBS, limit), OPEN_JOBS_RETRY_AFTER, "TooManyOpenJobs")
