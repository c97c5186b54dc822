"""Every blueprint of the HTTP API, named once: app.py registers them, and importing this module registers every
operation they define in http.OPERATIONS, the registry the OpenAPI document is built from."""
from . import (admin, billing, catalog, console, graphql, invoice_pdf, invoice_schedules, invoices, ops, orders,
               recurring_invoices, tenant)

BLUEPRINTS = tuple(module.bp for module in (ops, admin, tenant, catalog, orders, billing, invoices, invoice_pdf,
                                            graphql, invoice_schedules, recurring_invoices, console))
