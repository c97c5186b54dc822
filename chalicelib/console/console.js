// The billrun console: a few pages over the public API, in the browser alone (no build step, no library).
// The API key is asked once and kept in sessionStorage (gone with the tab); it is sent as x-api-key, never in a URL.
const KEY = "billrun.apiKey";
const page = document.getElementById("page");

// --- the API ------------------------------------------------------------------------------------------------

class ApiError extends Error {}

async function api(path, { method = "GET", body, rawBody } = {}) {
  const headers = { "x-api-key": sessionStorage.getItem(KEY) || "" };
  const text = rawBody ?? (body === undefined ? undefined : JSON.stringify(body));
  if (text !== undefined) headers["content-type"] = "application/json";
  const answer = await fetch(path, { method, headers, body: text });
  const data = await answer.json().catch(() => ({}));
  if (answer.status === 401) {
    sessionStorage.removeItem(KEY);
    throw new ApiError("The API key was refused: enter it again.");
  }
  if (!answer.ok) {
    const details = (data.details || []).map((d) => `${d.field}: ${d.issue}`).join("; ");
    throw new ApiError(data.message ? `${data.message}${details && !data.message.includes(details) ? ` (${details})` : ""}`
      : `HTTP ${answer.status}`);
  }
  return data;
}

// --- small helpers: escaping, money, links ---------------------------------------------------------------------

const esc = (value) => String(value ?? "").replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

function money(amount, currency) {
  if (amount === null || amount === undefined) return "";
  // the currency's own minor units (JPY 0, USD 2, KWD 3), as the API rounds them
  const format = new Intl.NumberFormat("en", { style: "currency", currency, currencyDisplay: "code" });
  return format.format(amount);
}

// Instants come in UTC; they are shown in the tenant's zone (GET /settings), with the zone named.
let tenantZone = null;

async function zone() {
  tenantZone = tenantZone || (await api("/settings")).timezone;
  return tenantZone;
}

function instant(text, timeZone) {
  if (!text) return "";
  const parts = Object.fromEntries(new Intl.DateTimeFormat("en-CA", { timeZone, year: "numeric", month: "2-digit",
    day: "2-digit", hour: "2-digit", minute: "2-digit", hourCycle: "h23" }).formatToParts(new Date(text))
    .map((p) => [p.type, p.value]));
  return `${parts.year}-${parts.month}-${parts.day} ${parts.hour}:${parts.minute} ${timeZone}`;
}

// A list's next page: its nextToken in the page's own hash route (so the Back button returns to the page before).
function nextPage(route, params, answer) {
  if (!answer.nextToken) return "";
  const next = new URLSearchParams(params);
  next.set("nextToken", answer.nextToken);
  return `<p>${link(`${route}?${next}`, "Next page")}</p>`;
}

const withToken = (path, params) => (params.get("nextToken")
  ? `${path}&nextToken=${encodeURIComponent(params.get("nextToken"))}` : path);

// The UTC instant of a wall time in an IANA zone: the zone's offset at that instant, found in two steps (the
// second settles a wall time next to a DST change).
function zonedToUtc(local, timeZone) {
  const [date, time] = local.split("T");
  const [y, mo, d] = date.split("-").map(Number);
  const [h, mi] = time.split(":").map(Number);
  const wall = Date.UTC(y, mo - 1, d, h, mi);
  const offsetAt = (ms) => {
    const p = Object.fromEntries(new Intl.DateTimeFormat("en-CA", { timeZone, year: "numeric", month: "2-digit",
      day: "2-digit", hour: "2-digit", minute: "2-digit", second: "2-digit", hourCycle: "h23" }).formatToParts(new Date(ms))
      .map((part) => [part.type, part.value]));
    return Date.UTC(+p.year, +p.month - 1, +p.day, +p.hour, +p.minute, +p.second) - ms;
  };
  let utc = wall - offsetAt(wall);
  utc = wall - offsetAt(utc);
  return new Date(utc).toISOString().replace(".000Z", "Z");
}

// While work runs, its page reads it again every second, as long as the user stays on that page.
function followWhile(running, token) {
  if (running) setTimeout(() => { if (token === generation) route(); }, 1000);
}

const link = (href, text) => `<a href="${esc(href)}">${esc(text)}</a>`;
const status = (text) => `<span class="status">${esc(text)}</span>`;

function fields(pairs) {
  return `<dl class="fields">${pairs.map(([k, v]) => `<dt>${esc(k)}</dt><dd>${v ?? ""}</dd>`).join("")}</dl>`;
}

function table(columns, rows, caption) {
  const head = columns.map((c) => `<th scope="col"${c.num ? ' class="num"' : ""}>${esc(c.title)}</th>`).join("");
  const body = rows.map((row) => `<tr>${columns.map((c) => `<td${c.num ? ' class="num"' : ""}>${c.cell(row) ?? ""}</td>`)
    .join("")}</tr>`).join("");
  return `<table><caption class="muted">${esc(caption)}</caption><thead><tr>${head}</tr></thead>` +
    `<tbody>${body || `<tr><td colspan="${columns.length}" class="muted">None.</td></tr>`}</tbody></table>`;
}

function confirmed(text) {
  const dialog = document.getElementById("confirm");
  document.getElementById("confirm-text").textContent = text;
  dialog.returnValue = "";
  dialog.showModal();
  return new Promise((resolve) => dialog.addEventListener("close", () => resolve(dialog.returnValue === "yes"),
    { once: true }));
}

// Each route() is one generation: a page whose data arrives after the user moved on must not replace the newer page.
let generation = 0;
class Stale extends Error {}

// An action's refusal, shown in its page's alert region as the API gave it.
function problem(error) {
  page.querySelector('[role="alert"]').innerHTML = `<p class="error">${esc(error.message)}</p>`;
}

function show(html, title, token = generation) {
  if (token !== generation) throw new Stale();
  page.innerHTML = html;
  document.title = `${title} · billrun console`;
  page.focus();
}

async function customerNames() {
  return Object.fromEntries((await api("/customers?limit=1000")).data.map((c) => [c.id, c.name]));
}

// --- pages ------------------------------------------------------------------------------------------------

function keyPage(refusal) {
  show(`<h1>Sign in</h1>
    ${refusal ? `<p class="error" role="alert">${esc(refusal)}</p>` : ""}
    <form class="key" id="key-form">
      <label for="api-key">API key<input id="api-key" name="key" type="password" autocomplete="off" required></label>
      <button type="submit">Use key</button>
    </form>
    <p class="muted">The key stays in this tab only. <code>make run</code> prints one (api-key=…).</p>`, "Sign in");
  document.getElementById("key-form").addEventListener("submit", (event) => {
    event.preventDefault();
    sessionStorage.setItem(KEY, document.getElementById("api-key").value.trim());
    tenantZone = null;
    route();
  });
}

async function ordersPage(params, token) {
  const customers = (await api("/customers?limit=1000")).data;
  const names = Object.fromEntries(customers.map((c) => [c.id, c.name]));
  const chosen = params.get("customerId") || "";
  const query = new URLSearchParams({ limit: "50" });
  if (chosen) query.set("customerId", chosen);
  if (params.get("nextToken")) query.set("nextToken", params.get("nextToken"));
  const orders = await api(`/orders?${query}`);

  const options = customers.map((c) => `<option value="${esc(c.id)}"${c.id === chosen ? " selected" : ""}>${esc(c.name)}</option>`);
  show(`<h1>Orders</h1>
    <form class="filters" id="order-filter">
      <label for="customer">Customer<select id="customer" name="customerId"><option value="">All customers</option>
        ${options.join("")}</select></label>
      <button type="submit">Search</button>
    </form>
    ${table([
      { title: "Order", cell: (o) => link(`#/orders/${o.id}`, o.id) },
      { title: "Customer", cell: (o) => esc(names[o.customerId] || o.customerId) },
      { title: "Status", cell: (o) => status(o.status) },
      { title: "Order date", cell: (o) => esc(o.orderDate) },
      { title: "Total", num: true, cell: (o) => esc(money(o.totalAmount, o.currency)) },
    ], orders.data, "Orders")}
    ${nextPage("#/orders", new URLSearchParams(chosen ? { customerId: chosen } : {}), orders)}`, "Orders", token);
  document.getElementById("order-filter").addEventListener("submit", (event) => {
    event.preventDefault();
    const id = document.getElementById("customer").value;
    location.hash = id ? `#/orders?customerId=${encodeURIComponent(id)}` : "#/orders";
  });
}

async function orderPage(id, token) {
  const order = await api(`/orders/${encodeURIComponent(id)}`);
  const [customer, schedule] = await Promise.all([
    api(`/customers/${encodeURIComponent(order.customerId)}`),
    order.invoiceScheduleId ? api(`/v1/invoice-schedules/${encodeURIComponent(order.invoiceScheduleId)}`) : null]);
  const products = Object.fromEntries((await api("/products?limit=1000")).data.map((p) => [p.id, p.name]));
  show(`<h1>Order ${esc(order.id)}</h1>
    <h2>Basic information</h2>
    ${fields([
      ["Customer", esc(customer.name)], ["Status", status(order.status)], ["Order date", esc(order.orderDate)],
      ["Total", esc(money(order.totalAmount, order.currency))],
      ["Invoice schedule", schedule ? link(`#/invoice-schedules/${schedule.id}`, schedule.number) : "—"],
    ])}
    <h2>Lines</h2>
    ${table([
      { title: "Product", cell: (l) => esc(products[l.productId] || l.productId) },
      { title: "Type", cell: (l) => esc(l.productType) },
      { title: "Start date", cell: (l) => esc(l.startDate) },
      { title: "Quantity", num: true, cell: (l) => esc(l.quantity) },
      { title: "Unit price", num: true, cell: (l) => esc(money(l.unitPrice, order.currency)) },
      { title: "Amount", num: true, cell: (l) => esc(money(l.amount, order.currency)) },
    ], order.lines, "Order lines")}`, `Order ${order.id}`, token);
}

async function invoiceSchedulePage(key, token) {
  const schedule = await api(`/v1/invoice-schedules/${encodeURIComponent(key)}`);
  const account = await api(`/customers/${encodeURIComponent(schedule.accountId)}`);
  const currency = schedule.currency;
  const billingDocument = (item) => {
    if (item.status === "Processed") return link(`#/invoices/${item.invoiceId}`, item.invoiceNumber);
    if (item.status === "Executing") return `<button type="button" class="link" data-refresh>Refresh</button>`;
    return `<button type="button" class="link" data-generate="${esc(item.id)}"
      aria-label="Generate the billing document of ${esc(item.name || item.runDate)}">Generate</button>`;
  };
  show(`<h1>Invoice schedule ${esc(schedule.number)}</h1>
    <div role="alert"></div>
    <h2>Basic information</h2>
    ${fields([
      ["Status", status(schedule.status)], ["Account", esc(account.name)],
      ["Orders", schedule.orders.map((o) => link(`#/orders/${o}`, o)).join(", ")],
      ["Total", esc(money(schedule.totalAmount, currency))], ["Billed", esc(money(schedule.billedAmount, currency))],
      ["Unbilled", esc(money(schedule.unbilledAmount, currency))], ["Next run date", esc(schedule.nextRunDate || "—")],
      ["Notes", esc(schedule.notes || "")],
    ])}
    <h2>Schedule Items</h2>
    ${table([
      { title: "Name", cell: (i) => esc(i.name || "") },
      { title: "Run date", cell: (i) => esc(i.runDate) },
      { title: "Amount", num: true, cell: (i) => esc(money(i.amount, currency)) },
      { title: "Percentage", num: true, cell: (i) => (i.percentage === null ? "" : `${esc(i.percentage)} %`) },
      { title: "Status", cell: (i) => status(i.status) },
      { title: "Billing Document", cell: billingDocument },
    ], schedule.scheduleItems, "Schedule items, in run-date order")}`, `Invoice schedule ${schedule.number}`, token);
  page.querySelectorAll("[data-refresh]").forEach((button) => button.addEventListener("click", () => route()));
  followWhile(schedule.scheduleItems.some((i) => i.status === "Executing"), token);
  page.querySelectorAll("[data-generate]").forEach((button) => button.addEventListener("click", async () => {
    if (!(await confirmed("Generate the billing document of this schedule item now, by an ad hoc bill run?"))) return;
    try {
      await api(`/v1/invoice-schedules/${encodeURIComponent(schedule.id)}/execute`,
        { method: "POST", body: { scheduleItemId: button.dataset.generate } });
      await route();
    } catch (error) {
      problem(error);
    }
  }));
}

async function invoicePage(id, token) {
  const invoice = await api(`/billing/invoices/${encodeURIComponent(id)}`);
  const c = invoice.currencyIsoCode;
  const comments = invoice.comments ? JSON.parse(invoice.comments) : [];
  show(`<h1>Invoice ${esc(invoice.name)}</h1>
    <div role="alert"></div>
    <div class="filters">
      <button type="button" data-action="activate"${invoice.status === "Draft" ? "" : " disabled"}>Activate</button>
      <button type="button" data-action="cancel"${invoice.status === "Canceled" ? " disabled" : ""}>Cancel</button>
      <form id="payment" class="filters">
        <label for="payment-amount">Payment amount<input id="payment-amount" inputmode="decimal" required
          value="${esc(invoice.balance)}"></label>
        <button type="submit"${invoice.status === "Active" && invoice.balance > 0 ? "" : " disabled"}>Record payment</button>
      </form>
    </div>
    ${fields([
      ["Status", status(invoice.status)], ["Payment status", status(invoice.paymentStatus)],
      ["Invoice date", esc(invoice.invoiceDate)], ["Due date", esc(invoice.dueDate)],
      ["Amount without tax", esc(money(invoice.amountWithoutTax, c))], ["Tax", esc(money(invoice.taxAmount, c))],
      ["Total", esc(money(invoice.amount, c))], ["Balance", esc(money(invoice.balance, c))],
      ["PDF", invoice.invoicePdf ? `<a href="${esc(invoice.invoicePdf)}">Download the PDF</a>` : "not rendered yet"],
    ])}
    <h2>Lines</h2>
    ${table([
      { title: "Description", cell: (l) => esc(l.description) },
      { title: "Start", cell: (l) => esc(l.startDate || "") },
      { title: "End", cell: (l) => esc(l.endDate || "") },
      { title: "Quantity", num: true, cell: (l) => esc(l.quantity) },
      { title: "Unit price", num: true, cell: (l) => esc(money(l.unitPrice, c)) },
      { title: "Amount", num: true, cell: (l) => esc(money(l.amount, c)) },
    ], invoice.lines, "Invoice lines")}
    <h2>Comments</h2>
    ${comments.length ? `<ul>${comments.map((m) => `<li>${esc(m.comment)} <span class="muted">(${esc(m.createUserName)},
      ${esc(m.createTime)})</span></li>`).join("")}</ul>` : '<p class="muted">None.</p>'}`, `Invoice ${invoice.name}`, token);
  const bulk = async (action, question) => {
    if (!(await confirmed(question))) return;
    try {
      const answer = await api(`/billing/invoices:${action}`, { method: "POST", body: { invoiceIds: [invoice.id] } });
      const [result] = answer.results;
      if (!result.success) throw new ApiError(result.message);
      await route();
    } catch (error) { problem(error); }
  };
  page.querySelector('[data-action="activate"]').addEventListener("click",
    () => bulk("activate", `Activate invoice ${invoice.name}?`));
  page.querySelector('[data-action="cancel"]').addEventListener("click",
    () => bulk("cancel", `Cancel invoice ${invoice.name}? What it billed is billed again by the next run.`));
  document.getElementById("payment").addEventListener("submit", async (event) => {
    event.preventDefault();
    const amount = document.getElementById("payment-amount").value.trim();
    if (!(await confirmed(`Record a payment of ${amount} ${c} on invoice ${invoice.name}?`))) return;
    try {
      // sent as the text typed, so no amount passes through a float on its way to the API
      await api("/billing/payments", { method: "POST", rawBody: `{"invoiceId": ${JSON.stringify(invoice.id)}, "amount": ${
        /^\d+(\.\d+)?$/.test(amount) ? amount : JSON.stringify(amount)}}` });
      await route();
    } catch (error) { problem(error); }
  });
}

async function clockPage(token) {
  const [clock, tz] = await Promise.all([api("/test/clock"), zone()]);
  show(`<h1>Test clock</h1>
    <div role="alert"></div>
    ${fields([["Now", esc(instant(clock.now, tz))], ["Status", status(clock.status)],
      ["Last advance ran", esc(Object.entries(clock.ran).map(([k, v]) => `${k} ${v}`).join(", "))]])}
    <h2>Advance</h2>
    <form id="advance" class="filters">
      <label for="advance-to">To (${esc(tz)})<input id="advance-to" type="datetime-local" required></label>
      <button type="submit">Advance</button>
    </form>
    <p class="muted">Everything that falls due on the way runs, in time order; long work goes on after the answer,
      and this page follows it.</p>`, "Test clock", token);
  document.getElementById("advance").addEventListener("submit", async (event) => {
    event.preventDefault();
    try {
      let answer = await api("/test/clock:advance", { method: "POST",
        body: { to: zonedToUtc(document.getElementById("advance-to").value, tz) } });
      while (answer.status === "Advancing") {  // 202: the work goes on in the worker; poll until Ready
        await new Promise((resolve) => setTimeout(resolve, 1000));
        answer = await api("/test/clock");
      }
      await route();
    } catch (error) {
      problem(error);
    }
  });
}

async function jobsPage(params, token) {
  const [jobs, tz] = await Promise.all([api(withToken("/billing/jobs?limit=50", params)), zone()]);
  show(`<h1>Billing jobs</h1>
    ${table([
      { title: "Job", cell: (j) => link(`#/billing-jobs/${j.id}`, j.name) },
      { title: "Schedule", cell: (j) => esc(j.scheduleName || "") },
      { title: "Status", cell: (j) => status(j.status) },
      { title: "Scheduled", cell: (j) => esc(instant(j.scheduledTime, tz)) },
      { title: "Target date", cell: (j) => esc(j.targetDate) },
      { title: "Invoices", num: true, cell: (j) => esc(j.counts ? j.counts.invoices : "") },
    ], jobs.data, "Billing jobs")}${nextPage("#/billing-jobs", new URLSearchParams(), jobs)}`, "Billing jobs", token);
  followWhile(jobs.data.some((j) => ["Queued", "Running"].includes(j.status)), token);
}

async function jobPage(id, token) {
  const [job, names] = await Promise.all([api(`/billing/jobs/${encodeURIComponent(id)}`), customerNames()]);
  const counts = job.counts || {};
  const documentLinks = (d) => [d.invoiceId && link(`#/invoices/${d.invoiceId}`, "invoice"),
    d.creditMemoId && esc("credit memo")].filter(Boolean).join(", ");
  show(`<h1>Billing job ${esc(job.name)}</h1>
    ${fields([["Status", status(job.status)], ["Schedule", esc(job.scheduleName || "")],
      ["Scheduled", esc(instant(job.scheduledTime, await zone()))],
      ["Units", esc(job.unitsTotal ? `${job.unitsFinished} of ${job.unitsTotal} finished` : "")],
      ["Target date", esc(job.targetDate)], ["Invoice date", esc(job.invoiceDate)],
      ["Counts", esc(Object.entries(counts).map(([k, v]) => `${k} ${v}`).join(", "))],
      ["Error", esc(job.error || "")]])}
    <h2>Decisions</h2>
    ${table([
      { title: "Customer", cell: (d) => esc(names[d.customerId] || d.customerId) },
      { title: "Decision", cell: (d) => status(d.decision) },
      { title: "Reason", cell: (d) => esc(d.reason || "") },
      { title: "Documents", cell: documentLinks },
    ], job.decisions, "One decision per customer in scope")}`, `Billing job ${job.name}`, token);
  followWhile(["Queued", "Running"].includes(job.status), token);  // its counts and decisions as they come
}

async function invoicesPage(params, token) {
  // The filters are the API's own filter language, through GraphQL's `where` (docs/filters.md)
  const customers = (await api("/customers?limit=1000")).data;
  const names = Object.fromEntries(customers.map((c) => [c.id, c.name]));
  const chosen = { status: params.get("status") || "", customerId: params.get("customerId") || "",
    from: params.get("from") || "", to: params.get("to") || "" };
  const offset = Number(params.get("offset") || 0);
  const terms = [];
  if (chosen.status) terms.push(`{status: {_eq: ${JSON.stringify(chosen.status)}}}`);
  if (chosen.customerId) terms.push(`{customerId: {_eq: ${JSON.stringify(chosen.customerId)}}}`);
  if (chosen.from) terms.push(`{invoiceDate: {_gte: ${JSON.stringify(chosen.from)}}}`);
  if (chosen.to) terms.push(`{invoiceDate: {_lte: ${JSON.stringify(chosen.to)}}}`);
  const where = `{_and: [${terms.join(", ")}]}`;
  const query = "query($w: Filter, $offset: Int) { invoice(where: $w, limit: 51, offset: $offset, orderBy: " +
    "[{invoiceDate: desc}, {name: asc}]) { id name status invoiceDate dueDate amount balance currencyIsoCode customerId } }";
  const answer = await api("/graphql", { method: "POST", body: { query, variables: { w: terms.length ? where : "{}", offset } } });
  if (answer.errors) throw new ApiError(answer.errors.map((e) => e.message).join("; "));
  const found = answer.data.invoice;
  const option = (value, text, current) => `<option value="${esc(value)}"${value === current ? " selected" : ""}>${esc(text)}</option>`;
  const next = new URLSearchParams({ ...Object.fromEntries(Object.entries(chosen).filter(([, v]) => v)),
    offset: String(offset + 50) });
  show(`<h1>Invoices</h1>
    <form class="filters" id="invoice-filter">
      <label for="status">Status<select id="status" name="status">${option("", "Any status", chosen.status)}
        ${["Draft", "PendingActivation", "Active", "Canceled"].map((v) => option(v, v, chosen.status)).join("")}</select></label>
      <label for="invoice-customer">Customer<select id="invoice-customer" name="customerId">
        ${option("", "All customers", chosen.customerId)}${customers.map((c) => option(c.id, c.name, chosen.customerId)).join("")}
        </select></label>
      <label for="from">Invoice date from<input id="from" name="from" type="date" value="${esc(chosen.from)}"></label>
      <label for="to">to<input id="to" name="to" type="date" value="${esc(chosen.to)}"></label>
      <button type="submit">Filter</button>
    </form>
    ${table([
      { title: "Number", cell: (i) => link(`#/invoices/${i.id}`, i.name) },
      { title: "Customer", cell: (i) => esc(names[i.customerId] || i.customerId) },
      { title: "Status", cell: (i) => status(i.status) },
      { title: "Invoice date", cell: (i) => esc(i.invoiceDate) },
      { title: "Due date", cell: (i) => esc(i.dueDate) },
      { title: "Total", num: true, cell: (i) => esc(money(i.amount, i.currencyIsoCode)) },
      { title: "Balance", num: true, cell: (i) => esc(money(i.balance, i.currencyIsoCode)) },
    ], found.slice(0, 50), "Invoices, newest invoice date first")}
    ${found.length > 50 ? `<p>${link(`#/invoices?${next}`, "Next page")}</p>` : ""}`, "Invoices", token);
  document.getElementById("invoice-filter").addEventListener("submit", (event) => {
    event.preventDefault();
    const form = new URLSearchParams([...new FormData(event.target)].filter(([, v]) => v));
    location.hash = `#/invoices${form.toString() ? `?${form}` : ""}`;
  });
}

async function schedulesPage(params, token) {
  const schedules = await api(withToken("/billing/schedules?limit=50", params));
  show(`<h1>Billing schedules</h1>
    ${table([
      { title: "Schedule", cell: (b) => link(`#/billing-schedules/${b.id}`, b.name) },
      { title: "Description", cell: (b) => esc(b.description || "") },
      { title: "Type", cell: (b) => esc(b.scheduleType) },
      { title: "Status", cell: (b) => status(b.status) },
      { title: "Cron", cell: (b) => esc(b.recurringSchedule || "") },
      { title: "Zone", cell: (b) => esc(b.zoneId) },
      { title: "Next run", cell: (b) => esc(instant(b.nextRunDate, b.zoneId)) },
    ], schedules.data, "Billing schedules")}${nextPage("#/billing-schedules", new URLSearchParams(), schedules)}`,
  "Billing schedules", token);
}

async function billingSchedulePage(id, token) {
  const [schedule, jobs] = await Promise.all([api(`/billing/schedules/${encodeURIComponent(id)}`),
    api(`/billing/jobs?scheduleId=${encodeURIComponent(id)}&limit=50`)]);
  const sz = schedule.zoneId;  // a schedule's slots are in its own zone
  show(`<h1>Billing schedule ${esc(schedule.name)}</h1>
    <div role="alert"></div>
    ${fields([["Description", esc(schedule.description || "")], ["Type", esc(schedule.scheduleType)],
      ["Status", status(schedule.status)], ["Cron", esc(schedule.recurringSchedule || "")],
      ["Zone", esc(schedule.zoneId)], ["Next run", esc(instant(schedule.nextRunDate, sz))],
      ["Customer filter", esc(schedule.customerFilter || "")]])}
    <div class="filters">
      <label for="target">Target date<input id="target" type="date"></label>
      <button type="button" id="preview">Preview</button>
      <button type="button" id="run-now">Run now</button>
    </div>
    <div id="preview-result"></div>
    <h2>Jobs</h2>
    ${table([
      { title: "Job", cell: (j) => link(`#/billing-jobs/${j.id}`, j.name) },
      { title: "Status", cell: (j) => status(j.status) },
      { title: "Scheduled", cell: (j) => esc(instant(j.scheduledTime, sz)) },
      { title: "Invoices", num: true, cell: (j) => esc(j.counts ? j.counts.invoices : "") },
    ], jobs.data, "This schedule's jobs")}`, `Billing schedule ${schedule.name}`, token);
  const dates = () => (document.getElementById("target").value ? { targetDate: document.getElementById("target").value } : {});
  document.getElementById("preview").addEventListener("click", async () => {
    try {
      const [preview, names] = await Promise.all([api("/billing/jobs:preview",
        { method: "POST", body: { scheduleId: schedule.id, ...dates() } }), customerNames()]);
      document.getElementById("preview-result").innerHTML = `<h2>Preview (nothing written)</h2>${table([
        { title: "Customer", cell: (i) => esc(names[i.customerId] || i.customerId) },
        { title: "Invoice date", cell: (i) => esc(i.invoiceDate) },
        { title: "Lines", num: true, cell: (i) => esc(i.lines.length) },
        { title: "Total", num: true, cell: (i) => esc(money(i.amount, i.currencyIsoCode)) },
      ], preview.invoices, `What a job with target date ${preview.targetDate} would invoice`)}`;
    } catch (error) { problem(error); }
  });
  document.getElementById("run-now").addEventListener("click", async () => {
    if (!(await confirmed(`Run a billing job for ${schedule.name}'s scope now?`))) return;
    try {
      const job = await api(`/billing/schedules/${encodeURIComponent(schedule.id)}:run`, { method: "POST", body: dates() });
      location.hash = `#/billing-jobs/${job.id}`;
    } catch (error) { problem(error); }
  });
}

async function recurringListPage(params, token) {
  const [templates, customers] = await Promise.all([api(withToken("/v3/recurring-invoices?limit=50", params)),
    api("/customers?limit=1000")]);
  const names = Object.fromEntries(customers.data.map((c) => [c.id, c.name]));
  show(`<h1>Recurring invoices</h1>
    ${table([
      { title: "Template", cell: (r) => link(`#/recurring-invoices/${r.id}`, r.id) },
      { title: "Customer", cell: (r) => esc(names[r.customerId] || r.customerId) },
      { title: "Every", cell: (r) => esc(`${r.schedule.frequency} ${r.schedule.period}`) },
      { title: "Next due date", cell: (r) => esc(r.schedule.nextDueDate) },
      { title: "Archived", cell: (r) => (r.archived ? "yes" : "no") },
    ], templates.data, "Recurring-invoice templates")}${nextPage("#/recurring-invoices", new URLSearchParams(),
    templates)}`, "Recurring invoices", token);
}

async function recurringPage(id, token) {
  const template = await api(`/v3/recurring-invoices/${encodeURIComponent(id)}`);
  const customer = await api(`/customers/${encodeURIComponent(template.customerId)}`);
  const w = `{recurringInvoiceId: {_eq: ${JSON.stringify(template.id)}}}`;
  const made = await api("/graphql", { method: "POST", body: { variables: { w }, query:
    "query($w: Filter) { invoice(where: $w, limit: 100, orderBy: [{invoiceDate: desc}]) { id name status invoiceDate amount currencyIsoCode } }" } });
  const c = customer.currency;
  show(`<h1>Recurring invoice ${esc(template.id)}</h1>
    ${fields([["Customer", esc(customer.name)], ["Archived", template.archived ? "yes" : "no"],
      ["Every", esc(`${template.schedule.frequency} ${template.schedule.period}`)],
      ["Next due date", esc(template.schedule.nextDueDate)], ["End date", esc(template.schedule.endDate || "—")],
      ["Days in advance", esc(template.schedule.daysInAdvance)]])}
    <h2>Line items</h2>
    ${table([
      { title: "Description", cell: (l) => esc(l.description || "") },
      { title: "Quantity", num: true, cell: (l) => esc(l.quantity) },
      { title: "Amount", num: true, cell: (l) => esc(money(l.amount, c)) },
    ], template.recurringInvoiceLineItems, "Line items of each invoice")}
    <h2>Invoices generated</h2>
    ${table([
      { title: "Number", cell: (i) => link(`#/invoices/${i.id}`, i.name) },
      { title: "Status", cell: (i) => status(i.status) },
      { title: "Invoice date", cell: (i) => esc(i.invoiceDate) },
      { title: "Total", num: true, cell: (i) => esc(money(i.amount, i.currencyIsoCode)) },
    ], (made.data && made.data.invoice) || [], "Invoices this template generated")}`, `Recurring invoice ${template.id}`,
  token);
}

// --- the router: one hash route per page (a link or a reload keeps the page) ----------------------------------

const ROUTES = [
  [/^#\/orders$/, (m, params, token) => ordersPage(params, token)],
  [/^#\/orders\/([^/?]+)$/, (m, params, token) => orderPage(decodeURIComponent(m[1]), token)],
  [/^#\/invoice-schedules\/([^/?]+)$/, (m, params, token) => invoiceSchedulePage(decodeURIComponent(m[1]), token)],
  [/^#\/invoices$/, (m, params, token) => invoicesPage(params, token)],
  [/^#\/billing-schedules$/, (m, params, token) => schedulesPage(params, token)],
  [/^#\/billing-schedules\/([^/?]+)$/, (m, params, token) => billingSchedulePage(decodeURIComponent(m[1]), token)],
  [/^#\/recurring-invoices$/, (m, params, token) => recurringListPage(params, token)],
  [/^#\/recurring-invoices\/([^/?]+)$/, (m, params, token) => recurringPage(decodeURIComponent(m[1]), token)],
  [/^#\/invoices\/([^/?]+)$/, (m, params, token) => invoicePage(decodeURIComponent(m[1]), token)],
  [/^#\/billing-jobs$/, (m, params, token) => jobsPage(params, token)],
  [/^#\/billing-jobs\/([^/?]+)$/, (m, params, token) => jobPage(decodeURIComponent(m[1]), token)],
  [/^#\/clock$/, (m, params, token) => clockPage(token)],
];

async function route() {
  const token = ++generation;
  document.getElementById("sign-out").hidden = !sessionStorage.getItem(KEY);
  if (!sessionStorage.getItem(KEY)) return keyPage();
  const [path, query = ""] = (location.hash || "#/orders").split("?");
  const found = ROUTES.map(([pattern, render]) => [path.match(pattern), render]).find(([m]) => m);
  try {
    if (!found) return show(`<h1>Not found</h1><p>${link("#/orders", "Orders")}</p>`, "Not found");
    await found[1](found[0], new URLSearchParams(query), token);
  } catch (error) {
    if (error instanceof Stale || token !== generation) return;  // the user has moved on to another page
    if (!sessionStorage.getItem(KEY)) return keyPage(error.message);
    show(`<h1>Something went wrong</h1><p class="error" role="alert">${esc(error.message)}</p>`, "Error");
  }
}

document.getElementById("sign-out").addEventListener("click", () => {
  sessionStorage.removeItem(KEY);
  tenantZone = null;
  route();
});
window.addEventListener("hashchange", route);
route();
