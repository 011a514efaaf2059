/**
 * The Postgres trace store's schema migrations, in order. Each runs once per database, inside the
 * transaction that records it in `tandem_migrations` (see `migrate` in ./traces.ts), under an
 * advisory lock so replicas starting together apply each exactly once. Embedded as strings so
 * `dist/` needs no copied files; append new migrations, never edit an applied one.
 */
export interface Migration {
  /** Stable id, e.g. "001_init" (the order is the array's). */
  id: string;
  sql: string;
}

export const MIGRATIONS: readonly Migration[] = [
  {
    id: "001_init",
    sql: `
CREATE TABLE IF NOT EXISTS tandem_traces (
  seq BIGSERIAL NOT NULL,
  id TEXT PRIMARY KEY,
  created_at BIGINT NOT NULL,
  model TEXT NOT NULL,
  stream BOOLEAN NOT NULL,
  status INTEGER NOT NULL,
  error TEXT,
  error_message TEXT,
  served_by TEXT,
  escalated BOOLEAN NOT NULL,
  degraded BOOLEAN NOT NULL,
  cost_usd DOUBLE PRECISION NOT NULL,
  strong_only_cost_usd DOUBLE PRECISION NOT NULL,
  prompt_tokens INTEGER NOT NULL,
  completion_tokens INTEGER NOT NULL,
  latency_ms DOUBLE PRECISION NOT NULL,
  decisions TEXT NOT NULL,
  calls TEXT NOT NULL,
  messages TEXT,
  response_text TEXT,
  api_key TEXT,
  overhead_ms DOUBLE PRECISION
);
CREATE INDEX IF NOT EXISTS tandem_traces_created ON tandem_traces (created_at);
CREATE INDEX IF NOT EXISTS tandem_traces_key_created ON tandem_traces (api_key, created_at);
CREATE TABLE IF NOT EXISTS tandem_feedback (
  trace_id TEXT PRIMARY KEY,
  created_at BIGINT NOT NULL,
  score DOUBLE PRECISION NOT NULL,
  comment TEXT,
  api_key TEXT
);
`,
  },
];
