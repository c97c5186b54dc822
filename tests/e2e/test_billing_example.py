"""docs/billing.md's billing-schedule walk-through, run as printed against the embedded stack over HTTP."""
import json
import re
import subprocess
from decimal import Decimal
from pathlib import Path

import pytest

from tests.support import NOTHING_RAN

pytestmark = pytest.mark.e2e
ROOT = Path(__file__).resolve().parents[2]
SECTION = "## Billing schedules: a worked example"


def doc_section() -> str:
    text = (ROOT / "docs/billing.md").read_text()
    assert SECTION in text, "docs/billing.md has no billing-schedule example"
    return text.split(SECTION, 1)[1].split("\n## ", 1)[0]


def billing_example() -> str:
    match = re.search(r"<!-- billing-example:start -->\s*```sh\n(.*?)```\s*<!-- billing-example:end -->",
                      doc_section(), re.S)
    assert match, "docs/billing.md has no marked billing example"
    return match.group(1)


def stated_output() -> str:
    """The expected output the doc prints after the block (the first plain ``` block that follows it)."""
    after = doc_section().split("<!-- billing-example:end -->", 1)[1]
    match = re.search(r"```\n(.*?)```", after, re.S)
    assert match, "docs/billing.md states no expected output for the billing example"
    return match.group(1)


def test_the_documented_billing_example_bills_three_months_as_printed(stack):
    env = {"PATH": "/usr/bin:/bin:/usr/local/bin", "BILLRUN": stack.url, "KEY": stack.api_key,
           "ADMIN": stack.admin_key}
    result = subprocess.run(["bash", "-euo", "pipefail", "-c", billing_example()], env=env, capture_output=True,
                            text=True, timeout=300)
    assert result.returncode == 0, result.stderr + result.stdout
    lines = [json.loads(line, parse_float=Decimal) for line in result.stdout.splitlines() if line.strip()]

    order, schedule, advance, *invoices = lines
    assert order == {"status": "Activated"}
    assert schedule == {"name": "BS-00000001", "status": "Active",
                        "nextRunDate": "2024-12-31T19:00:00.000+00:00"}  # 03:00 on Jan 1st in Shanghai
    assert advance == {"now": "2025-03-31T16:00:00.000+00:00", "status": "Ready",  # Jan 1 .. Mar 31
                       "ran": {**NOTHING_RAN, "billingJobs": 90}}
    assert [(i["name"], i["invoiceDate"], i["startDate"], i["endDate"], i["amount"]) for i in invoices] == [
        ("INV-00000001", "2025-01-01", "2025-01-01", "2025-01-31", Decimal("104.94")),
        ("INV-00000002", "2025-02-01", "2025-02-01", "2025-02-28", Decimal("104.94")),
        ("INV-00000003", "2025-03-01", "2025-03-01", "2025-03-31", Decimal("104.94")),
    ]
    assert result.stdout == stated_output()  # docs/billing.md's stated output is exactly what the block prints
