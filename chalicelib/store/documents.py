"""Owns the invoices, credit-memos and payments tables, and the one way a generated document is written.

Exactly once (SPEC guarantee 1), for every document the engine generates (a billing job's invoice and credit memo,
a bill run's invoice, a recurring invoice), the whole argument:
1. The document's id derives from what it is for: (job, customer), (invoice schedule, item), (template, due date).
2. It is written only as an action of a transaction (store/batch.Transaction) that puts it on condition that no
   item has its id, beside the changes that record it was made: its ledger claims, its schedule item marked
   Processed, its template's watermark moved and its number claimed. All of them happen, or none: a crash
   leaves either nothing of the document or everything.
3. A re-run (a crash, an expired lease, a redelivered unit, a concurrent runner) proposes the same document
   under the same id; its transaction is refused at the document's put (`STORED`): what is stored stands, and
   the changes that came with it stand too. A transaction refused for another of its actions (`LOST`: another
   writer changed the schedule, the template or a ledger entry first) wrote nothing; the caller reads again
   and decides again.
Human numbers are drawn before the transaction, so a refused or crashed attempt leaves a gap (allowed), never a
duplicate. Nothing is ever half-written, so every read sees finished documents only."""
from __future__ import annotations  # `list` is also a method name in these classes

from enum import Enum

from pynamodb.exceptions import UpdateError

from ..domain.errors import conflict
from ..domain.invoices import AppliedPayment, Invoice, InvoiceStatus
from . import tables
from .batch import Refusal, Transaction
from .document_models import CreditMemoModel, InvoiceModel, PaymentModel
from .repository import TenantRepository, condition_failed


class Outcome(Enum):
    WRITTEN = "written"  # the document and the changes beside it are in
    STORED = "stored"  # an earlier or concurrent writer's document has this id: it stands
    LOST = "lost"  # another action was refused: nothing was written


DOCUMENT = "document"  # the tag of a document's put in write_once's transaction


def outcome(refusals: list[Refusal]) -> Outcome:
    """What a document's transaction came to, by its refusals (point 3 of the module docstring)."""
    if not refusals:
        return Outcome.WRITTEN
    if any(r.tag == DOCUMENT and r.code == "ConditionalCheckFailed" for r in refusals):
        return Outcome.STORED
    return Outcome.LOST


def write_once(tenant_id: str, document, changes) -> tuple[Outcome, set]:
    """Puts one document, with `changes(transaction)` adding the actions that record it, in one transaction:
    what came of it, and the tags of the actions refused."""
    transaction = Transaction()
    repository = invoices if isinstance(document, Invoice) else credit_memos
    repository.add(transaction, tenant_id, document, DOCUMENT)
    changes(transaction)
    refusals = transaction.commit()
    return outcome(refusals), {r.tag for r in refusals}


class DocumentRepository(TenantRepository):
    def add(self, transaction, tenant_id: str, document, tag) -> None:
        """The document's put as an action of `transaction`: refused (ConditionalCheckFailed) when an item with its
        id exists, so a document with a derived id is written once whoever writes it."""
        transaction.put(self._item(tenant_id, document), self.model.id.does_not_exist(), tag)


class InvoiceRepository(DocumentRepository):
    def __init__(self):
        super().__init__(InvoiceModel, "invoice")

    def list(self, tenant_id: str, *, customer_id=None, status=None, **options):
        """In invoice-date order, from the index that fits: by customer, by status, or all of the tenant's."""
        if customer_id is not None:
            return self.list_by_index(tenant_id, InvoiceModel.by_customer, f"{tenant_id}#{customer_id}",
                                      status=status, **options)
        if status is not None:
            return self.list_by_index(tenant_id, InvoiceModel.by_status, f"{tenant_id}#{InvoiceStatus.parse(status).value}",
                                      **options)
        return self.list_by_index(tenant_id, InvoiceModel.by_date, tenant_id, **options)

    def record_pdf(self, tenant_id: str, invoice: Invoice, key: str) -> None:
        """Remembers where this version's PDF is, without a new version (the invoice itself did not change);
        if the invoice changed meanwhile, its PDF is rendered again on the next request instead."""
        tables.bind()
        M = InvoiceModel
        try:
            M(tenant_id=tenant_id, id=invoice.id).update(actions=[M.pdf_key.set(key)],
                                                         condition=M.version == invoice.version)
        except UpdateError as error:
            if not condition_failed(error):
                raise

    def derived(self, tenant_id: str, entity: Invoice) -> dict:
        return {"customer_key": f"{tenant_id}#{entity.customer_id}",
                "status_key": f"{tenant_id}#{entity.status.value}"}


class CreditMemoRepository(DocumentRepository):
    def __init__(self):
        super().__init__(CreditMemoModel, "credit memo")


class PaymentRepository(DocumentRepository):
    def __init__(self):
        super().__init__(PaymentModel, "payment")

    def derived(self, tenant_id: str, entity: AppliedPayment) -> dict:
        return {"invoice_key": f"{tenant_id}#{entity.invoice_id}",
                "customer_key": f"{tenant_id}#{entity.customer_id}"}

    def list(self, tenant_id: str, *, invoice_id=None, customer_id=None, **options):
        """In the order they were applied, from the index that fits: by invoice (the customer filtered on it),
        by customer; or all of the tenant's, in id order."""
        if invoice_id is not None:
            return self.list_by_index(tenant_id, PaymentModel.by_invoice, f"{tenant_id}#{invoice_id}",
                                      customer_id=customer_id, **options)
        if customer_id is not None:
            return self.list_by_index(tenant_id, PaymentModel.by_customer, f"{tenant_id}#{customer_id}", **options)
        return super().list(tenant_id, **options)


invoices = InvoiceRepository()
credit_memos = CreditMemoRepository()
payments = PaymentRepository()


def record_payment(tenant_id: str, paid: Invoice, previous: Invoice, payment: AppliedPayment) -> Invoice:
    """The paid invoice (compare-and-set on the version read) and the payment's own item, in one transaction:
    both are written or neither, so the payments list never shows a payment the invoice does not hold, nor
    misses one it does. A retry after it went in finds the payment on the invoice and writes nothing
    (domain/invoices.pay)."""
    transaction = Transaction()
    stored = invoices.replace_in(transaction, tenant_id, paid, previous, "invoice")
    payments.add(transaction, tenant_id, payment, "payment")
    if transaction.commit():
        raise conflict("invoice was changed by another request; read it again and retry", "ConcurrentModification")
    return stored
