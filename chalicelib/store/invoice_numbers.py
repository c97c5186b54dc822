"""Owns the invoice-numbers table: an invoice number is taken once per (tenant, customer).

A number is claimed by a conditional put that succeeds when nobody holds it or when the claiming invoice
already does: concurrent generators cannot take the same number, and a generator re-run after a crash finds
its own claim and keeps that number. A claim is never released (the number of a deleted invoice is not
reused), and it is read by key only: no Scan, no query."""
from typing import Iterable

from pynamodb.exceptions import PutError

from ..domain.errors import conflict
from . import tables
from .recurring_models import InvoiceNumberModel
from .repository import condition_failed


def claim(tenant_id: str, customer_id: str, numbers: Iterable[str], invoice_id: str) -> str:
    """The first of `numbers` that is free for this customer, or already held by `invoice_id`; now held by it."""
    tables.bind()
    M = InvoiceNumberModel
    for number in numbers:
        try:
            M(tenant_id=tenant_id, key=f"{customer_id}#{number}", invoice_id=invoice_id).save(
                condition=M.key.does_not_exist() | (M.invoice_id == invoice_id))
            return number
        except PutError as error:
            if not condition_failed(error):
                raise
    raise conflict(f"no free invoice number left for customer {customer_id}", "InvoiceNumbersExhausted")

