"""Owns the quota items of the counters table (`quota#<quota>`, one per tenant and quota), each written only by
conditional updates on that one small item: no transaction, and no read that grows with the tenant's data.

A counted quota (billing schedules, recurring invoices) holds `value`, how many objects the tenant has, and
`entries`, the admissions whose object may not be written yet ({entry: when admitted}):
- admit: value + 1 and the entry noted, if value < limit and the entry is not noted yet;
- confirm: the object is written, its entry goes; abort: the write was refused, value - 1 and its entry goes;
- release: value - 1 after a delete (never below zero);
- correct: value and entries set from a recount, only if nothing changed since they were read (version).
An open-job quota holds only `entries`, one per job not known to have finished: add one (if there are fewer than
the limit, or it is there already), drop some."""
from dataclasses import dataclass
from datetime import datetime

from pynamodb.exceptions import DoesNotExist, PutError
from pynamodb.expressions.condition import size

from ..domain.timeutil import format_instant, parse_instant
from . import tables
from .engine_models import CounterModel as M
from .repository import condition_failed, update_if


@dataclass(frozen=True)
class Tally:
    count: int
    entries: dict[str, datetime]
    version: int


def _name(quota: str) -> str:
    return f"quota#{quota}"


def _update(tenant_id: str, quota: str, actions, condition) -> bool:
    """False when the condition did not hold (nothing was written)."""
    return update_if(M(tenant_id=tenant_id, name=_name(quota)), actions, condition)


def _put_first(tenant_id: str, quota: str, count: int, entries: dict[str, datetime]) -> bool:
    """The quota's first item; False when another request wrote it first."""
    tables.bind()
    item = M(tenant_id=tenant_id, name=_name(quota), value=count, version=1,
             entries={entry: format_instant(at) for entry, at in entries.items()})
    try:
        item.save(condition=M.name.does_not_exist())
        return True
    except PutError as error:
        if not condition_failed(error):
            raise
        return False


def read(tenant_id: str, quota: str) -> Tally | None:
    """The quota's item as it is now (None: never counted yet)."""
    tables.bind()
    try:
        item = M.get(tenant_id, _name(quota), consistent_read=True)
    except DoesNotExist:
        return None
    entries = item.entries.as_dict() if item.entries is not None else {}
    return Tally(int(item.value or 0), {entry: parse_instant(at) for entry, at in entries.items()},
                 int(item.version or 0))


# --- counted quotas ---------------------------------------------------------------------------------------------

def admit(tenant_id: str, quota: str, entry: str, limit: int, now: datetime) -> bool:
    """False at the limit, when the entry is already admitted, or when the quota was never counted."""
    return _update(tenant_id, quota, [M.value.add(1), M.entries[entry].set(format_instant(now)), M.version.add(1)],
                   (M.value < limit) & M.entries[entry].does_not_exist())


def confirm(tenant_id: str, quota: str, entry: str) -> None:
    _update(tenant_id, quota, [M.entries[entry].remove(), M.version.add(1)], M.entries[entry].exists())


def abort(tenant_id: str, quota: str, entry: str) -> None:
    _update(tenant_id, quota, [M.value.add(-1), M.entries[entry].remove(), M.version.add(1)],
            M.entries[entry].exists())


def release(tenant_id: str, quota: str) -> None:
    """A counted object is gone. Never counted yet: nothing to do, the first count will not see it."""
    _update(tenant_id, quota, [M.value.add(-1), M.version.add(1)], M.value > 0)


def correct(tenant_id: str, quota: str, seen: Tally | None, count: int, entries: dict[str, datetime]) -> bool:
    """A recount's result, written only if the item is still as `seen` (None: no item yet); False otherwise."""
    if seen is None:
        return _put_first(tenant_id, quota, count, entries)
    values = {entry: format_instant(at) for entry, at in entries.items()}
    return _update(tenant_id, quota, [M.value.set(count), M.entries.set(values), M.version.add(1)],
                   M.version == seen.version)


# --- open-job quotas --------------------------------------------------------------------------------------------

def add_open(tenant_id: str, quota: str, entry: str, limit: int, now: datetime) -> bool:
    """The entry is open (it may be already: a retry keeps its first instant); False when `limit` others are, or
    the quota has no item yet (see start_open)."""
    return _update(tenant_id, quota, [M.entries[entry].set(M.entries[entry] | format_instant(now))],
                   M.entries.exists() & ((size(M.entries) < limit) | M.entries[entry].exists()))


def start_open(tenant_id: str, quota: str) -> None:
    """An item with no open entry, unless there is one already."""
    _put_first(tenant_id, quota, 0, {})


def drop(tenant_id: str, quota: str, entries) -> None:
    """The entries are no longer open (dropping one twice, or one never added, is harmless)."""
    if entries:
        _update(tenant_id, quota, [M.entries[entry].remove() for entry in entries], M.entries.exists())
