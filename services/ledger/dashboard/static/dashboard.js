// The Tollway dashboard: reads this ledger's JSON endpoints with the key the user gives (admin key:
// everything; virtual key: its tenant's data only, as the ledger answers it) and follows GET /events
// (receipts, budget thresholds, alerts) for live updates; every 15 s it reads everything again.
// No build step, no third-party requests: uPlot is vendored next to this file. docs/dashboard.md.
"use strict";

const KEY_STORE = "tollway-dashboard-key";
const REFRESH_MS = 15000;
const RECEIPT_ROWS = 50;
const $ = (id) => document.getElementById(id);
let key = sessionStorage.getItem(KEY_STORE) || "";
let charts = {};
let streamAbort = null;
let refreshTimer = null;
let pending = null;

function headers() {
  return key ? { authorization: "Bearer " + key } : {};
}

async function get(path) {
  const response = await fetch(path, { headers: headers(), cache: "no-store" });
  if (!response.ok) {
    let message = "HTTP " + response.status;
    try { message = (await response.json()).error.message || message; } catch (e) { /* not JSON */ }
    const err = new Error(path + ": " + message);
    err.status = response.status;
    throw err;
  }
  return response.json();
}

function usd(value) {
  if (value === null || value === undefined) return "-";
  return "$" + Number(value).toFixed(6);
}

function pct(rate) {
  return rate === null || rate === undefined ? "-" : (Number(rate) * 100).toFixed(1) + " %";
}

function ms(value) {
  return value === null || value === undefined ? "-" : Math.round(Number(value)) + " ms";
}

function text(tag, value, cls) {
  const el = document.createElement(tag);
  el.textContent = value === null || value === undefined ? "-" : String(value);
  if (cls) el.className = cls;
  return el;
}

function table(el, columns, rows, empty) {
  el.replaceChildren();
  const head = document.createElement("tr");
  for (const [name, , num] of columns) head.appendChild(text("th", name, num ? "num" : ""));
  el.appendChild(head);
  if (!rows.length) {
    const tr = document.createElement("tr");
    const td = text("td", empty, "empty");
    td.colSpan = columns.length;
    tr.appendChild(td);
    el.appendChild(tr);
  }
  for (const row of rows) el.appendChild(tableRow(columns, row));
}

function tableRow(columns, row) {
  const tr = document.createElement("tr");
  for (const [, render, num] of columns) {
    const cell = render(row);
    tr.appendChild(cell instanceof Node ? wrap(cell) : text("td", cell, num ? "num" : ""));
  }
  return tr;
}

function wrap(node) {
  const td = document.createElement("td");
  td.appendChild(node);
  return td;
}

function problem(message) {
  $("problem").hidden = !message;
  $("problem").textContent = message || "";
}

// -- the numbers ---------------------------------------------------------------------------------

function isoAgo(seconds) {
  return new Date(Date.now() - seconds * 1000).toISOString().replace(/\.\d+Z$/, "Z");
}

async function refresh() {
  const problems = [];
  const attempt = async (what, fn) => {
    try { await fn(); } catch (err) { problems.push(err.message); }
  };
  await Promise.all([
    attempt("minute", loadMinutes),
    attempt("day", async () => {
      const day = await get("/metrics?window=hour");
      $("spent-24h").textContent = usd(day.totals.cost_usd);
      $("requests-24h").textContent = String(day.totals.requests);
      $("who").textContent = day.tenant ? "tenant " + day.tenant : (key ? "admin" : "open");
    }),
    attempt("providers", () => spendBy("provider", $("by-provider"))),
    attempt("models", () => spendBy("model", $("by-model"))),
    attempt("teams", () => spendBy("team", $("by-team"))),
    attempt("budgets", loadBudgets),
    attempt("health", loadHealth),
    loadAlerts(),
  ]);
  problem(problems.join(" · "));
}

async function loadMinutes() {
  const metrics = await get("/metrics?window=minute");
  const buckets = metrics.buckets;
  const since = buckets[0].start;
  const series = await get("/analytics/series?grain=minute&since=" + encodeURIComponent(since));
  const quality = new Map(series.points.map((p) => [p.start, p]));
  const times = buckets.map((b) => Date.parse(b.start) / 1000);
  const cost = buckets.map((b) => Number(b.cost_usd));
  const tokens = buckets.map((b) => b.input_tokens + b.output_tokens);
  const rps = buckets.map((b) => b.requests / 60);
  const errors = buckets.map((b) => (quality.get(b.start) ? quality.get(b.start).error_rate : null));
  const p95 = buckets.map((b) => (quality.get(b.start) ? quality.get(b.start).latency_ms.p95 : null));
  const last = buckets[buckets.length - 2];  // the last complete minute (the newest is still filling)
  const q = quality.get(last.start);
  $("usd-per-min").textContent = usd(last.cost_usd);
  $("tokens-per-min").textContent = String(last.input_tokens + last.output_tokens);
  $("requests-per-s").textContent = (last.requests / 60).toFixed(2);
  $("error-rate").textContent = q ? pct(q.error_rate) : "-";
  $("p95").textContent = q ? ms(q.latency_ms.p95) : "-";
  $("minute-note").textContent = "last complete minute: " + last.start.slice(11, 16) + " UTC";
  $("minute-note").dataset.minute = last.start;
  draw("chart-cost", times, cost, "$", (v) => "$" + v.toFixed(4));
  draw("chart-tokens", times, tokens, "tokens", (v) => String(Math.round(v)));
  draw("chart-requests", times, rps, "req/s", (v) => v.toFixed(2));
  draw("chart-errors", times, errors.map((e) => (e === null ? null : e * 100)), "%", (v) => v.toFixed(1) + "%");
  draw("chart-p95", times, p95, "ms", (v) => Math.round(v) + "");
}

function draw(id, times, values, label, fmt) {
  const el = $(id);
  const width = Math.max(el.clientWidth, 200);
  if (charts[id]) {
    charts[id].setData([times, values]);
    if (Math.abs(charts[id].width - width) > 4) charts[id].setSize({ width, height: 160 });
    return;
  }
  charts[id] = new uPlot({
    width, height: 160, legend: { show: false }, cursor: { show: true },
    scales: { x: { time: true } },
    axes: [{ space: 60 }, { size: 72, values: (u, ticks) => ticks.map(fmt) }],
    // minutes without requests have no error rate or latency (null): points show the lone minutes
    series: [{}, { label, stroke: "#3b82f6", fill: "rgba(59,130,246,0.12)", width: 1.5, spanGaps: false,
                   points: { show: true, size: 4 } }],
  }, [times, values], el);
}

async function spendBy(dimension, el) {
  const body = await get("/analytics/breakdown?latency=false&group_by=" + dimension + "&since="
                         + encodeURIComponent(isoAgo(86400)));  // counters only: no sketches read
  const groups = body.groups.slice().sort((a, b) => b.cost_micros - a.cost_micros);
  table(el, [
    [dimension, (g) => (g.group[dimension] === null ? "(none)" : g.group[dimension])],
    ["spent", (g) => usd(g.cost_usd), true],
    ["requests", (g) => g.requests, true],
    ["tokens", (g) => g.input_tokens + g.output_tokens, true],
  ], groups, "no spend in 24 h");
  el.dataset.loaded = "1";
}

async function loadBudgets() {
  const budgets = await get("/budgets?scope=all");
  const el = $("budgets");
  el.replaceChildren();
  if (!budgets.length) el.appendChild(text("p", "no budgets", "empty"));
  budgets.sort((a, b) => Number(b.percent) - Number(a.percent));
  for (const b of budgets) {
    const gauge = document.createElement("div");
    gauge.className = "gauge";
    gauge.dataset.budget = b.scope + ":" + b.scope_id;
    const name = document.createElement("div");
    name.className = "name";
    name.appendChild(text("span", b.scope + " " + b.scope_id));
    name.appendChild(text("span", usd(b.spent_usd) + " of " + usd(b.budget_usd) + " (" + Number(b.percent).toFixed(2) + " %)",
                          "spent"));
    const bar = document.createElement("div");
    bar.className = "bar";
    const fill = document.createElement("div");
    fill.className = "fill " + (b.level || "");
    fill.style.width = Math.min(Number(b.percent), 100) + "%";
    bar.appendChild(fill);
    for (const t of b.thresholds || [75, 90, 100]) {
      const tick = document.createElement("div");
      tick.className = "tick";
      tick.style.left = "calc(" + Math.min(t, 100) + "% - 1px)";
      tick.title = t + " %";
      bar.appendChild(tick);
    }
    gauge.append(name, bar);
    el.appendChild(gauge);
  }
}

async function loadHealth() {
  const body = await get("/analytics/breakdown?group_by=provider&since=" + encodeURIComponent(isoAgo(900)));
  const state = (g) => (g.error_rate === null || g.error_rate < 0.05 ? "ok" : g.error_rate < 0.5 ? "degraded" : "failing");
  table($("health"), [
    ["provider", (g) => {
      const span = document.createElement("span");
      span.appendChild(text("span", "", "dot " + state(g)));
      span.appendChild(document.createTextNode(g.group.provider + " " + state(g)));
      return span;
    }],
    ["requests", (g) => g.requests, true],
    ["errors", (g) => pct(g.error_rate), true],
    ["P95", (g) => ms(g.latency_ms.p95), true],
  ], body.groups, "no requests in 15 min");
}

async function loadAlerts() {
  const el = $("alerts");
  let alerts;
  try {
    alerts = await get("/alerts?state=firing");
  } catch (err) {
    el.replaceChildren(text("p", err.status === 401 || err.status === 403
      ? "alerts are shown with the admin key" : err.message, "empty"));
    return;
  }
  el.replaceChildren();
  if (!alerts.length) el.appendChild(text("p", "nothing firing", "empty"));
  for (const a of alerts) {
    const div = text("div", a.severity + " · " + a.summary + " · now " + a.value + " · since " + a.fired_at,
                     "alert " + a.severity);
    div.dataset.alert = a.alert_id;
    el.appendChild(div);
  }
}

// -- recent receipts, live -----------------------------------------------------------------------

const RECEIPT_COLUMNS = [
  ["time", (r) => String(r.timestamp || "").slice(11, 19)],
  ["request", (r) => r.request_id],
  ["run", (r) => r.run_id],
  ["provider", (r) => r.provider],
  ["model", (r) => r.model],
  ["tokens", (r) => (r.input_tokens || 0) + (r.output_tokens || 0), true],
  ["cost", (r) => usd(r.cost_usd), true],
  ["status", (r) => r.http_status, true],
];

function addReceipt(receipt, fresh) {
  const el = $("receipts");
  if (!el.rows.length || el.querySelector(".empty")) table(el, RECEIPT_COLUMNS, [], "");
  const empty = el.querySelector(".empty");
  if (empty) empty.parentElement.remove();
  const tr = tableRow(RECEIPT_COLUMNS, receipt);
  tr.dataset.request = receipt.request_id;
  if (fresh) tr.className = "fresh";
  el.rows[0].after(tr);
  while (el.rows.length > RECEIPT_ROWS + 1) el.deleteRow(el.rows.length - 1);
}

function soon() {  // many events in a burst: read the aggregates once, shortly after
  if (pending) return;
  pending = setTimeout(() => { pending = null; refresh(); }, 500);
}

async function follow() {
  if (streamAbort) streamAbort.abort();
  const abort = new AbortController();
  streamAbort = abort;
  table($("receipts"), RECEIPT_COLUMNS, [], "waiting for receipts");
  let last = "0";  // an id the ledger cannot follow: it answers with a `reset` naming its oldest and newest
  let backlogAsked = false;
  while (!abort.signal.aborted) {
    try {
      const response = await fetch("/events?kinds=receipt,budget_threshold,alert&last_event_id=" + last,
                                   { headers: headers(), signal: abort.signal });
      if (!response.ok) throw new Error("/events: HTTP " + response.status);
      setLive("live", "live");
      const reader = response.body.getReader();
      const decoder = new TextDecoder();
      let buffer = "";
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buffer += decoder.decode(value, { stream: true });
        let cut;
        while ((cut = buffer.indexOf("\n\n")) >= 0) {
          const frame = buffer.slice(0, cut);
          buffer = buffer.slice(cut + 2);
          const event = parseFrame(frame);
          if (event.id) last = event.id;
          if (event.kind === "reset" && !backlogAsked && event.data.oldest_event_id) {
            // once: ask again from up to RECEIPT_ROWS events back, to show the recent receipts
            backlogAsked = true;
            last = String(Math.max(event.data.oldest_event_id - 1, event.data.latest_event_id - 200));
            reader.cancel();
            break;
          }
          if (event.kind === "receipt") { addReceipt(event.data, true); soon(); }
          if (event.kind === "budget_threshold" || event.kind === "alert") soon();
        }
      }
    } catch (err) {
      if (abort.signal.aborted) return;
      setLive("reconnecting", "down");
      await new Promise((resolve) => setTimeout(resolve, 2000));
    }
  }
}

function parseFrame(frame) {
  const event = { id: null, kind: "message", data: null };
  const data = [];
  for (const line of frame.split("\n")) {
    if (line.startsWith("id:")) event.id = line.slice(3).trim();
    else if (line.startsWith("event:")) event.kind = line.slice(6).trim();
    else if (line.startsWith("data:")) data.push(line.slice(5).trim());
  }
  if (data.length) event.data = JSON.parse(data.join("\n"));
  return event;
}

function setLive(label, cls) {
  $("live").textContent = label;
  $("live").className = "pill " + cls;
}

// -- start ---------------------------------------------------------------------------------------

function start() {
  charts = {};
  for (const id of ["chart-cost", "chart-tokens", "chart-requests", "chart-errors", "chart-p95"]) {
    $(id).replaceChildren();
  }
  refresh();
  follow();
  clearInterval(refreshTimer);
  refreshTimer = setInterval(refresh, REFRESH_MS);
}

$("keyform").addEventListener("submit", (e) => {
  e.preventDefault();
  key = $("key").value.trim();
  sessionStorage.setItem(KEY_STORE, key);
  $("key").value = "";
  start();
});
window.addEventListener("resize", () => { if (!pending) soon(); });
start();
