/**
 * The pipeline stages classify, rewrite and format (src/strategies/pipeline/), wired with real
 * parts: the bundled GGUF models (stories260K as the small model, tinytales-5M as the larger
 * one), a real OpenAI-compatible upstream on 127.0.0.1 (node:http, random port) whose answers
 * are scripted per request and whose received bodies are recorded, a classifier trained on real
 * RouteLLM MMLU prompts, and the gateway served to the official `openai` client.
 */
import { mkdtempSync, writeFileSync } from "node:fs";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import OpenAI from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { z } from "zod";
import { modelPath, sharedData } from "./helpers.js";
import { importRouteLLM } from "../src/eval/import-routellm.js";
import { createGateway, type Gateway } from "../src/gateway/index.js";
import { parsePolicy } from "../src/policy/schema.js";
import { openaiCompatible } from "../src/providers/openai-compatible.js";
import { llamaCpp, type LlamaCppModel } from "../src/providers/llama-cpp/index.js";
import type { RunningServer } from "../src/server/listen.js";
import { classify } from "../src/strategies/pipeline/classify.js";
import { parseLabel, slmClassifier, TfidfTextClassifier } from "../src/strategies/pipeline/classifier.js";
import { structuredOutput, type ResponseFormatRequest } from "../src/strategies/pipeline/format.js";
import { queryRewrite } from "../src/strategies/pipeline/rewrite.js";

/** A scripted OpenAI-compatible upstream: answers `answers` in turn (the last one repeats), records request bodies. */
interface Scripted {
  baseURL: string;
  bodies: Array<{ messages: Array<{ role: string; content: string }>; [k: string]: unknown }>;
  answers: string[];
  close(): Promise<void>;
}

async function scriptedUpstream(answers: string[]): Promise<Scripted> {
  const state: Scripted = { baseURL: "", bodies: [], answers, close: async () => {} };
  const server = http.createServer((req, res) => {
    let raw = "";
    req.setEncoding("utf8");
    req.on("data", (c: string) => (raw += c));
    req.on("end", () => {
      const body = JSON.parse(raw);
      state.bodies.push(body);
      const text = state.answers[Math.min(state.bodies.length - 1, state.answers.length - 1)];
      const usage = { prompt_tokens: Math.ceil(raw.length / 4), completion_tokens: Math.ceil(text.length / 4), total_tokens: Math.ceil(raw.length / 4) + Math.ceil(text.length / 4) };
      const id = "chatcmpl-scripted";
      if (!body.stream) {
        res.writeHead(200, { "content-type": "application/json" });
        res.end(JSON.stringify({ id, object: "chat.completion", created: 1, model: body.model, choices: [{ index: 0, message: { role: "assistant", content: text, refusal: null }, finish_reason: "stop", logprobs: null }], usage }));
        return;
      }
      res.writeHead(200, { "content-type": "text/event-stream" });
      const chunk = (delta: object, finish: string | null) => `data: ${JSON.stringify({ id, object: "chat.completion.chunk", created: 1, model: body.model, choices: [{ index: 0, delta, finish_reason: finish, logprobs: null }] })}\n\n`;
      res.write(chunk({ role: "assistant", content: "" }, null));
      for (let i = 0; i < text.length; i += 5) res.write(chunk({ content: text.slice(i, i + 5) }, null));
      res.write(chunk({}, "stop"));
      res.write(`data: ${JSON.stringify({ id, object: "chat.completion.chunk", created: 1, model: body.model, choices: [], usage })}\n\n`);
      res.end("data: [DONE]\n\n");
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  state.baseURL = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`;
  state.close = () => new Promise((resolve) => server.close(() => resolve()));
  return state;
}

/** The schema of the format tests: an enum, a boolean and a bounded integer (the grammar enforces the first two, not the bound). */
const schema = {
  type: "object",
  properties: { answer: { enum: ["yes", "no"] }, sure: { type: "boolean" }, votes: { type: "integer", minimum: 0, maximum: 9 } },
  required: ["answer", "sure"],
  additionalProperties: false,
};
/** An independent check of `schema` (zod written by hand, not derived from the JSON schema). */
const handwritten = z.object({ answer: z.enum(["yes", "no"]), sure: z.boolean(), votes: z.number().int().min(0).max(9).optional() }).strict();
const withFormat = (content: string): ResponseFormatRequest => ({
  messages: [{ role: "user", content }],
  maxTokens: 32,
  responseFormat: { type: "json_schema", json_schema: { name: "verdict", schema } },
});

let small: LlamaCppModel;
let large: LlamaCppModel;
const upstreams: Scripted[] = [];
const upstream = async (answers: string[]) => {
  const u = await scriptedUpstream(answers);
  upstreams.push(u);
  return u;
};
const cloud = (u: Scripted, id = "cloud") => openaiCompatible({ id, model: "gpt-x", baseURL: u.baseURL, maxRetries: 0, location: "cloud", price: { inputPerMillion: 10, outputPerMillion: 30 } });

beforeAll(async () => {
  small = llamaCpp({ id: "small", path: modelPath("stories260K.gguf"), threads: 1, contextSize: 1024 });
  large = llamaCpp({ id: "large", path: modelPath("tinytales-5M.gguf"), threads: 1, contextSize: 512, price: { inputPerMillion: 1, outputPerMillion: 2 } });
});
afterAll(async () => {
  await small?.close();
  await large?.close();
  for (const u of upstreams) await u.close();
});

describe("format: validate against the response_format schema, repair under the grammar, re-ask last", () => {
  it("a schema-violating answer from a real HTTP upstream is repaired by the tiny local model under the grammar", async () => {
    const u = await upstream(["Sure! The answer is probably yes, I am fairly sure."]);
    const model = structuredOutput({ model: cloud(u), repairer: small });
    const r = await model.generate(withFormat("Is the sky blue?"));
    expect(handwritten.safeParse(JSON.parse(r.text)).success).toBe(true);
    expect(u.bodies).toHaveLength(1); // no re-ask
    // the upstream was told the schema in words (providers do not forward response_format)
    expect(u.bodies[0].messages[0]).toMatchObject({ role: "system" });
    expect(u.bodies[0].messages[0].content).toContain('"enum":["yes","no"]');
    expect(r.info.calls.map((c) => [c.model, c.role ?? ""])).toEqual([
      ["cloud", ""],
      ["small", "repairer"],
    ]);
    expect(r.info.servedBy).toBe("small");
    expect(r.info.decisions[0]).toMatchObject({ strategy: "pipeline", signal: "format:repaired", outcome: "repaired", escalated: false });
    expect(r.info.costUsd).toBeCloseTo(r.info.calls[0].costUsd, 12); // the local repair is free
    // streamed: buffered, validated, then sent
    let streamed = "";
    for await (const part of model.stream(withFormat("Is the sky blue?"))) if (part.type === "text") streamed += part.text;
    expect(streamed).toBe(r.text);
  });

  it("a valid answer is served as it is, a fenced one unwrapped, and a request without a schema passes through", async () => {
    const u = await upstream(['{"answer": "no", "sure": true, "votes": 3}', 'Here you go:\n```json\n{"answer": "yes", "sure": false}\n```', "plain text"]);
    const model = structuredOutput({ model: cloud(u), repairer: small });
    const valid = await model.generate(withFormat("q1"));
    expect(valid.text).toBe('{"answer": "no", "sure": true, "votes": 3}');
    expect(valid.info.calls).toHaveLength(1);
    expect(valid.info.decisions[0]).toMatchObject({ signal: "format:valid", score: 0 });
    const fenced = await model.generate(withFormat("q2"));
    expect(JSON.parse(fenced.text)).toEqual({ answer: "yes", sure: false });
    expect(fenced.info.decisions[0].signal).toBe("format:extracted");
    const plain = await model.generate({ messages: [{ role: "user", content: "q3" }] });
    expect(plain.text).toBe("plain text");
    expect(plain.info.decisions).toHaveLength(0);
    expect(u.bodies[2].messages).toEqual([{ role: "user", content: "q3" }]); // untouched
  });

  it("re-asks the strong model when there is no repairer, and when the repair is invalid", async () => {
    const u = await upstream(["maybe", '{"answer": "yes", "sure": true}']);
    const noRepairer = structuredOutput({ model: cloud(u) });
    const r = await noRepairer.generate(withFormat("Is it?"));
    expect(JSON.parse(r.text)).toEqual({ answer: "yes", sure: true });
    expect(u.bodies).toHaveLength(2);
    // the re-ask carries the invalid answer and the validation errors
    const reask = u.bodies[1].messages;
    expect(reask[reask.length - 2]).toEqual({ role: "assistant", content: "maybe" });
    expect(reask[reask.length - 1].content).toMatch(/does not match the JSON schema \(not JSON/);
    expect(r.info.decisions[0]).toMatchObject({ signal: "format:re-asked", outcome: "re-asked", escalated: true });
    expect(r.info.calls.map((c) => c.role ?? "")).toEqual(["", "re-ask"]);
    expect(r.info.strongOnlyCostUsd).toBeCloseTo(r.info.costUsd, 12);

    // a repairer that is not under a grammar (a second HTTP model answering out of range) fails validation: re-ask
    const v = await upstream(['{"answer": "yes", "sure": true, "votes": 42}']);
    const u2 = await upstream(["no idea", '{"answer": "no", "sure": false, "votes": 1}']);
    const badRepair = structuredOutput({ model: cloud(u2), repairer: cloud(v, "bad-repairer") });
    const r2 = await badRepair.generate(withFormat("Is it?"));
    expect(JSON.parse(r2.text)).toEqual({ answer: "no", sure: false, votes: 1 });
    expect(r2.info.calls.map((c) => [c.model, c.role ?? ""])).toEqual([
      ["cloud", ""],
      ["bad-repairer", "repairer"],
      ["cloud", "re-ask"],
    ]);
    expect(r2.info.decisions[0].reason).toMatch(/repair invalid \(votes: Too big/);
  });

  it("with re-ask disabled an unrepairable answer is returned marked invalid, or fails with onInvalid: error", async () => {
    const u = await upstream(["never JSON"]);
    const r = await structuredOutput({ model: cloud(u), reask: false }).generate(withFormat("x"));
    expect(r.text).toBe("never JSON");
    expect(r.info.decisions[0]).toMatchObject({ signal: "format:invalid", outcome: "invalid" });
    const error = await structuredOutput({ model: cloud(u), reask: false, onInvalid: "error" }).generate(withFormat("x")).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: "upstream_error", status: 502 });
    expect((error as { calls: unknown[] }).calls).toHaveLength(1);
  });
});

describe("format through the gateway: a policy pins the schema to a served name", () => {
  let gateway: Gateway;
  let server: RunningServer;
  let u: Scripted;
  beforeAll(async () => {
    u = await upstream(["I think yes."]);
    const policy = parsePolicy(`
models:
  edge: { provider: llama-cpp, path: ${modelPath("stories260K.gguf")}, threads: 1, contextSize: 1024 }
  cloud: { provider: openai-compatible, model: gpt-x, baseURL: ${u.baseURL}, maxRetries: 0, location: cloud, price: { input: 10, output: 30 } }
strategies:
  verdict:
    kind: format
    model: cloud
    repairer: edge
    schema: ${JSON.stringify(schema)}
`);
    gateway = await createGateway(policy, { tracesPath: ":memory:" });
    server = await gateway.listen({ host: "127.0.0.1", port: 0 });
  });
  afterAll(async () => {
    await gateway?.close();
  });

  it("the client gets JSON of the schema, repaired locally, JSON and streamed", async () => {
    const client = new OpenAI({ baseURL: `${server.url}/v1`, apiKey: "x", maxRetries: 0 });
    const r = await client.chat.completions.create({ model: "verdict", messages: [{ role: "user", content: "Is the sky blue?" }], max_tokens: 16 });
    expect(handwritten.safeParse(JSON.parse(r.choices[0].message.content!)).success).toBe(true);
    const tandem = (r as unknown as { tandem: { served_by: string; decisions: Array<Record<string, unknown>> } }).tandem;
    expect(tandem.served_by).toBe("edge");
    expect(tandem.decisions[0]).toMatchObject({ strategy: "pipeline", signal: "format:repaired", outcome: "repaired" });
    const trace = gateway.built.traces!.get(r.id)!;
    expect(trace.calls.map((c) => [c.model, c.role ?? ""])).toEqual([
      ["cloud", ""],
      ["edge", "repairer"],
    ]);
    const s = await client.chat.completions.create({ model: "verdict", messages: [{ role: "user", content: "Is the sky blue?" }], max_tokens: 16, stream: true });
    let text = "";
    for await (const chunk of s) text += chunk.choices[0]?.delta?.content ?? "";
    expect(text).toBe(r.choices[0].message.content);
  });
});

describe("rewrite: the small model condenses the conversation into a standalone query", () => {
  it("the large model receives the system message and one standalone query; a single turn is not rewritten", async () => {
    const u = await upstream(["It is 384,400 km away."]);
    const model = queryRewrite({ rewriter: small, model: cloud(u), maxTokens: 24 });
    const conversation = [
      { role: "system" as const, content: "You are terse." },
      { role: "user" as const, content: "Tell me about the Moon." },
      { role: "assistant" as const, content: "The Moon is Earth's only natural satellite." },
      { role: "user" as const, content: "How far away is it?" },
    ];
    const r = await model.generate({ messages: conversation, maxTokens: 16 });
    expect(r.text).toBe("It is 384,400 km away.");
    const sent = u.bodies[0].messages;
    expect(sent).toHaveLength(2);
    expect(sent[0]).toEqual({ role: "system", content: "You are terse." });
    expect(sent[1].role).toBe("user");
    expect(sent[1].content.length).toBeGreaterThan(0);
    expect(sent[1].content).not.toContain("Assistant:");
    expect(r.info.calls.map((c) => [c.model, c.role ?? "", c.location])).toEqual([
      ["small", "rewriter", "edge"],
      ["cloud", "", "cloud"],
    ]);
    expect(r.info.decisions[0]).toMatchObject({ strategy: "pipeline", signal: "rewrite-ratio" });
    expect(r.info.decisions[0].score).toBeGreaterThan(0);
    expect(model.location).toBe("cloud");

    // streamed: the same rewrite (greedy), the same upstream answer, the rewriter's call first
    let streamed = "";
    let finish: Awaited<ReturnType<typeof model.generate>> | undefined;
    for await (const part of model.stream({ messages: conversation, maxTokens: 16 })) {
      if (part.type === "text") streamed += part.text;
      if (part.type === "finish") finish = part.result;
    }
    expect(streamed).toBe("It is 384,400 km away.");
    expect(u.bodies[1].messages).toEqual(sent);
    expect(finish?.info.calls[0].role).toBe("rewriter");
    u.bodies.splice(0, 2);

    const single = await model.generate({ messages: [{ role: "system", content: "s" }, { role: "user", content: "How far is the Moon?" }], maxTokens: 16 });
    expect(single.info.calls.map((c) => c.model)).toEqual(["cloud"]); // no rewriter call, no cost
    expect(single.info.decisions[0].reason).toMatch(/single turn/);
    expect(u.bodies[0].messages).toEqual([{ role: "system", content: "s" }, { role: "user", content: "How far is the Moon?" }]);
  });
});

describe("classify: a classifier labels the request, a route table picks the model", () => {
  it("an SLM classifier under the grammar always answers a valid label; in text mode an unparsable answer takes the fallback", async () => {
    const labels = ["math", "story", "code"];
    const grammar = slmClassifier({ model: small, labels });
    const p = await grammar.classify({ prompt: "What is 12 times 7?" });
    expect(labels).toContain(p.label);
    expect(p.fallbackReason).toBeUndefined();
    expect(p.calls?.[0]).toMatchObject({ model: "small", role: "classifier" });

    const text = slmClassifier({ model: small, labels, mode: "text", fallback: "story" });
    const t = await text.classify({ prompt: "What is 12 times 7?" });
    // stories260K writes a story, not a label: the strict parser refuses it
    expect(t).toMatchObject({ label: "story", probability: 0 });
    expect(t.fallbackReason).toMatch(/unparsable/);
    expect(parseLabel(' "Math".\nbecause', labels)).toBe("math");
    expect(parseLabel("label: code", labels)).toBe("code");
    expect(parseLabel("math or code", labels)).toBeUndefined();

    const routed = classify({ classifier: text, routes: { math: large }, default: small, id: "by-topic" });
    const r = await routed.generate({ messages: [{ role: "user", content: "What is 12 times 7?" }], maxTokens: 4 });
    expect(r.info.servedBy).toBe("small");
    expect(r.info.decisions[0]).toMatchObject({ strategy: "classify", name: "by-topic", signal: "classifier:slm", label: "story", score: 0, chosen: "small", escalated: false });
    expect(r.info.decisions[0].reason).toMatch(/fallback label/);
    expect(r.info.calls.map((c) => c.role ?? "")).toEqual(["classifier", ""]);
  });

  describe("through the gateway, with a TF-IDF classifier trained on real MMLU subjects", () => {
    let gateway: Gateway;
    let server: RunningServer;
    let heldOut: { prompt: string; group: string }[];
    let dir: string;

    beforeAll(async () => {
      const subjects = ["high_school_mathematics", "world_religions", "anatomy"];
      const { records } = importRouteLLM(subjects.map((s) => sharedData(`routing/routellm/mmlu/responses/mmlu_${s}.csv`)));
      // split by prompt: every 5th record of each subject is held out, never trained on
      const train = records.filter((_, i) => i % 5 !== 0);
      heldOut = records.filter((_, i) => i % 5 === 0).map((r) => ({ prompt: r.prompt as string, group: r.group! }));
      const classifier = TfidfTextClassifier.train(train.map((r) => ({ prompt: r.prompt as string, label: r.group! })));
      const correct = heldOut.filter((h) => classifier.classify({ prompt: h.prompt }).label === h.group).length;
      expect(correct / heldOut.length).toBeGreaterThan(0.9); // three distinct subjects: easy
      dir = mkdtempSync(join(tmpdir(), "tandem-classify-"));
      writeFileSync(join(dir, "classifier.json"), JSON.stringify(classifier.toJSON()));
      const policyPath = join(dir, "tandem.yaml");
      const policy = `
models:
  edge: { provider: llama-cpp, path: ${modelPath("stories260K.gguf")}, threads: 1, contextSize: 1024 }
  big: { provider: llama-cpp, path: ${modelPath("tinytales-5M.gguf")}, threads: 1, contextSize: 1024, price: { input: 1, output: 2 } }
strategies:
  by-subject:
    kind: classify
    classifier: { file: classifier.json }
    routes: { high_school_mathematics: big, anatomy: edge }
    default: edge
  by-slm:
    kind: classify
    classifier: { kind: slm, model: edge, labels: [math, story] }
    routes: { math: big }
    default: edge
`;
      writeFileSync(policyPath, policy);
      gateway = await createGateway(policyPath, { tracesPath: ":memory:" });
      server = await gateway.listen({ host: "127.0.0.1", port: 0 });
    });
    afterAll(async () => {
      await gateway?.close();
    });

    it("routes by the predicted subject, JSON and streamed, and records label and probability", async () => {
      const client = new OpenAI({ baseURL: `${server.url}/v1`, apiKey: "x", maxRetries: 0 });
      const math = heldOut.find((h) => h.group === "high_school_mathematics")!;
      const religion = heldOut.find((h) => h.group === "world_religions")!;
      type Tandem = { served_by: string; decisions: Array<Record<string, unknown>>; calls: Array<{ model: string }> };
      const r = await client.chat.completions.create({ model: "by-subject", messages: [{ role: "user", content: math.prompt.slice(-400) }], max_tokens: 4, temperature: 0 });
      const tandem = (r as unknown as { tandem: Tandem }).tandem;
      expect(tandem.served_by).toBe("big");
      expect(tandem.decisions[0]).toMatchObject({ strategy: "classify", name: "by-subject", signal: "classifier:tfidf-lr", label: "high_school_mathematics", chosen: "big", escalated: true });
      expect(tandem.decisions[0].score as number).toBeGreaterThan(1 / 3);
      // below minProbability: default, whatever the label
      const classifier = TfidfTextClassifier.fromFile(join(dir, "classifier.json"));
      const p = classifier.classify({ prompt: math.prompt.slice(-400) }).probability;
      expect(p).toBeCloseTo(tandem.decisions[0].score as number, 12); // the file served is the classifier trained
      expect(p).toBeLessThan(1);
      const minProbability = (p + 1) / 2;
      const unsure = classify({ classifier, routes: { high_school_mathematics: large }, default: small, minProbability });
      const u = await unsure.generate({ messages: [{ role: "user", content: math.prompt.slice(-400) }], maxTokens: 2 });
      expect(u.info.decisions[0]).toMatchObject({ label: "high_school_mathematics", chosen: "small", threshold: minProbability });
      expect(u.info.decisions[0].reason).toMatch(/probability below/);
      // no route for world_religions: default
      const s = await client.chat.completions.create({ model: "by-subject", messages: [{ role: "user", content: religion.prompt.slice(-400) }], max_tokens: 4, temperature: 0, stream: true });
      let last: { tandem?: Tandem } | undefined;
      for await (const chunk of s) if ((chunk as { tandem?: Tandem }).tandem) last = chunk as { tandem?: Tandem };
      expect(last?.tandem?.decisions[0]).toMatchObject({ label: "world_religions", chosen: "edge", escalated: false });
      expect(last?.tandem?.decisions[0].reason).toMatch(/no route/);
    });

    it("an SLM classifier from the policy answers a valid label under the grammar, its call charged first", async () => {
      const model = gateway.built.all.get("by-slm")!;
      const r = await model.generate({ messages: [{ role: "user", content: "Once upon a time" }], maxTokens: 4 });
      const d = r.info.decisions[0] as unknown as { label: string; chosen: string };
      expect(["math", "story"]).toContain(d.label);
      expect(d.chosen).toBe(d.label === "math" ? "big" : "edge");
      expect(r.info.calls[0]).toMatchObject({ model: "edge", role: "classifier" });
    });

    it("policy errors name the field", () => {
      expect(() => parsePolicy(`
models: { a: { provider: llama-cpp, path: x.gguf } }
strategies: { c: { kind: classify, classifier: { file: c.json }, routes: {}, default: a } }
`)).toThrow(/strategies\.c\.routes: the route table needs at least one label/);
      expect(() => parsePolicy(`
models: { a: { provider: llama-cpp, path: x.gguf } }
strategies: { f: { kind: format, model: a, repairer: a, onInvalid: maybe } }
`)).toThrow(/strategies\.f\.onInvalid/);
    });
  });
});
