/** The `guard` strategy's policy definition: options schema and builder (see ../registry.ts). */
import { z } from "zod";
import { defineStrategy, modelRef } from "../definition.js";
import { guard } from "./index.js";

const threshold = z.union([z.number().min(0).max(1), z.literal(false)]);

export const guardDefinition = defineStrategy({
  kind: "guard",
  options: z
    .object({
      /** The guarded model or strategy. */
      model: modelRef,
      input: z.union([z.literal(false), z.object({ harm: threshold.optional(), injection: threshold.optional(), scope: z.enum(["last-user", "all"]).optional() }).strict()]).optional(),
      output: z.union([z.literal(false), z.object({ harm: threshold.optional(), placeholders: z.boolean().optional(), secrets: z.boolean().optional() }).strict()]).optional(),
      /** Guard classifier file (default models/guard.json). */
      classifier: z.string().optional(),
      onBlock: z.enum(["error", "refusal"]).optional(),
      refusalMessage: z.string().optional(),
    })
    .strict(),
  references: (o) => [o.model],
  async build(o, context) {
    return guard({
      id: context.name,
      model: await context.model(o.model, "model"),
      input: o.input,
      output: o.output,
      classifier: o.classifier ? context.path(o.classifier) : undefined,
      onBlock: o.onBlock,
      refusalMessage: o.refusalMessage,
    });
  },
});
