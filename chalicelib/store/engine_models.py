"""The engine's own tables: counters (human numbers, quotas), idempotency records, and each clock's tick heartbeat."""
from pynamodb.attributes import MapAttribute, NumberAttribute, TTLAttribute, UnicodeAttribute, UTCDateTimeAttribute
from pynamodb.models import Model

from .model_meta import BaseMeta


class CounterModel(Model):
    """Per-tenant sequences for human numbers (BS-, INV-, ...), advanced by atomic ADD (store/counters.py); and
    per-tenant quota items, named `quota#<quota>` (store/quotas.py): value is then the quota's count, entries its
    admissions in flight (or its open jobs), version what a recount compares and sets."""

    class Meta(BaseMeta):
        table_name = "counters"

    tenant_id = UnicodeAttribute(hash_key=True)
    name = UnicodeAttribute(range_key=True)
    value = NumberAttribute(default=0)
    entries = MapAttribute(null=True)  # quota items only: {entry: ISO instant it was admitted}
    version = NumberAttribute(null=True)  # quota items only


class IdempotencyModel(Model):
    """What a POST with an Idempotency-Key answered, kept 24 h (DynamoDB TTL removes it later)."""

    class Meta(BaseMeta):
        table_name = "idempotency"

    tenant_id = UnicodeAttribute(hash_key=True)
    key = UnicodeAttribute(range_key=True)
    fingerprint = UnicodeAttribute()
    state = UnicodeAttribute()  # InProgress | Done
    lease_until = UTCDateTimeAttribute()
    status_code = NumberAttribute(null=True)
    body = UnicodeAttribute(null=True)
    expires_at = TTLAttribute()


class TickModel(Model):
    """Heartbeat of each clock's tick: 'live' (wall clock) or 'test#<tenantId>'."""

    class Meta(BaseMeta):
        table_name = "ticks"

    clock_id = UnicodeAttribute(hash_key=True, attr_name="domain")
    last_tick_at = UTCDateTimeAttribute(null=True)
    tick_count = NumberAttribute(default=0)


ENGINE_MODELS = (CounterModel, IdempotencyModel, TickModel)
