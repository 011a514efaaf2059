/**
 * Logit fusion: decoding from an arithmetic combination of the next-token logits of several
 * local models that share one vocabulary.
 *
 * - Proxy-tuning (Liu et al. 2024, "Tuning Language Models by Proxy"):
 *   `z = z_base + α · (z_expert − z_antiExpert)` on raw logits.
 * - Contrastive decoding (Li et al. 2023, "Contrastive Decoding: Open-ended Text Generation as
 *   Optimization"): `s = log p_expert − β · log p_amateur` on the plausibility set
 *   `V_head = { x : p_expert(x) ≥ α · max_w p_expert(w) }`, −∞ elsewhere.
 * - Ensembling: the weighted mixture of next-token distributions, `log Σ_i w_i · p_i`.
 *
 * Each factory checks at construction that all models share a vocabulary and returns a
 * {@link FusedModel}: a `Model` (greedy at temperature 0, seeded sampling otherwise) that also
 * exposes the fused scores for any token sequence (`fusedLogits`) for exact tests and perplexity.
 */
import type { Token } from "node-llama-cpp";
import { costOf, type CollaborationInfo, type Decision, type Model, type ModelCall, type Price } from "../../core/model.js";
import { TandemError } from "../../core/errors.js";
import { assertSameVocabulary, withLocks, type LocalLogitModel } from "../../token-level/logit-model.js";
import { logSoftmax } from "../../token-level/distribution.js";
import { autoregressiveLoop, tokenLevelModel, tokenRunResult, type TokenLevelSpec } from "../../token-level/decode.js";
import { strategyInfo } from "../info.js";

/** One model of a fusion and its role ("base", "expert", "anti-expert", "amateur", "member-0"…). */
export interface FusionPart {
  role: string;
  model: LocalLogitModel;
}

/** A fused model: a `Model` plus access to its fused next-token scores. */
export interface FusedModel extends Model {
  /** The fused models, in the order their logits reach `combine`. */
  readonly parts: readonly FusionPart[];
  /**
   * Fused next-token scores (natural-log scale, possibly −∞) after each prefix `tokens[0..i]`,
   * `i = from−1 … tokens.length−1`, as in `LogitScorer.logits`. One batched pass per model.
   */
  fusedLogits(tokens: readonly Token[], from: number): Promise<Float64Array[]>;
  /** The combination rule itself, applied to the parts' raw logits at one position. */
  combine(logits: readonly ArrayLike<number>[]): Float64Array;
}

/** What {@link fusedModel} needs. */
export interface FusionSpec {
  /** Strategy kind for the decision ("proxy-tuning", "contrastive", "ensemble"). */
  kind: string;
  id: string;
  parts: FusionPart[];
  /** Fused scores from the parts' raw logits at one position (same order as `parts`). */
  combine(logits: readonly ArrayLike<number>[]): Float64Array;
  /** The model reported as `servedBy` (and whose price is the strategy's). */
  servedBy: LocalLogitModel;
  /** The decision's signal name and value (e.g. "alpha", 0.5). */
  signal: string;
  score: number;
  reason: string;
  price?: Price;
}

/** Builds a {@link FusedModel} from a combination rule. @throws TandemError `invalid_policy` on vocabulary mismatch. */
export function fusedModel(spec: FusionSpec): FusedModel {
  if (spec.parts.length === 0) throw new TandemError("invalid_policy", `${spec.kind}: no models given`);
  assertSameVocabulary(spec.kind, spec.parts.map((p) => p.model));
  const handles = [...new Set(spec.parts.map((p) => p.model))];
  const price = spec.price ?? spec.servedBy.price;

  async function partLogits(tokens: readonly Token[], from: number): Promise<Float32Array[][]> {
    const byHandle = new Map<LocalLogitModel, Float32Array[]>();
    for (const h of handles) byHandle.set(h, await h.logits(tokens, from));
    return spec.parts.map((p) => byHandle.get(p.model)!);
  }

  const tokenSpec: TokenLevelSpec = {
    id: spec.id,
    price,
    handles: [spec.servedBy, ...handles.filter((h) => h !== spec.servedBy)],
    contextSize: Math.min(...handles.map((h) => h.contextSize)),
    start() {
      const ms = new Map<LocalLogitModel, number>(handles.map((h) => [h, 0]));
      // One step: every distinct handle's next-token logits (timed per handle), then the rule.
      const loop = autoregressiveLoop(async (sequence) => {
        const byHandle = new Map<LocalLogitModel, Float32Array>();
        for (const h of handles) {
          const m0 = h.busyMs;
          byHandle.set(h, await h.nextLogits(sequence));
          ms.set(h, ms.get(h)! + h.busyMs - m0);
        }
        return spec.combine(spec.parts.map((p) => byHandle.get(p.model)!));
      });
      return {
        loop,
        info(usage, latencyMs): CollaborationInfo {
          const calls: ModelCall[] = spec.parts.map((p) => ({
            model: p.model.id,
            location: "edge" as const,
            role: p.role,
            ...usage,
            costUsd: costOf(p.model.price, usage),
            latencyMs: ms.get(p.model) ?? latencyMs,
          }));
          const decision: Decision = {
            strategy: spec.kind,
            name: spec.id,
            signal: spec.signal,
            score: spec.score,
            threshold: 0,
            chosen: spec.id,
            escalated: false,
            reason: spec.reason,
          };
          return strategyInfo(tokenRunResult(usage, spec.servedBy.id, calls), decision, price);
        },
      };
    },
  };

  return {
    ...tokenLevelModel(tokenSpec),
    parts: spec.parts,
    combine: spec.combine,
    async fusedLogits(tokens, from) {
      const per = await withLocks(handles, () => partLogits(tokens, from));
      return per[0].map((_, j) => spec.combine(per.map((l) => l[j])));
    },
  };
}

function checkFinite(kind: string, name: string, value: number, min = -Infinity): void {
  if (!Number.isFinite(value) || value < min) throw new TandemError("invalid_policy", `${kind}: ${name} must be a finite number${min > -Infinity ? ` ≥ ${min}` : ""}, got ${value}`);
}

/** Options of {@link proxyTuning}. */
export interface ProxyTuningOptions {
  /** The large untuned model (M). */
  base: LocalLogitModel;
  /** The small tuned model (M+). */
  expert: LocalLogitModel;
  /** The small untuned model (M−). */
  antiExpert: LocalLogitModel;
  /** Strength of the steer, dimensionless. Default 1 (the paper's choice). */
  alpha?: number;
  id?: string;
  price?: Price;
}

/**
 * Proxy-tuning (Liu et al. 2024): next-token logits = base + α · (expert − antiExpert), on raw
 * logits, so a small tuned/untuned pair steers a large untuned model without touching its weights.
 * @throws TandemError `invalid_policy` on vocabulary mismatch or a non-finite α.
 */
export function proxyTuning(options: ProxyTuningOptions): FusedModel {
  const alpha = options.alpha ?? 1;
  checkFinite("proxy-tuning", "alpha", alpha);
  const { base, expert, antiExpert } = options;
  return fusedModel({
    kind: "proxy-tuning",
    id: options.id ?? `proxy-tuning(${base.id}+${alpha}·(${expert.id}−${antiExpert.id}))`,
    parts: [
      { role: "base", model: base },
      { role: "expert", model: expert },
      { role: "anti-expert", model: antiExpert },
    ],
    combine([zb, ze, za]) {
      const out = new Float64Array(zb.length);
      for (let v = 0; v < out.length; v++) out[v] = zb[v] + alpha * (ze[v] - za[v]);
      return out;
    },
    servedBy: base,
    signal: "alpha",
    score: alpha,
    reason: `logits of ${base.id} + ${alpha} × (${expert.id} − ${antiExpert.id})`,
    price: options.price,
  });
}

/** Options of {@link contrastive}. */
export interface ContrastiveOptions {
  /** The strong model. */
  expert: LocalLogitModel;
  /** The weak model whose mistakes are subtracted. */
  amateur: LocalLogitModel;
  /** Plausibility cut-off in (0, 1]: keep tokens with p_expert ≥ α · max p_expert. Default 0.1 (the paper's). */
  alpha?: number;
  /** Weight of the amateur's log-probabilities, ≥ 0. Default 1 (the paper's `log p_EXP − log p_AMA`). */
  beta?: number;
  /** Temperature applied to the amateur before its log-softmax. Default 1. */
  amateurTemperature?: number;
  id?: string;
  price?: Price;
}

/**
 * Contrastive decoding (Li et al. 2023): score(x) = log p_expert(x) − β · log p_amateur(x) for x
 * in the expert's plausibility set {x : p_expert(x) ≥ α · max p_expert}, −∞ outside it.
 * Greedy decoding on this score is the paper's method; sampling from softmax(score) is offered too.
 * @throws TandemError `invalid_policy` on vocabulary mismatch or parameters out of range.
 */
export function contrastive(options: ContrastiveOptions): FusedModel {
  const alpha = options.alpha ?? 0.1;
  const beta = options.beta ?? 1;
  const tau = options.amateurTemperature ?? 1;
  if (!(alpha > 0 && alpha <= 1)) throw new TandemError("invalid_policy", `contrastive: alpha must be in (0, 1], got ${alpha}`);
  checkFinite("contrastive", "beta", beta, 0);
  if (!(tau > 0 && Number.isFinite(tau))) throw new TandemError("invalid_policy", `contrastive: amateurTemperature must be > 0, got ${tau}`);
  const { expert, amateur } = options;
  const logAlpha = Math.log(alpha);
  return fusedModel({
    kind: "contrastive",
    id: options.id ?? `contrastive(${expert.id}−${beta}·${amateur.id})`,
    parts: [
      { role: "expert", model: expert },
      { role: "amateur", model: amateur },
    ],
    combine([ze, za]) {
      const lpE = logSoftmax(ze);
      const lpA = logSoftmax(za, tau);
      let max = -Infinity;
      for (let v = 0; v < lpE.length; v++) if (lpE[v] > max) max = lpE[v];
      const cut = max + logAlpha;
      const out = new Float64Array(lpE.length);
      for (let v = 0; v < out.length; v++) out[v] = lpE[v] >= cut ? lpE[v] - beta * lpA[v] : -Infinity;
      return out;
    },
    servedBy: expert,
    signal: "beta",
    score: beta,
    reason: `log p(${expert.id}) − ${beta} × log p(${amateur.id}) within p ≥ ${alpha} × max`,
    price: options.price,
  });
}

/** Options of {@link ensemble}. */
export interface EnsembleOptions {
  /** The models and their (non-negative, not all zero) weights; weights are normalized to sum 1. */
  members: ReadonlyArray<{ model: LocalLogitModel; weight?: number }>;
  id?: string;
  price?: Price;
}

/**
 * Weighted ensembling of next-token distributions: p(x) = Σ_i w_i · softmax(z_i)(x), w normalized.
 * The fused score is log p (a normalized log-probability). The first member is reported as `servedBy`.
 * @throws TandemError `invalid_policy` on vocabulary mismatch, no members, or bad weights.
 */
export function ensemble(options: EnsembleOptions): FusedModel {
  const members = options.members;
  if (members.length === 0) throw new TandemError("invalid_policy", "ensemble: no members given");
  const raw = members.map((m) => m.weight ?? 1);
  for (const w of raw) checkFinite("ensemble", "weight", w, 0);
  const total = raw.reduce((a, b) => a + b, 0);
  if (!(total > 0)) throw new TandemError("invalid_policy", "ensemble: weights must not all be 0");
  const weights = raw.map((w) => w / total);
  return fusedModel({
    kind: "ensemble",
    id: options.id ?? `ensemble(${members.map((m, i) => `${weights[i].toFixed(2)}·${m.model.id}`).join("+")})`,
    parts: members.map((m, i) => ({ role: `member-${i}`, model: m.model })),
    combine(logits) {
      const n = logits[0].length;
      const mix = new Float64Array(n);
      logits.forEach((z, i) => {
        const lp = logSoftmax(z);
        for (let v = 0; v < n; v++) mix[v] += weights[i] * Math.exp(lp[v]);
      });
      for (let v = 0; v < n; v++) mix[v] = Math.log(mix[v]);
      return mix;
    },
    servedBy: members[0].model,
    signal: "weights",
    score: weights[0],
    reason: `mixture of next-token distributions with weights ${weights.map((w) => w.toFixed(3)).join(", ")}`,
    price: options.price,
  });
}
