// weft's dashboard: the workflow list and one workflow with its DAG, from weft-entry's
// HTTP API (/v1), polled every second. No build step and no library: the DAG is laid out
// here by topological levels. Everything a workflow holds is set as text, never as HTML.
"use strict";

const POLL_MS = 1000;
const TOKEN_KEY = "weft.token";
const NODE_W = 168, NODE_H = 48, GAP_X = 64, GAP_Y = 18, PAD = 12;
const SVG_NS = "http://www.w3.org/2000/svg";

const $ = (id) => document.getElementById(id);
let timer = null;
let generation = 0; // a view's polls stop when the view changes

function show(section) {
  for (const id of ["login", "list", "detail"]) $(id).hidden = id !== section;
  $("logout").hidden = section === "login";
  $("live").hidden = section === "login";
}

function problem(text) {
  $("problem").hidden = !text;
  $("problem").textContent = text || "";
}

class Unauthorized extends Error {}

async function api(path, options = {}) {
  const token = sessionStorage.getItem(TOKEN_KEY);
  const headers = Object.assign({ Authorization: "Bearer " + token }, options.headers || {});
  const res = await fetch(path, Object.assign({}, options, { headers }));
  const body = await res.json().catch(() => ({}));
  if (res.status === 401) throw new Unauthorized(body.error || "token refused");
  if (!res.ok) throw new Error(body.error || res.status + " " + res.statusText);
  return body;
}

function el(tag, attrs = {}, text) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
  if (text !== undefined) e.textContent = text;
  return e;
}

function svg(tag, attrs = {}, text) {
  const e = document.createElementNS(SVG_NS, tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
  if (text !== undefined) e.textContent = text;
  return e;
}

function badge(status) {
  return el("span", { class: "status " + status }, status);
}

function seconds(s) {
  if (typeof s !== "number") return "-";
  if (s < 1) return (s * 1000).toFixed(0) + " ms";
  if (s < 120) return s.toFixed(1) + " s";
  return (s / 60).toFixed(1) + " min";
}

// ---- polling -----------------------------------------------------------------------

function poll(fn) {
  clearTimeout(timer);
  const mine = ++generation;
  const tick = async () => {
    try {
      await fn();
      problem("");
    } catch (e) {
      if (e instanceof Unauthorized) return login(e.message);
      problem(e.message);
    }
    if (mine === generation) timer = setTimeout(tick, POLL_MS);
  };
  tick();
}

// ---- the list ----------------------------------------------------------------------

async function refreshList() {
  const q = new URLSearchParams({ limit: "100" });
  if ($("filter-status").value) q.set("status", $("filter-status").value);
  if ($("filter-name").value.trim()) q.set("name", $("filter-name").value.trim());
  const { workflows } = await api("/v1/workflows?" + q);
  const tbody = $("workflows").tBodies[0];
  tbody.replaceChildren(...workflows.map((w) => {
    const tr = el("tr", { "data-uid": w.uid, "data-status": w.status });
    const link = el("a", { href: "#/workflows/" + w.uid });
    link.append(el("code", {}, w.uid));
    tr.append(el("td"), el("td", {}, w.name), el("td"),
      el("td", {}, (w.total - w.remaining) + "/" + w.total),
      el("td", {}, w.created_at.replace("T", " ").replace("Z", "")),
      el("td", {}, seconds(w.duration_s)));
    tr.cells[0].append(link);
    tr.cells[2].append(badge(w.status));
    return tr;
  }));
  $("list-empty").hidden = workflows.length > 0;
}

function openList() {
  show("list");
  poll(refreshList);
}

// ---- one workflow ------------------------------------------------------------------

// level(a) = 0 for a root, else 1 + the highest level of what a depends on; within a level
// the definition's order. Returns {name: {x, y}} and the drawing's size.
function layout(activities) {
  const byName = new Map(activities.map((a) => [a.name, a]));
  const level = new Map();
  const levelOf = (a, seen = new Set()) => {
    if (level.has(a.name)) return level.get(a.name);
    if (seen.has(a.name)) return 0; // a cycle cannot be stored; stay safe anyway
    seen.add(a.name);
    let l = 0;
    for (const d of a.depends_on || []) {
      const up = byName.get(d);
      if (up) l = Math.max(l, levelOf(up, seen) + 1);
    }
    level.set(a.name, l);
    return l;
  };
  const columns = [];
  for (const a of activities) {
    const l = levelOf(a);
    (columns[l] = columns[l] || []).push(a.name);
  }
  const pos = {};
  const rows = Math.max(1, ...columns.map((c) => (c ? c.length : 0)));
  const height = PAD * 2 + rows * NODE_H + (rows - 1) * GAP_Y;
  columns.forEach((names, l) => {
    const colH = names.length * NODE_H + (names.length - 1) * GAP_Y;
    names.forEach((n, i) => {
      pos[n] = { x: PAD + l * (NODE_W + GAP_X),
                 y: (height - colH) / 2 + i * (NODE_H + GAP_Y) };
    });
  });
  const width = PAD * 2 + columns.length * NODE_W + Math.max(0, columns.length - 1) * GAP_X;
  return { pos, width, height };
}

function drawGraph(activities) {
  const { pos, width, height } = layout(activities);
  const root = $("dag");
  root.setAttribute("width", width);
  root.setAttribute("height", height);
  root.setAttribute("viewBox", `0 0 ${width} ${height}`);
  const edges = svg("g"), nodes = svg("g");
  for (const a of activities) {
    for (const d of a.depends_on || []) {
      const from = pos[d], to = pos[a.name];
      if (!from || !to) continue;
      const x1 = from.x + NODE_W, y1 = from.y + NODE_H / 2, x2 = to.x, y2 = to.y + NODE_H / 2;
      const mx = (x1 + x2) / 2;
      edges.append(svg("path", { class: "edge",
        d: `M${x1},${y1} C${mx},${y1} ${mx},${y2} ${x2},${y2}`, "marker-end": "url(#arrow)" }));
    }
    const p = pos[a.name];
    const g = svg("g", { class: "node " + a.status, "data-name": a.name, "data-status": a.status,
      transform: `translate(${p.x},${p.y})` });
    g.append(svg("title", {}, `${a.name} (${a.task}): ${a.status}` +
      (a.error ? "\n" + a.error : "")));
    g.append(svg("rect", { width: NODE_W, height: NODE_H, rx: 6 }));
    const label = a.name.length > 22 ? a.name.slice(0, 21) + "\u2026" : a.name;
    g.append(svg("text", { x: 10, y: 19 }, label));
    g.append(svg("text", { x: 10, y: 36, class: "sub" },
      a.status + (a.attempt > 1 ? " \u00b7 attempt " + a.attempt : "")));
    if (a.status === "running" && typeof a.progress === "number") {
      const w = Math.max(0, Math.min(1, a.progress / 100)) * (NODE_W - 2);
      g.append(svg("rect", { class: "bar", x: 1, y: NODE_H - 5, width: w, height: 4 }));
    }
    nodes.append(g);
  }
  const defs = svg("defs");
  const marker = svg("marker", { id: "arrow", viewBox: "0 0 10 10", refX: 10, refY: 5,
    markerWidth: 7, markerHeight: 7, orient: "auto-start-reverse" });
  marker.append(svg("path", { d: "M0,0 L10,5 L0,10 z", fill: "#b0b7c3" }));
  defs.append(marker);
  root.replaceChildren(defs, edges, nodes);
}

function drawActivities(activities) {
  $("activities").tBodies[0].replaceChildren(...activities.map((a) => {
    const tr = el("tr", { "data-name": a.name, "data-status": a.status });
    const note = a.error ||
      (typeof a.progress === "number" ? a.progress.toFixed(0) + "% " : "") +
      (a.progress_message || "");
    tr.append(el("td", {}, a.name), el("td", { class: "mono" }, a.task), el("td"),
      el("td", {}, String(a.attempt)), el("td", {}, seconds(a.duration_s)),
      el("td", a.error ? { class: "error" } : {}, note));
    tr.cells[2].append(badge(a.status));
    return tr;
  }));
}

async function refreshWorkflow(uid) {
  const w = await api("/v1/workflows/" + encodeURIComponent(uid));
  $("wf-name").textContent = w.name;
  $("wf-uid").textContent = w.uid;
  const st = $("wf-status");
  st.textContent = w.status;
  st.className = "status " + w.status;
  $("wf-duration").textContent = seconds(w.duration_s);
  const { done, total, stage } = w.progress;
  $("wf-bar").style.width = (total ? (100 * done) / total : 0) + "%";
  $("wf-progress").textContent = `${done}/${total} activities done` +
    (stage && stage.length ? " \u00b7 running: " + stage.join(", ") : "");
  $("wf-error").hidden = !w.error;
  $("wf-error").textContent = w.error || "";
  const terminal = ["completed", "failed", "canceled"].includes(w.status);
  $("wf-cancel").disabled = terminal;
  $("wf-resume").disabled = !["failed", "pending"].includes(w.status);
  $("wf-output-box").hidden = w.output === undefined;
  $("wf-output").textContent = w.output === undefined ? "" : JSON.stringify(w.output, null, 2);
  drawGraph(w.activities);
  drawActivities(w.activities);
}

function openWorkflow(uid) {
  show("detail");
  $("dag").replaceChildren();
  $("activities").tBodies[0].replaceChildren();
  $("wf-cancel").onclick = () => control(uid, "cancel");
  $("wf-resume").onclick = () => control(uid, "resume");
  poll(() => refreshWorkflow(uid));
}

async function control(uid, what) {
  try {
    const body = what === "cancel" ? JSON.stringify({ reason: "canceled from the dashboard" })
                                   : undefined;
    await api(`/v1/workflows/${encodeURIComponent(uid)}/${what}`, { method: "POST", body,
      headers: { "Content-Type": "application/json" } });
  } catch (e) {
    if (e instanceof Unauthorized) return login(e.message);
    problem(e.message);
  }
}

// ---- token and routing -------------------------------------------------------------

function login(message) {
  clearTimeout(timer);
  generation++;
  sessionStorage.removeItem(TOKEN_KEY);
  show("login");
  $("login-error").hidden = !message;
  $("login-error").textContent = message || "";
  $("token").focus();
}

function route() {
  if (!sessionStorage.getItem(TOKEN_KEY)) return login();
  const m = location.hash.match(/^#\/workflows\/([0-9a-fA-F-]{36})$/);
  if (m) openWorkflow(m[1]);
  else openList();
}

document.addEventListener("DOMContentLoaded", () => {
  $("login-form").addEventListener("submit", (ev) => {
    ev.preventDefault();
    sessionStorage.setItem(TOKEN_KEY, $("token").value.trim());
    $("token").value = "";
    route();
  });
  $("logout").addEventListener("click", () => login());
  $("filter-status").addEventListener("change", () => poll(refreshList));
  $("filter-name").addEventListener("input", () => poll(refreshList));
  window.addEventListener("hashchange", route);
  route();
});
