/**
 * The wire contract of `GET /dashboard/data`, shared by the server (`../dashboard.ts`) and
 * the page's browser script (`client/main.ts`), both through `import type`.
 *
 * This file imports nothing on purpose: it belongs to two TypeScript programs — the Node one
 * (`tsconfig.json`) and the browser one (`tsconfig.dashboard.json`, DOM types, no Node types) —
 * so it may only use what both have. The `*View` interfaces list what the page reads; the server
 * sends the trace store's `DashboardStats` (src/store/traces.ts), and `DashboardPayload`'s
 * constraint makes the Node type-check fail if that type stops providing any field below.
 * Units: epoch ms for times, ms for latencies, USD for costs.
 */

/** Totals over the window (see `DashboardTotals` in the store). */
export interface DashboardTotalsView {
  requests: number;
  /** Requests answered with a status outside 2xx. */
  errors: number;
  /** USD spent on all model calls. */
  costUsd: number;
  /** USD the strong model alone would have cost. */
  strongOnlyCostUsd: number;
  /** USD saved versus the strong model alone (successful requests). */
  savedUsd: number;
  escalations: number;
  degraded: number;
  promptTokens: number;
  completionTokens: number;
}

/** One time bucket `[startMs, endMs)`; cumulative fields include every earlier bucket. */
export interface DashboardPointView {
  startMs: number;
  endMs: number;
  requests: number;
  errors: number;
  escalations: number;
  cumulativeCostUsd: number;
  cumulativeSavedUsd: number;
}

/** Traffic of one serving (leaf) model. */
export interface DashboardServedRowView {
  model: string;
  requests: number;
  /** Share of served requests, in [0, 1]. */
  share: number;
  costUsd: number;
}

/** Traffic of one requested model name; "" = no parseable model. */
export interface DashboardRequestedRowView {
  model: string;
  requests: number;
  errors: number;
  escalations: number;
  costUsd: number;
  savedUsd: number;
  meanLatencyMs: number;
}

/** Nearest-rank latency percentiles (ms) of successful requests; all 0 when `count` is 0. */
export interface DashboardLatencyView {
  count: number;
  p50: number;
  p95: number;
  p99: number;
  max: number;
}

/** One decision of a trace's decision path (see `Decision` in src/core/model.ts). */
export interface DashboardDecisionView {
  strategy: string;
  name: string;
  signal: string;
  score: number;
  threshold: number;
  chosen: string;
  escalated: boolean;
  reason: string;
}

/** A recent trace, trimmed for display. Strings are user input: the page shows them as text only. */
export interface DashboardTraceView {
  id: string;
  createdAt: number;
  model: string;
  servedBy?: string;
  status: number;
  error?: string;
  stream: boolean;
  degraded: boolean;
  costUsd: number;
  savedUsd: number;
  latencyMs: number;
  /** Outermost strategy first. */
  decisions: DashboardDecisionView[];
  /** Start of the last user message; absent when content storage is off. */
  preview?: string;
}

/** The aggregated numbers the page draws (what it reads of the store's `DashboardStats`). */
export interface DashboardStatsView {
  /** Window end, epoch ms. */
  untilMs: number;
  totals: DashboardTotalsView;
  series: { points: DashboardPointView[] };
  servedBy: DashboardServedRowView[];
  requested: DashboardRequestedRowView[];
  latencyMs: DashboardLatencyView;
  recent: DashboardTraceView[];
}

/**
 * Body of `GET /dashboard/data`. The server's `DashboardData` is `DashboardPayload<DashboardStats>`
 * (the full store type); the page reads it as `DashboardPayload` (the view).
 */
export interface DashboardPayload<Stats extends DashboardStatsView = DashboardStatsView> {
  /** Gateway name. */
  name: string;
  /** False when the gateway has no trace store (then `stats` is null). */
  traces: boolean;
  /** Server time of the snapshot, epoch ms. */
  generatedAt: number;
  /** The window asked for in ms, null = all traces. */
  windowMs: number | null;
  /** Name of the key whose traces `stats` covers; null = every trace (admin key, or a gateway without keys). */
  scope: string | null;
  stats: Stats | null;
}
