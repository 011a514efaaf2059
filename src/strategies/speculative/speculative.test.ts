import { readFileSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { LlamaContext, Token } from "node-llama-cpp";
import { TandemError } from "../../core/errors.js";
import { seededRandom } from "../../core/random.js";
import { LocalLogitModel, samplingDistribution, softmax } from "../../token-level/index.js";
import { speculative, verifyDraft } from "./index.js";

const models = new URL("../../../models/", import.meta.url).pathname;
const fixtures = new URL("../../../test/fixtures/token-level/", import.meta.url).pathname;
const bench = JSON.parse(readFileSync(`${fixtures}prompts.json`, "utf8")) as { maxTokens: number; prompts: Array<{ kind: string; text: string }> };

/** Chi-square statistic of observed counts vs expected probabilities; bins with expected < 5 are merged. */
function chiSquare(counts: Map<string, number>, probs: Map<string, number>, n: number): { stat: number; df: number; critical: number } {
  let stat = 0;
  let bins = 0;
  let otherObs = n;
  let otherExp = n;
  for (const [key, p] of probs) {
    const e = p * n;
    if (e < 5) continue;
    const o = counts.get(key) ?? 0;
    stat += (o - e) ** 2 / e;
    otherObs -= o;
    otherExp -= e;
    bins++;
  }
  if (otherExp >= 1) {
    stat += (otherObs - otherExp) ** 2 / otherExp;
    bins++;
  }
  const df = bins - 1;
  // Wilson–Hilferty approximation of the chi-square quantile at p = 0.001 (z = 3.09).
  const k = 2 / (9 * df);
  const critical = df * (1 - k + 3.09 * Math.sqrt(k)) ** 3;
  return { stat, df, critical };
}

describe("speculative decoding (real GGUF models)", () => {
  let small: LocalLogitModel; // stories260K
  let math: LocalLogitModel; // tinytales-math-260K
  let target: LocalLogitModel; // tinytales-5M
  let plainCtx: LlamaContext;

  beforeAll(async () => {
    small = await LocalLogitModel.load(`${models}stories260K.gguf`, { threads: 1 });
    math = await LocalLogitModel.load(`${models}tinytales-math-260K.gguf`, { threads: 1 });
    target = await LocalLogitModel.load(`${models}tinytales-5M.gguf`, { threads: 1 });
    plainCtx = await target.model.createContext({ contextSize: 1024, threads: 1 });
  });
  afterAll(async () => {
    await plainCtx?.dispose();
    await small?.dispose();
    await math?.dispose();
    await target?.dispose();
  });

  /** The target's own greedy tokens through node-llama-cpp's sampler (independent of Tandem's code). */
  async function nodeGreedy(prompt: Token[], maxTokens: number): Promise<Token[]> {
    const seq = plainCtx.getSequence();
    try {
      const out: Token[] = [];
      for await (const t of seq.evaluate(prompt, { temperature: 0 })) {
        out.push(t);
        if (out.length >= maxTokens || target.isEndToken(t)) break;
      }
      return out;
    } finally {
      seq.dispose();
    }
  }

  it("greedy speculative output equals the target's greedy output token for token on every bench prompt", async () => {
    const pairs = [
      speculative({ draft: math, target, gamma: 4, templateStops: false }),
      speculative({ draft: small, target, gamma: 3, adaptive: false, templateStops: false }),
    ];
    let accepted = 0;
    let drafted = 0;
    for (const [i, { text }] of bench.prompts.entries()) {
      const messages = [{ role: "user" as const, content: text }];
      const reference = await nodeGreedy(target.renderPrompt(messages), bench.maxTokens);
      // The pairs alternate over prompts to keep the test short; the bench runs every pair on every prompt.
      const model = pairs[i % pairs.length];
      const { tokens, stats, result } = await model.generateWithStats({ messages, temperature: 0, maxTokens: bench.maxTokens });
      const expected = reference.filter((t, j) => !target.isEndToken(t) || j < reference.length - 1);
      expect(tokens, `prompt ${i}`).toEqual(expected.slice(0, tokens.length));
      expect(tokens.length).toBe(expected.length);
      expect(result.usage.completionTokens).toBe(tokens.length);
      expect(stats.generatedTokens).toBeGreaterThanOrEqual(tokens.length);
      expect(stats.targetEvaluations).toBeLessThan(stats.generatedTokens);
      accepted += stats.acceptedTokens;
      drafted += stats.draftedTokens;
    }
    expect(accepted / drafted).toBeGreaterThan(0.2);
  }, 60_000);

  it("the acceptance rule keeps the target's distribution (real p and q, 40k draws), and a wrong rule is caught", async () => {
    const prompt = small.renderPrompt([{ role: "user", content: "Once upon a time" }]);
    const q = samplingDistribution(await small.nextLogits(prompt), { temperature: 1 });
    const p = samplingDistribution(await target.nextLogits(prompt), { temperature: 1 });
    const pBonus = p; // p_2 (after an accepted draft) is not looked at: only the first emitted token is counted
    const n = 40_000;
    const random = seededRandom(7);
    const counts = new Map<string, number>();
    const naive = new Map<string, number>();
    for (let s = 0; s < n; s++) {
      let d = 0;
      let r = random() * 1;
      for (let t = 0; t < q.length; t++) {
        r -= q[t];
        if (r < 0) {
          d = t;
          break;
        }
      }
      const { accepted, next } = verifyDraft([d], [q], [p, pBonus], random);
      const first = accepted === 1 ? d : next;
      counts.set(String(first), (counts.get(String(first)) ?? 0) + 1);
      naive.set(String(d), (naive.get(String(d)) ?? 0) + 1); // "always accept" = the draft's distribution
    }
    const expected = new Map(Array.from(p, (v, t) => [String(t), v] as [string, number]));
    const good = chiSquare(counts, expected, n);
    const bad = chiSquare(naive, expected, n);
    expect(good.df).toBeGreaterThan(3);
    expect(good.stat).toBeLessThan(good.critical);
    expect(bad.stat).toBeGreaterThan(bad.critical);
  });

  it("sampled speculative generation matches the target's distribution over 2-token continuations (fixed seeds)", async () => {
    const messages = [{ role: "user" as const, content: "Once upon a time" }];
    const model = speculative({ draft: small, target, gamma: 2, adaptive: false, templateStops: false });
    const prompt = target.renderPrompt(messages);
    const n = 1200;
    const spec = new Map<string, number>();
    const baseline = new Map<string, number>();
    let accepted = 0;
    for (let s = 0; s < n; s++) {
      const { tokens, stats } = await model.generateWithStats({ messages, temperature: 1, seed: 1000 + s, maxTokens: 2 });
      accepted += stats.acceptedTokens;
      const key = tokens.join(",");
      spec.set(key, (spec.get(key) ?? 0) + 1);
    }
    // Exact target probabilities of every observed 2-token continuation: p(t1) · p(t2 | t1).
    const p1 = softmax(await target.nextLogits(prompt));
    const exact = new Map<string, number>();
    for (const key of spec.keys()) {
      const [t1, t2] = key.split(",").map(Number) as Token[];
      if (t2 === undefined) {
        exact.set(key, p1[t1]); // an end token stopped the generation after one token
        continue;
      }
      const p2 = softmax(await target.nextLogits([...prompt, t1]));
      exact.set(key, p1[t1] * p2[t2]);
    }
    const result = chiSquare(spec, exact, n);
    expect(result.df).toBeGreaterThan(3);
    expect(result.stat).toBeLessThan(result.critical);
    expect(accepted).toBeGreaterThan(0);
    // Power check: the draft's own samples, scored against the target's probabilities, fail the same test.
    // (speculative decoding with the draft as its own target samples exactly the draft's distribution).
    const draftOnly = speculative({ draft: small, target: small, gamma: 2, templateStops: false });
    for (let s = 0; s < n; s++) {
      const { tokens } = await draftOnly.generateWithStats({ messages, temperature: 1, seed: 1000 + s, maxTokens: 2 });
      const key = tokens.join(",");
      baseline.set(key, (baseline.get(key) ?? 0) + 1);
      if (!exact.has(key)) {
        const [t1, t2] = key.split(",").map(Number) as Token[];
        const p2 = t2 === undefined ? undefined : softmax(await target.nextLogits([...prompt, t1]));
        exact.set(key, p2 ? p1[t1] * p2[t2] : p1[t1]);
      }
    }
    const wrong = chiSquare(baseline, exact, n);
    expect(wrong.stat).toBeGreaterThan(wrong.critical);
  }, 60_000);

  it("streams the same text as generate, honours stop sequences and reports its stats in info", async () => {
    const model = speculative({ draft: math, target });
    const request = { messages: [{ role: "user" as const, content: bench.prompts[1].text }], temperature: 0, maxTokens: 40 };
    const whole = await model.generate(request);
    let streamed = "";
    let finish;
    for await (const part of model.stream(request)) {
      if (part.type === "text") streamed += part.text;
      else if (part.type === "finish") finish = part.result;
    }
    expect(streamed).toBe(whole.text);
    expect(finish!.text).toBe(whole.text);
    const d = whole.info.decisions[0];
    expect(d.strategy).toBe("speculative");
    expect(d.signal).toBe("acceptance-rate");
    expect(d.score).toBeCloseTo(model.lastStats!.acceptanceRate, 12);
    expect(whole.info.calls.map((c) => c.role)).toEqual(["draft", "target"]);
    expect(whole.info.servedBy).toBe(target.id);
    // A stop sequence taken from the greedy text cuts it there.
    const cutAt = whole.text.indexOf(" ", 5);
    const stop = whole.text.slice(cutAt, cutAt + 3);
    const stopped = await model.generate({ ...request, stop: [stop] });
    expect(stopped.finishReason).toBe("stop");
    expect(stopped.text).toBe(whole.text.slice(0, whole.text.indexOf(stop)));
  });

  it("refuses a draft with another vocabulary", async () => {
    const other = await LocalLogitModel.load(`${fixtures}tiny-random-llama.gguf`, { threads: 1, contextSize: 128 });
    try {
      expect(() => speculative({ draft: other, target })).toThrow(TandemError);
      expect(() => speculative({ draft: other, target })).toThrow(/share one vocabulary.*512 tokens.*32000/);
    } finally {
      await other.dispose();
    }
  });
});
