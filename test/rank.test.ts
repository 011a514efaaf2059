/**
 * The `rank` strategy (output-level fusion, LLM-Blender) built from a policy through the
 * registry and served by a real gateway to the official `openai` client. Candidates are the real
 * stories260K and tinytales-5M models and real OpenAI-compatible HTTP upstreams on 127.0.0.1
 * that answer fixed texts; the judge is a real HTTP upstream that returns recorded judge answers
 * (a table from candidate answer to verdict, filled from the tiny models' real answers). Checked:
 * consensus with a canonical form (choice letters), samples of one model, pointwise and pairwise
 * judges, judge failure handling both ways, a learned scorer from a model file, every candidate
 * and judge call in the decision path and the cost, a failing candidate ranked around, all
 * candidates failing, abort, worst case and policy validation.
 */
import { mkdtempSync, writeFileSync } from "node:fs";
import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import OpenAI from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { deadBaseURL } from "./fixtures/production/fault-server.js";
import { modelPath } from "./helpers.js";
import { createGateway, type Gateway } from "../src/gateway/index.js";
import { parsePolicy } from "../src/policy/schema.js";
import type { RunningServer } from "../src/server/listen.js";
import { loadRankScorer, trainRankScorer } from "../src/strategies/rank/index.js";
import type { ModelCall } from "../src/core/model.js";

/** A real OpenAI-compatible chat-completions upstream whose reply is computed from the request (JSON only). Usage: 10 prompt, 2 completion tokens. */
interface Scripted {
  baseURL: string;
  bodies: Array<{ messages: Array<{ role: string; content: string }> }>;
  close(): Promise<void>;
}
async function scripted(reply: (userText: string) => string): Promise<Scripted> {
  const bodies: Scripted["bodies"] = [];
  const server: Server = createServer((req: IncomingMessage, res) => {
    let raw = "";
    req.on("data", (c) => (raw += c));
    req.on("end", () => {
      const body = JSON.parse(raw);
      bodies.push(body);
      const user = [...body.messages].reverse().find((m: { role: string }) => m.role === "user")?.content ?? "";
      res.writeHead(200, { "content-type": "application/json" });
      res.end(
        JSON.stringify({
          id: "chatcmpl-x",
          object: "chat.completion",
          created: 1,
          model: body.model,
          choices: [{ index: 0, message: { role: "assistant", content: reply(String(user)) }, finish_reason: "stop", logprobs: null }],
          usage: { prompt_tokens: 10, completion_tokens: 2, total_tokens: 12 },
        }),
      );
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
  const { port } = server.address() as AddressInfo;
  return { baseURL: `http://127.0.0.1:${port}/v1`, bodies, close: () => new Promise((r) => server.close(() => r())) };
}

/** The recorded judge: verdicts looked up by the candidate answer(s) it is shown. */
const verdicts = new Map<string, string>(); // answer text → "Score: N"
let preferred = ""; // pairwise: the answer that wins
const section = (text: string, name: string) => new RegExp(`\\[${name}\\]\\n([\\s\\S]*?)(?:\\n\\n\\[|$)`).exec(text)?.[1] ?? "";
function judgeReply(user: string): string {
  if (user.includes("[Answer A]")) return section(user, "Answer B") === preferred ? "Winner: B" : "Winner: A";
  return verdicts.get(section(user, "Answer")) ?? "Score: 5";
}

const ask = (content: string) => ({ messages: [{ role: "user" as const, content }], maxTokens: 10, temperature: 0 });
const PROMPT = "Once upon a time";
const tandemOf = (r: unknown) => (r as { tandem: { served_by: string; cost_usd: number; calls: ModelCall[]; decisions: Array<{ strategy: string; name: string; signal: string; score: number; chosen: string; reason: string }> } }).tandem;
const sumCost = (calls: readonly ModelCall[]) => calls.reduce((s, c) => s + c.costUsd, 0);

let servers: Scripted[] = [];
let judge: Scripted;
let gateway: Gateway;
let server: RunningServer;
let client: OpenAI;
let scorerPath: string;

beforeAll(async () => {
  const saysB = await scripted(() => "B) because iron is magnetic");
  const saysB2 = await scripted(() => "The answer is B.");
  const saysC = await scripted(() => "C");
  judge = await scripted(judgeReply);
  const rambler = await scripted(() => "I think the first one is better, probably.");
  const biased = await scripted(() => "Winner: B"); // always prefers the answer shown second
  servers = [saysB, saysB2, saysC, judge, rambler, biased];
  const dead = await deadBaseURL();
  const dir = mkdtempSync(join(tmpdir(), "tandem-rank-"));
  // a scorer file trained from recorded outcomes in which "big" was right and "edge" wrong
  const groups = Array.from({ length: 40 }, (_, i) => [
    { model: "big", text: `answer ${i}`, label: 1 },
    { model: "edge", text: `other ${i}`, label: 0 },
  ]);
  scorerPath = join(dir, "rank-scorer.json");
  writeFileSync(scorerPath, JSON.stringify(trainRankScorer(groups, { canonical: "text", source: "test" })));
  const cheap = (url: string, p: number) => `{ provider: openai-compatible, model: x, baseURL: ${url}, maxRetries: 0, location: cloud, price: { input: ${p}, output: ${p} } }`;
  const policy = parsePolicy(`
models:
  edge: { provider: llama-cpp, path: ${modelPath("stories260K.gguf")}, threads: 1, contextSize: 256 }
  big: { provider: llama-cpp, path: ${modelPath("tinytales-5M.gguf")}, threads: 1, contextSize: 256, price: { input: 1, output: 2 } }
  saysB: ${cheap(saysB.baseURL, 1)}
  saysB2: ${cheap(saysB2.baseURL, 2)}
  saysC: ${cheap(saysC.baseURL, 4)}
  judge: ${cheap(judge.baseURL, 3)}
  rambler: ${cheap(rambler.baseURL, 3)}
  biased: ${cheap(biased.baseURL, 3)}
  dead1: { provider: openai-compatible, model: x, baseURL: ${dead}, maxRetries: 0 }
  dead2: { provider: openai-compatible, model: x, baseURL: ${dead}, maxRetries: 0 }
strategies:
  letters: { kind: rank, models: [saysC, saysB, edge, saysB2, dead1], ranker: { kind: consensus, canonical: choice } }
  tiny-vote: { kind: rank, models: [big, edge], ranker: consensus, concurrency: 1 }
  sampled: { kind: rank, model: edge, samples: 3, sampleTemperature: 0, ranker: consensus }
  judged: { kind: rank, models: [edge, big], ranker: { kind: judge, judge: judge } }
  paired: { kind: rank, models: [edge, big, saysC], ranker: { kind: judge, judge: judge, mode: pairwise } }
  swapped: { kind: rank, models: [edge, big], ranker: { kind: judge, judge: judge, mode: pairwise, bothOrders: true } }
  biased-once: { kind: rank, models: [edge, big], ranker: { kind: judge, judge: biased, mode: pairwise } }
  biased-both: { kind: rank, models: [edge, big], ranker: { kind: judge, judge: biased, mode: pairwise, bothOrders: true } }
  lenient: { kind: rank, models: [edge, big], ranker: { kind: judge, judge: rambler } }
  strict: { kind: rank, models: [edge, big], ranker: { kind: judge, judge: rambler, onFailure: error } }
  learned: { kind: rank, models: [edge, big], ranker: { kind: scorer, path: ${scorerPath} } }
  doomed: { kind: rank, models: [dead1, dead2], ranker: consensus }
  quorum: { kind: rank, models: [saysB, dead1, saysC], ranker: consensus, minSuccesses: 3 }
`);
  gateway = await createGateway(policy, { tracesPath: ":memory:" });
  server = await gateway.listen({ host: "127.0.0.1", port: 0 });
  client = new OpenAI({ baseURL: `${server.url}/v1`, apiKey: "x", maxRetries: 0 });
}, 120_000);

afterAll(async () => {
  await gateway?.close();
  await Promise.all(servers.map((s) => s.close()));
});

describe("rank strategy: consensus", () => {
  it("serves the majority choice letter, ranks around a failed candidate and charges every call, JSON and streamed", async () => {
    const r = await client.chat.completions.create({ model: "letters", messages: [{ role: "user", content: "Which metal sticks to a magnet? A) gold B) iron C) tin D) zinc" }], max_tokens: 6, temperature: 0 });
    const t = tandemOf(r);
    // saysC is first in declared order, but B has two votes; the first B supporter (saysB) is served
    expect(t.served_by).toBe("saysB");
    expect(r.choices[0].message.content).toBe("B) because iron is magnetic");
    expect(t.decisions[0]).toMatchObject({ strategy: "rank", name: "letters", signal: "consensus-share", chosen: "saysB" });
    expect(t.decisions[0].score).toBeCloseTo(2 / 4); // 4 candidates succeeded; the tiny model abstains
    expect(t.decisions[0].reason).toMatch(/1 of 5 candidates failed/);
    expect(t.calls.map((c) => [c.model, c.role, c.error ? "failed" : "ok"])).toEqual([
      ["saysC", "candidate-1", "ok"],
      ["saysB", "candidate-2", "ok"],
      ["edge", "candidate-3", "ok"],
      ["saysB2", "candidate-4", "ok"],
      ["dead1", "candidate-5", "failed"],
    ]);
    // 10 prompt + 2 completion tokens at USD 4, 1 and 2 per 1M; the local model is free
    expect(t.cost_usd).toBeCloseTo((12 * 4 + 12 * 1 + 12 * 2) / 1e6, 12);
    expect(sumCost(t.calls)).toBeCloseTo(t.cost_usd, 12);
    const trace = gateway.built.traces!.get(r.id)!;
    expect(trace.calls).toHaveLength(5);

    const stream = await client.chat.completions.create({ model: "letters", messages: [{ role: "user", content: "Which metal sticks to a magnet? A) gold B) iron C) tin D) zinc" }], max_tokens: 6, temperature: 0, stream: true });
    let text = "";
    for await (const chunk of stream) text += chunk.choices[0]?.delta?.content ?? "";
    expect(text).toBe("B) because iron is magnetic");
  });

  it("real tiny models: a tie goes to the declared order; samples of one model at temperature 0 agree", async () => {
    const r = await client.chat.completions.create({ model: "tiny-vote", messages: [{ role: "user", content: PROMPT }], max_tokens: 10, temperature: 0 });
    const t = tandemOf(r);
    expect(t.calls.map((c) => c.model)).toEqual(["big", "edge"]);
    expect(t.served_by).toBe("big"); // two different answers, one vote each: the first declared
    expect(t.decisions[0].score).toBeCloseTo(0.5);
    expect(t.cost_usd).toBeGreaterThan(0);
    expect(sumCost(t.calls)).toBeCloseTo(t.cost_usd, 12);

    const s = await gateway.built.all.get("sampled")!.generate(ask(PROMPT));
    expect(s.info.calls.map((c) => c.role)).toEqual(["candidate-1", "candidate-2", "candidate-3"]);
    expect(s.info.decisions[0]).toMatchObject({ signal: "consensus-share", score: 1, chosen: "edge" });
    expect(s.info.decisions[0].reason).toMatch(/sample 1 of 3/);
  });

  it("fails with the last error carrying every call when all candidates fail or too few succeed", async () => {
    const doomed = await gateway.built.all.get("doomed")!.generate(ask("hi")).catch((e: unknown) => e);
    expect(doomed).toMatchObject({ code: "upstream_error" });
    expect((doomed as { calls: ModelCall[] }).calls.map((c) => c.model)).toEqual(["dead1", "dead2"]);
    const quorum = await gateway.built.all.get("quorum")!.generate(ask("hi")).catch((e: unknown) => e);
    expect((quorum as { calls: ModelCall[] }).calls.map((c) => [c.model, c.costUsd > 0])).toEqual([
      ["saysB", true],
      ["dead1", false],
      ["saysC", true],
    ]);
    await expect(client.chat.completions.create({ model: "doomed", messages: [{ role: "user", content: "hi" }], max_tokens: 4 })).rejects.toMatchObject({ status: 502 });
  });
});

describe("rank strategy: judge", () => {
  it("pointwise: the recorded judge's higher score wins, judge calls are in the path and the cost", async () => {
    const edgeText = (await gateway.built.all.get("edge")!.generate(ask(PROMPT))).text;
    const bigText = (await gateway.built.all.get("big")!.generate(ask(PROMPT))).text;
    expect(edgeText).not.toBe(bigText);
    verdicts.set(edgeText, "Score: 3").set(bigText, "**Score:** 9");
    const model = gateway.built.all.get("judged")!;
    const r = await model.generate(ask(PROMPT));
    expect(r.info.servedBy).toBe("big");
    expect(r.text).toBe(bigText);
    expect(r.info.decisions[0]).toMatchObject({ signal: "judge-score", score: 9, chosen: "big" });
    expect(r.info.calls.map((c) => [c.model, c.role])).toEqual([
      ["edge", "candidate-1"],
      ["big", "candidate-2"],
      ["judge", "judge-1"],
      ["judge", "judge-2"],
    ]);
    const judgeCalls = r.info.calls.filter((c) => c.model === "judge");
    for (const c of judgeCalls) expect(c.costUsd).toBeCloseTo((12 * 3) / 1e6, 12);
    expect(r.info.costUsd).toBeCloseTo(sumCost(r.info.calls), 12);
    // the judge saw the request and one answer, with the strict format asked for
    const seen = judge.bodies.slice(-2).map((b) => b.messages);
    expect(seen[0][0].content).toMatch(/Score: N/);
    expect(seen.map((m) => m[1].content).join()).toContain(PROMPT);

    verdicts.set(edgeText, "10/10").set(bigText, "Score: 2");
    expect((await model.generate(ask(PROMPT))).info.servedBy).toBe("edge");

    // the worst case reserves both candidates and both judge calls
    const perCall = { promptTokens: 100, completionTokens: 10 };
    const judgedCase = model.worstCase!(perCall);
    const voteCase = gateway.built.all.get("tiny-vote")!.worstCase!(perCall);
    expect(judgedCase.costUsd).toBeGreaterThan(voteCase.costUsd + 2 * (((100 + 10 + 200) * 3) / 1e6));
  });

  it("pairwise: a bubble pass of N − 1 comparisons, over HTTP", async () => {
    const bigText = (await gateway.built.all.get("big")!.generate(ask(PROMPT))).text;
    preferred = bigText;
    const r = await client.chat.completions.create({ model: "paired", messages: [{ role: "user", content: PROMPT }], max_tokens: 10, temperature: 0 });
    const t = tandemOf(r);
    expect(t.served_by).toBe("big");
    expect(t.calls.map((c) => c.role)).toEqual(["candidate-1", "candidate-2", "candidate-3", "judge-1-vs-2", "judge-2-vs-3"]);
    expect(t.decisions[0]).toMatchObject({ signal: "judge-wins", score: 2 }); // beat edge, then saysC
    expect(t.cost_usd).toBeCloseTo(sumCost(t.calls), 12);
    preferred = "C";
    expect((await gateway.built.all.get("paired")!.generate(ask(PROMPT))).info.servedBy).toBe("saysC");

    // both orders: a consistent judge still picks its answer; a judge that always says "B" hands the challenger the win only when asked once
    preferred = bigText;
    const both = await gateway.built.all.get("swapped")!.generate(ask(PROMPT));
    expect(both.info.servedBy).toBe("big");
    expect(both.info.calls.map((c) => c.role).slice(2)).toEqual(["judge-1-vs-2", "judge-1-vs-2-swapped"]);
    expect((await gateway.built.all.get("biased-both")!.generate(ask(PROMPT))).info.servedBy).toBe("edge");
    expect((await gateway.built.all.get("biased-once")!.generate(ask(PROMPT))).info.servedBy).toBe("big");
  });

  it("an unparsable judge: serves the first candidate by default, or fails carrying every call", async () => {
    const r = await gateway.built.all.get("lenient")!.generate(ask(PROMPT));
    expect(r.info.servedBy).toBe("edge");
    expect(r.info.decisions[0].reason).toMatch(/judge rambler failed .*served the first candidate/);
    expect(r.info.calls.filter((c) => c.role?.startsWith("judge")).map((c) => c.error)).toEqual([
      expect.stringMatching(/unparsable judge reply/),
      expect.stringMatching(/unparsable judge reply/),
    ]);
    expect(r.info.costUsd).toBeCloseTo(sumCost(r.info.calls), 12); // the unparsable replies are still paid for
    const error = await gateway.built.all.get("strict")!.generate(ask(PROMPT)).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: "upstream_error" });
    expect((error as { calls: ModelCall[] }).calls.map((c) => c.role)).toEqual(["candidate-1", "candidate-2", "judge-1", "judge-2"]);
  });
});

describe("rank strategy: learned scorer, abort, validation", () => {
  it("a scorer from a model file picks the model its recorded outcomes favour", async () => {
    const r = await client.chat.completions.create({ model: "learned", messages: [{ role: "user", content: PROMPT }], max_tokens: 10, temperature: 0 });
    const t = tandemOf(r);
    expect(t.served_by).toBe("big");
    expect(t.decisions[0].signal).toBe("scorer-probability");
    expect(t.decisions[0].score).toBeGreaterThan(0.5);
    expect(() => loadRankScorer(join(tmpdir(), "no-such-scorer.json"))).toThrow(/rank scorer .*cannot read/);
    const bad = join(tmpdir(), `bad-scorer-${process.pid}.json`);
    writeFileSync(bad, JSON.stringify({ format: "tandem-rank-scorer", version: 2 }));
    expect(() => loadRankScorer(bad)).toThrow(/version/);
  });

  it("honours the caller's abort and rejects bad options with the field's path", async () => {
    const controller = new AbortController();
    controller.abort();
    await expect(gateway.built.all.get("letters")!.generate(ask("hi"), controller.signal)).rejects.toMatchObject({ code: "aborted" });
    const base = `models:\n  a: { provider: openai-compatible, model: x, baseURL: http://127.0.0.1:9/v1 }\n  b: { provider: openai-compatible, model: x, baseURL: http://127.0.0.1:9/v1 }\nstrategies:\n`;
    expect(() => parsePolicy(`${base}  r: { kind: rank, models: [a, b], model: a, samples: 2, ranker: consensus }`)).toThrow(/give either 'models' or 'model'/);
    expect(() => parsePolicy(`${base}  r: { kind: rank, model: a, ranker: consensus }`)).toThrow(/strategies\.r\.samples: 'model' needs 'samples'/);
    expect(() => parsePolicy(`${base}  r: { kind: rank, models: [a, b], ranker: { kind: judge } }`)).toThrow(/strategies\.r\.ranker/);
    expect(() => parsePolicy(`${base}  r: { kind: rank, models: [a, b], ranker: { kind: judge, judge: nope } }`)).not.toThrow(); // references are checked when built
  });
});
