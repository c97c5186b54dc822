"""Owns the billing-schedules table, including its sparse `due` index."""
from dataclasses import replace
from datetime import datetime

from ..domain.billing_schedules import BillingSchedule, ScheduleStatus
from . import due_index, tables
from .billing_models import BillingScheduleModel
from .repository import TenantRepository, update_if


def due_partition(schedule: BillingSchedule) -> str | None:
    if schedule.status is not ScheduleStatus.ACTIVE or schedule.next_run_date is None:
        return None  # absent from the index: the tick never reads it
    return due_index.partition(schedule.clock_id, schedule.id)


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
    return due_index.due(BillingScheduleModel.due, BillingScheduleModel.next_run_date, clock_id, until)


def oldest_due(clock_id: str, until: datetime) -> datetime | None:
    """The earliest next slot at or before `until` among the clock's schedules (None: none is due)."""
    return due_index.oldest(BillingScheduleModel.due, BillingScheduleModel.next_run_date, clock_id, until)


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
