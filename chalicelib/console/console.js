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

function show(html, title, token = generation) {
  if (token !== generation) throw new Stale();
  page.innerHTML = html;
  document.title = `${title} · billrun console`;
  page.focus();
}

// --- pages ------------------------------------------------------------------------------------------------

function keyPage(problem) {
  show(`<h1>Sign in</h1>
    ${problem ? `<p class="error" role="alert">${esc(problem)}</p>` : ""}
    <form class="key" id="key-form">
      <label for="api-key">API key<input id="api-key" name="key" type="password" autocomplete="off" required></label>
      <button type="submit">Use key</button>
    </form>
    <p class="muted">The key stays in this tab only. <code>make run</code> prints one (api-key=…).</p>`, "Sign in");
  document.getElementById("key-form").addEventListener("submit", (event) => {
    event.preventDefault();
    sessionStorage.setItem(KEY, document.getElementById("api-key").value.trim());
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
  const next = new URLSearchParams(chosen ? { customerId: chosen } : {});
  if (orders.nextToken) next.set("nextToken", orders.nextToken);
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
    ${orders.nextToken ? `<p>${link(`#/orders?${next}`, "Next page")}</p>` : ""}`, "Orders", token);
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

async function schedulePage(key, token) {
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
    <div id="schedule-error" role="alert"></div>
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
  page.querySelectorAll("[data-generate]").forEach((button) => button.addEventListener("click", async () => {
    if (!(await confirmed("Generate the billing document of this schedule item now, by an ad hoc bill run?"))) return;
    try {
      await api(`/v1/invoice-schedules/${encodeURIComponent(schedule.id)}/execute`,
        { method: "POST", body: { scheduleItemId: button.dataset.generate } });
      await route();
    } catch (error) {
      document.getElementById("schedule-error").innerHTML = `<p class="error">${esc(error.message)}</p>`;
    }
  }));
}

async function invoicePage(id, token) {
  const invoice = await api(`/billing/invoices/${encodeURIComponent(id)}`);
  const c = invoice.currencyIsoCode;
  const comments = invoice.comments ? JSON.parse(invoice.comments) : [];
  show(`<h1>Invoice ${esc(invoice.name)}</h1>
    <div id="invoice-error" role="alert"></div>
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
  const failed = (error) => {
    document.getElementById("invoice-error").innerHTML = `<p class="error">${esc(error.message)}</p>`;
  };
  const bulk = async (action, question) => {
    if (!(await confirmed(question))) return;
    try {
      const answer = await api(`/billing/invoices:${action}`, { method: "POST", body: { invoiceIds: [invoice.id] } });
      const [result] = answer.results;
      if (!result.success) throw new ApiError(result.message);
      await route();
    } catch (error) { failed(error); }
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
    } catch (error) { failed(error); }
  });
}

async function clockPage(token) {
  const clock = await api("/test/clock");
  show(`<h1>Test clock</h1>
    <div id="clock-error" role="alert"></div>
    ${fields([["Now", esc(clock.now)], ["Status", status(clock.status)],
      ["Last advance ran", esc(Object.entries(clock.ran).map(([k, v]) => `${k} ${v}`).join(", "))]])}
    <h2>Advance</h2>
    <form id="advance" class="filters">
      <label for="advance-to">To (UTC)<input id="advance-to" type="datetime-local" required></label>
      <button type="submit">Advance</button>
    </form>
    <p class="muted">Everything that falls due on the way runs, in time order; long work goes on after the answer,
      and this page follows it.</p>`, "Test clock", token);
  document.getElementById("advance").addEventListener("submit", async (event) => {
    event.preventDefault();
    try {
      let answer = await api("/test/clock:advance", { method: "POST",
        body: { to: `${document.getElementById("advance-to").value}:00Z` } });
      while (answer.status === "Advancing") {  // 202: the work goes on in the worker; poll until Ready
        await new Promise((resolve) => setTimeout(resolve, 1000));
        answer = await api("/test/clock");
      }
      await route();
    } catch (error) {
      document.getElementById("clock-error").innerHTML = `<p class="error">${esc(error.message)}</p>`;
    }
  });
}

async function jobsPage(token) {
  const jobs = await api("/billing/jobs?limit=50");
  show(`<h1>Billing jobs</h1>
    ${table([
      { title: "Job", cell: (j) => link(`#/billing-jobs/${j.id}`, j.name) },
      { title: "Schedule", cell: (j) => esc(j.scheduleName || "") },
      { title: "Status", cell: (j) => status(j.status) },
      { title: "Scheduled", cell: (j) => esc(j.scheduledTime) },
      { title: "Target date", cell: (j) => esc(j.targetDate) },
      { title: "Invoices", num: true, cell: (j) => esc(j.counts ? j.counts.invoices : "") },
    ], jobs.data, "Billing jobs")}`, "Billing jobs", token);
}

async function jobPage(id, token) {
  const job = await api(`/billing/jobs/${encodeURIComponent(id)}`);
  const counts = job.counts || {};
  const documentLinks = (d) => [d.invoiceId && link(`#/invoices/${d.invoiceId}`, "invoice"),
    d.creditMemoId && esc("credit memo")].filter(Boolean).join(", ");
  show(`<h1>Billing job ${esc(job.name)}</h1>
    ${fields([["Status", status(job.status)], ["Schedule", esc(job.scheduleName || "")],
      ["Target date", esc(job.targetDate)], ["Invoice date", esc(job.invoiceDate)],
      ["Counts", esc(Object.entries(counts).map(([k, v]) => `${k} ${v}`).join(", "))],
      ["Error", esc(job.error || "")]])}
    <h2>Decisions</h2>
    ${table([
      { title: "Customer", cell: (d) => esc(d.customerId) },
      { title: "Decision", cell: (d) => status(d.decision) },
      { title: "Reason", cell: (d) => esc(d.reason || "") },
      { title: "Documents", cell: documentLinks },
    ], job.decisions, "One decision per customer in scope")}`, `Billing job ${job.name}`, token);
}

async function invoicesPage(token) {
  const invoices = await api("/billing/invoices?limit=50");
  show(`<h1>Invoices</h1>
    ${table([
      { title: "Number", cell: (i) => link(`#/invoices/${i.id}`, i.name) },
      { title: "Status", cell: (i) => status(i.status) },
      { title: "Invoice date", cell: (i) => esc(i.invoiceDate) },
      { title: "Total", num: true, cell: (i) => esc(money(i.amount, i.currencyIsoCode)) },
      { title: "Balance", num: true, cell: (i) => esc(money(i.balance, i.currencyIsoCode)) },
    ], invoices.data, "Invoices in invoice-date order")}`, "Invoices", token);
}

// --- the router: one hash route per page (a link or a reload keeps the page) ----------------------------------

const ROUTES = [
  [/^#\/orders$/, (m, params, token) => ordersPage(params, token)],
  [/^#\/orders\/([^/?]+)$/, (m, params, token) => orderPage(decodeURIComponent(m[1]), token)],
  [/^#\/invoice-schedules\/([^/?]+)$/, (m, params, token) => schedulePage(decodeURIComponent(m[1]), token)],
  [/^#\/invoices$/, (m, params, token) => invoicesPage(token)],
  [/^#\/invoices\/([^/?]+)$/, (m, params, token) => invoicePage(decodeURIComponent(m[1]), token)],
  [/^#\/billing-jobs$/, (m, params, token) => jobsPage(token)],
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
  route();
});
window.addEventListener("hashchange", route);
route();
