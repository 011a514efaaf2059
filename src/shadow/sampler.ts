/**
 * The shadow sampler: a Bernoulli draw per answered request, so a share `rate` of the traffic is
 * shadowed — an unbiased sample of it, which is what makes the report's estimates (means over the
 * sample) estimate the whole traffic's. Deterministic: the random source is injected (default
 * mulberry32 seeded with the policy's `seed`, src/core/random.ts), so tests and benches replay the
 * same selection.
 */
import { seededRandom, type Random } from "../core/random.js";

/** Decides, one request at a time, whether it is shadowed. */
export interface ShadowSampler {
  /** The share in [0, 1] of requests sampled. */
  readonly rate: number;
  /** True when this request is shadowed (consumes one draw, also at rates 0 and 1, so selections stay aligned across rates). */
  next(): boolean;
}

/**
 * A Bernoulli(rate) sampler over `random` (uniform on [0, 1)). `rate` 0 never samples, 1 always.
 * Errors: RangeError for a rate outside [0, 1].
 */
export function bernoulliSampler(rate: number, random: Random = seededRandom(0)): ShadowSampler {
  if (!(rate >= 0 && rate <= 1)) throw new RangeError(`shadow sample rate must be in [0, 1], got ${rate}`);
  return {
    rate,
    next: () => random() < rate,
  };
}
