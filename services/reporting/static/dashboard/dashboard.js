/* The reporting dashboard: asks for a key (kept in this tab's session storage only),
 * reads the reports of the chosen district and window from this service's own API
 * and draws them with the vendored ECharts. Text from the public (titles, words) is
 * only ever set as text, never as HTML. When everything is drawn, <body> gets
 * data-state="ready" (or "error"). */
"use strict";

const KEY_STORAGE = "zd.dashboard.key";
const FIGURES = [
  ["received", "受理 Received"], ["dispatched", "派单 Dispatched"], ["resolved", "办结 Resolved"],
  ["resolution_rate", "办结率 Resolution rate", "rate"],
  ["rectification_rate", "整改率 Rectification", "rate"],
  ["satisfaction_rate", "满意率 Satisfaction", "rate"], ["on_time_rate", "按时率 On time", "rate"],
  ["transfer_seconds.p50", "转办中位 Transfer p50", "duration"],
  ["resolve_seconds.p50", "办理中位 Resolve p50", "duration"],
];
const HOLDERS = { representative: "代表", office: "联络室", department: "部门" };
const charts = {};

function $(id) { return document.getElementById(id); }

function setState(state, message) {
  document.body.dataset.state = state;
  $("status").textContent = message || "";
}

function askForKey(message) {
  $("key-error").hidden = !message;
  $("key-error").textContent = message || "";
  $("key-dialog").showModal();
}

class NeedsKey extends Error {}

async function api(path, params) {
  const query = new URLSearchParams(Object.entries(params || {}).filter(([, v]) => v != null && v !== ""));
  const answer = await fetch(`${path}?${query}`, {
    headers: { Authorization: `Bearer ${sessionStorage.getItem(KEY_STORAGE) || ""}` },
  });
  if (answer.status === 401 || answer.status === 403) {
    throw new NeedsKey((await answer.json()).detail);
  }
  if (!answer.ok) {
    const problem = await answer.json().catch(() => ({}));
    throw new Error(problem.detail || `${path}: ${answer.status}`);
  }
  return answer.json();
}

function localDay(date) {
  const shifted = new Date(date.getTime() - date.getTimezoneOffset() * 60000);
  return shifted.toISOString().slice(0, 10);
}

function defaultWindow() {
  const to = new Date();
  const from = new Date(to.getTime() - 29 * 86400000);
  $("from").value = $("from").value || localDay(from);
  $("to").value = $("to").value || localDay(to);
}

function dayAfter(day) {
  const next = new Date(`${day}T00:00:00Z`);
  next.setUTCDate(next.getUTCDate() + 1);
  return next.toISOString().slice(0, 10);
}

function figure(report, path) {
  return path.split(".").reduce((value, key) => (value == null ? null : value[key]), report);
}

function formatted(value, kind) {
  if (value == null) return "—";
  if (kind === "rate") return `${(value * 100).toFixed(1)}%`;
  if (kind === "duration") return value < 3600 ? `${Math.round(value / 60)} 分钟 min`
    : `${(value / 3600).toFixed(1)} 小时 h`;
  return String(value);
}

function drawFigures(report) {
  const cards = $("figures");
  cards.replaceChildren(...FIGURES.map(([path, label, kind]) => {
    const card = document.createElement("div");
    card.className = "card";
    card.dataset.figure = path;
    const value = document.createElement("div");
    value.className = "value";
    value.textContent = formatted(figure(report, path), kind);
    const name = document.createElement("div");
    name.className = "label";
    name.textContent = label;
    card.append(value, name);
    return card;
  }));
}

function chart(id) {
  charts[id] = charts[id] || echarts.init($(id), null, { renderer: "canvas" });
  return charts[id];
}

function drawTrend(trend) {
  const days = trend.days.map((day) => day.day);
  const series = [["received", "受理 received"], ["dispatched", "派单 dispatched"],
                  ["resolved", "办结 resolved"]].map(([key, name]) => ({
    name, type: "line", smooth: true, data: trend.days.map((day) => day[key]),
  }));
  chart("trend-chart").setOption({
    tooltip: { trigger: "axis" }, legend: { top: 0 }, grid: { left: 40, right: 16, top: 32, bottom: 32 },
    xAxis: { type: "category", data: days }, yAxis: { type: "value", minInterval: 1 }, series,
  }, true);
}

function drawBreakdown(id, grouped, names) {
  const groups = grouped.groups.filter((group) => group.received > 0)
    .sort((a, b) => b.received - a.received).slice(0, 12);
  const labels = groups.map((group) => names[group[grouped.group_by]] || group[grouped.group_by] || "—");
  chart(id).setOption({
    tooltip: { trigger: "axis" }, legend: { top: 0 },
    grid: { left: 8, right: 16, top: 32, bottom: 8, containLabel: true },
    xAxis: { type: "value", minInterval: 1 }, yAxis: { type: "category", data: labels, inverse: true },
    series: [{ name: "受理 received", type: "bar", data: groups.map((group) => group.received) },
             { name: "办结 resolved", type: "bar", data: groups.map((group) => group.resolved) }],
  }, true);
}

function row(cells) {
  const tr = document.createElement("tr");
  for (const [text, className] of cells) {
    const td = document.createElement("td");
    td.textContent = text == null ? "—" : String(text);
    if (className) td.className = className;
    tr.append(td);
  }
  return tr;
}

function drawHotTopics(hot) {
  $("hot-topics").tBodies[0].replaceChildren(...hot.groups.map((group) => row([
    [group.count, "number"], [group.growth > 0 ? `+${group.growth}` : group.growth, "number"],
    [group.category], [group.communities.join(", ")], [group.top_words.join(" · ")],
    [group.open, "number"], [group.resolved, "number"], [group.ticket_ids.slice(0, 5).join(" ")],
  ])));
}

function drawOverdue(overdue) {
  $("overdue").tBodies[0].replaceChildren(...overdue.tickets.map((ticket) => row([
    [ticket.ticket_id], [`${HOLDERS[ticket.holder.kind]} ${ticket.holder.name || ticket.holder.id}`],
    [(ticket.held_since || "").slice(0, 16).replace("T", " ")],
    [ticket.due_at.slice(0, 16).replace("T", " ")], [ticket.overdue_working_hours, "number late"],
    [ticket.escalations.length, "number"], [ticket.title],
  ])));
}

async function loadDistricts() {
  const byDistrict = await api("/api/v1/reports/by-district", {});
  const select = $("district");
  const chosen = select.value;
  const options = byDistrict.groups.map((group) => [group.district, group.district]);
  if (byDistrict.district == null) options.unshift(["", "全市 City"]);
  select.replaceChildren(...options.map(([value, label]) => new Option(label, value)));
  if (options.some(([value]) => value === chosen)) select.value = chosen;
}

async function refresh() {
  setState("loading", "加载中… Loading…");
  try {
    await loadDistricts();
    const district = $("district").value;
    const range = { district, from: $("from").value, to: dayAfter($("to").value) };
    const days = Math.max(1, Math.round((new Date(range.to) - new Date(range.from)) / 86400000));
    const end = new Date(`${range.to}T00:00:00`).toISOString();  // midnight here, in UTC
    const [summary, trend, categories, departments, representatives, hot, overdue] = await Promise.all([
      api("/api/v1/reports/summary", range), api("/api/v1/reports/trend", range),
      api("/api/v1/reports/by-category", range), api("/api/v1/reports/by-department", range),
      api("/api/v1/reports/by-representative", range),
      api("/api/v1/reports/hot-topics", { district, days, as_of: end }),
      api("/api/v1/reports/overdue", { district }),
    ]);
    drawFigures(summary);
    drawTrend(trend);
    drawBreakdown("category-chart", categories, {});
    drawBreakdown("department-chart", departments, {});
    drawBreakdown("representative-chart", representatives, {});
    drawHotTopics(hot);
    drawOverdue(overdue);
    setState("ready", `${district || "全市 City"} · ${range.from} – ${$("to").value}`);
  } catch (error) {
    if (error instanceof NeedsKey) {
      setState("key", "");
      askForKey(error.message);
    } else {
      setState("error", `出错了 Error: ${error.message}`);
    }
  }
}

function start() {
  defaultWindow();
  $("controls").addEventListener("submit", (event) => { event.preventDefault(); refresh(); });
  $("forget").addEventListener("click", () => {
    sessionStorage.removeItem(KEY_STORAGE);
    askForKey();
  });
  $("key-form").addEventListener("submit", () => {
    sessionStorage.setItem(KEY_STORAGE, $("key").value.trim());
    $("key").value = "";
    refresh();
  });
  window.addEventListener("resize", () => Object.values(charts).forEach((c) => c.resize()));
  if (sessionStorage.getItem(KEY_STORAGE)) refresh(); else { setState("key"); askForKey(); }
}

start();
