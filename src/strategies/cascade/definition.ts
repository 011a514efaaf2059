/** The `cascade` strategy's policy definition: options schema and builder (see ../registry.ts). */
import { z } from "zod";
import { defineStrategy, modelRef } from "../definition.js";
import { cascade } from "./index.js";

export const cascadeDefinition = defineStrategy({
  kind: "cascade",
  options: z
    .object({
      weak: modelRef,
      strong: modelRef,
      signal: z.enum(["mean-logprob", "min-logprob", "self-consistency"]),
      /** Escalate when signal < threshold (nats/token, nats, or vote share). */
      threshold: z.number(),
      samples: z.number().int().min(2).max(32).optional(),
      sampleTemperature: z.number().min(0).max(2).optional(),
    })
    .strict(),
  references: (o) => [o.weak, o.strong],
  observes: "both",
  async build(o, context) {
    return cascade({
      id: context.name,
      weak: await context.model(o.weak, "weak"),
      strong: await context.model(o.strong, "strong"),
      signal: o.signal,
      threshold: o.threshold,
      samples: o.samples,
      sampleTemperature: o.sampleTemperature,
    });
  },
});
