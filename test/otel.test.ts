/**
 * Optional OpenTelemetry spans: with an SDK registered (as an application would), the real gateway
 * serving a real cascade (stories260K → tinytales-5M) emits one span per request with GenAI
 * attributes, decision events and a child span per model call, parented by the client's
 * `traceparent`; failed requests are spans with error status.
 */
import { propagation, SpanStatusCode, trace } from "@opentelemetry/api";
import { W3CTraceContextPropagator } from "@opentelemetry/core";
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from "@opentelemetry/sdk-trace-base";
import OpenAI from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createGatewayApp } from "../src/server/app.js";
import { listen, type RunningServer } from "../src/server/listen.js";
import { cascade } from "../src/strategies/cascade/index.js";
import { weakStrongPair } from "./helpers.js";

const exporter = new InMemorySpanExporter();
const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
trace.setGlobalTracerProvider(provider);
propagation.setGlobalPropagator(new W3CTraceContextPropagator());

const pair = await weakStrongPair();
let gateway: RunningServer;

beforeAll(async () => {
  const models = new Map([["careful", cascade({ id: "careful", weak: pair.weak, strong: pair.strong, signal: "min-logprob", threshold: 0 })]]);
  gateway = await listen(createGatewayApp({ models }).app, { port: 0 });
});
afterAll(async () => {
  await gateway?.close();
  await pair.close();
  await provider.shutdown();
});

describe("OpenTelemetry spans", () => {
  it("one server span per request with GenAI attributes, decisions as events, calls as child spans, under the caller's traceparent", async () => {
    const parentTraceId = "4bf92f3577b34da6a3ce929d0e0e4736";
    const client = new OpenAI({ baseURL: `${gateway.url}/v1`, apiKey: "x", maxRetries: 0, defaultHeaders: { traceparent: `00-${parentTraceId}-00f067aa0ba902b7-01` } });
    const r = await client.chat.completions.create({ model: "careful", messages: [{ role: "user", content: "Once upon a time" }], max_tokens: 8 });
    const spans = exporter.getFinishedSpans();
    const server = spans.find((s) => s.name === "chat careful");
    expect(server).toBeDefined();
    expect(server!.spanContext().traceId).toBe(parentTraceId);
    expect(server!.attributes).toMatchObject({
      "gen_ai.operation.name": "chat",
      "gen_ai.request.model": "careful",
      "gen_ai.response.model": "strong", // min-logprob ≥ 0 never holds: escalates
      "tandem.trace_id": r.id,
      "tandem.escalated": true,
      "http.response.status_code": 200,
      "gen_ai.usage.output_tokens": r.usage!.completion_tokens,
    });
    expect(server!.attributes["tandem.cost_usd"]).toBeGreaterThan(0);
    expect(server!.events.map((e) => e.name)).toEqual(["tandem.decision cascade"]);
    const calls = spans.filter((s) => s.parentSpanContext?.spanId === server!.spanContext().spanId);
    expect(calls.map((s) => s.name)).toEqual(["call weak", "call strong"]);
    expect(calls.map((s) => s.attributes["tandem.role"])).toEqual(["weak", ""]);
  });

  it("a failed request is a span with error status", async () => {
    exporter.reset();
    const res = await fetch(`${gateway.url}/v1/chat/completions`, { method: "POST", body: "{oops" });
    expect(res.status).toBe(400);
    const [span] = exporter.getFinishedSpans();
    expect(span.status.code).toBe(SpanStatusCode.ERROR);
    expect(span.attributes).toMatchObject({ "http.response.status_code": 400, "error.type": "invalid_json" });
  });
});
