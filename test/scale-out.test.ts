/**
 * Scale-out: two `tandem serve` processes (real child processes, same policy) share one real
 * Redis (Debian's redis-server on a loopback port), as two replicas behind a load balancer would.
 * Driven by the official openai client, the test checks that they enforce one budget, one rate
 * limit, one circuit breaker and one online router threshold — and that limits fail closed and
 * breakers fail open when Redis goes away.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import OpenAI from "openai";
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { cliCommand } from "../src/policy/index.js";
import { hashApiKey } from "../src/server/auth.js";
import { scoreBin, SCORE_BINS, thresholdForShare } from "../src/strategies/route/stats.js";
import { startFaultServer, type FaultServer } from "./fixtures/production/fault-server.js";
import { startRedis, type TestRedis } from "./fixtures/production/redis.js";
import { modelPath } from "./helpers.js";

interface TandemField {
  served_by: string;
  cost_usd: number;
  degraded: boolean;
  decisions: Array<{ strategy: string; signal: string; score: number; threshold: number; escalated: boolean; reason: string }>;
}
const tandemOf = (r: unknown) => (r as { tandem: TandemField }).tandem;

const BUDGET = 0.2; // USD
const dir = mkdtempSync(join(tmpdir(), "tandem-scale-"));
let redis: TestRedis;
let upstream: FaultServer;
const replicas: Array<{ child: ChildProcess; url: string }> = [];

function startReplica(policy: string): Promise<{ child: ChildProcess; url: string }> {
  const { command, args } = cliCommand();
  const child = spawn(command, [...args, "serve", "--policy", policy, "--port", "0"], { cwd: dir, stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`replica did not start in 60 s: ${out}`)), 60_000);
    child.stdout!.on("data", (d: Buffer) => {
      out += d.toString();
      const m = out.match(/listening on (http:\/\/\S+) /);
      if (m) {
        clearTimeout(timer);
        resolve({ child, url: m[1] });
      }
    });
    child.stderr!.on("data", (d: Buffer) => (out += d.toString()));
    child.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`replica exited with ${code}: ${out}`));
    });
  });
}

const client = (replica: number, key: string) => new OpenAI({ baseURL: `${replicas[replica].url}/v1`, apiKey: key, maxRetries: 0 });
const ask = (content: string) => ({ messages: [{ role: "user" as const, content }], max_tokens: 16, temperature: 0 });

beforeAll(async () => {
  redis = await startRedis();
  upstream = await startFaultServer();
  const policy = join(dir, "tandem.yaml");
  writeFileSync(
    policy,
    `
server: { requestTimeoutMs: 20000 }
traces: { path: ${join(dir, "traces.sqlite")} }
models:
  # priced high on purpose so that a few requests exhaust the budget (USD per 1M tokens)
  cloud: { provider: openai-compatible, baseURL: "${upstream.baseURL}", model: big, maxRetries: 0, timeoutMs: 5000, price: { input: 1000, output: 1000 } }
  edge: { provider: llama-cpp, path: ${modelPath("stories260K.gguf")}, threads: 1, contextSize: 256, sequences: 2 }
strategies:
  resilient: { kind: fallback, primary: cloud, fallbacks: [edge], retries: 0, breaker: { failureThreshold: 2, cooldownMs: 600000 } }
  online: { kind: route, weak: edge, strong: cloud, router: { kind: heuristic }, threshold: 0.2, strongShare: 0.5, minObservations: 6 }
auth:
  keys:
    - { name: team-a, hash: "${hashApiKey("key-a")}", budgetUsd: ${BUDGET}, models: [cloud] }
    - { name: team-b, hash: "${hashApiKey("key-b")}", requestsPerMinute: 4 }
    - { name: ops, hash: "${hashApiKey("key-ops")}" }
state:
  redis: { url: "${redis.url}", prefix: "scale:" }
`,
  );
  replicas.push(...(await Promise.all([startReplica(policy), startReplica(policy)])));
}, 120_000);

afterAll(async () => {
  for (const r of replicas) {
    const exited = new Promise((done) => (r.child.exitCode === null ? r.child.once("exit", done) : done(null)));
    r.child.kill("SIGTERM");
    await exited;
  }
  await upstream?.close();
  await redis?.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe("two gateway replicas sharing Redis", () => {
  it("enforce one budget under concurrent spending across both (overshoot ≤ one request's cost)", async () => {
    const calls = Array.from({ length: 24 }, (_, i) => client(i % 2, "key-a").chat.completions.create({ ...ask("Tell me a story."), model: "cloud" }));
    const results = await Promise.allSettled(calls);
    const ok = results.filter((r) => r.status === "fulfilled").map((r) => tandemOf((r as PromiseFulfilledResult<unknown>).value).cost_usd);
    const refused = results.filter((r) => r.status === "rejected").map((r) => (r as PromiseRejectedResult).reason);
    expect(ok.length).toBeGreaterThan(0);
    expect(refused.length).toBeGreaterThan(0);
    for (const e of refused) expect(e).toMatchObject({ status: 429, code: "budget_exceeded" });
    // keep spending one request at a time, alternating replicas, until refused
    for (let i = 0; i < 20; i++) {
      try {
        ok.push(tandemOf(await client(i % 2, "key-a").chat.completions.create({ ...ask("Tell me a story."), model: "cloud" })).cost_usd);
      } catch (e) {
        expect(e).toMatchObject({ status: 429, code: "budget_exceeded" });
        break;
      }
    }
    const spent = ok.reduce((s, x) => s + x, 0);
    expect(spent).toBeLessThanOrEqual(BUDGET + Math.max(...ok));
    // one ledger: what Redis recorded is what both replicas charged
    const r = new Redis(redis.url);
    expect(Number(await r.get("scale:spend:{team-a}"))).toBeCloseTo(spent, 9);
    await r.quit();
    // and both replicas now refuse
    for (const i of [0, 1]) await expect(client(i, "key-a").chat.completions.create({ ...ask("Tell me a story."), model: "cloud" })).rejects.toMatchObject({ status: 429, code: "budget_exceeded" });
  });

  it("count one request rate limit across both", async () => {
    for (const i of [0, 1, 0, 1]) await client(i, "key-b").chat.completions.create({ ...ask("Hello"), model: "cloud" });
    for (const i of [0, 1]) await expect(client(i, "key-b").chat.completions.create({ ...ask("Hello"), model: "cloud" })).rejects.toMatchObject({ status: 429, code: "rate_limit_exceeded" });
  });

  it("share one circuit breaker: failures seen by replica A stop replica B from calling the upstream", async () => {
    upstream.mode = "reset";
    const before = upstream.calls;
    for (let k = 0; k < 2; k++) {
      const r = tandemOf(await client(0, "key-ops").chat.completions.create({ ...ask("Once upon a time"), model: "resilient" }));
      expect(r).toMatchObject({ served_by: "edge", degraded: true });
      expect(r.decisions[0].signal).toBe("upstream-error");
    }
    expect(upstream.calls - before).toBe(2); // retries: 0, so one call per request
    await new Promise((r) => setTimeout(r, 100)); // the failure reports reach Redis
    const onB = tandemOf(await client(1, "key-ops").chat.completions.create({ ...ask("Once upon a time"), model: "resilient" }));
    expect(onB).toMatchObject({ served_by: "edge", degraded: true });
    expect(onB.decisions[0].signal).toBe("circuit-open");
    expect(upstream.calls - before).toBe(2); // B never called the failing upstream
    upstream.mode = "ok";
  });

  it("calibrate the router threshold online from one score distribution", async () => {
    const prompts = ["Hi", "What is 12 * 7?", "Tell me a story about a cat.", "Solve 3x + 5 = 20 for x.", "Why is the sky blue?", "Write a poem", "Compute 15% of 80."];
    const decisions = [];
    for (const [k, p] of prompts.entries()) {
      const r = tandemOf(await client(k % 2, "key-ops").chat.completions.create({ ...ask(p), model: "online" }));
      decisions.push(r.decisions[0]);
    }
    // the first 6 (3 per replica) use the fixed threshold; the 7th, on replica A, the median of all 6
    for (const d of decisions.slice(0, 6)) expect(d.threshold).toBe(0.2);
    const histogram = new Array<number>(SCORE_BINS).fill(0);
    for (const d of decisions.slice(0, 6)) histogram[scoreBin(d.score)]++;
    expect(decisions[6].threshold).toBeCloseTo(thresholdForShare(histogram, 0.5)!, 9);
    expect(decisions[6].reason).toMatch(/online threshold \(strong share 0.5\)/);
  });

  it("fail closed on budgets and open on breakers when Redis goes away", async () => {
    await redis.stop();
    await expect(client(0, "key-a").chat.completions.create({ ...ask("Hi"), model: "cloud" })).rejects.toMatchObject({ status: 503, code: "overloaded" });
    // no limits on this key: served, the breaker lets the (healthy) upstream be called
    const before = upstream.calls;
    const r = tandemOf(await client(1, "key-ops").chat.completions.create({ ...ask("Once upon a time"), model: "resilient" }));
    expect(r.served_by).toBe("cloud");
    expect(upstream.calls).toBe(before + 1);
    // the route falls back to its fixed threshold
    const routed = tandemOf(await client(0, "key-ops").chat.completions.create({ ...ask("Hi"), model: "online" }));
    expect(routed.decisions[0].threshold).toBe(0.2);
  });
});
