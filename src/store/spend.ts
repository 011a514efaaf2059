/**
 * Per-key USD spend ledgers. Admission is done by *reservation*: before a request runs, its
 * worst-case cost is reserved; after it ends, the reservation is replaced by the actual cost. So
 * concurrent requests can never together overshoot a budget by more than the error of one
 * request's estimate.
 *
 * Two implementations share the {@link SpendLedger} interface: this file's SQLite one
 * (better-sqlite3; one gateway process; budgets survive restarts) and the Redis one in
 * `redis/spend.ts` (several gateway replicas enforce one budget).
 */
import Database from "better-sqlite3";
import { randomUUID } from "node:crypto";
import { mkdirSync } from "node:fs";
import { dirname } from "node:path";

import type { SpendLedger } from "../core/ports.js";

/** The port lives in src/core/ports.ts; re-exported here for old import paths. */
export type { SpendLedger, SpendState } from "../core/ports.js";

/** Opens a SQLite ledger at `path` (":memory:" for a process-local one). Errors: better-sqlite3's, at open. */
export function openSpendLedger(path: string): SpendLedger {
  if (path !== ":memory:") mkdirSync(dirname(path), { recursive: true });
  const db = new Database(path);
  db.pragma("journal_mode = WAL");
  db.exec("CREATE TABLE IF NOT EXISTS spend (key TEXT PRIMARY KEY, spent_usd REAL NOT NULL DEFAULT 0)");
  const get = db.prepare("SELECT spent_usd FROM spend WHERE key = ?");
  const add = db.prepare("INSERT INTO spend (key, spent_usd) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET spent_usd = spent_usd + excluded.spent_usd");
  // Reservations are per process: a crash releases them, which is the safe direction. The check
  // and the reservation run in one synchronous step, so no other request interleaves.
  const reserved = new Map<string, number>();
  const spent = (key: string) => ((get.get(key) as { spent_usd: number } | undefined)?.spent_usd ?? 0);
  return {
    state: async (key) => ({ spentUsd: spent(key), reservedUsd: reserved.get(key) ?? 0 }),
    async reserve(key, usd, budgetUsd) {
      const r = reserved.get(key) ?? 0;
      if (spent(key) + r + usd > budgetUsd + 1e-12) return undefined;
      reserved.set(key, r + usd);
      return randomUUID();
    },
    async settle(key, _id, reservedUsd, spentUsd) {
      reserved.set(key, Math.max(0, (reserved.get(key) ?? 0) - reservedUsd));
      if (spentUsd > 0) add.run(key, spentUsd);
    },
    async close() {
      if (db.open) db.close();
    },
  };
}
