"""The tenants and api-keys tables: who may call the API, their settings and their test clock.

Tenant-owned tables elsewhere are keyed (tenantId, id): every read names the tenant, so no query can cross
tenants."""
from pynamodb.attributes import BooleanAttribute, MapAttribute, NumberAttribute, UnicodeAttribute, UTCDateTimeAttribute
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex, KeysOnlyProjection
from pynamodb.models import Model

from ..domain.tenants import ApiKey, Tenant
from .mapping import Mapped
from .model_meta import BaseMeta


class AdvancingClocks(GlobalSecondaryIndex):
    """Sparse: a test clock whose advance is unfinished, by when its lease runs out (the wall tick takes over)."""
    class Meta:
        index_name = "advancing"
        projection = KeysOnlyProjection()

    advance_partition = UnicodeAttribute(hash_key=True)
    advance_lease_until = UTCDateTimeAttribute(range_key=True)


class TenantModel(Mapped, Model):
    entity_cls = Tenant

    class Meta(BaseMeta):
        table_name = "tenants"

    id = UnicodeAttribute(hash_key=True)
    name = UnicodeAttribute()
    test_mode = BooleanAttribute()
    timezone = UnicodeAttribute()
    currency = UnicodeAttribute()
    payment_term_days = NumberAttribute()
    generate_first_invoice_on_order_activation = BooleanAttribute()
    clock = UTCDateTimeAttribute(null=True)
    advancing_to = UTCDateTimeAttribute(null=True)
    advance_ran = MapAttribute(null=True)
    created_date = UTCDateTimeAttribute()
    last_modified_date = UTCDateTimeAttribute()
    version = NumberAttribute(default=0)
    # the advance's lease (store/tenants.py): who works on it, until when
    advance_partition = UnicodeAttribute(null=True)
    advance_lease_until = UTCDateTimeAttribute(null=True)
    advance_owner = UnicodeAttribute(null=True)
    advancing = AdvancingClocks()


class ApiKeysByTenant(GlobalSecondaryIndex):
    class Meta:
        index_name = "by-tenant"
        projection = AllProjection()

    tenant_id = UnicodeAttribute(hash_key=True)
    id = UnicodeAttribute(range_key=True)


class ApiKeyModel(Mapped, Model):
    """Looked up by the hash of the presented key (strongly consistent GetItem on every request)."""
    entity_cls = ApiKey

    class Meta(BaseMeta):
        table_name = "api-keys"

    key_hash = UnicodeAttribute(hash_key=True)
    id = UnicodeAttribute()
    tenant_id = UnicodeAttribute()
    name = UnicodeAttribute()
    created_date = UTCDateTimeAttribute()
    revoked_date = UTCDateTimeAttribute(null=True)
    by_tenant = ApiKeysByTenant()


TENANT_MODELS = (TenantModel, ApiKeyModel)
