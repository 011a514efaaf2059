/**
 * Shadow records (src/shadow, docs/shadow.md): one row per shadowed request — what the primary
 * path served and spent, what the candidate strategy would have chosen and spent, the judge's
 * verdict and cost, the candidate router's score. No content (prompts, answers) is stored: a
 * record links to its request's trace by `traceId`, whose content rules (privacy, `storeContent`)
 * stay the trace store's.
 *
 * An embedded SQLite table (`shadow_records`, better-sqlite3) by default — `tandem shadow report`
 * reads it — or an in-memory list (benches, tests). Writes are synchronous single inserts: a
 * shadow evaluation already runs off the request path, after the primary answer was sent.
 */
import Database from "better-sqlite3";
import { mkdirSync } from "node:fs";
import { dirname } from "node:path";

/** A judge's verdict on the candidate vs the primary, or why there is none. */
export type ShadowVerdict =
  /** The candidate's answer was judged better / as good / worse than the primary's. */
  | "win"
  | "tie"
  | "loss"
  /** The candidate chose what the primary served: same answer, nothing to judge. */
  | "same"
  /** The judge's output did not parse (strict parser). */
  | "invalid"
  /** The candidate or the judge failed. */
  | "error"
  /** No judge configured. */
  | "unjudged";

/** One side of a `route` candidate (its weak or strong reference) as the shadow saw it. */
export interface ShadowSide {
  /** The side's model or strategy name. */
  model: string;
  /** USD this side served (or would serve) the request for; absent when it was not run. */
  costUsd?: number;
  /** This side's answer vs the primary's; absent when it was not run. */
  verdict?: ShadowVerdict;
}

/** One shadowed request. Units: USD, probabilities, epoch ms. */
export interface ShadowRecord {
  /** Unique id of the record. */
  id: string;
  /** The trace (and response) id of the shadowed request. */
  traceId: string;
  /** Epoch ms when the shadow evaluation finished. */
  createdAt: number;
  /** Gateway API key name of the request (absent on an open gateway): reports are scoped by it. */
  key?: string;
  /** The requested served name (the primary path). */
  model: string;
  /** The candidate strategy's name. */
  candidate: string;
  /** The sampling rate in [0, 1] when the record was taken (for extrapolating to all traffic). */
  sample: number;
  /** The leaf model that served the primary answer (`info.servedBy`). */
  primaryModel: string;
  /** USD the primary answer cost. */
  primaryCostUsd: number;
  /** What the candidate chose (the route's target) or served; absent when it failed before deciding. */
  candidateModel?: string;
  /** USD the candidate would have spent on this request (the primary's cost when it chose the same); absent on error. */
  candidateCostUsd?: number;
  /** True when the candidate would have served a different model than the primary did. */
  differs: boolean;
  verdict: ShadowVerdict;
  /** USD spent on judging. */
  judgeCostUsd: number;
  /** USD the whole shadow evaluation spent (candidate generations + judge): never charged to the key. */
  shadowCostUsd: number;
  /** The candidate router's score in [0, 1] (a `route` candidate). */
  routerScore?: number;
  /** The candidate route's threshold (score > threshold → strong). */
  threshold?: number;
  /** A `route` candidate's two sides, for the threshold sweep. */
  sides?: { weak: ShadowSide; strong: ShadowSide };
  /** What failed, when `verdict` is `error`. */
  error?: string;
}

/** Which records a reader sees. */
export interface ShadowQuery {
  /** Only this API key's records (tenant scope). */
  key?: string;
  /** Only records of this served name. */
  model?: string;
  /** Only records of this candidate strategy. */
  candidate?: string;
  /** Only records created at or after this epoch ms. */
  since?: number;
}

/** Where shadow records go. */
export interface ShadowStore {
  /** Stores one record. Errors: the database's (the evaluator logs them and counts a failure). */
  record(r: ShadowRecord): void;
  /** Records matching `query` (default all), oldest first. */
  list(query?: ShadowQuery): ShadowRecord[];
  /** Idempotent. */
  close(): void;
}

/** Opens (creating when needed) the SQLite shadow store at `path` (":memory:" for a private one). Errors: better-sqlite3's. */
export function openShadowStore(path: string): ShadowStore {
  if (path !== ":memory:") mkdirSync(dirname(path), { recursive: true });
  const db = new Database(path);
  db.pragma("journal_mode = WAL");
  db.exec(`CREATE TABLE IF NOT EXISTS shadow_records (
    id TEXT PRIMARY KEY,
    trace_id TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    key TEXT,
    model TEXT NOT NULL,
    candidate TEXT NOT NULL,
    data TEXT NOT NULL
  );
  CREATE INDEX IF NOT EXISTS shadow_records_created ON shadow_records (created_at);`);
  const insert = db.prepare("INSERT OR REPLACE INTO shadow_records (id, trace_id, created_at, key, model, candidate, data) VALUES (?, ?, ?, ?, ?, ?, ?)");
  return {
    record(r) {
      insert.run(r.id, r.traceId, r.createdAt, r.key ?? null, r.model, r.candidate, JSON.stringify(r));
    },
    list(query = {}) {
      const where: string[] = [];
      const args: unknown[] = [];
      if (query.key !== undefined) (where.push("key = ?"), args.push(query.key));
      if (query.model !== undefined) (where.push("model = ?"), args.push(query.model));
      if (query.candidate !== undefined) (where.push("candidate = ?"), args.push(query.candidate));
      if (query.since !== undefined) (where.push("created_at >= ?"), args.push(query.since));
      const sql = `SELECT data FROM shadow_records${where.length ? ` WHERE ${where.join(" AND ")}` : ""} ORDER BY created_at, rowid`;
      return (db.prepare(sql).all(...args) as Array<{ data: string }>).map((row) => JSON.parse(row.data) as ShadowRecord);
    },
    close() {
      if (db.open) db.close();
    },
  };
}

/** A shadow store in memory (benches, tests, library users who read records in code). */
export function memoryShadowStore(): ShadowStore & { readonly records: ShadowRecord[] } {
  const records: ShadowRecord[] = [];
  return {
    records,
    record: (r) => void records.push(r),
    list: (q = {}) =>
      records.filter(
        (r) => (q.key === undefined || r.key === q.key) && (q.model === undefined || r.model === q.model) && (q.candidate === undefined || r.candidate === q.candidate) && (q.since === undefined || r.createdAt >= q.since),
      ),
    close: () => {},
  };
}
