/**
 * Fallbacks and offline operation, end to end: the upstream "cloud" model is killed at each
 * point a real one dies — before connect (nothing listens), before the first byte (socket reset,
 * hang past the timeout, HTTP 500), mid-stream (socket destroyed after a few SSE chunks, or a
 * stalled stream) — while the official `openai` client watches through the real gateway. The
 * fallback is a real local GGUF (stories260K through node-llama-cpp, 1 thread).
 */
import OpenAI from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Model } from "../src/core/model.js";
import { llamaCpp, type LlamaCppModel } from "../src/providers/llama-cpp/index.js";
import { openaiCompatible } from "../src/providers/openai-compatible.js";
import { createGatewayApp } from "../src/server/app.js";
import { listen, type RunningServer } from "../src/server/listen.js";
import type { TandemField } from "../src/server/projection.js";
import { openTraceStore, type TraceStore } from "../src/store/traces.js";
import { fallback, type FallbackModel, type FallbackOptions } from "../src/strategies/fallback/index.js";
import { deadBaseURL, startFaultServer, type FaultServer } from "./fixtures/production/fault-server.js";
import { modelPath } from "./helpers.js";

const CLOUD_TEXT = "Once upon a time there was a cloud model that answered.";
const PROMPT = [{ role: "user" as const, content: "Tell me a story about a cat." }];

let edge: LlamaCppModel;
let upstream: FaultServer;
let dead: string;
let traces: TraceStore;
let gateway: RunningServer;
let client: OpenAI;
const models = new Map<string, Model>();

const tandemOf = (x: unknown) => (x as { tandem: TandemField }).tandem;
const cloud = (baseURL: string, timeoutMs = 3_000) =>
  openaiCompatible({ id: "cloud", baseURL, model: "gpt-cloud", maxRetries: 0, timeoutMs, price: { inputPerMillion: 0.5, outputPerMillion: 1.5 } });
const add = (name: string, options: Omit<FallbackOptions, "id" | "name" | "fallbacks"> & { fallbacks?: Model[] }): FallbackModel => {
  const m = fallback({ id: name, fallbacks: [edge], retryBackoffMs: 5, ...options });
  models.set(name, m);
  return m;
};

/** Streams a request through the gateway; returns the text, the final tandem field and any error thrown by the client. */
async function streamed(model: string) {
  const stream = await client.chat.completions.create({ model, messages: PROMPT, max_tokens: 12, temperature: 0, stream: true });
  let text = "";
  let tandem: TandemField | undefined;
  let id = "";
  let error: unknown;
  try {
    for await (const chunk of stream) {
      id = chunk.id;
      text += chunk.choices[0]?.delta?.content ?? "";
      tandem = (chunk as unknown as { tandem?: TandemField }).tandem ?? tandem;
    }
  } catch (e) {
    error = e;
  }
  return { text, tandem, id, error };
}

async function whole(model: string) {
  const { data, response } = await client.chat.completions.create({ model, messages: PROMPT, max_tokens: 12, temperature: 0 }).withResponse();
  return { data, tandem: tandemOf(data), headers: response.headers };
}

function expectDegraded(t: TandemField | undefined, signal = "upstream-error") {
  expect(t?.served_by).toBe("edge");
  expect(t?.degraded).toBe(true);
  expect(t?.decisions[0]).toMatchObject({ strategy: "fallback", signal, chosen: "edge", escalated: false });
}

beforeAll(async () => {
  edge = llamaCpp({ id: "edge", path: modelPath("stories260K.gguf"), threads: 1, contextSize: 256, sequences: 2, defaultMaxTokens: 12 });
  await edge.load();
  upstream = await startFaultServer({ text: CLOUD_TEXT });
  dead = await deadBaseURL();
  traces = openTraceStore(":memory:");
  const { app } = createGatewayApp({ models, traces, requestTimeoutMs: 20_000 });
  gateway = await listen(app, { port: 0 });
  client = new OpenAI({ baseURL: `${gateway.url}/v1`, apiKey: "test", maxRetries: 0 });
});

afterAll(async () => {
  await gateway?.close();
  await upstream?.close();
  traces?.close();
  await edge?.close();
});

describe("fallback: before connect (nothing listens on the port)", () => {
  it("serves the local SLM, degraded, after the retries — JSON and SSE, traced", async () => {
    add("fb-dead", { primary: cloud(dead), retries: 1, breaker: false });
    const { data, tandem, headers } = await whole("fb-dead");
    expect(data.choices[0].message.content?.length).toBeGreaterThan(0);
    expectDegraded(tandem);
    expect(headers.get("x-tandem-degraded")).toBe("true");
    expect(headers.get("x-tandem-served-by")).toBe("edge");
    // two failed attempts on the primary (1 + 1 retry), then the edge call
    expect(tandem.calls.map((c) => c.role ?? c.model)).toEqual(["primary", "primary-retry-1", "edge"]);
    expect(tandem.calls[0].error).toMatch(/unreachable|Connection error/i);
    expect(tandem.decisions[0].reason).toMatch(/unreachable|Connection error/i);
    expect(tandem.cost_usd).toBe(0);
    const trace = traces.get(data.id);
    expect(trace).toMatchObject({ status: 200, degraded: true, servedBy: "edge" });
    expect(trace?.decisions[0].strategy).toBe("fallback");

    const s = await streamed("fb-dead");
    expect(s.error).toBeUndefined();
    expect(s.text.length).toBeGreaterThan(0);
    expectDegraded(s.tandem);
    expect(traces.get(s.id)?.degraded).toBe(true);
  });
});

describe("fallback: before the first byte", () => {
  it("socket reset, HTTP 500 and a hang past the timeout are all served by the fallback", async () => {
    const reset = add("fb-reset", { primary: cloud(upstream.baseURL), retries: 0, breaker: false });
    const hang = add("fb-hang", { primary: cloud(upstream.baseURL, 300), retries: 0, breaker: false });
    expect(reset.location).toBe("cloud");
    for (const [mode, model, pattern] of [
      ["reset", "fb-reset", /unreachable|Connection error|socket|terminated/i],
      ["http500", "fb-reset", /500/],
      ["hang", "fb-hang", /timed out/i],
    ] as const) {
      upstream.mode = mode;
      const before = upstream.calls;
      const { tandem, headers } = await whole(model);
      expectDegraded(tandem);
      expect(headers.get("x-tandem-degraded")).toBe("true");
      expect(tandem.decisions[0].reason).toMatch(pattern);
      const s = await streamed(model);
      expect(s.error).toBeUndefined();
      expect(s.text.length).toBeGreaterThan(0);
      expectDegraded(s.tandem);
      expect(upstream.calls - before).toBe(2); // the upstream really was called, once per request
    }
    upstream.mode = "ok";
    const ok = await whole("fb-reset");
    expect(ok.tandem).toMatchObject({ served_by: "cloud", degraded: false, decisions: [] });
    expect(ok.data.choices[0].message.content).toBe(CLOUD_TEXT);
    expect(ok.headers.get("x-tandem-degraded")).toBe("false");
  });
});

describe("fallback: mid-stream", () => {
  it('midStream "error" (default): the partial text, then the OpenAI error event; traced as 502', async () => {
    add("fb-mid-error", { primary: cloud(upstream.baseURL), retries: 0, breaker: false });
    upstream.mode = "midstream";
    const s = await streamed("fb-mid-error");
    expect(s.text).toBe("Once upon");
    expect(s.error).toBeInstanceOf(OpenAI.APIError);
    expect(String((s.error as Error).message)).toMatch(/cloud/);
    const trace = traces.get(s.id);
    expect(trace).toMatchObject({ status: 502, error: "upstream_error", responseText: "Once upon" });
  });

  it('midStream "continue": the partial text, a separator, then the fallback\'s full answer, degraded', async () => {
    add("fb-mid-continue", { primary: cloud(upstream.baseURL), retries: 0, breaker: false, midStream: "continue", separator: "\n\n[continued by the local model]\n\n" });
    upstream.mode = "midstream";
    const s = await streamed("fb-mid-continue");
    expect(s.error).toBeUndefined();
    expect(s.text.startsWith("Once upon\n\n[continued by the local model]\n\n")).toBe(true);
    expect(s.text.length).toBeGreaterThan("Once upon\n\n[continued by the local model]\n\n".length);
    expectDegraded(s.tandem);
    expect(s.tandem?.calls[0]).toMatchObject({ model: "cloud", role: "primary-broken-stream" });
    expect(s.tandem?.calls[0].completionTokens).toBeGreaterThan(0); // estimated: the partial answer is billed upstream
    expect(s.tandem?.decisions[0].reason).toMatch(/mid-stream/);
    expect(traces.get(s.id)).toMatchObject({ status: 200, degraded: true, responseText: s.text });
  });

  it('midStream "buffer": the client only sees the fallback\'s answer; a stalled stream trips idleTimeoutMs', async () => {
    add("fb-mid-buffer", { primary: cloud(upstream.baseURL), retries: 0, breaker: false, midStream: "buffer", idleTimeoutMs: 300 });
    for (const mode of ["midstream", "stall"] as const) {
      upstream.mode = mode;
      const s = await streamed("fb-mid-buffer");
      expect(s.error).toBeUndefined();
      expect(s.text).not.toContain("Once upon");
      expect(s.text.length).toBeGreaterThan(0);
      expectDegraded(s.tandem);
      if (mode === "stall") expect(s.tandem?.decisions[0].reason).toMatch(/within 300 ms/);
    }
    upstream.mode = "ok";
    const ok = await streamed("fb-mid-buffer");
    expect(ok.text).toBe(CLOUD_TEXT);
    expect(ok.tandem?.degraded).toBe(false);
  });
});

describe("fallback: circuit breaker", () => {
  it("opens after N consecutive failures (the upstream stops receiving calls) and closes after a successful half-open probe", async () => {
    const fb = add("fb-breaker", { primary: cloud(upstream.baseURL), retries: 0, breaker: { failureThreshold: 2, cooldownMs: 400 } });
    upstream.mode = "reset";
    const start = upstream.calls;
    for (let i = 0; i < 2; i++) expectDegraded((await whole("fb-breaker")).tandem);
    expect(upstream.calls - start).toBe(2);
    expect(fb.breakerStates().cloud.state).toBe("open");

    // open: requests go straight to the fallback, still degraded; the upstream is not called
    const skipped = await whole("fb-breaker");
    expectDegraded(skipped.tandem, "circuit-open");
    expect(skipped.tandem.calls.map((c) => c.model)).toEqual(["edge"]);
    expect(skipped.tandem.decisions[0].reason).toMatch(/circuit open/);
    const s = await streamed("fb-breaker");
    expectDegraded(s.tandem, "circuit-open");
    expect(upstream.calls - start).toBe(2);

    // a failed half-open probe re-opens it
    await new Promise((r) => setTimeout(r, 450));
    expect(fb.breakerStates().cloud.state).toBe("half-open");
    expectDegraded((await whole("fb-breaker")).tandem);
    expect(upstream.calls - start).toBe(3);
    expect(fb.breakerStates().cloud.state).toBe("open");
    expectDegraded((await whole("fb-breaker")).tandem, "circuit-open");
    expect(upstream.calls - start).toBe(3);

    // the upstream recovers: after the cool-down one probe goes through, succeeds, and the circuit closes
    upstream.mode = "ok";
    await new Promise((r) => setTimeout(r, 450));
    const probe = await whole("fb-breaker");
    expect(probe.tandem).toMatchObject({ served_by: "cloud", degraded: false });
    expect(upstream.calls - start).toBe(4);
    expect(fb.breakerStates().cloud).toMatchObject({ state: "closed", consecutiveFailures: 0, opens: 2 });
    const after = await streamed("fb-breaker");
    expect(after.text).toBe(CLOUD_TEXT);
    expect(upstream.calls - start).toBe(5);
  });
});
