/**
 * The `guard` strategy's policy definition: options schema and builder (see ../registry.ts).
 *
 * The cascade's judge is a model of the policy, named in `judge.model` and resolved like any
 * other reference (`context.model`): a local GGUF, a `tandem serve-model` sidecar, a Llama Guard
 * served by vLLM or llama.cpp behind `provider: openai-compatible`, even a strategy. It is called
 * with the judge prompt of `judge.promptStyle` (see src/safety/remote-judge.ts):
 *
 *     models:
 *       llama-guard: { provider: openai-compatible, baseURL: "http://127.0.0.1:8000/v1", model: meta-llama/Llama-Guard-3-1B, location: edge, timeoutMs: 5000, maxRetries: 0 }
 *     strategies:
 *       safe: { kind: guard, model: cloud, judge: { model: llama-guard, band: [0.2, 0.8], timeoutMs: 5000, promptStyle: llama-guard } }
 *
 * A judge reads the screened messages as they are (private values included), so a judge model
 * whose `location` is `cloud` is refused unless `judge.allowCloud: true`.
 */
import { z } from "zod";
import { TandemError } from "../../core/errors.js";
import { modelJudge } from "../../safety/remote-judge.js";
import { defineStrategy, modelRef } from "../definition.js";
import { guard } from "./index.js";

const threshold = z.union([z.number().min(0).max(1), z.literal(false)]);

const judgeOptions = z
  .object({
    /** The judge: a model (or strategy) of the policy, called with the judge prompt. */
    model: modelRef,
    /** Stage-one (classifier) scores in [low, high] go to the judge. @default [0.2, 0.8] */
    band: z
      .tuple([z.number().min(0).max(1), z.number().min(0).max(1)])
      .refine(([low, high]) => low <= high, "band: low must not exceed high")
      .optional(),
    /** The most one verdict may take, ms; past it the request is blocked. @default 15000 */
    timeoutMs: z.number().int().min(1).optional(),
    /** `llama-guard` (a Llama Guard model with its own chat template) or `json` (an instruct model). @default llama-guard */
    promptStyle: z.enum(["llama-guard", "json"]).optional(),
    /** Completion limit of a verdict, tokens. @default 24 (llama-guard), 64 (json) */
    maxTokens: z.number().int().min(1).max(1024).optional(),
    /** Allow a judge model whose location is `cloud` (it receives the screened text). @default false */
    allowCloud: z.boolean().optional(),
  })
  .strict();

export const guardDefinition = defineStrategy({
  kind: "guard",
  options: z
    .object({
      /** The guarded model or strategy. */
      model: modelRef,
      input: z
        .union([
          z.literal(false),
          z.object({ harm: threshold.optional(), injection: threshold.optional(), scope: z.enum(["last-user", "all"]).optional(), injectionDetectorRoles: z.array(z.enum(["user", "tool", "assistant"])).optional() }).strict(),
        ])
        .optional(),
      output: z.union([z.literal(false), z.object({ harm: threshold.optional(), placeholders: z.boolean().optional(), secrets: z.boolean().optional() }).strict()]).optional(),
      /** Guard classifier file (default models/guard.json). */
      classifier: z.string().optional(),
      /** Injection detector file, or false (default models/injection.json when it exists), applied to tool results. */
      injectionDetector: z.union([z.string(), z.literal(false)]).optional(),
      /** The cascade's second stage: a judge for the uncertain band of the input harm score. */
      judge: judgeOptions.optional(),
      onBlock: z.enum(["error", "refusal"]).optional(),
      refusalMessage: z.string().optional(),
    })
    .strict(),
  references: (o) => [o.model, ...(o.judge ? [o.judge.model] : [])],
  async build(o, context) {
    let judge;
    if (o.judge) {
      const judgeModel = await context.model(o.judge.model, "judge.model");
      if (judgeModel.location === "cloud" && o.judge.allowCloud !== true)
        throw new TandemError(
          "invalid_policy",
          `strategies.${context.name}.judge.model: '${o.judge.model}' is a cloud model, and the judge reads the screened messages with their private values; set location: edge on it, or judge.allowCloud: true`,
        );
      judge = modelJudge({ model: judgeModel, promptStyle: o.judge.promptStyle, maxTokens: o.judge.maxTokens });
    }
    return guard({
      id: context.name,
      model: await context.model(o.model, "model"),
      input: o.input,
      output: o.output,
      classifier: o.classifier ? context.path(o.classifier) : undefined,
      injectionDetector: typeof o.injectionDetector === "string" ? context.path(o.injectionDetector) : o.injectionDetector,
      judge,
      judgeBand: o.judge?.band,
      judgeTimeoutMs: o.judge?.timeoutMs,
      onBlock: o.onBlock,
      refusalMessage: o.refusalMessage,
    });
  },
});
