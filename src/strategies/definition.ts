/**
 * The shape of a strategy definition — what one strategy folder exports so that the policy can
 * validate its options and build it (see `registry.ts` for the list and docs/extending.md for a
 * walk-through). Kept apart from the registry so that definitions can import these types and
 * helpers without an import cycle through the registry's list.
 */
import { z } from "zod";
import type { Model } from "../core/model.js";
import type { SharedState } from "../core/ports.js";
import type { LocalLogitModel } from "../token-level/logit-model.js";

/** A reference to a model or strategy of the policy: a name of letters, digits and `. _ : / -`. */
export const modelRef = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._:/-]*$/, "a name of letters, digits and . _ : / -");

/** What a definition's `build` may ask of the policy being built. */
export interface BuildContext {
  /** This strategy's name in the policy (the served model name): use it as the model's `id`. */
  name: string;
  /**
   * Resolves a reference (a model or strategy name of the policy) to its Model, building the
   * strategy first when needed. `field` names the option (e.g. "weak", "fallbacks.0") for error
   * messages. Errors: `invalid_policy` — `strategies.<name>.<field>: unknown model or strategy 'x'`,
   * or a reference cycle.
   */
  model(ref: string, field: string): Promise<Model>;
  /**
   * A token-level handle on a `llama-cpp` model of the policy (loaded once per name). Errors:
   * `invalid_policy` when `ref` is not a llama-cpp model; `model_load_failed` for a bad GGUF.
   */
  logits(ref: string, field: string): Promise<LocalLogitModel>;
  /** Resolves a path relative to the policy file's directory (absolute paths unchanged). */
  path(p: string): string;
  /** Shared state (Redis-backed when the policy names one; else empty: in-process defaults). */
  shared: SharedState;
}

/**
 * One strategy kind. `options` is a strict zod object of the options *without* `kind`; the
 * policy validates `strategies.<name>` against it (error paths `strategies.<name>.<field>`), and
 * `build` receives the parsed (defaults applied) options.
 */
export interface StrategyDefinition<Schema extends z.ZodObject = z.ZodObject> {
  /** The policy `kind`, e.g. "route". */
  kind: string;
  /** The options schema (without `kind`), strict. */
  options: Schema;
  /** Builds the strategy's Model; references are resolved through `context.model`/`context.logits`. */
  build(options: z.infer<Schema>, context: BuildContext): Model | Promise<Model>;
  /** The model/strategy names the options reference (for reference checks, cycles and `privateModelsOf`). */
  references(options: z.infer<Schema>): string[];
  /**
   * Optional, for distillation export (src/store/export.ts): what this strategy's decisions
   * observed. `"both"` — the weak side answered before the decision (a cascade), so an escalation
   * pairs the strong answer over the discarded weak one and labels the weak model; `"chosen"` —
   * only the chosen side ran (a route): no label. Absent: the decisions are not used for labels.
   */
  observes?: "both" | "chosen";
}

/** Identity helper that keeps a definition's option types inferred from its schema. */
export function defineStrategy<Schema extends z.ZodObject>(definition: StrategyDefinition<Schema>): StrategyDefinition<Schema> {
  return definition;
}
