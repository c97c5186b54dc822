"""Fake AWS credentials and region are set before anything imports boto3, for every test directory (the e2e
stack's subprocess inherits them); the fake wall clock. Nothing here imports moto, boto3 or the app, so
`make unit` (tests/unit) runs the pure tests alone: the AWS fixtures are tests/aws.py's, which the conftests of
the directories that need AWS import."""
import os

os.environ.update({
    "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_SECURITY_TOKEN": "testing",
    "AWS_SESSION_TOKEN": "testing", "AWS_DEFAULT_REGION": "us-east-1", "AWS_REGION": "us-east-1",
    # chalice.test.Client applies the 'dev' stage's variables per request; the tables must match them.
    "BILLRUN_STAGE": "dev", "BILLRUN_TABLE_PREFIX": "billrun-dev", "BILLRUN_ADMIN_KEY": "test-admin-key",
    # In-process tests have no work queue unless they make one: PDFs are rendered on request there, save in the
    # tests of the worker's rendering, which turn it on (the e2e stack drops BILLRUN_* and renders, as make run).
    "BILLRUN_RENDER_PDFS": "false",
})
os.environ.pop("DYNAMODB_ENDPOINT_URL", None)
os.environ.pop("S3_ENDPOINT_URL", None)

import pytest  # noqa: E402

from chalicelib.domain import timeutil  # noqa: E402
from tests.clock import Wall  # noqa: E402


@pytest.fixture
def wall(request):
    """The wall clock of every module (timeutil.wall_now reads it), held still until the test moves it
    (`wall.now = ...`). It starts at the instant of the test's `wall` marker, else at the real time."""
    marker = request.node.get_closest_marker("wall")
    fake = Wall(timeutil.parse_instant(marker.args[0]) if marker else timeutil.wall_now())
    # its own patch, so a test's monkeypatch.undo() leaves the clock fake
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(timeutil, "wall_clock", fake)
        yield fake
