"""Schemathesis over every documented operation, against the embedded stack over HTTP (issue 12).

A bounded budget (FUZZ_EXAMPLES examples per operation, in schemathesis's examples and fuzzing phases, positive and
negative data; a few hundred requests in all, derandomized so CI runs the same ones; FUZZ_PHASES adds coverage), with path ids drawn half the
time from a seeded tenant's real objects, so operations are fuzzed past their 404. A request fails the test when its
answer is a 5xx, a status the OpenAPI document does not list for the operation, a body that breaks the documented
schema or content type, or a 2xx to data the schema forbids. Set FUZZ_EXAMPLES higher for a deeper run."""
import json
import os
from decimal import Decimal
from pathlib import Path

import pytest
import requests
import schemathesis
import simplejson
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from schemathesis.checks import (content_type_conformance, negative_data_rejection, not_a_server_error,
                                 response_schema_conformance, status_code_conformance)

pytestmark = pytest.mark.e2e
ROOT = Path(__file__).resolve().parents[2]
FUZZ_EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "5"))
FUZZ_PHASES = os.environ.get("FUZZ_PHASES", "examples,fuzzing").split(",")  # add coverage for a deeper run
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance,
          negative_data_rejection]

schema = schemathesis.openapi.from_dict(json.loads((ROOT / "openapi.json").read_text()))
schema.config.phases.update(phases=FUZZ_PHASES)
schema.config.phases.coverage.unexpected_methods = set()  # chalice local's own 501 for TRACE is not the API's
SEEDED: dict[str, list[str]] = {}  # path template -> real ids, filled by the `seeded` fixture before any test runs


@schema.hook
def flatmap_path_parameters(ctx, path_parameters):
    """Half the time a seeded tenant's real id in place of the generated one, so the operation gets past its 404."""
    real = SEEDED.get(ctx.operation.path, [])
    if not path_parameters or not real:
        return st.just(path_parameters)
    name = list(path_parameters)[-1]  # the last one names the object ({keyId} of a tenant's keys)
    seeded = [{**path_parameters, name: value} for value in real]
    if len(path_parameters) > 1:  # the tenant too, for its key
        seeded = [{**p, "id": SEEDED["/admin/tenants/{id}"][0]} for p in seeded]
    return st.one_of(st.just(path_parameters), st.sampled_from(seeded))


class Client:
    def __init__(self, url: str, headers: dict):
        self.url, self.headers = url, headers

    def post(self, path: str, body: dict | None = None, status: int = 201) -> dict:
        answer = requests.post(self.url + path, data=simplejson.dumps(body or {}, use_decimal=True),
                               headers=self.headers, timeout=60)
        assert answer.status_code == status, (path, answer.status_code, answer.text)
        return answer.json()


@pytest.fixture(scope="module")
def seeded(stack):
    """A test-mode tenant with one of everything: customer, product, orders (one on an invoice schedule, executed),
    a subscription, a billing schedule run once (its job and invoice), a recurring invoice; a spare API key."""
    admin = Client(stack.url, {"x-admin-key": stack.admin_key, "content-type": "application/json"})
    created = admin.post("/admin/tenants", {"name": "Fuzzed", "testMode": True, "timezone": "UTC", "currency": "USD",
                                            "clockStart": "2025-01-01T00:00:00Z"})
    tenant_id, key = created["tenant"]["id"], created["apiKey"]["key"]
    spare = admin.post(f"/admin/tenants/{tenant_id}/api-keys", {"name": "spare"})["id"]
    api = Client(stack.url, {"x-api-key": key, "content-type": "application/json"})
    customer = api.post("/customers", {"name": "Ada", "timezone": "UTC", "billCycleDay": 1})["id"]
    product = api.post("/products", {"name": "Plan", "productType": "Recurring", "price": Decimal("10.00"),
                                     "billingPeriod": "Month"})["id"]
    orders = [api.post("/orders", {"customerId": customer, "lines": [
        {"productId": product, "quantity": 1, "startDate": "2025-01-01"}]})["id"] for _ in range(2)]
    subscription = api.post(f"/orders/{orders[0]}:activate", status=200)["lines"][0]["subscriptionId"]
    api.post(f"/orders/{orders[1]}:activate", status=200)
    invoice_schedule = api.post("/v1/invoice-schedules", {"orders": [orders[1]], "scheduleItems": [
        {"runDate": "2025-02-01", "percentage": 50}, {"runDate": "2025-03-01", "percentage": 50}]})
    bill_run = api.post(f"/v1/invoice-schedules/{invoice_schedule['id']}/execute", {})
    schedule = api.post("/billing/schedules", {"scheduleType": "OnDemand",
                                               "customerFilter": f'{{id: {{_in: ["{customer}"]}}}}'})["id"]
    job = api.post(f"/billing/schedules/{schedule}:run", {"targetDate": "2025-01-31", "invoiceDate": "2025-01-01"})
    invoices = [d["invoiceId"] for d in job["decisions"] if d.get("invoiceId")]
    template = api.post("/v3/recurring-invoices", {"customerId": customer, "schedule": {
        "period": "MONTHLY", "frequency": 1, "nextDueDate": "2025-02-01", "daysInAdvance": 0},
        "recurringInvoiceLineItems": [{"amount": Decimal("5.00"), "description": "Support"}]})["id"]
    real = {
        "/admin/tenants/{id}": [tenant_id], "/admin/tenants/{id}/api-keys": [tenant_id],
        "/admin/tenants/{id}/api-keys/{keyId}": [spare],
        "/customers/{id}": [customer], "/products/{id}": [product],
        "/orders/{id}": orders, "/orders/{id}:activate": orders,
        "/subscriptions/{id}": [subscription], "/subscriptions/{id}:cancel": [subscription],
        "/billing/schedules/{id}": [schedule], "/billing/schedules/{id}:run": [schedule],
        "/billing/schedules/{id}/slots": [schedule], "/billing/jobs/{id}": [job["id"]],
        "/v1/invoice-schedules/{scheduleKey}": [invoice_schedule["id"], invoice_schedule["number"]],
        "/v1/bill-runs/{billRunKey}": [bill_run["id"], bill_run["billRunNumber"]],
        "/v3/recurring-invoices/{id}": [template],
    }
    for suffix in ("/execute", "/pause", "/resume"):
        real[f"/v1/invoice-schedules/{{scheduleKey}}{suffix}"] = real["/v1/invoice-schedules/{scheduleKey}"]
    for suffix in ("/archive", "/restore"):
        real[f"/v3/recurring-invoices/{{id}}{suffix}"] = [template]
    for path in ("/billing/invoices/{id}", "/billing/invoices/{id}/pdf"):
        real[path] = invoices
    SEEDED.update(real)
    yield {"x-api-key": key, "x-admin-key": stack.admin_key}
    SEEDED.clear()


@schema.parametrize()
@settings(max_examples=FUZZ_EXAMPLES, deadline=None, derandomize=True, database=None,
          suppress_health_check=list(HealthCheck))
def test_every_operation_answers_only_what_it_documents(case, stack, seeded):
    case.call_and_validate(base_url=stack.url, headers=seeded, checks=CHECKS, timeout=60)
