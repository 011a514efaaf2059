/**
 * The MoT cascade on replay (Yue et al., ICLR 2024, "Large Language Model Cascades with Mixture
 * of Thoughts Representations for Cost-efficient Reasoning"), reproducing `eval_acc_cost` of
 * MurongYue/LLM_MoT_cascade: the weak model (GPT-3.5) answers with k = ⌊(N − 0.75·M)/2⌋ = 7
 * chain-of-thought and 7 program-of-thought samples in one call each (N = 20 samples,
 * M = 8 demonstrations); the answer is accepted, or the query escalated to the strong model's
 * CoT self-consistency answer (GPT-4, 3 samples), by
 * - **MoT-1D-Vote**: escalate when the majority answer's share of the 14 answers is below the
 *   threshold (nulls count in the denominator);
 * - **MoT-1D-Verify**: escalate when the CoT and PoT majority answers disagree.
 * Results are averaged over MoT's 8 combinations (demo set 1 or 2 × CoT temperature × PoT
 * temperature). Cost per query = weak call (+ strong call when escalated), in USD from the
 * imported records (approximate token counts; see import-mot.ts).
 *
 * MoT-1D-Vote is served: for each combination, the `cascade` strategy (signal
 * `self-consistency`, 2k samples) runs over a replay model whose samples are the combination's
 * k CoT + k PoT recorded answers (each costing its completion tokens, the first of each view also
 * the view's prompt, so the k + k samples cost exactly MoT's two calls) and the strong model's
 * replay model. The votes are the cascade's own (`normalizeAnswer` + `majorityVote`, where an
 * unextracted answer is an empty-text vote; MoT ignores those, see docs/routing.md). MoT-1D-Verify
 * (escalate when the CoT and PoT majorities disagree) has no strategy signal: it is computed from
 * the recorded answers with the same `majorityVote`.
 */
import { TandemError } from "../core/errors.js";
import { ReplayModel, type ReplaySampleLike } from "../providers/replay.js";
import type { ReplayRecord, SampleOutcome } from "./dataset.js";
import { outcomeOf } from "./dataset.js";
import type { CurvePoint } from "./metrics.js";
import { majorityAnswer } from "./import-mot.js";
import { costAtAccuracy, type DecisionRow, type ModelSummary, summarizeModel } from "./evaluate.js";
import { serveCascadeSweep } from "./served.js";

/** MoT's escalation thresholds for date understanding (eval_date.py). */
export const MOT_DATE_THRESHOLDS = [0.4, 0.5, 0.55, 0.6, 0.65, 0.7, 0.8, 0.9, 1];

/** MoT's 8 (CoT view, PoT view) combinations. */
export const MOT_COMBINATIONS: Array<[string, string]> = [
  ["cot1", "pot1"], ["cot1", "pot1@t=0.4"], ["cot1@t=0.4", "pot1"], ["cot1@t=0.4", "pot1@t=0.4"],
  ["cot2", "pot2"], ["cot2", "pot2@t=0.4"], ["cot2@t=0.4", "pot2"], ["cot2@t=0.4", "pot2@t=0.4"],
];

/** One operating point of a MoT cascade, averaged over the combinations. */
export interface MotPoint extends CurvePoint {
  /** Mean cost relative to the strong model alone (its CoT self-consistency). */
  relativeCost: number;
}

/** The MoT evaluation. */
export interface MotResult {
  weak: string;
  strong: string;
  k: number;
  n: number;
  /** The strong model alone (GPT-4 CoT, majority of 3 samples) and the weak model alone (CoT SC@20). */
  strongAlone: ModelSummary;
  weakAlone: ModelSummary;
  vote: MotPoint[];
  verify: MotPoint;
  /** Cost of the vote cascade where it first reaches the strong model's accuracy, relative to it; null if never. */
  voteRelativeCostAtStrongAccuracy: number | null;
  decisions: DecisionRow[];
}

/**
 * Runs MoT-1D-Vote (at `thresholds`, served by the cascade strategy) and MoT-1D-Verify over
 * MoT-imported `records`, whose outcomes hold `<weak>/<view>` and `<strong>/cot1`. Throws
 * `TandemError("invalid_request")` when the views are missing.
 */
export async function evaluateMotCascade(
  records: readonly ReplayRecord[],
  options: { weak?: string; strong?: string; k?: number; thresholds?: readonly number[]; prices?: { inputPerMillion: number; outputPerMillion: number } } = {},
): Promise<MotResult> {
  const weak = options.weak ?? "gpt-3.5-turbo";
  const strong = options.strong ?? "gpt-4";
  const k = options.k ?? Math.floor((20 - 8 * 0.75) / 2);
  const thresholds = options.thresholds ?? MOT_DATE_THRESHOLDS;
  const price = options.prices ?? { inputPerMillion: 1.5, outputPerMillion: 2 };
  const strongKey = `${strong}/cot1`;
  if (!records.length || !records[0].outcomes[strongKey] || !records[0].outcomes[`${weak}/cot1`]) {
    throw new TandemError("invalid_request", `MoT cascade needs outcomes '${weak}/cot1', '${weak}/pot1', … and '${strongKey}' (import with --format mot)`);
  }
  const n = records.length;
  const strongAlone = summarizeModel(records, strongKey);
  const decisions: DecisionRow[] = [];
  const vote = thresholds.map(() => ({ acc: 0, cost: 0, esc: 0 }));
  const verify = { acc: 0, cost: 0, esc: 0 };
  /** The k samples of a view as replay samples: each its completion tokens, the first also the view's prompt. */
  const viewSamples = (samples: readonly SampleOutcome[], promptTokens: number): ReplaySampleLike[] =>
    samples.slice(0, k).map((s, j) => ({ answer: s.answer, score: s.score, completionTokens: s.completionTokens, cost: ((j === 0 ? promptTokens : 0) * price.inputPerMillion + (s.completionTokens ?? 0) * price.outputPerMillion) / 1e6 }));
  for (const [cotView, potView] of MOT_COMBINATIONS) {
    const mixKey = `${weak}/mot[${cotView}+${potView}]`;
    const mixed: ReplayRecord[] = records.map((r) => {
      const cot = outcomeOf(r, `${weak}/${cotView}`);
      const pot = outcomeOf(r, `${weak}/${potView}`);
      const samples = [...viewSamples(cot.samples ?? [], cot.promptTokens ?? 0), ...viewSamples(pot.samples ?? [], pot.promptTokens ?? 0)];
      if (samples.length !== 2 * k) throw new TandemError("invalid_request", `MoT record '${r.id}' has ${samples.length} samples of ${cotView}+${potView}, expected ${2 * k}`);
      const major = majorityAnswer(samples.map((s) => s.answer));
      const cost = samples.reduce((sum, s) => sum + (s.cost ?? 0), 0);
      return { id: r.id, prompt: r.prompt, reference: r.reference, outcomes: { [mixKey]: { score: major.answer !== null && major.answer === r.reference ? 1 : 0, cost, samples }, [strongKey]: outcomeOf(r, strongKey) } };
    });
    const weakModel = new ReplayModel(mixKey, mixed, { id: weak, matchBy: "id" });
    const strongModel = new ReplayModel(strongKey, mixed, { id: strong, matchBy: "id" });
    const rows = await serveCascadeSweep(mixed, { weak: weakModel, strong: strongModel, samples: 2 * k, thresholds, name: `mot-vote[${cotView}+${potView}]` });
    for (const row of rows) {
      vote[row.point].acc += row.score;
      vote[row.point].cost += row.cost;
      vote[row.point].esc += row.strong ? 1 : 0;
      decisions.push(row);
    }
    // MoT-1D-Verify: no strategy signal; from the recorded answers.
    for (const [i, r] of records.entries()) {
      const so = outcomeOf(r, strongKey);
      const samples = mixed[i].outcomes[mixKey].samples!;
      const weakCost = mixed[i].outcomes[mixKey].cost;
      const cotMajor = majorityAnswer(samples.slice(0, k).map((s) => s.answer)).answer;
      const potMajor = majorityAnswer(samples.slice(k).map((s) => s.answer)).answer;
      const agree = cotMajor !== null && cotMajor === potMajor;
      const vScore = agree ? (cotMajor === r.reference ? 1 : 0) : so.score;
      const vCost = weakCost + (agree ? 0 : so.cost);
      verify.acc += vScore;
      verify.cost += vCost;
      verify.esc += agree ? 0 : 1;
      decisions.push({ strategy: `mot-verify[${cotView}+${potView}]`, id: r.id, point: 0, threshold: 0, models: agree ? [weak] : [weak, strong], score: vScore, cost: vCost, strong: !agree });
    }
  }
  const total = n * MOT_COMBINATIONS.length;
  const toPoint = (x: { acc: number; cost: number; esc: number }, threshold: number): MotPoint => ({
    threshold,
    strongShare: x.esc / total,
    accuracy: x.acc / total,
    cost: x.cost / total,
    relativeCost: x.cost / total / strongAlone.cost,
  });
  const votePoints = thresholds.map((t, i) => toPoint(vote[i], t));
  const at = costAtAccuracy(votePoints, strongAlone.accuracy);
  return {
    weak,
    strong,
    k,
    n,
    strongAlone,
    weakAlone: summarizeModel(records, `${weak}/cot1`),
    vote: votePoints,
    verify: toPoint(verify, 0),
    voteRelativeCostAtStrongAccuracy: at === null ? null : at / strongAlone.cost,
    decisions,
  };
}
