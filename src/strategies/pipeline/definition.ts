/** The `compression` strategy's policy definition: SLM prompt compression in front of any model. */
import { z } from "zod";
import { defineStrategy, modelRef } from "../definition.js";
import { promptCompression } from "./index.js";

export const compressionDefinition = defineStrategy({
  kind: "compression",
  options: z
    .object({
      /** A llama-cpp model of the policy whose surprisal ranks tokens. */
      compressor: modelRef,
      /** Any model or strategy that receives the compressed prompt. */
      model: modelRef,
      /** Share of tokens to keep, in (0, 1]. */
      rate: z.number().gt(0).max(1).optional(),
      minTokens: z.number().int().min(0).optional(),
    })
    .strict(),
  references: (o) => [o.compressor, o.model],
  async build(o, context) {
    return promptCompression({ id: context.name, compressor: await context.logits(o.compressor, "compressor"), model: await context.model(o.model, "model"), rate: o.rate, minTokens: o.minTokens });
  },
});
