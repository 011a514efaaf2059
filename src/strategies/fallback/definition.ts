/** The `fallback` strategy's policy definition: options schema and builder (see ../registry.ts). */
import { z } from "zod";
import type { Model } from "../../core/model.js";
import { defineStrategy, modelRef } from "../definition.js";
import { fallback } from "./index.js";

export const fallbackDefinition = defineStrategy({
  kind: "fallback",
  options: z
    .object({
      /** The preferred model or strategy (typically the cloud model). */
      primary: modelRef,
      /** Tried in order when the primary fails; the last is always tried (typically the edge SLM). */
      fallbacks: z.array(modelRef).min(1),
      /** Retries of transient primary failures. */
      retries: z.number().int().min(0).max(10).optional(),
      /** Base backoff between retries, ms (exponential with jitter). */
      retryBackoffMs: z.number().int().min(0).optional(),
      /** Circuit breaker: open after N consecutive failures, probe again after cooldownMs. */
      breaker: z.union([z.literal(false), z.object({ failureThreshold: z.number().int().min(1), cooldownMs: z.number().int().min(0) }).strict()]).optional(),
      /** After the first streamed token: "error" (default), "continue" (append the fallback's answer) or "buffer". */
      midStream: z.enum(["error", "continue", "buffer"]).optional(),
      firstTokenTimeoutMs: z.number().int().min(1).optional(),
      idleTimeoutMs: z.number().int().min(1).optional(),
    })
    .strict(),
  references: (o) => [o.primary, ...o.fallbacks],
  async build(o, context) {
    const fallbacks: Model[] = [];
    for (const [i, f] of o.fallbacks.entries()) fallbacks.push(await context.model(f, `fallbacks.${i}`));
    const primary = await context.model(o.primary, "primary");
    return fallback({
      id: context.name,
      primary,
      fallbacks,
      retries: o.retries,
      retryBackoffMs: o.retryBackoffMs,
      breaker: o.breaker,
      breakerFactory: context.shared.breakerFactory,
      midStream: o.midStream,
      firstTokenTimeoutMs: o.firstTokenTimeoutMs,
      idleTimeoutMs: o.idleTimeoutMs,
    });
  },
});
