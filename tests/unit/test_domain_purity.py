"""chalicelib/domain is pure: no AWS libraries, no web framework, no store/services/api."""
import ast
from pathlib import Path

import pytest

DOMAIN = Path(__file__).resolve().parents[2] / "chalicelib" / "domain"
FORBIDDEN = ("boto3", "botocore", "pynamodb", "chalice", "chalicelib.store", "chalicelib.services",
             "chalicelib.api", "moto")


def imported_modules(path: Path) -> list[str]:
    """Absolute names of every module a file imports (relative imports resolved against chalicelib.domain)."""
    package = ["chalicelib", "domain"]
    names = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - (node.level - 1)]
                module = ".".join(base + ([node.module] if node.module else []))
                names += [module] if node.module else [f"{module}.{a.name}" for a in node.names]
            else:
                names.append(node.module)
        elif isinstance(node, ast.Call) and getattr(node.func, "id", None) == "__import__":
            names += [arg.value for arg in node.args[:1] if isinstance(arg, ast.Constant)]
    return names


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
    assert [m for m in found if is_forbidden(m)] == ["boto3", "chalicelib.store", "chalice", "pynamodb.attributes"]
