/**
 * The strategy registry: every strategy `kind` the policy knows, each with its options schema
 * and builder (a {@link StrategyDefinition}, exported by `src/strategies/<folder>/definition.ts`).
 * The policy schema validates `strategies.<name>` by looking up its `kind` here, and the builder
 * builds it through the definition — so adding a built-in strategy is one folder plus one line in
 * {@link BUILT_IN}, and a library user adds one at run time with {@link registerStrategy}
 * (see docs/extending.md).
 */
import { TandemError } from "../core/errors.js";
import { cascadeDefinition } from "./cascade/definition.js";
import type { StrategyDefinition } from "./definition.js";
import { fallbackDefinition } from "./fallback/definition.js";
import { contrastiveDefinition, ensembleDefinition, proxyTuningDefinition } from "./fusion/definition.js";
import { guardDefinition } from "./guard/definition.js";
import { compressionDefinition } from "./pipeline/definition.js";
import { classifyDefinition, formatDefinition, rewriteDefinition } from "./pipeline/stage-definitions.js";
import { personalizeDefinition } from "./personalize/definition.js";
import { privacyDefinition } from "./privacy/definition.js";
import { raceDefinition } from "./race/definition.js";
import { rankDefinition } from "./rank/definition.js";
import { routeDefinition } from "./route/definition.js";
import { speculativeDefinition } from "./speculative/definition.js";
import { verifyDefinition } from "./verify/definition.js";

export { defineStrategy, modelRef, type BuildContext, type StrategyDefinition } from "./definition.js";

/** The built-in strategies, one line each. */
const BUILT_IN: readonly StrategyDefinition[] = [
  fallbackDefinition,
  routeDefinition,
  cascadeDefinition,
  privacyDefinition,
  guardDefinition,
  speculativeDefinition,
  proxyTuningDefinition,
  contrastiveDefinition,
  ensembleDefinition,
  compressionDefinition,
  classifyDefinition,
  rewriteDefinition,
  formatDefinition,
  raceDefinition,
  rankDefinition,
  verifyDefinition,
  personalizeDefinition,
];

const definitions = new Map<string, StrategyDefinition<any>>();

/**
 * Adds a strategy kind, usable in policies parsed from now on (in this process).
 * Errors: `TypeError` when the definition lacks a kind, an options schema, `build` or
 * `references`; `TandemError("invalid_policy")` when the kind is already registered.
 */
export function registerStrategy(definition: StrategyDefinition<any>): void {
  if (typeof definition?.kind !== "string" || !/^[a-z][a-z0-9-]*$/.test(definition.kind)) {
    throw new TypeError(`registerStrategy: kind must be lower-case letters, digits and '-', got ${JSON.stringify(definition?.kind)}`);
  }
  if (typeof definition.options?.safeParse !== "function" || typeof definition.build !== "function" || typeof definition.references !== "function") {
    throw new TypeError(`registerStrategy('${definition.kind}'): needs a zod object 'options', 'build(options, context)' and 'references(options)'`);
  }
  if (definitions.has(definition.kind)) throw new TandemError("invalid_policy", `strategy kind '${definition.kind}' is already registered`);
  definitions.set(definition.kind, definition);
}

/** The definition of `kind`, or undefined when no such kind is registered. */
export function strategyDefinition(kind: string): StrategyDefinition<any> | undefined {
  return definitions.get(kind);
}

/** The registered kinds, built-in first, in registration order. */
export function strategyKinds(): string[] {
  return [...definitions.keys()];
}

/**
 * The decision `strategy` values by what they observed (see {@link StrategyDefinition.observes}),
 * for `exportTraces` (src/store/export.ts), which knows no strategy names itself.
 */
export function decisionObservations(): { both: string[]; chosen: string[] } {
  const all = [...definitions.values()];
  return { both: all.filter((d) => d.observes === "both").map((d) => d.kind), chosen: all.filter((d) => d.observes === "chosen").map((d) => d.kind) };
}

for (const definition of BUILT_IN) registerStrategy(definition);
