"""The embedded stack over real HTTP: moto server, chalice local, the tick loop, the README's example."""
import json
import re
import subprocess
import time
from datetime import datetime, timedelta
from pathlib import Path

import pytest
import requests

pytestmark = pytest.mark.e2e
ROOT = Path(__file__).resolve().parents[2]


def test_ready_line_uses_the_chosen_demo_key(stack):
    assert stack.api_key == "e2e-demo-key"
    assert len(stack.admin_key) >= 24


def test_health_shows_the_local_tick_loop_running(stack):
    """Ticks every second (BILLRUN_TICK_SECONDS=1): the heartbeat count keeps rising."""
    seen = []
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and len(set(seen)) < 3:
        health = requests.get(f"{stack.url}/health", timeout=10).json()
        assert health["status"] == "ok" and health["stage"] == "local"
        seen.append(health["tickCount"])
        time.sleep(0.5)
    assert seen == sorted(seen) and len({c for c in seen if c >= 1}) >= 2, seen


def json_lines(output: list[str]) -> list[dict]:
    found = []
    for line in list(output):
        try:
            found.append(json.loads(line))
        except ValueError:  # the ready line, chalice's access log: plain text
            continue
    return found


def test_requests_are_logged_as_json_lines_and_the_ready_line_stays_plain(stack):
    created = requests.post(f"{stack.url}/customers", headers={"x-api-key": stack.api_key}, json={"name": "Logged"},
                            timeout=10)
    assert created.status_code == 201
    deadline, mine = time.monotonic() + 10, []
    while not mine and time.monotonic() < deadline:
        mine = [line for line in json_lines(stack.output) if isinstance(line, dict) and (
            line.get("method"), line.get("path"), line.get("status")) == ("POST", "/customers", 201)]
        time.sleep(0.2)
    assert mine, "\n".join(stack.output[-20:])
    assert (mine[-1]["tenantId"], mine[-1]["stage"], mine[-1]["service"]) == ("demo", "local", "billrun")
    assert mine[-1]["requestId"] and mine[-1]["level"] == "INFO"
    assert [line for line in stack.output if line.startswith("billrun ready: ")]  # plain text, for a human
    assert not [line for line in json_lines(stack.output) if isinstance(line, dict) and "_aws" in line]  # no EMF


def test_the_stack_reports_a_request_real_dynamodb_would_refuse(stack):
    """moto's server stores a BatchWriteItem of 26 puts; the stack prints a warning for it (which this test takes,
    so the suite's check of the stack's output finds nothing after it)."""
    import boto3

    deadline, endpoint = time.monotonic() + 10, None
    while endpoint is None and time.monotonic() < deadline:  # printed just after the ready line
        endpoint = next((line.split("moto server at ")[1].split()[0] for line in list(stack.output)
                         if "moto server at " in line), None)
        time.sleep(0.05)
    assert endpoint, "\n".join(stack.output[-10:])
    client = boto3.client("dynamodb", endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id="local",
                          aws_secret_access_key="local")
    client.batch_write_item(RequestItems={"billrun-local-billing-decisions": [
        {"PutRequest": {"Item": {"job_key": {"S": "e2e#limits"}, "customer_id": {"S": f"c{i}"}}}} for i in range(26)]})
    deadline, refused = time.monotonic() + 10, []
    while not refused and time.monotonic() < deadline:
        refused = stack.refused()
        time.sleep(0.1)
    assert len(refused) == 1 and "BatchWriteItem: 26 put/delete requests in one request; the limit is 25" in refused[0]
    stored = client.query(TableName="billrun-local-billing-decisions", KeyConditionExpression="job_key = :k",
                          ExpressionAttributeValues={":k": {"S": "e2e#limits"}})
    assert stored["Count"] == 26  # moto accepted it


def test_demo_tenant_is_test_mode_with_a_clock(stack):
    headers = {"x-api-key": stack.api_key}
    clock = requests.get(f"{stack.url}/test/clock", headers=headers, timeout=10)
    assert clock.status_code == 200 and clock.json()["status"] == "Ready"
    later = datetime.fromisoformat(clock.json()["now"]) + timedelta(days=365)
    moved = requests.post(f"{stack.url}/test/clock:advance", headers=headers, json={"to": later.isoformat()},
                          timeout=30)
    assert moved.status_code == 200 and datetime.fromisoformat(moved.json()["now"]) == later
    back = requests.post(f"{stack.url}/test/clock:advance", headers=headers,
                         json={"to": (later - timedelta(days=1)).isoformat()}, timeout=30)
    assert back.status_code == 409 and back.json()["details"][0]["field"] == "to"
    far = requests.post(f"{stack.url}/test/clock:advance", headers=headers, json={"to": "2099-01-01T00:00:00Z"},
                        timeout=30)  # one advance moves a clock at most BILLRUN_MAX_ADVANCE_DAYS (400)
    assert far.status_code == 400 and far.json()["details"][0]["field"] == "to"


def test_tenants_are_isolated_over_http(stack):
    created = requests.post(f"{stack.url}/admin/tenants", headers={"x-admin-key": stack.admin_key},
                            json={"name": "Second"}, timeout=10)
    assert created.status_code == 201
    second = {"x-api-key": created.json()["apiKey"]["key"]}
    mine = requests.post(f"{stack.url}/customers", headers={"x-api-key": stack.api_key}, json={"name": "Mine"},
                         timeout=10).json()
    assert requests.get(f"{stack.url}/customers/{mine['id']}", headers=second, timeout=10).status_code == 404
    listed = requests.get(f"{stack.url}/customers", headers=second, timeout=10).json()["data"]
    assert mine["id"] not in [c["id"] for c in listed]
    assert requests.get(f"{stack.url}/customers", timeout=10).status_code == 401


def test_money_round_trips_exactly_over_http(stack):
    raw = '{"name": "Precise", "price": 1234567890.125, "currency": "KWD", "billingPeriod": "month"}'
    answer = requests.post(f"{stack.url}/products", data=raw, timeout=10,
                           headers={"x-api-key": stack.api_key, "content-type": "application/json"})
    assert answer.status_code == 201
    assert '"price": 1234567890.125' in answer.text and '"billingPeriod": "Month"' in answer.text


def test_idempotency_key_over_http(stack):
    headers = {"x-api-key": stack.api_key, "Idempotency-Key": "e2e-once"}
    first = requests.post(f"{stack.url}/customers", headers=headers, json={"name": "Once"}, timeout=10)
    again = requests.post(f"{stack.url}/customers", headers=headers, json={"name": "Once"}, timeout=10)
    other = requests.post(f"{stack.url}/customers", headers=headers, json={"name": "Twice"}, timeout=10)
    assert first.status_code == again.status_code == 201 and first.json() == again.json()
    assert again.headers["Idempotent-Replayed"] == "true"
    assert other.status_code == 409 and other.json()["errorCode"] == "IdempotencyKeyReused"


def test_oversized_body_is_413(stack):
    body = '{"name": "' + "x" * (1024 * 1024 + 10) + '"}'
    answer = requests.post(f"{stack.url}/customers", data=body, timeout=30,
                           headers={"x-api-key": stack.api_key, "content-type": "application/json"})
    assert answer.status_code == 413 and answer.json()["errorCode"] == "PayloadTooLarge"


def readme_example() -> str:
    text = (ROOT / "README.md").read_text()
    match = re.search(r"<!-- example:start -->\s*```sh\n(.*?)```\s*<!-- example:end -->", text, re.S)
    assert match, "README has no marked example"
    return match.group(1)


def test_readme_curl_example_works_as_printed(stack):
    script = readme_example()
    env = {"PATH": "/usr/bin:/bin:/usr/local/bin", "BILLRUN": stack.url, "KEY": stack.api_key}
    result = subprocess.run(["bash", "-euo", "pipefail", "-c", script], env=env, capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 0, result.stderr + result.stdout
    assert '"status": "Active"' in result.stdout  # the subscription listing at the end
    assert '"billingPeriod": "Month"' in result.stdout and '"quantity": 3' in result.stdout
