"""The console in a real browser (Playwright driving Debian's Chromium, /usr/bin/chromium) against `make run`'s
stack: seed 002's seven steps, from the Orders page to the generated invoice. Screenshots of each page are saved
under build/console/ (test artifacts, looked at by a person: they assert nothing themselves)."""
import re
from datetime import date, timedelta
from pathlib import Path

import pytest
import requests
from playwright.sync_api import TimeoutError as PlaywrightTimeout
from playwright.sync_api import expect, sync_playwright

pytestmark = pytest.mark.e2e
ROOT = Path(__file__).resolve().parents[2]
SHOTS = ROOT / "build" / "console"
CHROMIUM = "/usr/bin/chromium"


@pytest.fixture(scope="module")
def browser():
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, headless=True)
        yield launched
        launched.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    opened = context.new_page()
    errors = []
    opened.on("pageerror", lambda error: errors.append(str(error)))
    opened.on("console", lambda message: errors.append(f"{message.text} ({message.location.get('url')})")
              if message.type == "error" else None)
    opened.errors = errors  # a test may take out what it expects (a refused key's 401)
    yield opened
    context.close()
    assert errors == [], errors  # no script error, no refused resource (the page's own CSP included)


def milestone_order(stack) -> dict:
    """A customer, an Activated order of two OneTime services lines, and an invoice schedule of two items."""
    url, headers = stack.url, {"x-api-key": stack.api_key}

    def post(path, body):
        answer = requests.post(f"{url}{path}", headers=headers, json=body, timeout=30)
        assert answer.status_code in (200, 201), (path, answer.status_code, answer.text)
        return answer.json()

    today = date.fromisoformat(requests.get(f"{url}/test/clock", headers=headers, timeout=10).json()["now"][:10])
    customer = post("/customers", {"name": "Console Industries", "taxRate": 10})
    design = post("/products", {"name": "Design", "productType": "OneTime", "price": 1800, "billingPeriod": None})
    build = post("/products", {"name": "Build", "productType": "OneTime", "price": 1200, "billingPeriod": None})
    order = post("/orders", {"customerId": customer["id"], "lines": [{"productId": design["id"], "quantity": 1},
                                                                      {"productId": build["id"], "quantity": 1}]})
    post(f"/orders/{order['id']}:activate", {})
    schedule = post("/v1/invoice-schedules", {"orders": [order["id"]], "scheduleItems": [
        {"name": "Kick-off", "runDate": (today + timedelta(days=20)).isoformat(), "percentage": 40},
        {"name": "Go-live", "runDate": (today + timedelta(days=60)).isoformat(), "percentage": 60}]})
    return {"customer": customer, "order": order, "schedule": schedule}


def sign_in(page, stack):
    page.goto(f"{stack.url}/console")
    page.get_by_label("API key").fill(stack.api_key)
    page.get_by_role("button", name="Use key").click()


def shot(page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def test_seed_002_generate_an_invoice_from_the_schedule_items_section(stack, page):
    made = milestone_order(stack)
    order, schedule = made["order"], made["schedule"]
    sign_in(page, stack)

    # 1-2. Orders, then the order's number; filtered by its customer, as a long list would be
    expect(page.get_by_role("heading", name="Orders")).to_be_visible()
    page.get_by_label("Customer").select_option(label="Console Industries")
    page.get_by_role("button", name="Search").click()
    expect(page.get_by_role("row")).to_have_count(2)  # the header and this customer's one order
    shot(page, "orders")
    page.get_by_role("link", name=order["id"]).click()

    # 3. the order details page: the invoice schedule's number in the basic information section
    expect(page.get_by_role("heading", name=f"Order {order['id']}")).to_be_visible()
    expect(page.locator("dt:text-is('Total') + dd")).to_have_text("USD 3,000.00")
    shot(page, "order")
    page.get_by_role("link", name=schedule["number"]).click()

    # 4-6. the Schedule Items section: Generate on the first item, Yes in the Confirmation dialog
    expect(page.get_by_role("heading", name="Schedule Items")).to_be_visible()
    items = page.get_by_role("table", name=re.compile("Schedule items"))
    expect(items.get_by_role("row")).to_have_count(3)
    first = items.get_by_role("row").nth(1)
    expect(first).to_contain_text("Kick-off")
    expect(first).to_contain_text("USD 1,200.00")
    expect(first).to_contain_text("Pending")
    shot(page, "invoice-schedule")
    first.get_by_role("button", name="Generate").click()
    dialog = page.get_by_role("dialog", name="Confirmation")
    expect(dialog).to_be_visible()
    shot(page, "confirmation")
    dialog.get_by_role("button", name="Yes").click()

    # 7. Refresh while it executes, until the item is Processed and shows its invoice's number
    first = page.get_by_role("table", name=re.compile("Schedule items")).get_by_role("row").nth(1)
    for _ in range(150):  # a bound on the clicks (the worker takes under a second, more on a loaded machine)
        if first.get_by_role("link", name=re.compile(r"INV-\d{8}")).count():
            break
        refresh = first.get_by_role("button", name="Refresh")
        if refresh.count():
            try:
                refresh.click(timeout=1000)
            except PlaywrightTimeout:  # the page was re-rendered under the click (the last Refresh's answer)
                pass
        page.wait_for_timeout(200)
    expect(first).to_contain_text("Processed")
    invoice_link = first.get_by_role("link", name=re.compile(r"INV-\d{8}"))
    number = invoice_link.inner_text()
    expect(page.get_by_role("row").nth(2)).to_contain_text("Pending")  # the other item is untouched
    shot(page, "invoice-schedule-processed")
    invoice_link.click()

    # the invoice: its number, the item's amount plus 10 % tax, and the two order lines' shares
    expect(page.get_by_role("heading", name=f"Invoice {number}")).to_be_visible()
    expect(page.locator("dt:text-is('Total') + dd")).to_have_text("USD 1,320.00")
    lines = page.get_by_role("table", name="Invoice lines").get_by_role("row")
    expect(lines).to_have_count(3)
    shot(page, "invoice")


def test_no_key_no_page_a_refused_key_asks_again(stack, page):
    page.goto(f"{stack.url}/console#/orders")
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    page.get_by_label("API key").fill("brk_wrong")
    page.get_by_role("button", name="Use key").click()
    expect(page.get_by_role("alert")).to_contain_text("The API key was refused")  # 401: dropped, asked again
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    assert page.evaluate("sessionStorage.getItem('billrun.apiKey')") is None
    assert "brk_wrong" not in page.url
    refused = [e for e in page.errors if "status of 401" in e]
    assert refused, page.errors  # the refused request itself
    page.errors[:] = [e for e in page.errors if e not in refused]


def test_the_console_is_served_by_the_app_with_its_own_assets_only(stack):
    answer = requests.get(f"{stack.url}/console", timeout=10)
    assert answer.status_code == 200 and answer.headers["content-type"].startswith("text/html")
    assert "script-src 'self'" in answer.headers["content-security-policy"]
    assert not re.search(r"(src|href)=\"https?://", answer.text)  # nothing from elsewhere
    for asset, kind in (("console.js", "text/javascript"), ("console.css", "text/css"), ("icon.svg", "image/svg")):
        served = requests.get(f"{stack.url}/console/{asset}", timeout=10)
        assert served.status_code == 200 and served.headers["content-type"].startswith(kind)
    assert requests.get(f"{stack.url}/console/secrets.txt", timeout=10).status_code in (403, 404)  # no such route


def new_tenant(stack, name: str, clock_start: str, timezone: str = "UTC") -> str:
    answer = requests.post(f"{stack.url}/admin/tenants", headers={"x-admin-key": stack.admin_key}, timeout=30, json={
        "name": name, "testMode": True, "timezone": timezone, "currency": "USD", "clockStart": clock_start})
    assert answer.status_code == 201, answer.text
    return answer.json()["apiKey"]["key"]


def billed_tenant(stack, name: str) -> dict:
    """A Paris test-mode tenant (its clock from 2025-01-01 00:00 UTC): Ada and Bob on a 99.00 monthly plan (10 %
    tax), a monthly billing schedule and a recurring template of Bob's, its clock advanced a day over the API, so
    January's job and the template's first invoice exist."""
    key = new_tenant(stack, name, "2025-01-01T00:00:00Z", "Europe/Paris")
    headers = {"x-api-key": key}

    def post(path, body):
        answer = requests.post(f"{stack.url}{path}", headers=headers, json=body, timeout=30)
        assert answer.status_code in (200, 201), (path, answer.status_code, answer.text)
        return answer.json()

    plan = post("/products", {"name": "Team plan", "price": 99, "billingPeriod": "Month"})
    customers = {}
    for customer_name in ("Ada", "Bob"):
        customer = post("/customers", {"name": customer_name, "billCycleDay": 1, "taxRate": 10, "timezone": "UTC"})
        order = post("/orders", {"customerId": customer["id"], "lines": [
            {"productId": plan["id"], "quantity": 1, "startDate": "2025-01-01"}]})
        post(f"/orders/{order['id']}:activate", {})
        customers[customer_name] = customer["id"]
    schedule = post("/billing/schedules", {"scheduleType": "Recurring", "recurringSchedule": "0 0 3 1 * ?",
                                           "zoneId": "UTC", "scheduleStartDate": "2025-01-01"})
    post("/billing/schedules:activate", {"scheduleIds": [schedule["id"]]})
    template = post("/v3/recurring-invoices", {"customerId": customers["Bob"], "schedule": {
        "period": "MONTHLY", "nextDueDate": "2025-01-01"}, "recurringInvoiceLineItems": [
        {"amount": 19.99, "quantity": 2, "description": "Support hours"}]})
    assert post("/test/clock:advance", {"to": "2025-01-02T00:00:00Z"})["status"] == "Ready"
    invoices = requests.get(f"{stack.url}/billing/invoices?limit=100", headers=headers, timeout=30).json()["data"]
    return {"key": key, "customers": customers, "schedule": schedule, "template": template,
            "invoices": {i["customerId"] + (i["recurringInvoiceId"] or ""): i for i in invoices}}


def open_console(page, stack, key: str, route: str = "") -> None:
    page.goto(f"{stack.url}/console{route}")
    page.get_by_label("API key").fill(key)
    page.get_by_role("button", name="Use key").click()


def test_the_clock_page_advances_to_a_wall_time_in_the_tenants_zone(stack, page):
    tenant = billed_tenant(stack, "Console clock")
    open_console(page, stack, tenant["key"], "#/clock")
    now = page.locator("dt:text-is('Now') + dd")
    expect(now).to_have_text("2025-01-02 01:00 Europe/Paris")  # the tenant's zone
    page.get_by_label("To (Europe/Paris)").fill("2025-02-01T05:00")  # 04:00 UTC: past February's 03:00 UTC slot
    page.get_by_role("button", name="Advance").click()
    expect(now).to_have_text("2025-02-01 05:00 Europe/Paris")
    expect(page.locator("dt:text-is('Status') + dd")).to_have_text("Ready")
    expect(page.locator("dt:text-is('Last advance ran') + dd")).to_contain_text("billingJobs 1")
    shot(page, "clock")


def test_the_billing_job_pages_show_counts_and_decisions_with_their_invoices(stack, page):
    tenant = billed_tenant(stack, "Console jobs")
    open_console(page, stack, tenant["key"], "#/billing-jobs")
    page.get_by_role("link", name=re.compile(r"BJ-\d{8}")).click()
    expect(page.locator("dt:text-is('Status') + dd")).to_have_text("Completed")
    expect(page.locator("dt:text-is('Scheduled') + dd")).to_have_text("2025-01-01 04:00 Europe/Paris")
    expect(page.locator("dt:text-is('Counts') + dd")).to_contain_text("invoices 2")
    decisions = page.get_by_role("table", name=re.compile("decision")).get_by_role("row")
    expect(decisions).to_have_count(3)
    expect(decisions.nth(1)).to_contain_text("Billed")
    shot(page, "billing-job")
    page.get_by_role("row", name=re.compile("Ada")).get_by_role("link", name="invoice").click()
    expect(page.locator("dt:text-is('Total') + dd")).to_have_text("USD 108.90")


def test_the_invoice_page_activates_pays_and_cancels_behind_confirmations(stack, page):
    tenant = billed_tenant(stack, "Console invoice")
    ada, bob = (tenant["invoices"][tenant["customers"][n]] for n in ("Ada", "Bob"))
    open_console(page, stack, tenant["key"], f"#/invoices/{ada['id']}")
    status = page.locator("dt:text-is('Status') + dd")
    expect(status).to_have_text("Draft")
    page.get_by_role("button", name="Activate").click()
    page.get_by_role("dialog", name="Confirmation").get_by_role("button", name="Yes").click()
    expect(status).to_have_text("Active")
    page.get_by_label("Payment amount").fill("108.90")
    page.get_by_role("button", name="Record payment").click()
    page.get_by_role("dialog", name="Confirmation").get_by_role("button", name="Yes").click()
    expect(page.locator("dt:text-is('Payment status') + dd")).to_have_text("Paid")
    expect(page.locator("dt:text-is('Balance') + dd")).to_have_text("USD 0.00")
    shot(page, "invoice-paid")
    page.get_by_role("button", name="Cancel").click()  # a paid invoice cannot be: the API's message is shown
    page.get_by_role("dialog", name="Confirmation").get_by_role("button", name="Yes").click()
    expect(page.get_by_role("alert")).to_contain_text("paid")

    page.goto(f"{stack.url}/console#/invoices/{bob['id']}")
    expect(status).to_have_text("Draft")
    page.get_by_role("button", name="Cancel").click()
    page.get_by_role("dialog", name="Confirmation").get_by_role("button", name="No").click()
    expect(status).to_have_text("Draft")  # No: nothing happened
    page.get_by_role("button", name="Cancel").click()
    page.get_by_role("dialog", name="Confirmation").get_by_role("button", name="Yes").click()
    expect(status).to_have_text("Canceled")


def test_the_invoice_list_filters_by_status_customer_and_invoice_dates(stack, page):
    tenant = billed_tenant(stack, "Console invoices")
    bob = tenant["invoices"][tenant["customers"]["Bob"]]
    assert requests.post(f"{stack.url}/billing/invoices:cancel", headers={"x-api-key": tenant["key"]}, timeout=30,
                         json={"invoiceIds": [bob["id"]]}).json()["succeeded"] == 1
    open_console(page, stack, tenant["key"], "#/invoices")
    rows = page.get_by_role("table", name=re.compile("Invoices")).get_by_role("row")
    expect(rows).to_have_count(4)  # Ada's and Bob's January invoices, and the template's
    page.get_by_label("Status").select_option("Canceled")
    page.get_by_role("button", name="Filter").click()
    expect(rows).to_have_count(2)
    expect(rows.nth(1)).to_contain_text(bob["name"])
    page.get_by_label("Status").select_option("")
    page.get_by_label("Customer").select_option(label="Ada")
    page.get_by_role("button", name="Filter").click()
    expect(rows).to_have_count(2)
    page.get_by_label("Customer").select_option("")
    page.get_by_label("Invoice date from").fill("2025-01-02")
    page.get_by_role("button", name="Filter").click()
    expect(rows).to_have_count(2)  # the header and "None."
    expect(rows.nth(1)).to_contain_text("None.")
    shot(page, "invoices-filtered")


def test_the_billing_schedule_page_previews_and_runs_a_job(stack, page):
    tenant = billed_tenant(stack, "Console schedules")
    open_console(page, stack, tenant["key"], "#/billing-schedules")
    page.get_by_role("link", name=tenant["schedule"]["name"]).click()
    expect(page.locator("dt:text-is('Next run') + dd")).to_have_text("2025-02-01 03:00 UTC")  # the schedule's zone
    page.get_by_label("Target date").fill("2025-02-01")
    page.get_by_role("button", name="Preview").click()
    preview = page.get_by_role("table", name=re.compile("would invoice"))
    expect(preview.get_by_role("row")).to_have_count(3)  # Ada's and Bob's February: nothing written
    expect(preview).to_contain_text("Ada")
    expect(preview).to_contain_text("USD 108.90")
    shot(page, "billing-schedule-preview")
    page.get_by_role("button", name="Run now").click()
    page.get_by_role("dialog", name="Confirmation").get_by_role("button", name="Yes").click()
    expect(page.get_by_role("heading", name=re.compile(r"Billing job BJ-\d{8}"))).to_be_visible()
    expect(page.locator("dt:text-is('Status') + dd")).to_have_text("Completed")
    expect(page.locator("dt:text-is('Counts') + dd")).to_contain_text("invoices 2")


def test_the_recurring_invoice_pages_show_a_template_and_what_it_generated(stack, page):
    tenant = billed_tenant(stack, "Console recurring")
    template = tenant["template"]
    open_console(page, stack, tenant["key"], "#/recurring-invoices")
    row = page.get_by_role("row", name=re.compile(template["id"]))
    expect(row).to_contain_text("Bob")
    expect(row).to_contain_text("2025-02-01")  # the next due date
    row.get_by_role("link", name=template["id"]).click()
    expect(page.get_by_role("table", name="Line items of each invoice")).to_contain_text("Support hours")
    generated = page.get_by_role("table", name="Invoices this template generated").get_by_role("row")
    expect(generated).to_have_count(2)
    expect(generated.nth(1)).to_contain_text("2025-01-01")
    expect(generated.nth(1)).to_contain_text("USD 43.98")  # 2 x 19.99 + 10 %
    shot(page, "recurring-invoice")


def test_a_list_pages_on_with_next_page_and_back(stack, page):
    key = new_tenant(stack, "Console paging", "2025-01-01T00:00:00Z")
    for n in range(51):
        answer = requests.post(f"{stack.url}/billing/schedules", headers={"x-api-key": key}, timeout=30,
                               json={"scheduleType": "OnDemand", "description": f"Schedule {n:02d}"})
        assert answer.status_code == 201, answer.text
    page.goto(f"{stack.url}/console#/billing-schedules")
    page.get_by_label("API key").fill(key)
    page.get_by_role("button", name="Use key").click()
    rows = page.get_by_role("table", name="Billing schedules").get_by_role("row")
    expect(rows).to_have_count(51)  # the header and the first 50
    page.get_by_role("link", name="Next page").click()
    expect(rows).to_have_count(2)  # the 51st
    expect(page.get_by_role("link", name="Next page")).to_have_count(0)
    page.go_back()
    expect(rows).to_have_count(51)
