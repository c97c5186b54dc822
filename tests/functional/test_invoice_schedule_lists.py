"""The Zuora dialect's lists through the API: GET /v1/invoice-schedules and GET /v1/bill-runs, filtered by
account, order and status (each served by an index, the status one following every status change), paged
across pages with tokens bound to their query, and refusing bad filters with a 400 naming the field."""
from decimal import Decimal

import pytest

from tests.functional.test_invoice_schedules import clocked, execute, milestone_order, new_schedule, wall_tick

D = Decimal


def pages(api, t, path: str, limit: int) -> list[list[dict]]:
    """Every page of a list, following nextToken (bounded: a list that never ends fails the test)."""
    found, token = [], None
    for _ in range(50):
        separator = "&" if "?" in path else "?"
        query = f"{path}{separator}limit={limit}" + (f"&nextToken={token}" if token else "")
        answer = api.get(query, key=t.key)
        assert answer.status == 200, (query, answer.body)
        found.append(answer.body["data"])
        token = answer.body["nextToken"]
        if token is None:
            return found
    raise AssertionError(f"{path} kept answering a nextToken")


def listed(api, t, path: str, limit: int = 1000) -> list[dict]:
    return [item for page in pages(api, t, path, limit) for item in page]


def ids(items) -> list[str]:
    return [item["id"] for item in items]


def bad(api, t, query: str, field: str):
    answer = api.get(query, key=t.key)
    assert answer.status == 400, (query, answer.body)
    assert answer.body["errorCode"] == "ValidationError", answer.body
    assert answer.error_fields == [field], (query, answer.body)


@pytest.fixture
def shop(api):
    """A test-mode tenant with two customers: A's three orders each on its own schedule (two items each), B's one
    order on a fourth; A's third schedule paused, B's order and A's first each with a bill run."""
    t = clocked(api, "2025-01-15T00:00:00Z")
    first = milestone_order(api, t)
    a = first["customer"]
    orders = [first, milestone_order(api, t, customer=a), milestone_order(api, t, customer=a)]
    b_order = milestone_order(api, t)
    items = [{"runDate": "2025-06-01", "percentage": 50}, {"runDate": "2025-07-01", "percentage": 50}]
    schedules = [new_schedule(api, t, [o["id"]], items) for o in orders + [b_order]]
    assert api.put(f"/v1/invoice-schedules/{schedules[2]['id']}/pause", key=t.key).status == 200
    return {"t": t, "a": a["id"], "b": b_order["customer"]["id"], "orders": [o["id"] for o in orders],
            "b_order": b_order["id"], "schedules": schedules}


def test_invoice_schedules_list_pages_through_every_schedule_in_each_filter(api, shop):
    t, schedules = shop["t"], shop["schedules"]
    everything = pages(api, t, "/v1/invoice-schedules", 1)
    assert [len(page) for page in everything] == [1, 1, 1, 1]
    assert sorted(ids(p[0] for p in everything)) == sorted(ids(schedules))
    assert everything[0][0] == api.get(f"/v1/invoice-schedules/{everything[0][0]['id']}", key=t.key).body

    # an account's schedules, in number order, two a page
    by_account = pages(api, t, f"/v1/invoice-schedules?accountId={shop['a']}", 2)
    assert [len(page) for page in by_account] == [2, 1]
    assert [s["number"] for page in by_account for s in page] == ["IS-00000001", "IS-00000002", "IS-00000003"]
    assert ids(listed(api, t, f"/v1/invoice-schedules?accountId={shop['b']}")) == [schedules[3]["id"]]

    # by status (case-insensitive, as every enum filter), alone and with the account
    assert ids(listed(api, t, "/v1/invoice-schedules?status=Paused", 1)) == [schedules[2]["id"]]
    assert ids(listed(api, t, "/v1/invoice-schedules?status=pending", 1)) == ids(
        [schedules[0], schedules[1], schedules[3]])
    assert ids(listed(api, t, f"/v1/invoice-schedules?accountId={shop['a']}&status=Pending")) == ids(schedules[:2])
    assert listed(api, t, f"/v1/invoice-schedules?accountId={shop['b']}&status=Paused") == []

    # the one schedule billing an order, and what the other filters say of it
    for order_id, schedule in zip(shop["orders"] + [shop["b_order"]], schedules):
        assert ids(listed(api, t, f"/v1/invoice-schedules?orderId={order_id}")) == [schedule["id"]]
    assert listed(api, t, f"/v1/invoice-schedules?orderId={shop['b_order']}&accountId={shop['a']}") == []
    assert ids(listed(api, t, f"/v1/invoice-schedules?orderId={shop['orders'][2]}&status=PAUSED")) == [
        schedules[2]["id"]]
    assert listed(api, t, f"/v1/invoice-schedules?orderId={shop['orders'][2]}&status=Pending") == []
    assert listed(api, t, "/v1/invoice-schedules?orderId=no-such-order") == []


def test_the_status_filter_follows_a_schedules_changes(api, shop):
    t, schedules = shop["t"], shop["schedules"]
    first = schedules[0]
    assert execute(api, t, first["id"], {}).status == 201
    wall_tick(api)  # the bill run processes the first item: the schedule is PartiallyProcessed
    assert ids(listed(api, t, "/v1/invoice-schedules?status=PartiallyProcessed")) == [first["id"]]
    assert first["id"] not in ids(listed(api, t, "/v1/invoice-schedules?status=Pending"))
    assert api.put(f"/v1/invoice-schedules/{schedules[2]['id']}/resume", key=t.key).status == 200
    assert listed(api, t, "/v1/invoice-schedules?status=Paused") == []
    assert schedules[2]["id"] in ids(listed(api, t, f"/v1/invoice-schedules?accountId={shop['a']}&status=Pending"))
    assert api.delete(f"/v1/invoice-schedules/{schedules[1]['id']}", key=t.key).status == 200
    assert listed(api, t, f"/v1/invoice-schedules?orderId={shop['orders'][1]}") == []
    assert schedules[1]["id"] not in ids(listed(api, t, "/v1/invoice-schedules"))


def test_bill_runs_list_filters_by_account_order_and_status_as_runs_finish(api, shop):
    t, schedules = shop["t"], shop["schedules"]
    a_first = execute(api, t, schedules[0]["id"], {}).body
    a_second = execute(api, t, schedules[0]["id"], {}).body
    a_other = execute(api, t, schedules[1]["id"], {}).body
    b_run = execute(api, t, schedules[3]["id"], {}).body
    a_runs = [a_first, a_second, a_other]

    everything = pages(api, t, "/v1/bill-runs", 1)
    assert [len(page) for page in everything] == [1, 1, 1, 1]
    assert sorted(ids(p[0] for p in everything)) == sorted(ids(a_runs + [b_run]))
    assert everything[0][0] == api.get(f"/v1/bill-runs/{everything[0][0]['id']}", key=t.key).body

    by_account = pages(api, t, f"/v1/bill-runs?accountId={shop['a']}", 2)
    assert [len(page) for page in by_account] == [2, 1]
    assert sorted(ids(r for page in by_account for r in page)) == sorted(ids(a_runs))
    by_order = listed(api, t, f"/v1/bill-runs?orderId={shop['orders'][0]}", 1)
    assert sorted(ids(by_order)) == sorted(ids([a_first, a_second]))
    assert {r["billRunFilters"][0]["invoiceScheduleId"] for r in by_order} == {schedules[0]["id"]}
    assert listed(api, t, f"/v1/bill-runs?orderId={shop['orders'][0]}&accountId={shop['b']}") == []
    assert listed(api, t, f"/v1/bill-runs?orderId={shop['orders'][2]}") == []  # its schedule made no run
    assert listed(api, t, "/v1/bill-runs?orderId=no-such-order") == []

    pending = listed(api, t, "/v1/bill-runs?status=Pending", 1)
    assert sorted(ids(pending)) == sorted(ids(a_runs + [b_run]))
    assert listed(api, t, "/v1/bill-runs?status=Completed") == []

    assert wall_tick(api)["invoiceScheduleItems"] == 4  # every run completes: the status index follows the lease
    assert listed(api, t, "/v1/bill-runs?status=Pending") == []
    completed = listed(api, t, "/v1/bill-runs?status=completed", 3)
    assert sorted(ids(completed)) == sorted(ids(a_runs + [b_run]))
    assert {r["status"] for r in completed} == {"Completed"}
    assert ids(listed(api, t, f"/v1/bill-runs?accountId={shop['b']}&status=Completed")) == [b_run["id"]]
    assert listed(api, t, f"/v1/bill-runs?accountId={shop['b']}&status=Error") == []
    assert sorted(ids(listed(api, t, f"/v1/bill-runs?orderId={shop['orders'][0]}&status=Completed"))) == sorted(
        ids([a_first, a_second]))


def test_an_execute_refused_for_its_item_is_listed_in_error(api, shop, monkeypatch):
    """A run abandoned before it ran (its item taken) is written Error by a conditional update of its status:
    the status index lists it there."""
    t, schedule = shop["t"], shop["schedules"][3]
    from chalicelib.services import bill_runs
    from chalicelib.domain.errors import conflict

    def taken(*args, **kwargs):
        raise conflict("the item is being executed by another bill run")
    monkeypatch.setattr(bill_runs, "hold", taken)
    refused = execute(api, t, schedule["id"], {})
    monkeypatch.undo()
    assert refused.status == 409, refused.body
    [run] = listed(api, t, "/v1/bill-runs?status=Error")
    assert run["billRunFilters"][0]["invoiceScheduleId"] == schedule["id"] and run["errorMessage"]
    assert ids(listed(api, t, f"/v1/bill-runs?accountId={shop['b']}&status=Error")) == [run["id"]]


@pytest.mark.parametrize("path", ["/v1/invoice-schedules", "/v1/bill-runs"])
def test_bad_filters_are_a_400_naming_the_field(api, shop, path):
    t = shop["t"]
    bad(api, t, f"{path}?status=Bogus", "status")
    bad(api, t, f"{path}?limit=0", "limit")
    bad(api, t, f"{path}?limit=1001", "limit")
    bad(api, t, f"{path}?accountId={'x' * 256}", "accountId")
    bad(api, t, f"{path}?orderId={'x' * 256}", "orderId")
    bad(api, t, f"{path}?color=red", "color")
    bad(api, t, f"{path}?nextToken=not-a-token", "nextToken")
    bad(api, t, f"{path}?orderId={shop['orders'][2]}&nextToken=not-a-token", "nextToken")
    bad(api, t, f"{path}?orderId=no-such-order&nextToken=e30", "nextToken")


@pytest.mark.parametrize("path", ["/v1/invoice-schedules", "/v1/bill-runs"])
def test_a_token_serves_only_the_query_that_issued_it(api, shop, path):
    t, schedules = shop["t"], shop["schedules"]
    for schedule in schedules:
        assert execute(api, t, schedule["id"], {}).status in (201, 409)  # the paused one refuses: no run
    first = api.get(f"{path}?accountId={shop['a']}&limit=1", key=t.key)
    token = first.body["nextToken"]
    assert first.status == 200 and token
    for other in (f"{path}?limit=1", f"{path}?accountId={shop['b']}&limit=1",
                  f"{path}?accountId={shop['a']}&status=Pending&limit=1", f"{path}?status=Pending&limit=1",
                  f"/billing/invoices?limit=1"):
        replayed = api.get(f"{other}&nextToken={token}", key=t.key)
        assert replayed.status == 400 and replayed.error_fields == ["nextToken"], (other, replayed.body)
    rest = api.get(f"{path}?accountId={shop['a']}&limit=1&nextToken={token}", key=t.key)
    assert rest.status == 200 and ids(rest.body["data"]) != ids(first.body["data"]) and rest.body["data"]
