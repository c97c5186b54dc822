"""`make unit` runs tests/unit with nothing of AWS imported: neither moto nor boto3, whatever its tests and
conftests import, at collection or while they run (the AWS fixtures are tests/aws.py's, which only the conftests of
tests/functional and tests/infra import)."""
import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# pytest in one process (no xdist workers), which then prints the AWS libraries it holds as its last line
RUN = """import json, sys, pytest
code = pytest.main(sys.argv[1:])
print(json.dumps(sorted(m for m in ("moto", "boto3") if m in sys.modules)))
sys.exit(code)"""


def aws_imported_by(*args: str) -> list[str]:
    done = subprocess.run([sys.executable, "-c", RUN, "-q", "-p", "no:cacheprovider", *args], cwd=ROOT,
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout + done.stderr
    return json.loads(done.stdout.splitlines()[-1])


def test_the_unit_run_imports_neither_moto_nor_boto3():
    assert aws_imported_by("tests/unit") == []


def test_a_unit_run_with_the_aws_fixtures_is_seen_to_import_them():
    """The check itself: the same run of one unit file with tests/aws.py loaded reports both."""
    assert aws_imported_by("-p", "tests.aws", "tests/unit/test_money.py") == ["boto3", "moto"]
