/**
 * The policy's `shadow` section (docs/shadow.md): shadow evaluation of a candidate strategy on
 * the live traffic of a served name. Keyed by the served name whose traffic is shadowed:
 *
 *     shadow:
 *       cloud:                 # a served model or strategy (the primary path, served unchanged)
 *         strategy: auto       # the candidate: a strategy declared in this policy
 *         sample: 0.1          # share of answered requests that are shadowed, 0..1
 *         judge: judge         # a model or strategy of the policy that compares two answers
 *         maxConcurrent: 2     # shadow evaluations in flight at most; more are dropped (counted)
 *         seed: 7              # the sampler's and the judge-order randomiser's seed
 *
 * Only zod and the policy's name syntax are imported here, so src/policy/schema.ts can include it
 * without pulling in the shadow runtime. References are checked when the gateway builds the
 * evaluators (src/shadow/build.ts).
 */
import { z } from "zod";
import { modelRef } from "../strategies/definition.js";

/** One served name's shadow evaluation settings. */
export const shadowSpecSchema = z
  .object({
    /** The candidate strategy: a name under `strategies` (so its own privacy wrapping applies). */
    strategy: modelRef,
    /** Probability in [0, 1] that an answered request is shadowed (Bernoulli, seeded). */
    sample: z.number().min(0).max(1),
    /** The pairwise judge: a model or strategy of the policy. Absent: decisions and costs only, no quality verdicts. */
    judge: modelRef.optional(),
    /** Shadow evaluations in flight at most; a sampled request arriving when full is dropped and counted. Default 2. */
    maxConcurrent: z.number().int().min(1).max(64).default(2),
    /** Seed of the sampler and of the judge's answer-order randomiser. Default 0. */
    seed: z.number().int().default(0),
    /**
     * For a `route` candidate: also judge the route's other side when the candidate agrees with
     * the primary, so the threshold sweep of `tandem shadow report` covers every threshold (costs
     * one more generation and judge call per such request). Default false.
     */
    explore: z.boolean().default(false),
    /** Time limit of one shadow evaluation in ms (candidate + judge). Default 120,000. */
    timeoutMs: z.number().int().min(1).default(120_000),
  })
  .strict();

/** The policy's `shadow` section: served name → settings. */
export const shadowSectionSchema = z.record(modelRef, shadowSpecSchema);

/** One served name's parsed shadow settings (defaults applied). */
export type ShadowSpec = z.infer<typeof shadowSpecSchema>;
