"""No import cycle among billrun's own modules (app.py and chalicelib/): each module can be read, and loaded,
after the ones it uses. Imports inside functions count too: a lazy import that closes a circle only hides it."""
from pathlib import Path

from tests.imports import imports, module_name

ROOT = Path(__file__).resolve().parents[2]


def import_graph(root: Path, files) -> dict[str, dict[str, str]]:
    """{module: {module it imports: where (file:line)}}, among the given files' modules only."""
    names = {module_name(path, root): path for path in files}
    graph = {}
    for name, path in names.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        graph[name] = {}
        for target, line in imports(path, package):
            if target in names and target != name:
                graph[name].setdefault(target, f"{path.relative_to(root)}:{line}")
    return graph


def _reachable(graph, start: str) -> set[str]:
    seen, todo = set(), [start]
    while todo:
        for nxt in graph[todo.pop()]:
            if nxt not in seen:
                seen.add(nxt)
                todo.append(nxt)
    return seen


def _shortest_cycle(graph, start: str) -> list[str] | None:
    """start -> ... -> start by the fewest imports (breadth first), or None."""
    came_from, frontier = {}, [start]
    while frontier:
        following = []
        for node in frontier:
            for nxt in sorted(graph[node]):
                if nxt == start:
                    path = [node]
                    while path[-1] != start:
                        path.append(came_from[path[-1]])
                    return [start] + path[::-1][1:] + [start]
                if nxt not in came_from:
                    came_from[nxt] = node
                    following.append(nxt)
        frontier = following
    return None


def knots(graph) -> list[tuple[list[str], list[str]]]:
    """(one shortest cycle, every module in it) for each group of modules that import each other, directly or not
    (a strongly connected component): a group can hold more cycles than the one shown."""
    found, covered = [], set()
    for node in sorted(graph):
        cycle = None if node in covered else _shortest_cycle(graph, node)
        if cycle:
            members = {other for other in _reachable(graph, node) if node in _reachable(graph, other)}
            found.append((cycle, sorted(members)))
            covered |= members
    return found


def describe(graph, cycle: list[str], members: list[str]) -> str:
    steps = [cycle[0]] + [f"-> {b} ({graph[a][b]})" for a, b in zip(cycle, cycle[1:])]
    knot = f"\n  (all of {', '.join(members)} import each other)" if len(members) > len(cycle) - 1 else ""
    return " ".join(steps) + knot


def test_no_import_cycles():
    files = [ROOT / "app.py", *sorted((ROOT / "chalicelib").rglob("*.py"))]
    graph = import_graph(ROOT, files)
    assert {"app", "chalicelib.api.openapi", "chalicelib.services.fanout"} <= set(graph)  # the files were found
    found = knots(graph)
    assert found == [], "import cycles:\n" + "\n".join(describe(graph, *knot) for knot in found)


def package_graph(root: Path, sources: dict[str, str]) -> dict:
    """The import graph of a package `pkg` under root made of these files (name: source)."""
    (root / "pkg").mkdir()
    for name, source in sources.items():
        (root / "pkg" / name).write_text(source)
    return import_graph(root, sorted((root / "pkg").glob("*.py")))


def test_the_checker_sees_a_lazy_import_that_closes_a_cycle(tmp_path):
    graph = package_graph(tmp_path, {
        "__init__.py": "", "a.py": "from . import b\n", "b.py": "from .c import helper\n",
        "c.py": "def helper():\n    from .a import thing\n",
        "d.py": "import pkg.c\nfrom pkg import a\n"})  # d imports into the cycle and is not part of it
    [(cycle, members)] = knots(graph)
    assert (cycle, members) == (["pkg.a", "pkg.b", "pkg.c", "pkg.a"], ["pkg.a", "pkg.b", "pkg.c"])
    assert describe(graph, cycle, members) == (
        "pkg.a -> pkg.b (pkg/a.py:1) -> pkg.c (pkg/b.py:1) -> pkg.a (pkg/c.py:2)")


def test_a_knot_names_every_module_in_it(tmp_path):
    graph = package_graph(tmp_path, {"a.py": "from . import b, c\n", "b.py": "from . import a\n",
                                     "c.py": "def late():\n    from . import a\n"})
    [(cycle, members)] = knots(graph)
    assert describe(graph, cycle, members) == (
        "pkg.a -> pkg.b (pkg/a.py:1) -> pkg.a (pkg/b.py:1)\n  (all of pkg.a, pkg.b, pkg.c import each other)")
