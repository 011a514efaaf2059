/** The `speculative` strategy's policy definition (token-level: llama-cpp models of the policy, same vocabulary). */
import { z } from "zod";
import { defineStrategy, modelRef } from "../definition.js";
import { speculative } from "./index.js";

export const speculativeDefinition = defineStrategy({
  kind: "speculative",
  options: z
    .object({
      draft: modelRef,
      target: modelRef,
      /** Draft tokens per target evaluation (initial, when adaptive). */
      gamma: z.number().int().min(1).max(64).optional(),
      adaptive: z.boolean().optional(),
      minGamma: z.number().int().min(1).optional(),
      maxGamma: z.number().int().min(1).optional(),
    })
    .strict(),
  references: (o) => [o.draft, o.target],
  async build(o, context) {
    return speculative({
      id: context.name,
      draft: await context.logits(o.draft, "draft"),
      target: await context.logits(o.target, "target"),
      gamma: o.gamma,
      adaptive: o.adaptive,
      minGamma: o.minGamma,
      maxGamma: o.maxGamma,
    });
  },
});
