"""chalicelib/domain is pure: no AWS libraries, no web framework, no store/services/api."""
from pathlib import Path

import pytest

from tests.imports import imports

DOMAIN = Path(__file__).resolve().parents[2] / "chalicelib" / "domain"
FORBIDDEN = ("boto3", "botocore", "pynamodb", "chalice", "chalicelib.store", "chalicelib.services",
             "chalicelib.api", "moto")


def imported_modules(path: Path) -> list[str]:
    """Absolute names of every module a file may import (relative imports resolved against chalicelib.domain)."""
    return [name for name, _ in imports(path, "chalicelib.domain")]


def is_forbidden(module: str) -> bool:
    return any(module == bad or module.startswith(bad + ".") for bad in FORBIDDEN)


FILES = sorted(DOMAIN.glob("*.py"))


def test_domain_files_are_found():
    names = {p.name for p in FILES}
    assert {"money.py", "enums.py", "timeutil.py", "tenants.py", "catalog.py", "orders.py", "subscriptions.py",
            "numbering.py", "errors.py"} <= names


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_domain_module_imports_nothing_impure(path):
    bad = [m for m in imported_modules(path) if is_forbidden(m)]
    assert bad == [], f"{path.name} imports {bad}"


def test_the_checker_sees_relative_and_absolute_imports(tmp_path):
    sample = tmp_path / "sample.py"
    sample.write_text("import boto3\nfrom ..store import models\nfrom . import money\n"
                      "from chalice import Blueprint\nimport pynamodb.attributes\n")
    found = imported_modules(sample)
    assert "chalicelib.store" in found and "chalicelib.domain.money" in found
    assert [m for m in found if is_forbidden(m)] == ["boto3", "chalicelib.store", "chalicelib.store.models", "chalice",
                                                     "chalice.Blueprint", "pynamodb.attributes"]
