/**
 * End to end: `tandem serve-model` (a real child process serving tinytales-5M) as the "cloud"
 * model, stories260K in-process as the edge model, the gateway on a random loopback port, and the
 * official `openai` client as the caller.
 */
import OpenAI from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildGateway, type GatewayParts } from "../src/gateway/index.js";
import { parsePolicy, startSidecar, type Sidecar } from "../src/policy/index.js";
import { createGatewayApp } from "../src/server/app.js";
import { listen, type RunningServer } from "../src/server/listen.js";
import type { TandemField } from "../src/server/projection.js";
import { modelPath } from "./helpers.js";

type ErrorBody = { error: { code: string; type: string; param: string | null; message: string } };

let sidecar: Sidecar;
let built: GatewayParts;
let gateway: RunningServer;
let client: OpenAI;
let url: string;

const MATH = "Janet has 16 eggs. She eats 3 and bakes with 4. She sells the rest for $2 each. How much does she make?";
const STORY = "Tell me a story about a cat.";
const tandemOf = (x: unknown) => (x as { tandem: TandemField }).tandem;
const post = (body: string | Buffer, headers: Record<string, string> = { "content-type": "application/json" }) =>
  fetch(`${url}/v1/chat/completions`, { method: "POST", headers, body });

beforeAll(async () => {
  sidecar = await startSidecar({ path: modelPath("tinytales-5M.gguf"), id: "tinytales-5M", threads: 1 });
  built = await buildGateway(
    parsePolicy(`
models:
  edge: { provider: llama-cpp, path: ${modelPath("stories260K.gguf")}, threads: 1, contextSize: 512, maxTokens: 24 }
  cloud: { provider: openai-compatible, baseURL: "${sidecar.baseURL}", model: tinytales-5M, price: { input: 0.5, output: 1.5 }, maxRetries: 0, timeoutMs: 20000 }
  dead: { provider: openai-compatible, baseURL: "http://127.0.0.1:1/v1", model: x, maxRetries: 0, timeoutMs: 2000 }
strategies:
  route: { kind: route, weak: edge, strong: cloud, router: { kind: heuristic }, threshold: 0.2 }
  cascade: { kind: cascade, weak: edge, strong: cloud, signal: mean-logprob, threshold: -0.7 }
  always-strong: { kind: cascade, weak: edge, strong: cloud, signal: min-logprob, threshold: 0 }
`),
    { tracesPath: ":memory:" },
  );
  const { app } = createGatewayApp({ models: built.served, traces: built.traces, maxBodyBytes: 64 * 1024, requestTimeoutMs: 20_000 });
  gateway = await listen(app, { port: 0 });
  url = gateway.url;
  client = new OpenAI({ baseURL: `${url}/v1`, apiKey: "test", maxRetries: 0 });
});

afterAll(async () => {
  await gateway?.close();
  await built?.close();
  await sidecar?.stop();
});

describe("gateway: models and health", () => {
  it("lists every strategy and model", async () => {
    const list = await client.models.list();
    expect(list.data.map((m) => m.id).sort()).toEqual(["always-strong", "cascade", "cloud", "dead", "edge", "route"]);
    const health = (await (await fetch(`${url}/health`)).json()) as { status: string };
    expect(health.status).toBe("ok");
  });
});

describe("gateway: route", () => {
  it("sends a math question to the cloud model and a story to the edge, with tandem fields and headers", async () => {
    const { data: math, response } = await client.chat.completions
      .create({ model: "route", messages: [{ role: "user", content: MATH }], max_tokens: 16, temperature: 0 })
      .withResponse();
    const t = tandemOf(math);
    expect(t.served_by).toBe("cloud");
    expect(t.escalated).toBe(true);
    expect(t.decisions[0]).toMatchObject({ strategy: "route", name: "route", chosen: "cloud" });
    expect(t.cost_usd).toBeGreaterThan(0);
    expect(t.cost_usd).toBeLessThanOrEqual(t.strong_only_cost_usd);
    expect(math.choices[0].message.content?.length).toBeGreaterThan(0);
    expect(math.usage?.completion_tokens).toBeGreaterThan(0);
    expect(response.headers.get("x-tandem-served-by")).toBe("cloud");
    expect(response.headers.get("x-tandem-escalated")).toBe("true");
    expect(Number(response.headers.get("x-tandem-cost-usd"))).toBeCloseTo(t.cost_usd, 12);
    expect(response.headers.get("x-tandem-trace-id")).toBe(math.id);

    const story = await client.chat.completions.create({ model: "route", messages: [{ role: "user", content: STORY }], max_tokens: 16, temperature: 0 });
    const s = tandemOf(story);
    expect(s).toMatchObject({ served_by: "edge", escalated: false, cost_usd: 0 });
    expect(s.strong_only_cost_usd).toBeGreaterThan(0);
    expect(s.saved_usd).toBeCloseTo(s.strong_only_cost_usd, 12);
  });

  it("streams in OpenAI's chunk format with the tandem object on the final chunk", async () => {
    const request = { model: "route", messages: [{ role: "user" as const, content: MATH }], max_tokens: 16, temperature: 0 };
    const whole = await client.chat.completions.create(request);
    const stream = await client.chat.completions.create({ ...request, stream: true, stream_options: { include_usage: true } });
    let text = "";
    let finish: string | null = null;
    let tandem: TandemField | undefined;
    let usage: OpenAI.CompletionUsage | undefined;
    let roles = 0;
    for await (const chunk of stream) {
      expect(chunk.object).toBe("chat.completion.chunk");
      if (chunk.choices[0]?.delta?.role) roles++;
      text += chunk.choices[0]?.delta?.content ?? "";
      finish = chunk.choices[0]?.finish_reason ?? finish;
      tandem = (chunk as unknown as { tandem?: TandemField }).tandem ?? tandem;
      if (chunk.usage) usage = chunk.usage;
    }
    expect(roles).toBe(1);
    expect(text).toBe(whole.choices[0].message.content);
    expect(finish).toBe(whole.choices[0].finish_reason);
    expect(tandem?.served_by).toBe("cloud");
    expect(usage?.completion_tokens).toBe(whole.usage?.completion_tokens);
  });

  it("ends the raw SSE stream with data: [DONE]", async () => {
    const res = await post(JSON.stringify({ model: "route", messages: [{ role: "user", content: STORY }], max_tokens: 4, stream: true }));
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toMatch(/text\/event-stream/);
    const body = await res.text();
    const events = body.split("\n\n").filter(Boolean);
    expect(events.every((e) => e.startsWith("data: "))).toBe(true);
    expect(events.at(-1)).toBe("data: [DONE]");
  });
});

describe("gateway: cascade", () => {
  it("escalates by the weak answer's mean logprob, consistently in body and trace", async () => {
    const answers = await Promise.all(
      [MATH, STORY, "Once upon a time, Lily went to the park.", "What is 12 times 4?"].map((content) =>
        client.chat.completions.create({ model: "cascade", messages: [{ role: "user", content }], max_tokens: 16, temperature: 0 }),
      ),
    );
    for (const a of answers) {
      const t = tandemOf(a);
      const d = t.decisions[0];
      expect(d.strategy).toBe("cascade");
      expect(t.escalated).toBe(d.score < -0.7);
      expect(t.served_by).toBe(t.escalated ? "cloud" : "edge");
      expect(t.calls.map((c) => c.model)).toEqual(t.escalated ? ["edge", "cloud"] : ["edge"]);
      expect(t.cost_usd).toBeLessThanOrEqual(t.strong_only_cost_usd + 1e-15);
      const trace = built.traces?.get(a.id);
      expect(trace).toMatchObject({ status: 200, escalated: t.escalated, servedBy: t.served_by });
    }
  });

  it("streams an escalated answer from the cloud model", async () => {
    const stream = await client.chat.completions.create({ model: "always-strong", messages: [{ role: "user", content: STORY }], max_tokens: 12, temperature: 0, stream: true });
    let text = "";
    let tandem: TandemField | undefined;
    for await (const chunk of stream) {
      text += chunk.choices[0]?.delta?.content ?? "";
      tandem = (chunk as unknown as { tandem?: TandemField }).tandem ?? tandem;
    }
    expect(tandem).toMatchObject({ served_by: "cloud", escalated: true });
    expect(text.length).toBeGreaterThan(0);
  });
});

describe("gateway: tools and logprobs", () => {
  const tools: OpenAI.Chat.ChatCompletionTool[] = [
    { type: "function", function: { name: "lookup", description: "look up a city", parameters: { type: "object", properties: { city: { type: "string", enum: ["Paris", "Rome"] }, days: { type: "integer", enum: [1, 2, 3] } }, required: ["city", "days"] } } },
  ];

  it("passes tools through the route to the serving (remote) model, non-streaming and streaming", async () => {
    const r = await client.chat.completions.create({ model: "route", messages: [{ role: "user", content: MATH }], tools, tool_choice: { type: "function", function: { name: "lookup" } } });
    expect(tandemOf(r).served_by).toBe("cloud");
    expect(r.choices[0].finish_reason).toBe("tool_calls");
    const call = r.choices[0].message.tool_calls?.[0];
    expect(call?.type === "function" && call.function.name).toBe("lookup");
    const args = JSON.parse(call?.type === "function" ? call.function.arguments : "");
    expect(["Paris", "Rome"]).toContain(args.city);

    const stream = await client.chat.completions.create({ model: "cloud", messages: [{ role: "user", content: STORY }], tools, tool_choice: "required", stream: true });
    let name = "";
    let argText = "";
    let finish = "";
    for await (const chunk of stream) {
      for (const tc of chunk.choices[0]?.delta?.tool_calls ?? []) {
        name += tc.function?.name ?? "";
        argText += tc.function?.arguments ?? "";
      }
      finish = chunk.choices[0]?.finish_reason ?? finish;
    }
    expect(name).toBe("lookup");
    expect(JSON.parse(argText)).toHaveProperty("days");
    expect(finish).toBe("tool_calls");
  });

  it("returns per-token logprobs from both local and remote models", async () => {
    for (const model of ["edge", "cloud"]) {
      const r = await client.chat.completions.create({ model, messages: [{ role: "user", content: STORY }], max_tokens: 6, logprobs: true, top_logprobs: 2 });
      const lps = r.choices[0].logprobs?.content ?? [];
      expect(lps.length).toBe(r.usage?.completion_tokens);
      expect(lps[0].top_logprobs).toHaveLength(2);
      expect(lps.every((t) => t.logprob <= 0)).toBe(true);
    }
  });
});

describe("gateway: errors are OpenAI-shaped and the server keeps answering", () => {
  it("malformed JSON → 400 invalid_json", async () => {
    const res = await post("{\"model\": \"route\", \"messages\": [");
    expect(res.status).toBe(400);
    expect(((await res.json()) as ErrorBody).error).toMatchObject({ code: "invalid_json", type: "invalid_request_error" });
  });

  it("invalid fields → 400 naming the field", async () => {
    const res = await post(JSON.stringify({ model: "route", messages: [{ role: "wizard", content: "hi" }] }));
    expect(res.status).toBe(400);
    expect(((await res.json()) as ErrorBody).error.param).toMatch(/^messages\.0/);
    await expect(client.chat.completions.create({ model: "route", messages: [], max_tokens: 3 })).rejects.toMatchObject({ status: 400 });
    await expect(client.chat.completions.create({ model: "route", messages: [{ role: "user", content: "x" }], temperature: 9 })).rejects.toMatchObject({ status: 400, param: "temperature" });
  });

  it("unknown model → 404 model_not_found", async () => {
    await expect(client.chat.completions.create({ model: "gpt-17", messages: [{ role: "user", content: "hi" }] })).rejects.toMatchObject({
      status: 404,
      code: "model_not_found",
      param: "model",
    });
  });

  it("oversized body → 413", async () => {
    const res = await post(JSON.stringify({ model: "route", messages: [{ role: "user", content: "x".repeat(100_000) }] }));
    expect(res.status).toBe(413);
    expect(((await res.json()) as ErrorBody).error.code).toBe("payload_too_large");
  });

  it("unreachable upstream → 502, streaming or not", async () => {
    await expect(client.chat.completions.create({ model: "dead", messages: [{ role: "user", content: "hi" }] })).rejects.toMatchObject({ status: 502, code: "upstream_error" });
    await expect(client.chat.completions.create({ model: "dead", messages: [{ role: "user", content: "hi" }], stream: true })).rejects.toMatchObject({ status: 502 });
  });

  it("timeout → 504", async () => {
    const { app } = createGatewayApp({ models: built.served, traces: built.traces, requestTimeoutMs: 30 });
    const slow = await listen(app, { port: 0 });
    try {
      const c = new OpenAI({ baseURL: `${slow.url}/v1`, apiKey: "t", maxRetries: 0 });
      await expect(c.chat.completions.create({ model: "cloud", messages: [{ role: "user", content: STORY }], max_tokens: 400 })).rejects.toMatchObject({ status: 504, code: "upstream_timeout" });
    } finally {
      await slow.close();
    }
  });

  it("unknown route → 404 in OpenAI's shape", async () => {
    const res = await fetch(`${url}/v1/audio/speech`, { method: "POST", body: "{}" });
    expect(res.status).toBe(404);
    expect(((await res.json()) as ErrorBody).error.type).toBe("invalid_request_error");
  });

  it("still answers after all of the above, and traced the failures", async () => {
    const r = await client.chat.completions.create({ model: "edge", messages: [{ role: "user", content: STORY }], max_tokens: 4 });
    expect(r.choices[0].message.content).toBeTypeOf("string");
    const failures = built.traces?.list({ limit: 200 }).filter((t) => t.status >= 400) ?? [];
    expect(new Set(failures.map((t) => t.status))).toEqual(new Set([400, 404, 413, 502, 504]));
  });

  it("serves /metrics in Prometheus format with cost and escalation counters", async () => {
    const text = await (await fetch(`${url}/metrics`)).text();
    expect(text).toMatch(/tandem_requests_total\{model="route",served_by="cloud",status="200"\} \d+/);
    expect(text).toMatch(/tandem_escalations_total\{model="route"\} \d+/);
    expect(text).toMatch(/tandem_saved_usd_total/);
  });
});
