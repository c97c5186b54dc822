"""The SQS work queue that fans billing work out to the worker Lambda, and its dead-letter queue.

A message the worker fails to process MAX_RECEIVES times moves to the DLQ (an alarm watches it). The visibility
timeout is 6 x the worker's Lambda timeout, as AWS advises for SQS event sources, so a message is not handed to
a second worker while the first may still run. Messages keep their first enqueue time when they move, so the DLQ
retains them longer (14 days, SQS's maximum) than the work queue (4 days, SQS's default)."""
from .stages import Stage

MAX_RECEIVES = 3
VISIBILITY_PER_LAMBDA_TIMEOUT = 6
WORK_RETENTION_SECONDS = 4 * 24 * 3600
DLQ_RETENTION_SECONDS = 14 * 24 * 3600
DELETED_WITH_THE_STACK = {"DeletionPolicy": "Delete", "UpdateReplacePolicy": "Delete"}  # work in flight only


def resources(stage: Stage) -> dict:
    return {
        "WorkQueue": {"Type": "AWS::SQS::Queue", **DELETED_WITH_THE_STACK, "Properties": {
            "QueueName": stage.work_queue,
            "VisibilityTimeout": VISIBILITY_PER_LAMBDA_TIMEOUT * stage.lambda_timeout,
            "MessageRetentionPeriod": WORK_RETENTION_SECONDS,
            "SqsManagedSseEnabled": True,
            "RedrivePolicy": {"deadLetterTargetArn": {"Fn::GetAtt": ["WorkDeadLetterQueue", "Arn"]},
                              "maxReceiveCount": MAX_RECEIVES},
        }},
        "WorkDeadLetterQueue": {"Type": "AWS::SQS::Queue", **DELETED_WITH_THE_STACK, "Properties": {
            "QueueName": stage.dead_letter_queue,
            "MessageRetentionPeriod": DLQ_RETENTION_SECONDS,
            "SqsManagedSseEnabled": True,
        }},
    }
