"""billrun: routes and event handlers only. Everything else lives in chalicelib/."""

from chalice import Chalice, Rate

from chalicelib import observability
from chalicelib.api.blueprints import BLUEPRINTS
from chalicelib.config import settings
from chalicelib.domain.timeutil import wall_now
from chalicelib.services import worker as work
from chalicelib.services import tick as tick_service

app = Chalice(app_name="billrun", configure_logs=False)  # logs are JSON lines: chalicelib/observability.py
observability.configure()
app.register_middleware(observability.http_middleware, "http")
app.register_middleware(observability.event_middleware, "scheduled")
app.register_middleware(observability.event_middleware, "sqs")

for blueprint in BLUEPRINTS:
    app.register_blueprint(blueprint)


@app.schedule(Rate(1, unit=Rate.MINUTES), name="tick")
def tick(event):
    """EventBridge (UTC, every minute) and the local tick loop both call this: run the live clock's due work."""
    report = tick_service.run_wall_tick(wall_now())
    return {"clockId": report.clock_id, "until": report.until.isoformat(), "ran": report.ran}


@app.on_sqs_message(queue=settings().work_queue, batch_size=1, name="worker")
def worker(event):
    """SQS (the local stack's worker loop too): one work unit of a large billing job, a turn on a test clock's
    advance, or work a request started (a bill run, an invoice job); raising hands the message back to SQS for
    another delivery (after the last: the dead-letter queue)."""
    for record in event:
        receives = int(record.to_dict().get("attributes", {}).get("ApproximateReceiveCount", "1"))
        work.handle(record.body, receives)
