"""Binds the models to this stage's table names and endpoint, and creates tables (local stack, tests)."""
import botocore.loaders
import botocore.session
import pynamodb.connection.base

from ..config import settings
from .billing_models import BILLING_MODELS
from .invoice_jobs import INVOICE_JOB_MODELS
from .invoice_schedule_models import INVOICE_SCHEDULE_MODELS
from .models import CORE_MODELS
from .recurring_models import RECURRING_MODELS

ALL_MODELS = CORE_MODELS + BILLING_MODELS + INVOICE_SCHEDULE_MODELS + RECURRING_MODELS + INVOICE_JOB_MODELS

# PynamoDB opens one botocore session per model, and every new session re-reads botocore's JSON data files
# (endpoints, rule sets, the DynamoDB model): ~200 ms per model on a cold start. One shared data loader
# (a read-only cache of those files) makes that cost once per process.
_LOADER = botocore.loaders.create_loader()


def _session() -> botocore.session.Session:
    session = botocore.session.get_session()
    session.register_component("data_loader", _LOADER)
    return session


pynamodb.connection.base.get_session = _session

_SUFFIX = {model: model.Meta.table_name for model in ALL_MODELS}
_bound: tuple | None = None


def table_name(model) -> str:
    return f"{settings().table_prefix}-{_SUFFIX[model]}"


def bind(force: bool = False) -> None:
    """Point every model at the current environment's tables; cheap when nothing changed."""
    global _bound
    s = settings()
    key = (s.table_prefix, s.dynamodb_endpoint, s.region)
    if key == _bound and not force:
        return
    for model in ALL_MODELS:
        model.Meta.table_name = f"{s.table_prefix}-{_SUFFIX[model]}"
        model.Meta.host = s.dynamodb_endpoint
        model.Meta.region = s.region
        model._connection = None
    _bound = key


def create_all() -> None:
    bind(force=True)
    for model in ALL_MODELS:
        if not model.exists():
            model.create_table(wait=True)
    _enable_ttl()


def _enable_ttl() -> None:
    from .models import IdempotencyModel
    client = IdempotencyModel._get_connection().connection.client
    client.update_time_to_live(TableName=IdempotencyModel.Meta.table_name,
                               TimeToLiveSpecification={"Enabled": True, "AttributeName": "expires_at"})
