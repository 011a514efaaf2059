import Database from "better-sqlite3";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { openTraceStore, TraceQueue, type Trace } from "./traces.js";

const trace = (id: string, createdAt: number, extra: Partial<Trace> = {}): Trace => ({
  id, createdAt, model: "route", stream: false, status: 200, servedBy: "edge", escalated: false, degraded: false,
  costUsd: 0, strongOnlyCostUsd: 1e-4, promptTokens: 10, completionTokens: 5, latencyMs: 12.5,
  decisions: [{ strategy: "route", name: "route", signal: "router:heuristic", score: 0.1, threshold: 0.2, chosen: "edge", escalated: false, reason: "r" }],
  calls: [], messages: [{ role: "user", content: "hi" }], responseText: "hello", ...extra,
});

describe("trace store", () => {
  it("persists traces across reopen, most recent first, with content optional", () => {
    const path = join(mkdtempSync(join(tmpdir(), "tandem-traces-")), "t.sqlite");
    const a = openTraceStore(path);
    a.record(trace("1", 1000));
    a.record(trace("2", 2000, { status: 502, error: "upstream_error", servedBy: undefined }));
    a.close();
    const b = openTraceStore(path, { storeContent: false });
    b.record(trace("3", 3000));
    expect(b.count()).toBe(3);
    const list = b.list({ limit: 2 });
    expect(list.map((t) => t.id)).toEqual(["3", "2"]);
    expect(list[1].error).toBe("upstream_error");
    expect(b.get("1")?.decisions[0].score).toBe(0.1);
    expect(b.get("1")?.responseText).toBe("hello");
    expect(b.get("3")?.responseText).toBeUndefined();
    expect(b.get("3")?.messages).toBeUndefined();
    b.close();
  });

  it("scopes reads to a key: get, list, count, dashboard, feedback (a trace of another key looks missing)", () => {
    const s = openTraceStore(":memory:");
    s.record(trace("a1", 1000, { key: "a" }));
    s.record(trace("a2", 2000, { key: "a", model: "cascade" }));
    s.record(trace("b1", 3000, { key: "b" }));
    s.record(trace("open", 4000)); // no key (open gateway)
    expect(s.get("a1", { key: "a" })?.key).toBe("a");
    expect(s.get("a1", { key: "b" })).toBeUndefined();
    expect(s.get("open", { key: "a" })).toBeUndefined();
    expect(s.get("open")?.key).toBeUndefined();
    expect(s.list({ key: "a" }).map((t) => t.id)).toEqual(["a2", "a1"]);
    expect(s.list({ key: "a", model: "cascade" }).map((t) => t.id)).toEqual(["a2"]);
    expect(s.list().map((t) => t.id)).toEqual(["open", "b1", "a2", "a1"]);
    expect([s.count(), s.count({ key: "a" }), s.count({ key: "b" }), s.count({ key: "c" })]).toEqual([4, 2, 1, 0]);
    const d = s.dashboard({ key: "a", untilMs: 10_000 });
    expect(d.totals.requests).toBe(2);
    expect(d.recent.map((t) => t.id)).toEqual(["a2", "a1"]);
    expect(d.sinceMs).toBe(1000);
    expect(s.dashboard({ untilMs: 10_000 }).totals.requests).toBe(4);

    expect(s.addFeedback({ traceId: "a1", score: 1, key: "b", createdAt: 1 }, { key: "b" })).toBe(false);
    expect(s.addFeedback({ traceId: "nope", score: 1, createdAt: 1 })).toBe(false);
    expect(s.feedbackScores().size).toBe(0);
    expect(s.addFeedback({ traceId: "a1", score: 0, key: "a", createdAt: 2 }, { key: "a" })).toBe(true);
    expect(s.addFeedback({ traceId: "b1", score: 1, key: "admin", createdAt: 3 })).toBe(true); // unscoped (admin)
    expect([...s.feedbackScores({ key: "a" })]).toEqual([["a1", 0]]);
    expect(s.feedbackScores().size).toBe(2);
    s.close();
  });

  it("upgrades a database created with the old schema (no key column) in place", () => {
    const path = join(mkdtempSync(join(tmpdir(), "tandem-traces-old-")), "old.sqlite");
    const old = new Database(path);
    // the schema as released before traces recorded their key
    old.exec(`CREATE TABLE traces (id TEXT PRIMARY KEY, created_at INTEGER NOT NULL, model TEXT NOT NULL, stream INTEGER NOT NULL, status INTEGER NOT NULL,
      error TEXT, error_message TEXT, served_by TEXT, escalated INTEGER NOT NULL, degraded INTEGER NOT NULL, cost_usd REAL NOT NULL,
      strong_only_cost_usd REAL NOT NULL, prompt_tokens INTEGER NOT NULL, completion_tokens INTEGER NOT NULL, latency_ms REAL NOT NULL,
      decisions TEXT NOT NULL, calls TEXT NOT NULL, messages TEXT, response_text TEXT);
    CREATE INDEX traces_created ON traces(created_at);
    CREATE TABLE feedback (trace_id TEXT PRIMARY KEY, created_at INTEGER NOT NULL, score REAL NOT NULL, comment TEXT, api_key TEXT);
    INSERT INTO traces VALUES ('legacy', 500, 'route', 0, 200, NULL, NULL, 'edge', 0, 0, 0, 0.0001, 10, 5, 12.5, '[]', '[]', '[{"role":"user","content":"hi"}]', 'hello');`);
    old.close();

    const s = openTraceStore(path);
    s.record(trace("new", 1000, { key: "a" }));
    expect(s.get("legacy")).toMatchObject({ id: "legacy", responseText: "hello", key: undefined });
    expect(s.get("legacy", { key: "a" })).toBeUndefined(); // keyless legacy traces: operator/admin only
    expect(s.list({ key: "a" }).map((t) => t.id)).toEqual(["new"]);
    s.close();
    const again = openTraceStore(path); // a second open finds the column and changes nothing
    expect(again.count()).toBe(2);
    again.close();

    const check = new Database(path, { readonly: true });
    const columns = (check.pragma("table_info(traces)") as Array<{ name: string }>).map((c) => c.name);
    expect(columns.filter((c) => c === "api_key")).toHaveLength(1);
    const indexes = (check.pragma("index_list(traces)") as Array<{ name: string }>).map((i) => i.name);
    expect(indexes).toContain("traces_key_created");
    check.close();
  });
});

/** A manual clock for the write-behind queue: timers fire only when the test says so. */
function manualTimers() {
  const armed = new Map<number, { fn: () => void; ms: number }>();
  let next = 1;
  return {
    timers: {
      set: (fn: () => void, ms: number) => {
        armed.set(next, { fn, ms });
        return next++;
      },
      clear: (h: unknown) => void armed.delete(h as number),
    },
    /** Delays (ms) of the armed timers. */
    delays: () => [...armed.values()].map((t) => t.ms),
    /** Fires every armed timer. */
    fire: () => {
      const due = [...armed.values()];
      armed.clear();
      for (const t of due) t.fn();
    },
  };
}

/** Rows in the file, read by a separate connection (the store's own reads would flush first). */
const rowsOnDisk = (path: string): number => {
  const db = new Database(path, { readonly: true });
  try {
    return (db.prepare("SELECT COUNT(*) AS n FROM traces").get() as { n: number }).n;
  } finally {
    db.close();
  }
};

describe("write-behind traces (SQLite)", () => {
  const tmp = () => join(mkdtempSync(join(tmpdir(), "tandem-wb-")), "t.sqlite");

  it("record() only queues; the timer flushes the batch after flushMs, and batchSize flushes at once", () => {
    const path = tmp();
    const clock = manualTimers();
    const s = openTraceStore(path, { writeBehind: { batchSize: 10, flushMs: 250, timers: clock.timers } });
    for (let i = 0; i < 3; i++) s.record(trace(`t${i}`, 1000 + i));
    expect(rowsOnDisk(path)).toBe(0); // nothing written on the request path
    expect(s.pending).toBe(3);
    expect(clock.delays()).toEqual([250]); // one timer, flushMs after the first queued trace
    clock.fire();
    expect(rowsOnDisk(path)).toBe(3);
    expect(s.pending).toBe(0);
    for (let i = 3; i < 13; i++) s.record(trace(`t${i}`, 1000 + i));
    expect(clock.delays()).toEqual([0]); // the 10th queued trace: flush now, not in 250 ms
    clock.fire();
    expect(rowsOnDisk(path)).toBe(13);
    s.close();
  });

  it("reads flush first: a just-recorded trace is found by get, count, list, dashboard and feedback", () => {
    const clock = manualTimers(); // never fired
    const s = openTraceStore(":memory:", { writeBehind: { timers: clock.timers } });
    s.record(trace("fresh", 1000, { key: "k" }));
    expect(s.get("fresh", { key: "k" })?.id).toBe("fresh");
    s.record(trace("fresh2", 2000, { key: "k" }));
    expect(s.addFeedback({ traceId: "fresh2", score: 1, createdAt: 3000 }, { key: "k" })).toBe(true);
    s.record(trace("fresh3", 3000));
    expect(s.count()).toBe(3);
    s.record(trace("fresh4", 4000));
    expect(s.list({ limit: 1 })[0].id).toBe("fresh4");
    s.record(trace("fresh5", 5000));
    expect(s.dashboard({ untilMs: 10_000 }).totals.requests).toBe(5);
    s.close();
  });

  it("close() writes every queued trace: N recorded, then close → N in the file", () => {
    const path = tmp();
    const clock = manualTimers(); // the timer never fires: only close() can write them
    const s = openTraceStore(path, { writeBehind: { batchSize: 64, maxQueue: 5000, timers: clock.timers } });
    const n = 1234; // several batches
    for (let i = 0; i < n; i++) s.record(trace(`c${i}`, i));
    expect(s.dropped).toBe(0);
    s.close();
    expect(rowsOnDisk(path)).toBe(n);
    s.close(); // idempotent
  });

  it("a full queue drops new traces and counts them; memory stays bounded", () => {
    const path = tmp();
    const clock = manualTimers();
    const s = openTraceStore(path, { writeBehind: { batchSize: 1000, maxQueue: 50, timers: clock.timers } });
    for (let i = 0; i < 80; i++) s.record(trace(`f${i}`, i));
    expect(s.pending).toBe(50);
    expect(s.dropped).toBe(30);
    s.close();
    expect(rowsOnDisk(path)).toBe(50);
    const again = openTraceStore(path);
    expect(again.get("f49")).toBeDefined();
    expect(again.get("f50")).toBeUndefined(); // the newest ones were dropped, the queued ones kept
    again.close();
    s.record(trace("late", 1)); // after close: dropped, counted, no throw
    expect(s.dropped).toBe(31);
  });

  it("overheadMs is stored and read back (absent stays absent)", () => {
    const s = openTraceStore(":memory:");
    s.record(trace("o", 1, { overheadMs: 0.42 }));
    s.record(trace("n", 2));
    expect(s.get("o")?.overheadMs).toBe(0.42);
    expect(s.get("n")).not.toHaveProperty("overheadMs");
    s.close();
  });
});

describe("TraceQueue", () => {
  it("a failing write keeps the batch and retries it; nothing is lost or duplicated", async () => {
    const clock = manualTimers();
    const written: string[] = [];
    let fail = true;
    const q = new TraceQueue(
      async (batch) => {
        if (fail) throw new Error("db down");
        written.push(...batch.map((t) => t.id));
      },
      { batchSize: 2, flushMs: 10, maxQueue: 5, timers: clock.timers },
    );
    for (const id of ["a", "b", "c"]) q.push(trace(id, 1));
    await expect(q.drain()).rejects.toThrow("db down");
    expect(q.pending).toBe(3);
    for (const id of ["d", "e", "f"]) q.push(trace(id, 1)); // "f" exceeds maxQueue 5
    expect(q.dropped).toBe(1);
    fail = false;
    await q.drain();
    expect(written).toEqual(["a", "b", "c", "d", "e"]);
    expect(q.pending).toBe(0);
  });

  it("rejects nonsensical settings", () => {
    expect(() => new TraceQueue(() => {}, { maxQueue: 0 })).toThrow(RangeError);
    expect(() => new TraceQueue(() => {}, { batchSize: Number.NaN })).toThrow(RangeError);
  });
});
