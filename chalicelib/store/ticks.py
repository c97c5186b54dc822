"""Owns the ticks table: each clock's tick heartbeat (when it last ran, how often)."""
from datetime import datetime

from pynamodb.exceptions import DoesNotExist

from . import tables
from .engine_models import TickModel


def beat(clock_id: str, at: datetime) -> None:
    tables.bind()
    TickModel(clock_id=clock_id).update(actions=[TickModel.last_tick_at.set(at), TickModel.tick_count.add(1)])


def last_beat(clock_id: str) -> tuple[datetime | None, int]:
    tables.bind()
    try:
        item = TickModel.get(clock_id, consistent_read=True)
    except DoesNotExist:
        return None, 0
    return item.last_tick_at, int(item.tick_count)
