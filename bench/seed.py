"""Seeds the bench's data with batch writes (not measured): items built by the domain's own rules and stored
exactly as the repositories store them (each repository's derived index keys included).

- a world: a test-mode tenant, five monthly products, C customers and N subscriptions dealt round-robin over
  them (one activated order per customer, one line per subscription, starts spread over January so some first
  periods are prorated); a billing job with target date January 31 bills one invoice per customer that has a
  subscription;
- billing schedules: S active live schedules spread over tenants and the live due index's shards, D of them due
  (their next slot at or before DUE_AT), the others up to a year later;
- an empty tenant: a test-mode tenant with no customers and an active hourly billing schedule over the whole tenant,
  so each slot's billing job has nothing in scope;
- a year's tenant: a world with one subscription per customer and an active monthly billing schedule."""
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal

from chalicelib.domain import billing_schedules as schedule_rules
from chalicelib.domain import orders as order_rules
from chalicelib.domain.billing_schedules import BillingSchedule, ScheduleStatus, ScheduleType
from chalicelib.domain.catalog import Customer, Product
from chalicelib.domain.enums import BillingPeriod, OrderStatus, ProductType
from chalicelib.domain.orders import LineRequest, Order
from chalicelib.domain.tenants import LIVE_CLOCK, Tenant
from chalicelib.services import tenants
from chalicelib.store import billing_schedules as schedule_store
from chalicelib.store import tables
from chalicelib.store.billing_models import BillingScheduleModel
from chalicelib.store.catalog import customers as customer_repo
from chalicelib.store.catalog import orders as order_repo
from chalicelib.store.catalog import products as product_repo
from chalicelib.store.catalog import subscriptions as subscription_repo

CLOCK = datetime(2025, 2, 1, tzinfo=timezone.utc)  # the tenants' test clock: billing runs "now"
TARGET_DATE, INVOICE_DATE = date(2025, 1, 31), date(2025, 2, 1)
PRICES = (Decimal("9.99"), Decimal("19.00"), Decimal("30.00"), Decimal("49.50"), Decimal("99.00"))
DUE_AT = datetime(2025, 6, 1, 12, 0, tzinfo=timezone.utc)  # the instant the due-schedule lookup asks about
_NS = uuid.UUID("b3b5a0c2-7a43-4f59-9a55-0d5c1e1f2a10")


def _id(*parts) -> str:
    return str(uuid.uuid5(_NS, "/".join(str(p) for p in parts)))


@dataclass
class World:
    tenant: Tenant
    subscriptions: int
    customers_billed: int  # customers with at least one subscription: the invoices a job should write
    customer_ids: list[str] = field(default_factory=list)


def _store(repository, tenant_id: str, entities) -> None:
    with repository.model.batch_write() as batch:  # flushes every 25 items (DynamoDB's limit)
        for entity in entities:
            batch.save(repository.model.from_entity(entity, tenant_id=tenant_id,
                                                    **repository.derived(tenant_id, entity)))


def world(name: str, subscriptions: int, customers: int) -> World:
    tables.bind()
    tenant, _, _ = tenants.provision(name=name, test_mode=True, timezone="UTC", currency="USD",
                                     clock_start=CLOCK, now=CLOCK, tenant_id=_id(name))
    products = [Product(id=_id(name, "product", i), name=f"Plan {i}", product_type=ProductType.RECURRING,
                        price=price, currency="USD", created_date=CLOCK, last_modified_date=CLOCK,
                        billing_period=BillingPeriod.MONTH) for i, price in enumerate(PRICES)]
    people = [Customer(id=_id(name, "customer", c), name=f"Customer {c:05d}", timezone="UTC", currency="USD",
                       payment_term_days=30, created_date=CLOCK, last_modified_date=CLOCK, bill_cycle_day=1,
                       tax_rate=Decimal("7.25")) for c in range(customers)]
    lines: dict[int, list[tuple[int, LineRequest]]] = {}
    for s in range(subscriptions):  # dealt round-robin: customer c holds subscriptions c, c + C, c + 2C, ...
        request = LineRequest(product_id=products[s % len(products)].id, quantity=Decimal(1 + s % 3),
                              start_date=date(2025, 1, 1) + timedelta(days=(s * 7) % 28))
        lines.setdefault(s % customers, []).append((s, request))
    orders, subs = [], []
    for c, requested in sorted(lines.items()):
        customer = people[c]
        built = [order_rules.build_line(i, _id(name, "line", s), request,
                                        products[s % len(products)], customer, date(2025, 1, 1))
                 for i, (s, request) in enumerate(requested)]
        order = Order(id=_id(name, "order", c), customer_id=customer.id, currency="USD", status=OrderStatus.DRAFT,
                      order_date=date(2024, 12, 15), lines=tuple(built), total_amount=order_rules.order_total(built),
                      created_date=CLOCK, last_modified_date=CLOCK)
        activated, new = order_rules.activate(order, [f"sub_{line.id.replace('-', '')}" for line in built], CLOCK)
        orders.append(activated)
        subs += new
    _store(product_repo, tenant.id, products)
    _store(customer_repo, tenant.id, people)
    _store(subscription_repo, tenant.id, subs)
    _store(order_repo, tenant.id, orders)
    return World(tenant, len(subs), len(lines), [people[c].id for c in sorted(lines)])


def schedules(total: int, due: int, tenants_count: int = 20, threads: int = 2) -> set[tuple[str, str]]:
    """Stores `total` active live schedules, `due` of them due at DUE_AT; answers the due (tenantId, id).
    Written by `threads` batch writers, so building items here overlaps with moto storing them."""
    tables.bind()
    step = max(1, total // max(due, 1))
    due_numbers = {n * step for n in range(due)}
    entries = []
    for n in range(total):
        if n in due_numbers:  # one exactly at DUE_AT, the others up to ~3.5 days before
            next_run = DUE_AT - timedelta(minutes=n % 5000)
        else:  # one a second after DUE_AT, the others up to a year ahead
            next_run = DUE_AT + (timedelta(seconds=1) if n == 1 else timedelta(minutes=1 + n % 525_600))
        entries.append((f"live-tenant-{n % tenants_count:02d}", n, next_run))
    with ThreadPoolExecutor(threads) as pool:
        list(pool.map(_store_schedules, [entries[i::threads] for i in range(threads)]))
    return {(tenant_id, _id("schedule", n)) for tenant_id, n, next_run in entries if next_run <= DUE_AT}


def _store_schedules(entries) -> None:
    with BillingScheduleModel.batch_write() as batch:
        for tenant_id, n, next_run in entries:
            entity = BillingSchedule(
                id=_id("schedule", n), name=f"BS-{n:08d}", schedule_type=ScheduleType.RECURRING,
                status=ScheduleStatus.ACTIVE, zone_id="UTC", schedule_start_date=date(2025, 1, 1),
                clock_id=LIVE_CLOCK, created_by_id="bench", last_modified_by_id="bench",
                created_date=DUE_AT - timedelta(days=200), last_modified_date=DUE_AT - timedelta(days=200),
                recurring_schedule="0 0 3 ? * *", next_run_date=next_run)
            batch.save(BillingScheduleModel.from_entity(entity, tenant_id=tenant_id,
                                                        **schedule_store.schedules.derived(tenant_id, entity)))


HOURLY = "0 0 * ? * *"  # Quartz: at minute 0 of every hour


def empty_tenant(name: str) -> tuple[Tenant, BillingSchedule]:
    """A test-mode tenant whose clock stands at CLOCK, with nothing to bill and an hourly schedule, activated."""
    tables.bind()
    tenant, _, _ = tenants.provision(name=name, test_mode=True, timezone="UTC", currency="USD",
                                     clock_start=CLOCK, now=CLOCK, tenant_id=_id(name))
    schedule = BillingSchedule(
        id=_id(name, "schedule"), name="BS-00000001", schedule_type=ScheduleType.RECURRING,
        status=ScheduleStatus.DRAFT, zone_id="UTC", schedule_start_date=CLOCK.date(),
        clock_id=tenant.clock_id, created_by_id="bench", last_modified_by_id="bench", created_date=CLOCK,
        last_modified_date=CLOCK, recurring_schedule=HOURLY)
    return tenant, schedule_store.schedules.create(tenant.id, schedule_rules.activate(schedule, CLOCK))


MONTHLY = "0 0 0 1 * ?"  # Quartz: at midnight on the first of every month


def monthly_schedule(tenant: Tenant) -> BillingSchedule:
    """An active monthly billing schedule over the whole tenant, starting at its clock (its first slot)."""
    schedule = BillingSchedule(
        id=_id(tenant.id, "monthly"), name="BS-00000001", schedule_type=ScheduleType.RECURRING,
        status=ScheduleStatus.DRAFT, zone_id="UTC", schedule_start_date=CLOCK.date(),
        clock_id=tenant.clock_id, created_by_id="bench", last_modified_by_id="bench", created_date=CLOCK,
        last_modified_date=CLOCK, recurring_schedule=MONTHLY)
    return schedule_store.schedules.create(tenant.id, schedule_rules.activate(schedule, CLOCK))
