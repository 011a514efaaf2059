/**
 * Tenants are kept apart (issue #10 item 7): a real gateway on a loopback port serving a real GGUF
 * model, three keys (team-a, team-b, an admin key), called through the official `openai` client.
 * Every trace records its key; `/dashboard/data`, feedback and exports see only the calling key's
 * traces (admin: all); another key's trace id answers exactly like a missing one; `/health` tells
 * anonymous callers only that the service is up; `/metrics` sits behind `auth.metrics`.
 */
import OpenAI from "openai";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { exportFromTraceDb } from "../src/cli/commands/traces-export.js";
import { buildGateway, type GatewayParts } from "../src/gateway/index.js";
import { parsePolicy } from "../src/policy/index.js";
import { createGatewayApp } from "../src/server/app.js";
import { hashApiKey } from "../src/server/auth.js";
import type { DashboardData } from "../src/server/dashboard.js";
import { listen, type RunningServer } from "../src/server/listen.js";
import { modelPath } from "./helpers.js";

const dir = mkdtempSync(join(tmpdir(), "tandem-tenants-"));
const db = join(dir, "traces.sqlite");
let built: GatewayParts;
let gateway: RunningServer;
let adminOnlyMetrics: RunningServer;
const client = (key: string) => new OpenAI({ baseURL: `${gateway.url}/v1`, apiKey: key, maxRetries: 0 });
const ask = { model: "tiny", messages: [{ role: "user" as const, content: "Once upon a time" }], max_tokens: 6 };
const ids: Record<"a" | "b" | "admin", string[]> = { a: [], b: [], admin: [] };

beforeAll(async () => {
  built = await buildGateway(
    parsePolicy(`
models:
  tiny: { provider: llama-cpp, path: ${modelPath("stories260K.gguf")}, threads: 1, contextSize: 256, sequences: 2 }
auth:
  metrics: key
  keys:
    - { name: team-a, hash: "${hashApiKey("key-a")}" }
    - { name: team-b, hash: "${hashApiKey("key-b")}" }
    - { name: ops, hash: "${hashApiKey("key-admin")}", admin: true }
`),
    { tracesPath: db, ledgerPath: ":memory:" },
  );
  expect(built.policy.auth?.metrics).toBe("key");
  const app = (metricsAuth: "key" | "admin") =>
    createGatewayApp({ models: built.served, traces: built.traces, keys: built.keys, metricsAuth, maxBodyBytes: 2048, name: "tenants" }).app;
  gateway = await listen(app(built.policy.auth!.metrics as "key"), { port: 0 });
  adminOnlyMetrics = await listen(app("admin"), { port: 0 });

  ids.a.push((await client("key-a").chat.completions.create(ask)).id);
  const stream = await client("key-a").chat.completions.create({ ...ask, stream: true });
  let streamId = "";
  for await (const part of stream) streamId = part.id;
  ids.a.push(streamId);
  await expect(client("key-a").chat.completions.create({ ...ask, model: "nope" })).rejects.toMatchObject({ status: 404 }); // a failed request is A's too
  ids.b.push((await client("key-b").chat.completions.create(ask)).id);
  // too large a body: refused before parsing, still traced under the caller's key
  await expect(client("key-b").chat.completions.create({ ...ask, messages: [{ role: "user", content: "x".repeat(4096) }] })).rejects.toMatchObject({ status: 413 });
  ids.admin.push((await client("key-admin").chat.completions.create(ask)).id);
});

afterAll(async () => {
  await gateway?.close();
  await adminOnlyMetrics?.close();
  await built?.close();
  rmSync(dir, { recursive: true, force: true });
});

async function dashboard(key: string): Promise<DashboardData> {
  const res = await fetch(`${gateway.url}/dashboard/data?recent=200`, { headers: { authorization: `Bearer ${key}` } });
  expect(res.status).toBe(200);
  return (await res.json()) as DashboardData;
}

describe("tenants are kept apart", () => {
  it("every trace records the calling key", () => {
    expect(built.traces!.count()).toBe(6);
    expect(built.traces!.count({ key: "team-a" })).toBe(3);
    expect(built.traces!.count({ key: "team-b" })).toBe(2);
    expect(built.traces!.get(ids.a[1])?.key).toBe("team-a");
    expect(built.traces!.get(ids.a[1], { key: "team-b" })).toBeUndefined();
    const tooLarge = built.traces!.list({ key: "team-b" }).find((t) => t.status === 413);
    expect(tooLarge?.error).toBe("payload_too_large");
  });

  it("/dashboard/data: a key sees only its own traces and aggregates; an admin key sees every trace", async () => {
    const a = await dashboard("key-a");
    expect(a.scope).toBe("team-a");
    const aIds = a.stats!.recent.map((t) => t.id);
    expect(aIds).toHaveLength(3);
    for (const id of ids.a) expect(aIds).toContain(id);
    for (const id of [...ids.b, ...ids.admin]) expect(aIds).not.toContain(id);
    expect(a.stats!.totals).toMatchObject({ requests: 3, errors: 1 });
    expect(a.stats!.requested.map((r) => [r.model, r.requests]).sort()).toEqual([["nope", 1], ["tiny", 2]]);
    expect(a.stats!.series.points.reduce((s, p) => s + p.requests, 0)).toBe(3);
    expect(a.stats!.latencyMs.count).toBe(2);

    const b = await dashboard("key-b");
    expect(b.scope).toBe("team-b");
    expect(b.stats!.recent.map((t) => t.id)).not.toContain(ids.a[0]);
    expect(b.stats!.totals).toMatchObject({ requests: 2, errors: 1 });

    const admin = await dashboard("key-admin");
    expect(admin.scope).toBeNull();
    expect(admin.stats!.totals.requests).toBe(6);
    const all = admin.stats!.recent.map((t) => t.id);
    for (const id of [...ids.a, ...ids.b, ...ids.admin]) expect(all).toContain(id);
  });

  it("feedback: another key's trace answers the same 404 as a missing one and stores nothing; admin keys may rate any trace", async () => {
    const target = ids.a[0];
    expect(await client("key-a").post("/tandem/feedback", { body: { trace_id: target, score: 1 } })).toMatchObject({ recorded: true, trace_id: target });

    const raw = (key: string, traceId: string) =>
      fetch(`${gateway.url}/v1/tandem/feedback`, {
        method: "POST",
        headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
        body: JSON.stringify({ trace_id: traceId, score: 0 }),
      });
    const other = await raw("key-b", target);
    const missing = await raw("key-b", "chatcmpl-00000000000000000000000000000000");
    expect(other.status).toBe(404);
    expect(missing.status).toBe(404);
    expect(await other.text()).toBe(await missing.text()); // byte for byte: existence is not revealed
    await expect(client("key-b").post("/tandem/feedback", { body: { trace_id: target, score: 0 } })).rejects.toMatchObject({ status: 404, code: "not_found", param: "trace_id" });
    expect(built.traces!.feedbackScores().get(target)).toBe(1); // B's attempts stored nothing

    expect(await client("key-admin").post("/tandem/feedback", { body: { trace_id: target, score: 0.25 } })).toMatchObject({ recorded: true });
    expect(built.traces!.feedbackScores().get(target)).toBe(0.25);
    expect(await client("key-b").post("/tandem/feedback", { body: { trace_id: ids.b[0], score: 0 } })).toMatchObject({ recorded: true });
    // feedback read for a key covers only its traces
    expect([...built.traces!.feedbackScores({ key: "team-a" }).keys()]).toEqual([target]);
    expect([...built.traces!.feedbackScores({ key: "team-b" }).keys()]).toEqual([ids.b[0]]);
  });

  it("exports are scoped to a key with --key (the operator's file read sees all)", () => {
    const b = exportFromTraceDb({ db, key: "team-b", format: "router" });
    expect(b.considered).toBe(2);
    const a = exportFromTraceDb({ db, key: "team-a", format: "router" });
    expect(a.considered).toBe(3);
    expect(exportFromTraceDb({ db, format: "router" }).considered).toBe(6);
  });

  it("/health: anonymous callers learn only that the service is up", async () => {
    for (const headers of [{}, { authorization: "Bearer wrong" }] as Array<Record<string, string>>) {
      const res = await fetch(`${gateway.url}/health`, { headers });
      expect(res.status).toBe(200);
      expect(await res.json()).toEqual({ status: "ok" });
    }
    const keyed = (await (await fetch(`${gateway.url}/health`, { headers: { authorization: "Bearer key-b" } })).json()) as Record<string, unknown>;
    expect(keyed).toMatchObject({ status: "ok", name: "tenants", models: ["tiny"] });
    expect(typeof keyed.uptime_s).toBe("number");
  });

  it("/metrics behind auth.metrics: key → 401 without one, 200 with one; admin → 403 for a normal key", async () => {
    const open = await fetch(`${gateway.url}/metrics`);
    expect(open.status).toBe(401);
    expect(await open.json()).toMatchObject({ error: { code: "invalid_api_key" } });
    const keyed = await fetch(`${gateway.url}/metrics`, { headers: { authorization: "Bearer key-b" } });
    expect(keyed.status).toBe(200);
    expect(await keyed.text()).toMatch(/tandem_requests_total/);

    expect((await fetch(`${adminOnlyMetrics.url}/metrics`)).status).toBe(401);
    const normal = await fetch(`${adminOnlyMetrics.url}/metrics`, { headers: { authorization: "Bearer key-a" } });
    expect(normal.status).toBe(403);
    expect(await normal.json()).toMatchObject({ error: { code: "permission_denied" } });
    expect((await fetch(`${adminOnlyMetrics.url}/metrics`, { headers: { authorization: "Bearer key-admin" } })).status).toBe(200);
  });

  it("key names must be unique (traces, budgets and limits are kept per name)", () => {
    expect(() =>
      parsePolicy(`
models:
  tiny: { provider: llama-cpp, path: x.gguf }
auth:
  keys:
    - { name: same, hash: "${hashApiKey("k1")}" }
    - { name: same, hash: "${hashApiKey("k2")}" }
`),
    ).toThrow(/unique/);
  });
});
