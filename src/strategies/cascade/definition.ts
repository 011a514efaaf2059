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
      signal: z.enum(["mean-logprob", "min-logprob", "self-consistency", "verify"]),
      /** Escalate when signal < threshold (nats/token, nats, vote share, or P(correct)). */
      threshold: z.number(),
      samples: z.number().int().min(2).max(32).optional(),
      sampleTemperature: z.number().min(0).max(2).optional(),
      /** `verify`: the verifier model (default: the weak model itself, AutoMix's self-verification). */
      verifier: modelRef.optional(),
      /** `verify`: completion-token limit per verifier sample (default 128). */
      verifierMaxTokens: z.number().int().min(1).max(4096).optional(),
      /** `verify`: unparseable verifier samples are left out of P(correct) (`skip`, AutoMix) or count as `incorrect`. */
      unparseable: z.enum(["skip", "incorrect"]).optional(),
    })
    .strict(),
  references: (o) => [o.weak, o.strong, ...(o.verifier ? [o.verifier] : [])],
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
      ...(o.verifier ? { verifier: await context.model(o.verifier, "verifier") } : {}),
      ...(o.verifierMaxTokens !== undefined || o.unparseable !== undefined ? { verification: { maxTokens: o.verifierMaxTokens, unparseable: o.unparseable } } : {}),
    });
  },
});
