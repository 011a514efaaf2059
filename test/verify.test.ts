/**
 * Verification (AutoMix, Madaan et al. 2023): the cascade's `verify` signal and the `verify`
 * strategy, wired with real parts — stories260K as the weak model, tinytales-5M as the strong one
 * (both real GGUF models in-process), and as the verifier a real OpenAI-compatible HTTP upstream on
 * 127.0.0.1 that answers AutoMix verdicts recorded per sample (chosen by the request's seed, so
 * each test knows P(correct) exactly). Served through the policy, the gateway and the official
 * `openai` client, JSON and streamed.
 */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import OpenAI from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ask, modelPath, weakStrongPair } from "./helpers.js";
import { createGateway, type Gateway } from "../src/gateway/index.js";
import { parsePolicy } from "../src/policy/schema.js";
import { openaiCompatible } from "../src/providers/openai-compatible.js";
import type { RunningServer } from "../src/server/listen.js";
import type { TandemField } from "../src/server/projection.js";
import { cascade } from "../src/strategies/cascade/index.js";
import { verify } from "../src/strategies/verify/index.js";
import { automixMessages, correctProbability, parseVerdict, verificationInput } from "../src/strategies/verify/verifier.js";

const CORRECT = "The answer follows from the question.\n\nVerification Decision: The AI generated answer is Correct.";
const INCORRECT = "The question says otherwise.\n\nVerification Decision: The AI generated answer is Incorrect.";
const RAMBLE = "Once upon a time there was a little dog.";

/** A recorded verifier: answers `script[seed mod script.length]`, usage 100 prompt / 10 completion tokens; keeps the requests. */
interface VerdictServer {
  baseURL: string;
  script: string[];
  requests: Array<{ seed?: number; temperature?: number; stop?: string[]; messages: Array<{ role: string; content: string }> }>;
  close(): Promise<void>;
}

async function startVerdictServer(): Promise<VerdictServer> {
  const state: VerdictServer = { baseURL: "", script: [CORRECT], requests: [], close: async () => {} };
  const server: Server = createServer((req, res) => {
    let body = "";
    req.on("data", (c) => (body += c));
    req.on("end", () => {
      const parsed = JSON.parse(body) as VerdictServer["requests"][number] & { model: string; stream?: boolean };
      state.requests.push(parsed);
      const text = state.script[(parsed.seed ?? 0) % state.script.length];
      if (parsed.stream) {
        res.writeHead(200, { "content-type": "text/event-stream" });
        res.write(`data: ${JSON.stringify({ id: "v", object: "chat.completion.chunk", created: 1, model: parsed.model, choices: [{ index: 0, delta: { role: "assistant", content: text }, finish_reason: null }] })}\n\n`);
        res.write(`data: ${JSON.stringify({ id: "v", object: "chat.completion.chunk", created: 1, model: parsed.model, choices: [{ index: 0, delta: {}, finish_reason: "stop" }], usage: { prompt_tokens: 100, completion_tokens: 10, total_tokens: 110 } })}\n\n`);
        res.end("data: [DONE]\n\n");
        return;
      }
      res.writeHead(200, { "content-type": "application/json" });
      res.end(JSON.stringify({ id: "v", object: "chat.completion", created: 1, model: parsed.model, choices: [{ index: 0, message: { role: "assistant", content: text }, finish_reason: "stop" }], usage: { prompt_tokens: 100, completion_tokens: 10, total_tokens: 110 } }));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  state.baseURL = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`;
  state.close = () => new Promise((resolve) => server.close(() => resolve()));
  return state;
}

/** Verifier price: USD 10 / 20 per 1M tokens, so one sample (100 + 10 tokens) costs USD 0.0012. */
const VERIFIER_PRICE = { inputPerMillion: 10, outputPerMillion: 20 };
const SAMPLE_USD = (100 * 10 + 10 * 20) / 1e6;

let verdicts: VerdictServer;
const pair = await weakStrongPair();
const { weak, strong } = pair;
let checker: ReturnType<typeof openaiCompatible>;

beforeAll(async () => {
  verdicts = await startVerdictServer();
  checker = openaiCompatible({ id: "checker", model: "verifier", baseURL: verdicts.baseURL, maxRetries: 0, price: VERIFIER_PRICE, location: "edge" });
});
afterAll(async () => {
  await checker?.close?.();
  await verdicts?.close();
  await pair.close();
});

describe("verdict parsing (AutoMix's decision sentence, strict)", () => {
  it("reads Correct / Incorrect / yes / no and rejects everything else", () => {
    expect(parseVerdict(CORRECT)).toBe("correct");
    expect(parseVerdict(INCORRECT)).toBe("incorrect");
    expect(parseVerdict("the ai generated answer is correct")).toBe("correct");
    expect(parseVerdict("Yes, it is.")).toBe("correct");
    expect(parseVerdict("no")).toBe("incorrect");
    expect(parseVerdict(RAMBLE)).toBe("unparseable");
    expect(parseVerdict("The AI generated answer is Correct. The AI generated answer is Incorrect.")).toBe("unparseable");
    expect(parseVerdict("The AI generated answer is partially correct")).toBe("unparseable");
    expect(correctProbability(["correct", "unparseable", "incorrect", "correct"])).toBeCloseTo(2 / 3, 12);
    expect(correctProbability(["correct", "unparseable", "incorrect", "correct"], "incorrect")).toBeCloseTo(0.5, 12);
    expect(correctProbability(["unparseable"])).toBe(0);
  });
  it("fills AutoMix's prompt in one pass: slot names in the user's text stay as written", () => {
    const [m] = automixMessages(verificationInput([{ role: "system", content: "Be brief." }, { role: "user", content: "What is {generated_answer}?" }], "42"));
    const text = m.content as string;
    expect(text.endsWith("Context: system: Be brief.\n\nQuestion: What is {generated_answer}?\n\nAI Generated Answer: 42\n\nInstruction: Your task is to evaluate if the AI Generated Answer is correct, based on the provided context and question. Provide the judgement and reasoning for each case. Choose between Correct or Incorrect.\n\nEvaluation:")).toBe(true);
    expect(text.split("---")).toHaveLength(5); // four worked examples, then the request
  });
});

describe("cascade with the verify signal", () => {
  it("keeps the weak answer when P(correct) clears the threshold, charging every verifier sample", async () => {
    verdicts.script = [CORRECT, CORRECT, INCORRECT, CORRECT]; // seeds 0..3 → P = 3/4
    verdicts.requests = [];
    const c = cascade({ id: "av", weak, strong, signal: "verify", verifier: checker, samples: 4, threshold: 0.5 });
    const request = { ...ask("Tom has 3 apples and buys 2 more. How many?"), seed: 0 };
    const r = await c.generate(request);
    const alone = await weak.generate(request);
    expect(r.text).toBe(alone.text);
    expect(r.info.servedBy).toBe("weak");
    expect(r.info.escalated).toBe(false);
    expect(r.info.decisions[0]).toMatchObject({ strategy: "cascade", name: "av", signal: "verify", threshold: 0.5, escalated: false });
    expect(r.info.decisions[0].score).toBeCloseTo(0.75, 12);
    expect(r.info.decisions[0].reason).toMatch(/^verified: P\(correct\) 0\.75: 3 correct \/ 1 incorrect \/ 0 unparseable of 4/);
    expect(r.info.calls.map((x) => x.role)).toEqual(["weak", "verifier-sample-1", "verifier-sample-2", "verifier-sample-3", "verifier-sample-4"]);
    expect(r.info.costUsd).toBeCloseTo(4 * SAMPLE_USD, 12); // the weak model is free
    // AutoMix's prompt, with the question and the weak answer, sampled at temperature 1 with distinct seeds, stop "---"
    expect(verdicts.requests.map((q) => q.seed).sort()).toEqual([0, 1, 2, 3]);
    const prompt = verdicts.requests[0].messages[0].content;
    expect(prompt).toContain("Question: Tom has 3 apples and buys 2 more. How many?");
    expect(prompt).toContain(`AI Generated Answer: ${alone.text.trim()}`);
    expect(prompt).toMatch(/Choose between Correct or Incorrect\.\n\nEvaluation:$/);
    expect(verdicts.requests[0]).toMatchObject({ temperature: 1, stop: ["---"] });
  });

  it("escalates to the strong model when P(correct) is below the threshold; unparseable samples are skipped", async () => {
    verdicts.script = [INCORRECT, RAMBLE, CORRECT, RAMBLE]; // P = 1/2 (skip), 1/4 (counted incorrect)
    const request = ask("Once upon a time");
    const c = cascade({ id: "av", weak, strong, signal: "verify", verifier: checker, samples: 4, threshold: 0.6 });
    const r = await c.generate(request);
    expect(r.info.decisions[0].score).toBeCloseTo(0.5, 12);
    expect(r.info.decisions[0].reason).toMatch(/^unverified: P\(correct\) 0\.50: 1 correct \/ 1 incorrect \/ 2 unparseable of 4 < threshold 0\.6/);
    expect(r.info.servedBy).toBe("strong");
    expect(r.info.escalated).toBe(true);
    expect(r.info.calls.map((x) => x.model)).toEqual(["weak", "checker", "checker", "checker", "checker", "strong"]);
    expect(r.info.decisions[0].discarded).toBe((await weak.generate(request)).text);
    expect(r.text).toBe((await strong.generate(request)).text);
    expect(r.info.costUsd).toBeCloseTo(4 * SAMPLE_USD + r.info.calls[5].costUsd, 12);
    const strict = cascade({ weak, strong, signal: "verify", verifier: checker, samples: 4, threshold: 0.3, verification: { unparseable: "incorrect" } });
    const s = await strict.generate(request);
    expect(s.info.decisions[0].score).toBeCloseTo(0.25, 12);
    expect(s.info.escalated).toBe(true);
    // worst case counts the weak answer, k verifier samples and the strong call
    expect(c.worstCase!({ promptTokens: 10, completionTokens: 10 }).costUsd).toBeGreaterThan(4 * ((10 + 10 + 1000) * 10) / 1e6);
    expect(() => cascade({ weak, strong, signal: "mean-logprob", threshold: -1, verifier: checker })).toThrow(/only used by the 'verify' signal/);
  });
});

describe("verify strategy and the verify cascade from a policy, over HTTP", () => {
  let gateway: Gateway;
  let server: RunningServer;
  let client: OpenAI;

  beforeAll(async () => {
    const policy = parsePolicy(`
models:
  edge: { provider: llama-cpp, path: ${modelPath("stories260K.gguf")}, threads: 1, contextSize: 512 }
  big: { provider: llama-cpp, path: ${modelPath("tinytales-5M.gguf")}, threads: 1, contextSize: 512, price: { input: 1, output: 2 } }
  checker: { provider: openai-compatible, model: verifier, baseURL: ${verdicts.baseURL}, maxRetries: 0, location: edge, price: { input: 10, output: 20 } }
strategies:
  marked: { kind: verify, model: edge, verifier: checker, samples: 3, threshold: 0.5 }
  checked: { kind: verify, model: edge, verifier: checker, samples: 3, threshold: 0.5, onUnverified: escalate, escalateTo: big }
  automix: { kind: cascade, weak: edge, strong: big, signal: verify, verifier: checker, samples: 3, threshold: 0.5 }
`);
    gateway = await createGateway(policy, { tracesPath: ":memory:" });
    server = await gateway.listen({ host: "127.0.0.1", port: 0 });
    client = new OpenAI({ baseURL: `${server.url}/v1`, apiKey: "x", maxRetries: 0 });
  });
  afterAll(async () => {
    await gateway?.close();
  });

  const tandemOf = (r: unknown) => (r as { tandem: TandemField }).tandem;
  const request = (model: string) => ({ model, messages: [{ role: "user" as const, content: "Once upon a time" }], max_tokens: 8, temperature: 0, seed: 0 });

  it("mark: serves the answer and marks it unverified with P(correct), JSON and streamed (verdict on the final chunk)", async () => {
    verdicts.script = [INCORRECT, INCORRECT, CORRECT]; // P = 1/3 < 0.5
    const r = await client.chat.completions.create(request("marked"));
    const t = tandemOf(r);
    expect(t).toMatchObject({ served_by: "edge", escalated: false });
    expect(t.decisions[0]).toMatchObject({ strategy: "verify", name: "marked", signal: "p-correct", threshold: 0.5, chosen: "edge", escalated: false });
    expect(t.decisions[0].score).toBeCloseTo(1 / 3, 12);
    expect(t.decisions[0].reason).toMatch(/^unverified: P\(correct\) 0\.33: 1 correct \/ 2 incorrect .*: marked$/);
    expect(t.calls.map((c) => c.model)).toEqual(["edge", "checker", "checker", "checker"]);
    expect(t.calls.slice(1).map((c) => c.role)).toEqual(["verifier-sample-1", "verifier-sample-2", "verifier-sample-3"]);
    expect(t.cost_usd).toBeCloseTo(3 * SAMPLE_USD, 12);

    verdicts.script = [CORRECT];
    const stream = await client.chat.completions.create({ ...request("marked"), stream: true });
    let text = "";
    let last: TandemField | undefined;
    for await (const chunk of stream) {
      text += chunk.choices[0]?.delta?.content ?? "";
      last = (chunk as unknown as { tandem?: TandemField }).tandem ?? last;
    }
    expect(text).toBe(r.choices[0].message.content);
    expect(last?.decisions[0]).toMatchObject({ strategy: "verify", score: 1, escalated: false });
    expect(last?.decisions[0].reason).toMatch(/^verified: P\(correct\) 1\.00/);
    expect(last?.cost_usd).toBeCloseTo(3 * SAMPLE_USD, 12);
  });

  it("escalate: an unverified answer goes to the stronger model (buffered when streamed); a verified one stays", async () => {
    verdicts.script = [INCORRECT];
    const alone = await client.chat.completions.create(request("big"));
    const r = await client.chat.completions.create(request("checked"));
    const t = tandemOf(r);
    expect(t).toMatchObject({ served_by: "big", escalated: true });
    expect(t.decisions[0]).toMatchObject({ strategy: "verify", name: "checked", score: 0, chosen: "big", escalated: true });
    expect(t.decisions[0].reason).toMatch(/^unverified: .* escalated to big$/);
    expect(t.calls.map((c) => c.model)).toEqual(["edge", "checker", "checker", "checker", "big"]);
    expect(r.choices[0].message.content).toBe(alone.choices[0].message.content);
    expect(t.cost_usd).toBeCloseTo(3 * SAMPLE_USD + t.calls[4].costUsd, 12);
    const trace = gateway.built.traces!.get(r.id)!;
    expect(trace.calls.filter((c) => c.role?.startsWith("verifier-sample")).length).toBe(3);

    const stream = await client.chat.completions.create({ ...request("checked"), stream: true });
    let text = "";
    let last: TandemField | undefined;
    for await (const chunk of stream) {
      text += chunk.choices[0]?.delta?.content ?? "";
      last = (chunk as unknown as { tandem?: TandemField }).tandem ?? last;
    }
    expect(text).toBe(alone.choices[0].message.content);
    expect(last).toMatchObject({ served_by: "big", escalated: true });

    verdicts.script = [CORRECT, CORRECT, INCORRECT]; // P = 2/3 ≥ 0.5
    const kept = tandemOf(await client.chat.completions.create(request("checked")));
    expect(kept).toMatchObject({ served_by: "edge", escalated: false });
    expect(kept.decisions[0].reason).toMatch(/^verified: P\(correct\) 0\.67/);
  });

  it("cascade signal verify from the policy: the decision shows P(correct) and the escalation", async () => {
    verdicts.script = [RAMBLE, INCORRECT, RAMBLE]; // P = 0 (one verdict, incorrect)
    const t = tandemOf(await client.chat.completions.create(request("automix")));
    expect(t).toMatchObject({ served_by: "big", escalated: true });
    expect(t.decisions[0]).toMatchObject({ strategy: "cascade", name: "automix", signal: "verify", score: 0, threshold: 0.5, escalated: true });
    expect(t.decisions[0].reason).toMatch(/0 correct \/ 1 incorrect \/ 2 unparseable of 3/);
    expect(() =>
      parsePolicy(`
models:
  a: { provider: llama-cpp, path: x.gguf }
strategies:
  v: { kind: verify, model: a, verifier: a, threshold: 1.5 }
`),
    ).toThrow(/threshold/);
    expect(() => verify({ model: weak, verifier: checker, onUnverified: "escalate" })).toThrow(/escalateTo/);
  });
});
