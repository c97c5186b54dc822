"""Binds the models to this stage's table names and endpoint, and creates tables (local stack, tests)."""
import botocore.loaders
import botocore.session
import pynamodb.connection.base
from pynamodb.exceptions import TableError

from ..config import settings
from .billing_models import BILLING_MODELS
from .catalog_models import CATALOG_MODELS
from .document_models import DOCUMENT_MODELS
from .engine_models import ENGINE_MODELS
from .invoice_job_models import INVOICE_JOB_MODELS
from .invoice_schedule_models import INVOICE_SCHEDULE_MODELS
from .recurring_invoice_models import RECURRING_INVOICE_MODELS
from .tenant_models import TENANT_MODELS

ALL_MODELS = (TENANT_MODELS + ENGINE_MODELS + CATALOG_MODELS + BILLING_MODELS + DOCUMENT_MODELS
              + INVOICE_SCHEDULE_MODELS + RECURRING_INVOICE_MODELS + INVOICE_JOB_MODELS)

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
    """Creates every table that does not exist yet (moto: a fresh backend per test, the local stack's server).
    The models keep their connections (a botocore client each) across calls, and a table is created without
    asking first and without waiting (moto's tables are ACTIVE at once): a test's fresh tables cost ~0.1 s,
    not the ~1 s of new clients, existence checks and waits."""
    bind()
    for model in ALL_MODELS:
        try:
            model.create_table(wait=False)
        except TableError as error:
            if getattr(error.cause, "response", {}).get("Error", {}).get("Code") != "ResourceInUseException":
                raise
    _enable_ttl()


def _enable_ttl() -> None:
    """Each table whose model has a TTLAttribute expires its items by it, as the deployed table does."""
    for model in ALL_MODELS:
        ttl = model._ttl_attribute()
        if ttl is not None:
            model._get_connection().connection.client.update_time_to_live(
                TableName=model.Meta.table_name,
                TimeToLiveSpecification={"Enabled": True, "AttributeName": ttl.attr_name})
