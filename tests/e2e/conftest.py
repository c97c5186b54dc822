"""Starts the embedded stack (`python -m chalicelib.local.stack`, what `make run` runs) in a subprocess."""
import os
import re
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from chalicelib.local.dynamodb_limits import REFUSED

ROOT = Path(__file__).resolve().parents[2]
READY = re.compile(r"^billrun ready: (http://127\.0\.0\.1:\d+) api-key=(\S+) admin-key=(\S+)$")


@dataclass
class Stack:
    url: str
    api_key: str
    admin_key: str
    output: list
    checked: int = 0  # lines of output already searched for requests over DynamoDB's limits

    def refused(self) -> list[str]:
        """The stack's reports of requests real DynamoDB would refuse (chalicelib/local/dynamodb_limits.py) printed
        since the last call."""
        lines, self.checked = self.output[self.checked:], len(self.output)
        return [line for line in lines if REFUSED in line]


@pytest.fixture(scope="session")
def stack():
    yield from started_stack(tick_seconds=1)


@pytest.fixture(scope="module")
def slow_tick_stack():
    """A stack whose tick loop ticks once at start, then not for an hour: only the worker loop can run what a
    request starts meanwhile."""
    yield from started_stack(tick_seconds=3600)


def started_stack(tick_seconds: int):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("BILLRUN_", "DYNAMODB_"))}
    env.update({"BILLRUN_PORT": "0", "BILLRUN_MOTO_PORT": "0", "BILLRUN_TICK_SECONDS": str(tick_seconds),
                "BILLRUN_DEMO_API_KEY": "e2e-demo-key", "BILLRUN_STOP_AFTER_SECONDS": "600",
                "PYTHONUNBUFFERED": "1"})
    process = subprocess.Popen([sys.executable, "-m", "chalicelib.local.stack"], cwd=ROOT, env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    output: list[str] = []
    ready = threading.Event()
    found: dict = {}

    def read():
        for line in process.stdout:
            output.append(line.rstrip("\n"))
            match = READY.match(line.strip())
            if match:
                found["match"] = match
                ready.set()

    threading.Thread(target=read, daemon=True).start()
    deadline = time.monotonic() + 120
    while not ready.wait(0.5):
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            pytest.fail("the stack did not print its ready line:\n" + "\n".join(output[-40:]))
    match = found["match"]
    stack_ = Stack(match.group(1), match.group(2), match.group(3), output)
    yield stack_
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()
    _fail_on_refused(stack_, "after the last test")


@pytest.fixture(autouse=True)
def stack_within_dynamodb_limits(request):
    """Fails a test that used the stack when the stack reported a request over real DynamoDB's limits meanwhile (its
    tick loop runs all along: a report is the current test's, or at worst the next one's)."""
    name = next((n for n in ("stack", "slow_tick_stack") if n in request.fixturenames), None)
    if name is None:
        yield
        return
    stack = request.getfixturevalue(name)
    yield
    _fail_on_refused(stack, "during this test")


def _fail_on_refused(stack: Stack, when: str) -> None:
    refused = stack.refused()
    if refused:
        pytest.fail(f"the stack made {len(refused)} DynamoDB request(s) over real DynamoDB's limits {when}:\n"
                    + "\n".join(refused), pytrace=False)
