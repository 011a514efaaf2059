import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Token } from "node-llama-cpp";
import { TandemError } from "../../core/errors.js";
import { LocalLogitModel } from "../../token-level/index.js";
import { contrastive, ensemble, proxyTuning, type FusedModel } from "./index.js";

const models = new URL("../../../models/", import.meta.url).pathname;
const fixtures = new URL("../../../test/fixtures/token-level/", import.meta.url).pathname;

// Independent reference arithmetic (plain arrays, no code shared with the implementation).
const lse = (z: ArrayLike<number>): number => {
  const m = Math.max(...Array.from(z));
  return m + Math.log(Array.from(z).reduce((s, v) => s + Math.exp(v - m), 0));
};
const logp = (z: ArrayLike<number>, t = 1): number[] => {
  const scaled = Array.from(z, (v) => v / t);
  const c = lse(scaled);
  return scaled.map((v) => v - c);
};
const argmax = (v: ArrayLike<number>): number => Array.from(v).reduce((b, x, i, a) => (x > a[b] ? i : b), 0);

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let d = 0;
  for (let i = 0; i < a.length; i++) {
    if (a[i] === -Infinity || b[i] === -Infinity) {
      expect(a[i]).toBe(b[i]);
      continue;
    }
    d = Math.max(d, Math.abs(a[i] - b[i]));
  }
  return d;
}

describe("logit fusion (real GGUF models)", () => {
  let base: LocalLogitModel; // tinytales-5M
  let expert: LocalLogitModel; // tinytales-math-260K
  let anti: LocalLogitModel; // stories260K
  const text = "Question: Natalia sold clips to 48 of her friends in April, and then she sold half as many clips in May.\nAnswer:";
  let tokens: Token[];

  beforeAll(async () => {
    base = await LocalLogitModel.load(`${models}tinytales-5M.gguf`, { threads: 1 });
    expert = await LocalLogitModel.load(`${models}tinytales-math-260K.gguf`, { threads: 1 });
    anti = await LocalLogitModel.load(`${models}stories260K.gguf`, { threads: 1 });
    tokens = [base.bos!, ...base.tokenize(text)];
  });
  afterAll(async () => {
    await base?.dispose();
    await expert?.dispose();
    await anti?.dispose();
  });

  /** Checks fusedLogits at every position against `formula` applied to raw logits, and greedy decoding against its argmax. */
  async function checkFormula(model: FusedModel, parts: LocalLogitModel[], formula: (z: Float32Array[]) => number[]): Promise<void> {
    const raw = await Promise.all(parts.map((p) => p.logits(tokens, 1)));
    const fused = await model.fusedLogits(tokens, 1);
    expect(fused.length).toBe(tokens.length);
    for (let j = 0; j < fused.length; j++) {
      expect(maxAbsDiff(fused[j], formula(raw.map((r) => r[j])))).toBeLessThan(1e-9);
    }
    // Greedy decoding follows the formula's argmax, token by token.
    const messages = [{ role: "user" as const, content: "Natalia sold clips to 48 of her friends in April." }];
    const prompt = base.renderPrompt(messages);
    const result = await model.generate({ messages, temperature: 0, maxTokens: 6, stop: ["\u0000never"] });
    const seq = [...prompt];
    const expected: Token[] = [];
    for (let k = 0; k < result.usage.completionTokens; k++) {
      const z = await Promise.all(parts.map((p) => p.nextLogits(seq)));
      const t = argmax(formula(z)) as Token;
      expected.push(t);
      seq.push(t);
    }
    expect(result.usage.completionTokens).toBeGreaterThan(0);
    expect(base.detokenize(expected, prompt.slice(-4)).replace(/^ /, "").startsWith(result.text)).toBe(true);
  }

  it("proxy-tuning = base + α·(expert − anti-expert) on raw logits", async () => {
    for (const alpha of [0.5, 1]) {
      const m = proxyTuning({ base, expert, antiExpert: anti, alpha });
      await checkFormula(m, [base, expert, anti], ([zb, ze, za]) => Array.from(zb, (v, i) => v + alpha * (ze[i] - za[i])));
    }
    const m = proxyTuning({ base, expert, antiExpert: anti, alpha: 0.5 });
    const r = await m.generate({ messages: [{ role: "user", content: "Tom has 3 apples." }], temperature: 0, maxTokens: 4 });
    expect(r.info.servedBy).toBe(base.id);
    expect(r.info.calls.map((c) => c.role)).toEqual(["base", "expert", "anti-expert"]);
    expect(r.info.decisions[0]).toMatchObject({ strategy: "proxy-tuning", signal: "alpha", score: 0.5 });
  });

  it("contrastive = log p_expert − β·log p_amateur within p_expert ≥ α·max p_expert", async () => {
    const alpha = 0.1;
    for (const beta of [1, 0.5]) {
      const m = contrastive({ expert: base, amateur: anti, alpha, beta });
      await checkFormula(m, [base, anti], ([ze, za]) => {
        const le = logp(ze);
        const la = logp(za);
        const cut = Math.max(...le) + Math.log(alpha);
        return le.map((v, i) => (v >= cut ? v - beta * la[i] : -Infinity));
      });
    }
    const fused = await contrastive({ expert: base, amateur: anti }).fusedLogits(tokens, tokens.length);
    expect(fused[0].some((v) => v === -Infinity)).toBe(true); // the mask is active
  });

  it("ensemble = log Σ w_i p_i with normalized weights", async () => {
    const m = ensemble({ members: [{ model: base, weight: 3 }, { model: expert, weight: 1 }] });
    await checkFormula(m, [base, expert], ([z1, z2]) => {
      const l1 = logp(z1);
      const l2 = logp(z2);
      return l1.map((v, i) => Math.log(0.75 * Math.exp(v) + 0.25 * Math.exp(l2[i])));
    });
    const [scores] = await m.fusedLogits(tokens, tokens.length);
    expect(Array.from(scores).reduce((s, v) => s + Math.exp(v), 0)).toBeCloseTo(1, 9);
  });

  it("each fusion refuses models with another vocabulary, with a clear error", async () => {
    const other = await LocalLogitModel.load(`${fixtures}tiny-random-llama.gguf`, { threads: 1, contextSize: 128 });
    try {
      expect(() => proxyTuning({ base: other, expert, antiExpert: anti })).toThrow(TandemError);
      expect(() => proxyTuning({ base: other, expert, antiExpert: anti })).toThrow(/proxy-tuning needs models that share one vocabulary: "tiny-random-llama" has 32000 tokens.*"tinytales-math-260K" has 512/);
      expect(() => contrastive({ expert: base, amateur: other })).toThrow(/contrastive needs models that share one vocabulary/);
      expect(() => ensemble({ members: [{ model: base }, { model: other }] })).toThrow(/ensemble needs models that share one vocabulary/);
      expect(() => contrastive({ expert: base, amateur: anti, alpha: 0 })).toThrow(/alpha must be in \(0, 1\]/);
      expect(() => ensemble({ members: [{ model: base, weight: 0 }] })).toThrow(/must not all be 0/);
    } finally {
      await other.dispose();
    }
  });
});
