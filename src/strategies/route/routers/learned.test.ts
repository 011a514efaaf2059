import { describe, expect, it } from "vitest";
import { readFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { loadRouter } from "../registry.js";
import { TfidfLrRouter } from "./tfidf-lr.js";
import { KnnRouter } from "./knn.js";
import { MfRouter } from "./mf.js";
import { TfidfVectorizer } from "./text-features.js";
import { MultiModelRouter } from "../multi-model.js";

// GSM8K rows of RouteLLM (Mixtral weak, GPT-4 strong), real data from ../shared via the fixture.
const fixture = resolve(dirname(fileURLToPath(import.meta.url)), "../../../../test/fixtures/routing/gsm8k-40.jsonl");
const W = "mistralai/Mixtral-8x7B-Instruct-v0.1";
const S = "gpt-4-1106-preview";
const rows = readFileSync(fixture, "utf8").trim().split("\n").map((l) => JSON.parse(l) as { prompt: string; outcomes: Record<string, { score: number }> });
const examples = rows.map((r) => ({ prompt: r.prompt, label: Math.max(0, r.outcomes[S].score - r.outcomes[W].score), weak: r.outcomes[W].score, strong: r.outcomes[S].score }));
const probe = rows.slice(0, 10).map((r) => ({ prompt: r.prompt }));

describe("learned routers", () => {
  it("tfidf features are L2-normalised and deterministic", () => {
    const v = TfidfVectorizer.fit(examples.map((e) => e.prompt), { minDf: 1 });
    const x = v.transform(examples[0].prompt);
    expect(x.value.reduce((s, a) => s + a * a, 0)).toBeCloseTo(1, 10);
    expect(TfidfVectorizer.fromJSON(JSON.parse(JSON.stringify(v.toJSON()))).transform(examples[0].prompt).index).toEqual(x.index);
  });

  for (const [kind, train] of [
    ["tfidf-lr", () => TfidfLrRouter.train(examples, { seed: 3 })],
    ["knn", () => KnnRouter.train(examples, { k: 5, minDf: 1 })],
    ["mf", () => MfRouter.train(examples, { seed: 3, epochs: 3 })],
  ] as const) {
    it(`${kind}: scores in [0,1], deterministic, JSON round trip through the registry`, () => {
      const a = train();
      const b = train();
      const sa = probe.map((p) => a.score(p));
      expect(sa.every((s) => s >= 0 && s <= 1)).toBe(true);
      expect(probe.map((p) => b.score(p))).toEqual(sa);
      expect(new Set(sa.map((s) => s.toFixed(6))).size).toBeGreaterThan(1);
      const loaded = loadRouter(JSON.parse(JSON.stringify(a.toJSON())));
      expect(loaded.kind).toBe(kind);
      probe.forEach((p, i) => expect(loaded.score(p)).toBeCloseTo(sa[i], 3));
    });
  }

  it("tfidf-lr learns its training labels (positives score above negatives)", () => {
    const r = TfidfLrRouter.train(examples, { seed: 0, epochs: 30, minDf: 1 });
    const pos = examples.filter((e) => e.label === 1).map((e) => r.score(e));
    const neg = examples.filter((e) => e.label === 0).map((e) => r.score(e));
    expect(pos.length).toBeGreaterThan(0);
    expect(Math.min(...pos)).toBeGreaterThan(Math.max(...neg));
  });

  it("multi-model router trades predicted score against cost with λ", () => {
    const prompts = examples.map((e) => e.prompt);
    const scores = examples.map((e) => [e.weak, e.strong]);
    const r = MultiModelRouter.train("knn", prompts, scores, ["weak", "strong"], [0.001, 0.01]);
    const p = probe[0];
    expect(r.choose(p, 0).predicted).toHaveLength(2);
    expect(r.choose(p, 1e6).model).toBe("weak");
    const back = MultiModelRouter.fromJSON(JSON.parse(JSON.stringify(r.toJSON())));
    expect(back.choose(p, 0.3).model).toBe(r.choose(p, 0.3).model);
  });
});
