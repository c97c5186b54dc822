"""Tables of invoice jobs (bulk invoice operations run under a lease) and their per-invoice results.

Index design: invoice jobs `unfinished`: (lease_partition, lease_until), a sparse index present only while a job is
Queued or Running, so the tick finds jobs whose lease expired without reading finished ones. Results are keyed
(tenantId, jobId#invoiceId)."""
from pynamodb.attributes import MapAttribute, NumberAttribute, UnicodeAttribute, UTCDateTimeAttribute
from pynamodb.indexes import GlobalSecondaryIndex, KeysOnlyProjection
from pynamodb.models import Model

from ..domain.invoice_jobs import (InvoiceJob, InvoiceJobKind, InvoiceJobPhase, InvoiceJobResult,
                                   InvoiceJobStatus, ResultState)
from .attributes import DateAttribute, EnumAttribute
from .mapping import Mapped
from .model_meta import BaseMeta


class UnfinishedInvoiceJobs(GlobalSecondaryIndex):
    class Meta:
        index_name = "unfinished"
        projection = KeysOnlyProjection()

    lease_partition = UnicodeAttribute(hash_key=True)
    lease_until = UTCDateTimeAttribute(range_key=True)


class InvoiceJobModel(Mapped, Model):
    entity_cls = InvoiceJob

    class Meta(BaseMeta):
        table_name = "invoice-jobs"

    tenant_id = UnicodeAttribute(hash_key=True)
    id = UnicodeAttribute(range_key=True)
    kind = EnumAttribute(InvoiceJobKind)
    status = EnumAttribute(InvoiceJobStatus)
    phase = EnumAttribute(InvoiceJobPhase)
    graphql_filter = UnicodeAttribute()
    created_by_id = UnicodeAttribute()
    created_by_name = UnicodeAttribute()
    created_date = UTCDateTimeAttribute()
    invoice_date = DateAttribute(null=True)
    comment = UnicodeAttribute(null=True)
    cursor = UnicodeAttribute(null=True)
    counts = MapAttribute(null=True)
    attempts = NumberAttribute(default=0)
    started_time = UTCDateTimeAttribute(null=True)
    completed_time = UTCDateTimeAttribute(null=True)
    lease_partition = UnicodeAttribute(null=True)
    lease_until = UTCDateTimeAttribute(null=True)
    lease_owner = UnicodeAttribute(null=True)
    error = UnicodeAttribute(null=True)
    unfinished = UnfinishedInvoiceJobs()


class InvoiceJobResultModel(Mapped, Model):
    entity_cls = InvoiceJobResult

    class Meta(BaseMeta):
        table_name = "invoice-job-results"

    tenant_id = UnicodeAttribute(hash_key=True)
    result_key = UnicodeAttribute(range_key=True)  # jobId#invoiceId
    invoice_id = UnicodeAttribute()
    state = EnumAttribute(ResultState)
    status = UnicodeAttribute(null=True)
    message = UnicodeAttribute(null=True)


INVOICE_JOB_MODELS = (InvoiceJobModel, InvoiceJobResultModel)
