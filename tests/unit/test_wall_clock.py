"""One wall clock: chalicelib.domain.timeutil.wall_now reads `timeutil.wall_clock`, which the `wall` fixture
(tests/conftest.py) replaces for every module at once. Static checks keep it so: no module of the app reads the
clock itself or binds `wall_clock` by name (it would keep the real clock when a test replaces it), and no test
patches a module's `wall_now` (it would reach that module alone)."""
import ast
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from chalicelib.domain import timeutil
from chalicelib.domain.timeutil import UTC, parse_instant, wall_now  # by name, as the app's modules import it

ROOT = Path(__file__).resolve().parents[2]
TIMEUTIL = ROOT / "chalicelib" / "domain" / "timeutil.py"
APP_FILES = sorted(p for p in [ROOT / "app.py", *(ROOT / "chalicelib").rglob("*.py")] if p != TIMEUTIL)
TEST_FILES = sorted((ROOT / "tests").rglob("*.py"))
CLOCK_READS = {("datetime", "now"), ("datetime", "utcnow"), ("datetime", "today"), ("date", "today"),
               ("time", "time"), ("time", "time_ns")}


def clock_escapes(source: str) -> list[str]:
    """Each read of the wall clock that does not go through timeutil.wall_now: a call of datetime.now, utcnow or
    today, date.today, time.time or time_ns (however datetime and time were imported), and any `wall_clock`."""
    tree = ast.parse(source)
    names = {}  # a local name -> the datetime or time name it stands for
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update({a.asname or a.name: a.name for a in node.names if a.name in ("datetime", "time")})
        elif isinstance(node, ast.ImportFrom) and node.module in ("datetime", "time"):
            names.update({a.asname or a.name: a.name for a in node.names})
            found += [(node.lineno, f"from {node.module} import {a.name}") for a in node.names
                      if (node.module, a.name) in CLOCK_READS]  # from time import time
    for node in ast.walk(tree):
        if names_wall_clock(node):
            found.append((node.lineno, "wall_clock"))
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            owner = node.func.value
            owner = names.get(owner.id) if isinstance(owner, ast.Name) else getattr(owner, "attr", None)
            if (owner, node.func.attr) in CLOCK_READS:
                found.append((node.lineno, f"{owner}.{node.func.attr}()"))
    return [f"line {line}: {what}" for line, what in sorted(found)]


def names_wall_clock(node: ast.AST) -> bool:
    return (isinstance(node, ast.alias) and "wall_clock" in (node.name, node.asname)
            or isinstance(node, ast.Name) and node.id == "wall_clock"
            or isinstance(node, ast.Attribute) and node.attr == "wall_clock")


def wall_now_patches(source: str) -> list[int]:
    """The lines of setattr calls (monkeypatch's or the builtin) that replace some module's `wall_now`."""
    return [node.lineno for node in ast.walk(ast.parse(source))
            if isinstance(node, ast.Call) and getattr(node.func, "attr", getattr(node.func, "id", None)) == "setattr"
            and any(isinstance(arg, ast.Constant) and arg.value == "wall_now" for arg in node.args)]


def test_the_files_are_found():
    assert ROOT / "app.py" in APP_FILES and ROOT / "chalicelib" / "services" / "billing_jobs.py" in APP_FILES
    assert TIMEUTIL.exists() and TIMEUTIL not in APP_FILES
    assert Path(__file__) in TEST_FILES


@pytest.mark.parametrize("path", APP_FILES, ids=lambda p: str(p.relative_to(ROOT)))
def test_the_app_reads_the_wall_clock_only_through_timeutil(path):
    assert clock_escapes(path.read_text()) == []


@pytest.mark.parametrize("path", TEST_FILES, ids=lambda p: str(p.relative_to(ROOT)))
def test_no_test_patches_one_modules_wall_now(path):
    assert wall_now_patches(path.read_text()) == [], "use the `wall` fixture (tests/conftest.py)"


def test_the_checks_see_each_way_around_the_one_clock():
    escapes = clock_escapes(
        "import datetime as dt\nimport time\nfrom datetime import date, datetime\nfrom time import time_ns\n"
        "from chalicelib.domain.timeutil import wall_clock\nfrom ..domain import timeutil\n"
        "a = dt.datetime.now(dt.timezone.utc)\nb = datetime.utcnow()\nc = date.today()\nd = time.time()\n"
        "e = timeutil.wall_clock()\n")
    assert escapes == ["line 4: from time import time_ns", "line 5: wall_clock", "line 7: datetime.now()",
                       "line 8: datetime.utcnow()", "line 9: date.today()", "line 10: time.time()",
                       "line 11: wall_clock"]
    fine = ("from datetime import datetime\nfrom ..domain import timeutil\nfrom ..domain.timeutil import wall_now\n"
            "import time\na = wall_now()\nb = timeutil.wall_now()\nc = tenant.now(a)\nd = time.monotonic()\n"
            "e = datetime.fromisoformat('2025-01-01T00:00:00+00:00')\n")
    assert clock_escapes(fine) == []
    assert wall_now_patches("import app\nmonkeypatch.setattr(app, 'wall_now', f)\nsetattr(app, 'wall_now', f)\n"
                            "monkeypatch.setattr(app, 'other', f)\n") == [2, 3]


def test_wall_now_is_the_real_clock_unless_a_test_holds_it():
    before = datetime.now(UTC)
    now = wall_now()
    assert now.tzinfo is UTC and before <= now <= datetime.now(UTC)


def test_the_fixture_starts_at_the_real_time_held_still(wall):
    assert wall_now() == wall.now == timeutil.wall_now()
    assert abs(datetime.now(UTC) - wall.now) < timedelta(minutes=1)


@pytest.mark.wall("2025-06-01T00:00:00Z")
def test_the_fixture_moves_every_reader_even_a_name_imported_before_it(wall, monkeypatch):
    assert wall_now() == parse_instant("2025-06-01T00:00:00Z")
    wall.now += timedelta(hours=1)
    assert wall_now() == parse_instant("2025-06-01T01:00:00Z") == timeutil.wall_now()
    monkeypatch.undo()  # a test's own patches undone: the clock stays the fake
    assert wall_now() == wall.now
