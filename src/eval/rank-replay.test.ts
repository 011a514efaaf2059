/**
 * The `rank` replay measurement on real RouterBench ARC-Challenge rows: the arms' figures are
 * what they claim (means of the recorded scores and costs), the canonical extraction reads the
 * recorded responses as intended, the cross-validated scorer never trains on the fold it ranks,
 * and the served `rank` strategy over replay models of the same rows picks exactly what the
 * replay arms count (consensus and the learned scorer).
 */
import { describe, expect, it } from "vitest";
import { sharedData } from "../../test/helpers.js";
import { ReplayModel } from "../providers/replay.js";
import { canonicalAnswer } from "../strategies/rank/canonical.js";
import { consensusRanker, majority } from "../strategies/rank/consensus.js";
import { rank } from "../strategies/rank/index.js";
import { scorerRanker } from "../strategies/rank/scorer.js";
import { foldAssignment } from "./cross-validation.js";
import { commonModels, type ReplayRecord } from "./dataset.js";
import { importRouterBench } from "./import-routerbench.js";
import { consensusArm, consensusPick, modelsByCost, oracleArm, scorerArmCv, scorerArmSplit, scorerGroups, simulatedJudgeArm, singleArm } from "./rank-replay.js";

const { records } = importRouterBench([sharedData("routing/routerbench")]);
const models = modelsByCost(records, commonModels(records));
const options = { canonical: "choice" as const, letters: "ABCD" };

describe("canonical choice letters on RouterBench's recorded responses", () => {
  it("reads letters, rejects prose that starts with the article 'A' and letters outside ABCD", () => {
    const cases: Array<[string, string | null]> = [
      ["A", "A"],
      ["C\n", "C"],
      ["B)", "B"],
      ["D (", "D"],
      ["A.", "A"],
      ["A: the palms", "A"],
      ["(c)", "C"],
      ["A questioning attitude", null],
      ["A hypothesis is", null],
      ["I do not have enough", null],
      ["Unfortunately I", null],
      ["E", null],
      ["The answer is B.", "B"],
      ["13", null],
    ];
    for (const [text, letter] of cases) expect([text, canonicalAnswer(text, "choice", { letters: "ABCD" })]).toEqual([text, letter]);
    // every recorded response of the data has a letter or abstains — no crash, and most are letters
    const all = records.flatMap((r) => models.map((m) => canonicalAnswer(r.outcomes[m].response ?? "", "choice")));
    expect(all.filter((a) => a !== null).length / all.length).toBeGreaterThan(0.95);
  });

  it("majority: most votes win, abstentions do not vote, ties follow the rule", () => {
    expect(majority(["B", "B", "A", null], [1, 1, 9, 9])).toEqual({ chosen: 0, answer: "B", votes: 2, total: 4 });
    expect(majority(["A", "B"], [1, 2], "order").answer).toBe("A");
    expect(majority(["A", "B"], [1, 2], "costliest").answer).toBe("B");
    expect(majority(["A", "B", "B", "A"], [1, 5, 2, 3], "cheapest")).toMatchObject({ answer: "A", chosen: 0 });
    expect(majority([null, null], [3, 1], "cheapest")).toMatchObject({ chosen: 1, answer: null, votes: 0 });
    expect(() => majority([], [])).toThrow(RangeError);
  });
});

describe("rank replay arms on RouterBench ARC-Challenge", () => {
  it("reports the recorded means, and the oracle bounds every single model", () => {
    expect(records.length).toBe(1456);
    expect(models).toHaveLength(11);
    const gpt4 = singleArm(records, "gpt-4-1106-preview");
    const manual = records.reduce((s, r) => s + r.outcomes["gpt-4-1106-preview"].score, 0) / records.length;
    expect(gpt4.accuracy).toBeCloseTo(manual, 12);
    expect(gpt4.accuracy).toBeCloseTo(0.954, 3); // RouterBench's GPT-4 on ARC-C
    const oracle = oracleArm(records, models);
    for (const m of models) expect(oracle.accuracy).toBeGreaterThanOrEqual(singleArm(records, m).accuracy);
    expect(oracle.meanCostUsd).toBeLessThan(gpt4.meanCostUsd);
    const all = consensusArm(records, models, "all11", { ...options, tieBreak: "costliest" });
    const sumCost = records.reduce((s, r) => s + models.reduce((t, m) => t + r.outcomes[m].cost, 0), 0) / records.length;
    expect(all.meanCostUsd).toBeCloseTo(sumCost, 12); // every candidate call is paid
    expect(all.accuracy).toBeGreaterThan(0.85);
    expect(all.accuracy).toBeLessThan(oracle.accuracy);
  });

  it("a simulated judge: a perfect one reaches the set's oracle, every candidate and judge call is paid", () => {
    const cheap = models.slice(-5);
    const perfect = simulatedJudgeArm(records, cheap, "cheap5", { accuracy: 1, judge: cheap[0] });
    expect(perfect.accuracy).toBeCloseTo(oracleArm(records, cheap).accuracy, 12);
    const cost = records.reduce((s, r) => s + cheap.reduce((t, m) => t + r.outcomes[m].cost, 0) + 5 * r.outcomes[cheap[0]].cost, 0) / records.length;
    expect(perfect.meanCostUsd).toBeCloseTo(cost, 12);
    const noisy = simulatedJudgeArm(records, cheap, "cheap5", { accuracy: 0.8, judge: cheap[0], seed: 1 });
    expect(noisy.accuracy).toBeLessThan(perfect.accuracy);
    expect(simulatedJudgeArm(records, cheap, "cheap5", { accuracy: 0.8, judge: cheap[0], seed: 1 }).accuracy).toBe(noisy.accuracy); // seeded
    // an always-wrong judge serves a wrong answer whenever there is one
    const allRight = records.filter((r) => cheap.every((m) => r.outcomes[m].score === 1)).length / records.length;
    expect(simulatedJudgeArm(records, cheap, "cheap5", { accuracy: 0, judge: cheap[0] }).accuracy).toBeCloseTo(allRight, 12);
  });

  it("cross-validates the scorer by prompt: no prompt is ranked by a scorer that saw it", () => {
    const subset = records.slice(0, 300);
    const folds = foldAssignment(subset.length, 5, 0); // the assignment crossValidate uses
    const trainedOn = new Map<number, Set<string>>();
    const cv = scorerArmCv(subset, models, "all11", { ...options, folds: 5, seed: 0, onTrain: (ids, fold) => trainedOn.set(fold, new Set(ids)) });
    expect(cv.n).toBe(300);
    expect(trainedOn.size).toBe(5);
    subset.forEach((r, i) => {
      expect(trainedOn.get(folds[i])!.has(r.id)).toBe(false); // ranked by a scorer that never saw it
      for (const [fold, ids] of trainedOn) if (fold !== folds[i]) expect(ids.has(r.id)).toBe(true);
    });
    expect(cv.accuracy).toBeGreaterThan(0.85);
    // a scorer trained on labels that are inverted (wrong answers labelled correct) must do badly out of fold
    const inverted: ReplayRecord[] = subset.map((r) => ({ ...r, outcomes: Object.fromEntries(Object.entries(r.outcomes).map(([m, o]) => [m, { ...o, score: 1 - o.score }])) }));
    const bad = scorerArmSplit(inverted, subset, models, "inverted", options).arm;
    expect(bad.accuracy).toBeLessThan(0.5);
    expect(scorerGroups(subset.slice(0, 1), models)[0]).toHaveLength(11);
  });
});

describe("the served rank strategy over replay models picks what the replay arms count", () => {
  const test = records.filter((r) => r.split === "test").slice(0, 60);
  const train = records.filter((r) => r.split === "train");
  const replay = models.map((m) => new ReplayModel(m, records, { matchBy: "id" }));
  const ask = (r: ReplayRecord) => ({ messages: [{ role: "user" as const, content: r.id }], maxTokens: 4 });

  it("consensus: the same pick, every call charged at its recorded cost", async () => {
    const model = rank({ id: "vote", models: replay, ranker: consensusRanker({ ...options, tieBreak: "costliest" }) });
    for (const r of test) {
      const served = await model.generate(ask(r));
      const pick = consensusPick(r, models, { ...options, tieBreak: "costliest" });
      expect(served.info.servedBy).toBe(models[pick.chosen]);
      expect(served.info.calls).toHaveLength(11);
      expect(served.info.costUsd).toBeCloseTo(models.reduce((s, m) => s + r.outcomes[m].cost, 0), 12);
      expect(served.info.decisions[0]).toMatchObject({ strategy: "rank", name: "vote", signal: "consensus-share" });
    }
  });

  it("learned scorer trained on the train split: the same pick on test prompts", async () => {
    const { scorer } = scorerArmSplit(train, test, models, "all11", options);
    const model = rank({ id: "learned", models: replay, ranker: scorerRanker(scorer) });
    let agree = 0;
    for (const r of test) {
      const served = await model.generate(ask(r));
      const expected = scorer.best(models.map((m) => ({ model: m, text: r.outcomes[m].response ?? "" }))).chosen;
      if (served.info.servedBy === models[expected]) agree++;
      expect(served.info.decisions[0].signal).toBe("scorer-probability");
    }
    expect(agree).toBe(test.length);
  });
});
