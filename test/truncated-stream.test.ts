/**
 * A truncated stream is an error, not an answer (issue #10, item 8). Real loopback upstreams
 * (node:http) send 200 + one content chunk and then end the response cleanly (no finish_reason,
 * no [DONE]), or 200 + event-stream headers and no event at all; the official `openai` client and
 * raw fetch watch through the real gateway. Through a plain model the client gets an error event
 * (no [DONE]) and the trace says 502 — charged what was generated, not billed as an answer;
 * through a `fallback` strategy the mid-stream policy applies, and before the first token the
 * fallback serves.
 */
import OpenAI from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Model } from "../src/core/model.js";
import { openaiCompatible } from "../src/providers/openai-compatible.js";
import { createGatewayApp } from "../src/server/app.js";
import { listen, type RunningServer } from "../src/server/listen.js";
import { openTraceStore, type Trace, type TraceStore } from "../src/store/traces.js";
import { fallback } from "../src/strategies/fallback/index.js";
import { startFaultServer, type FaultServer } from "./fixtures/production/fault-server.js";

const HEALTHY_TEXT = "The fallback model answered in full.";
const PROMPT = [{ role: "user" as const, content: "Tell me a story about a cat." }];
const PRICE = { inputPerMillion: 100, outputPerMillion: 1000 }; // USD per 1M tokens: high, so a partial charge is visible

let truncated: FaultServer;
let empty: FaultServer;
let healthy: FaultServer;
let traces: TraceStore;
let gateway: RunningServer;
let client: OpenAI;

const remote = (id: string, baseURL: string) => openaiCompatible({ id, baseURL, model: id, maxRetries: 0, timeoutMs: 10_000, price: PRICE });

beforeAll(async () => {
  truncated = await startFaultServer({ mode: "truncated", brokenAfter: 1, text: "Partial answer that never ends" });
  empty = await startFaultServer({ mode: "empty" });
  healthy = await startFaultServer({ mode: "ok", text: HEALTHY_TEXT });
  traces = openTraceStore(":memory:");
  const models = new Map<string, Model>([
    ["plain-truncated", remote("cut", truncated.baseURL)],
    ["plain-empty", remote("empty", empty.baseURL)],
    ["fb-error", fallback({ id: "fb-error", primary: remote("cut", truncated.baseURL), fallbacks: [remote("ok", healthy.baseURL)], retries: 0, breaker: false, midStream: "error" })],
    ["fb-continue", fallback({ id: "fb-continue", primary: remote("cut", truncated.baseURL), fallbacks: [remote("ok", healthy.baseURL)], retries: 0, breaker: false, midStream: "continue", separator: " | " })],
    ["fb-empty", fallback({ id: "fb-empty", primary: remote("empty", empty.baseURL), fallbacks: [remote("ok", healthy.baseURL)], retries: 0, breaker: false })],
  ]);
  const { app } = createGatewayApp({ models, traces });
  gateway = await listen(app, { port: 0 });
  client = new OpenAI({ baseURL: `${gateway.url}/v1`, apiKey: "none", maxRetries: 0 });
});
afterAll(async () => {
  await gateway?.close();
  traces?.close();
  await Promise.all([truncated?.close(), empty?.close(), healthy?.close()]);
});

/** The newest trace of `model`, waiting for it (stream traces are written when the stream ends). */
async function traceOf(model: string, before = 0): Promise<Trace> {
  for (let i = 0; i < 200; i++) {
    const t = traces.list({ limit: 50 }).filter((x) => x.model === model && x.createdAt >= before);
    if (t.length) return t[0];
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`no trace for ${model}`);
}

/** Raw SSE body of a streaming request (what a client that does not use the SDK reads). */
async function rawStream(model: string): Promise<{ status: number; body: string }> {
  const res = await fetch(`${gateway.url}/v1/chat/completions`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ model, messages: PROMPT, stream: true, max_tokens: 32 }),
  });
  return { status: res.status, body: await res.text() };
}

describe("truncated upstream streams", () => {
  it("the provider throws upstream_error for a stream without finish_reason, and for a 200 with no events", async () => {
    const collect = async (m: Model) => {
      const parts: string[] = [];
      for await (const p of m.stream({ messages: PROMPT })) parts.push(p.type === "text" ? p.text : p.type);
      return parts;
    };
    await expect(collect(remote("cut", truncated.baseURL))).rejects.toMatchObject({ code: "upstream_error", message: expect.stringContaining("without finish_reason (truncated)") });
    await expect(collect(remote("empty", empty.baseURL))).rejects.toMatchObject({ code: "upstream_error", message: expect.stringContaining("truncated") });
    // the partial call (one content chunk) is attached for the gateway to charge
    const error = await collect(remote("cut", truncated.baseURL)).catch((e: unknown) => e as { calls?: Array<{ completionTokens: number; costUsd: number }> });
    expect((error as { calls?: unknown[] }).calls).toHaveLength(1);
    const [call] = (error as { calls: Array<{ completionTokens: number; promptTokens: number; costUsd: number }> }).calls;
    expect(call.completionTokens).toBeGreaterThanOrEqual(1);
    expect(call.promptTokens).toBeGreaterThan(0);
    expect(call.costUsd).toBeGreaterThan(0);
  });

  it("plain model, one chunk then a clean close: error event, no [DONE], traced 502 and charged only the partial", async () => {
    const t0 = Date.now();
    const { status, body } = await rawStream("plain-truncated");
    expect(status).toBe(200); // the first chunk was already on the wire
    expect(body).toContain('"content":"Partial"');
    expect(body).not.toContain("[DONE]");
    expect(body).not.toContain('"finish_reason":"stop"');
    expect(body).toMatch(/"code":"upstream_error"/);
    const t = await traceOf("plain-truncated", t0);
    expect(t.status).toBe(502);
    expect(t.error).toBe("upstream_error");
    expect(t.completionTokens).toBeGreaterThanOrEqual(1);
    expect(t.completionTokens).toBeLessThan(10);
    expect(t.costUsd).toBeGreaterThan(0);

    // the openai SDK surfaces the error event as an error, after the partial text
    const stream = await client.chat.completions.create({ model: "plain-truncated", messages: PROMPT, stream: true });
    let text = "";
    await expect(
      (async () => {
        for await (const chunk of stream) text += chunk.choices[0]?.delta?.content ?? "";
      })(),
    ).rejects.toThrow(/truncated/);
    expect(text).toBe("Partial");
  });

  it("plain model, 200 with no events: a 502 error response, not an empty 'stop' answer", async () => {
    const t0 = Date.now();
    await expect(client.chat.completions.create({ model: "plain-empty", messages: PROMPT, stream: true })).rejects.toMatchObject({ status: 502, code: "upstream_error" });
    const t = await traceOf("plain-empty", t0);
    expect(t.status).toBe(502);
    expect(t.responseText ?? "").toBe("");
  });

  it("fallback midStream 'error': partial text then the error event, traced 502", async () => {
    const t0 = Date.now();
    const { body } = await rawStream("fb-error");
    expect(body).toContain('"content":"Partial"');
    expect(body).not.toContain("[DONE]");
    expect(body).toMatch(/"code":"upstream_error"/);
    expect(body).not.toContain("fallback model answered");
    const t = await traceOf("fb-error", t0);
    expect(t.status).toBe(502);
    expect(t.costUsd).toBeGreaterThan(0); // the primary's partial call is charged
  });

  it("fallback midStream 'continue': partial + separator + the fallback's complete answer, [DONE], degraded", async () => {
    const t0 = Date.now();
    const { body } = await rawStream("fb-continue");
    expect(body).toContain("[DONE]");
    const text = body
      .split("\n\n")
      .filter((l) => l.startsWith("data: {"))
      .map((l) => (JSON.parse(l.slice(6)) as { choices?: Array<{ delta?: { content?: string } }> }).choices?.[0]?.delta?.content ?? "")
      .join("");
    expect(text).toBe(`Partial | ${HEALTHY_TEXT}`);
    const t = await traceOf("fb-continue", t0);
    expect(t.status).toBe(200);
    expect(t.degraded).toBe(true);
    expect(t.calls.some((c) => c.model === "cut" && c.error?.includes("truncated"))).toBe(true);
  });

  it("fallback before the first token (200 with no events): the fallback serves the whole answer", async () => {
    const t0 = Date.now();
    const stream = await client.chat.completions.create({ model: "fb-empty", messages: PROMPT, stream: true });
    let text = "";
    let finish: string | null | undefined;
    for await (const chunk of stream) {
      text += chunk.choices[0]?.delta?.content ?? "";
      finish = chunk.choices[0]?.finish_reason ?? finish;
    }
    expect(text).toBe(HEALTHY_TEXT);
    expect(finish).toBe("stop");
    const t = await traceOf("fb-empty", t0);
    expect(t.status).toBe(200);
    expect(t.degraded).toBe(true);
    expect(t.servedBy).toBe("ok");
  });
});
