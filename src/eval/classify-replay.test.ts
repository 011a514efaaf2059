import { describe, expect, it } from "vitest";
import { seededRandom } from "../core/random.js";
import { evaluateClassifyRouting } from "./classify-replay.js";
import type { ReplayRecord } from "./dataset.js";
import { importRouteLLM } from "./import-routellm.js";

const W = "weak";
const S = "strong";
const rec = (id: string, prompt: string, group: string, w: number, s: number): ReplayRecord => ({
  id,
  prompt,
  group,
  outcomes: { [W]: { score: w, cost: 0.001 }, [S]: { score: s, cost: 0.01 } },
});

describe("classification routing on replay", () => {
  it("routes each label to the model that is better on it in the training folds (exact on a separable set)", async () => {
    // label "hard": only the strong model is right; label "easy": both are right
    // each prompt: three words of its label's pool of 20 (kNN ignores words in more than 30 % of the prompts)
    const random = seededRandom(3);
    const words = (pool: string) => Array.from({ length: 3 }, () => `${pool}${Math.floor(random() * 20)}`).join(" ");
    const records: ReplayRecord[] = [];
    for (let i = 0; i < 100; i++) records.push(rec(`h${i}`, `integral ${words("calc")}`, "hard", 0, 1), rec(`e${i}`, `story ${words("tale")}`, "easy", 1, 1));
    for (const method of ["given", "lr", "knn"] as const) {
      const r = await evaluateClassifyRouting(records, { name: method, weak: W, strong: S, method });
      expect(r.classifierAccuracy).toBe(1);
      expect(r.labels).toBe(2);
      const [best] = r.operatingPoints; // ε = 0: per label the better model
      expect(best).toMatchObject({ epsilon: 0, accuracy: 1, strongShare: 0.5 });
      expect(best.costVsStrong).toBeCloseTo((0.5 * 0.01 + 0.5 * 0.001) / 0.01, 10);
      // every served row came through the classify strategy: hard → strong, easy → weak
      const rows = r.decisions.filter((d) => d.point === 0);
      expect(rows.length).toBe(200);
    }
  });

  it("labels that carry no information about the outcomes give no gain beyond random routing (no test leakage)", async () => {
    const random = seededRandom(7);
    const records: ReplayRecord[] = [];
    for (let i = 0; i < 3000; i++) records.push(rec(`r${i}`, `q ${i}`, `label${i % 300}`, random() < 0.5 ? 1 : 0, random() < 0.8 ? 1 : 0));
    const r = await evaluateClassifyRouting(records, { name: "given", weak: W, strong: S, method: "given" });
    // 10 queries per label: a table fitted on all folds (test included) scores 0.68 here, the held-out one 0.51
    expect(r.result.metrics!.apgr).toBeGreaterThan(0.4);
    expect(r.result.metrics!.apgr).toBeLessThan(0.6);
  });

  it("on real RouteLLM MMLU subjects, the TF-IDF classifier predicts the held-out subject and its route table recovers part of the gap", async () => {
    const base = new URL("../../../shared/data/routing/routellm/mmlu/responses/", import.meta.url).pathname;
    const subjects = ["high_school_mathematics", "high_school_us_history", "college_physics"];
    const { records } = importRouteLLM(subjects.map((s) => `${base}mmlu_${s}.csv`));
    const r = await evaluateClassifyRouting(records, { name: "lr", weak: "mistralai/Mixtral-8x7B-Instruct-v0.1", strong: "gpt-4-1106-preview", method: "lr", classifierOptions: { epochs: 3 } });
    expect(r.labels).toBe(3);
    expect(r.classifierAccuracy).toBeGreaterThan(0.8);
    expect(r.result.points).toHaveLength(12);
    expect(Number.isFinite(r.result.metrics!.apgr)).toBe(true);
    const shares = r.result.points.map((p) => p.strongShare);
    expect(Math.min(...shares)).toBe(0);
    expect(Math.max(...shares)).toBe(1);
  });
});
