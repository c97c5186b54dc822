"""Every filter schema (what a filter of each entity may name) and `record`, the one view of an entity filters read.

Each entity has ONE schema, used by every entry point that filters it: a billing schedule's customerFilter,
orderFilter and productFilter (and the jobs and previews they scope), a bulk operation's or invoice job's
graphqlFilter, and GraphQL `where` on every type; a relation (`invoice.customer`) is that entity's schema too.
So a filter text is accepted, refused or matched alike wherever it is given (tests/functional/test_filter_schemas.py).

A schema names only what `record` gives a filter: a field of the entity's dataclass, in camelCase as the API
writes it, or one of its Nue aliases (`currencyIsoCode`, `salesAccountId`); tests/unit/test_filter_schemas.py
checks each name against the dataclass. Lists and nested objects (an invoice's lines) are not filterable.
docs/filters.md lists the fields."""
from dataclasses import fields
from functools import lru_cache

from pydantic.alias_generators import to_camel

from .enums import (BillingPeriod, BillingTiming, OrderStatus, ProductType, ScheduleStatus, ScheduleType,
                    SubscriptionStatus)
from .filters import FieldType, FilterSchema
from .invoices import CreditMemo, Invoice, InvoiceSource, InvoiceStatus, PaymentStatus
from .billing_jobs import JobStatus

_TEXT, _NUMBER, _DATE = FieldType("string"), FieldType("number"), FieldType("date")
_INSTANT, _BOOL = FieldType("datetime"), FieldType("boolean")


def _enum(cls) -> FieldType:
    return FieldType("enum", cls)


# `indexed`: fields the entity's store can serve from an index (an id, or a key of a GSI); see filters.index_plan.
CUSTOMER = FilterSchema("customer", {
    "id": _TEXT, "name": _TEXT, "email": _TEXT, "timezone": _TEXT, "currency": _TEXT, "billCycleDay": _NUMBER,
    "paymentTermDays": _NUMBER, "taxRate": _NUMBER, "billToContactId": _TEXT, "createdDate": _INSTANT,
    "lastModifiedDate": _INSTANT}, indexed=frozenset({"id"}))
PRODUCT = FilterSchema("product", {
    "id": _TEXT, "name": _TEXT, "sku": _TEXT, "productType": _enum(ProductType),
    "billingPeriod": _enum(BillingPeriod)}, indexed=frozenset({"id"}))
ORDER = FilterSchema("order", {
    "id": _TEXT, "customerId": _TEXT, "currency": _TEXT, "orderDate": _DATE, "status": _enum(OrderStatus)},
    relations={"customer": CUSTOMER}, indexed=frozenset({"id", "customerId"}))
INVOICE = FilterSchema("invoice", {
    "id": _TEXT, "name": _TEXT, "customerId": _TEXT, "salesAccountId": _TEXT, "currency": _TEXT,
    "currencyIsoCode": _TEXT, "status": _enum(InvoiceStatus), "paymentStatus": _enum(PaymentStatus),
    "source": _enum(InvoiceSource), "invoiceDate": _DATE, "dueDate": _DATE, "startDate": _DATE,
    "endDate": _DATE, "targetDate": _DATE, "amount": _NUMBER, "amountWithoutTax": _NUMBER,
    "taxAmount": _NUMBER, "balance": _NUMBER, "isCatchUp": _BOOL, "billToContactId": _TEXT,
    "billingJobId": _TEXT, "billingScheduleId": _TEXT, "activatedById": _TEXT, "activatedTime": _INSTANT,
    "cancellationDate": _DATE, "createdById": _TEXT, "createdDate": _INSTANT, "lastModifiedDate": _INSTANT,
    "recurringInvoiceId": _TEXT},
    relations={"customer": CUSTOMER}, indexed=frozenset({"customerId", "status", "invoiceDate"}))
CREDIT_MEMO = FilterSchema("creditMemo", {
    "id": _TEXT, "name": _TEXT, "customerId": _TEXT, "currency": _TEXT, "currencyIsoCode": _TEXT,
    "memoDate": _DATE, "amount": _NUMBER, "amountWithoutTax": _NUMBER, "taxAmount": _NUMBER, "reason": _TEXT,
    "billingJobId": _TEXT, "createdDate": _INSTANT}, relations={"customer": CUSTOMER})
SUBSCRIPTION = FilterSchema("subscription", {
    "id": _TEXT, "customerId": _TEXT, "orderId": _TEXT, "productId": _TEXT, "currency": _TEXT,
    "status": _enum(SubscriptionStatus), "startDate": _DATE, "endDate": _DATE, "unitPrice": _NUMBER,
    "billingPeriod": _enum(BillingPeriod), "billCycleDay": _NUMBER, "billingTiming": _enum(BillingTiming),
    "billedThrough": _DATE, "cancellationDate": _DATE, "createdDate": _INSTANT, "lastModifiedDate": _INSTANT},
    relations={"customer": CUSTOMER, "order": ORDER, "product": PRODUCT},
    indexed=frozenset({"id", "customerId", "orderId", "productId"}))
BILLING_SCHEDULE = FilterSchema("billingSchedule", {
    "id": _TEXT, "name": _TEXT, "description": _TEXT, "scheduleType": _enum(ScheduleType),
    "status": _enum(ScheduleStatus), "scheduleStartDate": _DATE, "invoiceDate": _DATE, "targetDate": _DATE,
    "zoneId": _TEXT, "activateInvoices": _BOOL, "lastRunDate": _INSTANT, "nextRunDate": _INSTANT,
    "createdDate": _INSTANT, "lastModifiedDate": _INSTANT}, indexed=frozenset({"id"}))
BILLING_JOB = FilterSchema("billingJob", {
    "id": _TEXT, "name": _TEXT, "status": _enum(JobStatus), "scheduleId": _TEXT, "scheduleName": _TEXT,
    "targetDate": _DATE, "invoiceDate": _DATE, "scheduledTime": _INSTANT, "isCatchUp": _BOOL,
    "attempts": _NUMBER, "startedTime": _INSTANT, "completedTime": _INSTANT, "createdDate": _INSTANT},
    indexed=frozenset({"id"}))

SCHEMAS = (CUSTOMER, ORDER, PRODUCT, INVOICE, CREDIT_MEMO, SUBSCRIPTION, BILLING_SCHEDULE, BILLING_JOB)

# Nue's answers name some fields twice (seed 001: currencyIsoCode beside currency, salesAccountId beside
# customerId); a filter may use either name, as the answer does.
_ALIASES: dict[type, dict[str, str]] = {
    Invoice: {"currencyIsoCode": "currency", "salesAccountId": "customerId"},
    CreditMemo: {"currencyIsoCode": "currency"},
}


@lru_cache(maxsize=None)
def _camel_fields(cls: type) -> tuple[tuple[str, str], ...]:
    return tuple((f.name, to_camel(f.name)) for f in fields(cls))


def record_fields(cls: type) -> frozenset[str]:
    """The names `record` gives a filter for an entity of this dataclass (relations aside)."""
    return frozenset(camel for _, camel in _camel_fields(cls)) | frozenset(_ALIASES.get(cls, {}))


def record(entity, **related) -> dict:
    """What a filter reads: the entity's fields in camelCase, its aliases, and each related record given by
    relation name (a record, or None when there is none). Shallow: filters compare values, never lists."""
    values = {camel: getattr(entity, name) for name, camel in _camel_fields(type(entity))}
    for alias, source in _ALIASES.get(type(entity), {}).items():
        values[alias] = values[source]
    return {**values, **related}
