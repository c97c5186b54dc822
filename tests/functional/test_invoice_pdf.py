"""GET /billing/invoices/{id}/pdf: the invoice rendered once per version (fpdf2), stored in S3 (moto), answered as
a presigned GET URL. The PDF's text is read back with pypdf; page 1 is rasterized with pypdfium2."""
import io
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from urllib.parse import parse_qs, unquote, urlparse

import pypdf
import pypdfium2
import pytest

from chalicelib.store import documents, pdfs, work_queue
from tests.functional.test_fanout import drain, queues_fixture  # noqa: F401  (a fixture)
from tests.functional.test_billing_api import (assert_not_found, clock_tenant, decisions_by_customer, new_schedule,
                                               run, subscribe)


CLOCK = "2025-01-01T00:00:00Z"
PNG = "/tmp/invoice.png"


@pytest.fixture
def s3(aws, monkeypatch):
    """The PDF bucket, inside the moto context; counts every PutObject the PDF store makes."""
    pdfs.ensure_bucket()
    puts = []
    make_client = pdfs.client

    def counted():
        client = make_client()
        client.meta.events.register("before-parameter-build.s3.PutObject",
                                    lambda params, **_: puts.append(params["Key"]))
        return client

    monkeypatch.setattr(pdfs, "client", counted)
    return puts


def taxed_invoice(api, t) -> tuple[dict, dict]:
    """One Draft invoice for January 2025: 2 x 30.00 + 2 x 18.47 = 96.94, 8.25% tax 8.00, total 104.94."""
    customer = api.customer(t, name="Wayne Enterprises", billCycleDay=1, taxRate=Decimal("8.25"),
                            billToContactId="003ks000005imuiyao", paymentTermDays=30)
    for name, price in (("Pro plan", Decimal("30.00")), ("Storage add-on", Decimal("18.47"))):
        subscribe(api, t, customer, api.product(t, name=name, price=price), startDate="2025-01-01")
    job = run(api, t, new_schedule(api, t)["id"], targetDate="2025-01-01", invoiceDate="2025-01-01")
    invoice = api.get(f"/billing/invoices/{decisions_by_customer(job)[customer['id']]['invoiceId']}",
                      key=t.key).body
    assert (invoice["amountWithoutTax"], invoice["taxAmount"], invoice["amount"]) == (
        Decimal("96.94"), Decimal("8.00"), Decimal("104.94")), invoice
    return invoice, customer


def pdf_url(api, t, invoice_id) -> dict:
    answer = api.get(f"/billing/invoices/{invoice_id}/pdf", key=t.key)
    assert answer.status == 200, answer.body
    return answer.body


def key_of(url: str) -> str:
    """The object key a presigned URL points at (virtual-hosted or path style)."""
    parsed = urlparse(url)
    path = unquote(parsed.path).lstrip("/")
    if not parsed.hostname.startswith(f"{pdfs.bucket()}."):
        assert path.startswith(f"{pdfs.bucket()}/"), url
        path = path[len(pdfs.bucket()) + 1:]
    return path


def stored_text(key: str) -> str:
    body = pdfs.client().get_object(Bucket=pdfs.bucket(), Key=key)["Body"].read()
    assert body.startswith(b"%PDF-")
    return "\n".join(page.extract_text() for page in pypdf.PdfReader(io.BytesIO(body)).pages)


def test_pdf_is_rendered_once_per_version_stored_in_s3_and_isolated(api, s3):
    t = clock_tenant(api, CLOCK)
    other = clock_tenant(api, CLOCK, name="Other")
    invoice, customer = taxed_invoice(api, t)

    # the answer: a presigned, one-hour URL to {tenant}/{invoice}/v{version}.pdf
    before = datetime.now(timezone.utc)
    first = pdf_url(api, t, invoice["id"])
    assert first["invoiceId"] == invoice["id"]
    key = key_of(first["invoicePdf"])
    assert key.startswith(f"{t.id}/{invoice['id']}/v") and key.endswith(".pdf"), key
    query = parse_qs(urlparse(first["invoicePdf"]).query)
    assert query["X-Amz-Expires"] == ["3600"] and query["X-Amz-Algorithm"] == ["AWS4-HMAC-SHA256"], first
    expires = datetime.fromisoformat(first["expiresAt"].replace("Z", "+00:00"))
    assert before + timedelta(minutes=59) < expires < before + timedelta(minutes=61)
    assert s3 == [key]

    # the PDF's text: number, dates, bill-to, every line, totals, currency, exactly as Decimal text
    text = stored_text(key)
    for expected in (invoice["name"], "INV-", "Invoice date: 2025-01-01", f"Due date: {invoice['dueDate']}",
                     "Wayne Enterprises", "003ks000005imuiyao", "Pro plan", "Storage add-on", "2025-01-31",
                     "30.00", "60.00", "18.47", "36.94", "96.94 USD", "8.00 USD", "104.94 USD"):
        assert expected in text, (expected, text)
    for line in invoice["lines"]:
        assert f"{line['amount']:f}" in text and line["startDate"] in text and line["endDate"] in text
    assert "Pro plan 2025-01-01 - 2025-01-31" in text and "?" not in text  # the en dash survives as "-"
    assert "104.94000" not in text and "1.0494E" not in text  # Decimal text, never float noise

    # unchanged invoice: the same object again, nothing rendered or written
    again = pdf_url(api, t, invoice["id"])
    assert key_of(again["invoicePdf"]) == key and s3 == [key]

    # a changed invoice (PATCH dueDate) has a new version: a new object showing the new due date
    patched = api.patch(f"/billing/invoices/{invoice['id']}", {"dueDate": "2025-03-15"}, key=t.key)
    assert patched.status == 200, patched.body
    changed = key_of(pdf_url(api, t, invoice["id"])["invoicePdf"])
    assert changed != key and changed.startswith(f"{t.id}/{invoice['id']}/v") and s3 == [key, changed]
    text = stored_text(changed)
    assert "Due date: 2025-03-15" in text and f"Due date: {invoice['dueDate']}" not in text
    assert "Due date: 2025-03-15" not in stored_text(key)  # the old version's PDF is left as it was

    # another tenant's invoice, and an unknown id: 404, nothing written
    assert_not_found(api.get(f"/billing/invoices/{invoice['id']}/pdf", key=other.key))
    assert_not_found(api.get("/billing/invoices/INV-NOPE/pdf", key=t.key))
    assert s3 == [key, changed]


def test_first_page_renders_to_a_png(api, s3):
    t = clock_tenant(api, CLOCK)
    invoice, _ = taxed_invoice(api, t)
    key = key_of(pdf_url(api, t, invoice["id"])["invoicePdf"])
    body = pdfs.client().get_object(Bucket=pdfs.bucket(), Key=key)["Body"].read()
    document = pypdfium2.PdfDocument(body)
    try:
        assert len(document) == 1
        image = document[0].render(scale=2).to_pil()
        image.save(PNG)
    finally:
        document.close()
    width, height = image.size  # A4 at 144 dpi: about 1191 x 1684
    assert 1100 < width < 1300 and 1600 < height < 1800 and height / width == pytest.approx(297 / 210, rel=0.01)
    assert image.convert("L").getextrema()[0] < 64  # something dark was drawn on the page


def test_the_invoice_carries_its_pdf_url_once_rendered(api, s3):
    t = clock_tenant(api, CLOCK)
    invoice, _ = taxed_invoice(api, t)
    assert invoice["invoicePdf"] is None  # nothing rendered yet: no URL to a missing object

    key = key_of(pdf_url(api, t, invoice["id"])["invoicePdf"])
    shown = api.get(f"/billing/invoices/{invoice['id']}", key=t.key).body
    assert key_of(shown["invoicePdf"]) == key, shown["invoicePdf"]
    assert parse_qs(urlparse(shown["invoicePdf"]).query)["X-Amz-Expires"] == ["3600"]
    assert documents.invoices.get(t.id, invoice["id"]).version == 0  # remembering the PDF is not a change
    listed = api.get(f"/billing/invoices?customerId={invoice['customerId']}", key=t.key).body["data"]
    assert [key_of(i["invoicePdf"]) for i in listed] == [key]
    query = f'{{ invoice(where: {{id: {{_eq: "{invoice["id"]}"}}}}) {{ id invoicePdf }} }}'
    graphed = api.post("/orders/async/graphql", {"query": query}, key=t.key).body["data"]["invoice"]
    assert key_of(graphed[0]["invoicePdf"]) == key
    body = pdfs.client().get_object(Bucket=pdfs.bucket(), Key=key)["Body"].read()
    assert body.startswith(b"%PDF-")

    # the PDF shows the version it was rendered from: a changed invoice has no URL until it is rendered again
    patched = api.patch(f"/billing/invoices/{invoice['id']}", {"dueDate": "2025-03-15"}, key=t.key)
    assert patched.status == 200 and patched.body["invoicePdf"] is None, patched.body
    again = key_of(pdf_url(api, t, invoice["id"])["invoicePdf"])
    assert again != key
    assert key_of(api.get(f"/billing/invoices/{invoice['id']}", key=t.key).body["invoicePdf"]) == again
    assert s3 == [key, again]


def test_the_worker_renders_each_invoice_version_ahead_of_any_read(api, s3, queues, monkeypatch):
    """Writing or changing an invoice sends a work-queue message; the worker renders that version, so invoicePdf
    is set without anyone asking for the PDF, and every read presigns a fresh URL to it."""
    monkeypatch.setenv("BILLRUN_RENDER_PDFS", "true")  # the default, which tests/conftest.py turns off
    t = clock_tenant(api, CLOCK)
    invoice, _ = taxed_invoice(api, t)  # the job's page queued its invoice
    assert invoice["invoicePdf"] is None and s3 == []  # not rendered on the request path
    assert drain(api, queues) == ["ok"]
    [key] = s3
    assert key == pdfs.key_for(t.id, documents.invoices.get(t.id, invoice["id"]))
    signed_after = datetime.now(timezone.utc).replace(microsecond=0)
    shown = api.get(f"/billing/invoices/{invoice['id']}", key=t.key).body
    assert key_of(shown["invoicePdf"]) == key
    signed = datetime.strptime(parse_qs(urlparse(shown["invoicePdf"]).query)["X-Amz-Date"][0], "%Y%m%dT%H%M%SZ")
    assert signed.replace(tzinfo=timezone.utc) >= signed_after  # presigned by this read, not stored
    assert "Due date: 2025-01-31" in stored_text(key)

    # a duplicate message renders nothing again
    work_queue.send([{"kind": "invoicePdf", "tenantId": t.id, "invoiceIds": [invoice["id"]]}])
    assert drain(api, queues) == ["ok"] and s3 == [key]

    # a change (PATCH, activation with others in one request, a payment) queues the new version
    assert api.patch(f"/billing/invoices/{invoice['id']}", {"dueDate": "2025-03-15"}, key=t.key).status == 200
    assert api.get(f"/billing/invoices/{invoice['id']}", key=t.key).body["invoicePdf"] is None  # until rendered
    assert drain(api, queues) == ["ok"]
    assert len(s3) == 2 and "Due date: 2025-03-15" in stored_text(s3[-1])
    activated = api.post("/billing/invoices:activate", {"invoiceIds": [invoice["id"], "nope"]}, key=t.key)
    assert activated.body["succeeded"] == 1
    paid = api.post("/billing/payments", {"invoiceId": invoice["id"], "amount": Decimal("4.94")}, key=t.key)
    assert paid.status == 201, paid.body
    # two messages; the first already finds the paid version, the one it renders; the second has nothing to do
    assert drain(api, queues) == ["ok", "ok"] and len(s3) == 3
    final = api.get(f"/billing/invoices/{invoice['id']}", key=t.key).body
    assert key_of(final["invoicePdf"]) == s3[-1] == pdfs.key_for(t.id, documents.invoices.get(t.id, invoice["id"]))
