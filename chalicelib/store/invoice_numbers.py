"""Owns the invoice-numbers table: an invoice number is taken once per (tenant, customer).

A number is claimed by a put that succeeds only when nobody holds it, as an action of the transaction that writes
the invoice (store/documents.write_once): concurrent generators cannot take the same number, and a number is held
exactly when its invoice exists. A claim is never released (the number of a deleted invoice is not reused), and it
is read by key only: no Scan, no query."""
from .recurring_invoice_models import InvoiceNumberModel


def claim_in(transaction, tenant_id: str, customer_id: str, number: str, invoice_id: str, tag) -> None:
    """The claim of `number` for `invoice_id` as an action of `transaction`: refused (ConditionalCheckFailed) when
    the customer's number is held already."""
    M = InvoiceNumberModel
    transaction.put(M(tenant_id=tenant_id, key=f"{customer_id}#{number}", invoice_id=invoice_id),
                    M.key.does_not_exist(), tag)
