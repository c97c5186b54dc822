"""domain/filter_schemas.py: each schema names only what its entity's record holds, relations are the shared
schemas, record() is the camelCase view with Nue's aliases, and docs/filters.md lists exactly the schemas' fields."""
import re
from dataclasses import fields
from datetime import date, datetime, timezone
from decimal import Decimal
from pathlib import Path

import pytest
from pydantic.alias_generators import to_camel

from chalicelib.domain import filter_schemas as fs
from chalicelib.domain.billing_schedules import BillingSchedule
from chalicelib.domain.catalog import Customer, Product
from chalicelib.domain.filters import evaluate, parse_filter
from chalicelib.domain.invoices import CreditMemo, Invoice, InvoiceSource, InvoiceStatus, PaymentStatus
from chalicelib.domain.billing_jobs import BillingJob
from chalicelib.domain.orders import Order
from chalicelib.domain.subscriptions import Subscription

ENTITIES = {"customer": Customer, "order": Order, "product": Product, "invoice": Invoice, "creditMemo": CreditMemo,
            "subscription": Subscription, "billingSchedule": BillingSchedule, "billingJob": BillingJob}
DOC = Path(__file__).resolve().parents[2] / "docs" / "filters.md"
KINDS = ("string", "number", "date", "datetime", "boolean", "enum")
NOW = datetime(2025, 1, 1, tzinfo=timezone.utc)


def test_every_schema_is_listed_once_with_its_entity():
    assert [s.name for s in fs.SCHEMAS] == list(ENTITIES)


@pytest.mark.parametrize("schema", fs.SCHEMAS, ids=lambda s: s.name)
def test_a_schema_names_only_what_its_entity_record_holds(schema):
    entity = ENTITIES[schema.name]
    assert set(schema.fields) <= fs.record_fields(entity), set(schema.fields) - fs.record_fields(entity)
    assert schema.indexed <= set(schema.fields)
    for name, related in schema.relations.items():
        assert any(related is shared for shared in fs.SCHEMAS), name  # the shared schema, not a copy
        assert f"{name}_id" in {f.name for f in fields(entity)}, name  # how a store finds the related record


def test_record_fields_are_the_api_camel_case_names_plus_aliases():
    assert fs.record_fields(Customer) == {to_camel(f.name) for f in fields(Customer)}
    assert {"currencyIsoCode", "salesAccountId", "isCatchUp", "amountWithoutTax"} <= fs.record_fields(Invoice)


def invoice(**changes) -> Invoice:
    base = dict(id="i1", name="INV-00000001", customer_id="c1", currency="USD", status=InvoiceStatus.DRAFT,
                payment_status=PaymentStatus.NOT_TRANSFERRED, source=InvoiceSource.BILLING,
                invoice_date=date(2025, 1, 1), due_date=date(2025, 1, 31), start_date=None, end_date=None,
                target_date=None, amount_without_tax=Decimal("10.00"), tax_amount=Decimal("0.00"),
                amount=Decimal("10.00"), balance=Decimal("10.00"), lines=(), created_by_id="u",
                last_modified_by_id="u", created_date=NOW, last_modified_date=NOW)
    return Invoice(**{**base, **changes})


def test_record_is_the_camel_case_view_with_aliases_and_the_related_records_given():
    customer = Customer(id="c1", name="Ann", timezone="UTC", currency="USD", payment_term_days=30,
                        created_date=NOW, last_modified_date=NOW)
    rec = fs.record(invoice(), customer=fs.record(customer))
    assert rec["amountWithoutTax"] == Decimal("10.00") and rec["customerId"] == "c1"
    assert (rec["currency"], rec["currencyIsoCode"], rec["salesAccountId"]) == ("USD", "USD", "c1")
    assert rec["customer"]["paymentTermDays"] == 30 and "customer" not in fs.record(invoice())
    for text, matches in (('{currency: {_eq: "USD"}}', True), ('{salesAccountId: {_eq: "c2"}}', False),
                          ('{customer: {createdDate: {_lte: "2025-01-01T00:00:00Z"}}}', True)):
        assert evaluate(parse_filter(text, fs.INVOICE), rec) is matches, text


# --- docs/filters.md ----------------------------------------------------------------------------------------------

def field_items(schema) -> list[str]:
    """The schema's fields as docs/filters.md lists them: one item per kind, then the relations."""
    by_kind: dict[str, list[str]] = {}
    for name, field_type in schema.fields.items():
        shown = f"`{name}`"
        if field_type.kind == "enum":
            shown += f" ({', '.join(member.value for member in field_type.enum)})"
        by_kind.setdefault(field_type.kind, []).append(shown)
    items = [f"{kind}: {', '.join(by_kind[kind])}" for kind in KINDS if kind in by_kind]
    if schema.relations:
        items.append("relations: " + ", ".join(f"`{name}` ({related.name})"
                                                for name, related in schema.relations.items()))
    return items


def documented_items(text: str, name: str) -> list[str]:
    """The list items of the section `### name`, wrapped lines joined."""
    section = re.search(rf"^### {re.escape(name)}\n(.*?)(?=^#|\Z)", text, re.M | re.S)
    assert section, f"docs/filters.md has no section ### {name}"
    items: list[str] = []
    for line in section.group(1).splitlines():
        if line.startswith("- "):
            items.append(line[2:].strip())
        elif line.startswith("  ") and items:
            items[-1] += " " + line.strip()
    return items


@pytest.mark.parametrize("schema", fs.SCHEMAS, ids=lambda s: s.name)
def test_docs_list_exactly_the_fields_of_each_schema(schema):
    expected = field_items(schema)
    assert documented_items(DOC.read_text(), schema.name) == expected, "\n".join(f"- {i}" for i in expected)
