/** The logit-fusion strategies' policy definitions (token-level: llama-cpp models of the policy, same vocabulary). */
import { z } from "zod";
import { defineStrategy, modelRef } from "../definition.js";
import { contrastive, ensemble, proxyTuning } from "./index.js";

export const proxyTuningDefinition = defineStrategy({
  kind: "proxy-tuning",
  options: z.object({ base: modelRef, expert: modelRef, antiExpert: modelRef, alpha: z.number().optional() }).strict(),
  references: (o) => [o.base, o.expert, o.antiExpert],
  async build(o, context) {
    return proxyTuning({
      id: context.name,
      base: await context.logits(o.base, "base"),
      expert: await context.logits(o.expert, "expert"),
      antiExpert: await context.logits(o.antiExpert, "antiExpert"),
      alpha: o.alpha,
    });
  },
});

export const contrastiveDefinition = defineStrategy({
  kind: "contrastive",
  options: z.object({ expert: modelRef, amateur: modelRef, alpha: z.number().gt(0).max(1).optional(), beta: z.number().min(0).optional() }).strict(),
  references: (o) => [o.expert, o.amateur],
  async build(o, context) {
    return contrastive({ id: context.name, expert: await context.logits(o.expert, "expert"), amateur: await context.logits(o.amateur, "amateur"), alpha: o.alpha, beta: o.beta });
  },
});

export const ensembleDefinition = defineStrategy({
  kind: "ensemble",
  options: z.object({ members: z.array(z.object({ model: modelRef, weight: z.number().min(0).optional() }).strict()).min(2) }).strict(),
  references: (o) => o.members.map((m) => m.model),
  async build(o, context) {
    const members = [];
    for (const [i, m] of o.members.entries()) members.push({ model: await context.logits(m.model, `members.${i}.model`), weight: m.weight });
    return ensemble({ id: context.name, members });
  },
});
