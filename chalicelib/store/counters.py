"""Owns the counters table: per-tenant sequences advanced atomically (unique and increasing, gaps allowed).
The table's quota items (names starting `quota#`) are store/quotas.py's."""
from . import tables
from .engine_models import CounterModel


def next_value(tenant_id: str, name: str) -> int:
    return next_block(tenant_id, name, 1)[0]


def next_block(tenant_id: str, name: str, size: int) -> list[int]:
    """`size` consecutive values of the sequence, reserved by one atomic add (a page's documents' numbers)."""
    tables.bind()
    result = CounterModel(tenant_id=tenant_id, name=name).update(actions=[CounterModel.value.add(size)])
    last = int(result["Attributes"]["value"]["N"]) if "Attributes" in result else _read(tenant_id, name)
    return list(range(last - size + 1, last + 1))


def _read(tenant_id: str, name: str) -> int:
    return int(CounterModel.get(tenant_id, name, consistent_read=True).value)
