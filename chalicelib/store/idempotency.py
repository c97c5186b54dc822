"""Owns the idempotency table: claim a key, record the answer, replay it for 24 hours."""
from dataclasses import dataclass
from datetime import datetime, timedelta

from pynamodb.exceptions import DoesNotExist, PutError

from . import tables
from .engine_models import IdempotencyModel
from .repository import condition_failed

RETENTION = timedelta(hours=24)
LEASE = timedelta(seconds=60)


@dataclass(frozen=True)
class Recorded:
    fingerprint: str
    done: bool
    status_code: int | None
    body: str | None


def claim(tenant_id: str, key: str, fingerprint: str, now: datetime) -> Recorded | None:
    """None when this request now owns the key; otherwise what an earlier request with the key left."""
    tables.bind()
    item = IdempotencyModel(tenant_id=tenant_id, key=key, fingerprint=fingerprint, state="InProgress",
                            lease_until=now + LEASE, expires_at=now + RETENTION)
    # An expired record, or an abandoned claim whose lease ran out, may be taken over.
    takeover = IdempotencyModel.key.does_not_exist() | (IdempotencyModel.expires_at < now) | (
        (IdempotencyModel.state == "InProgress") & (IdempotencyModel.lease_until < now))
    try:
        item.save(condition=takeover)
        return None
    except PutError as error:
        if not condition_failed(error):
            raise
    try:
        found = IdempotencyModel.get(tenant_id, key, consistent_read=True)
    except DoesNotExist:
        return claim(tenant_id, key, fingerprint, now)
    return Recorded(found.fingerprint, found.state == "Done", found.status_code, found.body)


def record(tenant_id: str, key: str, status_code: int, body: str) -> None:
    tables.bind()
    IdempotencyModel(tenant_id=tenant_id, key=key).update(actions=[
        IdempotencyModel.state.set("Done"), IdempotencyModel.status_code.set(status_code),
        IdempotencyModel.body.set(body)])


def release(tenant_id: str, key: str) -> None:
    """A request that failed validation leaves nothing behind: the key can be used again."""
    tables.bind()
    IdempotencyModel(tenant_id=tenant_id, key=key).delete(condition=IdempotencyModel.state == "InProgress")
