/**
 * The playground page's markup and style (its script is src/browser/playground/main.ts, bundled by
 * bundle.ts) and its Content-Security-Policy: scripts only from this origin plus WebAssembly
 * compilation (`'wasm-unsafe-eval'`, for llama.cpp in wllama), workers from this origin or blob:
 * (wllama starts its worker from a blob), connections only to this origin — the page talks to
 * nothing but the gateway that served it.
 */

/** The page's Content-Security-Policy header value. */
export const PLAYGROUND_CSP = [
  "default-src 'none'",
  "script-src 'self' 'wasm-unsafe-eval'",
  "worker-src 'self' blob:",
  "connect-src 'self'",
  "style-src 'unsafe-inline'",
  "img-src 'self' data:",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join("; ");

const escapeHtml = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

/** The HTML of `/playground` for a gateway called `name`. */
export function playgroundPage(name: string): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Tandem playground — ${escapeHtml(name)}</title>
<style>
body{font:15px/1.45 system-ui,sans-serif;margin:0;background:#f6f7f9;color:#1d2330}
header{padding:14px 22px;background:#1d2330;color:#fff}header h1{margin:0;font-size:18px}header p{margin:4px 0 0;color:#c9cfdb;font-size:13px}
main{max-width:980px;margin:0 auto;padding:16px 22px}
form{display:grid;grid-template-columns:1fr auto;gap:8px;background:#fff;padding:12px;border-radius:8px;box-shadow:0 1px 2px #0002}
textarea{grid-column:1/3;min-height:64px;font:inherit;padding:8px;border:1px solid #ccd2dd;border-radius:6px}
.controls{display:flex;gap:12px;flex-wrap:wrap;align-items:center;font-size:13px}select,input{font:inherit;padding:3px 6px}
button{font:inherit;padding:6px 18px;border:0;border-radius:6px;background:#2f6fed;color:#fff;cursor:pointer}button:disabled{background:#9aa7bd}
#status,#network{font-size:13px;color:#4a5568;margin:8px 0}
ul#messages{list-style:none;padding:0}li.message{background:#fff;border-radius:8px;padding:12px;margin:10px 0;box-shadow:0 1px 2px #0002}
.question{font-weight:600}.answer{white-space:pre-wrap;margin:6px 0}.failed .answer{color:#b42318}
.badges{display:flex;gap:6px;flex-wrap:wrap}.badge{font-size:12px;background:#edf0f5;border-radius:10px;padding:2px 8px}
.badge.served{background:#dbe7ff}.badge.degraded{background:#ffe3c2}.badge.escalated{background:#f3dcff}
.label{font-size:12px;color:#6b7280;margin-top:8px}ol.path{margin:2px 0;padding-left:20px;font-size:13px}ol.path li.escalated{color:#6d28d9}
pre.cloud-saw{white-space:pre-wrap;background:#f3f4f6;border-radius:6px;padding:6px 8px;font-size:12px;margin:2px 0}
</style></head><body>
<header><h1>Tandem playground</h1><p>stories260K runs in this page (wllama, WebAssembly); the cloud side is this gateway's strategies. Private values are replaced in the page before anything leaves it.</p></header>
<main>
<form id="form">
<textarea id="prompt" placeholder="Ask something — e.g. My name is Johannes Varvio, mail me at UtaKortig@jourrapide.com">Tell me a story about a cat.</textarea>
<div class="controls">
<label>strategy <select id="strategy"><option value="route">route (heuristic router)</option><option value="cascade">cascade (mean log-prob)</option><option value="edge">page model only</option><option value="cloud">cloud only</option></select></label>
<label>threshold <input id="threshold" size="6" placeholder="default"></label>
<label>cloud side <select id="cloud"></select></label>
<label>page model <input id="gguf" type="file" accept=".gguf"></label>
</div>
<button id="send" disabled>Send</button>
</form>
<div id="status">loading…</div><div id="network"></div>
<ul id="messages"></ul>
</main>
<script type="module" src="/playground/assets/playground.js"></script>
</body></html>`;
}
