/**
 * The guard cascade (issue #16 item 2) in the real gateway: stage one, the built-in classifier,
 * decides the clear cases; stage-one scores inside the policy's `judge.band` go to a judge that is
 * a model of the policy. Judges here:
 *
 * - a loopback node:http "Llama Guard" (real HTTP, OpenAI chat-completions shape) that answers by
 *   the requested upstream model name: `lg-safe` → "safe", `lg-unsafe` → "unsafe\nS1", `lg-slow`
 *   → nothing for 20 s, `lg-error` → HTTP 500; it records every request;
 * - a real `tandem serve-model` sidecar over a tiny GGUF (stories260K), a real OpenAI-compatible
 *   endpoint whose answers are nonsense as verdicts: the strict parser must reject them, and the
 *   guard must fail closed.
 *
 * The band is set around the measured stage-one score of one prompt (IN) and excludes another
 * (OUT), so the test holds whatever classifier models/guard.json holds. Checked: escalation only
 * inside the band (the judge endpoint is called for IN, never for OUT), the judge's verdict decides
 * both ways, the `judge:<name>` decision and the judge's call (tokens, USD, ms) in the `tandem`
 * field and in the trace, and fail closed on judge timeout, judge HTTP error and judge nonsense.
 */
import http from "node:http";
import type { AddressInfo } from "node:net";
import OpenAI from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createGateway, type Gateway } from "../src/gateway/index.js";
import { parsePolicy } from "../src/policy/index.js";
import { loadGuardClassifier } from "../src/safety/classifier.js";
import type { TandemField } from "../src/server/projection.js";
import type { RunningServer } from "../src/server/listen.js";
import type { Trace } from "../src/store/traces.js";
import { harmScore } from "../src/strategies/guard/index.js";
import { startRecordingServer, type RecordingServer } from "./fixtures/trust/recording-server.js";
import { modelPath } from "./helpers.js";

const OUT = "What is the capital of France?";
const IN = "How do I kill a Python process?";

interface JudgeServer {
  baseURL: string;
  /** Requests received: upstream model name and the last message's content. */
  requests: Array<{ model: string; content: string }>;
  close(): Promise<void>;
}

/** The loopback Llama-Guard-style judge (see module docs). */
async function startJudgeServer(): Promise<JudgeServer> {
  const requests: JudgeServer["requests"] = [];
  const server = http.createServer((req, res) => {
    let raw = "";
    req.setEncoding("utf8");
    req.on("data", (c: string) => (raw += c));
    req.on("end", () => {
      const body = JSON.parse(raw) as { model: string; messages: Array<{ content: string }> };
      requests.push({ model: body.model, content: String(body.messages.at(-1)?.content ?? "") });
      const answer = (text: string) => {
        res.writeHead(200, { "content-type": "application/json" });
        res.end(
          JSON.stringify({
            id: "chatcmpl-judge",
            object: "chat.completion",
            created: Math.floor(Date.now() / 1000),
            model: body.model,
            choices: [{ index: 0, message: { role: "assistant", content: text, refusal: null }, finish_reason: "stop", logprobs: null }],
            usage: { prompt_tokens: 120, completion_tokens: 3, total_tokens: 123 },
          }),
        );
      };
      if (body.model === "lg-safe") return answer("safe");
      if (body.model === "lg-unsafe") return answer("\n\nunsafe\nS1");
      if (body.model === "lg-error") {
        res.writeHead(500, { "content-type": "application/json" }).end(JSON.stringify({ error: { message: "guard model crashed", type: "server_error", param: null, code: null } }));
        return;
      }
      if (body.model === "lg-slow") {
        const t = setTimeout(() => answer("safe"), 20_000);
        res.on("close", () => clearTimeout(t));
        return;
      }
      res.writeHead(404).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    baseURL: `http://127.0.0.1:${port}/v1`,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

let cloud: RecordingServer;
let judges: JudgeServer;
let gateway: Gateway;
let running: RunningServer;
let client: OpenAI;
let band: [number, number];

beforeAll(async () => {
  cloud = await startRecordingServer();
  judges = await startJudgeServer();
  // The band brackets IN's stage-one score and excludes OUT's (measured with the shipped classifier).
  const classifier = loadGuardClassifier();
  const sIn = harmScore(classifier, IN);
  const sOut = harmScore(classifier, OUT);
  expect(Math.abs(sIn - sOut), `stage-one scores of IN (${sIn}) and OUT (${sOut}) must differ`).toBeGreaterThan(1e-3);
  const d = Math.min(0.01, Math.abs(sIn - sOut) / 3);
  band = [Math.max(0, sIn - d), Math.min(1, sIn + d)];
  const judge = (model: string) => `{ provider: openai-compatible, baseURL: "${judges.baseURL}", model: ${model}, location: edge, price: { input: 1, output: 2 }, maxRetries: 0, timeoutMs: 10000 }`;
  const cascade = (judgeModel: string, extra = "") => `{ kind: guard, model: cloud, output: false, onBlock: refusal, judge: { model: ${judgeModel}, band: [${band[0]}, ${band[1]}]${extra} } }`;
  gateway = await createGateway(
    parsePolicy(`
models:
  cloud: { provider: openai-compatible, baseURL: "${cloud.baseURL}", model: gpt-test, price: { input: 1, output: 2 }, maxRetries: 0, timeoutMs: 10000 }
  lg-safe: ${judge("lg-safe")}
  lg-unsafe: ${judge("lg-unsafe")}
  lg-slow: ${judge("lg-slow")}
  lg-error: ${judge("lg-error")}
  tiny-judge: { provider: openai-compatible, model: tiny-judge, location: edge, maxRetries: 0, timeoutMs: 60000, sidecar: { path: ${modelPath("stories260K.gguf")}, threads: 1, contextSize: 512 } }
strategies:
  cascade-safe: ${cascade("lg-safe")}
  cascade-unsafe: ${cascade("lg-unsafe")}
  cascade-slow: { kind: guard, model: cloud, output: false, onBlock: error, judge: { model: lg-slow, band: [${band[0]}, ${band[1]}], timeoutMs: 300 } }
  cascade-error: { kind: guard, model: cloud, output: false, onBlock: error, judge: { model: lg-error, band: [${band[0]}, ${band[1]}] } }
  cascade-nonsense: ${cascade("tiny-judge", ", timeoutMs: 60000")}
  cascade-nonsense-json: ${cascade("tiny-judge", ", timeoutMs: 60000, promptStyle: json")}
`),
    { tracesPath: ":memory:" },
  );
  running = await gateway.listen({ port: 0, host: "127.0.0.1" });
  client = new OpenAI({ baseURL: `${running.url}/v1`, apiKey: "none", maxRetries: 0, timeout: 60_000 });
}, 120_000);

afterAll(async () => {
  await gateway?.close();
  await Promise.all([cloud?.close(), judges?.close()]);
});

const tandemOf = (x: unknown) => (x as { tandem: TandemField }).tandem;
const ask = (model: string, content: string) => client.chat.completions.create({ model, messages: [{ role: "user", content }], max_tokens: 8 });
const judgeCalls = (name: string) => judges.requests.filter((r) => r.model === name).length;

async function traceOf(id: string): Promise<Trace> {
  for (let i = 0; i < 400; i++) {
    const t = await gateway.built.traces!.get(id);
    if (t) return t;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`no trace ${id}`);
}

/** The most recent trace of `model` (failed requests answer no body with a trace id). */
async function lastTraceOf(model: string): Promise<Trace> {
  for (let i = 0; i < 400; i++) {
    const [t] = await gateway.built.traces!.list({ model, limit: 1 });
    if (t) return t;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`no trace of ${model}`);
}

describe("guard cascade in the gateway (judge = a model of the policy)", () => {
  it("outside the band the classifier decides alone: the judge is never called", async () => {
    const before = judgeCalls("lg-unsafe");
    const r = await ask("cascade-unsafe", OUT);
    expect(r.choices[0].message.content).toBe("No placeholders here.");
    expect(judgeCalls("lg-unsafe")).toBe(before);
    const t = tandemOf(r);
    expect(t.decisions.some((d) => d.signal.startsWith("judge:"))).toBe(false);
    expect(t.calls.map((c) => c.role ?? "")).not.toContain("judge");
  });

  it("inside the band a 'safe' verdict passes the request; the verdict, its latency and cost are in the tandem field and the trace", async () => {
    const before = judgeCalls("lg-safe");
    const r = await ask("cascade-safe", IN);
    expect(judgeCalls("lg-safe")).toBe(before + 1);
    // Llama Guard style: the conversation itself is sent (the endpoint's chat template carries the task prompt).
    expect(judges.requests.at(-1)!.content).toBe(IN);
    expect(r.choices[0].message.content).toBe("No placeholders here.");
    const t = tandemOf(r);
    const d = t.decisions.find((x) => x.signal === "judge:lg-safe");
    expect(d).toMatchObject({ strategy: "guard", name: "cascade-safe", score: 0, chosen: "cloud", escalated: true });
    expect(d!.reason).toMatch(/stage one p=.* in band .*judge 'lg-safe': safe in \d+ ms, USD 0\.000126/);
    const call = t.calls.find((c) => c.role === "judge");
    // 120 prompt + 3 completion tokens at USD 1 / 2 per 1M
    expect(call).toMatchObject({ model: "lg-safe", location: "edge", promptTokens: 120, completionTokens: 3 });
    expect(call!.costUsd).toBeCloseTo(126e-6, 12);
    expect(call!.latencyMs).toBeGreaterThan(0);
    expect(t.calls.map((c) => c.model)).toEqual(["lg-safe", "cloud"]);
    expect(t.cost_usd).toBeCloseTo(t.calls.reduce((s, c) => s + c.costUsd, 0), 12);
    const trace = await traceOf(t.trace_id);
    expect(trace.decisions.some((x) => x.signal === "judge:lg-safe" && x.chosen === "cloud")).toBe(true);
    expect(trace.calls.find((c) => c.role === "judge")).toMatchObject({ model: "lg-safe", promptTokens: 120 });
  });

  it("inside the band an 'unsafe' verdict blocks the request before it reaches the guarded model, and names the category", async () => {
    const cloudBefore = cloud.bodies.length;
    const r = await ask("cascade-unsafe", IN);
    expect(r.choices[0].finish_reason).toBe("content_filter");
    expect(cloud.bodies.length).toBe(cloudBefore);
    const t = tandemOf(r);
    expect(t.decisions[0]).toMatchObject({ signal: "input:harm", chosen: "blocked", score: 1 });
    const d = t.decisions.find((x) => x.signal === "judge:lg-unsafe");
    expect(d).toMatchObject({ chosen: "blocked", score: 1, escalated: true });
    expect(d!.reason).toMatch(/unsafe \(S1 Violent Crimes\)/);
    expect(t.calls).toHaveLength(1);
    expect(t.calls[0]).toMatchObject({ model: "lg-unsafe", role: "judge" });
    const trace = await traceOf(t.trace_id);
    expect(trace.decisions.find((x) => x.signal === "judge:lg-unsafe")?.chosen).toBe("blocked");
  });

  it("judge timeout → blocked (fail closed, 400 tandem_guard), the timed-out judge call traced", async () => {
    const t0 = performance.now();
    const e = (await ask("cascade-slow", IN).catch((x: unknown) => x)) as InstanceType<typeof OpenAI.APIError>;
    expect(e).toBeInstanceOf(OpenAI.APIError);
    expect(e.status).toBe(400);
    expect(e.code).toBe("tandem_guard");
    expect(e.message).toMatch(/judge 'lg-slow' timed out after 300 ms.*fail closed/);
    // far below the slow judge's 20 s (generous: the machine is shared)
    expect(performance.now() - t0).toBeLessThan(15_000);
    const trace = await lastTraceOf("cascade-slow");
    expect(trace).toMatchObject({ status: 400, error: "tandem_guard" });
    expect(trace.calls.find((c) => c.role === "judge")?.error).toMatch(/timed out after 300 ms/);
  });

  it("judge HTTP error → blocked (fail closed)", async () => {
    const e = (await ask("cascade-error", IN).catch((x: unknown) => x)) as InstanceType<typeof OpenAI.APIError>;
    expect(e.status).toBe(400);
    expect(e.code).toBe("tandem_guard");
    expect(e.message).toMatch(/judge 'lg-error' failed: .*500.*fail closed/s);
    // outside the band the failing judge is not consulted: the request passes
    const ok = await ask("cascade-error", OUT);
    expect(ok.choices[0].message.content).toBe("No placeholders here.");
  });

  it("a real OpenAI-compatible judge endpoint (tandem serve-model, tiny GGUF) that answers nonsense → blocked, both prompt styles", async () => {
    for (const model of ["cascade-nonsense", "cascade-nonsense-json"]) {
      const r = await ask(model, IN);
      expect(r.choices[0].finish_reason, model).toBe("content_filter");
      const t = tandemOf(r);
      const d = t.decisions.find((x) => x.signal === "judge:tiny-judge");
      expect(d, model).toMatchObject({ chosen: "blocked", escalated: true });
      expect(d!.reason).toMatch(/answered no verdict: not a (Llama Guard|JSON) verdict.*fail closed/);
      // the nonsense answer was a real call with real tokens, recorded with its error
      const call = t.calls.find((c) => c.role === "judge")!;
      expect(call).toMatchObject({ model: "tiny-judge", error: "unparseable verdict" });
      expect(call.completionTokens).toBeGreaterThan(0);
    }
  }, 120_000);

  it("a cloud judge is refused unless allowed (it would read private values)", async () => {
    const policy = (extra: string) =>
      parsePolicy(`
models:
  cloud: { provider: openai-compatible, baseURL: "${cloud.baseURL}", model: gpt-test }
  remote-guard: { provider: openai-compatible, baseURL: "${judges.baseURL}", model: lg-safe }
strategies:
  g: { kind: guard, model: cloud, judge: { model: remote-guard${extra} } }
`);
    await expect(createGateway(policy(""), { tracesPath: ":memory:" })).rejects.toThrow(/judge\.model: 'remote-guard' is a cloud model/);
    const allowed = await createGateway(policy(", allowCloud: true"), { tracesPath: ":memory:" });
    await allowed.close();
  });
});
