/**
 * The gateway's dashboard: `GET /dashboard`, one self-contained HTML page (inline CSS, inline
 * vanilla JS, inline SVG charts; no CDN, no fonts, works offline) that polls `GET /dashboard/data`
 * every 2 s. It shows USD saved versus the strong model over time, the share of traffic per
 * serving model, escalations, latency percentiles (ms) and the recent traces with their decision
 * paths. Every number comes from the trace store ({@link TraceStore.dashboard}); without a trace
 * store the page loads and says that traces are off.
 *
 * Trace content (prompts, model names, error codes) is user input: the page only ever puts it in
 * the DOM through `textContent` / `setAttribute`, and the page's Content-Security-Policy allows
 * no script but its own (by hash) and no connection but to its own origin.
 */
import type { Env, Hono } from "hono";
import { createHash } from "node:crypto";
import type { DashboardStats, TraceStore } from "../store/traces.js";
import { traceScopeOf, type KeyRing } from "./auth.js";

/** Options of {@link mountDashboard}. */
export interface DashboardMountOptions {
  /** Where the numbers come from; none = the page says traces are off. */
  traces?: TraceStore;
  /** Gateway name shown in the title (as `/health` reports it). Default "tandem". */
  name?: string;
  /**
   * The gateway's API keys: when set, `/dashboard/data` needs a valid key (401 otherwise) and
   * shows only that key's traces (an admin key: every trace); the page sends the key it finds in
   * its URL fragment, `/dashboard#key=<key>` (a fragment never reaches servers, proxies or their logs).
   */
  keys?: KeyRing;
}

/**
 * Body of `GET /dashboard/data`. Query parameters: `window` (ms back from now; absent or "all" =
 * every trace), `buckets` (time-series buckets, 1…500, default 40), `recent` (recent traces,
 * 0…200, default 25).
 */
export interface DashboardData {
  name: string;
  /** False when the gateway has no trace store (then `stats` is null). */
  traces: boolean;
  /** Server time of the snapshot, epoch ms. */
  generatedAt: number;
  /** The window asked for in ms, null = all traces. */
  windowMs: number | null;
  /** Name of the key whose traces `stats` covers; null = every trace (admin key, or a gateway without keys). */
  scope: string | null;
  stats: DashboardStats | null;
}

/**
 * Adds `GET /dashboard` (HTML) and `GET /dashboard/data` (JSON, {@link DashboardData}) to a
 * gateway app. Both are read-only. The page itself holds no data; the data (which includes prompt
 * previews when traces store content) needs a valid API key when the gateway has keys, and covers
 * only that key's traces (all of them for an admin key) — without
 * keys it is as open as the gateway itself, so put an open gateway behind a proxy (or run traces
 * with `storeContent: false`) where prompt previews must not be visible. Errors: a failing trace query answers 500 with an OpenAI-shaped body (through
 * the app's error handler).
 */
export function mountDashboard<E extends Env>(app: Hono<E>, options: DashboardMountOptions): void {
  const name = options.name ?? "tandem";
  const page = dashboardHtml(name, options.traces !== undefined);
  const noStore = { "cache-control": "no-store" };

  const html = () => new Response(page, { headers: { "content-type": "text/html; charset=utf-8", ...noStore, "content-security-policy": CSP, "x-content-type-options": "nosniff", "referrer-policy": "no-referrer" } });
  app.get("/dashboard", html);
  app.get("/dashboard/", html);

  app.get("/dashboard/data", (c) => {
    const spec = options.keys?.authenticate(c.req.header("authorization")); // 401 through the app's error handler
    const scope = traceScopeOf(spec);
    const num = (key: string) => {
      const raw = c.req.query(key);
      if (raw === undefined || raw === "" || raw === "all") return undefined;
      const x = Number(raw);
      return Number.isFinite(x) && x > 0 ? x : undefined;
    };
    const generatedAt = Date.now();
    const windowMs = num("window") ?? null;
    const stats = options.traces
      ? options.traces.dashboard({
          sinceMs: windowMs === null ? undefined : generatedAt - windowMs,
          untilMs: generatedAt,
          buckets: num("buckets") ?? 40,
          recent: num("recent") ?? 25,
          ...scope,
        })
      : null;
    const body: DashboardData = { name, traces: options.traces !== undefined, generatedAt, windowMs, scope: scope.key ?? null, stats };
    return c.json(body, 200, noStore);
  });
}

const escapeHtml = (s: string) =>
  s.replace(/[&<>"']/g, (ch) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[ch] as string);

const STYLE = `
:root { --bg:#f5f6f8; --card:#fff; --ink:#1d2430; --muted:#6b7385; --line:#e3e6ec; --blue:#3b6fd8; --green:#1f9d6a; --orange:#e07b24; --red:#d64545; }
* { box-sizing: border-box; }
body { margin:0; background:var(--bg); color:var(--ink); font:14px/1.4 system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif; }
header { display:flex; align-items:center; gap:16px; padding:14px 24px; background:#1d2430; color:#fff; }
header h1 { font-size:18px; margin:0; font-weight:600; }
header h1 span { color:#9fb3d9; font-weight:400; }
#status { margin-left:auto; font-size:12px; color:#c6cfdf; }
#status.err { color:#ffb4b4; }
header select { font:inherit; font-size:12px; padding:3px 6px; border-radius:4px; border:0; }
main { padding:18px 24px 32px; max-width:1400px; margin:0 auto; }
.banner { background:#fff4e0; border:1px solid #f0c77a; padding:10px 14px; border-radius:6px; margin-bottom:16px; }
.kpis { display:grid; grid-template-columns:repeat(auto-fit,minmax(180px,1fr)); gap:12px; margin-bottom:16px; }
.kpi { background:var(--card); border:1px solid var(--line); border-radius:8px; padding:10px 14px; }
.kpi .label { color:var(--muted); font-size:12px; text-transform:uppercase; letter-spacing:.04em; }
.kpi .value { font-size:24px; white-space:nowrap; overflow:hidden; text-overflow:ellipsis; font-weight:600; font-variant-numeric:tabular-nums; margin-top:2px; }
.kpi .sub { color:var(--muted); font-size:12px; min-height:16px; }
.kpi.good .value { color:var(--green); }
.grid { display:grid; grid-template-columns:repeat(auto-fit,minmax(420px,1fr)); gap:12px; margin-bottom:16px; }
.card { background:var(--card); border:1px solid var(--line); border-radius:8px; padding:12px 14px; min-width:0; }
.card h2 { font-size:13px; margin:0 0 8px; color:var(--muted); font-weight:600; text-transform:uppercase; letter-spacing:.04em; }
svg { display:block; width:100%; height:auto; }
svg text { font-size:11px; fill:var(--muted); font-family:inherit; }
svg .lbl { fill:var(--ink); font-size:12px; }
.legend { display:flex; gap:14px; font-size:12px; color:var(--muted); margin-top:4px; flex-wrap:wrap; }
.legend i { display:inline-block; width:10px; height:10px; border-radius:2px; margin-right:5px; vertical-align:-1px; }
table { width:100%; border-collapse:collapse; font-size:13px; }
th { text-align:left; color:var(--muted); font-weight:600; font-size:12px; border-bottom:1px solid var(--line); padding:6px 8px; white-space:nowrap; }
td { border-bottom:1px solid var(--line); padding:6px 8px; vertical-align:top; font-variant-numeric:tabular-nums; white-space:nowrap; }
td.num, th.num { text-align:right; white-space:nowrap; }
td.mono { font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace; font-size:12px; white-space:nowrap; }
td.prompt { color:var(--muted); width:100%; min-width:160px; max-width:0; overflow:hidden; text-overflow:ellipsis; white-space:nowrap; }
.chip { display:inline-block; padding:1px 7px; border-radius:10px; background:#e8eefb; color:#28467f; font-size:12px; margin:1px 4px 1px 0; white-space:nowrap; }
.chip.esc { background:#fdeedd; color:#8a4310; }
.chip.err { background:#fbe3e3; color:#8f2222; }
.chip.ok { background:#e0f4ea; color:#17643f; }
.chip.deg { background:#f3e5fb; color:#6a2a8a; }
.empty { color:var(--muted); padding:10px 0; }
.scroll { overflow-x:auto; }
`;

/* The page script: plain ES5-style JS (no template literals) so it can live in a TS template. */
const SCRIPT = `
(function () {
  "use strict";
  var base = location.pathname.replace(/\\/+$/, "");
  var SVG = "http://www.w3.org/2000/svg";
  var COLORS = ["#3b6fd8", "#1f9d6a", "#e07b24", "#8e5bd0", "#d64545", "#2a9cb0", "#b08a1e", "#5d6b82"];
  var POLL_MS = 2000;
  var timer = null;
  function $(id) { return document.getElementById(id); }
  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined && text !== null) e.textContent = String(text);
    return e;
  }
  function sv(tag, attrs, text) {
    var e = document.createElementNS(SVG, tag);
    for (var k in attrs) if (Object.prototype.hasOwnProperty.call(attrs, k)) e.setAttribute(k, String(attrs[k]));
    if (text !== undefined && text !== null) e.textContent = String(text);
    return e;
  }
  function clear(node) { while (node.firstChild) node.removeChild(node.firstChild); return node; }
  function setText(id, v) { $(id).textContent = String(v); }
  function usd(x) {
    if (!x) return "$0";
    var a = Math.abs(x);
    if (a >= 1) return "$" + x.toFixed(2);
    if (a >= 0.01) return "$" + x.toFixed(4).replace(/0+$/, "").replace(/\\.$/, "");
    var digits = Math.min(12, Math.ceil(-Math.log10(a)) + 2);
    return "$" + x.toFixed(digits).replace(/0+$/, "").replace(/\\.$/, "");
  }
  function ms(x) { return x >= 1000 ? (x / 1000).toFixed(2) + " s" : (x >= 10 ? Math.round(x) : x.toFixed(1)) + " ms"; }
  function pct(x) { return (x * 100).toFixed(x > 0 && x < 0.1 ? 1 : 0) + "%"; }
  function pad(n) { return (n < 10 ? "0" : "") + n; }
  function hms(t) { var d = new Date(t); return pad(d.getHours()) + ":" + pad(d.getMinutes()) + ":" + pad(d.getSeconds()); }
  function num(x) { return Math.abs(x) >= 100 || x === Math.round(x) ? String(Math.round(x)) : x.toFixed(3); }
  function svgBox(w, h) { return sv("svg", { viewBox: "0 0 " + w + " " + h, role: "img", preserveAspectRatio: "xMidYMid meet" }); }
  function emptyNote(svg, w, h, text) { svg.appendChild(sv("text", { x: w / 2, y: h / 2, "text-anchor": "middle" }, text)); }

  function drawSaved(s) {
    var W = 640, H = 220, L = 84, R = 14, T = 12, B = 26;
    var svg = svgBox(W, H);
    var pts = s.series.points;
    if (!pts.length) { emptyNote(svg, W, H, "No traffic yet"); return svg; }
    var x0 = pts[0].startMs, x1 = Math.max(s.untilMs, x0 + 1);
    var last = pts[pts.length - 1];
    var ymax = Math.max(last.cumulativeSavedUsd, last.cumulativeCostUsd) || 1e-9;
    function X(t) { return L + (Math.min(t, x1) - x0) / (x1 - x0) * (W - L - R); }
    function Y(v) { return H - B - v / ymax * (H - T - B); }
    for (var g = 0; g <= 4; g++) {
      var v = ymax * g / 4;
      svg.appendChild(sv("line", { x1: L, x2: W - R, y1: Y(v), y2: Y(v), stroke: "#e3e6ec" }));
      svg.appendChild(sv("text", { x: L - 6, y: Y(v) + 4, "text-anchor": "end" }, usd(v)));
    }
    svg.appendChild(sv("text", { x: L, y: H - 6 }, hms(x0)));
    svg.appendChild(sv("text", { x: W - R, y: H - 6, "text-anchor": "end" }, hms(x1)));
    function path(key) {
      var d = "M" + X(x0).toFixed(1) + "," + Y(0).toFixed(1);
      for (var i = 0; i < pts.length; i++) d += " L" + X(pts[i].endMs).toFixed(1) + "," + Y(pts[i][key]).toFixed(1);
      return d;
    }
    var saved = path("cumulativeSavedUsd");
    svg.appendChild(sv("path", { d: saved + " L" + X(x1).toFixed(1) + "," + Y(0).toFixed(1) + " Z", fill: "rgba(31,157,106,0.12)", stroke: "none" }));
    svg.appendChild(sv("path", { d: saved, fill: "none", stroke: "#1f9d6a", "stroke-width": 2.5, "stroke-linejoin": "round" }));
    svg.appendChild(sv("path", { d: path("cumulativeCostUsd"), fill: "none", stroke: "#3b6fd8", "stroke-width": 2, "stroke-dasharray": "5 3", "stroke-linejoin": "round" }));
    return svg;
  }

  function drawShare(s) {
    var rows = s.servedBy, W = 640, RH = 30, L = 150, R = 150;
    var H = Math.max(rows.length, 1) * RH + 8;
    var svg = svgBox(W, H);
    if (!rows.length) { emptyNote(svg, W, H, "No served requests yet"); return svg; }
    for (var i = 0; i < rows.length; i++) {
      var r = rows[i], y = 4 + i * RH;
      var label = sv("text", { x: L - 8, y: y + 18, "text-anchor": "end", "class": "lbl" }, r.model);
      label.setAttribute("data-model", r.model);
      svg.appendChild(label);
      svg.appendChild(sv("rect", { x: L, y: y + 5, width: W - L - R, height: RH - 10, fill: "#eef1f6", rx: 3 }));
      svg.appendChild(sv("rect", { x: L, y: y + 5, width: Math.max(2, r.share * (W - L - R)), height: RH - 10, fill: COLORS[i % COLORS.length], rx: 3 }));
      svg.appendChild(sv("text", { x: W - R + 8, y: y + 18 }, pct(r.share) + " · " + r.requests + " req · " + usd(r.costUsd)));
    }
    return svg;
  }

  function drawEscalations(s) {
    var W = 640, H = 170, L = 40, R = 14, T = 10, B = 24;
    var svg = svgBox(W, H);
    var pts = s.series.points;
    if (!pts.length) { emptyNote(svg, W, H, "No traffic yet"); return svg; }
    var ymax = 1;
    for (var i = 0; i < pts.length; i++) ymax = Math.max(ymax, pts[i].requests);
    var bw = (W - L - R) / pts.length;
    function Y(v) { return H - B - v / ymax * (H - T - B); }
    svg.appendChild(sv("line", { x1: L, x2: W - R, y1: Y(0), y2: Y(0), stroke: "#c9ced8" }));
    svg.appendChild(sv("text", { x: L - 6, y: Y(ymax) + 4, "text-anchor": "end" }, ymax));
    svg.appendChild(sv("text", { x: L - 6, y: Y(0) + 4, "text-anchor": "end" }, 0));
    for (var j = 0; j < pts.length; j++) {
      var p = pts[j], x = L + j * bw + bw * 0.12, w = Math.max(1, bw * 0.76);
      var stack = [[Math.max(0, p.requests - p.escalations - p.errors), "#3b6fd8"], [p.escalations, "#e07b24"], [p.errors, "#d64545"]];
      var acc = 0;
      for (var k = 0; k < stack.length; k++) {
        if (stack[k][0] <= 0) continue;
        svg.appendChild(sv("rect", { x: x, y: Y(acc + stack[k][0]), width: w, height: Y(acc) - Y(acc + stack[k][0]), fill: stack[k][1] }));
        acc += stack[k][0];
      }
    }
    svg.appendChild(sv("text", { x: L, y: H - 6 }, hms(pts[0].startMs)));
    svg.appendChild(sv("text", { x: W - R, y: H - 6, "text-anchor": "end" }, hms(s.untilMs)));
    return svg;
  }

  function drawLatency(s) {
    var lat = s.latencyMs, W = 640, RH = 30, L = 60, R = 90;
    var rows = [["p50", lat.p50], ["p95", lat.p95], ["p99", lat.p99], ["max", lat.max]];
    var H = rows.length * RH + 8;
    var svg = svgBox(W, H);
    if (!lat.count) { emptyNote(svg, W, H, "No successful requests yet"); return svg; }
    for (var i = 0; i < rows.length; i++) {
      var y = 4 + i * RH;
      svg.appendChild(sv("text", { x: L - 8, y: y + 18, "text-anchor": "end", "class": "lbl" }, rows[i][0]));
      svg.appendChild(sv("rect", { x: L, y: y + 5, width: Math.max(2, rows[i][1] / (lat.max || 1) * (W - L - R)), height: RH - 10, fill: i === 3 ? "#9aa6bb" : "#8e5bd0", rx: 3 }));
      svg.appendChild(sv("text", { x: W - R + 8, y: y + 18 }, ms(rows[i][1])));
    }
    return svg;
  }

  function cell(tr, text, cls) { var td = el("td", cls, text); tr.appendChild(td); return td; }

  function fillRequested(s) {
    var body = clear($("requested-body"));
    if (!s.requested.length) { var tr0 = el("tr"); var td0 = cell(tr0, "No requests yet", "empty"); td0.colSpan = 7; body.appendChild(tr0); return; }
    s.requested.forEach(function (r) {
      var tr = el("tr");
      cell(tr, r.model || "(unparsed)");
      cell(tr, r.requests, "num");
      cell(tr, r.errors, "num");
      cell(tr, r.escalations + " (" + pct(r.requests ? r.escalations / r.requests : 0) + ")", "num");
      cell(tr, usd(r.costUsd), "num");
      cell(tr, usd(r.savedUsd), "num");
      cell(tr, ms(r.meanLatencyMs || 0), "num");
      body.appendChild(tr);
    });
  }

  function decisionChip(d) {
    var chip = el("span", d.escalated ? "chip esc" : "chip",
      d.name + ": " + num(d.score) + " vs " + num(d.threshold) + " \\u2192 " + d.chosen);
    chip.title = d.strategy + " \\u00b7 " + d.signal + " " + d.score + " vs threshold " + d.threshold + " \\u00b7 " + d.reason;
    return chip;
  }

  function fillRecent(s) {
    var body = clear($("recent-body"));
    if (!s.recent.length) { var tr0 = el("tr"); var td0 = cell(tr0, "No traces yet", "empty"); td0.colSpan = 10; body.appendChild(tr0); return; }
    s.recent.forEach(function (t) {
      var tr = el("tr");
      tr.setAttribute("data-trace-id", t.id);
      cell(tr, hms(t.createdAt), "mono");
      var shortId = t.id.replace(/^chatcmpl-/, "");
      var idCell = cell(tr, shortId.length > 10 ? shortId.slice(0, 10) + "\\u2026" : shortId, "mono");
      idCell.title = t.id;
      cell(tr, (t.model || "(unparsed)") + (t.stream ? " \\u00b7 stream" : ""));
      cell(tr, t.servedBy || "\\u2014");
      var st = cell(tr, "");
      st.appendChild(el("span", t.status >= 200 && t.status < 300 ? "chip ok" : "chip err", t.error ? t.status + " " + t.error : t.status));
      var path = cell(tr, "", "path");
      t.decisions.forEach(function (d) { path.appendChild(decisionChip(d)); });
      if (t.degraded) path.appendChild(el("span", "chip deg", "degraded"));
      if (!t.decisions.length) path.appendChild(el("span", "chip", t.servedBy ? "direct" : "\\u2014"));
      cell(tr, usd(t.costUsd), "num");
      cell(tr, usd(t.savedUsd), "num");
      cell(tr, ms(t.latencyMs), "num");
      var p = cell(tr, t.preview === undefined || t.preview === null ? "" : t.preview, "prompt");
      if (t.preview) p.title = t.preview;
      body.appendChild(tr);
    });
  }

  function render(data) {
    setText("gw-name", data.scope ? data.name + " \\u00b7 key " + data.scope : data.name);
    if (!data.traces || !data.stats) {
      $("traces-off").hidden = false;
      return;
    }
    $("traces-off").hidden = true;
    var s = data.stats, t = s.totals, lat = s.latencyMs;
    setText("kpi-requests", t.requests);
    setText("kpi-requests-sub", t.errors + (t.errors === 1 ? " error" : " errors"));
    setText("kpi-saved", usd(t.savedUsd));
    setText("kpi-saved-sub", t.strongOnlyCostUsd > 0 ? pct(t.savedUsd / t.strongOnlyCostUsd) + " of strong-only " + usd(t.strongOnlyCostUsd) : "vs the strong model alone");
    setText("kpi-cost", usd(t.costUsd));
    setText("kpi-cost-sub", (t.promptTokens + t.completionTokens) + " tokens");
    setText("kpi-escalations", t.escalations);
    setText("kpi-escalations-sub", t.requests ? pct(t.escalations / t.requests) + " of requests" : "");
    setText("kpi-degraded", t.degraded);
    setText("kpi-p50", lat.count ? ms(lat.p50) : "\\u2014");
    setText("kpi-p95", lat.count ? ms(lat.p95) : "\\u2014");
    setText("kpi-p99", lat.count ? ms(lat.p99) : "\\u2014");
    setText("kpi-latency-sub", "n=" + lat.count);
    clear($("chart-saved")).appendChild(drawSaved(s));
    clear($("chart-share")).appendChild(drawShare(s));
    clear($("chart-escalations")).appendChild(drawEscalations(s));
    clear($("chart-latency")).appendChild(drawLatency(s));
    fillRequested(s);
    fillRecent(s);
  }

  function poll() {
    clearTimeout(timer);
    var win = $("window").value;
    var url = base + "/data?buckets=40&recent=25" + (win ? "&window=" + encodeURIComponent(win) : "");
    var key = new URLSearchParams(location.hash.slice(1)).get("key");
    fetch(url, { cache: "no-store", headers: key ? { authorization: "Bearer " + key } : {} })
      .then(function (r) {
        if (r.status === 401) throw new Error("this gateway needs an API key: open /dashboard#key=<your key>");
        if (!r.ok) throw new Error("HTTP " + r.status);
        return r.json();
      })
      .then(function (data) {
        render(data);
        var st = $("status");
        st.className = "";
        st.textContent = data.traces ? "live \\u00b7 updated " + hms(data.generatedAt) : "traces off";
        document.body.setAttribute("data-updated", String(data.generatedAt));
        if (data.traces) timer = setTimeout(poll, POLL_MS);
      })
      .catch(function (e) {
        var st = $("status");
        st.className = "err";
        st.textContent = "disconnected (" + e.message + "), retrying";
        timer = setTimeout(poll, POLL_MS);
      });
  }
  $("window").addEventListener("change", poll);
  poll();
})();
`;

/** The script's CSP hash: only this exact inline script may run on the page. */
const CSP = [
  "default-src 'none'",
  `script-src 'sha256-${createHash("sha256").update(SCRIPT).digest("base64")}'`,
  "style-src 'unsafe-inline'",
  "connect-src 'self'",
  "img-src 'self' data:",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join("; ");

const kpi = (id: string, label: string, cls = "") =>
  `<div class="kpi ${cls}"><div class="label">${label}</div><div class="value" id="kpi-${id}">\u2014</div><div class="sub" id="kpi-${id}-sub"></div></div>`;

/** The page: static markup filled in by {@link SCRIPT}. */
function dashboardHtml(name: string, tracesOn: boolean): string {
  const n = escapeHtml(name);
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="icon" href="data:,">
<title>${n} · Tandem dashboard</title>
<style>${STYLE}</style>
</head>
<body>
<header>
  <h1><span>Tandem</span> <b id="gw-name">${n}</b></h1>
  <label style="font-size:12px;color:#c6cfdf">Window
    <select id="window">
      <option value="">all traces</option>
      <option value="300000">last 5 min</option>
      <option value="3600000">last hour</option>
      <option value="86400000" selected>last 24 h</option>
      <option value="604800000">last 7 days</option>
    </select>
  </label>
  <div id="status">loading\u2026</div>
</header>
<main>
  <div class="banner" id="traces-off"${tracesOn ? " hidden" : ""}>Traces are off: this gateway has no trace store, so there is nothing to show. Enable <code>traces</code> in the policy to see live numbers.</div>
  <section class="kpis">
    ${kpi("requests", "Requests")}
    ${kpi("saved", "Saved vs strong", "good")}
    ${kpi("cost", "Spent")}
    ${kpi("escalations", "Escalations")}
    ${kpi("degraded", "Degraded")}
    <div class="kpi"><div class="label">Latency p50</div><div class="value" id="kpi-p50">\u2014</div><div class="sub">p95 <b id="kpi-p95">\u2014</b> \u00b7 p99 <b id="kpi-p99">\u2014</b> \u00b7 <span id="kpi-latency-sub"></span></div></div>
  </section>
  <section class="grid">
    <div class="card"><h2>Cost saved over time (cumulative USD)</h2><div id="chart-saved"></div>
      <div class="legend"><span><i style="background:#1f9d6a"></i>saved vs the strong model alone</span><span><i style="background:#3b6fd8"></i>spent</span></div></div>
    <div class="card"><h2>Share of traffic per serving model</h2><div id="chart-share"></div></div>
    <div class="card"><h2>Requests and escalations over time</h2><div id="chart-escalations"></div>
      <div class="legend"><span><i style="background:#3b6fd8"></i>kept on the weak side / direct</span><span><i style="background:#e07b24"></i>escalated</span><span><i style="background:#d64545"></i>failed</span></div></div>
    <div class="card"><h2>Latency percentiles (successful requests)</h2><div id="chart-latency"></div></div>
  </section>
  <section class="card" style="margin-bottom:16px">
    <h2>Per requested model (strategy)</h2>
    <div class="scroll"><table id="requested">
      <thead><tr><th>Model</th><th class="num">Requests</th><th class="num">Errors</th><th class="num">Escalations</th><th class="num">Spent</th><th class="num">Saved</th><th class="num">Mean latency</th></tr></thead>
      <tbody id="requested-body"></tbody>
    </table></div>
  </section>
  <section class="card">
    <h2>Recent traces and their decision path</h2>
    <div class="scroll"><table id="recent">
      <thead><tr><th>Time</th><th>Trace</th><th>Model</th><th>Served by</th><th>Status</th><th>Decision path</th><th class="num">Spent</th><th class="num">Saved</th><th class="num">Latency</th><th>Prompt</th></tr></thead>
      <tbody id="recent-body"></tbody>
    </table></div>
  </section>
</main>
<script>${SCRIPT}</script>
</body>
</html>`;
}
