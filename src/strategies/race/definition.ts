/** The `race` strategy's policy definition (the worked example of docs/extending.md). */
import { z } from "zod";
import { defineStrategy, modelRef } from "../definition.js";
import { race } from "./index.js";

export const raceDefinition = defineStrategy({
  kind: "race",
  options: z.object({ models: z.array(modelRef).min(2) }).strict(),
  references: (o) => o.models,
  async build(o, context) {
    const models = [];
    for (const [i, m] of o.models.entries()) models.push(await context.model(m, `models.${i}`));
    return race({ id: context.name, models });
  },
});
