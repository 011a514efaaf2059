/**
 * Policy definitions of the pipeline stages `classify`, `rewrite` and `format` (the
 * `compression` stage's is in definition.ts). Each is one registry line in
 * src/strategies/registry.ts; docs/pipeline.md shows them in a policy.
 */
import { z } from "zod";
import { defineStrategy, modelRef } from "../definition.js";
import { slmClassifier, TfidfTextClassifier } from "./classifier.js";
import { classify } from "./classify.js";
import { structuredOutput } from "./format.js";
import { queryRewrite } from "./rewrite.js";

/** `classifier:` — a trained classifier file (`tandem`'s text-classifier JSON, relative to the policy) or a small model prompted with the labels. */
const classifierSpec = z.union([
  z.object({ file: z.string().min(1) }).strict(),
  z
    .object({
      kind: z.literal("slm"),
      model: modelRef,
      labels: z.array(z.string().min(1)).min(2),
      descriptions: z.record(z.string(), z.string()).optional(),
      fallback: z.string().min(1).optional(),
      mode: z.enum(["grammar", "text"]).optional(),
      maxTokens: z.number().int().min(1).optional(),
    })
    .strict(),
]);

export const classifyDefinition = defineStrategy({
  kind: "classify",
  options: z
    .object({
      classifier: classifierSpec,
      /** label → model or strategy name. */
      routes: z.record(z.string().min(1), modelRef).refine((r) => Object.keys(r).length > 0, "the route table needs at least one label"),
      /** The model for labels without a route, fallback labels and low-probability predictions. */
      default: modelRef,
      /** Predictions below this probability in [0, 1] go to `default`. */
      minProbability: z.number().min(0).max(1).optional(),
    })
    .strict(),
  references: (o) => [...new Set([...Object.values(o.routes), o.default, ...("model" in o.classifier ? [o.classifier.model] : [])])],
  observes: "chosen",
  async build(o, context) {
    const routes: Record<string, Awaited<ReturnType<typeof context.model>>> = {};
    for (const [label, ref] of Object.entries(o.routes)) routes[label] = await context.model(ref, `routes.${label}`);
    const c = o.classifier;
    if ("file" in c) {
      return classify({ id: context.name, classifier: TfidfTextClassifier.fromFile(context.path(c.file)), routes, default: await context.model(o.default, "default"), minProbability: o.minProbability });
    }
    const model = await context.model(c.model, "classifier.model");
    const classifier = slmClassifier({ model, labels: c.labels, descriptions: c.descriptions, fallback: c.fallback, mode: c.mode, maxTokens: c.maxTokens });
    return classify({ id: context.name, classifier, classifierModel: model, routes, default: await context.model(o.default, "default"), minProbability: o.minProbability });
  },
});

export const rewriteDefinition = defineStrategy({
  kind: "rewrite",
  options: z
    .object({
      /** The small (local) model that condenses the conversation. */
      rewriter: modelRef,
      /** The model that answers the standalone query. */
      model: modelRef,
      instruction: z.string().min(1).optional(),
      maxTokens: z.number().int().min(1).optional(),
    })
    .strict(),
  references: (o) => [o.rewriter, o.model],
  async build(o, context) {
    return queryRewrite({ id: context.name, rewriter: await context.model(o.rewriter, "rewriter"), model: await context.model(o.model, "model"), instruction: o.instruction, maxTokens: o.maxTokens });
  },
});

export const formatDefinition = defineStrategy({
  kind: "format",
  options: z
    .object({
      /** The model that answers. */
      model: modelRef,
      /** The small model that repairs under the schema's grammar (a llama-cpp model for the grammar guarantee). */
      repairer: modelRef.optional(),
      /** JSON schema used when a request carries no response_format. */
      schema: z.record(z.string(), z.unknown()).optional(),
      reask: z.boolean().optional(),
      instruct: z.boolean().optional(),
      repairMaxTokens: z.number().int().min(1).optional(),
      onInvalid: z.enum(["return", "error"]).optional(),
    })
    .strict(),
  references: (o) => [o.model, ...(o.repairer ? [o.repairer] : [])],
  async build(o, context) {
    return structuredOutput({
      id: context.name,
      model: await context.model(o.model, "model"),
      repairer: o.repairer ? await context.model(o.repairer, "repairer") : undefined,
      schema: o.schema,
      reask: o.reask,
      instruct: o.instruct,
      repairMaxTokens: o.repairMaxTokens,
      onInvalid: o.onInvalid,
    });
  },
});
