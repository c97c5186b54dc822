"""What each layer may import: chalicelib/domain is pure (no AWS libraries, no web framework, no
store/services/api); chalicelib/api reaches the store only through services (reads through the read model,
services/views.py), except the HTTP layer's idempotency cache."""
from pathlib import Path

import pytest

from tests.imports import imports

CHALICELIB = Path(__file__).resolve().parents[2] / "chalicelib"
DOMAIN = CHALICELIB / "domain"
FORBIDDEN = ("boto3", "botocore", "pynamodb", "chalice", "chalicelib.store", "chalicelib.services",
             "chalicelib.api", "moto")


def imported_modules(path: Path) -> list[str]:
    """Absolute names of every module a file may import (relative imports resolved against chalicelib.domain)."""
    return [name for name, _ in imports(path, "chalicelib.domain")]


def is_forbidden(module: str, forbidden=FORBIDDEN) -> bool:
    return any(module == bad or module.startswith(bad + ".") for bad in forbidden)


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


API_FILES = sorted((CHALICELIB / "api").glob("*.py"))
# The HTTP layer keeps each idempotent response in the store: a concern of every route, not of one service.
STORE_USERS = {"http.py": {"chalicelib.store", "chalicelib.store.idempotency"}}


@pytest.mark.parametrize("path", API_FILES, ids=lambda p: p.name)
def test_api_module_reaches_the_store_only_through_services(path):
    found = [name for name, _ in imports(path, "chalicelib.api")]
    bad = [m for m in found if is_forbidden(m, ("chalicelib.store",)) and m not in STORE_USERS.get(path.name, ())]
    assert bad == [], f"{path.name} imports {bad}: read through chalicelib.services.views, write through a service"


def test_the_api_checker_sees_a_store_import(tmp_path):
    sample = tmp_path / "billing.py"
    sample.write_text("from ..store import documents\nfrom ..services import views\n")
    found = [name for name, _ in imports(sample, "chalicelib.api")]
    assert [m for m in found if is_forbidden(m, ("chalicelib.store",))] == ["chalicelib.store",
                                                                             "chalicelib.store.documents"]
