/**
 * The gateway's dashboard: `GET /dashboard`, one self-contained HTML page (inline CSS, an inline
 * script, SVG charts drawn by it; no CDN, no fonts, works offline) that polls `GET /dashboard/data`
 * every 2 s. It shows USD saved versus the strong model over time, the share of traffic per
 * serving model, escalations, latency percentiles (ms) and the recent traces with their decision
 * paths. Every number comes from the trace store ({@link TraceStore.dashboard}); without a trace
 * store the page loads and says that traces are off.
 *
 * Trace content (prompts, model names, error codes) is user input: the page only ever puts it in
 * the DOM through `textContent` / `setAttribute`, and the page's Content-Security-Policy allows
 * no script but its own (by hash) and no connection but to its own origin.
 *
 * Layout: this file mounts the routes; `dashboard/page.ts` is the markup, style and CSP;
 * `dashboard/client/` is the page's browser script in TypeScript (type-checked against the DOM by
 * `tsconfig.dashboard.json`), bundled by `dashboard/script.ts`; `dashboard/types.ts` is the JSON
 * contract both sides import.
 */
import type { Env, Hono } from "hono";
import type { AsyncTraceStore, DashboardStats } from "../store/traces.js";
import { traceScopeOf, type KeyRing } from "./auth.js";
import { dashboardPage, type DashboardPage } from "./dashboard/page.js";
import { dashboardScript } from "./dashboard/script.js";
import type { DashboardPayload } from "./dashboard/types.js";

/** Options of {@link mountDashboard}. */
export interface DashboardMountOptions {
  /** Where the numbers come from; none = the page says traces are off. */
  traces?: AsyncTraceStore;
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
 * Body of `GET /dashboard/data` (see `DashboardPayload` in dashboard/types.ts, which the page's
 * script reads). Query parameters: `window` (ms back from now; absent or "all" = every trace),
 * `buckets` (time-series buckets, 1…500, default 40), `recent` (recent traces, 0…200, default 25).
 * Fields: `name`; `traces` (false without a trace store, then `stats` is null); `generatedAt`
 * (server time, epoch ms); `windowMs` (null = all traces); `scope` (the key whose traces `stats`
 * covers, null = every trace); `stats` ({@link DashboardStats}).
 */
export type DashboardData = DashboardPayload<DashboardStats>;

/**
 * Adds `GET /dashboard` (HTML) and `GET /dashboard/data` (JSON, {@link DashboardData}) to a
 * gateway app. Both are read-only. The page itself holds no data; the data (which includes prompt
 * previews when traces store content) needs a valid API key when the gateway has keys, and covers
 * only that key's traces (all of them for an admin key) — without
 * keys it is as open as the gateway itself, so put an open gateway behind a proxy (or run traces
 * with `storeContent: false`) where prompt previews must not be visible. Errors: a failing trace query answers 500 with an OpenAI-shaped body (through
 * the app's error handler); so does the page when its script cannot be loaded (see
 * dashboard/script.ts: read from dist/ or bundled from source on the first page request).
 */
export function mountDashboard<E extends Env>(app: Hono<E>, options: DashboardMountOptions): void {
  const name = options.name ?? "tandem";
  const noStore = { "cache-control": "no-store" };
  let page: DashboardPage | undefined; // built on the first request: the script is read or bundled then

  const html = () => {
    page ??= dashboardPage(name, options.traces !== undefined, dashboardScript());
    return new Response(page.html, { headers: { "content-type": "text/html; charset=utf-8", ...noStore, "content-security-policy": page.csp, "x-content-type-options": "nosniff", "referrer-policy": "no-referrer" } });
  };
  app.get("/dashboard", html);
  app.get("/dashboard/", html);

  app.get("/dashboard/data", async (c) => {
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
      ? await options.traces.dashboard({
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
