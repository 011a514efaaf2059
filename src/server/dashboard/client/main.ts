/**
 * The dashboard page's browser script: polls `GET <page>/data` every 2 s and fills the static
 * markup of `../page.ts` (KPIs, four SVG charts, two tables). Type-checked against the DOM by
 * `tsconfig.dashboard.json` (no Node types here) and bundled into one classic script by
 * `../script.ts` (esbuild, IIFE), which the page inlines under a CSP hash.
 *
 * Trace content (prompts, model names, error codes) is user input: it only ever reaches the DOM
 * through `textContent` and `setAttribute`, never as HTML.
 */
import type { DashboardPayload, DashboardStatsView, DashboardDecisionView } from "../types.js";
import { hms, ms, num, pct, usd } from "./format.js";

const base = location.pathname.replace(/\/+$/, "");
const SVG = "http://www.w3.org/2000/svg";
const COLORS = ["#3b6fd8", "#1f9d6a", "#e07b24", "#8e5bd0", "#d64545", "#2a9cb0", "#b08a1e", "#5d6b82"];
const POLL_MS = 2000;
let timer: ReturnType<typeof setTimeout> | undefined;

type Text = string | number | null | undefined;
type Attrs = Record<string, string | number>;

/** The page element with this id; throws when the markup lacks it (a bug of page.ts). */
function $(id: string): HTMLElement {
  const e = document.getElementById(id);
  if (!e) throw new Error(`dashboard markup has no #${id}`);
  return e;
}

function el<K extends keyof HTMLElementTagNameMap>(tag: K, cls?: string, text?: Text): HTMLElementTagNameMap[K] {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text !== undefined && text !== null) e.textContent = String(text);
  return e;
}

function sv<K extends keyof SVGElementTagNameMap>(tag: K, attrs: Attrs, text?: Text): SVGElementTagNameMap[K] {
  const e = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, String(v));
  if (text !== undefined && text !== null) e.textContent = String(text);
  return e;
}

function clear<T extends Node>(node: T): T {
  while (node.firstChild) node.removeChild(node.firstChild);
  return node;
}

const setText = (id: string, v: Text): void => {
  $(id).textContent = String(v);
};

const svgBox = (w: number, h: number) => sv("svg", { viewBox: `0 0 ${w} ${h}`, role: "img", preserveAspectRatio: "xMidYMid meet" });

function emptyNote(svg: SVGSVGElement, w: number, h: number, text: string): void {
  svg.appendChild(sv("text", { x: w / 2, y: h / 2, "text-anchor": "middle" }, text));
}

/** Cumulative USD saved (filled green) and spent (dashed blue) over the window. */
function drawSaved(s: DashboardStatsView): SVGSVGElement {
  const W = 640, H = 220, L = 84, R = 14, T = 12, B = 26;
  const svg = svgBox(W, H);
  const pts = s.series.points;
  if (!pts.length) {
    emptyNote(svg, W, H, "No traffic yet");
    return svg;
  }
  const x0 = pts[0].startMs, x1 = Math.max(s.untilMs, x0 + 1);
  const last = pts[pts.length - 1];
  const ymax = Math.max(last.cumulativeSavedUsd, last.cumulativeCostUsd) || 1e-9;
  const X = (t: number) => L + ((Math.min(t, x1) - x0) / (x1 - x0)) * (W - L - R);
  const Y = (v: number) => H - B - (v / ymax) * (H - T - B);
  for (let g = 0; g <= 4; g++) {
    const v = (ymax * g) / 4;
    svg.appendChild(sv("line", { x1: L, x2: W - R, y1: Y(v), y2: Y(v), stroke: "#e3e6ec" }));
    svg.appendChild(sv("text", { x: L - 6, y: Y(v) + 4, "text-anchor": "end" }, usd(v)));
  }
  svg.appendChild(sv("text", { x: L, y: H - 6 }, hms(x0)));
  svg.appendChild(sv("text", { x: W - R, y: H - 6, "text-anchor": "end" }, hms(x1)));
  const path = (key: "cumulativeSavedUsd" | "cumulativeCostUsd") => {
    let d = `M${X(x0).toFixed(1)},${Y(0).toFixed(1)}`;
    for (const p of pts) d += ` L${X(p.endMs).toFixed(1)},${Y(p[key]).toFixed(1)}`;
    return d;
  };
  const saved = path("cumulativeSavedUsd");
  svg.appendChild(sv("path", { d: `${saved} L${X(x1).toFixed(1)},${Y(0).toFixed(1)} Z`, fill: "rgba(31,157,106,0.12)", stroke: "none" }));
  svg.appendChild(sv("path", { d: saved, fill: "none", stroke: "#1f9d6a", "stroke-width": 2.5, "stroke-linejoin": "round" }));
  svg.appendChild(sv("path", { d: path("cumulativeCostUsd"), fill: "none", stroke: "#3b6fd8", "stroke-width": 2, "stroke-dasharray": "5 3", "stroke-linejoin": "round" }));
  return svg;
}

/** One bar per serving model: share of requests, count and USD. */
function drawShare(s: DashboardStatsView): SVGSVGElement {
  const rows = s.servedBy, W = 640, RH = 30, L = 150, R = 150;
  const H = Math.max(rows.length, 1) * RH + 8;
  const svg = svgBox(W, H);
  if (!rows.length) {
    emptyNote(svg, W, H, "No served requests yet");
    return svg;
  }
  rows.forEach((r, i) => {
    const y = 4 + i * RH;
    const label = sv("text", { x: L - 8, y: y + 18, "text-anchor": "end", class: "lbl" }, r.model);
    label.setAttribute("data-model", r.model);
    svg.appendChild(label);
    svg.appendChild(sv("rect", { x: L, y: y + 5, width: W - L - R, height: RH - 10, fill: "#eef1f6", rx: 3 }));
    svg.appendChild(sv("rect", { x: L, y: y + 5, width: Math.max(2, r.share * (W - L - R)), height: RH - 10, fill: COLORS[i % COLORS.length], rx: 3 }));
    svg.appendChild(sv("text", { x: W - R + 8, y: y + 18 }, `${pct(r.share)} · ${r.requests} req · ${usd(r.costUsd)}`));
  });
  return svg;
}

/** Stacked bars per time bucket: kept on the weak side / direct, escalated, failed. */
function drawEscalations(s: DashboardStatsView): SVGSVGElement {
  const W = 640, H = 170, L = 40, R = 14, T = 10, B = 24;
  const svg = svgBox(W, H);
  const pts = s.series.points;
  if (!pts.length) {
    emptyNote(svg, W, H, "No traffic yet");
    return svg;
  }
  let ymax = 1;
  for (const p of pts) ymax = Math.max(ymax, p.requests);
  const bw = (W - L - R) / pts.length;
  const Y = (v: number) => H - B - (v / ymax) * (H - T - B);
  svg.appendChild(sv("line", { x1: L, x2: W - R, y1: Y(0), y2: Y(0), stroke: "#c9ced8" }));
  svg.appendChild(sv("text", { x: L - 6, y: Y(ymax) + 4, "text-anchor": "end" }, ymax));
  svg.appendChild(sv("text", { x: L - 6, y: Y(0) + 4, "text-anchor": "end" }, 0));
  pts.forEach((p, j) => {
    const x = L + j * bw + bw * 0.12, w = Math.max(1, bw * 0.76);
    const stack: Array<[count: number, color: string]> = [
      [Math.max(0, p.requests - p.escalations - p.errors), "#3b6fd8"],
      [p.escalations, "#e07b24"],
      [p.errors, "#d64545"],
    ];
    let acc = 0;
    for (const [count, fill] of stack) {
      if (count <= 0) continue;
      svg.appendChild(sv("rect", { x, y: Y(acc + count), width: w, height: Y(acc) - Y(acc + count), fill }));
      acc += count;
    }
  });
  svg.appendChild(sv("text", { x: L, y: H - 6 }, hms(pts[0].startMs)));
  svg.appendChild(sv("text", { x: W - R, y: H - 6, "text-anchor": "end" }, hms(s.untilMs)));
  return svg;
}

/** Bars for p50 / p95 / p99 / max latency of successful requests. */
function drawLatency(s: DashboardStatsView): SVGSVGElement {
  const lat = s.latencyMs, W = 640, RH = 30, L = 60, R = 90;
  const rows: Array<[label: string, valueMs: number]> = [["p50", lat.p50], ["p95", lat.p95], ["p99", lat.p99], ["max", lat.max]];
  const H = rows.length * RH + 8;
  const svg = svgBox(W, H);
  if (!lat.count) {
    emptyNote(svg, W, H, "No successful requests yet");
    return svg;
  }
  rows.forEach(([label, value], i) => {
    const y = 4 + i * RH;
    svg.appendChild(sv("text", { x: L - 8, y: y + 18, "text-anchor": "end", class: "lbl" }, label));
    svg.appendChild(sv("rect", { x: L, y: y + 5, width: Math.max(2, (value / (lat.max || 1)) * (W - L - R)), height: RH - 10, fill: i === 3 ? "#9aa6bb" : "#8e5bd0", rx: 3 }));
    svg.appendChild(sv("text", { x: W - R + 8, y: y + 18 }, ms(value)));
  });
  return svg;
}

function cell(tr: HTMLTableRowElement, text: Text, cls?: string): HTMLTableCellElement {
  const td = el("td", cls, text);
  tr.appendChild(td);
  return td;
}

function emptyRow(body: HTMLElement, text: string, columns: number): void {
  const tr = el("tr");
  cell(tr, text, "empty").colSpan = columns;
  body.appendChild(tr);
}

function fillRequested(s: DashboardStatsView): void {
  const body = clear($("requested-body"));
  if (!s.requested.length) return emptyRow(body, "No requests yet", 7);
  for (const r of s.requested) {
    const tr = el("tr");
    cell(tr, r.model || "(unparsed)");
    cell(tr, r.requests, "num");
    cell(tr, r.errors, "num");
    cell(tr, `${r.escalations} (${pct(r.requests ? r.escalations / r.requests : 0)})`, "num");
    cell(tr, usd(r.costUsd), "num");
    cell(tr, usd(r.savedUsd), "num");
    cell(tr, ms(r.meanLatencyMs || 0), "num");
    body.appendChild(tr);
  }
}

function decisionChip(d: DashboardDecisionView): HTMLSpanElement {
  const chip = el("span", d.escalated ? "chip esc" : "chip", `${d.name}: ${num(d.score)} vs ${num(d.threshold)} → ${d.chosen}`);
  chip.title = `${d.strategy} · ${d.signal} ${d.score} vs threshold ${d.threshold} · ${d.reason}`;
  return chip;
}

function fillRecent(s: DashboardStatsView): void {
  const body = clear($("recent-body"));
  if (!s.recent.length) return emptyRow(body, "No traces yet", 10);
  for (const t of s.recent) {
    const tr = el("tr");
    tr.setAttribute("data-trace-id", t.id);
    cell(tr, hms(t.createdAt), "mono");
    const shortId = t.id.replace(/^chatcmpl-/, "");
    cell(tr, shortId.length > 10 ? `${shortId.slice(0, 10)}…` : shortId, "mono").title = t.id;
    cell(tr, (t.model || "(unparsed)") + (t.stream ? " · stream" : ""));
    cell(tr, t.servedBy || "—");
    cell(tr, "").appendChild(el("span", t.status >= 200 && t.status < 300 ? "chip ok" : "chip err", t.error ? `${t.status} ${t.error}` : t.status));
    const path = cell(tr, "", "path");
    for (const d of t.decisions) path.appendChild(decisionChip(d));
    if (t.degraded) path.appendChild(el("span", "chip deg", "degraded"));
    if (!t.decisions.length) path.appendChild(el("span", "chip", t.servedBy ? "direct" : "—"));
    cell(tr, usd(t.costUsd), "num");
    cell(tr, usd(t.savedUsd), "num");
    cell(tr, ms(t.latencyMs), "num");
    const prompt = cell(tr, t.preview ?? "", "prompt");
    if (t.preview) prompt.title = t.preview;
    body.appendChild(tr);
  }
}

function render(data: DashboardPayload): void {
  setText("gw-name", data.scope ? `${data.name} · key ${data.scope}` : data.name);
  if (!data.traces || !data.stats) {
    $("traces-off").hidden = false;
    return;
  }
  $("traces-off").hidden = true;
  const s = data.stats, t = s.totals, lat = s.latencyMs;
  setText("kpi-requests", t.requests);
  setText("kpi-requests-sub", t.errors + (t.errors === 1 ? " error" : " errors"));
  setText("kpi-saved", usd(t.savedUsd));
  setText("kpi-saved-sub", t.strongOnlyCostUsd > 0 ? `${pct(t.savedUsd / t.strongOnlyCostUsd)} of strong-only ${usd(t.strongOnlyCostUsd)}` : "vs the strong model alone");
  setText("kpi-cost", usd(t.costUsd));
  setText("kpi-cost-sub", `${t.promptTokens + t.completionTokens} tokens`);
  setText("kpi-escalations", t.escalations);
  setText("kpi-escalations-sub", t.requests ? `${pct(t.escalations / t.requests)} of requests` : "");
  setText("kpi-degraded", t.degraded);
  setText("kpi-p50", lat.count ? ms(lat.p50) : "—");
  setText("kpi-p95", lat.count ? ms(lat.p95) : "—");
  setText("kpi-p99", lat.count ? ms(lat.p99) : "—");
  setText("kpi-latency-sub", `n=${lat.count}`);
  clear($("chart-saved")).appendChild(drawSaved(s));
  clear($("chart-share")).appendChild(drawShare(s));
  clear($("chart-escalations")).appendChild(drawEscalations(s));
  clear($("chart-latency")).appendChild(drawLatency(s));
  fillRequested(s);
  fillRecent(s);
}

const windowSelect = $("window") as HTMLSelectElement;

function setStatus(text: string, error: boolean): void {
  const st = $("status");
  st.className = error ? "err" : "";
  st.textContent = text;
}

/** One poll of `/data` (with the key of the URL fragment, `#key=…`), then the next in 2 s. */
async function poll(): Promise<void> {
  clearTimeout(timer);
  const win = windowSelect.value;
  const url = `${base}/data?buckets=40&recent=25${win ? `&window=${encodeURIComponent(win)}` : ""}`;
  const key = new URLSearchParams(location.hash.slice(1)).get("key");
  try {
    const r = await fetch(url, { cache: "no-store", headers: key ? { authorization: `Bearer ${key}` } : {} });
    if (r.status === 401) throw new Error("this gateway needs an API key: open /dashboard#key=<your key>");
    if (!r.ok) throw new Error(`HTTP ${r.status}`);
    const data = (await r.json()) as DashboardPayload;
    render(data);
    setStatus(data.traces ? `live · updated ${hms(data.generatedAt)}` : "traces off", false);
    document.body.setAttribute("data-updated", String(data.generatedAt));
    if (data.traces) timer = setTimeout(poll, POLL_MS);
  } catch (e) {
    setStatus(`disconnected (${e instanceof Error ? e.message : String(e)}), retrying`, true);
    timer = setTimeout(poll, POLL_MS);
  }
}

windowSelect.addEventListener("change", () => void poll());
void poll();
