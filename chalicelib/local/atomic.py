"""Give moto's DynamoDB the per-request atomicity real DynamoDB has.

moto's in-memory backend takes no lock, and UpdateItem mutates the stored item in place before it
serialises the answer: two concurrent requests can both read n and write n+1, or a condition can be
checked against a state another thread is half-way through changing. The embedded stack serves
requests on threads (ThreadedMotoServer) and tests run threads against mock_aws, so both handle one
DynamoDB request at a time. Real DynamoDB needs none of this."""
import threading
from functools import wraps

_LOCK = threading.RLock()


def serialize_dynamodb_requests() -> None:
    from moto.dynamodb.responses import DynamoHandler

    if getattr(DynamoHandler.call_action, "_billrun_serialized", False):
        return
    original = DynamoHandler.call_action

    @wraps(original)
    def one_at_a_time(self, *args, **kwargs):
        with _LOCK:
            return original(self, *args, **kwargs)

    one_at_a_time._billrun_serialized = True
    DynamoHandler.call_action = one_at_a_time
