"""docs/recurring-invoices.md's walk-through (BILL dialect), run as printed against the embedded stack over HTTP."""
import re
import subprocess
from pathlib import Path

import pytest

pytestmark = pytest.mark.e2e
ROOT = Path(__file__).resolve().parents[2]
SECTION = "## A worked example"


def doc_section() -> str:
    text = (ROOT / "docs/recurring-invoices.md").read_text()
    assert SECTION in text, "docs/recurring-invoices.md has no worked-example section"
    return text.split(SECTION, 1)[1].split("\n## ", 1)[0]


def example() -> tuple[str, str]:
    """The marked block, and the first plain ``` block after it (the output it states)."""
    section = doc_section()
    match = re.search(r"<!-- recurring-example:start -->\s*```sh\n(.*?)```\s*<!-- recurring-example:end -->",
                      section, re.S)
    assert match, "docs/recurring-invoices.md has no marked recurring-invoice example"
    stated = re.search(r"```\n(.*?)```", section.split("<!-- recurring-example:end -->", 1)[1], re.S)
    assert stated, "docs/recurring-invoices.md states no expected output for the recurring-invoice example"
    return match.group(1), stated.group(1)


def test_the_documented_recurring_example_generates_three_invoices_as_printed(stack):
    block, stated = example()
    env = {"PATH": "/usr/bin:/bin:/usr/local/bin", "BILLRUN": stack.url, "KEY": stack.api_key,
           "ADMIN": stack.admin_key}
    result = subprocess.run(["bash", "-euo", "pipefail", "-c", block], env=env, capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 0, result.stderr + result.stdout
    lines = result.stdout.splitlines()
    assert len(lines) == 6 and '"recurringInvoices":3' in lines[1]
    assert result.stdout == stated  # docs/recurring-invoices.md's stated output is exactly what the block prints
