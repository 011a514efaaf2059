/**
 * The lean upstream hop of `openai-compatible` (issue #13 items 1, 2, 5): connection reuse over
 * one pool per origin, the SDK's retry / backoff / timeout / abort semantics against the fault
 * server, agreement with the official `openai` client on the same upstream, the gateway's
 * pass-through fast path (the upstream's own body and chunks, the `tandem` field, usage charged)
 * and `x-tandem-overhead-ms` on every response, in traces and in /metrics.
 */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import OpenAI from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { TandemError } from "../core/errors.js";
import type { Model } from "../core/model.js";
import { createGatewayApp } from "../server/app.js";
import { listen, type RunningServer } from "../server/listen.js";
import { openTraceStore, type Trace, type TraceStore } from "../store/traces.js";
import { fallback } from "../strategies/fallback/index.js";
import { startFaultServer, type FaultServer } from "../../test/fixtures/production/fault-server.js";
import { openaiCompatible, passthroughOf, retryDelayMs } from "./openai-compatible.js";

const PROMPT = [{ role: "user" as const, content: "What is 6 times 7?" }];
const PRICE = { inputPerMillion: 100, outputPerMillion: 1000 };
const WORDS = ["The", " answer", " is", " 42."];
const PROBE = "relay-probe"; // a field only the upstream writes: present only when its bytes are relayed

/** A loopback upstream counting its TCP connections; every body and chunk carries `service_tier: PROBE`. */
async function countingUpstream(): Promise<{ baseURL: string; connections: () => number; requests: () => number; close(): Promise<void> }> {
  let connections = 0;
  let requests = 0;
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      requests++;
      const body = JSON.parse(Buffer.concat(chunks).toString("utf8")) as { stream?: boolean; stream_options?: { include_usage?: boolean } };
      const usage = { prompt_tokens: 11, completion_tokens: WORDS.length, total_tokens: 11 + WORDS.length };
      const base = { id: "up-id", created: 1, model: "upstream-name", service_tier: PROBE, system_fingerprint: "fp_up" };
      if (!body.stream) {
        res.writeHead(200, { "content-type": "application/json" });
        res.end(JSON.stringify({ ...base, object: "chat.completion", choices: [{ index: 0, message: { role: "assistant", content: WORDS.join("") }, finish_reason: "stop", logprobs: null }], usage }));
        return;
      }
      res.writeHead(200, { "content-type": "text/event-stream" });
      const send = (o: unknown) => res.write(`data: ${JSON.stringify(o)}\n\n`);
      send({ ...base, object: "chat.completion.chunk", choices: [{ index: 0, delta: { role: "assistant", content: "" }, finish_reason: null }] });
      for (const w of WORDS) send({ ...base, object: "chat.completion.chunk", choices: [{ index: 0, delta: { content: w }, finish_reason: null }] });
      send({ ...base, object: "chat.completion.chunk", choices: [{ index: 0, delta: {}, finish_reason: "stop" }] });
      if (body.stream_options?.include_usage) send({ ...base, object: "chat.completion.chunk", choices: [], usage });
      res.end("data: [DONE]\n\n");
    });
  });
  server.on("connection", () => connections++);
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
  const { port } = server.address() as AddressInfo;
  return {
    baseURL: `http://127.0.0.1:${port}/v1`,
    connections: () => connections,
    requests: () => requests,
    close: () => new Promise<void>((r) => {
      server.closeAllConnections();
      server.close(() => r());
    }),
  };
}

async function codeOf(p: Promise<unknown>): Promise<TandemError> {
  try {
    await p;
  } catch (error) {
    expect(TandemError.isInstance(error)).toBe(true);
    return error as TandemError;
  }
  throw new Error("expected a failure");
}

async function drain(m: Model, signal?: AbortSignal): Promise<string> {
  let text = "";
  for await (const part of m.stream({ messages: PROMPT }, signal)) if (part.type === "text") text += part.text;
  return text;
}

describe("the upstream hop", () => {
  let up: Awaited<ReturnType<typeof countingUpstream>>;
  beforeAll(async () => {
    up = await countingUpstream();
  });
  afterAll(async () => {
    await up?.close();
  });

  it("reuses connections: 100 sequential and 40 concurrent calls (JSON and SSE) over a handful of sockets", async () => {
    const m = openaiCompatible({ id: "reuse", baseURL: up.baseURL, model: "x", maxRetries: 0, connections: 8 });
    const before = up.connections();
    for (let i = 0; i < 50; i++) expect((await m.generate({ messages: PROMPT })).text).toBe(WORDS.join(""));
    for (let i = 0; i < 50; i++) expect(await drain(m)).toBe(WORDS.join(""));
    expect(up.connections() - before).toBeLessThanOrEqual(2);
    await Promise.all(Array.from({ length: 40 }, (_, i) => (i % 2 ? m.generate({ messages: PROMPT }) : drain(m))));
    // bounded: at most `connections` sockets, however many calls are in flight
    expect(up.connections() - before).toBeLessThanOrEqual(8 + 2);
    // a second model on the same origin shares the pool
    const twin = openaiCompatible({ id: "twin", baseURL: up.baseURL, model: "x", maxRetries: 0 });
    const mid = up.connections();
    for (let i = 0; i < 20; i++) await twin.generate({ messages: PROMPT });
    expect(up.connections() - mid).toBe(0);
    await twin.close?.();
    await m.close?.();
  });

  it("agrees with the official openai client on the same upstream (text, usage)", async () => {
    const m = openaiCompatible({ id: "ref", baseURL: up.baseURL, model: "x", maxRetries: 0 });
    const sdk = new OpenAI({ baseURL: up.baseURL, apiKey: "none", maxRetries: 0 });
    const ref = await sdk.chat.completions.create({ model: "x", messages: PROMPT });
    const ours = await m.generate({ messages: PROMPT });
    expect(ours.text).toBe(ref.choices[0].message.content);
    expect(ours.usage).toEqual({ promptTokens: ref.usage!.prompt_tokens, completionTokens: ref.usage!.completion_tokens });
    let refText = "";
    for await (const c of await sdk.chat.completions.create({ model: "x", messages: PROMPT, stream: true })) refText += c.choices[0]?.delta?.content ?? "";
    expect(await drain(m)).toBe(refText);
    await m.close?.();
  });
});

describe("retries, backoff, timeouts and aborts (fault server)", () => {
  let fault: FaultServer;
  beforeAll(async () => {
    fault = await startFaultServer({ mode: "ok" });
  });
  afterAll(async () => {
    await fault?.close();
  });

  it("retries a 500 maxRetries times with backoff, then names the upstream status", async () => {
    fault.mode = "http500";
    const calls0 = fault.calls;
    const t0 = performance.now();
    const e = await codeOf(openaiCompatible({ baseURL: fault.baseURL, model: "x", maxRetries: 2 }).generate({ messages: PROMPT }));
    const elapsed = performance.now() - t0;
    expect(e.code).toBe("upstream_error");
    expect(e.status).toBe(502);
    expect(e.message).toMatch(/\(500\).*upstream exploded/);
    expect(fault.calls - calls0).toBe(3);
    // 0.5 s and 1 s, less at most 25 % jitter each
    expect(elapsed).toBeGreaterThanOrEqual(0.75 * 1500 - 50);
    const calls1 = fault.calls;
    await codeOf(openaiCompatible({ baseURL: fault.baseURL, model: "x", maxRetries: 0 }).stream({ messages: PROMPT })[Symbol.asyncIterator]().next());
    expect(fault.calls - calls1).toBe(1);
    fault.mode = "ok";
  });

  it("retries a connection reset, then reports the upstream unreachable; a retry that succeeds answers", async () => {
    fault.mode = "reset";
    const calls0 = fault.calls;
    const e = await codeOf(openaiCompatible({ baseURL: fault.baseURL, model: "x", maxRetries: 1 }).generate({ messages: PROMPT }));
    expect(e.code).toBe("upstream_error");
    expect(e.message).toMatch(/unreachable/);
    expect(fault.calls - calls0).toBe(2);
    // the first attempt fails, the retry answers
    const m = openaiCompatible({ baseURL: fault.baseURL, model: "x", maxRetries: 1 });
    const pending = m.generate({ messages: PROMPT });
    setTimeout(() => (fault.mode = "ok"), 100);
    expect((await pending).text.length).toBeGreaterThan(0);
  });

  it("a hang times out per attempt (retried), as upstream_timeout carrying the prompt's charge", async () => {
    fault.mode = "hang";
    const calls0 = fault.calls;
    const t0 = performance.now();
    const e = await codeOf(openaiCompatible({ baseURL: fault.baseURL, model: "x", maxRetries: 1, timeoutMs: 300, price: PRICE }).generate({ messages: PROMPT }));
    expect(e.code).toBe("upstream_timeout");
    expect(e.status).toBe(504);
    expect(e.message).toMatch(/timed out after 300 ms/);
    expect(fault.calls - calls0).toBe(2);
    expect(performance.now() - t0).toBeGreaterThanOrEqual(2 * 300 + 0.75 * 500 - 50);
    expect(e.calls?.[0].promptTokens).toBeGreaterThan(0);
    expect(e.calls?.[0].costUsd).toBeGreaterThan(0);
    fault.mode = "ok";
  });

  it("the caller's signal aborts a hanging call at once (no retry), JSON and SSE", async () => {
    fault.mode = "hang";
    const m = openaiCompatible({ baseURL: fault.baseURL, model: "x", maxRetries: 3, timeoutMs: 30_000 });
    for (const run of [(s: AbortSignal) => m.generate({ messages: PROMPT }, s), (s: AbortSignal) => drain(m, s)]) {
      const calls0 = fault.calls;
      const controller = new AbortController();
      setTimeout(() => controller.abort(), 150);
      const t0 = performance.now();
      const e = await codeOf(run(controller.signal));
      expect(e.code).toBe("aborted");
      expect(performance.now() - t0).toBeLessThan(10_000);
      expect(fault.calls - calls0).toBe(1);
    }
    fault.mode = "ok";
  });

  it("a stream cut mid-way is upstream_error with the streamed part charged; a 200 is never retried", async () => {
    fault.mode = "midstream";
    const calls0 = fault.calls;
    const m = openaiCompatible({ baseURL: fault.baseURL, model: "x", maxRetries: 2, price: PRICE });
    const e = await codeOf(drain(m));
    expect(e.code).toBe("upstream_error");
    expect(fault.calls - calls0).toBe(1);
    expect(e.calls?.[0].completionTokens).toBeGreaterThanOrEqual(2);
    fault.mode = "truncated";
    const t = await codeOf(drain(m));
    expect(t.message).toMatch(/truncated/);
    fault.mode = "ok";
  });

  it("backoff: 0.5 s × 2^n capped at 8 s minus ≤ 25 % jitter; retry-after(-ms) under 60 s wins", () => {
    expect(retryDelayMs(0, undefined, () => 0)).toBe(500);
    expect(retryDelayMs(1, undefined, () => 0)).toBe(1000);
    expect(retryDelayMs(10, undefined, () => 0)).toBe(8000);
    expect(retryDelayMs(0, undefined, () => 1)).toBe(375);
    expect(retryDelayMs(0, { "retry-after-ms": "20" })).toBe(20);
    expect(retryDelayMs(0, { "retry-after": "2" })).toBe(2000);
    expect(retryDelayMs(0, { "retry-after": "3600" }, () => 0)).toBe(500);
  });
});

describe("the gateway's pass-through fast path and x-tandem-overhead-ms", () => {
  let up: Awaited<ReturnType<typeof countingUpstream>>;
  let traces: TraceStore;
  let gateway: RunningServer;
  let client: OpenAI;
  const post = (body: unknown) => fetch(`${gateway.url}/v1/chat/completions`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
  const traceOf = async (id: string): Promise<Trace> => {
    for (let i = 0; i < 200; i++) {
      const t = (await traces.list({ limit: 100 })).find((x) => x.id === id);
      if (t) return t;
      await new Promise((r) => setTimeout(r, 25));
    }
    throw new Error(`no trace ${id}`);
  };

  beforeAll(async () => {
    up = await countingUpstream();
    traces = openTraceStore(":memory:");
    const plain = openaiCompatible({ id: "plain", baseURL: up.baseURL, model: "upstream-name", maxRetries: 0, price: PRICE });
    expect(passthroughOf(plain)).toBeDefined();
    const fb = fallback({ id: "fb", primary: openaiCompatible({ id: "inner", baseURL: up.baseURL, model: "upstream-name", maxRetries: 0, price: PRICE }), fallbacks: [openaiCompatible({ id: "spare", baseURL: up.baseURL, model: "upstream-name", maxRetries: 0 })], retries: 0, breaker: false });
    expect(passthroughOf(fb)).toBeUndefined();
    const { app } = createGatewayApp({ models: new Map<string, Model>([["plain", plain], ["fb", fb]]), traces });
    gateway = await listen(app, { port: 0 });
    client = new OpenAI({ baseURL: `${gateway.url}/v1`, apiKey: "none", maxRetries: 0 });
  });
  afterAll(async () => {
    await gateway?.close();
    await traces?.close();
    await up?.close();
  });

  it("JSON: the upstream's body, its id and model rewritten, the tandem field added, usage charged", async () => {
    const res = await post({ model: "plain", messages: PROMPT });
    expect(res.status).toBe(200);
    const overhead = Number(res.headers.get("x-tandem-overhead-ms"));
    expect(Number.isFinite(overhead) && overhead >= 0).toBe(true);
    const body = (await res.json()) as any;
    const traceId = res.headers.get("x-tandem-trace-id")!;
    expect(body).toMatchObject({ id: traceId, model: "plain", object: "chat.completion", service_tier: PROBE, system_fingerprint: "fp_up" });
    expect(body.choices[0].message.content).toBe(WORDS.join(""));
    expect(body.usage).toEqual({ prompt_tokens: 11, completion_tokens: 4, total_tokens: 15 });
    const cost = (11 * 100 + 4 * 1000) / 1e6;
    expect(body.tandem).toMatchObject({ trace_id: traceId, model: "plain", served_by: "plain" });
    expect(body.tandem.cost_usd).toBeCloseTo(cost, 12);
    const t = await traceOf(traceId);
    expect(t).toMatchObject({ status: 200, promptTokens: 11, completionTokens: 4, responseText: WORDS.join("") });
    expect(t.costUsd).toBeCloseTo(cost, 12);
    expect(t.overheadMs).toBeGreaterThanOrEqual(0);
    expect(t.overheadMs!).toBeLessThanOrEqual(t.latencyMs);
    // the official client reads it as any completion
    const sdk = await client.chat.completions.create({ model: "plain", messages: PROMPT });
    expect(sdk.choices[0].message.content).toBe(WORDS.join(""));
  });

  it("a strategy takes the regular path: no upstream-only field, same content and tandem field", async () => {
    const res = await post({ model: "fb", messages: PROMPT });
    const body = (await res.json()) as any;
    expect(body.service_tier).toBeUndefined();
    expect(body.choices[0].message.content).toBe(WORDS.join(""));
    expect(body.tandem.served_by).toBe("inner");
    expect(Number(res.headers.get("x-tandem-overhead-ms"))).toBeGreaterThanOrEqual(0);
  });

  it("SSE: the upstream's chunks relayed, tandem on the final chunk, usage only when asked, [DONE]", async () => {
    for (const includeUsage of [false, true]) {
      const res = await post({ model: "plain", messages: PROMPT, stream: true, ...(includeUsage ? { stream_options: { include_usage: true } } : {}) });
      expect(res.status).toBe(200);
      expect(Number(res.headers.get("x-tandem-overhead-ms"))).toBeGreaterThanOrEqual(0);
      const traceId = res.headers.get("x-tandem-trace-id")!;
      const frames = (await res.text()).split("\n\n").filter(Boolean).map((f) => f.replace(/^data: /, ""));
      expect(frames.at(-1)).toBe("[DONE]");
      const chunks = frames.slice(0, -1).map((f) => JSON.parse(f));
      for (const c of chunks) expect(c).toMatchObject({ id: traceId, model: "plain", service_tier: PROBE });
      expect(chunks.map((c) => c.choices[0]?.delta?.content ?? "").join("")).toBe(WORDS.join(""));
      const final = chunks.findIndex((c) => c.choices[0]?.finish_reason === "stop");
      expect(chunks[final].tandem).toMatchObject({ trace_id: traceId, served_by: "plain" });
      expect(chunks[final].tandem.cost_usd).toBeCloseTo((11 * 100 + 4 * 1000) / 1e6, 12);
      const usage = chunks.filter((c) => c.usage);
      expect(usage.length).toBe(includeUsage ? 1 : 0);
      if (includeUsage) expect(final).toBe(chunks.length - 2);
      if (includeUsage) expect(usage[0].usage).toEqual({ prompt_tokens: 11, completion_tokens: 4, total_tokens: 15 });
      const t = await traceOf(traceId);
      expect(t).toMatchObject({ status: 200, stream: true, promptTokens: 11, completionTokens: 4, responseText: WORDS.join("") });
      expect(t.overheadMs).toBeGreaterThanOrEqual(0);
    }
    // the official client streams it
    let text = "";
    for await (const c of await client.chat.completions.create({ model: "plain", messages: PROMPT, stream: true })) text += c.choices[0]?.delta?.content ?? "";
    expect(text).toBe(WORDS.join(""));
  });

  it("errors carry the overhead header too, and /metrics has the tandem_overhead_ms histogram", async () => {
    const res = await post({ model: "nope", messages: PROMPT });
    expect(res.status).toBe(404);
    expect(Number(res.headers.get("x-tandem-overhead-ms"))).toBeGreaterThanOrEqual(0);
    const metrics = await (await fetch(`${gateway.url}/metrics`)).text();
    const count = metrics.match(/^tandem_overhead_ms_count\{model="plain",stream="false"\} (\d+)/m);
    expect(Number(count?.[1])).toBeGreaterThanOrEqual(1);
  });
});
