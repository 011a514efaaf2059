/**
 * Traces: every request's decision path (strategy, router score or confidence, models called,
 * tokens, cost, latency, outcome), stored in an embedded SQLite database (better-sqlite3) by
 * default. Writes are synchronous and happen before the response completes, so a trace is never
 * lost to a crash after the answer; failed requests are traced too.
 */
import Database from "better-sqlite3";
import { mkdirSync } from "node:fs";
import { dirname } from "node:path";
import type { Decision, ModelCall } from "../core/model.js";
import type { ChatMessage } from "../core/wire.js";

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
}

/** Where traces go. */
export interface TraceStore {
  record(trace: Trace): void;
  /** Most recent first. */
  list(options?: { limit?: number; model?: string }): Trace[];
  get(id: string): Trace | undefined;
  count(): number;
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
    response_text TEXT
  );
  CREATE INDEX IF NOT EXISTS traces_created ON traces(created_at);`);
  const storeContent = options.storeContent ?? true;
  const insert = db.prepare(`INSERT OR REPLACE INTO traces VALUES (@id, @createdAt, @model, @stream, @status, @error, @errorMessage, @servedBy,
    @escalated, @degraded, @costUsd, @strongOnlyCostUsd, @promptTokens, @completionTokens, @latencyMs, @decisions, @calls, @messages, @responseText)`);

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
  });

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
        decisions: JSON.stringify(t.decisions),
        calls: JSON.stringify(t.calls),
        messages: storeContent && t.messages ? JSON.stringify(t.messages) : null,
        responseText: storeContent ? (t.responseText ?? null) : null,
      });
    },
    list({ limit = 20, model } = {}) {
      const rows = model
        ? db.prepare("SELECT * FROM traces WHERE model = ? ORDER BY created_at DESC, rowid DESC LIMIT ?").all(model, limit)
        : db.prepare("SELECT * FROM traces ORDER BY created_at DESC, rowid DESC LIMIT ?").all(limit);
      return (rows as Record<string, unknown>[]).map(fromRow);
    },
    get(id) {
      const r = db.prepare("SELECT * FROM traces WHERE id = ?").get(id) as Record<string, unknown> | undefined;
      return r ? fromRow(r) : undefined;
    },
    count() {
      return (db.prepare("SELECT COUNT(*) AS n FROM traces").get() as { n: number }).n;
    },
    close() {
      if (db.open) db.close();
    },
  };
}
