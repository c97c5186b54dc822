"""The sparse `due` index of billing schedules, invoice schedules and recurring invoices: partitioned by clock
(the live clock split in shards), sorted by when each item next falls due; an item with nothing due has no key."""
import hashlib
from datetime import datetime

from ..domain.tenants import LIVE_CLOCK
from . import tables
from .repository import earliest

LIVE_SHARDS = 4  # so that no single partition carries every live tenant's items


def partitions(clock_id: str) -> list[str]:
    """The partitions a clock's due items are in: `live#0..3`, or the test clock's own (`test#<tenantId>`)."""
    if clock_id == LIVE_CLOCK:
        return [f"{LIVE_CLOCK}#{n}" for n in range(LIVE_SHARDS)]
    return [clock_id]


def partition(clock_id: str, ident: str) -> str:
    """The partition of an item that is due on this clock (a live item's shard follows from its id)."""
    if clock_id == LIVE_CLOCK:
        return f"{LIVE_CLOCK}#{int(hashlib.sha256(ident.encode()).hexdigest(), 16) % LIVE_SHARDS}"
    return clock_id


def due(index, sort_key, clock_id: str, until: datetime) -> list[tuple[str, str]]:
    """(tenantId, id) of the clock's items whose `sort_key` is at or before `until`: one Query per partition,
    which reads the due entries only."""
    tables.bind()
    return [(item.tenant_id, item.id) for p in partitions(clock_id) for item in index.query(p, sort_key <= until)]


def oldest(index, sort_key, clock_id: str, until: datetime) -> datetime | None:
    """When the clock's earliest item due by `until` fell due (None: nothing is due)."""
    return earliest(index, partitions(clock_id), sort_key, until)
