/**
 * The verification cascade (AutoMix, Madaan et al. 2023, "AutoMix: Automatically Mixing Language
 * Models") on the MoT replay data (Yue et al., ICLR 2024, date understanding; see
 * mot-cascade.ts), compared with MoT's vote cascade at equal cost.
 *
 * Setting, per MoT combination (demo set × CoT temperature × PoT temperature, the 8 of
 * {@link MOT_COMBINATIONS}), with k = 7 as MoT:
 * - the weak answer is GPT-3.5's chain-of-thought self-consistency answer: the majority of its k
 *   CoT samples (one call);
 * - the **verifier** is GPT-3.5 again (self-verification, as AutoMix's), through a different
 *   representation — MoT's "mixture of thought": its k program-of-thought samples (one call) are
 *   k verification samples, a sample judging the weak answer "Correct" when its executed answer
 *   equals it, "Incorrect" when it differs, and unparseable when the program gave no answer
 *   (null; left out of P(correct), AutoMix's rule). P(correct) = share of "Correct" verdicts;
 * - the query escalates to GPT-4 (CoT, majority of 3) when P(correct) < threshold.
 * The weak side thus costs exactly what MoT's vote cascade costs (k CoT + k PoT samples, one call
 * each), so the two cascades are compared at the same escalation share and the same cost.
 *
 * Served: the real `cascade` strategy with signal `verify` runs over replay models — the weak
 * model serves the CoT majority answer; the verifier serves the recorded PoT samples rendered as
 * AutoMix verdict sentences (seeds 0 … k − 1, as the cascade draws them) and is addressed by the
 * record id (a `prompt` option of the verification); the strong model serves GPT-4's recorded
 * answer. Who served, the cost and the escalation are read off the strategy's result; the verdicts
 * are parsed by the strategy's own parser. The vote cascade (MoT-1D-Vote) is mot-cascade.ts's,
 * served by the same strategy with the `self-consistency` signal, here swept over every vote share
 * (thresholds (j + ½)/2k) so that both curves span strong shares 0 … 1.
 *
 * Metrics: per threshold the strong share, accuracy and cost relative to GPT-4 alone; the
 * APGR-like area (RouteLLM's APGR over the strong share, with GPT-3.5 CoT SC@20 and GPT-4 alone as
 * the weak/strong references, both curves spanning shares 0 … 1; the verify curve is swept over
 * every value P(correct) takes on the data, then {@link ALWAYS_ESCALATE}); the cost at which each curve
 * reaches GPT-4's accuracy. **Held out**: the threshold of each cascade is chosen on one half of
 * the questions (a seeded random split — the data has one task and no templates to split by) as
 * the cheapest point reaching GPT-4's accuracy on that half, and reported on the other half; both
 * folds and their mean are reported.
 */
import { TandemError } from "../core/errors.js";
import type { GenerateResult } from "../core/model.js";
import { seededRandom, shuffleInPlace } from "../core/random.js";
import { ReplayModel, type ReplaySampleLike } from "../providers/replay.js";
import { cascade } from "../strategies/cascade/index.js";
import { correctProbability, parseVerdict } from "../strategies/verify/verifier.js";
import type { ReplayRecord } from "./dataset.js";
import { outcomeOf } from "./dataset.js";
import { costAtAccuracy, summarizeModel, type DecisionRow, type ModelSummary } from "./evaluate.js";
import { majorityAnswer } from "./import-mot.js";
import { apgr } from "./metrics.js";
import { evaluateMotCascade, MOT_COMBINATIONS, type MotPoint } from "./mot-cascade.js";
import { replayRequest } from "./served.js";

/** The verdict sentences the replay verifier serves (AutoMix's decision sentence). */
export const VERDICT_TEXT = {
  correct: "Verification Decision: The AI generated answer is Correct.",
  incorrect: "Verification Decision: The AI generated answer is Incorrect.",
  /** A program that gave no answer: no verdict. */
  unparseable: "",
} as const;

/** Above every P(correct): the threshold that always escalates. */
export const ALWAYS_ESCALATE = 1.01;

/**
 * Every value P(correct) can take with k verifier samples — the fractions c/d, 0 ≤ c ≤ d ≤ k —
 * ascending, then {@link ALWAYS_ESCALATE}: escalating when P < t sweeps strong shares 0 … 1. (The
 * default `thresholds` of {@link evaluateMotVerify} are the values observed on the data, then
 * {@link ALWAYS_ESCALATE}: the same operating points without the empty ones.)
 */
export function verifyThresholds(k: number): number[] {
  const values = new Set<number>([0]);
  for (let d = 1; d <= k; d++) for (let c = 0; c <= d; c++) values.add(c / d);
  return [...[...values].sort((a, b) => a - b), ALWAYS_ESCALATE];
}

/** Vote-share thresholds 0 and (j + ½)/m, j = 1 … m, for m votes: escalating when share < t sweeps shares 0 … 1. */
export function voteThresholds(m: number): number[] {
  return [0, ...Array.from({ length: m }, (_, j) => (j + 1.5) / m)];
}

/** A held-out operating point: chosen on `calibration`, reported on `test`. */
export interface HeldOutPoint {
  threshold: number;
  calibration: MotPoint;
  test: MotPoint;
  /** GPT-4 alone on each half (accuracy, mean USD). */
  strongCalibration: ModelSummary;
  strongTest: ModelSummary;
  /** Did the test point reach GPT-4's test accuracy? */
  reachedStrongOnTest: boolean;
}

/** One cascade's results. */
export interface CascadeCurve {
  name: string;
  points: MotPoint[];
  /** RouteLLM APGR over the strong share, weak = GPT-3.5 CoT SC@20, strong = GPT-4 alone. */
  apgr: number;
  /** Cost where the curve first reaches GPT-4's accuracy, relative to GPT-4 alone; null if never. */
  relativeCostAtStrongAccuracy: number | null;
  /** Accuracy at strong shares 0.1 … 0.5 (linear interpolation along the curve). */
  accuracyAtShare: Array<{ share: number; accuracy: number }>;
  /** Fold 1 (choose on half A, report on B) and fold 2 (the reverse). */
  heldOut: HeldOutPoint[];
  /** Mean of the folds' test points. */
  heldOutMean: { accuracy: number; strongShare: number; relativeCost: number; strongAccuracy: number };
}

/** The comparison. */
export interface MotVerifyResult {
  weak: string;
  strong: string;
  k: number;
  n: number;
  strongAlone: ModelSummary;
  weakAlone: ModelSummary;
  /** The AutoMix-style verification cascade (CoT answer verified by PoT samples). */
  verify: CascadeCurve;
  /** MoT-1D-Vote over all 2k samples (mot-cascade.ts), swept over every vote share. */
  vote: CascadeCurve;
  /** MoT-1D-Verify (escalate when the CoT and PoT majorities disagree), one point, from mot-cascade.ts. */
  majorityAgreement: MotPoint;
  /** How the verifier's samples parsed over all combinations: correct / incorrect / unparseable verdicts. */
  verdicts: { correct: number; incorrect: number; unparseable: number };
  /** Seed of the calibration/test split. */
  splitSeed: number;
  decisions: DecisionRow[];
}

/** Accuracy of a curve at strong share `s` (linear interpolation along the points sorted by share). */
export function accuracyAtShare(points: readonly MotPoint[], s: number): number {
  const p = [...points].sort((a, b) => a.strongShare - b.strongShare || a.accuracy - b.accuracy);
  if (s <= p[0].strongShare) return p[0].accuracy;
  for (let i = 1; i < p.length; i++) {
    if (p[i].strongShare >= s) {
      const a = p[i - 1];
      const b = p[i];
      return b.strongShare === a.strongShare ? b.accuracy : a.accuracy + ((s - a.strongShare) / (b.strongShare - a.strongShare)) * (b.accuracy - a.accuracy);
    }
  }
  return p[p.length - 1].accuracy;
}

/** Curve points of `rows` restricted to `ids` (undefined: all), mean over rows at each point, cost relative to `strongCost`. */
function curveOf(rows: readonly DecisionRow[], thresholds: readonly number[], strongCost: number, ids?: ReadonlySet<string>): MotPoint[] {
  const acc = thresholds.map(() => ({ n: 0, score: 0, cost: 0, strong: 0 }));
  for (const r of rows) {
    if (ids && !ids.has(r.id)) continue;
    const a = acc[r.point];
    a.n++;
    a.score += r.score;
    a.cost += r.cost;
    a.strong += r.strong ? 1 : 0;
  }
  return thresholds.map((threshold, i) => ({ threshold, strongShare: acc[i].strong / acc[i].n, accuracy: acc[i].score / acc[i].n, cost: acc[i].cost / acc[i].n, relativeCost: acc[i].cost / acc[i].n / strongCost }));
}

/** The cheapest point reaching `accuracy` (ties: lower threshold index), else the most accurate. */
function chooseOperatingPoint(points: readonly MotPoint[], accuracy: number): number {
  let best = -1;
  for (const [i, p] of points.entries()) if (p.accuracy >= accuracy && (best < 0 || p.cost < points[best].cost)) best = i;
  if (best >= 0) return best;
  let top = 0;
  for (const [i, p] of points.entries()) if (p.accuracy > points[top].accuracy) top = i;
  return top;
}

/** Serves each record through `model` and records a row per record (score = recorded score of the served answer). */
async function serveRows(records: readonly ReplayRecord[], model: ReturnType<typeof cascade>, byId: ReadonlyMap<string, ReplayModel>, row: { strategy: string; point: number; threshold: number }): Promise<DecisionRow[]> {
  const rows: DecisionRow[] = [];
  for (const r of records) {
    const request = replayRequest(r);
    const result: GenerateResult = await model.generate(request);
    const leaf = byId.get(result.info.servedBy);
    const score = leaf?.recordedScore(request.messages, result.text);
    if (score === undefined) throw new TandemError("internal_error", `Served answer of '${result.info.servedBy}' for '${r.id}' is not a recorded answer`);
    const models: string[] = [];
    for (const c of result.info.calls) if (models[models.length - 1] !== c.model) models.push(c.model);
    rows.push({ ...row, id: r.id, models, score, cost: result.info.costUsd, strong: result.info.escalated });
  }
  return rows;
}

/**
 * Runs the verification cascade and the vote cascade over MoT-imported `records` (outcomes
 * `<weak>/<view>` and `<strong>/cot1`, see import-mot.ts) and compares them (see the module
 * comment). Throws `TandemError("invalid_request")` when the views are missing.
 */
export async function evaluateMotVerify(
  records: readonly ReplayRecord[],
  options: { weak?: string; strong?: string; k?: number; thresholds?: readonly number[]; splitSeed?: number; prices?: { inputPerMillion: number; outputPerMillion: number } } = {},
): Promise<MotVerifyResult> {
  const weak = options.weak ?? "gpt-3.5-turbo";
  const strong = options.strong ?? "gpt-4";
  const k = options.k ?? Math.floor((20 - 8 * 0.75) / 2);
  const price = options.prices ?? { inputPerMillion: 1.5, outputPerMillion: 2 };
  const splitSeed = options.splitSeed ?? 42;
  const strongKey = `${strong}/cot1`;
  if (!records.length || !records[0].outcomes[strongKey] || !records[0].outcomes[`${weak}/cot1`]) {
    throw new TandemError("invalid_request", `MoT verification needs outcomes '${weak}/cot1', '${weak}/pot1', … and '${strongKey}' (import with --format mot)`);
  }
  const strongAlone = summarizeModel(records, strongKey);
  const verdicts = { correct: 0, incorrect: 0, unparseable: 0 };
  const observed = new Set<number>([0]);
  /** A view's k samples' USD: the first also pays the view's prompt (one call). */
  const sampleCost = (s: { completionTokens?: number }, j: number, promptTokens: number) => ((j === 0 ? promptTokens : 0) * price.inputPerMillion + (s.completionTokens ?? 0) * price.outputPerMillion) / 1e6;
  const verifyRows: DecisionRow[] = [];
  const combinations: Array<{ name: string; mixed: ReplayRecord[]; weakKey: string; verifierKey: string }> = [];
  for (const [cotView, potView] of MOT_COMBINATIONS) {
    const weakKey = `${weak}/cot-sc[${cotView}]`;
    const verifierKey = `${weak}/pot-verifier[${potView}]`;
    const mixed: ReplayRecord[] = records.map((r) => {
      const cot = outcomeOf(r, `${weak}/${cotView}`);
      const pot = outcomeOf(r, `${weak}/${potView}`);
      const cotSamples = (cot.samples ?? []).slice(0, k);
      const potSamples = (pot.samples ?? []).slice(0, k);
      if (cotSamples.length !== k || potSamples.length !== k) throw new TandemError("invalid_request", `MoT record '${r.id}' has ${cotSamples.length}+${potSamples.length} samples of ${cotView}+${potView}, expected ${k}+${k}`);
      const answer = majorityAnswer(cotSamples.map((s) => s.answer)).answer;
      const verifierSamples: ReplaySampleLike[] = potSamples.map((s, j) => {
        const verdict = s.answer === null ? "unparseable" : s.answer === answer ? "correct" : "incorrect";
        verdicts[verdict]++;
        return { answer: s.answer, score: 0, completionTokens: s.completionTokens, cost: sampleCost(s, j, pot.promptTokens ?? 0), text: VERDICT_TEXT[verdict] };
      });
      const weakCost = cotSamples.reduce((sum, s, j) => sum + sampleCost(s, j, cot.promptTokens ?? 0), 0);
      observed.add(correctProbability(verifierSamples.map((s) => parseVerdict(s.text ?? ""))));
      return {
        id: r.id,
        prompt: r.prompt,
        reference: r.reference,
        outcomes: {
          [weakKey]: { score: answer !== null && answer === r.reference ? 1 : 0, cost: weakCost, response: answer === null ? "" : `#### ${answer}`, promptTokens: cot.promptTokens, completionTokens: cotSamples.reduce((n, s) => n + (s.completionTokens ?? 0), 0) },
          [verifierKey]: { score: 0, cost: verifierSamples.reduce((sum, s) => sum + (s.cost ?? 0), 0), samples: verifierSamples, promptTokens: pot.promptTokens },
          [strongKey]: outcomeOf(r, strongKey),
        },
      };
    });
    combinations.push({ name: `${cotView}+${potView}`, mixed, weakKey, verifierKey });
  }
  const thresholds = options.thresholds ?? [...[...observed].sort((a, b) => a - b), ALWAYS_ESCALATE];
  for (const { name, mixed, weakKey, verifierKey } of combinations) {
    const weakModel = new ReplayModel(weakKey, mixed, { id: weak, matchBy: "id" });
    const verifier = new ReplayModel(verifierKey, mixed, { id: `${weak}-pot-verifier`, matchBy: "id" });
    const strongModel = new ReplayModel(strongKey, mixed, { id: strong, matchBy: "id" });
    const byId = new Map([weakModel, strongModel].map((m) => [m.id, m]));
    for (const [point, threshold] of thresholds.entries()) {
      const model = cascade({
        id: "automix-verify",
        weak: weakModel,
        strong: strongModel,
        signal: "verify",
        threshold,
        samples: k,
        verifier,
        // the replay verifier is addressed by record id: the question (the replay request's one message)
        verification: { prompt: (input) => [{ role: "user", content: input.question }] },
      });
      verifyRows.push(...(await serveRows(mixed, model, byId, { strategy: `automix-verify[${name}]`, point, threshold })));
    }
  }

  const voteTh = voteThresholds(2 * k);
  const mot = await evaluateMotCascade(records, { weak, strong, k, thresholds: voteTh, prices: price });
  const voteRows = mot.decisions.filter((d) => d.strategy.startsWith("mot-vote["));

  // the calibration / test halves
  const ids = shuffleInPlace(records.map((r) => r.id), seededRandom(splitSeed));
  const halves = [new Set(ids.slice(0, Math.floor(ids.length / 2))), new Set(ids.slice(Math.floor(ids.length / 2)))];
  const strongOf = (half: ReadonlySet<string>) => summarizeModel(records.filter((r) => half.has(r.id)), strongKey);
  const weakAlone = summarizeModel(records, `${weak}/cot1`);

  function curve(name: string, rows: readonly DecisionRow[], th: readonly number[]): CascadeCurve {
    const points = curveOf(rows, th, strongAlone.cost);
    const heldOut = [0, 1].map((f): HeldOutPoint => {
      const calibration = halves[f];
      const test = halves[1 - f];
      const strongCalibration = strongOf(calibration);
      const strongTest = strongOf(test);
      const calibPoints = curveOf(rows, th, strongCalibration.cost, calibration);
      const i = chooseOperatingPoint(calibPoints, strongCalibration.accuracy);
      const testPoint = curveOf(rows, th, strongTest.cost, test)[i];
      return { threshold: th[i], calibration: calibPoints[i], test: testPoint, strongCalibration, strongTest, reachedStrongOnTest: testPoint.accuracy >= strongTest.accuracy };
    });
    const mean = (f: (h: HeldOutPoint) => number) => heldOut.reduce((s, h) => s + f(h), 0) / heldOut.length;
    const at = costAtAccuracy(points, strongAlone.accuracy);
    return {
      name,
      points,
      apgr: apgr(points, weakAlone.accuracy, strongAlone.accuracy),
      relativeCostAtStrongAccuracy: at === null ? null : at / strongAlone.cost,
      accuracyAtShare: [0.1, 0.2, 0.3, 0.4, 0.5].map((share) => ({ share, accuracy: accuracyAtShare(points, share) })),
      heldOut,
      heldOutMean: { accuracy: mean((h) => h.test.accuracy), strongShare: mean((h) => h.test.strongShare), relativeCost: mean((h) => h.test.relativeCost), strongAccuracy: mean((h) => h.strongTest.accuracy) },
    };
  }

  return {
    weak,
    strong,
    k,
    n: records.length,
    strongAlone,
    weakAlone,
    verify: curve("automix-verify (CoT answer, PoT verifier)", verifyRows, thresholds),
    vote: curve("mot-1d-vote", voteRows, voteTh),
    majorityAgreement: mot.verify,
    verdicts,
    splitSeed,
    decisions: [...verifyRows, ...voteRows],
  };
}
