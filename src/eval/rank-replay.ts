/**
 * Replay measurement of the `rank` strategy (output-level fusion: LLM-Blender, Jiang et al.
 * 2023; majority voting as in self-consistency, Wang et al. 2023) on recorded outcomes: every
 * candidate model's recorded response, correctness and USD cost per prompt (e.g. RouterBench,
 * Hu et al. 2024). The rankers are the strategy's own code (`majority` over `canonicalAnswer`,
 * `RankScorer`), so a figure here is what the served strategy picks over replay models of the
 * same records (test/rank.test.ts checks that they agree).
 *
 * Arms, each with accuracy (mean recorded score ∈ [0, 1]) and mean USD per prompt:
 * - `single:<model>` — one model alone;
 * - `oracle` — per prompt, the cheapest model that was correct (else the cheapest model):
 *   RouterBench's oracle router, an upper bound on any choice among these models;
 * - `consensus:<set>` — every model of the set answers; the majority canonical answer is served
 *   (cost: the sum of the set's calls);
 * - `scorer:<set>` — the learned pointwise scorer, k-fold cross-validated split by prompt: each
 *   prompt is ranked by a scorer trained on the other folds only (cost: the set's calls; the
 *   scorer itself is free);
 * - `judge~<p>:<set>` — a *simulated* pointwise judge right with probability p (no recorded judge
 *   verdicts exist for these data; see {@link simulatedJudgeArm}).
 */
import type { ModelOutcome, ReplayRecord } from "./dataset.js";
import { crossValidate } from "./cross-validation.js";
import { seededRandom } from "../core/random.js";
import { canonicalAnswer, type CanonicalKind } from "../strategies/rank/canonical.js";
import { majority, type TieBreak } from "../strategies/rank/consensus.js";
import { RankScorer, trainRankScorer, type ScorerGroup, type ScorerInput } from "../strategies/rank/scorer.js";

/** One arm's figures. Units: accuracy ∈ [0, 1]; USD per prompt. */
export interface RankArm {
  name: string;
  /** The candidate models (one for a single model). */
  models: string[];
  /** Prompts evaluated. */
  n: number;
  /** Mean recorded correctness of the served answer. */
  accuracy: number;
  /** Mean USD per prompt, every call counted. */
  meanCostUsd: number;
  /** For consensus: share of prompts where the winning answer had a strict majority (> half the votes). */
  majorityShare?: number;
}

/** Options shared by the arms. */
export interface RankReplayOptions {
  /** Canonical form the candidates' answers are compared in. */
  canonical: CanonicalKind;
  /** Valid letters for `choice`. Default "ABCD". */
  letters?: string;
}

function outcome(record: ReplayRecord, model: string): ModelOutcome {
  const o = record.outcomes[model];
  if (!o) throw new RangeError(`record ${record.id} has no outcome for ${model}`);
  return o;
}

const mean = (xs: readonly number[]) => (xs.length ? xs.reduce((s, x) => s + x, 0) / xs.length : 0);
const costOfSet = (record: ReplayRecord, models: readonly string[]) => models.reduce((s, m) => s + outcome(record, m).cost, 0);

/** `single:<model>`: the model alone. */
export function singleArm(records: readonly ReplayRecord[], model: string): RankArm {
  return {
    name: `single:${model}`,
    models: [model],
    n: records.length,
    accuracy: mean(records.map((r) => outcome(r, model).score)),
    meanCostUsd: mean(records.map((r) => outcome(r, model).cost)),
  };
}

/** `oracle`: per prompt, the cheapest correct model (score 1), else the cheapest model. */
export function oracleArm(records: readonly ReplayRecord[], models: readonly string[]): RankArm {
  const picks = records.map((r) => {
    const os = models.map((m) => outcome(r, m));
    const best = Math.max(...os.map((o) => o.score));
    const cheapest = os.filter((o) => o.score === best).reduce((a, b) => (b.cost < a.cost ? b : a));
    return cheapest;
  });
  return { name: "oracle", models: [...models], n: records.length, accuracy: mean(picks.map((o) => o.score)), meanCostUsd: mean(picks.map((o) => o.cost)) };
}

/** The candidates of one record, as the strategy's rankers read them (text "" when no response was recorded). */
export function candidatesOf(record: ReplayRecord, models: readonly string[]): ScorerInput[] {
  return models.map((m) => ({ model: m, text: outcome(record, m).response ?? "" }));
}

/**
 * The consensus pick on one record: position in `models` of the served candidate (see
 * `majority`; costs are the recorded USD), and whether the winning answer had a strict majority.
 */
export function consensusPick(record: ReplayRecord, models: readonly string[], options: RankReplayOptions & { tieBreak?: TieBreak }): { chosen: number; strict: boolean } {
  const answers = models.map((m) => canonicalAnswer(outcome(record, m).response ?? "", options.canonical, { letters: options.letters }));
  const vote = majority(answers, models.map((m) => outcome(record, m).cost), options.tieBreak ?? "order");
  return { chosen: vote.chosen, strict: vote.votes * 2 > vote.total };
}

/** `consensus:<name>`: majority vote over `models` (declared order = tie-break order for `order`). */
export function consensusArm(records: readonly ReplayRecord[], models: readonly string[], name: string, options: RankReplayOptions & { tieBreak?: TieBreak }): RankArm {
  const picks = records.map((r) => consensusPick(r, models, options));
  return {
    name: `consensus:${name}`,
    models: [...models],
    n: records.length,
    accuracy: mean(picks.map((p, i) => outcome(records[i], models[p.chosen]).score)),
    meanCostUsd: mean(records.map((r) => costOfSet(r, models))),
    majorityShare: mean(picks.map((p) => (p.strict ? 1 : 0))),
  };
}

/** Training groups (one per record: its candidates labelled by recorded correctness). */
export function scorerGroups(records: readonly ReplayRecord[], models: readonly string[]): ScorerGroup[] {
  return records.map((r) => candidatesOf(r, models).map((c) => ({ ...c, label: outcome(r, c.model).score })));
}

/** Options of the scorer arms. */
export interface ScorerArmOptions extends RankReplayOptions {
  /** Folds (k ≥ 2). Default 5. */
  folds?: number;
  /** Seed of the fold assignment and the SGD. Default 0. */
  seed?: number;
  /** Called once per fold with the ids of the records that fold's scorer was trained on (for audits and tests). */
  onTrain?: (trainIds: string[], fold: number) => void;
}

/**
 * `scorer:<name>` by k-fold cross-validation split by prompt (each record is one prompt): every
 * record is ranked by a scorer trained on the other folds' records only. Throws `RangeError` for
 * k < 2 or k > records.
 */
export function scorerArmCv(records: readonly ReplayRecord[], models: readonly string[], name: string, options: ScorerArmOptions): RankArm {
  const folds = options.folds ?? 5;
  const seed = options.seed ?? 0;
  const chosen = crossValidate(
    records,
    folds,
    seed,
    (train, fold) => {
      options.onTrain?.(train.map((r) => r.id), fold);
      return new RankScorer(trainRankScorer(scorerGroups(train, models), { canonical: options.canonical, letters: options.letters, seed }));
    },
    (scorer, record) => scorer.best(candidatesOf(record, models)).chosen,
  );
  return {
    name: `scorer:${name} (${folds}-fold CV)`,
    models: [...models],
    n: records.length,
    accuracy: mean(chosen.map((c, i) => outcome(records[i], models[c]).score)),
    meanCostUsd: mean(records.map((r) => costOfSet(r, models))),
  };
}

/** `scorer:<name>` trained on `train` only and evaluated on `test` (e.g. the dataset's own split). */
export function scorerArmSplit(train: readonly ReplayRecord[], test: readonly ReplayRecord[], models: readonly string[], name: string, options: ScorerArmOptions): { arm: RankArm; scorer: RankScorer } {
  const scorer = new RankScorer(trainRankScorer(scorerGroups(train, models), { canonical: options.canonical, letters: options.letters, seed: options.seed ?? 0 }));
  const chosen = test.map((r) => scorer.best(candidatesOf(r, models)).chosen);
  return {
    arm: {
      name: `scorer:${name} (train→test)`,
      models: [...models],
      n: test.length,
      accuracy: mean(chosen.map((c, i) => outcome(test[i], models[c]).score)),
      meanCostUsd: mean(test.map((r) => costOfSet(r, models))),
    },
    scorer,
  };
}

/** The models of `records` ordered by mean recorded cost per prompt, most expensive first (ties: name). */
export function modelsByCost(records: readonly ReplayRecord[], models: readonly string[]): string[] {
  const cost = new Map(models.map((m) => [m, mean(records.map((r) => outcome(r, m).cost))]));
  return [...models].sort((a, b) => cost.get(b)! - cost.get(a)! || a.localeCompare(b));
}

/** Options of {@link simulatedJudgeArm}. */
export interface SimulatedJudgeOptions {
  /** Probability ∈ [0, 1] that the judge's verdict on one candidate is right (good for a correct answer, bad for a wrong one). */
  accuracy: number;
  /** The judge model whose recorded cost on the prompt stands for one judge call's cost (USD). */
  judge: string;
  /** Seed of the verdict draws. Default 0. */
  seed?: number;
}

/**
 * `judge~<p>:<name>` — a **simulated** pointwise judge, no judge model runs: no recorded judge
 * verdicts exist for these data, so each candidate's verdict is drawn from its recorded
 * correctness, right with probability `accuracy` (independently per candidate). The first
 * candidate judged good in declared order is served, else the first candidate (the strategy's
 * `onFailure: "first"`). Cost: every candidate call plus one judge call per candidate, each
 * priced as the judge model's own recorded call on that prompt (the judge reads about the prompt
 * plus a short answer). What this bounds: the accuracy a judge of that reliability would reach.
 */
export function simulatedJudgeArm(records: readonly ReplayRecord[], models: readonly string[], name: string, options: SimulatedJudgeOptions): RankArm {
  const random = seededRandom(options.seed ?? 0);
  const scores = records.map((r) => {
    const good = models.map((m) => {
      const correct = outcome(r, m).score >= 0.5;
      return random() < options.accuracy ? correct : !correct;
    });
    const chosen = Math.max(0, good.indexOf(true));
    return outcome(r, models[chosen]).score;
  });
  return {
    name: `judge~${options.accuracy}:${name} (simulated, judge ${options.judge})`,
    models: [...models],
    n: records.length,
    accuracy: mean(scores),
    meanCostUsd: mean(records.map((r) => costOfSet(r, models) + models.length * outcome(r, options.judge).cost)),
  };
}
