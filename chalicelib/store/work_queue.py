"""Owns the SQS work queue (and its dead-letter queue): work units of large billing jobs go through it.

On AWS the queues belong to the stack (infra/); the local stack and tests create them here, with the same
redrive policy, so a unit that fails max_receives times lands in the dead-letter queue as it would on AWS."""
import functools
import json
import os

import boto3

from ..config import settings


def client():
    return _client(os.environ.get("SQS_ENDPOINT_URL") or None, settings().region)


@functools.lru_cache(maxsize=4)
def _url(endpoint: str | None, region: str, name: str) -> str:
    return _client(endpoint, region).get_queue_url(QueueName=name)["QueueUrl"]


def _client(endpoint: str | None, region: str):
    return boto3.client("sqs", region_name=region, endpoint_url=endpoint)


def queue_url(name: str | None = None) -> str:
    return _url(os.environ.get("SQS_ENDPOINT_URL") or None, settings().region, name or settings().work_queue)


def send(messages: list[dict], delay_seconds: int = 0) -> None:
    """Sends each message (a JSON object) once per call, in batches of 10 (SQS's limit), received no sooner than
    `delay_seconds` from now; a failed entry raises, and the caller's retry re-sends: work units are idempotent,
    so a duplicate is harmless."""
    sqs, url = client(), queue_url()
    for start in range(0, len(messages), 10):
        batch = messages[start:start + 10]
        answer = sqs.send_message_batch(QueueUrl=url, Entries=[
            {"Id": str(i), "MessageBody": json.dumps(m, separators=(",", ":")), "DelaySeconds": delay_seconds}
            for i, m in enumerate(batch)])
        if answer.get("Failed"):
            raise RuntimeError(f"SQS refused {len(answer['Failed'])} work units: {answer['Failed'][0]}")


def ensure_queues(visibility_seconds: int = 1800) -> str:
    """Creates the work queue and its dead-letter queue (local stack, tests); answers the work queue's URL."""
    sqs, s = client(), settings()
    dead = sqs.create_queue(QueueName=f"{s.work_queue}-dlq",
                            Attributes={"MessageRetentionPeriod": str(14 * 24 * 3600)})["QueueUrl"]
    dead_arn = sqs.get_queue_attributes(QueueUrl=dead, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    redrive = json.dumps({"deadLetterTargetArn": dead_arn, "maxReceiveCount": str(s.max_receives)})
    return sqs.create_queue(QueueName=s.work_queue, Attributes={
        "VisibilityTimeout": str(visibility_seconds), "RedrivePolicy": redrive})["QueueUrl"]
