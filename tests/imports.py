"""What a Python file imports, read from its syntax tree without running it: for the tests of import rules."""
import ast
from pathlib import Path


def imports(path: Path, package: str) -> list[tuple[str, int]]:
    """(dotted name, line) of everything an import in the file may load, at module level or inside a function:
    `import a.b` loads a.b; `from a import b` loads a, and a.b when b is a submodule (the caller knows which
    names are modules); relative imports are resolved against `package`, the file's own package."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found += [(alias.name, node.lineno) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = package.split(".")[: len(package.split(".")) - (node.level - 1)] if node.level else []
            module = ".".join(base + ([node.module] if node.module else []))
            found += [(module, node.lineno)] + [(f"{module}.{alias.name}", node.lineno) for alias in node.names]
        elif isinstance(node, ast.Call) and getattr(node.func, "id", None) == "__import__":
            found += [(arg.value, node.lineno) for arg in node.args[:1] if isinstance(arg, ast.Constant)]
    return found


def module_name(path: Path, root: Path) -> str:
    """chalicelib/api/ops.py -> chalicelib.api.ops; a package's __init__.py is the package."""
    parts = path.relative_to(root).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
