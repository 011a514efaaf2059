/** The `route` strategy's policy definition: options schema and builder (see ../registry.ts). */
import { z } from "zod";
import { defineStrategy, modelRef } from "../definition.js";
import { sharedMemoryStore } from "../../store/memory.js";
import { userCalibration } from "../personalize/calibration.js";
import { route } from "./index.js";
import { loadRouter, loadRouterFile } from "./registry.js";
import type { RouterFile } from "./router.js";

/** A router: `{ kind, ...settings }` (see `routerKinds()`) or `{ file }` (a trained router, relative to the policy). */
const routerSpec = z.union([z.object({ kind: z.string().min(1) }).passthrough(), z.object({ file: z.string().min(1) }).strict()]);

export const routeDefinition = defineStrategy({
  kind: "route",
  options: z
    .object({
      weak: modelRef,
      strong: modelRef,
      router: routerSpec.default({ kind: "heuristic" }),
      /** Router-score threshold in [0, 1]: score > threshold → strong (with strongShare: until minObservations). */
      threshold: z.number().min(0).max(1),
      /** Online calibration: share of requests in [0, 1] for the strong model; the threshold follows the running score distribution. */
      strongShare: z.number().min(0).max(1).optional(),
      /** Scores observed before the online threshold is used. */
      minObservations: z.number().int().min(1).optional(),
      /** Per-user calibration from each user's feedback (docs/personalization.md): the personal store file, prior strength κ, largest offset Δ. */
      userCalibration: z
        .object({ store: z.string().min(1).default(".tandem/personal.sqlite"), priorStrength: z.number().positive().optional(), maxOffset: z.number().min(0).max(1).optional() })
        .strict()
        .optional(),
    })
    .strict(),
  references: (o) => [o.weak, o.strong],
  observes: "chosen",
  async build(o, context) {
    const router = "file" in o.router ? loadRouterFile(context.path(o.router.file as string)) : loadRouter(o.router as RouterFile);
    return route({
      id: context.name,
      weak: await context.model(o.weak, "weak"),
      strong: await context.model(o.strong, "strong"),
      router,
      threshold: o.threshold,
      strongShare: o.strongShare,
      minObservations: o.minObservations,
      stats: context.shared.routerStats,
      userThreshold: o.userCalibration ? userCalibration(sharedMemoryStore(context.path(o.userCalibration.store)), o.userCalibration) : undefined,
    });
  },
});
