"""Fake AWS credentials and region are set before anything imports boto3; moto stands in for AWS, and every
DynamoDB request a test makes is held to real DynamoDB's limits (chalicelib/local/dynamodb_limits.py)."""
import os

os.environ.update({
    "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_SECURITY_TOKEN": "testing",
    "AWS_SESSION_TOKEN": "testing", "AWS_DEFAULT_REGION": "us-east-1", "AWS_REGION": "us-east-1",
    # chalice.test.Client applies the 'dev' stage's variables per request; the tables must match them.
    "BILLRUN_STAGE": "dev", "BILLRUN_TABLE_PREFIX": "billrun-dev", "BILLRUN_ADMIN_KEY": "test-admin-key",
})
os.environ.pop("DYNAMODB_ENDPOINT_URL", None)
os.environ.pop("S3_ENDPOINT_URL", None)

import pytest  # noqa: E402
from moto import mock_aws  # noqa: E402

from chalicelib.domain import timeutil  # noqa: E402
from chalicelib.local import dynamodb_limits, moto_speed  # noqa: E402
from chalicelib.local.atomic import serialize_dynamodb_requests  # noqa: E402
from chalicelib.store import tables  # noqa: E402
from tests.clock import Wall  # noqa: E402

serialize_dynamodb_requests()  # threads in tests meet DynamoDB's per-request atomicity, as on AWS
moto_speed.install()  # a Query costs its partition, not the table (same answers: tests/unit/test_moto_speed.py)
dynamodb_limits.install()

ADMIN_KEY = "test-admin-key"


@pytest.fixture(scope="session", autouse=True)
def dynamodb_within_limits_outside_tests():
    """The same for requests made outside any test (a module's or a session's fixture)."""
    with dynamodb_limits.recording() as refused:
        yield refused
    if refused:
        pytest.fail(f"{len(refused)} DynamoDB request(s) over real DynamoDB's limits outside tests:\n"
                    + "\n".join(refused), pytrace=False)


@pytest.fixture(autouse=True)
def dynamodb_within_limits():
    """Fails the test, at its end, when a request it made (the app's or its own) is one real DynamoDB refuses:
    moto accepts it, and an error raised inside the app could be caught by the app."""
    with dynamodb_limits.recording() as refused:
        yield refused
    if refused:
        pytest.fail(f"{len(refused)} DynamoDB request(s) over real DynamoDB's limits:\n" + "\n".join(refused),
                    pytrace=False)


@pytest.fixture
def aws():
    with mock_aws():
        tables.create_all()
        yield


@pytest.fixture
def api(aws):
    from chalice.test import Client

    from app import app
    from tests.support import Api

    with Client(app, stage_name="dev") as client:
        yield Api(client)


@pytest.fixture
def tenant(api):
    """A live tenant with its key."""
    return api.new_tenant("Acme")


@pytest.fixture
def other(api):
    """A second tenant, for isolation checks."""
    return api.new_tenant("Globex")


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
