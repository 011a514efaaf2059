/**
 * Shadow evaluation (src/shadow, docs/shadow.md) on a real gateway: the bundled models —
 * stories260K (weak, free) and tinytales-5M (strong, priced) in-process — a `route` candidate
 * with the heuristic router, and a recorded judge: a real HTTP server on 127.0.0.1 answering in
 * OpenAI's shape with recorded verdicts (it prefers the answers it was told are better, wherever
 * they appear in the prompt). Checked: the client's answers are identical with and without the
 * shadow (JSON and streamed); records hold the right models, costs and un-swapped verdicts, both
 * answer orders are used; sampling at 0, 0.5 and 1 with a seeded RNG selects exactly the
 * expected requests; saturation drops and counts; a judge that is down or talks nonsense changes
 * nothing for the client; the report's numbers on a known set; the policy's reference and
 * privacy checks; and `tandem shadow report` on a stored database.
 */
import { createServer, type Server } from "node:http";
import { mkdtempSync } from "node:fs";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import OpenAI from "openai";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { modelPath } from "./helpers.js";
import { buildGateway, createGateway, type Gateway } from "../src/gateway/index.js";
import { parsePolicy } from "../src/policy/schema.js";
import { Command } from "commander";
import { register as registerShadowCommand } from "../src/cli/commands/shadow.js";
import type { RunningServer } from "../src/server/listen.js";
import { seededRandom } from "../src/core/random.js";
import { HeuristicRouter } from "../src/strategies/route/index.js";
import { buildShadow } from "../src/shadow/build.js";
import { parsePairwiseVerdict } from "../src/shadow/judge.js";
import { shadowReport, wilsonInterval } from "../src/shadow/report.js";
import { memoryShadowStore, openShadowStore, type ShadowRecord } from "../src/store/shadow.js";

/** The recorded judge: prefers answers in `preferred`; `mode` switches it to nonsense or HTTP 500. */
interface JudgeServer {
  baseURL: string;
  preferred: Set<string>;
  mode: "recorded" | "garbage" | "down";
  /** Which position held a preferred answer, per call ("A", "B" or "-"). */
  orders: string[];
  calls: number;
  close(): Promise<void>;
}

async function startJudge(): Promise<JudgeServer> {
  const state = { preferred: new Set<string>(), mode: "recorded" as JudgeServer["mode"], orders: [] as string[], calls: 0 };
  const server: Server = createServer((req, res) => {
    let body = "";
    req.on("data", (c) => (body += c));
    req.on("end", () => {
      state.calls++;
      if (state.mode === "down") {
        res.writeHead(500, { "content-type": "application/json" }).end(JSON.stringify({ error: { message: "judge down", type: "server_error" } }));
        return;
      }
      const prompt = String((JSON.parse(body) as { messages: Array<{ content: string }> }).messages.at(-1)!.content);
      const a = /\[The Start of Assistant A's Answer\]\n([\s\S]*?)\n\[The End of Assistant A's Answer\]/.exec(prompt)?.[1] ?? "";
      const b = /\[The Start of Assistant B's Answer\]\n([\s\S]*?)\n\[The End of Assistant B's Answer\]/.exec(prompt)?.[1] ?? "";
      const pa = state.preferred.has(a);
      const pb = state.preferred.has(b);
      state.orders.push(pa && !pb ? "A" : pb && !pa ? "B" : "-");
      const content = state.mode === "garbage" ? "Both are fine [[A]] or maybe [[B]]" : `Explanation. ${pa && !pb ? "[[A]]" : pb && !pa ? "[[B]]" : "[[C]]"}`;
      res.writeHead(200, { "content-type": "application/json" }).end(
        JSON.stringify({
          id: "judge-1",
          object: "chat.completion",
          created: 0,
          model: "recorded-judge",
          choices: [{ index: 0, message: { role: "assistant", content }, finish_reason: "stop" }],
          usage: { prompt_tokens: 100, completion_tokens: 5, total_tokens: 105 },
        }),
      );
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const { port } = server.address() as AddressInfo;
  return Object.assign(state, {
    baseURL: `http://127.0.0.1:${port}/v1`,
    close: () => new Promise<void>((r) => server.close(() => r())),
  }) as JudgeServer;
}

const router = new HeuristicRouter();
const THRESHOLD = 0.2;
// heuristic scores ≈ 0.12 (weak side) and ≈ 0.34 / 0.48 (strong side)
const WEAK_PROMPTS = ["Once upon a time", "Tom had a dog."];
const STRONG_PROMPTS = ["Prove that the sum of the first n odd numbers is n squared, step by step.", "Explain why the sky is blue and compute 37*41 with reasoning."];
const JUDGE_USD = (100 * 0.5 + 5 * 1) / 1e6;

const policyText = (judgeURL: string, shadow: string) => `
models:
  weak: { provider: llama-cpp, path: ${modelPath("stories260K.gguf")}, threads: 1, contextSize: 256 }
  strong: { provider: llama-cpp, path: ${modelPath("tinytales-5M.gguf")}, threads: 1, contextSize: 256, price: { input: 1, output: 2 } }
  judge: { provider: openai-compatible, model: recorded-judge, baseURL: ${judgeURL}, maxRetries: 0, location: edge, price: { input: 0.5, output: 1 } }
strategies:
  auto: { kind: route, weak: weak, strong: strong, threshold: ${THRESHOLD}, router: { kind: heuristic } }
  cheap: { kind: fallback, primary: weak, fallbacks: [strong] }
${shadow}`;

let judge: JudgeServer;
let shadowed: Gateway;
let plain: Gateway;
let shadowedServer: RunningServer;
let plainServer: RunningServer;

beforeAll(async () => {
  for (const p of WEAK_PROMPTS) expect(router.score({ prompt: p })).toBeLessThanOrEqual(THRESHOLD);
  for (const p of STRONG_PROMPTS) expect(router.score({ prompt: p })).toBeGreaterThan(THRESHOLD);
  judge = await startJudge();
  shadowed = await createGateway(parsePolicy(policyText(judge.baseURL, "shadow:\n  strong: { strategy: auto, sample: 1, judge: judge, seed: 1, maxConcurrent: 8 }\n")), { tracesPath: ":memory:" });
  plain = await createGateway(parsePolicy(policyText(judge.baseURL, "")), { tracesPath: ":memory:" });
  shadowedServer = await shadowed.listen({ host: "127.0.0.1", port: 0 });
  plainServer = await plain.listen({ host: "127.0.0.1", port: 0 });
}, 60_000);

afterAll(async () => {
  await shadowed?.close();
  await plain?.close();
  await judge?.close();
});

type Tandem = { served_by: string; cost_usd: number };
const clientOf = (s: RunningServer) => new OpenAI({ baseURL: `${s.url}/v1`, apiKey: "x", maxRetries: 0 });
async function ask(s: RunningServer, prompt: string, stream = false): Promise<{ id: string; text: string; tandem: Tandem }> {
  const client = clientOf(s);
  const request = { model: "strong", messages: [{ role: "user" as const, content: prompt }], max_tokens: 10, temperature: 0 };
  if (!stream) {
    const r = await client.chat.completions.create(request);
    return { id: r.id, text: r.choices[0].message.content ?? "", tandem: (r as unknown as { tandem: Tandem }).tandem };
  }
  let text = "";
  let id = "";
  let tandem: Tandem | undefined;
  for await (const chunk of await client.chat.completions.create({ ...request, stream: true })) {
    id = chunk.id;
    text += chunk.choices[0]?.delta?.content ?? "";
    tandem ??= (chunk as unknown as { tandem?: Tandem }).tandem;
  }
  return { id, text, tandem: tandem! };
}

const recordsOf = (g: Gateway) => g.built.shadow!.store.list();

describe("shadow evaluation on a real gateway", () => {
  it("leaves the client's answers unchanged and records decisions, costs and un-swapped verdicts", async () => {
    const prompts = [...WEAK_PROMPTS, ...STRONG_PROMPTS];
    const answers: Array<{ prompt: string; id: string; text: string; tandem: Tandem; stream: boolean }> = [];
    for (const stream of [false, true]) {
      for (const prompt of prompts) {
        // the recorded judge prefers the strong (primary) answer: recorded from the unshadowed gateway first
        const b = await ask(plainServer, prompt, stream);
        judge.preferred.add(b.text);
        const a = await ask(shadowedServer, prompt, stream);
        // identical with and without the shadow: text, served model, cost
        expect(a.text).toBe(b.text);
        expect(a.tandem.served_by).toBe("strong");
        expect(a.tandem.cost_usd).toBe(b.tandem.cost_usd);
        answers.push({ prompt, ...a, stream });
        await shadowed.built.shadow!.idle();
      }
    }
    const records = recordsOf(shadowed);
    expect(records).toHaveLength(answers.length);
    const byTrace = new Map(records.map((r) => [r.traceId, r]));
    for (const a of answers) {
      const r = byTrace.get(a.id)!;
      expect(r, `record of ${a.id}`).toBeDefined();
      expect(r).toMatchObject({ model: "strong", candidate: "auto", sample: 1, primaryModel: "strong", threshold: THRESHOLD });
      expect(r.primaryCostUsd).toBeCloseTo(a.tandem.cost_usd, 12);
      expect(r.routerScore).toBeCloseTo(router.score({ prompt: a.prompt }), 12);
      if (WEAK_PROMPTS.includes(a.prompt)) {
        // the candidate would have routed to the free weak model: generated, judged worse
        expect(r).toMatchObject({ differs: true, candidateModel: "weak", candidateCostUsd: 0, verdict: "loss" });
        expect(r.judgeCostUsd).toBeCloseTo(JUDGE_USD, 12);
        expect(r.shadowCostUsd).toBeCloseTo(JUDGE_USD, 12); // weak generation is free
        expect(r.sides!.weak).toMatchObject({ model: "weak", costUsd: 0, verdict: "loss" });
        expect(r.sides!.strong).toMatchObject({ model: "strong", verdict: "same" });
      } else {
        // same choice as the primary: nothing generated, nothing judged
        expect(r).toMatchObject({ differs: false, candidateModel: "strong", verdict: "same", judgeCostUsd: 0, shadowCostUsd: 0 });
        expect(r.candidateCostUsd).toBe(r.primaryCostUsd);
        expect(r.sides!.weak.verdict).toBeUndefined(); // explore off
      }
      // the trace of the request is the primary's, unchanged
      expect(shadowed.built.traces!.get(a.id)!.servedBy).toBe("strong");
    }
    // both answer orders were shown (randomised against position bias), and every judged pair was un-swapped to "loss"
    expect(judge.orders.length).toBe(4);
    expect(new Set(judge.orders)).toEqual(new Set(["A", "B"]));
    const stats = shadowed.built.shadow!.evaluators.get("strong")!.stats;
    expect(stats).toMatchObject({ seen: 8, sampled: 8, dropped: 0, recorded: 8, failed: 0, inFlight: 0 });
    expect(stats.costUsd).toBeCloseTo(4 * JUDGE_USD, 12);
    // the shadow's spend is visible in /metrics
    const metrics = await (await fetch(`${shadowedServer.url}/metrics`)).text();
    expect(metrics).toMatch(/tandem_shadow_recorded_total\{model="strong"\} 8/);

    const report = shadowReport(records);
    expect(report.differ).toMatchObject({ count: 4, n: 8, share: 0.5 });
    const weakSpend = records.filter((r) => r.differs).reduce((s, r) => s + r.primaryCostUsd, 0);
    const allSpend = records.reduce((s, r) => s + r.primaryCostUsd, 0);
    expect(report.cost.savingsUsd).toBeCloseTo(weakSpend, 12);
    expect(report.cost.savingsShare).toBeCloseTo(weakSpend / allSpend, 12);
    expect(report.quality).toMatchObject({ n: 8, netChange: -0.5 });
    expect(report.quality.loss).toMatchObject({ count: 4, share: 0.5 });
  }, 120_000);

  it("a judge that is down, or answers without a clean verdict, never touches the client's answer", async () => {
    const before = recordsOf(shadowed).length;
    const prompt = WEAK_PROMPTS[0];
    const reference = await ask(plainServer, prompt);
    try {
      for (const mode of ["down", "garbage"] as const) {
        judge.mode = mode;
        const a = await ask(shadowedServer, prompt);
        expect(a.text).toBe(reference.text);
        expect(a.tandem.cost_usd).toBe(reference.tandem.cost_usd);
        await shadowed.built.shadow!.idle();
        const r = recordsOf(shadowed).find((x) => x.traceId === a.id)!;
        if (mode === "down") {
          expect(r).toMatchObject({ verdict: "error", differs: true, candidateModel: "weak" });
          expect(r.error).toMatch(/^judge: /);
        } else {
          expect(r.verdict).toBe("invalid");
        }
      }
    } finally {
      judge.mode = "recorded";
    }
    expect(recordsOf(shadowed).length).toBe(before + 2);
    const report = shadowReport(recordsOf(shadowed));
    expect(report.errors).toBe(1);
    expect(report.invalid).toBe(1);
    expect(report.quality.n).toBe(before); // the two are left out of the quality estimate
  }, 60_000);

  it("samples exactly the seeded Bernoulli draws at 0, 0.5 and 1, and drops when saturated", async () => {
    const strong = shadowed.built.all.get("strong")!;
    const request = { messages: [{ role: "user" as const, content: STRONG_PROMPTS[1] }], maxTokens: 4, temperature: 0 };
    const result = await strong.generate(request);
    for (const sample of [0, 0.5, 1]) {
      const store = memoryShadowStore();
      const runtime = buildShadow({ strong: { strategy: "auto", sample, seed: 3, maxConcurrent: 64, explore: false, timeoutMs: 10_000 } }, shadowed.built, { store, path: (p) => p });
      for (let i = 0; i < 40; i++) runtime.onAnswer({ model: "strong", request, result, traceId: `t${i}` });
      runtime.onAnswer({ model: "weak", request, result, traceId: "not-shadowed" }); // another served name: ignored
      await runtime.idle();
      const draws = seededRandom(3);
      const expected = Array.from({ length: 40 }, (_, i) => i).filter(() => draws() < sample).map((i) => `t${i}`);
      expect(store.records.map((r) => r.traceId).sort()).toEqual(expected.sort());
      if (sample === 0) expect(store.records).toHaveLength(0);
      if (sample === 1) expect(store.records).toHaveLength(40);
      if (sample === 0.5) expect(expected.length).toBeGreaterThan(10);
      expect(runtime.evaluators.get("strong")!.stats).toMatchObject({ seen: 40, sampled: expected.length, dropped: 0 });
      await runtime.close();
    }
    // one slot: the first is evaluated, the rest (arriving while it runs) dropped and counted
    const store = memoryShadowStore();
    const runtime = buildShadow({ strong: { strategy: "auto", sample: 1, seed: 0, maxConcurrent: 1, explore: false, timeoutMs: 10_000 } }, shadowed.built, { store, path: (p) => p });
    for (let i = 0; i < 5; i++) runtime.onAnswer({ model: "strong", request, result, traceId: `s${i}` });
    await runtime.idle();
    expect(runtime.evaluators.get("strong")!.stats).toMatchObject({ sampled: 5, dropped: 4, recorded: 1 });
    expect(store.records.map((r) => r.traceId)).toEqual(["s0"]);
    await runtime.close();
  }, 60_000);

  it("explore also judges the other side, so the threshold sweep covers every threshold", async () => {
    const strong = shadowed.built.all.get("strong")!;
    const store = memoryShadowStore();
    const runtime = buildShadow({ strong: { strategy: "auto", sample: 1, seed: 0, maxConcurrent: 4, explore: true, judge: "judge", timeoutMs: 60_000 } }, shadowed.built, { store, path: (p) => p });
    const request = { messages: [{ role: "user" as const, content: STRONG_PROMPTS[0] }], maxTokens: 8, temperature: 0 };
    const result = await strong.generate(request);
    judge.preferred.add(result.text);
    runtime.onAnswer({ model: "strong", request, result, traceId: "x1" });
    await runtime.idle();
    const [r] = store.records;
    expect(r).toMatchObject({ verdict: "same", differs: false, candidateModel: "strong" });
    expect(r.sides!.weak).toMatchObject({ model: "weak", costUsd: 0, verdict: "loss" }); // explored and judged
    expect(r.judgeCostUsd).toBeCloseTo(JUDGE_USD, 12);
    const sweep = shadowReport(store.records).threshold!;
    // a threshold at its score sends it to the weak side: evaluable now (savings 100 %, net −1)
    expect(sweep.sweep.at(-1)).toMatchObject({ weakShare: 1, savingsShare: 1, netChange: -1 });
    expect(sweep.sweep.at(-1)!.threshold).toBeCloseTo(router.score({ prompt: STRONG_PROMPTS[0] }), 12);
    await runtime.close();
  }, 60_000);
  it("any other candidate is run, and its served model is its choice", async () => {
    const strong = shadowed.built.all.get("strong")!;
    const store = memoryShadowStore();
    const runtime = buildShadow({ strong: { strategy: "cheap", sample: 1, seed: 0, maxConcurrent: 4, explore: false, judge: "judge", timeoutMs: 60_000 } }, shadowed.built, { store, path: (p) => p });
    const request = { messages: [{ role: "user" as const, content: STRONG_PROMPTS[0] }], maxTokens: 8, temperature: 0 };
    const result = await strong.generate(request);
    judge.preferred.add(result.text);
    runtime.onAnswer({ model: "strong", request, result, traceId: "f1", key: "team-a" });
    await runtime.idle();
    const [r] = store.records;
    // the fallback serves with its primary, the weak model: a different answer, judged worse
    expect(r).toMatchObject({ candidate: "cheap", candidateModel: "weak", candidateCostUsd: 0, differs: true, verdict: "loss", key: "team-a" });
    expect(r.routerScore).toBeUndefined();
    expect(r.sides).toBeUndefined();
    expect(r.judgeCostUsd).toBeCloseTo(JUDGE_USD, 12);
    await runtime.close();
  }, 60_000);
});

/** Runs `tandem shadow report …` in this process (the real command, registered as src/cli/main.ts does), capturing what it prints. */
async function cli(...argv: string[]): Promise<{ stdout: string; stderr: string; exitCode: number }> {
  const out: string[] = [];
  const err: string[] = [];
  const log = vi.spyOn(console, "log").mockImplementation((...a: unknown[]) => void out.push(a.join(" ")));
  const error = vi.spyOn(console, "error").mockImplementation((...a: unknown[]) => void err.push(a.join(" ")));
  const before = process.exitCode;
  process.exitCode = 0;
  try {
    const program = new Command("tandem").exitOverride();
    registerShadowCommand(program);
    await program.parseAsync(["node", "tandem", "shadow", "report", ...argv]);
    return { stdout: out.join("\n"), stderr: err.join("\n"), exitCode: Number(process.exitCode ?? 0) };
  } finally {
    process.exitCode = before;
    log.mockRestore();
    error.mockRestore();
  }
}

describe("shadow report numbers on a known set", () => {
  const rec = (i: number, fields: Partial<ShadowRecord>): ShadowRecord => ({
    id: `r${i}`,
    traceId: `t${i}`,
    createdAt: i,
    model: "cloud",
    candidate: "auto",
    sample: 0.1,
    primaryModel: "cloud",
    primaryCostUsd: 0.01,
    candidateModel: "cloud",
    candidateCostUsd: 0.01,
    differs: false,
    verdict: "same",
    judgeCostUsd: 0,
    shadowCostUsd: 0,
    ...fields,
  });
  // 10 requests: scores 0.05..0.95; at threshold 0.5 the first five go weak (cost 0.001):
  // verdicts win, tie, tie, loss, loss; the rest are the primary's (same)
  const verdicts = ["win", "tie", "tie", "loss", "loss"] as const;
  const records = Array.from({ length: 10 }, (_, i) => {
    const score = 0.05 + 0.1 * i;
    const weak = i < 5;
    const side = weak ? { model: "edge", costUsd: 0.001, verdict: verdicts[i] } : { model: "edge" };
    return rec(i, {
      routerScore: score,
      threshold: 0.5,
      candidateModel: weak ? "edge" : "cloud",
      candidateCostUsd: weak ? 0.001 : 0.01,
      differs: weak,
      verdict: weak ? verdicts[i] : "same",
      judgeCostUsd: weak ? 0.0001 : 0,
      shadowCostUsd: weak ? 0.0011 : 0,
      sides: { weak: side, strong: { model: "cloud", costUsd: 0.01, verdict: "same" } },
    });
  });

  it("decisions, savings, quality and intervals", () => {
    const r = shadowReport(records, { maxQualityDrop: 0.25 });
    expect(r.n).toBe(10);
    expect(r.differ).toMatchObject({ count: 5, n: 10, share: 0.5 });
    expect(r.cost.primaryUsd).toBeCloseTo(0.1, 12);
    expect(r.cost.candidateUsd).toBeCloseTo(0.055, 12);
    expect(r.cost.savingsUsd).toBeCloseTo(0.045, 12);
    expect(r.cost.savingsShare).toBeCloseTo(0.45, 12);
    expect(r.cost.extrapolatedSavingsUsd).toBeCloseTo(0.45, 12); // ÷ 0.1 sampling
    expect(r.cost.shadowUsd).toBeCloseTo(0.0055, 12);
    expect(r.cost.judgeUsd).toBeCloseTo(0.0005, 12);
    const [lo, hi] = r.cost.savingsShareInterval;
    expect(lo).toBeLessThanOrEqual(0.45);
    expect(hi).toBeGreaterThanOrEqual(0.45);
    expect(hi).toBeLessThanOrEqual(0.81); // at most every request saved 90 %
    expect(r.quality).toMatchObject({ n: 10, netChange: -0.1 });
    expect(r.quality.win).toMatchObject({ count: 1, share: 0.1 });
    expect(r.quality.tie).toMatchObject({ count: 7, share: 0.7 });
    expect(r.quality.loss).toMatchObject({ count: 2, share: 0.2 });
    // Wilson 95 % for 2/10: [0.0567, 0.5098] (Newcombe 1998, table I)
    expect(r.quality.loss.interval[0]).toBeCloseTo(0.0567, 4);
    expect(r.quality.loss.interval[1]).toBeCloseTo(0.5098, 4);
    // net change: Agresti–Min adjusted Wald, wins 1 + ½, losses 2 + ½ over 10 + 2
    const m = 12;
    const mean = (1.5 - 2.5) / m;
    const half = 1.959963984540054 * Math.sqrt(((1.5 + 2.5) / m - mean * mean) / m);
    expect(r.quality.netChangeInterval[0]).toBeCloseTo(mean - half, 12);
    expect(r.quality.netChangeInterval[1]).toBeCloseTo(mean + half, 12);
  });

  it("the threshold sweep covers thresholds up to the candidate's own and picks the largest feasible saving", () => {
    const t = shadowReport(records, { maxQualityDrop: 0.25 }).threshold!;
    expect(t.current).toBe(0.5);
    // without explore the strong-routed records have no weak verdict: thresholds ≥ 0.55 are not evaluable
    const thresholds = t.sweep.map((p) => p.threshold);
    expect(thresholds).toHaveLength(7);
    [0, 0.05, 0.15, 0.25, 0.35, 0.45, 0.5].forEach((x, i) => expect(thresholds[i]).toBeCloseTo(x, 12));
    const at = (x: number) => t.sweep.find((p) => Math.abs(p.threshold - x) < 1e-9)!;
    expect(at(0)).toMatchObject({ weakShare: 0, savingsShare: 0, netChange: 0 });
    expect(at(0.05).weakShare).toBeCloseTo(0.1, 12);
    expect(at(0.05).savingsShare).toBeCloseTo(0.09, 12);
    expect(at(0.05).netChange).toBeCloseTo(0.1, 12);
    expect(at(0.45).savingsShare).toBeCloseTo(0.45, 12);
    expect(at(0.45).netChange).toBeCloseTo(-0.1, 12);
    // fixed-sequence testing: feasible up to the first threshold whose lower bound < −25 pp, never after it
    const firstFail = t.sweep.findIndex((p) => p.netChangeInterval[0] < -0.25);
    t.sweep.forEach((p, i) => expect(p.feasible, `t=${p.threshold}`).toBe(firstFail === -1 || i < firstFail));
    // the recommendation: the largest saving in that feasible prefix
    const feasible = t.sweep.filter((p) => p.feasible);
    expect(feasible.length).toBeGreaterThan(1);
    const best = Math.max(...feasible.map((p) => p.savingsShare));
    expect(t.recommended!.savingsShare).toBeCloseTo(best, 12);
    // a strict tolerance: with 10 records no threshold that changes a request certifies −1 pp; the status quo (t = 0) remains
    const strict = shadowReport(records, { maxQualityDrop: 0.01 }).threshold!;
    expect(strict.recommended).toMatchObject({ threshold: 0, savingsShare: 0, weakShare: 0 });
    expect(strict.sweep.filter((p) => p.feasible)).toHaveLength(1);
  });

  it("Wilson, the strict verdict parser, and empty input", () => {
    expect(wilsonInterval(0, 0)).toEqual([0, 1]);
    const [lo, hi] = wilsonInterval(0, 10);
    expect(lo).toBe(0);
    expect(hi).toBeCloseTo(0.2775, 4);
    expect(parsePairwiseVerdict("A is better. [[A]]")).toBe("A");
    expect(parsePairwiseVerdict("[[ B ]]")).toBe("B");
    expect(parsePairwiseVerdict("tie: [[C]]")).toBe("tie");
    expect(parsePairwiseVerdict("[[A]] no wait [[B]]")).toBeUndefined();
    expect(parsePairwiseVerdict("A")).toBeUndefined();
    expect(parsePairwiseVerdict("[A]")).toBeUndefined();
    const empty = shadowReport([]);
    expect(empty).toMatchObject({ n: 0, differ: { count: 0, share: 0 }, quality: { n: 0, netChange: 0 } });
    expect(empty.threshold).toBeUndefined();
  });

  it("tandem shadow report reads a stored database (scoped by key)", async () => {
    const dir = mkdtempSync(join(tmpdir(), "tandem-shadow-"));
    const path = join(dir, "shadow.sqlite");
    const store = openShadowStore(path);
    for (const r of records) store.record({ ...r, key: "team-a" });
    store.record(rec(99, { key: "team-b", candidateCostUsd: 0.02, createdAt: 99 }));
    expect(store.list({ key: "team-b" })).toHaveLength(1);
    store.close();
    const json = await cli("--db", path, "--json", "--key", "team-a", "--max-quality-drop", "0.25");
    expect(json.exitCode, json.stderr).toBe(0);
    const [out] = JSON.parse(json.stdout) as Array<{ model: string; candidate: string; report: ReturnType<typeof shadowReport> }>;
    expect(out).toMatchObject({ model: "cloud", candidate: "auto" });
    expect(out.report.n).toBe(10);
    expect(out.report.cost.savingsShare).toBeCloseTo(0.45, 12);
    expect(out.report.threshold!.recommended!.threshold).toBe(shadowReport(records, { maxQualityDrop: 0.25 }).threshold!.recommended!.threshold);
    const text = await cli("--db", path);
    expect(text.exitCode, text.stderr).toBe(0);
    expect(text.stdout).toMatch(/cloud → auto: 11 sampled request/);
    expect(text.stdout).toMatch(/estimated savings: .* = \d+\.\d %/);
    expect(text.stdout).toMatch(/recommended threshold/);
    const missing = await cli("--db", join(dir, "none.sqlite"));
    expect(missing.exitCode).toBe(1);
    expect(missing.stderr).toMatch(/No shadow database/);
  }, 60_000);
});

describe("shadow policy checks", () => {
  const base = (judgeURL: string, shadow: string) => `
models:
  edge: { provider: llama-cpp, path: ${modelPath("stories260K.gguf")}, threads: 1, contextSize: 256 }
  cloud: { provider: openai-compatible, model: m, baseURL: ${judgeURL}, maxRetries: 0, location: cloud }
strategies:
  private: { kind: privacy, remote: cloud, local: edge, tagger: false }
  private2: { kind: privacy, remote: cloud, local: edge, mode: local-only, tagger: false }
  auto: { kind: route, weak: edge, strong: cloud, threshold: 0.5 }
${shadow}`;
  const build = (shadow: string) => buildGateway(parsePolicy(base(judge.baseURL, shadow)), { tracesPath: ":memory:", preload: false });

  it("rejects unknown names, a candidate that is the served name, and privacy leaks", async () => {
    await expect(build("shadow:\n  nope: { strategy: auto, sample: 1 }")).rejects.toThrow(/shadow\.nope: 'nope' is not a served model or strategy/);
    await expect(build("shadow:\n  cloud: { strategy: cloud, sample: 1 }")).rejects.toThrow(/shadow\.cloud\.strategy: the candidate must differ/);
    await expect(build("shadow:\n  cloud: { strategy: edge, sample: 1 }")).rejects.toThrow(/shadow\.cloud\.strategy: unknown strategy 'edge'/);
    await expect(build("shadow:\n  cloud: { strategy: auto, sample: 1, judge: gone }")).rejects.toThrow(/shadow\.cloud\.judge: unknown model or strategy 'gone'/);
    expect(() => parsePolicy(base(judge.baseURL, "shadow:\n  cloud: { strategy: auto, sample: 1.5 }"))).toThrow(/shadow\.cloud\.sample/);
    // a private served name: a cloud candidate or cloud judge would see the plaintext
    await expect(build("shadow:\n  private: { strategy: auto, sample: 1 }")).rejects.toThrow(/shadow\.private\.strategy: 'private' is private .* must be private too or run on the edge/);
    await expect(build("shadow:\n  private: { strategy: private2, sample: 1, judge: cloud }")).rejects.toThrow(/shadow\.private\.judge: .* must be private too or run on the edge/);
    const ok = await build("shadow:\n  private: { strategy: private2, sample: 1, judge: edge }");
    expect(ok.shadow!.evaluators.get("private")!.options.candidateName).toBe("private2");
    await ok.close();
  }, 60_000);
});
