// The csv2ddb Loads page: filters -> api/loads (a page of rows), api/summary (the per-day chart),
// api/loads.csv (the export), api/datasets (the per-dataset overview and the unrouted files). Plain DOM + SVG, no external code: the page works offline and under
// a strict Content-Security-Policy. Every URL is relative to the page (Airflow may sit under a path).
"use strict";

const STATUSES = ["verified", "count_mismatch", "failed"];
const PAGE_SIZE = 50;
const SVG_NS = "http://www.w3.org/2000/svg";
const FILTER_NAMES = ["from", "to", "status", "dataset", "table", "file"];
const TABLE_COLUMNS = 19;
const DASH = "—";

const state = { cursors: [null], page: 0, nextCursor: null, summaryKey: null, summary: null };
const $ = (id) => document.getElementById(id);

function currentFilters() {
  const params = new URLSearchParams();
  for (const name of FILTER_NAMES) {
    const value = $(`f-${name}`).value.trim();
    if (value) params.set(name, value);
  }
  return params;
}

function setFilters(params) {
  for (const name of FILTER_NAMES) $(`f-${name}`).value = params.get(name) || "";
}

function showMessage(text, isError) {
  const box = $("message");
  box.textContent = text || "";
  box.className = isError ? "error" : "";
}

async function getJson(url) {
  const response = await fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } });
  let body = null;
  try { body = await response.json(); } catch (_) { body = null; }
  if (!response.ok) {
    const detail = body && body.detail;
    const text = Array.isArray(detail)
      ? detail.map((d) => `${(d.loc || []).slice(-1)[0]}: ${d.msg}`).join("; ")
      : (detail || response.statusText);
    const error = new Error(`${response.status}: ${text}`);
    error.status = response.status;
    throw error;
  }
  return body;
}

// --- the table ---------------------------------------------------------------------------------
const fmt = (value) => (value === null || value === undefined || value === "" ? DASH
  : typeof value === "number" ? value.toLocaleString("en-US") : String(value));

function cell(row, text, className) {
  const td = document.createElement("td");
  if (className) td.className = className;
  td.textContent = text;
  row.appendChild(td);
  return td;
}

function link(text, href, download) {
  const a = document.createElement("a");
  a.textContent = text;
  a.href = href;
  if (download) a.setAttribute("download", "");
  return a;
}

// Inside Airflow's UI this page is a sandboxed same-origin iframe that may not navigate the top
// window; Airflow's UI is a single-page app, so the link is handed to its router instead.
function openInAirflow(event) {
  if (window.top === window.self || event.ctrlKey || event.metaKey || event.shiftKey) return;
  try {
    const url = new URL(event.currentTarget.href, window.location.href);
    window.top.history.pushState({}, "", url.pathname + url.search);
    window.top.dispatchEvent(new PopStateEvent("popstate", { state: {} }));
    event.preventDefault();
  } catch (_) { /* not allowed: the link opens inside the frame instead */ }
}

// A console address (real AWS only) opens in a new tab. Inside Airflow's UI the frame's sandbox
// lacks allow-popups, so the browser blocks a target=_blank link there: the top window (same
// origin) opens it instead.
function openOutside(event) {
  if (window.top === window.self) return;  // not framed: target=_blank works
  try {
    window.top.open(event.currentTarget.href, "_blank", "noopener,noreferrer");
    event.preventDefault();
  } catch (_) { /* not allowed: the browser handles the link itself */ }
}

// A name with its AWS console address: a link on real AWS, the name as text on the emulator
// (the API gives no address there: a console link would open nothing of this stack).
function consoleRef(text, href, title) {
  let el;
  if (href) {
    el = link(text, href);
    el.target = "_blank";
    el.rel = "noopener noreferrer";
    el.addEventListener("click", openOutside);
  } else {
    el = document.createElement("code");
    el.textContent = text;
  }
  if (title) el.title = title;
  return el;
}

function addBadge(parent, text, className, title) {
  const span = document.createElement("span");
  span.className = className;
  span.textContent = text;
  if (title) span.title = title;
  parent.appendChild(span);
  return span;
}

// A check result as a person reads it: "between:amount (2 rows)", or a file check and its detail.
const resultText = (c) => (c.kind === "row" ? `${c.check} (${fmt(c.rows_failing)} rows)` : c.check);
const resultTitle = (c) => `${c.check}: ${c.status}${c.kind === "row" ? `, ${fmt(c.rows_failing)} row(s) failing`
  : c.detail ? ` (${c.detail})` : ""}`;

// The load's checks (docs/checks.md): "—" when it declared none, "passed", or "failed" and which
// (a row check with its rows failing; a file check with by how much on hover).
function checksCell(tr, checks) {
  const td = cell(tr, "", "checks");
  if (!checks) {
    td.textContent = DASH;
    td.title = "no checks declared";
    return;
  }
  const results = checks.results || [];
  const failed = results.filter((c) => c.status === "failed");
  td.dataset.passed = String(Boolean(checks.passed));
  td.dataset.failed = failed.map((c) => c.check).join(" ");
  addBadge(td, checks.passed ? "passed" : "failed", `check ${checks.passed ? "passed" : "failed"}`,
    results.map(resultTitle).join("\n"));
  if (checks.passed) {
    td.append(` ${results.length} check(s)`);
  } else {
    for (const c of failed) addBadge(td, resultText(c), "failed-check", resultTitle(c));
    if (!failed.length && checks.failed) td.append(` ${checks.failed}`);  // results not kept: the text
  }
}

// Duplicate keys, exact (the same cells: dropped) and conflicting (other cells: what on_conflict
// decided), and a warning when the key is a column taken only because it is named id.
const ON_CONFLICT = {
  reject: "conflicting rows rejected (conflicting_duplicate)",
  keep_first: "conflicting rows dropped, each key's first row written",
  keep_last: "conflicting rows dropped, each key's last row written",
};

function duplicatesCell(tr, r) {
  const td = cell(tr, "", "dups");
  if (r.duplicates_exact !== null && r.duplicates_exact !== undefined) {
    const conflicting = r.duplicates_conflicting || 0;
    td.dataset.exact = String(r.duplicates_exact);
    td.dataset.conflicting = String(conflicting);
    const text = !r.duplicates_exact && !conflicting ? "none"
      : `${fmt(r.duplicates_exact)} exact · ${fmt(conflicting)} conflicting`
        + (conflicting && r.on_conflict ? ` (${r.on_conflict})` : "");
    addBadge(td, text, conflicting ? "dup-counts conflicts" : "dup-counts",
      `on_conflict ${r.on_conflict || "?"}: ${ON_CONFLICT[r.on_conflict] || ""}`);
  }
  if (r.key_by_default) {
    addBadge(td, "key 'id' by name", "key-warning",
      "The key is the column id only because of its name (no partition key was given): a column "
      + "named id may name an order, not a row. Name the key if id is not one row's id.");
  }
  if (!td.childNodes.length) td.textContent = DASH;
}

// The load's processed zone and Athena reconciliation (docs/analytics.md), beside its files: what
// the analytics step recorded, with the Parquet partition and the query id (console links on AWS).
function analyticsCell(tr, a) {
  const td = cell(tr, "", "analytics");
  td.dataset.status = a.status || "none";
  addBadge(td, a.label, `zone-status ${a.status || "none"}`, a.error ? `${a.note}\n${a.error}` : a.note);
  if (a.athena_text) {
    const took = a.athena_seconds === null || a.athena_seconds === undefined ? "" : ` in ${a.athena_seconds} s`;
    addBadge(td, `Athena ${a.athena_text}`, "athena-count", `Athena's count of this run's rows${took}`);
  }
  if (a.error && a.status !== "reconciled") addBadge(td, a.error, "analytics-error", a.error);
  if (a.partition) {
    const line = document.createElement("div");
    line.className = "partition";
    const size = a.processed_bytes === null || a.processed_bytes === undefined ? ""
      : `, ${fmt(a.processed_rows)} rows, ${fmt(a.processed_bytes)} bytes`;
    line.append("Parquet ", consoleRef(a.partition, a.partition_console,
      `the load's Parquet files${size}; catalog table ${a.catalog_table || "?"} (partition ${a.partition_state || "?"})`));
    td.appendChild(line);
  }
  if (a.athena_query_id) {
    const line = document.createElement("div");
    line.className = "athena-query";
    line.append("query ", consoleRef(a.athena_query_id, a.athena_console, "the Athena query execution"));
    td.appendChild(line);
  }
}

function renderTable(rows) {
  const body = document.querySelector("#loads tbody");
  body.replaceChildren();
  for (const r of rows) {
    const tr = document.createElement("tr");
    tr.dataset.runId = r.dag_run_id;
    tr.dataset.source = r.source || "";
    cell(tr, fmt(r.recorded_at), "when");
    cell(tr, fmt(r.file), "file").title = r.source || "";
    cell(tr, fmt(r.dataset), "dataset");
    cell(tr, fmt(r.table), "table");
    const run = cell(tr, "", "run");
    const runLink = link(r.dag_run_id, r.links.run);
    runLink.title = `${r.dag_run_id} (${r.run_type || "?"})`;
    runLink.addEventListener("click", openInAirflow);
    run.appendChild(runLink);
    if (r.group_id && r.links.group) {
      // The file was loaded in a group run with others: its own row stays, the group is a link.
      const line = document.createElement("div");
      line.className = "group";
      const groupLink = link(`group of ${r.group_files ?? "?"}`, r.links.group);
      groupLink.title = `group run ${r.group_id}`;
      groupLink.dataset.groupId = r.group_id;
      groupLink.addEventListener("click", openInAirflow);
      line.appendChild(groupLink);
      run.appendChild(line);
    }
    cell(tr, fmt(r.triggered_by), "by");
    cell(tr, fmt(r.uploaded_by), "uploaded");
    for (const name of ["rows_read", "rows_written", "rows_rejected", "rows_duplicate", "rows_skipped"]) {
      cell(tr, fmt(r[name]), `num ${name}`);
    }
    const status = cell(tr, "", "status-cell");
    const badge = document.createElement("span");
    badge.className = `status ${r.status}`;
    badge.textContent = r.status;
    if (r.error) badge.title = r.error;
    status.appendChild(badge);
    checksCell(tr, r.checks);
    duplicatesCell(tr, r);
    cell(tr, fmt(r.engine), "engine");
    cell(tr, fmt(r.load_method), "method");
    const files = cell(tr, "", "files");
    if (r.links.manifest) files.appendChild(link("manifest", r.links.manifest, true)).className = "manifest";
    if (r.links.rejects) files.appendChild(link("rejects", r.links.rejects, true)).className = "rejects";
    if (!files.childNodes.length) files.textContent = DASH;
    analyticsCell(tr, r.analytics);
    body.appendChild(tr);
  }
  if (!rows.length) {
    const tr = document.createElement("tr");
    const td = cell(tr, "No loads match these filters.", "empty");
    td.colSpan = TABLE_COLUMNS;
    body.appendChild(tr);
  }
}

// --- charts (SVG) ------------------------------------------------------------------------------
const W = 420, H = 200, LEFT = 46, BOTTOM = 26, TOP = 10, RIGHT = 8;

function svgEl(name, attrs, text) {
  const el = document.createElementNS(SVG_NS, name);
  for (const [k, v] of Object.entries(attrs || {})) el.setAttribute(k, String(v));
  if (text !== undefined) el.textContent = text;
  return el;
}

function frame(svg, maxValue, label) {
  svg.replaceChildren();
  svg.appendChild(svgEl("line", { class: "axis", x1: LEFT, y1: H - BOTTOM, x2: W - RIGHT, y2: H - BOTTOM }));
  svg.appendChild(svgEl("line", { class: "axis", x1: LEFT, y1: TOP, x2: LEFT, y2: H - BOTTOM }));
  svg.appendChild(svgEl("text", { x: LEFT - 4, y: TOP + 8, "text-anchor": "end" }, label(maxValue)));
  svg.appendChild(svgEl("text", { x: LEFT - 4, y: H - BOTTOM, "text-anchor": "end" }, label(0)));
}

function empty(svg, text) {
  svg.replaceChildren(svgEl("text", { class: "empty", x: W / 2, y: H / 2, "text-anchor": "middle" }, text));
}

const compact = (n) => (n >= 1e6 ? `${(n / 1e6).toFixed(1)}M` : n >= 1e3 ? `${(n / 1e3).toFixed(1)}k`
  : String(Math.round(n * 100) / 100));

function drawDaily(summary) {
  const svg = $("chart-daily");
  $("legend-daily").replaceChildren();
  $("daily-note").textContent = summary.truncated ? `(first ${summary.records.toLocaleString("en-US")} loads)` : "";
  const days = [...new Set(summary.days.map((d) => d.day))].sort();
  // The known statuses in their order, then any other the records carry (nothing is left out).
  const statuses = [...STATUSES, ...new Set(summary.days.map((d) => d.status).filter((s) => !STATUSES.includes(s)))];
  if (!days.length) return empty(svg, "no loads in this range");
  const totals = days.map((day) => summary.days.filter((d) => d.day === day)
    .reduce((sum, d) => sum + d.rows_written, 0));
  const max = Math.max(1, ...totals);
  frame(svg, max, compact);
  const slot = (W - LEFT - RIGHT) / days.length;
  const width = Math.max(2, Math.min(40, slot * 0.7));
  days.forEach((day, i) => {
    let y = H - BOTTOM;
    for (const status of statuses) {
      const entry = summary.days.find((d) => d.day === day && d.status === status);
      if (!entry) continue;
      const h = (entry.rows_written / max) * (H - BOTTOM - TOP);
      y -= h;
      const rect = svgEl("rect", {
        class: `bar ${status}`, x: LEFT + i * slot + (slot - width) / 2, y, width, height: Math.max(h, 0.5),
        "data-day": day, "data-status": status, "data-rows": entry.rows_written, "data-loads": entry.loads,
      });
      rect.appendChild(svgEl("title", {}, `${day} ${status}: ${entry.rows_written.toLocaleString("en-US")} rows in ${entry.loads} load(s)`));
      svg.appendChild(rect);
    }
    if (days.length <= 12 || i % Math.ceil(days.length / 12) === 0) {
      svg.appendChild(svgEl("text", { x: LEFT + i * slot + slot / 2, y: H - 10, "text-anchor": "middle" }, day.slice(5)));
    }
  });
  const legend = $("legend-daily");
  legend.replaceChildren(...statuses.map((s) => {
    const span = document.createElement("span");
    span.className = s;
    span.textContent = s;
    return span;
  }));
}

function drawPerLoad(svgId, rows, value, label, klass, newestFirst) {
  const svg = $(svgId);
  const points = rows.map((r) => ({ r, v: value(r) })).filter((p) => p.v !== null && p.v !== undefined);
  if (newestFirst) points.reverse();
  if (!points.length) return empty(svg, "no figures on this page");
  const max = Math.max(...points.map((p) => p.v), klass === "rate" ? 0.01 : 1);
  frame(svg, max, label);
  const slot = (W - LEFT - RIGHT) / points.length;
  const width = Math.max(2, Math.min(30, slot * 0.7));
  points.forEach((p, i) => {
    const h = (p.v / max) * (H - BOTTOM - TOP);
    const rect = svgEl("rect", {
      class: `bar ${klass} ${p.r.status}`, x: LEFT + i * slot + (slot - width) / 2, y: H - BOTTOM - h,
      width, height: Math.max(h, 0.5), "data-run-id": p.r.dag_run_id, "data-source": p.r.source || "", "data-value": p.v,
    });
    rect.appendChild(svgEl("title", {}, `${p.r.file}: ${label(p.v)} (${p.r.dag_run_id})`));
    svg.appendChild(rect);
  });
  const order = newestFirst ? "oldest → newest on this page" : "in file order on this page";
  svg.appendChild(svgEl("text", { x: W - RIGHT, y: H - 10, "text-anchor": "end" }, order));
}

// --- the per-dataset overview ----------------------------------------------------------------------
function ago(seconds) {
  if (seconds === null || seconds === undefined) return null;
  if (seconds < 120) return `${seconds} s`;
  if (seconds < 7200) return `${Math.round(seconds / 60)} min`;
  if (seconds < 172800) return `${Math.round(seconds / 3600)} h`;
  return `${Math.round(seconds / 86400)} d`;
}

function sparkline(points) {
  const w = 120, h = 24;
  const svg = svgEl("svg", { class: "spark", viewBox: `0 0 ${w} ${h}`, width: w, height: h, role: "img" });
  if (!points.length) return svg;
  const max = Math.max(1, ...points.map((p) => p.rows_written));
  const slot = w / points.length;
  points.forEach((p, i) => {
    const bh = Math.max(1, (p.rows_written / max) * (h - 2));
    const rect = svgEl("rect", { class: "bar", x: i * slot + slot * 0.15, y: h - bh, width: Math.max(1, slot * 0.7),
      height: bh, "data-day": p.day, "data-rows": p.rows_written });
    rect.appendChild(svgEl("title", {}, `${p.day}: ${p.rows_written.toLocaleString("en-US")} rows in ${p.loads} load(s)`));
    svg.appendChild(rect);
  });
  return svg;
}

function filterLink(name) {
  const a = document.createElement("a");
  const params = currentFilters();
  params.set("dataset", name);
  a.href = `?${params}`;
  a.textContent = name;
  return a;
}

function renderOverview(data) {
  const body = document.querySelector("#datasets tbody");
  body.replaceChildren();
  $("dataset-names").replaceChildren(...data.datasets.map((d) => {
    const option = document.createElement("option");
    option.value = d.name;
    return option;
  }));
  for (const d of data.datasets) {
    const tr = document.createElement("tr");
    tr.dataset.dataset = d.name;
    const name = cell(tr, "", "name");
    name.appendChild(filterLink(d.name));
    name.title = `${d.description || ""} (${d.prefix}, DAG ${d.dag_id})`.trim();
    cell(tr, d.table, "table");
    cell(tr, d.arrive === "schedule" ? `schedule ${d.schedule}` : d.arrive, "arrive");
    cell(tr, fmt(d.owner), "owner");
    const last = d.last_load;
    const when = cell(tr, last ? last.recorded_at : "no load yet", "last");
    if (last) when.title = `${last.file} (${last.dag_run_id})`;
    const status = cell(tr, "", "status-cell");
    if (last) {
      const badge = document.createElement("span");
      badge.className = `status ${last.status}`;
      badge.textContent = last.status;
      if (last.error) badge.title = last.error;
      status.appendChild(badge);
    } else {
      status.textContent = DASH;
    }
    const fresh = cell(tr, "", "freshness");
    fresh.textContent = d.freshness_seconds !== null ? ago(d.freshness_seconds)
      : d.verified_search_complete ? "never verified" : "none verified recently";
    if (d.last_verified_at) fresh.title = `last verified load: ${d.last_verified_at}`;
    fresh.dataset.seconds = d.freshness_seconds === null ? "" : String(d.freshness_seconds);
    cell(tr, fmt(d.rows_written), "num rows");
    cell(tr, "", "spark-cell").appendChild(sparkline(d.rows_per_day));
    body.appendChild(tr);
  }
  if (!data.datasets.length) {
    const tr = document.createElement("tr");
    cell(tr, "No dataset files in this deployment.", "empty").colSpan = 9;
    body.appendChild(tr);
  }
  $("dataset-errors").replaceChildren(...data.errors.map((e) => {
    const line = document.createElement("span");
    line.textContent = `${e.file}: ${e.where ? `${e.where}: ` : ""}${e.problem}`;
    return line;
  }));
  const un = data.unrouted;
  const box = $("unrouted");
  box.replaceChildren();
  box.dataset.count = String(un.count);
  if (un.count) {
    box.append(`${un.count.toLocaleString("en-US")} unrouted file(s) in this range (no dataset claims them; not loaded)`);
    const list = document.createElement("ul");
    for (const u of un.recent) {
      const item = document.createElement("li");
      item.textContent = `${u.recorded_at} ${u.source || "?"}${u.reason ? ` — ${u.reason}` : ""}`;
      list.appendChild(item);
    }
    box.appendChild(list);
  }
}

async function loadOverview(filters) {
  const params = new URLSearchParams();
  for (const name of ["from", "to"]) if (filters.get(name)) params.set(name, filters.get(name));
  document.body.dataset.overview = "loading";
  try {
    renderOverview(await getJson(`api/datasets?${params}`));
    document.body.dataset.overview = "ready";
  } catch (error) {
    $("unrouted").textContent = `Datasets: ${error.message}`;
    document.body.dataset.overview = "error";
  }
}

// --- loading -----------------------------------------------------------------------------------
// A narrow filter may leave a page short (the server bounds the items one request reads):
// fetch on, up to MAX_FETCHES requests, until the page is full or there is nothing more.
const MAX_FETCHES = 5;

async function fetchPage(filters, cursor) {
  let rows = [];
  let next = cursor;
  let page = null;
  let read = 0;
  for (let i = 0; i < MAX_FETCHES; i += 1) {
    const params = new URLSearchParams(filters);
    params.set("limit", String(PAGE_SIZE - rows.length));
    if (next) params.set("cursor", next);
    page = await getJson(`api/loads?${params}`);
    rows = rows.concat(page.rows);
    read += page.query.items_read;
    next = page.next_cursor;
    if (rows.length >= PAGE_SIZE || !next) break;
  }
  return { ...page, rows, next_cursor: next, items_read: read };
}

async function load() {
  const filters = currentFilters();
  showMessage("Loading…");
  document.body.dataset.state = "loading";
  document.body.dataset.table = "loading";
  // The table comes from one page of the index; the per-day chart reads the whole range, so it
  // may take longer: the table is drawn as soon as its page arrives.
  // Paging (Newer/Older) keeps the filters: the chart of the range is fetched once per filter set.
  if (state.summaryKey !== filters.toString()) {
    state.summaryKey = filters.toString();
    state.summary = getJson(`api/summary?${filters}`);
    state.summary.catch(() => { state.summaryKey = null; });  // reported below; retried next time
  }
  const summaryRequest = state.summary;
  try {
    const page = await fetchPage(filters, state.cursors[state.page]);
    // The server fills in defaults (the last 30 days): show what was actually asked.
    setFilters(new URLSearchParams(Object.entries(page.filters).filter(([, v]) => v)));
    renderTable(page.rows);
    const newestFirst = page.order === "newest first";
    drawPerLoad("chart-rejects", page.rows, (r) => r.reject_rate, (v) => `${(v * 100).toFixed(v < 0.01 ? 2 : 1)}%`, "rate", newestFirst);
    drawPerLoad("chart-speed", page.rows, (r) => r.rows_per_second, compact, "speed", newestFirst);
    state.nextCursor = page.next_cursor;
    $("prev").disabled = state.page === 0;
    $("next").disabled = !page.next_cursor;
    $("page-no").textContent = `page ${state.page + 1}`;
    $("query-info").textContent =
      `${page.rows.length} loads, ${page.order} · index ${page.query.index} · ${page.items_read} items read`;
    $("export").href = `api/loads.csv?${currentFilters()}`;
    document.body.dataset.table = "ready";
    drawDaily(await summaryRequest);
    showMessage("");
    document.body.dataset.state = "ready";
  } catch (error) {
    if (document.body.dataset.table !== "ready") renderTable([]);
    showMessage(error.message, true);
    document.body.dataset.state = "error";
  }
}

document.addEventListener("DOMContentLoaded", () => {
  setFilters(new URLSearchParams(window.location.search));
  // New filters load the page anew at an address that carries them: Airflow's UI mirrors the
  // frame's address in its own, so a filtered view can be bookmarked and shared.
  $("filters").addEventListener("submit", (event) => {
    event.preventDefault();
    window.location.search = currentFilters().toString();
  });
  $("reset").addEventListener("click", () => { window.location.search = ""; });
  $("next").addEventListener("click", () => {
    if (!state.nextCursor) return;
    state.cursors[state.page + 1] = state.nextCursor;
    state.page += 1;
    load();
  });
  $("prev").addEventListener("click", () => { if (state.page > 0) { state.page -= 1; load(); } });
  load();
  loadOverview(currentFilters());
});
