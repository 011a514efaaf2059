/**
 * Speculative decoding (Leviathan, Kalman & Matias 2023, "Fast Inference from Transformers via
 * Speculative Decoding"; Chen et al. 2023, "Accelerating Large Language Model Decoding with
 * Speculative Sampling") for a draft and a target model that share a vocabulary.
 *
 * Each iteration the draft proposes up to γ tokens autoregressively (d_i ~ q_i); the target
 * scores the prefix plus all γ drafts in ONE batched forward pass, giving p_1 … p_{γ+1}. Draft
 * i is accepted with probability min(1, p_i(d_i)/q_i(d_i)); at the first rejection a token is
 * drawn from the residual norm(max(0, p_i − q_i)) and the rest is dropped; when all are
 * accepted a bonus token is drawn from p_{γ+1}. The emitted tokens are distributed exactly as
 * the target's own samples (the theorem of both papers). With temperature 0 the distributions
 * are one-hot, the rule reduces to "accept while the draft equals the target's argmax" and the
 * text is the target's greedy text, token for token.
 *
 * γ adapts per iteration (when `adaptive`): +1 after a fully accepted draft, −1 when fewer than
 * half of the drafts were accepted, within [minGamma, maxGamma].
 */
import type { Token } from "node-llama-cpp";
import { costOf, type CollaborationInfo, type Decision, type GenerateRequest, type GenerateResult, type Model, type ModelCall, type Price, type TokenUsage } from "../../core/model.js";
import { TandemError } from "../../core/errors.js";
import type { Random } from "../../core/random.js";
import { assertSameVocabulary, type LocalLogitModel } from "../../token-level/logit-model.js";
import { drawToken, logSoftmax, sampleFrom, samplingDistribution } from "../../token-level/distribution.js";
import { generateFromStream, runTokenLevel, throwIfAborted, tokenLevelModel, tokenRunResult, type DecodeLoop, type TokenLevelSpec } from "../../token-level/decode.js";
import { strategyInfo } from "../info.js";

/** Options of {@link speculative}. */
export interface SpeculativeOptions {
  /** The small, fast model that proposes tokens. */
  draft: LocalLogitModel;
  /** The model whose output distribution is reproduced exactly. */
  target: LocalLogitModel;
  /** Id of the strategy model. Default `speculative(<draft>→<target>)`. */
  id?: string;
  /** Draft tokens per iteration at the start of each request (γ), tokens. Default 4. */
  gamma?: number;
  /** Adapt γ during the request (grow on full acceptance, shrink on early rejection). Default true. */
  adaptive?: boolean;
  /** Lower bound of adaptive γ, tokens. Default 1. */
  minGamma?: number;
  /** Upper bound of adaptive γ, tokens. Default 12. */
  maxGamma?: number;
  /** USD per 1M tokens of the strategy. Default: the target's price. */
  price?: Price;
  /** Stop at "\nQuestion:" for template-less models (the plain template's turn marker). Default true. */
  templateStops?: boolean;
}

/** Per-request counters of speculative decoding. Units: tokens and forward passes; ms. */
export interface SpeculativeStats {
  /** Tokens the draft proposed. */
  draftedTokens: number;
  /** Draft tokens the target accepted (and that were emitted). */
  acceptedTokens: number;
  /** Tokens emitted (accepted drafts + one target token per iteration). */
  generatedTokens: number;
  /** Forward passes of the draft model. */
  draftEvaluations: number;
  /** Forward passes of the target model (one batched verification per iteration). */
  targetEvaluations: number;
  /** acceptedTokens / draftedTokens, in [0, 1] (0 when nothing was drafted). */
  acceptanceRate: number;
  /** generatedTokens / targetEvaluations (plain decoding: 1). */
  tokensPerTargetEvaluation: number;
  /** targetEvaluations / generatedTokens (plain decoding: 1). */
  targetEvaluationsPerToken: number;
  /** Mean γ over iterations, tokens. */
  meanGamma: number;
  /** γ after the last iteration, tokens. */
  finalGamma: number;
  /** Milliseconds in draft / target forward passes. */
  draftMs: number;
  targetMs: number;
}

/** A speculative-decoding `Model` that can also report its counters. */
export interface SpeculativeModel extends Model {
  readonly draft: LocalLogitModel;
  readonly target: LocalLogitModel;
  /** Runs `generate` and returns the counters of that request. */
  generateWithStats(request: GenerateRequest, signal?: AbortSignal): Promise<{ result: GenerateResult; stats: SpeculativeStats; tokens: Token[] }>;
  /** Counters of the most recently started request (undefined before the first). */
  readonly lastStats: SpeculativeStats | undefined;
}

/** Result of verifying one draft block. */
export interface Verification {
  /** Number of leading drafts accepted (0…drafts.length). */
  accepted: number;
  /** The token emitted after the accepted drafts: a residual sample at the first rejection, or a bonus sample from p_{γ+1}. */
  next: number;
}

/**
 * The acceptance rule of speculative sampling (Leviathan et al. 2023, Algorithm 1; Chen et al.
 * 2023). `drafts[i]` was drawn from `q[i]`; `p` has one more entry than `drafts` (the target's
 * distribution after the last draft). Probability vectors are over the shared vocabulary.
 * With one-hot p and q (greedy) no randomness is used.
 */
export function verifyDraft(drafts: readonly number[], q: readonly ArrayLike<number>[], p: readonly ArrayLike<number>[], random: Random): Verification {
  if (p.length !== drafts.length + 1 || q.length < drafts.length) throw new RangeError("verifyDraft: need q for each draft and p for each draft plus one");
  for (let i = 0; i < drafts.length; i++) {
    const d = drafts[i];
    const pd = p[i][d];
    const qd = q[i][d];
    if (pd >= qd || random() < pd / qd) continue;
    const residual = new Float64Array(p[i].length);
    let mass = 0;
    for (let t = 0; t < residual.length; t++) {
      const r = p[i][t] - q[i][t];
      if (r > 0) {
        residual[t] = r;
        mass += r;
      }
    }
    return { accepted: i, next: sampleFrom(mass > 1e-12 ? residual : p[i], random) };
  }
  return { accepted: drafts.length, next: sampleFrom(p[drafts.length], random) };
}

function emptyStats(gamma: number): SpeculativeStats {
  return {
    draftedTokens: 0,
    acceptedTokens: 0,
    generatedTokens: 0,
    draftEvaluations: 0,
    targetEvaluations: 0,
    acceptanceRate: 0,
    tokensPerTargetEvaluation: 0,
    targetEvaluationsPerToken: 0,
    meanGamma: gamma,
    finalGamma: gamma,
    draftMs: 0,
    targetMs: 0,
  };
}

function finishStats(s: SpeculativeStats, gammaSum: number): void {
  s.acceptanceRate = s.draftedTokens > 0 ? s.acceptedTokens / s.draftedTokens : 0;
  s.tokensPerTargetEvaluation = s.targetEvaluations > 0 ? s.generatedTokens / s.targetEvaluations : 0;
  s.targetEvaluationsPerToken = s.generatedTokens > 0 ? s.targetEvaluations / s.generatedTokens : 0;
  s.meanGamma = s.targetEvaluations > 0 ? gammaSum / s.targetEvaluations : s.finalGamma;
}

/**
 * Speculative decoding as a strategy: draft + target → a `Model` whose output is distributed as
 * the target's (identical greedy text at temperature 0).
 *
 * Info: `servedBy` is the target; `calls` = [draft (completionTokens = drafted tokens), target];
 * one decision `{ strategy: "speculative", signal: "acceptance-rate", score: acceptance rate }`.
 * @throws TandemError `invalid_policy` when the two models' vocabularies differ, or γ bounds are not positive integers.
 * @example const m = speculative({ draft: await LocalLogitModel.load("models/stories260K.gguf"), target: await LocalLogitModel.load("models/tinytales-5M.gguf") });
 */
export function speculative(options: SpeculativeOptions): SpeculativeModel {
  const { draft, target } = options;
  assertSameVocabulary("speculative decoding", [target, draft]);
  const minGamma = options.minGamma ?? 1;
  const maxGamma = options.maxGamma ?? 12;
  const gamma0 = options.gamma ?? 4;
  const adaptive = options.adaptive ?? true;
  for (const [name, v] of [["gamma", gamma0], ["minGamma", minGamma], ["maxGamma", maxGamma]] as const) {
    if (!Number.isInteger(v) || v < 1) throw new TandemError("invalid_policy", `speculative: ${name} must be a positive integer, got ${v}`);
  }
  if (minGamma > maxGamma) throw new TandemError("invalid_policy", `speculative: minGamma ${minGamma} > maxGamma ${maxGamma}`);
  const id = options.id ?? `speculative(${draft.id}→${target.id})`;
  const price = options.price ?? target.price;
  let lastStats: SpeculativeStats | undefined;

  const makeSpec = (onStats?: (s: SpeculativeStats) => void, onTokens?: (t: Token[]) => void): TokenLevelSpec => ({
    id,
    templateStops: options.templateStops,
    price,
    handles: [target, draft],
    contextSize: Math.min(target.contextSize, draft.contextSize),
    start() {
      const stats = emptyStats(Math.min(Math.max(gamma0, minGamma), maxGamma));
      let gammaSum = 0;
      lastStats = stats;
      onStats?.(stats);
      const loop: DecodeLoop = async function* (ctx) {
        const seq: Token[] = [...ctx.prompt];
        let gamma = stats.finalGamma;
        while (stats.generatedTokens < ctx.maxTokens) {
          throwIfAborted(ctx.signal);
          const g = Math.max(1, Math.min(gamma, ctx.maxTokens - stats.generatedTokens));
          // 1. Draft up to g tokens autoregressively.
          const drafts: Token[] = [];
          const q: Float64Array[] = [];
          for (let i = 0; i < g; i++) {
            const e0 = draft.evaluations;
            const m0 = draft.busyMs;
            const logits = await draft.nextLogits(drafts.length ? [...seq, ...drafts] : seq);
            stats.draftEvaluations += draft.evaluations - e0;
            stats.draftMs += draft.busyMs - m0;
            const { token, distribution } = drawToken(logits, ctx.sampling, ctx.random);
            const d = token as Token;
            drafts.push(d);
            q.push(distribution);
            if (draft.isEndToken(d)) break;
          }
          stats.draftedTokens += drafts.length;
          gammaSum += g;
          // 2. Score prefix + drafts with the target in one batched pass: p_1 … p_{γ+1}.
          const e0 = target.evaluations;
          const m0 = target.busyMs;
          const logits = await target.logits([...seq, ...drafts], seq.length);
          stats.targetEvaluations += Math.max(1, target.evaluations - e0);
          stats.targetMs += target.busyMs - m0;
          const p = logits.map((l) => samplingDistribution(l, ctx.sampling));
          // 3. Accept / resample.
          const { accepted, next } = verifyDraft(drafts, q, p, ctx.random);
          const out = [...drafts.slice(0, accepted), next as Token];
          for (let j = 0; j < out.length; j++) {
            if (stats.generatedTokens >= ctx.maxTokens) break;
            if (j < accepted) stats.acceptedTokens++;
            stats.generatedTokens++;
            seq.push(out[j]);
            finishStats(stats, gammaSum);
            yield { token: out[j], logprobs: ctx.wantLogprobs ? logSoftmax(logits[j]) : undefined };
            if (target.isEndToken(out[j])) return;
          }
          // 4. Adapt γ.
          if (adaptive) {
            if (accepted === drafts.length && drafts.length === g) gamma = Math.min(maxGamma, gamma + 1);
            else if (accepted < g / 2) gamma = Math.max(minGamma, gamma - 1);
          }
          stats.finalGamma = gamma;
          finishStats(stats, gammaSum);
        }
      };
      return {
        loop,
        onTokens,
        info(usage: TokenUsage, latencyMs: number): CollaborationInfo {
          finishStats(stats, gammaSum);
          const draftUsage = { promptTokens: usage.promptTokens, completionTokens: stats.draftedTokens };
          const calls: ModelCall[] = [
            { model: draft.id, location: "edge", role: "draft", ...draftUsage, costUsd: costOf(draft.price, draftUsage), latencyMs: stats.draftMs },
            { model: target.id, location: "edge", role: "target", ...usage, costUsd: costOf(target.price, usage), latencyMs: stats.targetMs },
          ];
          const pct = (stats.acceptanceRate * 100).toFixed(1);
          const decision: Decision = {
            strategy: "speculative",
            name: id,
            signal: "acceptance-rate",
            score: stats.acceptanceRate,
            threshold: 0,
            chosen: target.id,
            escalated: false,
            reason:
              `accepted ${stats.acceptedTokens}/${stats.draftedTokens} draft tokens (${pct}%); ` +
              `${stats.tokensPerTargetEvaluation.toFixed(2)} tokens per target evaluation; ` +
              `${stats.targetEvaluations} target and ${stats.draftEvaluations} draft evaluations; γ ${gamma0}→${stats.finalGamma} in ${latencyMs.toFixed(0)} ms`,
          };
          return strategyInfo(tokenRunResult(usage, target.id, calls), decision, price);
        },
      };
    },
  });

  return {
    ...tokenLevelModel(makeSpec()),
    draft,
    target,
    get lastStats() {
      return lastStats;
    },
    async generateWithStats(request, signal) {
      let stats: SpeculativeStats | undefined;
      let tokens: Token[] = [];
      const result = await generateFromStream(runTokenLevel(makeSpec((s) => (stats = s), (t) => (tokens = t)), request, signal));
      return { result, stats: stats!, tokens };
    },
  };
}
