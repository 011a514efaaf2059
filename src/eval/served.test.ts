import { describe, expect, it } from "vitest";
import type { ReplayRecord } from "./dataset.js";
import { evaluateBinaryRoute, evaluateOracle, evaluateVoteCascade } from "./evaluate.js";
import { quantileThresholds } from "./metrics.js";
import { RecordedScoreRouter, replayModels, serveRouteSweep } from "./served.js";

const W = "weak";
const S = "strong";

/** n records: weak always wrong ($1), strong always right ($10). */
function records(n: number): ReplayRecord[] {
  return Array.from({ length: n }, (_, i) => ({ id: `q${i}`, prompt: `same prompt`, outcomes: { [W]: { score: 0, cost: 1 }, [S]: { score: 1, cost: 10 } } }));
}

describe("evaluation serves the route strategy", () => {
  it("sweeps RouteLLM's quantile edges with the strategy's score > threshold: the min-scored query stays weak", async () => {
    const recs = records(10);
    const scores = [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0];
    const replay = replayModels(recs, [W, S]);
    const { result, decisions } = await evaluateBinaryRoute(recs, replay, { weak: W, strong: S, router: RecordedScoreRouter.of("table", recs, scores), name: "r" });
    expect(decisions).toHaveLength(10 * 11);
    // RouteLLM's `>=` would send all 10 strong at the first edge (0.1); the served rule keeps q0 weak
    expect(result.points[0].strongShare).toBeCloseTo(0.9, 12);
    expect(result.points[10].strongShare).toBe(0);
    // accuracy = share here: a straight line from (0, 0) to (0.9, 0.9) → APGR = 0.405 / 0.9
    expect(result.metrics!.apgr).toBeCloseTo(0.45, 12);
    // the cost is what the replay models billed: $10 strong, $1 weak
    expect(result.points[0].cost).toBeCloseTo((9 * 10 + 1) / 10, 12);
    const q0 = decisions.find((d) => d.id === "q0" && d.point === 0)!;
    expect(q0).toMatchObject({ models: [W], strong: false, score: 0, cost: 1 });
  });

  it("sends queries whose score ties a threshold to the weak model (RouteLLM's >= sent them strong)", async () => {
    const recs = records(6);
    const replay = replayModels(recs, [W, S]);
    const rows = await serveRouteSweep(recs, { weak: replay.get(W)!, strong: replay.get(S)!, router: RecordedScoreRouter.of("table", recs, [0.2, 0.2, 0.2, 0.7, 0.7, 0.9]), thresholds: [0.2, 0.7], name: "r" });
    expect(rows.filter((r) => r.point === 0 && r.strong).map((r) => r.id)).toEqual(["q3", "q4", "q5"]);
    expect(rows.filter((r) => r.point === 1 && r.strong).map((r) => r.id)).toEqual(["q5"]);
    // duplicate prompts stay apart: the replay models match by record id
    expect(new Set(rows.map((r) => r.id)).size).toBe(6);
  });

  it("serves the oracle through route with exact strong-call counts", async () => {
    const recs: ReplayRecord[] = [0, 1, 0, 1, 1].map((gain, i) => ({ id: `o${i}`, prompt: "p", outcomes: { [W]: { score: 1 - gain, cost: 1 }, [S]: { score: 1, cost: 2 } } }));
    const { result } = await evaluateOracle(recs, replayModels(recs, [W, S]), W, S, 5);
    expect(result.points.map((p) => p.strongShare)).toEqual([0, 0.2, 0.4, 0.6, 0.8, 1]);
    // the three winning queries go strong first: accuracy 2/5 → 1 after three calls
    expect(result.points.map((p) => p.accuracy)).toEqual([0.4, 0.6, 0.8, 1, 1, 1]);
  });

  it("quantile edges are valid route thresholds", () => {
    expect(quantileThresholds([0, 0.5, 1]).every((t) => t >= 0 && t <= 1)).toBe(true);
  });
});

describe("evaluation serves the cascade strategy", () => {
  const recs: ReplayRecord[] = [
    // 3 of 4 samples agree: share 0.75; majority right
    { id: "a", prompt: "x", outcomes: { [W]: { score: 1, cost: 4, samples: [{ answer: "7", score: 1 }, { answer: "7", score: 1 }, { answer: "8", score: 0 }, { answer: "7", score: 1 }] }, [S]: { score: 1, cost: 10, response: "7" } } },
    // a 2–2 split: share 0.5; the first-seen answer ("8", wrong) is the majority
    { id: "b", prompt: "x", outcomes: { [W]: { score: 0, cost: 4, samples: [{ answer: "8", score: 0 }, { answer: "9", score: 1 }, { answer: "9", score: 1 }, { answer: "8", score: 0 }] }, [S]: { score: 1, cost: 10, response: "9" } } },
  ];

  it("votes over the recorded samples and escalates when the majority's share is below the threshold", async () => {
    const { result, decisions } = await evaluateVoteCascade(recs, replayModels(recs, [W, S]), W, S, [0.5, 0.6, 0.8]);
    const at = (id: string, point: number) => decisions.find((d) => d.id === id && d.point === point)!;
    // 0.5: nobody escalates; b's served majority is wrong
    expect(at("a", 0)).toMatchObject({ models: [W], strong: false, score: 1, cost: 4 });
    expect(at("b", 0)).toMatchObject({ models: [W], strong: false, score: 0, cost: 4 });
    // 0.6: b escalates and pays the weak samples plus the strong call
    expect(at("b", 1)).toMatchObject({ models: [W, S], strong: true, score: 1, cost: 14 });
    expect(at("a", 2)).toMatchObject({ strong: true, score: 1, cost: 14 });
    expect(result.points.map((p) => p.strongShare)).toEqual([0, 0.5, 1]);
  });

  it("refuses data without recorded samples", async () => {
    const plain = records(3);
    await expect(evaluateVoteCascade(plain, replayModels(plain, [W, S]), W, S, [0.5])).rejects.toThrow(/recorded samples/);
  });
});
