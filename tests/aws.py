"""The AWS fixtures, for the conftests of the directories whose tests use AWS (tests/functional, tests/infra):
moto stands in for AWS, and every DynamoDB request a test makes is held to real DynamoDB's limits
(chalicelib/local/dynamodb_limits.py). Importing this module installs the patches, once per process."""
import pytest
from moto import mock_aws

from chalicelib.local import dynamodb_limits, moto_speed
from chalicelib.local.atomic import serialize_dynamodb_requests
from chalicelib.store import tables

serialize_dynamodb_requests()  # threads in tests meet DynamoDB's per-request atomicity, as on AWS
moto_speed.install()  # a Query costs its partition, not the table (same answers: tests/functional/test_moto_speed.py)
dynamodb_limits.install()


@pytest.fixture(scope="session", autouse=True)
def dynamodb_within_limits_outside_tests():
    """The same for requests made outside any test (a module's or a session's fixture). Each importing conftest
    has its own: a request outside tests is reported to the innermost, and fails the session all the same."""
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
