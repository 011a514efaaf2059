/**
 * Traces: every request's decision path (strategy, router score or confidence, models called,
 * tokens, cost, latency, outcome), stored in an embedded SQLite database (better-sqlite3) by
 * default. Writes are synchronous and happen before the response completes, so a trace is never
 * lost to a crash after the answer; failed requests are traced too.
 */
import Database from "better-sqlite3";
import { mkdirSync } from "node:fs";
import { dirname } from "node:path";
import { withoutDiscarded, type Decision, type ModelCall } from "../core/model.js";
import { lastUserText, type ChatMessage } from "../core/wire.js";

/** One traced request. Units: USD, tokens, milliseconds. */
export interface Trace {
  id: string;
  /** Epoch milliseconds when the request arrived. */
  createdAt: number;
  /** Requested model name (a strategy or model of the policy). */
  model: string;
  stream: boolean;
  /** HTTP status answered. */
  status: number;
  /** Error code when the request failed. */
  error?: string;
  errorMessage?: string;
  servedBy?: string;
  escalated: boolean;
  degraded: boolean;
  costUsd: number;
  strongOnlyCostUsd: number;
  promptTokens: number;
  completionTokens: number;
  latencyMs: number;
  decisions: Decision[];
  calls: ModelCall[];
  /** Request messages (omitted when content storage is off). */
  messages?: ChatMessage[];
  /** Answer text (omitted when content storage is off). */
  responseText?: string;
  /**
   * Name of the gateway API key that made the request (absent on an open gateway, and on traces
   * written before keys were recorded). Readers with a {@link TraceScope} see only their own.
   */
  key?: string;
}

/**
 * Which traces a reader sees. `key` set: only the traces recorded for that API key name (the
 * gateway passes the calling key's name for every non-admin key); absent: every trace (the
 * operator reading the database file, an admin key, or an open gateway). Traces without a key
 * (open gateway, or recorded before keys were stored) are visible only to an unscoped reader.
 */
export interface TraceScope {
  key?: string;
}

/** Options of {@link TraceStore.list}. */
export interface TraceListOptions extends TraceScope {
  /** At most this many traces. Default 20. */
  limit?: number;
  /** Only traces of this requested model or strategy name. */
  model?: string;
}

/**
 * User feedback on a served answer (sent to `POST /v1/tandem/feedback`). The latest feedback on a
 * trace replaces earlier ones.
 */
export interface Feedback {
  traceId: string;
  /** Quality of the served answer in [0, 1]: 1 = good, 0 = bad; < 0.5 counts as negative. */
  score: number;
  /** Free-text label or comment (optional). */
  comment?: string;
  /** Gateway API key name that sent it (when keys are configured). */
  key?: string;
  /** Epoch ms when it was received. */
  createdAt: number;
}

/** Where traces go. */
export interface TraceStore {
  record(trace: Trace): void;
  /**
   * Stores feedback on a trace (latest wins) when that trace exists *and* is in `scope`, in one
   * statement (no check-then-write race). Returns false, storing nothing, otherwise — a trace of
   * another key and a trace that does not exist are indistinguishable. Errors: better-sqlite3's.
   */
  addFeedback(feedback: Feedback, scope?: TraceScope): boolean;
  /** Feedback on the traces in `scope` (default all): trace id → score in [0, 1] (what `exportTraces` takes). */
  feedbackScores(scope?: TraceScope): Map<string, number>;
  /** Traces in `options` scope (default all), most recent first. */
  list(options?: TraceListOptions): Trace[];
  /** The trace `id` when it exists and is in `scope` (default all); undefined otherwise. */
  get(id: string, scope?: TraceScope): Trace | undefined;
  /** Number of traces in `scope` (default all). */
  count(scope?: TraceScope): number;
  /**
   * Aggregates for the gateway's `/dashboard` (totals, cost-saved time series, traffic per served
   * and requested model, latency percentiles, recent traces), computed in SQL over one window of
   * the traces in scope (`options.key`; default all).
   */
  dashboard(options?: DashboardOptions): DashboardStats;
  close(): void;
}

/**
 * Opens (creating if needed) a SQLite trace store at `path` (":memory:" for an in-memory one).
 * `storeContent: false` keeps prompts and answers out of the database.
 * Errors: better-sqlite3's (unwritable path, corrupt file), thrown at open.
 */
export function openTraceStore(path: string, options: { storeContent?: boolean } = {}): TraceStore {
  if (path !== ":memory:") mkdirSync(dirname(path), { recursive: true });
  const db = new Database(path);
  db.pragma("journal_mode = WAL");
  db.pragma("synchronous = NORMAL");
  db.exec(`CREATE TABLE IF NOT EXISTS traces (
    id TEXT PRIMARY KEY,
    created_at INTEGER NOT NULL,
    model TEXT NOT NULL,
    stream INTEGER NOT NULL,
    status INTEGER NOT NULL,
    error TEXT,
    error_message TEXT,
    served_by TEXT,
    escalated INTEGER NOT NULL,
    degraded INTEGER NOT NULL,
    cost_usd REAL NOT NULL,
    strong_only_cost_usd REAL NOT NULL,
    prompt_tokens INTEGER NOT NULL,
    completion_tokens INTEGER NOT NULL,
    latency_ms REAL NOT NULL,
    decisions TEXT NOT NULL,
    calls TEXT NOT NULL,
    messages TEXT,
    response_text TEXT,
    api_key TEXT
  );
  CREATE INDEX IF NOT EXISTS traces_created ON traces(created_at);
  CREATE TABLE IF NOT EXISTS feedback (
    trace_id TEXT PRIMARY KEY,
    created_at INTEGER NOT NULL,
    score REAL NOT NULL,
    comment TEXT,
    api_key TEXT
  );`);
  migrate(db);
  db.exec("CREATE INDEX IF NOT EXISTS traces_key_created ON traces(api_key, created_at)");
  const storeContent = options.storeContent ?? true;
  const insert = db.prepare(`INSERT OR REPLACE INTO traces (id, created_at, model, stream, status, error, error_message, served_by, escalated, degraded,
      cost_usd, strong_only_cost_usd, prompt_tokens, completion_tokens, latency_ms, decisions, calls, messages, response_text, api_key)
    VALUES (@id, @createdAt, @model, @stream, @status, @error, @errorMessage, @servedBy,
    @escalated, @degraded, @costUsd, @strongOnlyCostUsd, @promptTokens, @completionTokens, @latencyMs, @decisions, @calls, @messages, @responseText, @key)`);
  // Single-trace statements, scoped: `@scoped = 0` reads every trace, otherwise only those of
  // `@key`. One primary-key lookup either way, so a trace of another key and a missing trace take
  // the same path.
  const SCOPE_SQL = "(@scoped = 0 OR api_key = @key)";
  const scopeParams = (scope?: TraceScope) => ({ scoped: scope?.key === undefined ? 0 : 1, key: scope?.key ?? null });
  const insertFeedback = db.prepare(`INSERT OR REPLACE INTO feedback (trace_id, created_at, score, comment, api_key)
    SELECT id, @createdAt, @score, @comment, @by FROM traces WHERE id = @id AND ${SCOPE_SQL}`);
  const selectOne = db.prepare(`SELECT * FROM traces WHERE id = @id AND ${SCOPE_SQL}`);

  return {
    record(t) {
      insert.run({
        ...t,
        stream: t.stream ? 1 : 0,
        error: t.error ?? null,
        errorMessage: t.errorMessage ?? null,
        servedBy: t.servedBy ?? null,
        escalated: t.escalated ? 1 : 0,
        degraded: t.degraded ? 1 : 0,
        decisions: jsonColumn(storeContent ? t.decisions : withoutDiscarded(t.decisions), "[]"),
        calls: jsonColumn(t.calls, "[]"),
        messages: storeContent && t.messages ? jsonColumn(t.messages, null) : null,
        responseText: storeContent ? (t.responseText ?? null) : null,
        key: t.key ?? null,
      });
    },
    addFeedback(f, scope) {
      const info = insertFeedback.run({ id: f.traceId, createdAt: f.createdAt, score: f.score, comment: f.comment ?? null, by: f.key ?? null, ...scopeParams(scope) });
      return info.changes > 0;
    },
    feedbackScores(scope) {
      const rows = (
        scope?.key === undefined
          ? db.prepare("SELECT trace_id, score FROM feedback").all()
          : db.prepare("SELECT f.trace_id, f.score FROM feedback f JOIN traces t ON t.id = f.trace_id WHERE t.api_key = ?").all(scope.key)
      ) as Array<{ trace_id: string; score: number }>;
      return new Map(rows.map((r) => [r.trace_id, r.score]));
    },
    list({ limit = 20, model, key } = {}) {
      // conditions spelled out (not `@x IS NULL OR …`) so SQLite can use the (api_key, created_at) index
      const where = [model !== undefined ? "model = @model" : "", key !== undefined ? "api_key = @key" : ""].filter(Boolean);
      const rows = db
        .prepare(`SELECT * FROM traces ${where.length ? `WHERE ${where.join(" AND ")}` : ""} ORDER BY created_at DESC, rowid DESC LIMIT @limit`)
        .all({ limit, ...(model !== undefined ? { model } : {}), ...(key !== undefined ? { key } : {}) });
      return (rows as Record<string, unknown>[]).map(fromRow);
    },
    get(id, scope) {
      const r = selectOne.get({ id, ...scopeParams(scope) }) as Record<string, unknown> | undefined;
      return r ? fromRow(r) : undefined;
    },
    count(scope) {
      const n = scope?.key === undefined ? db.prepare("SELECT COUNT(*) AS n FROM traces").get() : db.prepare("SELECT COUNT(*) AS n FROM traces WHERE api_key = ?").get(scope.key);
      return (n as { n: number }).n;
    },
    dashboard(options) {
      return dashboardStats(db, options);
    },
    close() {
      if (db.open) db.close();
    },
  };
}

/**
 * Upgrades a trace database created by an older version in place: adds the `api_key` column
 * (older traces keep NULL: visible to unscoped readers only). Runs under an immediate (write)
 * transaction so two processes opening the same old file at once do not both add the column.
 */
function migrate(db: Database.Database): void {
  const hasKey = () => (db.pragma("table_info(traces)") as Array<{ name: string }>).some((c) => c.name === "api_key");
  if (hasKey()) return;
  db.transaction(() => {
    if (!hasKey()) db.exec("ALTER TABLE traces ADD COLUMN api_key TEXT");
  }).immediate();
}

/** A `traces` row as a {@link Trace}. */
const fromRow = (r: Record<string, unknown>): Trace => ({
  id: r.id as string,
  createdAt: r.created_at as number,
  model: r.model as string,
  stream: r.stream === 1,
  status: r.status as number,
  error: (r.error as string | null) ?? undefined,
  errorMessage: (r.error_message as string | null) ?? undefined,
  servedBy: (r.served_by as string | null) ?? undefined,
  escalated: r.escalated === 1,
  degraded: r.degraded === 1,
  costUsd: r.cost_usd as number,
  strongOnlyCostUsd: r.strong_only_cost_usd as number,
  promptTokens: r.prompt_tokens as number,
  completionTokens: r.completion_tokens as number,
  latencyMs: r.latency_ms as number,
  decisions: JSON.parse(r.decisions as string) as Decision[],
  calls: JSON.parse(r.calls as string) as ModelCall[],
  messages: r.messages ? (JSON.parse(r.messages as string) as ChatMessage[]) : undefined,
  responseText: (r.response_text as string | null) ?? undefined,
  key: (r.api_key as string | null) ?? undefined,
});

/** Options of {@link TraceStore.dashboard}. Times are epoch milliseconds; `key` scopes it (see {@link TraceScope}). */
export interface DashboardOptions extends TraceScope {
  /** Window start (inclusive). Default: all traces. */
  sinceMs?: number;
  /** Window end (inclusive). Default: now. */
  untilMs?: number;
  /** Number of time-series buckets, 1…500. Default 40. */
  buckets?: number;
  /** Number of recent traces returned, 0…200. Default 20. */
  recent?: number;
}

/** Totals over the dashboard window. Units: USD, tokens. */
export interface DashboardTotals {
  requests: number;
  /** Requests answered with a status outside 2xx (including 499 client aborts). */
  errors: number;
  /** USD spent on all model calls. */
  costUsd: number;
  /** USD the strong model alone would have cost for the same tokens. */
  strongOnlyCostUsd: number;
  /** Σ max(0, strongOnlyCostUsd − costUsd) over successful requests (as the `tandem_saved_usd_total` metric). */
  savedUsd: number;
  /** Requests that went to (or escalated to) a strong model. */
  escalations: number;
  /** Requests served by a fallback. */
  degraded: number;
  promptTokens: number;
  completionTokens: number;
}

/** One time bucket `[startMs, endMs)`; the cumulative fields include every earlier bucket. */
export interface DashboardPoint {
  startMs: number;
  endMs: number;
  requests: number;
  errors: number;
  escalations: number;
  costUsd: number;
  savedUsd: number;
  cumulativeCostUsd: number;
  cumulativeSavedUsd: number;
}

/** Traffic of one serving (leaf) model, `served_by`; failed requests have none and are left out. */
export interface DashboardServedRow {
  model: string;
  requests: number;
  /** requests / all requests that some model served, in [0, 1]. */
  share: number;
  costUsd: number;
  tokens: number;
  meanLatencyMs: number;
}

/** Traffic of one requested model name (a strategy or a plain model). "" = the request had no parseable model. */
export interface DashboardRequestedRow {
  model: string;
  requests: number;
  errors: number;
  escalations: number;
  costUsd: number;
  savedUsd: number;
  meanLatencyMs: number;
}

/** Nearest-rank latency percentiles (ms) of the successful requests in the window; all 0 when `count` is 0. */
export interface DashboardLatency {
  count: number;
  p50: number;
  p95: number;
  p99: number;
  max: number;
}

/** A recent trace, trimmed for display. */
export interface DashboardTrace {
  id: string;
  createdAt: number;
  model: string;
  servedBy?: string;
  status: number;
  error?: string;
  stream: boolean;
  escalated: boolean;
  degraded: boolean;
  costUsd: number;
  savedUsd: number;
  latencyMs: number;
  promptTokens: number;
  completionTokens: number;
  /** The decision path, outermost strategy first. */
  decisions: Decision[];
  /** First 160 characters of the last user message (absent when content storage is off). User input: escape it. */
  preview?: string;
}

/** What the gateway's `/dashboard` shows, aggregated in SQL over the traces of one window. */
export interface DashboardStats {
  /** The window, epoch ms (sinceMs = the earliest trace when no start was given, untilMs when there is none). */
  sinceMs: number;
  untilMs: number;
  totals: DashboardTotals;
  /**
   * Equal-width buckets from the window's first trace to `untilMs` (`buckets` of them; none
   * when the window is empty). `bucketMs` is their width.
   */
  series: { bucketMs: number; points: DashboardPoint[] };
  /** Most requests first. */
  servedBy: DashboardServedRow[];
  /** Most requests first. */
  requested: DashboardRequestedRow[];
  latencyMs: DashboardLatency;
  /** Most recent first. */
  recent: DashboardTrace[];
}

/** SQL of a successful request and of its USD saved (as the gateway metrics count them). */
const OK_SQL = "(status BETWEEN 200 AND 299)";
const SAVED_SQL = `(CASE WHEN ${OK_SQL} THEN MAX(0, strong_only_cost_usd - cost_usd) ELSE 0 END)`;

/** The aggregation behind {@link TraceStore.dashboard}. */
function dashboardStats(db: Database.Database, options: DashboardOptions = {}): DashboardStats {
  const clamp = (x: number | undefined, lo: number, hi: number, fallback: number) =>
    x === undefined || !Number.isFinite(x) ? fallback : Math.min(hi, Math.max(lo, Math.floor(x)));
  const untilMs = Math.floor(options.untilMs ?? Date.now());
  const since = options.sinceMs === undefined ? Number.MIN_SAFE_INTEGER : Math.floor(options.sinceMs);
  const buckets = clamp(options.buckets, 1, 500, 40);
  const recentN = clamp(options.recent, 0, 200, 20);
  const scoped = options.key !== undefined;
  const WHERE = `created_at BETWEEN @since AND @until${scoped ? " AND api_key = @key" : ""}`;
  const w: Record<string, number | string> = scoped ? { since, until: untilMs, key: options.key as string } : { since, until: untilMs };

  const t = db
    .prepare(
      `SELECT COUNT(*) AS requests, TOTAL(NOT ${OK_SQL}) AS errors, TOTAL(cost_usd) AS costUsd,
        TOTAL(strong_only_cost_usd) AS strongOnlyCostUsd, TOTAL(${SAVED_SQL}) AS savedUsd, TOTAL(escalated) AS escalations,
        TOTAL(degraded) AS degraded, TOTAL(prompt_tokens) AS promptTokens, TOTAL(completion_tokens) AS completionTokens,
        MIN(created_at) AS first
      FROM traces WHERE ${WHERE}`,
    )
    .get(w) as DashboardTotals & { first: number | null };
  const { first, ...totals } = t;

  // Time series: bucket index computed in SQL, cumulative sums in JS.
  const points: DashboardPoint[] = [];
  let bucketMs = 0;
  if (first !== null) {
    const start = first;
    bucketMs = Math.max(1, Math.ceil((untilMs - start) / buckets));
    const rows = db
      .prepare(
        `SELECT MIN(@last, CAST((created_at - @start) / @width AS INTEGER)) AS b, COUNT(*) AS requests, TOTAL(NOT ${OK_SQL}) AS errors,
          TOTAL(escalated) AS escalations, TOTAL(cost_usd) AS costUsd, TOTAL(${SAVED_SQL}) AS savedUsd
        FROM traces WHERE ${WHERE} GROUP BY b`,
      )
      .all({ ...w, start, width: bucketMs, last: buckets - 1 }) as Array<{ b: number; requests: number; errors: number; escalations: number; costUsd: number; savedUsd: number }>;
    const byBucket = new Map(rows.map((r) => [r.b, r]));
    let cumulativeCostUsd = 0;
    let cumulativeSavedUsd = 0;
    for (let i = 0; i < buckets; i++) {
      const r = byBucket.get(i) ?? { requests: 0, errors: 0, escalations: 0, costUsd: 0, savedUsd: 0 };
      cumulativeCostUsd += r.costUsd;
      cumulativeSavedUsd += r.savedUsd;
      points.push({
        startMs: start + i * bucketMs,
        endMs: start + (i + 1) * bucketMs,
        requests: r.requests,
        errors: r.errors,
        escalations: r.escalations,
        costUsd: r.costUsd,
        savedUsd: r.savedUsd,
        cumulativeCostUsd,
        cumulativeSavedUsd,
      });
    }
  }

  const served = db
    .prepare(
      `SELECT served_by AS model, COUNT(*) AS requests, TOTAL(cost_usd) AS costUsd, TOTAL(prompt_tokens + completion_tokens) AS tokens,
        AVG(latency_ms) AS meanLatencyMs
      FROM traces WHERE ${WHERE} AND served_by IS NOT NULL GROUP BY served_by ORDER BY requests DESC, model`,
    )
    .all(w) as Array<Omit<DashboardServedRow, "share">>;
  const servedTotal = served.reduce((s, r) => s + r.requests, 0);
  const requested = db
    .prepare(
      `SELECT model, COUNT(*) AS requests, TOTAL(NOT ${OK_SQL}) AS errors, TOTAL(escalated) AS escalations, TOTAL(cost_usd) AS costUsd,
        TOTAL(${SAVED_SQL}) AS savedUsd, AVG(latency_ms) AS meanLatencyMs
      FROM traces WHERE ${WHERE} GROUP BY model ORDER BY requests DESC, model`,
    )
    .all(w) as DashboardRequestedRow[];

  // Latency percentiles, nearest rank ⌈p·n⌉ of the sorted column: one sort, four rows picked.
  const n = (db.prepare(`SELECT COUNT(*) AS n FROM traces WHERE ${WHERE} AND ${OK_SQL}`).get(w) as { n: number }).n;
  const rank = (p: number) => Math.max(1, Math.ceil((p / 100) * n));
  const ranked =
    n === 0
      ? new Map<number, number>()
      : new Map(
          (
            db
              .prepare(
                `SELECT rn, v FROM (SELECT latency_ms AS v, ROW_NUMBER() OVER (ORDER BY latency_ms) AS rn FROM traces WHERE ${WHERE} AND ${OK_SQL})
                WHERE rn IN (@r50, @r95, @r99, @n)`,
              )
              .all({ ...w, r50: rank(50), r95: rank(95), r99: rank(99), n }) as Array<{ rn: number; v: number }>
          ).map((r) => [r.rn, r.v]),
        );
  const at = (r: number) => ranked.get(r) ?? 0;
  const latencyMs: DashboardLatency = { count: n, p50: at(rank(50)), p95: at(rank(95)), p99: at(rank(99)), max: at(n) };

  const recent = (db.prepare(`SELECT * FROM traces WHERE ${WHERE} ORDER BY created_at DESC, rowid DESC LIMIT @limit`).all({ ...w, limit: recentN }) as Array<Record<string, unknown>>)
    .map(fromRow)
    .map((t): DashboardTrace => ({
      id: t.id,
      createdAt: t.createdAt,
      model: t.model,
      servedBy: t.servedBy,
      status: t.status,
      error: t.error,
      stream: t.stream,
      escalated: t.escalated,
      degraded: t.degraded,
      costUsd: t.costUsd,
      savedUsd: t.status >= 200 && t.status <= 299 ? Math.max(0, t.strongOnlyCostUsd - t.costUsd) : 0, // as SAVED_SQL
      latencyMs: t.latencyMs,
      promptTokens: t.promptTokens,
      completionTokens: t.completionTokens,
      decisions: withoutDiscarded(t.decisions), // the discarded weak answer stays in the store
      preview: t.messages ? lastUserText(t.messages).slice(0, 160) : undefined,
    }));

  return {
    sinceMs: options.sinceMs === undefined ? (first ?? untilMs) : since,
    untilMs,
    totals,
    series: { bucketMs, points },
    servedBy: served.map((r) => ({ ...r, share: servedTotal === 0 ? 0 : r.requests / servedTotal })),
    requested,
    latencyMs,
    recent,
  };
}

/** JSON of a column value, or `fallback` when it cannot be serialized (e.g. too deep): a trace is never lost to its content. */
function jsonColumn(value: unknown, fallback: string | null): string | null {
  try {
    return JSON.stringify(value);
  } catch {
    return fallback;
  }
}
