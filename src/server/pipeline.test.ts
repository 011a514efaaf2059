/**
 * The pipeline is protocol-neutral (issue #11, item 5): a second wire protocol written here — a
 * small Anthropic-Messages-like mapping with its own body, error shape and named SSE events —
 * gets intake (JSON, depth limit, model lookup), admission (keys, rate limits), the request
 * timeout, the projection (`tandem` field, `x-tandem-*` headers) and traces from the pipeline
 * alone, over a real loopback upstream and a real HTTP server. And projection.ts cuts decisions
 * once: what is shown never carries `discarded` or `cloudView`, what a trace stores keeps the
 * discarded answer, a private model's trace takes the cloud view as its content.
 */
import { Hono } from "hono";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { z } from "zod";
import type { Decision, GenerateResult, Model } from "../core/model.js";
import { openaiCompatible } from "../providers/openai-compatible.js";
import { localRateLimiter } from "../store/rate-limit.js";
import { openSpendLedger } from "../store/spend.js";
import { openTraceStore, type Trace, type TraceStore } from "../store/traces.js";
import { startFaultServer, type FaultServer } from "../../test/fixtures/production/fault-server.js";
import { hashApiKey, KeyRing } from "./auth.js";
import { listen, type RunningServer } from "./listen.js";
import { GatewayMetrics } from "./metrics.js";
import { createPipeline, invalidRequest, type GatewayEnv, type Intake, type WireProtocol } from "./pipeline.js";
import { projectAnswer, storedTrace, viewsOf, type TandemField } from "./projection.js";

const TEXT = "Hello from the loopback upstream.";
const PRICE = { inputPerMillion: 1000, outputPerMillion: 2000 }; // USD per 1M tokens

/** A toy second protocol: `{ model, max_tokens, messages: [{ role, content }], stream? }`. */
const messagesBody = z.object({
  model: z.string().min(1),
  max_tokens: z.number().int().min(1),
  messages: z.array(z.object({ role: z.enum(["user", "assistant"]), content: z.string() })).min(1),
  stream: z.boolean().optional(),
});
const toyMessages: WireProtocol<Intake> = {
  parse(json) {
    const r = messagesBody.safeParse(json);
    if (!r.success) throw invalidRequest(r.error.issues[0]);
    return { model: r.data.model, stream: r.data.stream === true, request: { messages: r.data.messages, maxTokens: r.data.max_tokens } };
  },
  errorBody: (e) => ({ type: "error", error: { type: e.code, message: e.message } }),
  completion: ({ traceId, result, projection }) => ({
    id: traceId,
    type: "message",
    content: [{ type: "text", text: result.text }],
    usage: { input_tokens: projection.usage.prompt_tokens, output_tokens: projection.usage.completion_tokens },
    tandem: projection.field,
  }),
  encoder: ({ traceId }) => ({
    open: () => [{ event: "message_start", data: JSON.stringify({ type: "message_start", message: { id: traceId } }) }],
    part: (p) => (p.type === "text" ? [{ event: "content_block_delta", data: JSON.stringify({ type: "content_block_delta", delta: { type: "text_delta", text: p.text } }) }] : []),
    finish: (_r, projection) => [{ event: "message_delta", data: JSON.stringify({ type: "message_delta", tandem: projection.field }) }],
    error: (e) => [{ event: "error", data: JSON.stringify({ type: "error", error: { type: e.code, message: e.message } }) }],
    close: () => [{ event: "message_stop", data: JSON.stringify({ type: "message_stop" }) }],
  }),
};

let ok: FaultServer;
let hang: FaultServer;
let traces: TraceStore;
let server: RunningServer;
const KEY = "sk-toy-protocol";
const LIMITED = "sk-toy-limited";

beforeAll(async () => {
  ok = await startFaultServer({ mode: "ok", text: TEXT });
  hang = await startFaultServer({ mode: "hang" });
  traces = openTraceStore(":memory:");
  const remote = (id: string, baseURL: string) => openaiCompatible({ id, baseURL, model: id, maxRetries: 0, timeoutMs: 60_000, price: PRICE });
  const models = new Map<string, Model>([
    ["plain", remote("upstream", ok.baseURL)],
    ["stuck", remote("stuck", hang.baseURL)],
  ]);
  const keys = new KeyRing(
    [
      { name: "toy", hash: hashApiKey(KEY) },
      { name: "limited", hash: hashApiKey(LIMITED), requestsPerMinute: 1 },
    ],
    { ledger: openSpendLedger(":memory:"), limiter: localRateLimiter() },
  );
  const pipeline = createPipeline({ models, traces, keys, metrics: new GatewayMetrics(), requestTimeoutMs: 3_000 });
  const app = new Hono<GatewayEnv>();
  app.onError((e, c) => c.json({ type: "error", error: { type: "internal", message: e.message } }, 500));
  app.use("/v1/*", async (c, next) => {
    c.set("apiKey", keys.authenticate(c.req.header("authorization")));
    await next();
  });
  app.post("/v1/messages", ...pipeline.route(toyMessages));
  server = await listen(app, { port: 0 });
});
afterAll(async () => {
  await server?.close();
  traces?.close();
  await Promise.all([ok?.close(), hang?.close()]);
});

const post = (body: unknown, key = KEY) =>
  fetch(`${server.url}/v1/messages`, { method: "POST", headers: { "content-type": "application/json", authorization: `Bearer ${key}` }, body: typeof body === "string" ? body : JSON.stringify(body) });
const ask = (model: string, extra: Record<string, unknown> = {}) => ({ model, max_tokens: 16, messages: [{ role: "user", content: "Say hello." }], ...extra });
const traceById = (id: string): Trace => {
  const t = traces.get(id);
  if (!t) throw new Error(`no trace ${id}`);
  return t;
};

describe("a second wire protocol over the pipeline", () => {
  it("answers in its own body with the tandem field and x-tandem-* headers, and is traced with the caller's key", async () => {
    const res = await post(ask("plain"));
    expect(res.status).toBe(200);
    const body = (await res.json()) as { id: string; content: Array<{ text: string }>; usage: { input_tokens: number; output_tokens: number }; tandem: TandemField };
    expect(body.content[0].text).toBe(TEXT);
    expect(body.tandem.served_by).toBe("upstream");
    expect(body.tandem.trace_id).toBe(body.id);
    expect(res.headers.get("x-tandem-trace-id")).toBe(body.id);
    expect(res.headers.get("x-tandem-served-by")).toBe("upstream");
    expect(Number(res.headers.get("x-tandem-cost-usd"))).toBeGreaterThan(0);
    const t = traceById(body.id);
    expect(t).toMatchObject({ model: "plain", status: 200, stream: false, servedBy: "upstream", key: "toy", promptTokens: body.usage.input_tokens, completionTokens: body.usage.output_tokens, responseText: TEXT });
    expect(t.messages).toEqual([{ role: "user", content: "Say hello." }]);
    expect(t.costUsd).toBeCloseTo(body.tandem.cost_usd, 9);
  });

  it("streams its own named events, then traces the streamed text", async () => {
    const res = await post(ask("plain", { stream: true }));
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toContain("text/event-stream");
    const id = res.headers.get("x-tandem-trace-id")!;
    const raw = await res.text();
    const events = [...raw.matchAll(/^event: (.+)$/gm)].map((m) => m[1]);
    expect(events[0]).toBe("message_start");
    expect(events.at(-1)).toBe("message_stop");
    expect(events).toContain("message_delta");
    expect(raw).not.toContain("[DONE]"); // the OpenAI terminator is the OpenAI mapping's, not the pipeline's
    const text = [...raw.matchAll(/"text":"([^"]*)"/g)].map((m) => m[1]).join("");
    expect(text).toBe(TEXT);
    const t = traceById(id);
    expect(t).toMatchObject({ model: "plain", status: 200, stream: true, responseText: TEXT, key: "toy" });
  });

  it("unknown model, too-deep body and invalid field: the pipeline's checks, in the protocol's error shape, all traced", async () => {
    const before = traces.count();
    const missing = await post(ask("nope"));
    expect(missing.status).toBe(404);
    expect(await missing.json()).toMatchObject({ type: "error", error: { type: "model_not_found" } });
    // the toy parse does no depth check: the pipeline does it for every protocol
    let deep: unknown = "x";
    for (let i = 0; i < 100; i++) deep = { d: deep };
    const tooDeep = await post({ ...ask("plain"), metadata: deep });
    expect(tooDeep.status).toBe(400);
    expect(((await tooDeep.json()) as { error: { message: string } }).error.message).toContain("nests deeper than 64 levels");
    const bad = await post({ ...ask("plain"), max_tokens: 0 });
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { error: { message: string } }).error.message).toContain("'max_tokens'");
    const notJson = await post("{not json");
    expect(notJson.status).toBe(400);
    expect(await notJson.json()).toMatchObject({ error: { type: "invalid_json" } });
    expect(traces.count()).toBe(before + 4);
    const latest = traces.list({ limit: 4 });
    expect(latest.map((t) => t.status).sort()).toEqual([400, 400, 400, 404]);
    expect(latest.every((t) => t.key === "toy")).toBe(true);
  });

  it("admission (rate limit) and the request timeout come from the pipeline", async () => {
    expect((await post(ask("plain"), LIMITED)).status).toBe(200);
    const refused = await post(ask("plain"), LIMITED);
    expect(refused.status).toBe(429);
    expect(await refused.json()).toMatchObject({ type: "error", error: { type: "rate_limit_exceeded" } });
    const slow = await post(ask("stuck"));
    expect(slow.status).toBe(504);
    expect(await slow.json()).toMatchObject({ type: "error", error: { type: "upstream_timeout" } });
    expect(traces.list({ limit: 1, model: "stuck" })[0]).toMatchObject({ status: 504, error: "upstream_timeout" });
  });
});

describe("projection: decisions are cut once", () => {
  const cascade: Decision = { strategy: "cascade", name: "c", signal: "mean_logprob", score: -3, threshold: -1, chosen: "strong", escalated: true, reason: "low confidence", discarded: "the weak answer" };
  const privacy: Decision = {
    strategy: "privacy",
    name: "p",
    signal: "pii",
    score: 1,
    threshold: 0,
    chosen: "cloud",
    escalated: false,
    reason: "1 value hidden",
    cloudView: { messages: [{ role: "user", content: "Mail [EMAIL_1]" }], text: "Wrote to [EMAIL_1]" },
  };
  const result: GenerateResult = {
    text: "Wrote to ann@example.com",
    finishReason: "stop",
    usage: { promptTokens: 5, completionTokens: 4 },
    info: { servedBy: "strong", calls: [], decisions: [privacy, cascade], escalated: true, costUsd: 0.001, strongOnlyCostUsd: 0.002 },
  };

  it("the tandem field and headers never carry discarded answers or cloud views", () => {
    const answer = projectAnswer({ traceId: "t1", model: "m", result, latencyMs: 12.34 });
    expect(JSON.stringify(answer.field)).not.toContain("discarded");
    expect(JSON.stringify(answer.field)).not.toContain("cloudView");
    expect(JSON.stringify(answer.field)).not.toContain("EMAIL_1");
    expect(answer.field.decisions.map((d) => d.strategy)).toEqual(["privacy", "cascade"]);
    expect(answer.field).toMatchObject({ latency_ms: 12.3, saved_usd: 0.001, escalated: true });
    expect(answer.headers["x-tandem-escalated"]).toBe("true");
    expect(answer.usage).toEqual({ prompt_tokens: 5, completion_tokens: 4, total_tokens: 9 });
    // the field's decisions are the views' (one cut), not a second copy
    expect(answer.field.decisions).toBe(answer.views.shown);
  });

  it("a trace keeps the discarded answer, not the cloud view; a private model's trace takes the cloud view as content", () => {
    const raw: Trace = {
      id: "t1", createdAt: 0, model: "m", stream: false, status: 200, escalated: true, degraded: false, costUsd: 0, strongOnlyCostUsd: 0,
      promptTokens: 0, completionTokens: 0, latencyMs: 0, calls: [], decisions: result.info.decisions,
      messages: [{ role: "user", content: "Mail ann@example.com" }], responseText: result.text,
    };
    const views = viewsOf(raw.decisions);
    // the cloud view alone makes the model private: the trace holds what the cloud saw
    const redacted = storedTrace(raw, views, { isPrivate: false });
    expect(redacted.messages).toEqual(privacy.cloudView!.messages);
    expect(redacted.responseText).toBe("Wrote to [EMAIL_1]");
    expect(JSON.stringify(redacted)).not.toContain("ann@example.com");
    expect(JSON.stringify(redacted.decisions)).not.toContain("the weak answer");
    // plaintext opt-in: content and discarded answer kept, cloud view never stored
    const plain = storedTrace(raw, views, { isPrivate: true, mode: "plain" });
    expect(plain.responseText).toBe(result.text);
    expect(plain.decisions[1].discarded).toBe("the weak answer");
    expect(JSON.stringify(plain.decisions)).not.toContain("cloudView");
    // "none": no content at all
    const none = storedTrace(raw, views, { isPrivate: true, mode: "none" });
    expect(none.messages).toBeUndefined();
    expect(none.responseText).toBeUndefined();
    // a non-private model's trace keeps the discarded answer (preference pairs for export)
    const notPrivate = storedTrace({ ...raw, decisions: [cascade] }, undefined, { isPrivate: false });
    expect(notPrivate.decisions[0].discarded).toBe("the weak answer");
    expect(notPrivate.responseText).toBe(result.text);
  });
});
