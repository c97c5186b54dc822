"""Owns the invoices and credit-memos tables.

A billing job writes a document in two steps: first `building` (invisible to every read and index
query the API makes, carrying the ledger claims it holds), then finalized with the lines it won. A crash
in between leaves a building document that the job's re-run picks up and finishes."""
from __future__ import annotations  # `list` is also a method name in these classes

from pynamodb.exceptions import DeleteError, DoesNotExist, PutError, UpdateError

from ..domain.invoices import CreditMemo, Invoice, InvoiceStatus
from . import tables
from .billing_models import CreditMemoModel, InvoiceModel
from .repository import TenantRepository, condition_failed


class DocumentRepository(TenantRepository):
    """Finalized documents only; `building` ones are the job's business."""

    def find(self, tenant_id: str, ident: str):
        item = self._raw(tenant_id, ident)
        return None if item is None or item.building else item.to_entity()

    def _raw(self, tenant_id: str, ident: str):
        if not isinstance(ident, str) or not 0 < len(ident.encode()) <= 1024:
            return None
        tables.bind()
        try:
            return self.model.get(tenant_id, ident, consistent_read=True)
        except DoesNotExist:
            return None

    def list(self, tenant_id: str, **options):
        return super().list(tenant_id, building=False, **options)

    def building(self, tenant_id: str, ident: str):
        """(entity, claims) of a document still being written, (entity, None) when finalized, or None."""
        item = self._raw(tenant_id, ident)
        if item is None:
            return None
        return item.to_entity(), (list(item.claims or []) if item.building else None)

    def start(self, tenant_id: str, document, claims: list[str]) -> bool:
        """Writes the building document once; False when it already exists (a re-run)."""
        tables.bind()
        item = self._item(tenant_id, document)
        item.building, item.claims = True, claims
        if isinstance(item, InvoiceModel):
            item.status_key = f"{tenant_id}#Building"
        try:
            item.save(condition=self.model.id.does_not_exist())
            return True
        except PutError as error:
            if not condition_failed(error):
                raise
            return False

    def set_claims(self, tenant_id: str, ident: str, claims: list[str]) -> None:
        tables.bind()
        self.model(tenant_id=tenant_id, id=ident).update(actions=[self.model.claims.set(claims)],
                                                         condition=self.model.building == True)  # noqa: E712

    def finish(self, tenant_id: str, document) -> bool:
        """Building -> final, once; False when another run finished it first."""
        tables.bind()
        item = self._item(tenant_id, document)
        item.building, item.claims = False, None
        try:
            item.save(condition=self.model.building == True)  # noqa: E712
            return True
        except PutError as error:
            if not condition_failed(error):
                raise
            return False

    def discard(self, tenant_id: str, ident: str) -> None:
        """A building document that ended up with no lines is deleted, leaving no trace."""
        tables.bind()
        try:
            self.model(tenant_id=tenant_id, id=ident).delete(condition=self.model.building == True)  # noqa: E712
        except DeleteError as error:
            if not condition_failed(error):
                raise


    def add(self, transaction, tenant_id: str, document, tag) -> None:
        """The finished document's put as an action of `transaction`: refused (ConditionalCheckFailed) when an
        item with its id exists, so a document with a derived id is written once whoever writes it."""
        transaction.put(self._item(tenant_id, document), self.model.id.does_not_exist(), tag)


class InvoiceRepository(DocumentRepository):
    def __init__(self):
        super().__init__(InvoiceModel, "invoice")

    def list(self, tenant_id: str, *, customer_id=None, status=None, **options):
        """In invoice-date order, from the index that fits: by customer, by status, or all of the tenant's."""
        if customer_id is not None:
            return self.list_by_index(tenant_id, InvoiceModel.by_customer, f"{tenant_id}#{customer_id}",
                                      status=status, building=False, **options)
        if status is not None:
            return self.list_by_index(tenant_id, InvoiceModel.by_status, f"{tenant_id}#{InvoiceStatus.parse(status).value}",
                                      **options)
        return self.list_by_index(tenant_id, InvoiceModel.by_date, tenant_id, building=False, **options)

    def record_pdf(self, tenant_id: str, invoice: Invoice, key: str) -> None:
        """Remembers where this version's PDF is, without a new version (the invoice itself did not change);
        if the invoice changed meanwhile, its PDF is rendered again on the next request instead."""
        tables.bind()
        M = InvoiceModel
        try:
            M(tenant_id=tenant_id, id=invoice.id).update(actions=[M.pdf_key.set(key)],
                                                         condition=(M.version == invoice.version) & (M.building == False))  # noqa: E712
        except UpdateError as error:
            if not condition_failed(error):
                raise

    def derived(self, tenant_id: str, entity: Invoice) -> dict:
        return {"customer_key": f"{tenant_id}#{entity.customer_id}",
                "status_key": f"{tenant_id}#{entity.status.value}", "building": False}


class CreditMemoRepository(DocumentRepository):
    def __init__(self):
        super().__init__(CreditMemoModel, "credit memo")

    def derived(self, tenant_id: str, entity: CreditMemo) -> dict:
        return {"building": False}


invoices = InvoiceRepository()
credit_memos = CreditMemoRepository()
