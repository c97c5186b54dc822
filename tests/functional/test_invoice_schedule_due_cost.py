"""Guarantee 6 for invoice schedules: finding due items reads a number of items that grows with the schedules that
have a due item, not with all schedules.

Schedules are written straight into the table (batch writes of 25), each exactly as the repository stores it
(`schedules.derived` sets the sparse `due` index key from the earliest pending item, and leaves it out when the
schedule is paused or has nothing pending), then every DynamoDB call PynamoDB makes while
`store.invoice_schedules.due()` runs is counted (ReadMeter: items a Query evaluated, items a GetItem returned,
and Scans, of which there must be none).

The bound: one Query per partition of the domain (`live#0..3`), key condition `next_run_at <= now`, so DynamoDB
reads exactly the due entries; items read <= due + LIVE_SHARDS. Measured: exactly the due schedules, the same
with 1,000 and with 10,000 schedules, of which many are paused, fully processed or due later."""
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal

import pytest

from chalicelib.domain import invoice_schedules as rules
from chalicelib.domain.invoice_schedules import InvoiceSchedule, ItemStatus, ScheduleItem
from chalicelib.domain.tenants import LIVE_CLOCK
from chalicelib.store import invoice_schedules as store
from chalicelib.store import due_index
from chalicelib.store.invoice_schedule_models import InvoiceScheduleModel
from tests.support import due_reads, store_as_repository

NOW = datetime(2025, 6, 1, 12, 0, tzinfo=timezone.utc)
DUE = 10
BOUND = DUE + due_index.LIVE_SHARDS
TENANTS = [f"live-tenant-{n:02d}" for n in range(20)]


@pytest.fixture
def reads(aws, monkeypatch):
    return due_reads(monkeypatch, store.due, NOW)


def schedule(n: int, first_run: date, *, clock_id: str = LIVE_CLOCK, paused: bool = False,
             processed: int = 0) -> InvoiceSchedule:
    """Three monthly items from `first_run`; the first `processed` of them already invoiced."""
    items = tuple(ScheduleItem(id=f"item-{n}-{k}", run_date=first_run + timedelta(days=30 * k),
                               amount=Decimal("100.00"),
                               status=ItemStatus.PROCESSED if k < processed else ItemStatus.PENDING)
                  for k in range(3))
    return InvoiceSchedule(
        id=f"is-{clock_id}-{n:05d}", number=f"IS-{n:08d}", customer_id="c", currency="USD", order_ids=("o",),
        total_amount=Decimal("300.00"), items=items, timezone="UTC", clock_id=clock_id, created_by_id="k",
        updated_by_id="k", created_date=NOW - timedelta(days=400), updated_date=NOW - timedelta(days=400),
        paused=paused)


def put(entries) -> None:
    store_as_repository(InvoiceScheduleModel, store.schedules, entries)


def population(numbers: range, due: set[int]) -> list:
    """The `due` numbers have a pending item whose run date has come (one exactly today: due at 00:00 UTC); the
    others are paused with overdue items, fully processed long ago, or due from tomorrow on."""
    today = NOW.date()
    entries = []
    for n in numbers:
        tenant = TENANTS[n % len(TENANTS)]
        if n in due:
            first = today if n == min(due) else today - timedelta(days=n % 300 + 1)
            entries.append((tenant, schedule(n, first - timedelta(days=30), processed=1)))  # item 2 is due
        elif n % 3 == 0:
            entries.append((tenant, schedule(n, today - timedelta(days=200), paused=True)))
        elif n % 3 == 1:
            entries.append((tenant, schedule(n, today - timedelta(days=365), processed=3)))
        else:
            entries.append((tenant, schedule(n, today + timedelta(days=n % 700 + 1))))
    return entries


def expected(entries) -> set:
    return {(tenant_id, s.id) for tenant_id, s in entries if rules.next_due_at(s) and rules.next_due_at(s) <= NOW}


def test_finding_due_items_reads_the_due_schedules_only_whatever_the_total(reads):
    due_numbers = {n * 97 + 5 for n in range(DUE)}
    first = population(range(0, 1_000), due_numbers)
    put(first)
    assert len(expected(first)) == DUE
    assert {store.due_partition(s) for _, s in first if store.due_partition(s)} == set(due_index.partitions(LIVE_CLOCK))
    assert sum(store.due_partition(s) is None for _, s in first) > 600  # paused and fully processed: not indexed

    found, small = reads(LIVE_CLOCK)
    assert set(found) == expected(first) and len(found) == DUE
    assert small.items <= BOUND and small.calls["Scan"] == 0 and not small.scans
    assert small.calls["Query"] == due_index.LIVE_SHARDS

    put(population(range(1_000, 10_000), set()))
    assert InvoiceScheduleModel.count() == 10_000

    found, large = reads(LIVE_CLOCK)
    assert set(found) == expected(first)
    assert large.items == small.items == DUE  # measured: exactly the due schedules, with 1,000 or 10,000 stored
    assert large.calls == small.calls


def test_each_clock_reads_only_its_own_due_schedules(reads):
    live = population(range(0, 200), {3, 50, 120})
    sandbox = "sandbox-tenant"
    clock_id = f"test#{sandbox}"
    mine = [(sandbox, schedule(n, NOW.date() - timedelta(days=n + 1), clock_id=clock_id)) for n in range(4)]
    put(live + mine)
    found, cost = reads(LIVE_CLOCK)
    assert set(found) == expected(live) and cost.items == 3
    found, cost = reads(clock_id)
    assert set(found) == {(sandbox, s.id) for _, s in mine} and cost.items == 4 and cost.calls["Query"] == 1
