"""Guarantee 6: finding due schedules reads a number of items that grows with the due schedules, not with
all schedules.

Schedules are written straight into the table (batch writes of 25, as the repository would store them:
`schedules.derived` sets the sparse `due` index key), then every DynamoDB call PynamoDB makes while
`store.billing_schedules.due()` runs is counted: items a Query evaluated (`ScannedCount`), items a GetItem or
BatchGetItem returned, and Scan calls (there must be none).

The bound: `due(domain, now)` is one Query per partition of the domain (`live#0..3` for live tenants)
with the key condition `next_run_date <= now`. A Query's key condition decides which items DynamoDB
reads, so it evaluates exactly the due items; the only other cost is the fixed number of Query calls
(one per shard, each charged a minimum read even when it finds nothing). So the bound is
items read <= due + LIVE_SHARDS: the due items plus at most one per shard query, a constant that does not
depend on how many schedules exist. The measured count is exactly the number of due items, and it is the
same with 1,000 and with 10,000 schedules."""
from collections import Counter
from datetime import date, datetime, timedelta, timezone

import pytest

from chalicelib.domain.billing_schedules import BillingSchedule, ScheduleStatus, ScheduleType
from chalicelib.domain.tenants import LIVE_CLOCK
from chalicelib.store import billing_schedules as store
from chalicelib.store import due_index
from chalicelib.store.billing_models import BillingScheduleModel
from tests.support import due_reads, store_as_repository

NOW = datetime(2025, 6, 1, 12, 0, tzinfo=timezone.utc)
DUE = 10
BOUND = DUE + due_index.LIVE_SHARDS  # see the module docstring
LIVE_TENANTS = [f"live-tenant-{n:02d}" for n in range(20)]


@pytest.fixture
def reads(aws, monkeypatch):
    """Counts every DynamoDB call any PynamoDB model makes while due() runs."""
    return due_reads(monkeypatch, store.due, NOW)


def schedule(n: int, next_run: datetime, clock_id: str = LIVE_CLOCK) -> BillingSchedule:
    return BillingSchedule(
        id=f"sched-{clock_id}-{n:05d}", name=f"BS-{n:08d}", schedule_type=ScheduleType.RECURRING,
        status=ScheduleStatus.ACTIVE, zone_id="UTC", schedule_start_date=date(2025, 1, 1), clock_id=clock_id,
        created_by_id="key_test", last_modified_by_id="key_test", created_date=NOW - timedelta(days=200),
        last_modified_date=NOW - timedelta(days=200), recurring_schedule="0 0 3 ? * *", next_run_date=next_run)


def put(entries) -> None:
    """Stores each (tenantId, schedule) exactly as ScheduleRepository would: the entity plus its index key."""
    store_as_repository(BillingScheduleModel, store.schedules, entries)


def live(numbers: range, due: set[int]) -> list[tuple[str, BillingSchedule]]:
    """Live schedules spread over tenants; the `due` ones are in the past (one exactly at NOW), the others
    ahead (one just a second after NOW, the rest up to a year ahead)."""
    entries = []
    for n in numbers:
        if n in due:
            next_run = NOW if n == min(due) else NOW - timedelta(minutes=n % 5000 + 1)
        else:
            next_run = NOW + timedelta(seconds=1) if n == numbers.start else NOW + timedelta(minutes=n % 525_600 + 1)
        entries.append((LIVE_TENANTS[n % len(LIVE_TENANTS)], schedule(n, next_run)))
    return entries


def expected(entries) -> set[tuple[str, str]]:
    return {(tenant_id, s.id) for tenant_id, s in entries if s.next_run_date <= NOW}


def test_finding_due_schedules_reads_the_due_ones_only_whatever_the_total(reads):
    # 1,000 schedules, 10 due (spread over the range so they land on different shards and tenants)
    due_numbers = {n * 97 + 3 for n in range(DUE)}
    first = live(range(0, 1_000), due_numbers)
    put(first)
    assert len(expected(first)) == DUE
    assert {store.due_partition(s) for _, s in first} == set(due_index.partitions(LIVE_CLOCK))  # all shards used

    found, small = reads(LIVE_CLOCK)
    assert len(found) == DUE and set(found) == expected(first)
    assert small.items <= BOUND, small
    assert not small.scans and small.calls["Scan"] == 0
    assert small.calls["Query"] == due_index.LIVE_SHARDS  # one Query per shard: no pages, no per-item reads

    # 9,000 more, none due: 10,000 schedules, the same 10 due
    more = live(range(1_000, 10_000), set())
    put(more)
    assert BillingScheduleModel.count() == 10_000  # all stored (a Scan, outside the measured window)

    found, large = reads(LIVE_CLOCK)
    assert len(found) == DUE and set(found) == expected(first)
    assert large.items <= BOUND, large
    assert not large.scans and large.calls["Scan"] == 0
    assert large.items == small.items == DUE  # measured: exactly the due items, with 1,000 or 10,000 stored
    assert large.calls == small.calls  # the same calls too: cost is independent of the total


def test_live_due_query_does_not_read_test_mode_tenants_due_schedules(reads):
    sandbox = "sandbox-tenant"
    test_clock_id = f"test#{sandbox}"
    live_entries = live(range(0, 1_000), {n * 97 + 3 for n in range(DUE)})
    test_entries = [(sandbox, schedule(n, NOW - timedelta(hours=n + 1), clock_id=test_clock_id)) for n in range(5)]
    put(live_entries + test_entries)
    assert {store.due_partition(s) for _, s in test_entries} == {test_clock_id}

    found, cost = reads(LIVE_CLOCK)
    assert set(found) == expected(live_entries) and len(found) == DUE
    assert not {tenant_id for tenant_id, _ in found} & {sandbox}
    assert cost.items == DUE  # the 5 due test-mode schedules were not read at all
    assert cost.calls["Scan"] == 0

    # and the sandbox's own clock reads its 5 and nothing of the live ones
    found, cost = reads(test_clock_id)
    assert set(found) == expected(test_entries) and len(found) == 5
    assert cost.items == 5 and cost.calls == Counter({"Query": 1})
