/**
 * The dashboard page's markup and style (server side): static HTML that the browser script
 * (`client/main.ts`, inlined here) fills in, and the Content-Security-Policy that lets only that
 * exact script run (by SHA-256 hash), connect only to the page's own origin and load nothing else
 * (no CDN, no fonts: the page works offline).
 */
import { createHash } from "node:crypto";

/** The served page: its HTML and the CSP header that goes with it. */
export interface DashboardPage {
  html: string;
  /** Value of the `content-security-policy` header: `script-src 'sha256-…'` of the inline script. */
  csp: string;
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

/** The policy: only the inline script with this SHA-256 (base64) may run. */
const csp = (scriptHash: string) =>
  [
    "default-src 'none'",
    `script-src 'sha256-${scriptHash}'`,
    "style-src 'unsafe-inline'",
    "connect-src 'self'",
    "img-src 'self' data:",
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'",
  ].join("; ");

const kpi = (id: string, label: string, cls = "") =>
  `<div class="kpi ${cls}"><div class="label">${label}</div><div class="value" id="kpi-${id}">\u2014</div><div class="sub" id="kpi-${id}-sub"></div></div>`;

/**
 * The page for gateway `name` (HTML-escaped into the title and header) with the browser `script`
 * inlined. `tracesOn` = false shows the "traces are off" banner before the script runs. Throws
 * when `script` contains `</script` (it would end the element early; esbuild's output never does).
 */
export function dashboardPage(name: string, tracesOn: boolean, script: string): DashboardPage {
  if (/<\/script/i.test(script)) throw new Error("the dashboard script contains </script and cannot be inlined");
  const n = escapeHtml(name);
  const html = `<!doctype html>
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
<script>${script}</script>
</body>
</html>`;
  return { html, csp: csp(createHash("sha256").update(script).digest("base64")) };
}
