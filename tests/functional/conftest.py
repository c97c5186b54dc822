"""The app on moto: tests/aws.py's fixtures."""
from tests.aws import (api, aws, dynamodb_within_limits, dynamodb_within_limits_outside_tests,  # noqa: F401
                       other, tenant)
