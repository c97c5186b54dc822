"""billrun: routes and event handlers only. Everything else lives in chalicelib/."""
import os

from chalice import Chalice, Rate

from chalicelib.api import admin, billing, catalog, graphql, invoice_pdf, invoices, ops, orders, tenant
from chalicelib.domain.timeutil import wall_now
from chalicelib.services import tick as tick_service

app = Chalice(app_name="billrun")

for blueprint in (ops, admin, tenant, catalog, orders, billing, invoices, invoice_pdf, graphql):
    app.register_blueprint(blueprint.bp)


@app.schedule(Rate(1, unit=Rate.MINUTES), name="tick")
def tick(event):
    """EventBridge (UTC, every minute) and the local tick loop both call this: run the live domain's due work."""
    report = tick_service.run_wall_tick(wall_now())
    return {"domain": report.domain, "until": report.until.isoformat(), "ran": report.ran}


def _work_queue() -> str:
    """The SQS work queue's name: BILLRUN_WORK_QUEUE (set per stage in .chalice/config.json), else <prefix>-work."""
    return os.environ.get("BILLRUN_WORK_QUEUE") or f"{os.environ.get('BILLRUN_TABLE_PREFIX', 'billrun-dev')}-work"


@app.on_sqs_message(queue=_work_queue(), batch_size=1, name="worker")
def worker(event):
    """Placeholder until the SQS fan-out lands: logs each message (infra needs the function and its event source)."""
    for record in event:
        app.log.info("work message %s", record.body)
