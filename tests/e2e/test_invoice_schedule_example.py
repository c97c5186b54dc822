"""docs/invoice-schedules.md's walk-through (the seed's two execute requests, the tick running their bill runs,
then a test-clock advance executing the last item), run as printed against the embedded stack over HTTP."""
import json
import re
import subprocess
from decimal import Decimal
from pathlib import Path

import pytest

pytestmark = pytest.mark.e2e
ROOT = Path(__file__).resolve().parents[2]
SECTION = "## A worked example: the seed's two requests, then a run date"


def doc_section() -> str:
    text = (ROOT / "docs/invoice-schedules.md").read_text()
    assert SECTION in text, "docs/invoice-schedules.md has no invoice-schedule example"
    return text.split(SECTION, 1)[1].split("\n## ", 1)[0]


def example() -> str:
    match = re.search(r"<!-- invoice-schedule-example:start -->\s*```sh\n(.*?)```\s*"
                      r"<!-- invoice-schedule-example:end -->", doc_section(), re.S)
    assert match, "docs/invoice-schedules.md has no marked invoice-schedule example"
    return match.group(1)


def stated_output() -> list:
    after = doc_section().split("<!-- invoice-schedule-example:end -->", 1)[1]
    match = re.search(r"```\n(.*?)```", after, re.S)
    assert match, "docs/invoice-schedules.md states no expected output for the invoice-schedule example"
    return [json.loads(line, parse_float=Decimal) for line in match.group(1).splitlines() if line.strip()]


def test_the_documented_invoice_schedule_example_runs_as_printed(stack):
    env = {"PATH": "/usr/bin:/bin:/usr/local/bin", "BILLRUN": stack.url, "KEY": stack.api_key,
           "ADMIN": stack.admin_key}
    result = subprocess.run(["bash", "-euo", "pipefail", "-c", example()], env=env, capture_output=True, text=True,
                            timeout=300)
    assert result.returncode == 0, result.stderr + result.stdout
    printed = [json.loads(line, parse_float=Decimal) for line in result.stdout.splitlines() if line.strip()]
    order, schedule, first, second, *rest = printed
    assert order == {"status": "Activated", "totalAmount": Decimal("3000.00")}
    assert schedule["amounts"] == [Decimal("999.90"), Decimal("999.90"), Decimal("1000.20")]
    assert (first["invoiceDate"], second["invoiceDate"]) == ("2022-12-03", "2022-12-08")  # as in the seed
    assert first["status"] == second["status"] == "Pending"
    assert printed == stated_output()  # the doc's stated output, value by value (Decimal: 3000 == 3000.00)
