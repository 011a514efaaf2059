/** The `verify` strategy's policy definition: options schema and builder (see ../registry.ts, ./index.ts). */
import { z } from "zod";
import { TandemError } from "../../core/errors.js";
import { defineStrategy, modelRef } from "../definition.js";
import { verify } from "./index.js";

export const verifyDefinition = defineStrategy({
  kind: "verify",
  options: z
    .object({
      /** The model whose answers are checked. */
      model: modelRef,
      /** The verifier, a small model (AutoMix's few-shot self-verification prompt). */
      verifier: modelRef,
      /** Unverified when P(correct) < threshold. Default 0.5. */
      threshold: z.number().min(0).max(1).optional(),
      /** `mark` (default): serve and mark the answer unverified; `escalate`: send the request to `escalateTo`. */
      onUnverified: z.enum(["mark", "escalate"]).optional(),
      /** The stronger model (required with `onUnverified: escalate`). */
      escalateTo: modelRef.optional(),
      /** k verifier samples. Default 8. */
      samples: z.number().int().min(1).max(32).optional(),
      /** Verifier sampling temperature. Default 1.0. */
      temperature: z.number().min(0).max(2).optional(),
      /** Completion-token limit per verifier sample. Default 128. */
      maxTokens: z.number().int().min(1).max(4096).optional(),
      /** Unparseable verifier samples: left out of P(correct) (`skip`, default, AutoMix) or counted `incorrect`. */
      unparseable: z.enum(["skip", "incorrect"]).optional(),
    })
    .strict(),
  references: (o) => [o.model, o.verifier, ...(o.escalateTo ? [o.escalateTo] : [])],
  // no `observes`: a marked answer never escalates, so its decisions would label the model as good
  // whatever the verdict; `tandem traces export` takes no labels or pairs from this strategy
  async build(o, context) {
    if (o.onUnverified === "escalate" && !o.escalateTo) throw new TandemError("invalid_policy", `strategies.${context.name}.escalateTo: required when onUnverified is 'escalate'`);
    if (o.escalateTo && o.onUnverified !== "escalate") throw new TandemError("invalid_policy", `strategies.${context.name}.escalateTo: only used with onUnverified: escalate`);
    return verify({
      id: context.name,
      model: await context.model(o.model, "model"),
      verifier: await context.model(o.verifier, "verifier"),
      ...(o.escalateTo ? { escalateTo: await context.model(o.escalateTo, "escalateTo") } : {}),
      threshold: o.threshold,
      onUnverified: o.onUnverified,
      samples: o.samples,
      temperature: o.temperature,
      maxTokens: o.maxTokens,
      unparseable: o.unparseable,
    });
  },
});
