/**
 * The `scorer` ranker: a learned pointwise scorer, P(candidate correct | features), trained from
 * recorded outcomes (replay data or traces with feedback) and loaded from a model file — the
 * pointwise variant of LLM-Blender's ranker (Jiang et al. 2023), with a logistic regression in
 * place of their cross-encoder, since no encoder runs here. The candidate with the highest
 * probability is served (ties: declared order).
 *
 * Features of a candidate, computed from all the candidates of the same request (all of which
 * ran before ranking, so nothing from the future is used):
 * - `model:<id>` — the candidate's model identity (1);
 * - `share` — the share of candidates whose canonical answer equals this one's, ∈ [0, 1]
 *   (0 when it has none), and `share×model:<id>`, the same per model;
 * - `agree:<id>` — 1 when model `<id>` gave the same canonical answer (who agrees matters: the
 *   scorer learns which models' agreement is worth trusting);
 * - `abstain` — 1 when the answer has no canonical form;
 * - `length` — ln(1 + characters) / 5.
 * A feature name absent from the model file is ignored (e.g. a model the scorer never saw).
 *
 * Model file (JSON, written by {@link trainRankScorer} + writeModelFile, read by
 * {@link loadRankScorer}): `{format: "tandem-rank-scorer", version: 1, canonical, letters?,
 * features: string[], logistic: {bias, index, weight}, trainedOn?}`.
 */
import { readFileSync } from "node:fs";
import { z } from "zod";
import { TandemError } from "../../core/errors.js";
import { LogisticModel, type LogisticOptions } from "../route/routers/logistic.js";
import type { SparseVector } from "../route/routers/text-features.js";
import { canonicalResult, type CanonicalKind } from "./canonical.js";
import type { Candidate, RankChoice, Ranker } from "./ranker.js";

/** What the scorer reads of one candidate. */
export interface ScorerInput {
  /** Model id (the identity feature). */
  model: string;
  text: string;
  toolCalls?: Candidate["result"]["toolCalls"];
}

/** The scorer's model file (see the module comment). */
export interface RankScorerFile {
  format: "tandem-rank-scorer";
  version: 1;
  canonical: CanonicalKind;
  letters?: string;
  /** Feature names, position = weight index. */
  features: string[];
  logistic: { bias: number; index: number[]; weight: number[] };
  /** Provenance: examples (candidate answers) and groups (requests) trained on, and from what. */
  trainedOn?: { examples: number; groups: number; source?: string };
}

const fileSchema = z.object({
  format: z.literal("tandem-rank-scorer"),
  version: z.literal(1),
  canonical: z.enum(["choice", "number", "text"]),
  letters: z.string().min(1).optional(),
  features: z.array(z.string()),
  logistic: z.object({ bias: z.number(), index: z.array(z.number().int().nonnegative()), weight: z.array(z.number()) }),
  trainedOn: z.object({ examples: z.number(), groups: z.number(), source: z.string().optional() }).optional(),
});

/**
 * The named features of each candidate of one request (see the module comment), in input order.
 */
export function scorerFeatures(candidates: readonly ScorerInput[], canonical: CanonicalKind, letters?: string): Map<string, number>[] {
  const answers = candidates.map((c) => canonicalResult({ text: c.text, toolCalls: c.toolCalls }, canonical, { letters }));
  return candidates.map((c, i) => {
    const f = new Map<string, number>();
    const a = answers[i];
    const agreeing = a === null ? [] : answers.flatMap((b, j) => (b === a ? [j] : []));
    const share = agreeing.length / candidates.length;
    f.set(`model:${c.model}`, 1);
    f.set("share", share);
    f.set(`share×model:${c.model}`, share);
    for (const j of agreeing) if (j !== i) f.set(`agree:${candidates[j].model}`, 1);
    if (a === null) f.set("abstain", 1);
    f.set("length", Math.log1p(c.text.length) / 5);
    return f;
  });
}

function vectorize(features: Map<string, number>, index: Map<string, number>): SparseVector {
  const pairs = [...features].flatMap(([name, v]) => {
    const k = index.get(name);
    return k === undefined || v === 0 ? [] : [[k, v] as const];
  });
  pairs.sort((a, b) => a[0] - b[0]);
  return { index: Int32Array.from(pairs.map((p) => p[0])), value: Float64Array.from(pairs.map((p) => p[1])) };
}

/** One training group: the candidates of one request with their recorded correctness (label ∈ [0, 1]). */
export type ScorerGroup = ReadonlyArray<ScorerInput & { label: number }>;

/** Options of {@link trainRankScorer}. */
export interface TrainRankScorerOptions extends LogisticOptions {
  canonical: CanonicalKind;
  letters?: string;
  /** Provenance noted in the file. */
  source?: string;
}

/**
 * Trains the scorer on `groups` (each the candidates of one request, labelled by recorded
 * correctness): logistic regression (AdaGrad SGD, deterministic in `seed`; defaults of
 * LogisticModel). Throws `RangeError` when there is no example.
 */
export function trainRankScorer(groups: readonly ScorerGroup[], options: TrainRankScorerOptions): RankScorerFile {
  const rows = groups.flatMap((g) => {
    const fs = scorerFeatures(g, options.canonical, options.letters);
    return g.map((c, i) => ({ f: fs[i], y: c.label }));
  });
  if (rows.length === 0) throw new RangeError("trainRankScorer: no training examples");
  const names = [...new Set(rows.flatMap((r) => [...r.f.keys()]))].sort();
  const index = new Map(names.map((n, i) => [n, i]));
  const model = LogisticModel.train(
    rows.map((r) => vectorize(r.f, index)),
    rows.map((r) => r.y),
    options,
  );
  return {
    format: "tandem-rank-scorer",
    version: 1,
    canonical: options.canonical,
    ...(options.letters ? { letters: options.letters } : {}),
    features: names,
    logistic: model.toJSON(),
    trainedOn: { examples: rows.length, groups: groups.length, ...(options.source ? { source: options.source } : {}) },
  };
}

/** A loaded scorer: probabilities of correctness for the candidates of one request. */
export class RankScorer {
  private readonly model: LogisticModel;
  private readonly index: Map<string, number>;

  constructor(readonly file: RankScorerFile) {
    this.model = LogisticModel.fromJSON(file.logistic);
    this.index = new Map(file.features.map((n, i) => [n, i]));
  }

  /** P(correct) ∈ [0, 1] of each candidate, in input order. */
  score(candidates: readonly ScorerInput[]): number[] {
    return scorerFeatures(candidates, this.file.canonical, this.file.letters).map((f) => this.model.predict(vectorize(f, this.index)));
  }

  /** Position of the best candidate (highest probability; ties: the earliest) and its probability. */
  best(candidates: readonly ScorerInput[]): { chosen: number; probability: number; probabilities: number[] } {
    const p = this.score(candidates);
    let chosen = 0;
    for (let i = 1; i < p.length; i++) if (p[i] > p[chosen]) chosen = i;
    return { chosen, probability: p[chosen], probabilities: p };
  }
}

/**
 * Reads and validates a scorer model file. Errors: `invalid_policy` naming the path when the
 * file is missing, not JSON or not a `tandem-rank-scorer` v1 file.
 */
export function loadRankScorer(path: string): RankScorer {
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(path, "utf8"));
  } catch (error) {
    throw new TandemError("invalid_policy", `rank scorer ${path}: cannot read (${(error as Error).message})`, { cause: error });
  }
  const parsed = fileSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new TandemError("invalid_policy", `rank scorer ${path}: ${issue.path.join(".") || "file"}: ${issue.message}`);
  }
  const file = parsed.data as RankScorerFile;
  if (file.logistic.index.length !== file.logistic.weight.length || file.logistic.index.some((k) => k >= file.features.length)) {
    throw new TandemError("invalid_policy", `rank scorer ${path}: logistic.index and weight do not match features`);
  }
  return new RankScorer(file);
}

/** Creates the scorer ranker over a loaded scorer (no model calls). */
export function scorerRanker(scorer: RankScorer): Ranker {
  return {
    kind: "scorer",
    async rank(candidates: readonly Candidate[]): Promise<RankChoice> {
      const best = scorer.best(candidates.map((c) => ({ model: c.model, text: c.result.text, toolCalls: c.result.toolCalls })));
      const served = candidates[best.chosen].model;
      const list = best.probabilities.map((p, i) => `${candidates[i].model}=${p.toFixed(2)}`).join(", ");
      return { chosen: best.chosen, signal: "scorer-probability", score: best.probability, reason: `learned scorer P(correct): ${list}; served ${served}`, calls: [] };
    },
  };
}
