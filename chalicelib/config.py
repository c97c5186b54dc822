"""Runtime settings read from the environment on every call (chalice.test.Client sets env per request)."""
import os
from dataclasses import dataclass


@dataclass(frozen=True)
class Settings:
    stage: str
    table_prefix: str
    dynamodb_endpoint: str | None
    region: str
    admin_key: str | None


def settings() -> Settings:
    stage = os.environ.get("BILLRUN_STAGE", "dev")
    return Settings(
        stage=stage,
        table_prefix=os.environ.get("BILLRUN_TABLE_PREFIX", f"billrun-{stage}"),
        dynamodb_endpoint=os.environ.get("DYNAMODB_ENDPOINT_URL") or None,
        region=os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or "us-east-1",
        admin_key=os.environ.get("BILLRUN_ADMIN_KEY") or None,
    )
