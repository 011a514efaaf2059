/**
 * Per-key USD spend ledger in SQLite (better-sqlite3), so budgets survive restarts. Admission is
 * done by *reservation*: before a request runs, its worst-case cost is reserved; after it ends,
 * the reservation is replaced by the actual cost. Since JavaScript runs admission checks one at a
 * time and SQLite writes are synchronous, concurrent requests can never together overshoot a
 * budget by more than the error of one request's estimate.
 */
import Database from "better-sqlite3";
import { mkdirSync } from "node:fs";
import { dirname } from "node:path";

/** Spend of one key in USD. */
export interface SpendState {
  /** Settled spend, USD. */
  spentUsd: number;
  /** Reserved for requests in flight, USD. */
  reservedUsd: number;
}

/** A ledger of USD spend per key. */
export interface SpendLedger {
  state(key: string): SpendState;
  /**
   * Reserves `usd` for `key` if `spent + reserved + usd ≤ budgetUsd`; returns false otherwise.
   * Atomic with respect to other calls in this process.
   */
  reserve(key: string, usd: number, budgetUsd: number): boolean;
  /** Releases a reservation of `reservedUsd` and records the actual `spentUsd`. */
  settle(key: string, reservedUsd: number, spentUsd: number): void;
  close(): void;
}

/** Opens a ledger at `path` (":memory:" for a process-local one). Errors: better-sqlite3's, at open. */
export function openSpendLedger(path: string): SpendLedger {
  if (path !== ":memory:") mkdirSync(dirname(path), { recursive: true });
  const db = new Database(path);
  db.pragma("journal_mode = WAL");
  db.exec("CREATE TABLE IF NOT EXISTS spend (key TEXT PRIMARY KEY, spent_usd REAL NOT NULL DEFAULT 0)");
  const get = db.prepare("SELECT spent_usd FROM spend WHERE key = ?");
  const add = db.prepare("INSERT INTO spend (key, spent_usd) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET spent_usd = spent_usd + excluded.spent_usd");
  // Reservations are per process: a crash releases them, which is the safe direction.
  const reserved = new Map<string, number>();
  const spent = (key: string) => ((get.get(key) as { spent_usd: number } | undefined)?.spent_usd ?? 0);
  return {
    state: (key) => ({ spentUsd: spent(key), reservedUsd: reserved.get(key) ?? 0 }),
    reserve(key, usd, budgetUsd) {
      const r = reserved.get(key) ?? 0;
      if (spent(key) + r + usd > budgetUsd + 1e-12) return false;
      reserved.set(key, r + usd);
      return true;
    },
    settle(key, reservedUsd, spentUsd) {
      reserved.set(key, Math.max(0, (reserved.get(key) ?? 0) - reservedUsd));
      if (spentUsd > 0) add.run(key, spentUsd);
    },
    close() {
      if (db.open) db.close();
    },
  };
}
