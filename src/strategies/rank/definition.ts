/**
 * The `rank` strategy's policy definition (output-level fusion; see index.ts):
 *
 * ```yaml
 * strategies:
 *   vote:   { kind: rank, models: [gpt, claude, mixtral], ranker: { kind: consensus, canonical: choice, tieBreak: order } }
 *   judged: { kind: rank, model: edge, samples: 4, ranker: { kind: judge, judge: gpt, mode: pairwise } }
 *   learned: { kind: rank, models: [gpt, claude, mixtral], ranker: { kind: scorer, path: rank-scorer.json } }
 * ```
 *
 * `ranker: consensus` is short for `{ kind: consensus }` (canonical `text`, tie-break `order`).
 * A scorer `path` is relative to the policy file.
 */
import { z } from "zod";
import { defineStrategy, modelRef } from "../definition.js";
import { consensusRanker } from "./consensus.js";
import { rank } from "./index.js";
import { judgeRanker } from "./judge.js";
import type { Ranker } from "./ranker.js";
import { loadRankScorer, scorerRanker } from "./scorer.js";

const consensusSchema = z
  .object({
    kind: z.literal("consensus"),
    canonical: z.enum(["choice", "number", "text"]).optional(),
    letters: z.string().regex(/^[A-Z]+$/, "upper-case letters, e.g. ABCD").optional(),
    tieBreak: z.enum(["order", "costliest", "cheapest"]).optional(),
  })
  .strict();

const judgeSchema = z
  .object({
    kind: z.literal("judge"),
    judge: modelRef,
    mode: z.enum(["pointwise", "pairwise"]).optional(),
    bothOrders: z.boolean().optional(),
    onFailure: z.enum(["first", "error"]).optional(),
    maxTokens: z.number().int().min(1).max(256).optional(),
  })
  .strict();

const scorerSchema = z.object({ kind: z.literal("scorer"), path: z.string().min(1) }).strict();

/**
 * `kind: rank`. Errors at parse: `strategies.<name>.…` for both or neither of `models` / `model`,
 * `model` without `samples`, an unknown ranker kind or option; at build: `invalid_policy` for an
 * unknown reference or an unreadable scorer file (see `loadRankScorer`).
 */
export const rankDefinition = defineStrategy({
  kind: "rank",
  options: z
    .object({
      models: z.array(modelRef).min(2).optional(),
      model: modelRef.optional(),
      samples: z.number().int().min(2).max(32).optional(),
      sampleTemperature: z.number().min(0).max(2).optional(),
      ranker: z.union([z.literal("consensus"), z.discriminatedUnion("kind", [consensusSchema, judgeSchema, scorerSchema])]),
      concurrency: z.number().int().min(1).optional(),
      minSuccesses: z.number().int().min(1).optional(),
    })
    .strict()
    .refine((o) => (o.models === undefined) !== (o.model === undefined), "give either 'models' or 'model' with 'samples'")
    .refine((o) => o.model === undefined || o.samples !== undefined, { message: "'model' needs 'samples'", path: ["samples"] })
    .refine((o) => o.models === undefined || o.samples === undefined, { message: "'samples' goes with 'model', not 'models'", path: ["samples"] }),
  references: (o) => [...(o.models ?? []), ...(o.model ? [o.model] : []), ...(typeof o.ranker === "object" && o.ranker.kind === "judge" ? [o.ranker.judge] : [])],
  async build(o, context) {
    const models = [];
    for (const [i, m] of (o.models ?? []).entries()) models.push(await context.model(m, `models.${i}`));
    const spec: Exclude<typeof o.ranker, string> = o.ranker === "consensus" ? { kind: "consensus" } : o.ranker;
    let ranker: Ranker;
    if (spec.kind === "consensus") ranker = consensusRanker({ canonical: spec.canonical, letters: spec.letters, tieBreak: spec.tieBreak });
    else if (spec.kind === "judge") {
      ranker = judgeRanker({ judge: await context.model(spec.judge, "ranker.judge"), mode: spec.mode, bothOrders: spec.bothOrders, onFailure: spec.onFailure, maxTokens: spec.maxTokens, concurrency: o.concurrency });
    } else ranker = scorerRanker(loadRankScorer(context.path(spec.path)));
    return rank({
      id: context.name,
      ...(o.model ? { model: await context.model(o.model, "model"), samples: o.samples } : { models }),
      sampleTemperature: o.sampleTemperature,
      ranker,
      concurrency: o.concurrency,
      minSuccesses: o.minSuccesses,
    });
  },
});
