"""billrun: routes and event handlers only. Everything else lives in chalicelib/."""
from chalice import Chalice, Rate

from chalicelib.api import (admin, billing, catalog, graphql, invoice_pdf, invoice_schedules, invoices, ops, orders,
                            tenant)
from chalicelib.domain.timeutil import wall_now
from chalicelib.services import tick as tick_service

app = Chalice(app_name="billrun")

for blueprint in (ops, admin, tenant, catalog, orders, billing, invoices, invoice_pdf, graphql, invoice_schedules):
    app.register_blueprint(blueprint.bp)


@app.schedule(Rate(1, unit=Rate.MINUTES), name="tick")
def tick(event):
    """EventBridge (UTC, every minute) and the local tick loop both call this: run the live domain's due work."""
    report = tick_service.run_wall_tick(wall_now())
    return {"domain": report.domain, "until": report.until.isoformat(), "ran": report.ran}
