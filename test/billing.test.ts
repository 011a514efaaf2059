/**
 * Billing of unfinished requests and true worst-case reservations (issue #10, items 5 and 6),
 * through the real gateway, real loopback upstreams (node:http) and the official `openai` client
 * or raw fetch.
 *
 * - A client that stops reading a stream, a stream that hits the request timeout, and a
 *   non-streaming request that times out are charged what was generated (ledger, trace, metrics,
 *   tokens per minute) — not $0.
 * - The max_tokens a budget reserves is the max_tokens sent upstream: 40 concurrent requests
 *   without max_tokens against an upstream that would otherwise generate 100,000 tokens each stay
 *   within the budget plus one request's admitted worst case. An upstream that ignores max_tokens
 *   is charged the truth and counted as an overrun.
 * - Tokens per minute are reserved before the call, so a concurrent burst cannot overshoot.
 */
import OpenAI from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Model } from "../src/core/model.js";
import { openaiCompatible } from "../src/providers/openai-compatible.js";
import { cascade } from "../src/strategies/cascade/index.js";
import { createGatewayApp } from "../src/server/app.js";
import { hashApiKey, KeyRing } from "../src/server/auth.js";
import { listen, type RunningServer } from "../src/server/listen.js";
import { GatewayMetrics } from "../src/server/metrics.js";
import { localRateLimiter } from "../src/store/rate-limit.js";
import { openSpendLedger, type SpendLedger } from "../src/store/spend.js";
import { openTraceStore, type Trace, type TraceStore } from "../src/store/traces.js";
import { startFaultServer, type FaultServer } from "./fixtures/production/fault-server.js";

const PROMPT = [{ role: "user" as const, content: "Tell me a story about a cat." }];
/** USD per 1M tokens: 100,000 completion tokens cost $100 — the numbers. */
const PRICE = { inputPerMillion: 1000, outputPerMillion: 1000 };
const BUDGET = 50;
const HUGE = 100_000;

let stall: FaultServer;
let hang: FaultServer;
let honest: FaultServer;
let liar: FaultServer;
let traces: TraceStore;
let ledger: SpendLedger;
const limiter = localRateLimiter();
const metrics = new GatewayMetrics({ defaultMetrics: false });
let gateway: RunningServer;
const keySpecs = [
  { name: "reader", key: "k-reader", budgetUsd: 1000, tokensPerMinute: 1_000_000 },
  { name: "honest", key: "k-honest", budgetUsd: BUDGET },
  { name: "liar", key: "k-liar", budgetUsd: BUDGET },
  { name: "capped", key: "k-capped", budgetUsd: 1000, maxTokens: 256 },
  { name: "tpm", key: "k-tpm", tokensPerMinute: 5_000 },
  { name: "cascader", key: "k-cascader", budgetUsd: BUDGET },
];

const remote = (id: string, baseURL: string, timeoutMs = 20_000) => openaiCompatible({ id, baseURL, model: id, maxRetries: 0, timeoutMs, price: PRICE });
const clientFor = (key: string) => new OpenAI({ baseURL: `${gateway.url}/v1`, apiKey: key, maxRetries: 0, timeout: 30_000 });

beforeAll(async () => {
  stall = await startFaultServer({ mode: "stall", brokenAfter: 6, text: "one two three four five six seven eight nine ten" });
  hang = await startFaultServer({ mode: "hang" });
  // a real API generates min(max_tokens, what it wanted); this one wants 100,000 tokens
  honest = await startFaultServer({ mode: "ok", completionTokens: (max) => Math.min(max ?? HUGE, HUGE) });
  liar = await startFaultServer({ mode: "ok", completionTokens: () => HUGE });
  traces = openTraceStore(":memory:");
  ledger = openSpendLedger(":memory:");
  const keys = new KeyRing(
    keySpecs.map(({ key, ...spec }) => ({ ...spec, hash: hashApiKey(key) })),
    { ledger, limiter },
  );
  const models = new Map<string, Model>([
    ["stall", remote("stall", stall.baseURL)],
    ["hang", remote("hang", hang.baseURL)],
    ["honest", remote("honest", honest.baseURL)],
    ["liar", remote("liar", liar.baseURL)],
  ]);
  // a cascade of two priced upstreams that always escalates (the upstream returns no logprobs):
  // each request makes two calls, so its worst case is two calls' worth
  models.set("cascade-stall", cascade({ id: "cascade-stall", weak: remote("weak", honest.baseURL), strong: models.get("stall")!, signal: "mean-logprob", threshold: -1 }));
  models.set("cascade", cascade({ id: "cascade", weak: remote("weak", honest.baseURL), strong: models.get("honest")!, signal: "mean-logprob", threshold: -1 }));
  const { app } = createGatewayApp({ models, traces, keys, metrics, requestTimeoutMs: 1_500 });
  gateway = await listen(app, { port: 0 });
});
afterAll(async () => {
  await gateway?.close();
  traces?.close();
  await ledger?.close();
  await Promise.all([stall, hang, honest, liar].map((s) => s?.close()));
});

/** The newest trace of `model` created at or after `since`, waiting for it. */
async function traceOf(model: string, since: number, where: (t: Trace) => boolean = () => true): Promise<Trace> {
  for (let i = 0; i < 400; i++) {
    const t = traces.list({ limit: 100, model }).filter((x) => x.createdAt >= since && where(x));
    if (t.length) return t[0];
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`no trace for ${model}`);
}

/** Waits until `f` holds (settling is asynchronous: it follows the trace). */
async function until(f: () => Promise<boolean>): Promise<void> {
  for (let i = 0; i < 400 && !(await f()); i++) await new Promise((r) => setTimeout(r, 25));
}

const metricValue = async (name: string, labels: string) => {
  const line = (await metrics.render()).split("\n").find((l) => l.startsWith(`${name}{`) && l.includes(labels));
  return line ? Number(line.split(" ").pop()) : 0;
};

describe("unfinished requests are paid for (item 5)", () => {
  it("a client that stops reading mid-stream is charged the streamed tokens: ledger, trace 499, metrics, tokens per minute", async () => {
    const since = Date.now();
    const controller = new AbortController();
    const res = await fetch(`${gateway.url}/v1/chat/completions`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: "Bearer k-reader" },
      body: JSON.stringify({ model: "stall", messages: PROMPT, stream: true, max_tokens: 500 }),
      signal: controller.signal,
    });
    expect(res.status).toBe(200);
    const reader = res.body!.getReader();
    let seen = "";
    // read until the sixth word arrived, then go away (the upstream stalls: no usage will ever come)
    while (!seen.includes('"content":" six"')) {
      const { value, done } = await reader.read();
      if (done) break;
      seen += new TextDecoder().decode(value);
    }
    controller.abort();
    const t = await traceOf("stall", since);
    expect(t.status).toBe(499);
    expect(t.error).toBe("aborted");
    expect(t.completionTokens).toBeGreaterThanOrEqual(6); // six content chunks (o200k: one token each)
    expect(t.completionTokens).toBeLessThan(20);
    expect(t.promptTokens).toBeGreaterThan(0);
    const expected = (t.promptTokens * PRICE.inputPerMillion + t.completionTokens * PRICE.outputPerMillion) / 1e6;
    expect(t.costUsd).toBeCloseTo(expected, 9);
    expect(t.costUsd).toBeGreaterThan(0);
    await until(async () => (await ledger.state("reader")).spentUsd > 0);
    const state = await ledger.state("reader");
    expect(state.spentUsd).toBeCloseTo(t.costUsd, 9);
    expect(state.reservedUsd).toBe(0);
    expect(await limiter.tokensInWindow("reader", 60_000)).toBe(t.promptTokens + t.completionTokens);
    expect(await metricValue("tandem_cost_usd_total", 'model="stall"')).toBeGreaterThanOrEqual(t.costUsd - 1e-12);
    expect(await metricValue("tandem_tokens_total", 'kind="completion"')).toBeGreaterThanOrEqual(t.completionTokens);
  });

  it("a cascade whose strong stream is abandoned is charged the weak call it made too", async () => {
    const since = Date.now();
    const controller = new AbortController();
    const res = await fetch(`${gateway.url}/v1/chat/completions`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: "Bearer k-reader" },
      body: JSON.stringify({ model: "cascade-stall", messages: PROMPT, stream: true, max_tokens: 50 }),
      signal: controller.signal,
    });
    const reader = res.body!.getReader();
    let seen = "";
    while (!seen.includes('"content":" three"')) {
      const { value, done } = await reader.read();
      if (done) break;
      seen += new TextDecoder().decode(value);
    }
    controller.abort();
    const t = await traceOf("cascade-stall", since);
    expect(t.status).toBe(499);
    const weak = t.calls.find((c) => c.model === "weak");
    expect(weak, JSON.stringify(t.calls)).toBeDefined();
    expect(weak!.completionTokens).toBe(50); // the honest upstream generated max_tokens
    expect(t.costUsd).toBeGreaterThan(weak!.costUsd);
    expect(t.costUsd).toBeCloseTo(t.calls.reduce((s, c) => s + c.costUsd, 0), 9);
  });

  it("a stream that hits the request timeout is charged what was streamed (trace 504)", async () => {
    const since = Date.now();
    const before = (await ledger.state("reader")).spentUsd;
    const res = await fetch(`${gateway.url}/v1/chat/completions`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: "Bearer k-reader" },
      body: JSON.stringify({ model: "stall", messages: PROMPT, stream: true, max_tokens: 500 }),
    });
    const body = await res.text(); // ends when the gateway's 1.5 s timeout fires
    expect(body).toMatch(/"code":"upstream_timeout"/);
    expect(body).not.toContain("[DONE]");
    const t = await traceOf("stall", since, (x) => x.status === 504);
    expect(t.completionTokens).toBeGreaterThanOrEqual(6);
    expect(t.costUsd).toBeGreaterThan(0);
    await until(async () => (await ledger.state("reader")).spentUsd > before);
    expect((await ledger.state("reader")).spentUsd - before).toBeCloseTo(t.costUsd, 9);
  });

  it("a non-streaming request that times out after it was sent is charged its prompt (the upstream read it)", async () => {
    const since = Date.now();
    const before = (await ledger.state("reader")).spentUsd;
    await expect(clientFor("k-reader").chat.completions.create({ model: "hang", messages: PROMPT, max_tokens: 500 })).rejects.toMatchObject({ status: 504 });
    const t = await traceOf("hang", since);
    expect(t.status).toBe(504);
    expect(t.promptTokens).toBeGreaterThan(0);
    expect(t.completionTokens).toBe(0);
    expect(t.costUsd).toBeCloseTo((t.promptTokens * PRICE.inputPerMillion) / 1e6, 9);
    await until(async () => (await ledger.state("reader")).spentUsd > before);
    expect((await ledger.state("reader")).spentUsd - before).toBeCloseTo(t.costUsd, 9);
  });
});

describe("budget reservations are the true worst case (item 6)", () => {
  it("40 concurrent requests without max_tokens: the reserved max_tokens is sent, spend stays within budget + one admitted worst case", async () => {
    const c = clientFor("k-honest");
    honest.maxTokensSeen.length = 0;
    const results = await Promise.allSettled(Array.from({ length: 40 }, () => c.chat.completions.create({ model: "honest", messages: PROMPT })));
    const ok = results.filter((r) => r.status === "fulfilled");
    expect(ok.length).toBeGreaterThan(0);
    for (const r of results) if (r.status === "rejected") expect(r.reason).toMatchObject({ status: 429, code: "budget_exceeded" });
    // every upstream call was capped at what was reserved
    expect(honest.maxTokensSeen.length).toBe(ok.length);
    expect(new Set(honest.maxTokensSeen)).toEqual(new Set([1024]));
    // keep going one by one until refused
    for (let i = 0; i < 60; i++) {
      const r = await c.chat.completions.create({ model: "honest", messages: PROMPT }).catch((e: unknown) => e);
      if (r instanceof Error) {
        expect(r).toMatchObject({ status: 429, code: "budget_exceeded" });
        break;
      }
    }
    const state = await ledger.state("honest");
    const promptChars = JSON.stringify({ model: "honest", messages: PROMPT }).length + 20;
    const worstCase = (Math.ceil(promptChars / 3) * PRICE.inputPerMillion + 1024 * PRICE.outputPerMillion) / 1e6;
    expect(state.spentUsd).toBeGreaterThan(BUDGET / 2);
    expect(state.spentUsd).toBeLessThanOrEqual(BUDGET + worstCase);
    expect(state.reservedUsd).toBe(0);
    expect(await metricValue("tandem_reservation_overruns_total", 'model="honest"')).toBe(0);
  });

  it("a strategy that makes several calls reserves all of them: 40 concurrent cascade requests stay within budget + one request's worst case", async () => {
    const c = clientFor("k-cascader");
    const results = await Promise.allSettled(Array.from({ length: 40 }, () => c.chat.completions.create({ model: "cascade", messages: PROMPT })));
    const ok = results.filter((r) => r.status === "fulfilled");
    expect(ok.length).toBeGreaterThan(0);
    for (const r of results) if (r.status === "rejected") expect(r.reason).toMatchObject({ status: 429, code: "budget_exceeded" });
    const state = await ledger.state("cascader");
    const promptChars = JSON.stringify({ model: "cascade", messages: PROMPT }).length + 20;
    const oneCall = (Math.ceil(promptChars / 3) * PRICE.inputPerMillion + 1024 * PRICE.outputPerMillion) / 1e6;
    // one-call reservations (the old bound) would let about 2 × 50 / 2.05 ≈ 47 requests of 2 calls through: $97
    expect(state.spentUsd).toBeLessThanOrEqual(BUDGET + 2 * oneCall);
    expect(state.reservedUsd).toBe(0);
    expect(await metricValue("tandem_reservation_overruns_total", 'model="cascade"')).toBe(0);
  });

  it("a client's max_tokens above the key's cap is clamped to it (and that is what is sent and reserved)", async () => {
    honest.maxTokensSeen.length = 0;
    const r = await clientFor("k-capped").chat.completions.create({ model: "honest", messages: PROMPT, max_tokens: 5000 });
    expect(r.usage?.completion_tokens).toBe(256);
    expect(honest.maxTokensSeen).toEqual([256]);
    await clientFor("k-capped").chat.completions.create({ model: "honest", messages: PROMPT });
    expect(honest.maxTokensSeen).toEqual([256, 256]);
  });

  it("an upstream that ignores max_tokens: the ledger records the truth, the overrun is counted, and the key is then refused", async () => {
    const c = clientFor("k-liar");
    const results = await Promise.allSettled(Array.from({ length: 40 }, () => c.chat.completions.create({ model: "liar", messages: PROMPT })));
    const ok = results.filter((r) => r.status === "fulfilled") as PromiseFulfilledResult<OpenAI.Chat.ChatCompletion>[];
    expect(ok.length).toBeGreaterThan(0);
    for (const r of ok) expect(r.value.usage?.completion_tokens).toBe(HUGE);
    expect(liar.maxTokensSeen.every((m) => m === 1024)).toBe(true); // it was asked to stop at 1,024
    const state = await ledger.state("liar");
    expect(state.spentUsd).toBeGreaterThan(BUDGET); // the truth: what the upstream will bill
    expect(state.spentUsd).toBeCloseTo(ok.length * (8 * PRICE.inputPerMillion + HUGE * PRICE.outputPerMillion) / 1e6, 6);
    expect(await metricValue("tandem_reservation_overruns_total", 'model="liar"')).toBe(ok.length);
    expect(await metricValue("tandem_reservation_overrun_usd_total", 'model="liar"')).toBeGreaterThan(ok.length * 90);
    await expect(c.chat.completions.create({ model: "liar", messages: PROMPT, max_tokens: 1 })).rejects.toMatchObject({ status: 429, code: "budget_exceeded" });
  });

  it("tokens per minute are reserved before the call: a concurrent burst cannot overshoot the limit", async () => {
    const c = clientFor("k-tpm");
    // each request reserves ~20 prompt + 1,000 completion tokens against 5,000 per minute
    const results = await Promise.allSettled(Array.from({ length: 20 }, () => c.chat.completions.create({ model: "honest", messages: PROMPT, max_tokens: 1000 })));
    const ok = results.filter((r) => r.status === "fulfilled") as PromiseFulfilledResult<OpenAI.Chat.ChatCompletion>[];
    const refused = results.filter((r) => r.status === "rejected") as PromiseRejectedResult[];
    expect(ok.length).toBeGreaterThanOrEqual(1);
    expect(ok.length).toBeLessThanOrEqual(4);
    for (const r of refused) expect(r.reason).toMatchObject({ status: 429, code: "rate_limit_exceeded" });
    await until(async () => (await limiter.tokensInWindow("tpm", 60_000)) >= ok.length * 1000);
    const used = await limiter.tokensInWindow("tpm", 60_000);
    expect(used).toBe(ok.reduce((s, r) => s + r.value.usage!.prompt_tokens + r.value.usage!.completion_tokens, 0));
    expect(used).toBeLessThanOrEqual(5_000);
  });
});
