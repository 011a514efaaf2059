/** The `privacy` strategy's policy definition: options schema and builder (see ../registry.ts). */
import { z } from "zod";
import { createDetector } from "../../pii/index.js";
import type { EntityType } from "../../pii/types.js";
import { defineStrategy, modelRef } from "../definition.js";
import { privacy } from "./index.js";

export const privacyDefinition = defineStrategy({
  kind: "privacy",
  options: z
    .object({
      /** The model requests are meant for; redaction applies when it is a cloud model. */
      remote: modelRef,
      /** Edge model for `local-only` and (optionally) detector failures. */
      local: modelRef.optional(),
      mode: z.enum(["redact", "local-only", "block"]).default("redact"),
      /** Entity types to hide (default: all detected). */
      entities: z.array(z.string()).optional(),
      /** Spans scoring below this are ignored, in [0, 1]. */
      minScore: z.number().min(0).max(1).optional(),
      /** Detection budget per request, ms; exceeding it fails closed. */
      detectorTimeoutMs: z.number().int().min(1).optional(),
      onDetectorError: z.enum(["block", "local"]).optional(),
      redactForEdge: z.boolean().optional(),
      /** The PII tagger model file (default models/privacy-tagger.json), or false for patterns only. */
      tagger: z.union([z.string(), z.literal(false)]).optional(),
    })
    .strict(),
  references: (o) => (o.local ? [o.remote, o.local] : [o.remote]),
  async build(o, context) {
    return privacy({
      id: context.name,
      detector: createDetector({ tagger: o.tagger === undefined ? undefined : o.tagger === false ? false : context.path(o.tagger) }),
      remote: await context.model(o.remote, "remote"),
      local: o.local ? await context.model(o.local, "local") : undefined,
      mode: o.mode,
      entities: o.entities as EntityType[] | undefined,
      minScore: o.minScore,
      detectorTimeoutMs: o.detectorTimeoutMs,
      onDetectorError: o.onDetectorError,
      redactForEdge: o.redactForEdge,
    });
  },
});
