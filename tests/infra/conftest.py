"""The app packaged as `make package` packages it: `chalice package --merge-template infra/merge-<stage>.json`.

Chalice caches the dependency layer in .chalice/deployments under a hash of requirements.txt: the first package
after a requirements change builds it (pip downloads Linux wheels from PyPI: a minute or two); later ones only
zip the app code (seconds)."""
import fcntl
import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from infra.stages import DEPLOYABLE, ROOT
from tests.aws import (api, aws, dynamodb_within_limits, dynamodb_within_limits_outside_tests,  # noqa: F401
                       other, tenant)  # test_deploy runs the app on moto

BIN = Path(sys.executable).parent


def _drop_broken_cache() -> None:
    """A package killed while it wrote the layer leaves a truncated zip that Chalice would refuse on every later
    run (BadZipFile): such a cache entry is removed, and this package builds it again."""
    for cached in (ROOT / ".chalice" / "deployments").glob("*.zip"):
        try:
            zipfile.ZipFile(cached).close()
        except zipfile.BadZipFile:
            cached.unlink()


def chalice_package(stage: str, out: Path) -> Path:
    """One package at a time per checkout (make test's pytest-xdist workers each package): Chalice writes its
    layer cache without a lock, and two builds of one layer write one file. A later package reuses the cache."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("BILLRUN_")}  # the stage's own settings only
    env.setdefault("AWS_DEFAULT_REGION", "us-east-1")
    (ROOT / ".chalice" / "deployments").mkdir(parents=True, exist_ok=True)
    with open(ROOT / ".chalice" / "deployments" / ".package.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        _drop_broken_cache()
        done = subprocess.run([str(BIN / "chalice"), "package", "--stage", stage,
                               "--merge-template", f"infra/merge-{stage}.json", str(out)],
                              cwd=ROOT, env=env, capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stdout + done.stderr
    return out / "sam.json"


@pytest.fixture(scope="session")
def packaged(tmp_path_factory) -> dict[str, Path]:
    """The packaged SAM template of every deployable stage, by stage name."""
    return {stage: chalice_package(stage, tmp_path_factory.mktemp(f"package-{stage}")) for stage in DEPLOYABLE}


def load(path: Path) -> dict:
    return json.loads(path.read_text())
