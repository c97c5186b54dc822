"""The local stand-ins for EventBridge (the real tick handler every N seconds) and for Lambda's SQS event
source mapping (the real worker handler, one message per invocation, on moto's SQS)."""
import threading
import uuid

from ..domain.timeutil import wall_now


def scheduled_event(region: str = "us-east-1") -> dict:
    """The event EventBridge delivers to a scheduled Lambda."""
    return {"version": "0", "id": str(uuid.uuid4()), "detail-type": "Scheduled Event", "source": "aws.events",
            "account": "000000000000", "time": wall_now().strftime("%Y-%m-%dT%H:%M:%SZ"),
            "region": region, "resources": ["arn:aws:events:local:000000000000:rule/billrun-local-tick"],
            "detail": {}}


def run_tick_loop(interval_seconds: float, stop: threading.Event, iterations: int | None = None,
                  on_error=print) -> int:
    """Calls app.tick as Lambda would, until `stop` is set or `iterations` ran; returns how many ran."""
    from app import tick  # the same handler object the EventBridge rule invokes

    ran = 0
    while not stop.is_set() and (iterations is None or ran < iterations):
        try:
            tick(scheduled_event(), None)
        except Exception as error:  # keep ticking: one failed tick must not stop the local stack
            on_error(f"tick failed: {error!r}")
        ran += 1
        if iterations is None or ran < iterations:
            stop.wait(interval_seconds)
    return ran


def sqs_event(message: dict, queue_arn: str) -> dict:
    """The event Lambda's SQS event source mapping delivers for one message."""
    return {"Records": [{"messageId": message["MessageId"], "receiptHandle": message["ReceiptHandle"],
                         "body": message["Body"], "attributes": message.get("Attributes", {}),
                         "messageAttributes": {}, "md5OfBody": message["MD5OfBody"], "eventSource": "aws:sqs",
                         "eventSourceARN": queue_arn, "awsRegion": "us-east-1"}]}


def run_worker_loop(stop: threading.Event, wait_seconds: int = 1, on_error=print) -> int:
    """Receives work units and calls app.worker as Lambda would: success deletes the message; a failure leaves
    it to come back after its visibility timeout (and, after the last delivery, to the dead-letter queue)."""
    from app import worker
    from ..store import work_queue

    sqs, url = work_queue.client(), work_queue.queue_url()
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    handled = 0
    while not stop.is_set():
        try:
            got = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=1, WaitTimeSeconds=wait_seconds,
                                      AttributeNames=["All"])
        except Exception as error:  # moto stopping under us at shutdown
            on_error(f"worker receive failed: {error!r}")
            stop.wait(wait_seconds)
            continue
        for message in got.get("Messages", []):
            try:
                worker(sqs_event(message, arn), None)
                sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
            except Exception as error:  # the message comes back: SQS's retry, as on AWS
                on_error(f"work unit failed: {error!r}")
            handled += 1
    return handled
