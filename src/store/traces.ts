/**
 * Traces: every request's decision path (strategy, router score or confidence, models called,
 * tokens, cost, latency, outcome), stored in an embedded SQLite database (better-sqlite3) by
 * default, or in PostgreSQL shared by several replicas (`./postgres/`). Failed requests are
 * traced too.
 *
 * Writes are write-behind: `record()` only appends to a bounded in-memory queue (O(1), no I/O),
 * flushed in one transaction per batch — when `batchSize` traces are queued or `flushMs` after the
 * first queued one, whichever comes first — and on `flush()`/`close()`. Reads (`get`, `list`,
 * `count`, `dashboard`, feedback) flush first, so they see every trace recorded before them. A
 * full queue (the database cannot keep up, or is failing) drops new traces and counts them in
 * `dropped` (the gateway's `tandem_traces_dropped_total`). A clean shutdown (`close()`) loses
 * nothing; a crash loses at most the queued traces (≤ `flushMs` of traffic).
 *
 * Interfaces: {@link TraceStore} is the synchronous SQLite store (reads answer values);
 * {@link AsyncTraceStore} is what the gateway consumes — each read may answer a value or a
 * promise (await it) — which both the SQLite store and the Postgres store implement.
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
   * Gateway overhead in ms: gateway time minus upstream time (`x-tandem-overhead-ms`). Absent on
   * traces recorded before it was measured.
   */
  overheadMs?: number;
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

/** A value or a promise of it: what {@link AsyncTraceStore} reads answer (await them). */
export type Awaitable<T> = T | Promise<T>;

/**
 * Where traces go, as the gateway consumes it: the SQLite store answers reads synchronously, the
 * Postgres store with promises — `await` every read. `record()` is synchronous in both (it
 * queues; see the module doc). Semantics of each method: as {@link TraceStore}'s.
 */
export interface AsyncTraceStore {
  /** Queues a trace (never throws for a full queue: drops it and counts it in `dropped`). Do not mutate `trace` afterwards: it is serialized at flush. */
  record(trace: Trace): void;
  addFeedback(feedback: Feedback, scope?: TraceScope): Awaitable<boolean>;
  feedbackScores(scope?: TraceScope): Awaitable<Map<string, number>>;
  list(options?: TraceListOptions): Awaitable<Trace[]>;
  get(id: string, scope?: TraceScope): Awaitable<Trace | undefined>;
  count(scope?: TraceScope): Awaitable<number>;
  dashboard(options?: DashboardOptions): Awaitable<DashboardStats>;
  /** Writes every queued trace now. Errors: the database's (the traces stay queued). */
  flush(): Awaitable<void>;
  /** Traces dropped since open because the queue was full (or the store closed); cumulative. */
  readonly dropped: number;
  /** Traces queued, not yet written. */
  readonly pending: number;
  /** Flushes the queue, then closes the database. Idempotent. */
  close(): Awaitable<void>;
}

/** Write-behind settings of a trace store (see the module doc). */
export interface WriteBehindOptions {
  /** Flush once this many traces are queued; also the largest batch per transaction. Default 256. */
  batchSize?: number;
  /** Flush at most this many ms after the first queued trace. Default 100. */
  flushMs?: number;
  /** Most traces held in memory (queued + being written); further ones are dropped and counted. Default 10,000. */
  maxQueue?: number;
  /** Timer functions (tests inject a manual clock). Default: `setTimeout`/`clearTimeout`, unref'd. */
  timers?: FlushTimers;
}

/** The scheduler a write-behind queue uses: `set(fn, ms)` runs `fn` once after `ms`; `clear` cancels it. */
export interface FlushTimers {
  set(fn: () => void, ms: number): unknown;
  clear(handle: unknown): void;
}

const realTimers: FlushTimers = {
  set: (fn, ms) => {
    const t = setTimeout(fn, ms);
    t.unref?.();
    return t;
  },
  clear: (h) => clearTimeout(h as ReturnType<typeof setTimeout>),
};

/**
 * The bounded write-behind queue shared by the SQLite and Postgres stores. `write(batch)` stores
 * one batch in one transaction (sync or async); on error the batch goes back to the head of the
 * queue and is retried at the next flush (after at least 1 s when the timer fires it).
 */
export class TraceQueue {
  private items: Trace[] = [];
  private writing = 0;
  private timer: unknown;
  private timerMs = Infinity;
  private inflight: Promise<void> | undefined;
  private failures = 0;
  private closed = false;
  /** Traces dropped (full queue, or recorded after close). */
  dropped = 0;
  readonly batchSize: number;
  readonly flushMs: number;
  readonly maxQueue: number;
  private readonly timers: FlushTimers;

  /** Errors: RangeError for a non-positive batchSize/maxQueue or a negative flushMs. */
  constructor(
    private readonly write: (batch: Trace[]) => void | Promise<void>,
    options: WriteBehindOptions = {},
    private readonly label = "traces",
  ) {
    this.batchSize = options.batchSize ?? 256;
    this.flushMs = options.flushMs ?? 100;
    this.maxQueue = options.maxQueue ?? 10_000;
    if (!(this.batchSize >= 1) || !(this.maxQueue >= 1) || !(this.flushMs >= 0)) throw new RangeError("write-behind: batchSize and maxQueue must be ≥ 1, flushMs ≥ 0");
    this.timers = options.timers ?? realTimers;
  }

  /** Traces queued or being written. */
  get pending(): number {
    return this.items.length + this.writing;
  }

  /** Queues `t`; false (and counted in `dropped`) when the queue is full or closed. O(1), no I/O. */
  push(t: Trace): boolean {
    if (this.closed || this.items.length + this.writing >= this.maxQueue) {
      this.dropped++;
      if (this.dropped === 1 || this.dropped % 1000 === 0) console.error(`tandem: ${this.label} queue ${this.closed ? "closed" : `full (${this.maxQueue})`}: ${this.dropped} trace(s) dropped so far`);
      return false;
    }
    this.items.push(t);
    this.schedule(this.items.length >= this.batchSize ? 0 : this.flushMs);
    return true;
  }

  /** Stops accepting traces and cancels the timer (the caller then drains). */
  close(): void {
    this.closed = true;
    this.cancel();
  }

  private cancel(): void {
    if (this.timer !== undefined) this.timers.clear(this.timer);
    this.timer = undefined;
    this.timerMs = Infinity;
  }

  /** Arms the timer for `ms` unless one at least as early is armed. */
  private schedule(ms: number): void {
    if (this.closed || ms >= this.timerMs) return;
    this.cancel();
    this.timerMs = ms;
    this.timer = this.timers.set(() => {
      this.timer = undefined;
      this.timerMs = Infinity;
      const done = (error?: unknown) => {
        if (error === undefined) {
          this.failures = 0;
          return;
        }
        this.failures++;
        if (this.failures === 1 || this.failures % 100 === 0) console.error(`tandem: could not write ${this.label} (${this.pending} queued, attempt ${this.failures}): ${(error as Error).message}`);
        this.schedule(Math.max(1000, this.flushMs));
      };
      try {
        const r = this.drainAny();
        if (r) r.then(() => done(), done);
        else done();
      } catch (error) {
        done(error);
      }
    }, ms);
  }

  /** Takes the next batch, or undefined when empty. */
  private take(): Trace[] | undefined {
    if (this.items.length === 0) return undefined;
    const batch = this.items.length <= this.batchSize ? this.items.splice(0) : this.items.splice(0, this.batchSize);
    this.writing = batch.length;
    return batch;
  }

  private giveBack(batch: Trace[]): void {
    this.items.unshift(...batch);
  }

  /** Drains with a sync or async writer: a promise only when the writer answered one. */
  private drainAny(): Promise<void> | undefined {
    if (this.inflight) return this.drain();
    for (;;) {
      const batch = this.take();
      if (!batch) return undefined;
      let r: void | Promise<void>;
      try {
        r = this.write(batch);
      } catch (error) {
        this.writing = 0;
        this.giveBack(batch);
        throw error;
      }
      if (r instanceof Promise) {
        this.inflight = r.then(
          () => {
            this.writing = 0;
          },
          (error: unknown) => {
            this.writing = 0;
            this.giveBack(batch);
            throw error;
          },
        ).finally(() => (this.inflight = undefined));
        return this.drain();
      }
      this.writing = 0;
    }
  }

  /**
   * Writes everything queued with a synchronous writer. Errors: the writer's (the unwritten traces
   * stay queued). Throws TypeError when the writer is async (use {@link TraceQueue.drain}).
   */
  drainSync(): void {
    if (this.items.length === 0) return;
    if (this.drainAny() !== undefined) throw new TypeError("drainSync on an async trace writer");
    if (this.timer !== undefined && this.items.length === 0) this.cancel();
  }

  /** Writes everything queued (waiting for a write in flight first). Errors: the writer's (the unwritten traces stay queued). */
  async drain(): Promise<void> {
    for (;;) {
      if (this.inflight) await this.inflight;
      if (this.items.length === 0) break;
      const r = this.drainAny();
      if (r) await r;
    }
    if (this.items.length === 0 && this.timer !== undefined) this.cancel();
  }
}

/** Where traces go: the embedded SQLite store, synchronous reads. */
export interface TraceStore extends AsyncTraceStore {
  /** Queues a trace (see {@link AsyncTraceStore.record}); written within `flushMs`, at the next read, `flush()` or `close()`. */
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
  /** Writes the queued traces in one transaction. Errors: better-sqlite3's (they stay queued). */
  flush(): void;
  /** Flushes (a failure is logged: those traces are lost), then closes the database. Idempotent. */
  close(): void;
}

/**
 * Opens (creating if needed) a SQLite trace store at `path` (":memory:" for an in-memory one).
 * `storeContent: false` keeps prompts and answers out of the database; `writeBehind` tunes the
 * queue (see the module doc). Errors: better-sqlite3's (unwritable path, corrupt file), thrown at
 * open; RangeError for bad `writeBehind` numbers.
 */
export function openTraceStore(path: string, options: { storeContent?: boolean; writeBehind?: WriteBehindOptions } = {}): TraceStore {
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
    api_key TEXT,
    overhead_ms REAL
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
      cost_usd, strong_only_cost_usd, prompt_tokens, completion_tokens, latency_ms, decisions, calls, messages, response_text, api_key, overhead_ms)
    VALUES (@id, @createdAt, @model, @stream, @status, @error, @errorMessage, @servedBy,
    @escalated, @degraded, @costUsd, @strongOnlyCostUsd, @promptTokens, @completionTokens, @latencyMs, @decisions, @calls, @messages, @responseText, @key, @overheadMs)`);
  // Single-trace statements, scoped: `@scoped = 0` reads every trace, otherwise only those of
  // `@key`. One primary-key lookup either way, so a trace of another key and a missing trace take
  // the same path.
  const SCOPE_SQL = "(@scoped = 0 OR api_key = @key)";
  const scopeParams = (scope?: TraceScope) => ({ scoped: scope?.key === undefined ? 0 : 1, key: scope?.key ?? null });
  const insertFeedback = db.prepare(`INSERT OR REPLACE INTO feedback (trace_id, created_at, score, comment, api_key)
    SELECT id, @createdAt, @score, @comment, @by FROM traces WHERE id = @id AND ${SCOPE_SQL}`);
  const selectOne = db.prepare(`SELECT * FROM traces WHERE id = @id AND ${SCOPE_SQL}`);

  const row = (t: Trace) => {
    const c = traceColumns(t, storeContent);
    return { ...c, stream: c.stream ? 1 : 0, escalated: c.escalated ? 1 : 0, degraded: c.degraded ? 1 : 0 };
  };
  const insertBatch = db.transaction((batch: Trace[]) => {
    for (const t of batch) insert.run(row(t));
  });
  const queue = new TraceQueue((batch) => void insertBatch(batch), options.writeBehind, "sqlite traces");
  /** Reads see every recorded trace: flush first (a failing flush is logged; the read goes on). */
  const fresh = () => {
    if (queue.pending === 0 || !db.open) return;
    try {
      queue.drainSync();
    } catch (error) {
      console.error(`tandem: could not write ${queue.pending} queued trace(s): ${(error as Error).message}`);
    }
  };

  return {
    record(t) {
      queue.push(t);
    },
    flush() {
      queue.drainSync();
    },
    get dropped() {
      return queue.dropped;
    },
    get pending() {
      return queue.pending;
    },
    addFeedback(f, scope) {
      fresh();
      const info = insertFeedback.run({ id: f.traceId, createdAt: f.createdAt, score: f.score, comment: f.comment ?? null, by: f.key ?? null, ...scopeParams(scope) });
      return info.changes > 0;
    },
    feedbackScores(scope) {
      fresh();
      const rows = (
        scope?.key === undefined
          ? db.prepare("SELECT trace_id, score FROM feedback").all()
          : db.prepare("SELECT f.trace_id, f.score FROM feedback f JOIN traces t ON t.id = f.trace_id WHERE t.api_key = ?").all(scope.key)
      ) as Array<{ trace_id: string; score: number }>;
      return new Map(rows.map((r) => [r.trace_id, r.score]));
    },
    list({ limit = 20, model, key } = {}) {
      fresh();
      // conditions spelled out (not `@x IS NULL OR …`) so SQLite can use the (api_key, created_at) index
      const where = [model !== undefined ? "model = @model" : "", key !== undefined ? "api_key = @key" : ""].filter(Boolean);
      const rows = db
        .prepare(`SELECT * FROM traces ${where.length ? `WHERE ${where.join(" AND ")}` : ""} ORDER BY created_at DESC, rowid DESC LIMIT @limit`)
        .all({ limit, ...(model !== undefined ? { model } : {}), ...(key !== undefined ? { key } : {}) });
      return (rows as Record<string, unknown>[]).map(fromRow);
    },
    get(id, scope) {
      fresh();
      const r = selectOne.get({ id, ...scopeParams(scope) }) as Record<string, unknown> | undefined;
      return r ? fromRow(r) : undefined;
    },
    count(scope) {
      fresh();
      const n = scope?.key === undefined ? db.prepare("SELECT COUNT(*) AS n FROM traces").get() : db.prepare("SELECT COUNT(*) AS n FROM traces WHERE api_key = ?").get(scope.key);
      return (n as { n: number }).n;
    },
    dashboard(options) {
      fresh();
      return dashboardStats(db, options);
    },
    close() {
      if (!db.open) return;
      queue.close();
      try {
        queue.drainSync();
      } catch (error) {
        console.error(`tandem: closing the trace store lost ${queue.pending} trace(s): ${(error as Error).message}`);
      }
      db.close();
    },
  };
}

/**
 * Upgrades a trace database created by an older version in place: adds the `api_key` column
 * (older traces keep NULL: visible to unscoped readers only). Runs under an immediate (write)
 * transaction so two processes opening the same old file at once do not both add the column.
 */
function migrate(db: Database.Database): void {
  const has = (name: string) => (db.pragma("table_info(traces)") as Array<{ name: string }>).some((c) => c.name === name);
  const columns: Array<[string, string]> = [
    ["api_key", "TEXT"],
    ["overhead_ms", "REAL"],
  ];
  if (columns.every(([name]) => has(name))) return;
  db.transaction(() => {
    for (const [name, type] of columns) if (!has(name)) db.exec(`ALTER TABLE traces ADD COLUMN ${name} ${type}`);
  }).immediate();
}

/**
 * The stored columns of a trace (booleans as booleans; each backend converts): JSON text for
 * decisions/calls/messages, content left out when `storeContent` is false. Shared by the SQLite
 * and Postgres stores so both store the same thing.
 */
export function traceColumns(t: Trace, storeContent: boolean) {
  return {
    id: t.id,
    createdAt: t.createdAt,
    model: t.model,
    stream: t.stream,
    status: t.status,
    error: t.error ?? null,
    errorMessage: t.errorMessage ?? null,
    servedBy: t.servedBy ?? null,
    escalated: t.escalated,
    degraded: t.degraded,
    costUsd: t.costUsd,
    strongOnlyCostUsd: t.strongOnlyCostUsd,
    promptTokens: t.promptTokens,
    completionTokens: t.completionTokens,
    latencyMs: t.latencyMs,
    decisions: jsonColumn(storeContent ? t.decisions : withoutDiscarded(t.decisions), "[]") as string,
    calls: jsonColumn(t.calls, "[]") as string,
    messages: storeContent && t.messages ? jsonColumn(t.messages, null) : null,
    responseText: storeContent ? (t.responseText ?? null) : null,
    key: t.key ?? null,
    overheadMs: typeof t.overheadMs === "number" && Number.isFinite(t.overheadMs) ? t.overheadMs : null,
  };
}

/** A `traces` row (SQLite, or Postgres: booleans, int8 as string) as a {@link Trace}. */
export const fromRow = (r: Record<string, unknown>): Trace => ({
  id: r.id as string,
  createdAt: Number(r.created_at),
  model: r.model as string,
  stream: r.stream === 1 || r.stream === true,
  status: r.status as number,
  error: (r.error as string | null) ?? undefined,
  errorMessage: (r.error_message as string | null) ?? undefined,
  servedBy: (r.served_by as string | null) ?? undefined,
  escalated: r.escalated === 1 || r.escalated === true,
  degraded: r.degraded === 1 || r.degraded === true,
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
  ...(r.overhead_ms === null || r.overhead_ms === undefined ? {} : { overheadMs: r.overhead_ms as number }),
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

/** The normalized window and sizes of a dashboard query (shared by the SQLite and Postgres stores). */
export function dashboardWindow(options: DashboardOptions = {}): { untilMs: number; since: number; buckets: number; recentN: number; key?: string } {
  const clamp = (x: number | undefined, lo: number, hi: number, fallback: number) =>
    x === undefined || !Number.isFinite(x) ? fallback : Math.min(hi, Math.max(lo, Math.floor(x)));
  return {
    untilMs: Math.floor(options.untilMs ?? Date.now()),
    since: options.sinceMs === undefined ? Number.MIN_SAFE_INTEGER : Math.floor(options.sinceMs),
    buckets: clamp(options.buckets, 1, 500, 40),
    recentN: clamp(options.recent, 0, 200, 20),
    ...(options.key !== undefined ? { key: options.key } : {}),
  };
}

/** One aggregated time-series row: bucket index `b` and its sums. */
export interface DashboardBucketRow {
  b: number;
  requests: number;
  errors: number;
  escalations: number;
  costUsd: number;
  savedUsd: number;
}

/** The bucket width (ms, ≥ 1) of a window starting at the first trace `start`. */
export const bucketWidth = (start: number, untilMs: number, buckets: number): number => Math.max(1, Math.ceil((untilMs - start) / buckets));

/** `buckets` points from per-bucket rows, with cumulative sums (missing buckets are zeros). */
export function seriesPoints(rows: DashboardBucketRow[], start: number, bucketMs: number, buckets: number): DashboardPoint[] {
  const points: DashboardPoint[] = [];
  const byBucket = new Map(rows.map((r) => [Number(r.b), r]));
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
  return points;
}

/** A stored trace trimmed for the dashboard's recent list. */
export function dashboardTrace(t: Trace): DashboardTrace {
  return {
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
  };
}

/** Nearest rank ⌈p·n⌉ (1-based, ≥ 1) of percentile `p` in [0, 100] over `n` sorted values. */
export const nearestRank = (p: number, n: number): number => Math.max(1, Math.ceil((p / 100) * n));

/** The aggregation behind {@link TraceStore.dashboard}. */
function dashboardStats(db: Database.Database, options: DashboardOptions = {}): DashboardStats {
  const { untilMs, since, buckets, recentN } = dashboardWindow(options);
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
  let points: DashboardPoint[] = [];
  let bucketMs = 0;
  if (first !== null) {
    const start = first;
    bucketMs = bucketWidth(start, untilMs, buckets);
    const rows = db
      .prepare(
        `SELECT MIN(@last, CAST((created_at - @start) / @width AS INTEGER)) AS b, COUNT(*) AS requests, TOTAL(NOT ${OK_SQL}) AS errors,
          TOTAL(escalated) AS escalations, TOTAL(cost_usd) AS costUsd, TOTAL(${SAVED_SQL}) AS savedUsd
        FROM traces WHERE ${WHERE} GROUP BY b`,
      )
      .all({ ...w, start, width: bucketMs, last: buckets - 1 }) as DashboardBucketRow[];
    points = seriesPoints(rows, start, bucketMs, buckets);
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
  const rank = (p: number) => nearestRank(p, n);
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
    .map(dashboardTrace);

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
