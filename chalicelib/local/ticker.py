"""The local stand-in for EventBridge: invokes the real tick handler every N seconds."""
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
