"""Guarantee 6 for recurring invoices: finding the templates with an invoice to generate reads a number of items
that grows with the due templates, not with all templates (nor with archived or finished ones).

Templates are written straight into the table (batch writes of 25) exactly as the repository stores them
(`templates.derived` sets the sparse `due` index keys), then every DynamoDB call PynamoDB makes while
`store.recurring_invoices.due()` runs is counted (tests/support.py ReadMeter): items a Query evaluated
(ScannedCount), items a GetItem or BatchGetItem returned, and Scans (there must be none).

The bound, as for billing schedules: one Query per partition of the clock (`live#0..3`), key condition
`generate_at <= until`, so DynamoDB evaluates exactly the due items: items read <= due + LIVE_SHARDS. Measured:
exactly the due items, with 1,000 or 10,000 templates stored, and with 2,000 archived or finished templates
whose generation dates have passed (they are not in the index)."""
from collections import Counter
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal

import pytest

from chalicelib.domain.recurring_invoices import LineItem, RecurrencePeriod, RecurringInvoice
from chalicelib.domain.tenants import LIVE_CLOCK
from chalicelib.store import recurring_invoices as store
from chalicelib.store import due_index
from chalicelib.store.recurring_invoice_models import RecurringInvoiceModel
from tests.support import due_reads, store_as_repository

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=timezone.utc)
TODAY = NOW.date()
DUE = 10
BOUND = DUE + due_index.LIVE_SHARDS
TENANTS = [f"tenant-{n:02d}" for n in range(20)]


@pytest.fixture
def reads(aws, monkeypatch):
    return due_reads(monkeypatch, store.due, NOW)


def template(n: int, next_due: date, clock_id: str = LIVE_CLOCK, **fields) -> RecurringInvoice:
    created = NOW - timedelta(days=400)
    values = dict(
        id=f"rit{clock_id}{n:05d}", customer_id=f"customer-{n % 50}", currency="USD", period=RecurrencePeriod.MONTHLY,
        frequency=1, next_due_date=next_due, anchor_day=next_due.day, days_in_advance=0,
        line_items=(LineItem("rli1", Decimal("19.99")),), timezone="UTC", clock_id=clock_id, created_by_id="key",
        last_modified_by_id="key", created_date=created, last_modified_date=created)
    return RecurringInvoice(**{**values, **fields})


def put(entries) -> None:
    store_as_repository(RecurringInvoiceModel, store.templates, entries)


def live(numbers: range, due: set[int]) -> list:
    """Due ones: next due date today (one) or in the past; the others: tomorrow (one) up to ~3 years ahead."""
    entries = []
    for n in numbers:
        if n in due:
            next_due = TODAY if n == min(due) else TODAY - timedelta(days=n % 700 + 1)
        else:
            next_due = TODAY + timedelta(days=1 if n == numbers.start else n % 1000 + 1)
        entries.append((TENANTS[n % len(TENANTS)], template(n, next_due)))
    return entries


def expected(entries) -> set:
    return {(tenant_id, t.id) for tenant_id, t in entries if t.generating and t.next_due_date <= TODAY}


def test_finding_due_templates_reads_the_due_ones_only_whatever_the_total(reads):
    first = live(range(0, 1_000), {n * 97 + 3 for n in range(DUE)})
    put(first)
    assert len(expected(first)) == DUE
    assert {store.due_partition(t) for _, t in first} == set(due_index.partitions(LIVE_CLOCK))

    found, small = reads(LIVE_CLOCK)
    assert set(found) == expected(first) and len(found) == DUE
    assert small.items <= BOUND and small.calls["Scan"] == 0 and not small.scans
    assert small.calls["Query"] == due_index.LIVE_SHARDS

    put(live(range(1_000, 10_000), set()))  # 9,000 more, none due
    # and 2,000 whose generation dates passed long ago, but archived, or past their endDate: not in the index
    put([(TENANTS[0], template(n, TODAY - timedelta(days=30), archived=True)) for n in range(10_000, 11_000)])
    put([(TENANTS[1], template(n, TODAY - timedelta(days=30), end_date=TODAY - timedelta(days=60)))
         for n in range(11_000, 12_000)])
    assert RecurringInvoiceModel.count() == 12_000  # all stored (a Scan, outside the measured window)

    found, large = reads(LIVE_CLOCK)
    assert set(found) == expected(first) and len(found) == DUE
    assert large.items <= BOUND and large.calls["Scan"] == 0
    assert large.items == small.items == DUE  # measured: exactly the due items
    assert large.calls == small.calls


def test_the_live_query_does_not_read_test_mode_templates(reads):
    sandbox = "sandbox"
    clock_id = f"test#{sandbox}"
    live_entries = live(range(0, 500), {n * 41 + 1 for n in range(DUE)})
    test_entries = [(sandbox, template(n, TODAY - timedelta(days=n), clock_id=clock_id)) for n in range(5)]
    put(live_entries + test_entries)

    found, cost = reads(LIVE_CLOCK)
    assert set(found) == expected(live_entries) and cost.items == DUE
    found, cost = reads(clock_id)
    assert set(found) == expected(test_entries) and cost.items == 5 and cost.calls == Counter({"Query": 1})


def test_the_index_key_is_local_midnight_of_the_generation_date_in_the_customers_zone():
    auckland = template(1, date(2026, 1, 10), timezone="Pacific/Auckland")
    assert store.generate_at(auckland) == datetime(2026, 1, 9, 11, 0, tzinfo=timezone.utc)
    ahead = template(2, date(2026, 1, 10), timezone="Pacific/Honolulu", days_in_advance=3)
    assert store.generate_at(ahead) == datetime(2026, 1, 7, 10, 0, tzinfo=timezone.utc)
    assert store.generate_at(template(3, date(2026, 1, 10), archived=True)) is None
    assert store.due_partition(template(3, date(2026, 1, 10), archived=True)) is None
