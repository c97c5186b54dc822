"""Zuora's "Generate" on `make run`'s stack over HTTP: an execute request's bill run is handed to the worker loop
when it is made, so it is Completed (its item Processed) within seconds. This stack's tick loop ticks once at
start and then not for an hour: only the worker can have run the bill run before the poll's bound."""
import time
from datetime import date, timedelta

import pytest
import requests

pytestmark = pytest.mark.e2e
POLLS, POLL_SECONDS = 50, 0.1  # a bound on the polling (5 s), not a timing assertion


def test_an_executed_item_is_processed_by_the_worker_without_waiting_for_the_tick(slow_tick_stack):
    url, headers = slow_tick_stack.url, {"x-api-key": slow_tick_stack.api_key}

    def post(path, body):
        answer = requests.post(f"{url}{path}", headers=headers, json=body, timeout=30)
        assert answer.status_code in (200, 201), (path, answer.status_code, answer.text)
        return answer.json()

    for _ in range(POLLS * 4):  # the tick loop's one tick at start has run: the next is an hour away
        if requests.get(f"{url}/health", timeout=10).json()["tickCount"] >= 1:
            break
        time.sleep(POLL_SECONDS)
    else:
        pytest.fail("the stack's tick loop never ticked")
    today = date.fromisoformat(requests.get(f"{url}/test/clock", headers=headers, timeout=10).json()["now"][:10])
    customer = post("/customers", {"name": "Wayne Enterprises"})
    product = post("/products", {"name": "Services", "productType": "OneTime", "price": 3000,
                                 "billingPeriod": None})
    order = post("/orders", {"customerId": customer["id"], "lines": [{"productId": product["id"], "quantity": 1}]})
    post(f"/orders/{order['id']}:activate", {})
    schedule = post("/v1/invoice-schedules", {"orders": [order["id"]], "scheduleItems": [
        {"runDate": (today + timedelta(days=30)).isoformat(), "amount": 3000}]})
    item = schedule["scheduleItems"][0]["id"]

    started = time.monotonic()
    run = post(f"/v1/invoice-schedules/{schedule['id']}/execute", {"scheduleItemId": item})
    assert run["status"] == "Pending"
    seen = run
    for _ in range(POLLS):  # "Refresh", as the user clicks it
        seen = requests.get(f"{url}/v1/bill-runs/{run['billRunNumber']}", headers=headers, timeout=10).json()
        if seen["status"] == "Completed":
            break
        time.sleep(POLL_SECONDS)
    elapsed = time.monotonic() - started
    assert seen["status"] == "Completed", seen
    print(f"\n[generate] execute -> bill run Completed in {elapsed:.2f} s")  # what README and the docs state
    processed = requests.get(f"{url}/v1/invoice-schedules/{schedule['id']}", headers=headers, timeout=10).json()
    [processed_item] = processed["scheduleItems"]
    assert processed_item["status"] == "Processed", processed_item
    assert [processed_item["invoiceId"]] == [i["id"] for i in seen["invoices"]], (processed_item, seen)
