"""What one work-queue message asks for: a work unit of a fanned-out billing job, or a turn on a clock's advance."""
import json

from . import clock, clock_messages, fanout


def handle(body: str, receive_count: int) -> None:
    message = json.loads(body)
    if message.get("kind") == clock_messages.MESSAGE_KIND:
        clock.handle(message)
    else:
        fanout.handle(message, receive_count)
