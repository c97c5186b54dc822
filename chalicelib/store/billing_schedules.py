"""Owns the billing-schedules table, including its sparse `due` index."""
import hashlib
from dataclasses import replace
from datetime import datetime


from ..domain.billing_schedules import BillingSchedule, ScheduleStatus
from ..domain.tenants import LIVE_CLOCK
from . import tables
from .billing_models import BillingScheduleModel
from .repository import TenantRepository, earliest, update_if

LIVE_SHARDS = 4  # the live due index is split so no single partition carries every tenant's schedules


def due_partitions(clock_id: str) -> list[str]:
    if clock_id == LIVE_CLOCK:
        return [f"{LIVE_CLOCK}#{n}" for n in range(LIVE_SHARDS)]
    return [clock_id]


def due_partition(schedule: BillingSchedule) -> str | None:
    if schedule.status is not ScheduleStatus.ACTIVE or schedule.next_run_date is None:
        return None  # absent from the index: the tick never reads it
    if schedule.clock_id == LIVE_CLOCK:
        shard = int(hashlib.sha256(schedule.id.encode()).hexdigest(), 16) % LIVE_SHARDS
        return f"{LIVE_CLOCK}#{shard}"
    return schedule.clock_id


class ScheduleRepository(TenantRepository):
    def __init__(self):
        super().__init__(BillingScheduleModel, "billing schedule")

    def derived(self, tenant_id: str, entity: BillingSchedule) -> dict:
        return {"due_partition": due_partition(entity)}


schedules = ScheduleRepository()


def count(tenant_id: str) -> int:
    """How many billing schedules the tenant has: a Select COUNT Query of its partition, which reads every one
    of them (the quota's recount, only at its limit: services/quotas.py)."""
    tables.bind()
    return BillingScheduleModel.count(tenant_id, consistent_read=True)


def due(clock_id: str, until: datetime) -> list[tuple[str, str]]:
    """(tenantId, scheduleId) of every Active schedule whose next slot is at or before `until`."""
    tables.bind()
    found = []
    for partition in due_partitions(clock_id):
        for item in BillingScheduleModel.due.query(partition, BillingScheduleModel.next_run_date <= until):
            found.append((item.tenant_id, item.id))
    return found


def oldest_due(clock_id: str, until: datetime) -> datetime | None:
    """The earliest next slot at or before `until` among the domain's schedules (None: none is due)."""
    return earliest(BillingScheduleModel.due, due_partitions(clock_id), BillingScheduleModel.next_run_date, until)


def advance(tenant_id: str, schedule: BillingSchedule, slot: datetime,
            following: datetime | None) -> BillingSchedule | None:
    """Move the schedule past `slot` (compare-and-set): of concurrent ticks exactly one advances it. The schedule
    as this write left it (UpdateItem answers every attribute); None when another tick had moved it."""
    tables.bind()
    moved = BillingScheduleModel(tenant_id=tenant_id, id=schedule.id)
    partition = due_partition(replace(schedule, next_run_date=following))
    actions = [BillingScheduleModel.last_run_date.set(slot), BillingScheduleModel.version.add(1)]
    if following is None:
        actions += [BillingScheduleModel.next_run_date.remove(), BillingScheduleModel.due_partition.remove()]
    else:
        actions += [BillingScheduleModel.next_run_date.set(following),
                    BillingScheduleModel.due_partition.set(partition)]
    return moved.to_entity() if update_if(moved, actions, BillingScheduleModel.next_run_date == slot) else None
