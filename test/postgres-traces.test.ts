/**
 * A shared trace store for replicas (issue #13 item 4): a real PostgreSQL cluster (Debian's
 * `postgresql`, started on a loopback port by test/fixtures/production/postgres.ts), two real
 * gateways on loopback ports serving a real GGUF model with three keys, both writing to it through
 * `traces: { postgres: { url } }`, called through the official `openai` client. One gateway's
 * dashboard shows both gateways' traces; feedback is scoped to the calling key across gateways;
 * an export reads from Postgres; the SQL aggregation matches the SQLite store's exactly; the
 * write-behind queue loses nothing on close and counts what a full queue drops.
 */
import OpenAI from "openai";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createGateway, type Gateway } from "../src/gateway/index.js";
import { parsePolicy } from "../src/policy/index.js";
import { hashApiKey } from "../src/server/auth.js";
import type { DashboardData } from "../src/server/dashboard.js";
import type { RunningServer } from "../src/server/listen.js";
import { exportTraces, type SftRecord } from "../src/store/export.js";
import { openPostgresTraceStore, type PostgresTraceStore } from "../src/store/postgres/traces.js";
import { MIGRATIONS } from "../src/store/postgres/migrations.js";
import { openTraceStore, type Trace } from "../src/store/traces.js";
import { decisionObservations } from "../src/strategies/registry.js";
import { startPostgres, type TestPostgres } from "./fixtures/production/postgres.js";
import { modelPath } from "./helpers.js";

let pgServer: TestPostgres;
let url: string;
const gateways: Gateway[] = [];
const servers: RunningServer[] = [];
const ask = { model: "tiny", messages: [{ role: "user" as const, content: "Once upon a time" }], max_tokens: 6 };
const client = (server: RunningServer, key: string) => new OpenAI({ baseURL: `${server.url}/v1`, apiKey: key, maxRetries: 0 });
/** Trace ids by the gateway (0, 1) and key that made them. */
const ids: Array<{ gw: number; key: string; id: string }> = [];

const policy = (dbUrl: string) =>
  parsePolicy(`
models:
  tiny: { provider: llama-cpp, path: ${modelPath("stories260K.gguf")}, threads: 1, contextSize: 256, sequences: 2, location: cloud }
traces:
  postgres: { url: "${dbUrl}" }
auth:
  keys:
    - { name: team-a, hash: "${hashApiKey("key-a")}" }
    - { name: team-b, hash: "${hashApiKey("key-b")}" }
    - { name: ops, hash: "${hashApiKey("key-admin")}", admin: true }
`);

const trace = (id: string, createdAt: number, extra: Partial<Trace> = {}): Trace => ({
  id, createdAt, model: "route", stream: false, status: 200, servedBy: "edge", escalated: false, degraded: false,
  costUsd: 0, strongOnlyCostUsd: 1e-4, promptTokens: 10, completionTokens: 5, latencyMs: 12.5,
  decisions: [{ strategy: "route", name: "route", signal: "router:heuristic", score: 0.1, threshold: 0.2, chosen: "edge", escalated: false, reason: "r" }],
  calls: [], messages: [{ role: "user", content: "hi" }], responseText: "hello", ...extra,
});

/** `x` with every number rounded to 12 significant digits (sums of floats differ in the last bits between engines: SQLite's TOTAL compensates). */
const rounded = (x: unknown): unknown => JSON.parse(JSON.stringify(x, (_, v: unknown) => (typeof v === "number" ? Number(v.toPrecision(12)) : v)));

beforeAll(async () => {
  pgServer = await startPostgres();
  url = pgServer.database("replicas");
  for (let i = 0; i < 2; i++) {
    const g = await createGateway(policy(url), { ledgerPath: ":memory:" });
    gateways.push(g);
    servers.push(await g.listen({ host: "127.0.0.1", port: 0 }));
  }
  const call = async (gw: number, key: string, name: string, stream = false) => {
    if (stream) {
      let id = "";
      for await (const part of await client(servers[gw], key).chat.completions.create({ ...ask, stream: true })) id = part.id;
      ids.push({ gw, key: name, id });
    } else ids.push({ gw, key: name, id: (await client(servers[gw], key).chat.completions.create(ask)).id });
  };
  await call(0, "key-a", "team-a");
  await call(0, "key-a", "team-a", true);
  await call(1, "key-a", "team-a");
  await call(1, "key-b", "team-b");
  await call(1, "key-admin", "ops");
  await expect(client(servers[0], "key-b").chat.completions.create({ ...ask, model: "nope" })).rejects.toMatchObject({ status: 404 }); // traced too
}, 120_000);

afterAll(async () => {
  for (const g of gateways) await g.close();
  await pgServer?.stop();
});

async function dashboard(gw: number, key: string): Promise<DashboardData> {
  const res = await fetch(`${servers[gw].url}/dashboard/data?recent=200`, { headers: { authorization: `Bearer ${key}` } });
  expect(res.status).toBe(200);
  return (await res.json()) as DashboardData;
}

describe("traces in PostgreSQL, shared by two gateways", () => {
  it("the gateways use the Postgres store (no SQLite one)", () => {
    for (const g of gateways) {
      expect(g.built.traces).toBeUndefined();
      expect(g.built.traceStore).toBeDefined();
    }
  });

  it("one dashboard shows both gateways' traces (the other replica's arrive by its flush timer)", async () => {
    // gateway 0's read flushes its own queue; gateway 1's traces arrive when its timer flushes (100 ms): poll, generous bound
    const deadline = Date.now() + 15_000;
    let d = await dashboard(0, "key-admin");
    while (d.stats!.totals.requests < 6 && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 100));
      d = await dashboard(0, "key-admin");
    }
    expect(d.stats!.totals.requests).toBe(6);
    expect(d.stats!.totals.errors).toBe(1);
    expect(new Set(d.stats!.recent.map((t) => t.id))).toEqual(new Set([...ids.map((x) => x.id), d.stats!.recent.find((t) => t.status === 404)!.id]));
    expect(d.stats!.servedBy).toEqual([expect.objectContaining({ model: "tiny", requests: 5, share: 1 })]);
    // the same picture from the other gateway
    const other = await dashboard(1, "key-admin");
    expect(other.stats!.totals).toEqual(d.stats!.totals);
  });

  it("a key's dashboard covers only its own traces, from either gateway", async () => {
    for (const gw of [0, 1]) {
      const a = await dashboard(gw, "key-a");
      expect(a.scope).toBe("team-a");
      expect(a.stats!.recent.map((t) => t.id).sort()).toEqual(ids.filter((x) => x.key === "team-a").map((x) => x.id).sort());
      const b = await dashboard(gw, "key-b");
      expect(b.stats!.totals.requests).toBe(2); // its answer (gateway 1) and its 404 (gateway 0)
    }
  });

  it("feedback is scoped: team-a rates its trace written by the other gateway; team-b gets 404 for it, as for a missing one", async () => {
    const aTrace = ids.find((x) => x.key === "team-a" && x.gw === 0)!.id;
    const post = (gw: number, key: string, body: unknown) =>
      fetch(`${servers[gw].url}/v1/tandem/feedback`, { method: "POST", headers: { authorization: `Bearer ${key}`, "content-type": "application/json" }, body: JSON.stringify(body) });
    const theirs = await post(1, "key-b", { trace_id: aTrace, score: 0 });
    const missing = await post(1, "key-b", { trace_id: "chatcmpl-nope", score: 0 });
    expect(theirs.status).toBe(404);
    expect(missing.status).toBe(404);
    expect(await theirs.json()).toEqual(await missing.json());
    const ours = await post(1, "key-a", { trace_id: aTrace, score: 1, comment: "good" });
    expect(ours.status).toBe(200);
    const store = gateways[0].built.traceStore!;
    expect((await store.feedbackScores({ key: "team-a" })).get(aTrace)).toBe(1);
    expect((await store.feedbackScores({ key: "team-b" })).has(aTrace)).toBe(false);
    // a just-answered trace is found by feedback at once (the read flushes the writer's queue)
    const fresh = (await client(servers[1], "key-b").chat.completions.create(ask)).id;
    expect((await post(1, "key-b", { trace_id: fresh, score: 0.2 })).status).toBe(200);
  });

  it("an export reads from Postgres: every key's traces, or one key's, with the stored feedback", async () => {
    const store = gateways[1].built.traceStore!;
    const scope = { key: "team-a" };
    const traces = (await store.list({ limit: Math.max(1, await store.count(scope)), ...scope })).reverse();
    expect(traces.map((t) => t.id).sort()).toEqual(ids.filter((x) => x.key === "team-a").map((x) => x.id).sort());
    const result = exportTraces(traces, { format: "sft", observations: decisionObservations(), feedback: await store.feedbackScores(scope) });
    const records = result.records as SftRecord[];
    expect(result.considered).toBe(3);
    expect(records.length).toBeGreaterThanOrEqual(1); // deduplicated: the same prompt and answer
    for (const r of records) expect(r.messages[0]).toEqual({ role: "user", content: "Once upon a time" });
    const all = await store.list({ limit: 100 });
    expect(all.length).toBeGreaterThanOrEqual(7);
    expect(all.every((t) => t.key !== undefined)).toBe(true);
  });

  it("/metrics exposes tandem_traces_dropped_total (0 here)", async () => {
    const text = await (await fetch(`${servers[0].url}/metrics`)).text();
    expect(text).toMatch(/^tandem_traces_dropped_total 0$/m);
  });
});

describe("the Postgres store itself", () => {
  let store: PostgresTraceStore;
  let dbUrl: string;
  beforeAll(async () => {
    dbUrl = pgServer.database("unit");
    store = await openPostgresTraceStore(dbUrl);
  });
  afterAll(async () => {
    await store?.close();
  });

  it("migrations are applied once, also by replicas opening at the same time", async () => {
    const fresh = pgServer.database("concurrent");
    const opened = await Promise.all([0, 1, 2].map(() => openPostgresTraceStore(fresh)));
    for (const s of opened) await s.close();
    const again = await openPostgresTraceStore(fresh); // and a later open changes nothing
    await again.close();
    const c = new pg.Client({ connectionString: fresh });
    await c.connect();
    try {
      expect((await c.query("SELECT id FROM tandem_migrations ORDER BY id")).rows.map((r) => r.id)).toEqual(MIGRATIONS.map((m) => m.id));
    } finally {
      await c.end();
    }
  });

  it("computes the same dashboard, lists and scopes as the SQLite store", async () => {
    const sqlite = openTraceStore(":memory:");
    const rd = (chosen: string, score: number) => ({ strategy: "route", name: "route", signal: "router:heuristic", score, threshold: 0.2, chosen, escalated: chosen === "strong", reason: "r" });
    const traces = [
      trace("p-a", 1000, { strongOnlyCostUsd: 0.0001, latencyMs: 10, decisions: [rd("edge", 0.1)], key: "x" }),
      trace("p-b", 2000, { servedBy: "strong", escalated: true, costUsd: 0.0003, strongOnlyCostUsd: 0.0003, latencyMs: 40, decisions: [rd("strong", 0.5)] }),
      trace("p-c", 5000, { model: "cascade", strongOnlyCostUsd: 0.0002, latencyMs: 20, stream: true, key: "x" }),
      trace("p-d", 6000, { model: "cascade", servedBy: "strong", escalated: true, degraded: true, costUsd: 0.0005, strongOnlyCostUsd: 0.0004, latencyMs: 30, overheadMs: 0.25 }),
      trace("p-e", 9000, { model: "nope", status: 404, error: "model_not_found", servedBy: undefined, promptTokens: 0, completionTokens: 0, latencyMs: 1 }),
      trace("p-f", 9000, { latencyMs: 33, key: "y" }),
      trace("p-later", 20_000, { costUsd: 1 }),
    ];
    for (const t of traces) {
      sqlite.record(t);
      store.record(t);
    }
    for (const o of [{ untilMs: 10_000, buckets: 3, recent: 3 }, { sinceMs: 4500, untilMs: 10_000, buckets: 5, recent: 10 }, { untilMs: 30_000, key: "x" }, { untilMs: 100 }]) {
      expect(rounded(await store.dashboard(o)), JSON.stringify(o)).toEqual(rounded(sqlite.dashboard(o)));
    }
    expect(await store.list({ limit: 10 })).toEqual(sqlite.list({ limit: 10 }));
    expect(await store.list({ limit: 10, model: "cascade", key: "x" })).toEqual(sqlite.list({ limit: 10, model: "cascade", key: "x" }));
    expect(await store.count({ key: "x" })).toBe(2);
    expect(await store.get("p-a", { key: "y" })).toBeUndefined(); // another key's trace looks missing
    expect(await store.get("p-d")).toEqual(sqlite.get("p-d"));
    sqlite.close();
  });

  it("a trace with NUL characters in text columns is stored (as U+FFFD) and does not poison its batch", async () => {
    store.record(trace("nul-1", 30_000, { model: "a\0b", responseText: "x\0y", messages: [{ role: "user", content: "q\0" }] }));
    store.record(trace("nul-2", 30_001));
    await store.flush();
    expect((await store.get("nul-1"))?.model).toBe("a\uFFFDb");
    expect((await store.get("nul-1"))?.messages?.[0].content).toBe("q\0"); // JSON keeps it
    expect(await store.get("nul-2")).toBeDefined();
    expect(store.dropped).toBe(0);
  });

  it("close() writes every queued trace; a full queue drops and counts", async () => {
    const dbName = pgServer.database("shutdown");
    const never = { set: () => 0, clear: () => {} }; // the timer never fires: only close() writes
    const s = await openPostgresTraceStore(dbName, { writeBehind: { batchSize: 100, maxQueue: 1000, timers: never } });
    for (let i = 0; i < 1100; i++) s.record(trace(`s${i}`, i));
    expect(s.pending).toBe(1000);
    expect(s.dropped).toBe(100);
    await s.close();
    const reader = await openPostgresTraceStore(dbName);
    expect(await reader.count()).toBe(1000);
    expect(await reader.get("s999")).toBeDefined();
    expect(await reader.get("s1000")).toBeUndefined();
    await reader.close();
  });

  it("open fails with a clear message (password masked) when the server cannot be reached", async () => {
    const dead = `postgres://tandem:secret@127.0.0.1:1/nope`;
    await expect(openPostgresTraceStore(dead)).rejects.toThrow(/Cannot open the Postgres trace store at postgres:\/\/tandem:\*\*\*@127\.0\.0\.1:1\/nope/);
  });
});
