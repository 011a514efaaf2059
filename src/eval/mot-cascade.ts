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
 */
import { TandemError } from "../core/errors.js";
import type { ReplayRecord, SampleOutcome } from "./dataset.js";
import { outcomeOf } from "./dataset.js";
import type { CurvePoint } from "./metrics.js";
import { majorityAnswer } from "./import-mot.js";
import { costAtAccuracy, type DecisionRow, type ModelSummary, summarizeModel } from "./evaluate.js";

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

function sampleCost(samples: readonly SampleOutcome[], k: number): number {
  return samples.slice(0, k).reduce((s, x) => s + (x.completionTokens ?? 0), 0);
}

/**
 * Runs MoT-1D-Vote (at `thresholds`) and MoT-1D-Verify over MoT-imported `records`, whose
 * outcomes hold `<weak>/<view>` and `<strong>/cot1`. Throws `TandemError("invalid_request")`
 * when the views are missing.
 */
export function evaluateMotCascade(
  records: readonly ReplayRecord[],
  options: { weak?: string; strong?: string; k?: number; thresholds?: readonly number[]; prices?: { inputPerMillion: number; outputPerMillion: number } } = {},
): MotResult {
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
  for (const [c, [cotView, potView]] of MOT_COMBINATIONS.entries()) {
    for (const r of records) {
      const cot = outcomeOf(r, `${weak}/${cotView}`);
      const pot = outcomeOf(r, `${weak}/${potView}`);
      const so = outcomeOf(r, strongKey);
      const cs = (cot.samples ?? []).slice(0, k);
      const ps = (pot.samples ?? []).slice(0, k);
      const promptTokens = (cot.promptTokens ?? 0) + (pot.promptTokens ?? 0);
      const weakCost = (promptTokens * price.inputPerMillion + (sampleCost(cs, k) + sampleCost(ps, k)) * price.outputPerMillion) / 1e6;
      const merged = [...cs, ...ps];
      const major = majorityAnswer(merged.map((s) => s.answer));
      const share = merged.length ? major.count / merged.length : 0;
      const majorScore = major.answer !== null && major.answer === r.reference ? 1 : 0;
      thresholds.forEach((t, i) => {
        const escalate = share < t;
        const score = escalate ? so.score : majorScore;
        const cost = weakCost + (escalate ? so.cost : 0);
        vote[i].acc += score;
        vote[i].cost += cost;
        vote[i].esc += escalate ? 1 : 0;
        decisions.push({ strategy: `mot-vote[${cotView}+${potView}]`, id: r.id, point: i, threshold: t, models: escalate ? [weak, strong] : [weak], score, cost, strong: escalate });
      });
      const cotMajor = majorityAnswer(cs.map((s) => s.answer)).answer;
      const potMajor = majorityAnswer(ps.map((s) => s.answer)).answer;
      const agree = cotMajor !== null && cotMajor === potMajor;
      const vScore = agree ? (cotMajor === r.reference ? 1 : 0) : so.score;
      const vCost = weakCost + (agree ? 0 : so.cost);
      verify.acc += vScore;
      verify.cost += vCost;
      verify.esc += agree ? 0 : 1;
      decisions.push({ strategy: `mot-verify[${cotView}+${potView}]`, id: r.id, point: 0, threshold: 0, models: agree ? [weak] : [weak, strong], score: vScore, cost: vCost, strong: !agree });
    }
    void c;
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
