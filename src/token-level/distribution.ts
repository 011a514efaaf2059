/**
 * Distribution arithmetic of the token-level layer: log-softmax, temperature / top-p sampling
 * distributions and seeded draws. Logits are natural-log scale; probabilities are Float64Arrays
 * summing to 1. Random sources are `Random`s from core/random.ts (`seededRandom`, mulberry32).
 */
import type { Random } from "../core/random.js";

/** log-softmax of `logits / temperature` (natural log; entries ≤ 0; −∞ stays −∞). */
export function logSoftmax(logits: ArrayLike<number>, temperature = 1): Float64Array {
  const n = logits.length;
  const out = new Float64Array(n);
  let max = -Infinity;
  for (let i = 0; i < n; i++) {
    const v = logits[i] / temperature;
    out[i] = v;
    if (v > max) max = v;
  }
  let sum = 0;
  for (let i = 0; i < n; i++) sum += Math.exp(out[i] - max);
  const lse = max + Math.log(sum);
  for (let i = 0; i < n; i++) out[i] -= lse;
  return out;
}

/** softmax of `logits / temperature`. */
export function softmax(logits: ArrayLike<number>, temperature = 1): Float64Array {
  const out = logSoftmax(logits, temperature);
  for (let i = 0; i < out.length; i++) out[i] = Math.exp(out[i]);
  return out;
}

/** Index of the largest entry (the first one on ties). */
export function argmax(values: ArrayLike<number>): number {
  let best = 0;
  let bestValue = -Infinity;
  for (let i = 0; i < values.length; i++) {
    if (values[i] > bestValue) {
      bestValue = values[i];
      best = i;
    }
  }
  return best;
}

/** How a next-token distribution is turned into the one tokens are sampled from. */
export interface SamplingSettings {
  /** 0 (or less) = greedy: a one-hot distribution on the argmax. Default 1. */
  temperature?: number;
  /** Nucleus sampling: keep the smallest set of most likely tokens whose mass reaches `topP`. Default 1 (off). */
  topP?: number;
}

/**
 * The distribution tokens are drawn from: softmax(logits / T), restricted to the top-p nucleus
 * and renormalized; one-hot on the argmax when T ≤ 0.
 */
export function samplingDistribution(logits: ArrayLike<number>, settings: SamplingSettings = {}): Float64Array {
  const temperature = settings.temperature ?? 1;
  if (temperature <= 0) {
    const out = new Float64Array(logits.length);
    out[argmax(logits)] = 1;
    return out;
  }
  const p = softmax(logits, temperature);
  const topP = settings.topP ?? 1;
  if (topP < 1) {
    const order = Array.from(p.keys()).sort((a, b) => p[b] - p[a]);
    let mass = 0;
    let cut = order.length;
    for (let k = 0; k < order.length; k++) {
      mass += p[order[k]];
      if (mass >= topP) {
        cut = k + 1;
        break;
      }
    }
    for (let k = cut; k < order.length; k++) p[order[k]] = 0;
    let sum = 0;
    for (let i = 0; i < p.length; i++) sum += p[i];
    for (let i = 0; i < p.length; i++) p[i] /= sum;
  }
  return p;
}

/** Draws an index from a probability vector (entries ≥ 0; normalized or not). */
export function sampleFrom(probs: ArrayLike<number>, random: Random): number {
  let total = 0;
  for (let i = 0; i < probs.length; i++) total += probs[i];
  let r = random() * total;
  let last = 0;
  for (let i = 0; i < probs.length; i++) {
    if (probs[i] <= 0) continue;
    last = i;
    r -= probs[i];
    if (r < 0) return i;
  }
  return last;
}

/**
 * One sampling step: the sampling distribution of `scores` under `settings` and a token drawn
 * from it with `random` (one draw per step, greedy included: the argmax of a one-hot distribution).
 */
export function drawToken(scores: ArrayLike<number>, settings: SamplingSettings, random: Random): { token: number; distribution: Float64Array } {
  const distribution = samplingDistribution(scores, settings);
  return { token: sampleFrom(distribution, random), distribution };
}
