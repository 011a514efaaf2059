/**
 * A trace store in PostgreSQL (the `pg` client), shared by several gateway replicas: one
 * dashboard, one feedback table and one export over every replica's traces. Same semantics as the
 * SQLite store (`../traces.ts`) behind {@link AsyncTraceStore}: write-behind queue (each replica
 * flushes its own traces in batched multi-row upserts, one transaction per batch), reads flush the
 * replica's own queue first, tenant scoping by the `api_key` column. A replica sees another
 * replica's traces once that one has flushed (≤ its `flushMs`).
 *
 * Tables `tandem_traces`, `tandem_feedback` and `tandem_migrations`; the schema is applied at
 * open from ./migrations.ts (idempotent, under an advisory lock).
 *
 * Text columns cannot hold U+0000 in Postgres: NUL characters in plain-text columns (model,
 * answer text, error message…) are stored as U+FFFD; JSON columns keep them (escaped).
 */
import pg from "pg";
import {
  bucketWidth,
  dashboardTrace,
  dashboardWindow,
  fromRow,
  nearestRank,
  seriesPoints,
  TraceQueue,
  traceColumns,
  type AsyncTraceStore,
  type DashboardBucketRow,
  type DashboardLatency,
  type DashboardOptions,
  type DashboardRequestedRow,
  type DashboardServedRow,
  type DashboardStats,
  type DashboardTotals,
  type Feedback,
  type Trace,
  type TraceListOptions,
  type TraceScope,
  type WriteBehindOptions,
} from "../traces.js";
import { MIGRATIONS } from "./migrations.js";

/** Options of {@link openPostgresTraceStore}. */
export interface PostgresTraceStoreOptions {
  /** false keeps prompts and answers out of the database (as the SQLite store). Default true. */
  storeContent?: boolean;
  /** Write-behind queue settings (see `../traces.ts`). */
  writeBehind?: WriteBehindOptions;
  /** Most connections of this replica's pool. Default 4. */
  maxConnections?: number;
}

/** The Postgres trace store: {@link AsyncTraceStore} with every read a promise. */
export interface PostgresTraceStore extends AsyncTraceStore {
  addFeedback(feedback: Feedback, scope?: TraceScope): Promise<boolean>;
  feedbackScores(scope?: TraceScope): Promise<Map<string, number>>;
  list(options?: TraceListOptions): Promise<Trace[]>;
  get(id: string, scope?: TraceScope): Promise<Trace | undefined>;
  count(scope?: TraceScope): Promise<number>;
  dashboard(options?: DashboardOptions): Promise<DashboardStats>;
  flush(): Promise<void>;
  /** Flushes the queue (a failure is logged: those traces are lost), then ends the pool. Idempotent. */
  close(): Promise<void>;
}

/** `url` with its password masked, for messages. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = "***";
    return u.toString();
  } catch {
    return "(unparseable url)";
  }
}

const ADVISORY_LOCK = 7_305_417_301; // "tandem traces" migrations

/** Applies the pending migrations in one transaction under an advisory lock. Errors: pg's. */
async function migrate(pool: pg.Pool): Promise<void> {
  const client = await pool.connect();
  try {
    await client.query("BEGIN");
    await client.query("SELECT pg_advisory_xact_lock($1)", [ADVISORY_LOCK]);
    await client.query("CREATE TABLE IF NOT EXISTS tandem_migrations (id TEXT PRIMARY KEY, applied_at TIMESTAMPTZ NOT NULL DEFAULT now())");
    const done = new Set((await client.query<{ id: string }>("SELECT id FROM tandem_migrations")).rows.map((r) => r.id));
    for (const m of MIGRATIONS) {
      if (done.has(m.id)) continue;
      await client.query(m.sql);
      await client.query("INSERT INTO tandem_migrations (id) VALUES ($1)", [m.id]);
    }
    await client.query("COMMIT");
  } catch (error) {
    await client.query("ROLLBACK").catch(() => {});
    throw error;
  } finally {
    client.release();
  }
}

const COLUMNS = [
  "id",
  "created_at",
  "model",
  "stream",
  "status",
  "error",
  "error_message",
  "served_by",
  "escalated",
  "degraded",
  "cost_usd",
  "strong_only_cost_usd",
  "prompt_tokens",
  "completion_tokens",
  "latency_ms",
  "decisions",
  "calls",
  "messages",
  "response_text",
  "api_key",
  "overhead_ms",
] as const;
const UPSERT_TAIL = `ON CONFLICT (id) DO UPDATE SET ${COLUMNS.filter((c) => c !== "id")
  .map((c) => `${c} = EXCLUDED.${c}`)
  .join(", ")}`;

/** NUL-free text (Postgres TEXT rejects U+0000). */
const clean = (s: string | null): string | null => (s !== null && s.includes("\0") ? s.replaceAll("\0", "\uFFFD") : s);

/** SQLSTATE classes of errors caused by a row's data (retry row by row, drop the bad ones) rather than by the database. */
const dataError = (error: unknown): boolean => /^(22|23|54)/.test(String((error as { code?: unknown }).code ?? ""));

/** Builder of positional parameters: `p(v)` appends `v` and answers its `$n`. */
function params(): { values: unknown[]; p: (v: unknown) => string } {
  const values: unknown[] = [];
  return { values, p: (v) => (values.push(v), `$${values.length}`) };
}

/** SQL of a successful request and of its USD saved, as the SQLite store's. */
const OK_SQL = "(status BETWEEN 200 AND 299)";
const SAVED_SQL = `(CASE WHEN ${OK_SQL} THEN GREATEST(0, strong_only_cost_usd - cost_usd) ELSE 0 END)`;
const ERR_SQL = `(CASE WHEN ${OK_SQL} THEN 0 ELSE 1 END)`;
const total = (x: string) => `COALESCE(SUM(${x}), 0)::float8`;

/**
 * Opens the Postgres trace store at `url` (`postgres://user:pass@host:port/db`), applying the
 * schema migrations. Errors: pg's connection/authentication/SQL errors, as an `Error` whose
 * message names the URL with its password masked; RangeError for bad `writeBehind` numbers.
 */
export async function openPostgresTraceStore(url: string, options: PostgresTraceStoreOptions = {}): Promise<PostgresTraceStore> {
  const pool = new pg.Pool({ connectionString: url, max: options.maxConnections ?? 4 });
  // an idle client's error (server restart) must not crash the process: the next query reconnects
  pool.on("error", (error) => console.error(`tandem: postgres trace store ${redactUrl(url)}: ${error.message}`));
  try {
    await migrate(pool);
  } catch (error) {
    await pool.end().catch(() => {});
    throw new Error(`Cannot open the Postgres trace store at ${redactUrl(url)}: ${(error as Error).message}`, { cause: error });
  }
  const storeContent = options.storeContent ?? true;
  let rejected = 0;

  const rowValues = (t: Trace): unknown[] => {
    const c = traceColumns(t, storeContent);
    return [
      clean(c.id),
      c.createdAt,
      clean(c.model),
      c.stream,
      c.status,
      clean(c.error),
      clean(c.errorMessage),
      clean(c.servedBy),
      c.escalated,
      c.degraded,
      c.costUsd,
      c.strongOnlyCostUsd,
      Math.round(c.promptTokens),
      Math.round(c.completionTokens),
      c.latencyMs,
      c.decisions,
      c.calls,
      clean(c.messages),
      clean(c.responseText),
      clean(c.key),
      c.overheadMs,
    ];
  };
  const insertRows = async (client: pg.PoolClient | pg.Pool, batch: Trace[]) => {
    const { values, p } = params();
    const tuples = batch.map((t) => `(${rowValues(t).map(p).join(", ")})`);
    await client.query(`INSERT INTO tandem_traces (${COLUMNS.join(", ")}) VALUES ${tuples.join(", ")} ${UPSERT_TAIL}`, values);
  };
  const write = async (batch: Trace[]) => {
    // one upsert cannot touch a row twice: the latest trace of an id wins, as INSERT OR REPLACE
    const byId = new Map(batch.map((t) => [t.id, t]));
    const rows = [...byId.values()];
    try {
      await insertRows(pool, rows); // one statement = one transaction
    } catch (error) {
      if (!dataError(error)) throw error; // the database is down or busy: keep the batch, retry later
      // a row the database refuses: store the others one by one, drop (and count) the bad ones
      for (const t of rows) {
        try {
          await insertRows(pool, [t]);
        } catch (e) {
          if (!dataError(e)) throw e;
          rejected++;
          console.error(`tandem: postgres refused trace ${t.id}: ${(e as Error).message}`);
        }
      }
    }
  };
  const queue = new TraceQueue(write, options.writeBehind, "postgres traces");
  const fresh = async () => {
    if (queue.pending === 0) return;
    await queue.drain().catch((error: unknown) => console.error(`tandem: could not write ${queue.pending} queued trace(s): ${(error as Error).message}`));
  };
  let closing: Promise<void> | undefined;

  /** WHERE of a dashboard window (created_at in [since, until], optional key). */
  const windowSql = (p: (v: unknown) => string, w: { since: number; untilMs: number; key?: string }) =>
    `created_at BETWEEN ${p(w.since)}::bigint AND ${p(w.untilMs)}::bigint${w.key !== undefined ? ` AND api_key = ${p(w.key)}` : ""}`;

  return {
    record(t) {
      queue.push(t);
    },
    flush: () => queue.drain(),
    get dropped() {
      return queue.dropped + rejected;
    },
    get pending() {
      return queue.pending;
    },
    async addFeedback(f, scope) {
      await fresh();
      const scoped = scope?.key !== undefined;
      const r = await pool.query(
        `INSERT INTO tandem_feedback (trace_id, created_at, score, comment, api_key)
        SELECT id, $2, $3, $4, $5 FROM tandem_traces WHERE id = $1 ${scoped ? "AND api_key = $6" : ""}
        ON CONFLICT (trace_id) DO UPDATE SET created_at = EXCLUDED.created_at, score = EXCLUDED.score, comment = EXCLUDED.comment, api_key = EXCLUDED.api_key`,
        [clean(f.traceId), f.createdAt, f.score, clean(f.comment ?? null), clean(f.key ?? null), ...(scoped ? [scope.key] : [])],
      );
      return (r.rowCount ?? 0) > 0;
    },
    async feedbackScores(scope) {
      await fresh();
      const r =
        scope?.key === undefined
          ? await pool.query<{ trace_id: string; score: number }>("SELECT trace_id, score FROM tandem_feedback")
          : await pool.query<{ trace_id: string; score: number }>("SELECT f.trace_id, f.score FROM tandem_feedback f JOIN tandem_traces t ON t.id = f.trace_id WHERE t.api_key = $1", [scope.key]);
      return new Map(r.rows.map((x) => [x.trace_id, x.score]));
    },
    async list({ limit = 20, model, key } = {}) {
      await fresh();
      const { values, p } = params();
      const where = [model !== undefined ? `model = ${p(model)}` : "", key !== undefined ? `api_key = ${p(key)}` : ""].filter(Boolean);
      const r = await pool.query(`SELECT * FROM tandem_traces ${where.length ? `WHERE ${where.join(" AND ")}` : ""} ORDER BY created_at DESC, seq DESC LIMIT ${p(Math.max(0, Math.floor(limit)))}`, values);
      return r.rows.map(fromRow);
    },
    async get(id, scope) {
      await fresh();
      const scoped = scope?.key !== undefined;
      const r = await pool.query(`SELECT * FROM tandem_traces WHERE id = $1 ${scoped ? "AND api_key = $2" : ""}`, scoped ? [id, scope.key] : [id]);
      return r.rows[0] ? fromRow(r.rows[0]) : undefined;
    },
    async count(scope) {
      await fresh();
      const r =
        scope?.key === undefined
          ? await pool.query<{ n: number }>("SELECT COUNT(*)::int AS n FROM tandem_traces")
          : await pool.query<{ n: number }>("SELECT COUNT(*)::int AS n FROM tandem_traces WHERE api_key = $1", [scope.key]);
      return r.rows[0].n;
    },
    async dashboard(options = {}) {
      await fresh();
      const w = dashboardWindow(options);
      const { untilMs, since, buckets, recentN } = w;
      const q = async <R extends object>(build: (p: (v: unknown) => string) => string): Promise<R[]> => {
        const { values, p } = params();
        const text = build(p);
        return (await pool.query(text, values)).rows as R[];
      };

      const [t] = await q<DashboardTotals & { first: string | null }>(
        (p) => `SELECT COUNT(*)::int AS requests, ${total(ERR_SQL)} AS errors, ${total("cost_usd")} AS "costUsd",
          ${total("strong_only_cost_usd")} AS "strongOnlyCostUsd", ${total(SAVED_SQL)} AS "savedUsd", ${total("escalated::int")} AS escalations,
          ${total("degraded::int")} AS degraded, ${total("prompt_tokens")} AS "promptTokens", ${total("completion_tokens")} AS "completionTokens",
          MIN(created_at) AS first
        FROM tandem_traces WHERE ${windowSql(p, w)}`,
      );
      const { first: firstRaw, ...totals } = t;
      const first = firstRaw === null ? null : Number(firstRaw);

      let points: DashboardStats["series"]["points"] = [];
      let bucketMs = 0;
      if (first !== null) {
        bucketMs = bucketWidth(first, untilMs, buckets);
        const rows = await q<DashboardBucketRow>(
          (p) => `SELECT LEAST(${p(buckets - 1)}::bigint, (created_at - ${p(first)}::bigint) / ${p(bucketMs)}::bigint)::int AS b, COUNT(*)::int AS requests,
            ${total(ERR_SQL)} AS errors, ${total("escalated::int")} AS escalations, ${total("cost_usd")} AS "costUsd", ${total(SAVED_SQL)} AS "savedUsd"
          FROM tandem_traces WHERE ${windowSql(p, w)} GROUP BY 1`,
        );
        points = seriesPoints(rows, first, bucketMs, buckets);
      }

      const served = await q<Omit<DashboardServedRow, "share">>(
        (p) => `SELECT served_by AS model, COUNT(*)::int AS requests, ${total("cost_usd")} AS "costUsd", ${total("prompt_tokens + completion_tokens")} AS tokens,
          AVG(latency_ms)::float8 AS "meanLatencyMs"
        FROM tandem_traces WHERE ${windowSql(p, w)} AND served_by IS NOT NULL GROUP BY served_by ORDER BY requests DESC, served_by COLLATE "C"`,
      );
      const servedTotal = served.reduce((s, r) => s + r.requests, 0);
      const requested = await q<DashboardRequestedRow>(
        (p) => `SELECT model, COUNT(*)::int AS requests, ${total(ERR_SQL)} AS errors, ${total("escalated::int")} AS escalations, ${total("cost_usd")} AS "costUsd",
          ${total(SAVED_SQL)} AS "savedUsd", AVG(latency_ms)::float8 AS "meanLatencyMs"
        FROM tandem_traces WHERE ${windowSql(p, w)} GROUP BY model ORDER BY requests DESC, model COLLATE "C"`,
      );

      const [{ n }] = await q<{ n: number }>((p) => `SELECT COUNT(*)::int AS n FROM tandem_traces WHERE ${windowSql(p, w)} AND ${OK_SQL}`);
      const rank = (pct: number) => nearestRank(pct, n);
      const ranked =
        n === 0
          ? new Map<number, number>()
          : new Map(
              (
                await q<{ rn: string; v: number }>(
                  (p) => `SELECT rn, v FROM (SELECT latency_ms AS v, ROW_NUMBER() OVER (ORDER BY latency_ms) AS rn FROM tandem_traces WHERE ${windowSql(p, w)} AND ${OK_SQL}) ranked
                  WHERE rn IN (${p(rank(50))}::bigint, ${p(rank(95))}::bigint, ${p(rank(99))}::bigint, ${p(n)}::bigint)`,
                )
              ).map((r) => [Number(r.rn), r.v]),
            );
      const at = (r: number) => ranked.get(r) ?? 0;
      const latencyMs: DashboardLatency = { count: n, p50: at(rank(50)), p95: at(rank(95)), p99: at(rank(99)), max: at(n) };

      const recent = (
        await q<Record<string, unknown>>((p) => `SELECT * FROM tandem_traces WHERE ${windowSql(p, w)} ORDER BY created_at DESC, seq DESC LIMIT ${p(recentN)}`)
      )
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
    },
    close() {
      closing ??= (async () => {
        queue.close();
        await queue.drain().catch((error: unknown) => console.error(`tandem: closing the postgres trace store lost ${queue.pending} trace(s): ${(error as Error).message}`));
        await pool.end();
      })();
      return closing;
    },
  };
}
