"""Every relative link of README.md and docs/ leads somewhere: the file exists, and a `#anchor` names one of its
headings (GitHub's rule: lower case, punctuation dropped, spaces to hyphens). Links inside code blocks are code."""
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
LINK = re.compile(r"\]\(([^)\s]+)\)")


def anchors(text: str) -> set[str]:
    headings = re.findall(r"^#+ (.+)$", _prose(text), flags=re.M)
    return {re.sub(r"[^\w\- ]", "", h.strip().lower()).replace(" ", "-") for h in headings}


def _prose(text: str) -> str:
    return re.sub(r"^```.*?^```", "", text, flags=re.S | re.M)


def broken_links(page: Path) -> list[str]:
    broken = []
    for link in LINK.findall(_prose(page.read_text())):
        if re.match(r"[a-z]+:", link):
            continue  # http(s), mailto: not ours to check here
        path, _, anchor = link.partition("#")
        target = (page.parent / path) if path else page
        if not target.exists():
            broken.append(f"{link}: no such file")
        elif anchor and target.suffix == ".md" and anchor not in anchors(target.read_text()):
            broken.append(f"{link}: no such heading")
    return broken


def test_the_pages_are_found():
    assert {"README.md", "architecture.md", "billing.md", "tables.md"} <= {p.name for p in PAGES}


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_every_relative_link_resolves(page):
    assert broken_links(page) == []


def test_the_checker_sees_a_missing_file_and_a_missing_heading(tmp_path):
    (tmp_path / "a.md").write_text("# A page\n\n## Some heading: here\n")
    page = tmp_path / "b.md"
    page.write_text("[ok](a.md#some-heading-here) [gone](docs/a.md) [no](a.md#other) [web](https://x.org/y)\n"
                    "```\n[in code](nowhere.md)\n```\n")
    assert broken_links(page) == ["docs/a.md: no such file", "a.md#other: no such heading"]
