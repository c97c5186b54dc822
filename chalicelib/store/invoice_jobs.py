"""Owns the invoice-jobs and invoice-job-results tables (models: invoice_job_models.py): bulk invoice operations
run under a lease.

Invoice jobs are requested by API calls, not by time, so every tenant's unfinished jobs (test-mode ones too) sit
in the `live` partition of the `unfinished` index, which the wall-clock tick reads (and a test clock's advance, for
its tenant's). Writing a result again (a
re-run) overwrites it with the same facts."""
from datetime import datetime

from ..domain.invoice_jobs import InvoiceJob, InvoiceJobPhase, InvoiceJobResult, InvoiceJobStatus, ResultState
from ..domain.errors import invalid
from ..domain.tenants import LIVE_CLOCK, clock_tenant
from . import tables
from .batch import get_many
from .invoice_job_models import InvoiceJobModel, InvoiceJobResultModel
from .leases import Leases
from .paging import check_limit, decode_token, encode_token, query_fingerprint
from .repository import TenantRepository

PARTITION = LIVE_CLOCK


class InvoiceJobRepository(TenantRepository):
    def __init__(self):
        super().__init__(InvoiceJobModel, "invoice job")

    def derived(self, tenant_id: str, entity: InvoiceJob) -> dict:
        unfinished = entity.status in (InvoiceJobStatus.QUEUED, InvoiceJobStatus.RUNNING)
        return {"lease_partition": PARTITION if unfinished else None}


invoice_jobs = InvoiceJobRepository()
LEASES = Leases(InvoiceJobModel, waiting=InvoiceJobStatus.QUEUED, running=InvoiceJobStatus.RUNNING,
                index=InvoiceJobModel.unfinished)


def expired(clock_id: str, now: datetime) -> list[tuple[str, str]]:
    """(tenantId, jobId) of unfinished jobs whose lease has run out, for a clock's pass: every tenant's for the
    live clock, the tenant's own for a test clock (a filter on the index's keys)."""
    return LEASES.expired(PARTITION, now, clock_tenant(clock_id))


def any_unfinished(tenant_id: str) -> bool:
    """Whether an invoice job of the tenant is Queued or Running."""
    return LEASES.any_unfinished(PARTITION, tenant_id)


def statuses(tenant_id: str, job_ids) -> dict[str, InvoiceJobStatus]:
    """{id: status} of those of the jobs that exist (BatchGetItem, at most 100 keys a request)."""
    keys = [(tenant_id, job_id) for job_id in job_ids]
    return {item.id: item.status for item in get_many(InvoiceJobModel, keys, attributes=["id", "status"])}


def advance(tenant_id: str, job_id: str, owner: str, now: datetime, *, cursor: str | None = None,
            phase: InvoiceJobPhase | None = None) -> bool:
    """Records how far the lease holder got (and extends its lease); False when it lost the lease."""
    tables.bind()
    M = InvoiceJobModel
    actions = [M.cursor.set(cursor) if cursor else M.cursor.remove()]
    if phase is not None:
        actions.append(M.phase.set(phase.value))
    return LEASES.renew(tenant_id, job_id, owner, now, actions)


def _result_key(job_id: str, invoice_id: str = "") -> str:
    return f"{job_id}#{invoice_id}"


def record(tenant_id: str, job_id: str, result: InvoiceJobResult) -> None:
    tables.bind()
    InvoiceJobResultModel.from_entity(result, tenant_id=tenant_id,
                                      result_key=_result_key(job_id, result.invoice_id)).save()


def pending(tenant_id: str, job_id: str, limit: int, after: str | None = None) -> list[InvoiceJobResult]:
    """The next results still to carry out, in invoice-id order after `after`. The key range stops at the end
    of this job's results, so other jobs' results in the tenant's partition are never read."""
    tables.bind()
    M = InvoiceJobResultModel
    span = M.result_key.between(_result_key(job_id, after or ""), _result_key(job_id) + "\uffff")
    found = []
    for item in M.query(tenant_id, span, filter_condition=M.state == ResultState.PENDING.value,
                        page_size=max(limit, 100)):
        if after is not None and item.invoice_id == after:
            continue  # `between` includes its lower end
        found.append(item.to_entity())
        if len(found) == limit:
            break
    return found


def all_results(tenant_id: str, job_id: str):
    tables.bind()
    M = InvoiceJobResultModel
    return (item.to_entity() for item in M.query(tenant_id, M.result_key.startswith(_result_key(job_id))))


def results_page(tenant_id: str, job_id: str, *, limit=None, next_token=None, state=None):
    """A page of one job's results, optionally only those in one state; the token is tenant- and query-bound."""
    tables.bind()
    M = InvoiceJobResultModel
    limit = check_limit(limit)
    wanted = {"state": ResultState.parse(state).value} if state else {}
    fingerprint = query_fingerprint(f"{M.Meta.table_name}/{job_id}", wanted)
    start = decode_token(next_token, tenant_id, fingerprint, {"tenant_id": "S", "result_key": "S"})
    if start and not start["result_key"]["S"].startswith(_result_key(job_id)):
        raise invalid("nextToken", "not a token issued for this list and filter")
    results = M.query(tenant_id, M.result_key.startswith(_result_key(job_id)),
                      filter_condition=(M.state == wanted["state"]) if wanted else None,
                      limit=limit, last_evaluated_key=start, page_size=max(limit, 100))
    items = [item.to_entity() for item in results]
    last_key = results.last_evaluated_key if len(items) == limit else None
    return items, encode_token(tenant_id, fingerprint, last_key)
