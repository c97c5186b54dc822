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
    work_queue: str  # the SQS queue a large billing job's work units go to
    fanout_customers: int  # a job whose scope has more customers than this is split into work units
    unit_customers: int  # customers per work unit
    max_receives: int  # deliveries of one unit before SQS moves it to the dead-letter queue (infra's redrive)


def settings() -> Settings:
    stage = os.environ.get("BILLRUN_STAGE", "dev")
    prefix = os.environ.get("BILLRUN_TABLE_PREFIX", f"billrun-{stage}")
    return Settings(
        stage=stage,
        table_prefix=prefix,
        dynamodb_endpoint=os.environ.get("DYNAMODB_ENDPOINT_URL") or None,
        region=os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or "us-east-1",
        admin_key=os.environ.get("BILLRUN_ADMIN_KEY") or None,
        work_queue=os.environ.get("BILLRUN_WORK_QUEUE") or f"{prefix}-work",
        fanout_customers=_number("BILLRUN_FANOUT_CUSTOMERS", 500),
        unit_customers=_number("BILLRUN_UNIT_CUSTOMERS", 100),
        max_receives=_number("BILLRUN_MAX_RECEIVES", 3),
    )


def _number(name: str, default: int) -> int:
    text = os.environ.get(name)
    return int(text) if text else default
