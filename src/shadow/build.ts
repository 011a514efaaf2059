/**
 * Builds the shadow evaluators of a policy's `shadow` section (schema.ts) over its built models,
 * checking references and privacy:
 *
 * - the key is a served name; `strategy` is a strategy declared in the policy (not the served
 *   name itself), so the candidate runs with its own privacy wrapping, guards and fallbacks;
 * - `judge` is a model or strategy of the policy;
 * - **privacy**: when the served name is private (its strategy tree has a `privacy` strategy),
 *   the candidate and the judge must each be private too or run on the edge (`location: edge`) —
 *   the shadow never sends a request to a cloud model that the primary path would have shown only
 *   placeholders. (The judge reads the request and both answers.)
 *
 * A `route` candidate gets a {@link RoutePreview}: its router (loaded from the same spec) and
 * fixed threshold decide without generating. A route with online calibration (`strongShare`) is
 * previewed at its fixed `threshold`: the online threshold lives in the served strategy's state.
 */
import { TandemError } from "../core/errors.js";
import type { Model } from "../core/model.js";
import { seededRandom } from "../core/random.js";
import type { Policy } from "../policy/schema.js";
import { loadRouter, loadRouterFile } from "../strategies/route/registry.js";
import type { RouterFile } from "../strategies/route/router.js";
import { strategyDefinition } from "../strategies/registry.js";
import type { ShadowStore } from "../store/shadow.js";
import { ShadowEvaluator, type RoutePreview, type ShadowEvent } from "./evaluator.js";
import { routePreview as previewOf } from "./route-preview.js";
import { modelPairwiseJudge } from "./judge.js";
import { bernoulliSampler } from "./sampler.js";
import type { ShadowSpec } from "./schema.js";

/** The running shadow evaluations of a gateway. */
export interface ShadowRuntime {
  /** By shadowed served name. */
  evaluators: Map<string, ShadowEvaluator>;
  store: ShadowStore;
  /** The pipeline's hook: hands an answered request to its served name's evaluator (if any). Never throws. */
  onAnswer(event: ShadowEvent): void;
  /** Resolves when no evaluation runs. */
  idle(): Promise<void>;
  /** Stops every evaluator (aborting running evaluations after `graceMs`, default 0), then closes the store. */
  close(graceMs?: number): Promise<void>;
}

/** What {@link buildShadow} reads of the built policy. */
export interface ShadowBuildParts {
  policy: Pick<Policy, "strategies">;
  all: ReadonlyMap<string, Model>;
  served: ReadonlyMap<string, Model>;
  privateModels: ReadonlySet<string>;
}

/**
 * Builds the evaluators. `path` resolves router files like the policy's. Errors:
 * `invalid_policy` naming `shadow.<name>.<field>` for a bad reference or a privacy violation; the
 * router loader's for a bad router file.
 */
export function buildShadow(section: Readonly<Record<string, ShadowSpec>>, parts: ShadowBuildParts, options: { store: ShadowStore; path: (p: string) => string }): ShadowRuntime {
  const evaluators = new Map<string, ShadowEvaluator>();
  const fail = (name: string, field: string, message: string) => new TandemError("invalid_policy", `shadow.${name}${field ? `.${field}` : ""}: ${message}`);
  for (const [name, spec] of Object.entries(section)) {
    if (!parts.served.has(name)) throw fail(name, "", `'${name}' is not a served model or strategy (served: ${[...parts.served.keys()].join(", ")})`);
    if (spec.strategy === name) throw fail(name, "strategy", "the candidate must differ from the served name");
    const candidate = parts.all.get(spec.strategy);
    if (!parts.policy.strategies[spec.strategy] || !candidate) {
      throw fail(name, "strategy", `unknown strategy '${spec.strategy}' (the candidate must be a strategy declared in this policy; known: ${Object.keys(parts.policy.strategies).join(", ") || "none"})`);
    }
    const judgeModel = spec.judge === undefined ? undefined : parts.all.get(spec.judge);
    if (spec.judge !== undefined && !judgeModel) throw fail(name, "judge", `unknown model or strategy '${spec.judge}'`);
    if (parts.privateModels.has(name)) {
      const allowed = (ref: string, m: Model) => parts.privateModels.has(ref) || m.location === "edge";
      if (!allowed(spec.strategy, candidate)) throw fail(name, "strategy", `'${name}' is private (privacy strategy): the candidate '${spec.strategy}' must be private too or run on the edge`);
      if (spec.judge !== undefined && !allowed(spec.judge, judgeModel!)) throw fail(name, "judge", `'${name}' is private (privacy strategy): the judge '${spec.judge}' must be private too or run on the edge`);
    }
    const seed = spec.seed;
    evaluators.set(
      name,
      new ShadowEvaluator({
        model: name,
        candidateName: spec.strategy,
        candidate,
        route: routePreview(spec.strategy, parts, options.path),
        judge: judgeModel ? modelPairwiseJudge(judgeModel, { random: seededRandom((seed ^ 0x5bd1e995) >>> 0) }) : undefined,
        store: options.store,
        sampler: bernoulliSampler(spec.sample, seededRandom(seed)),
        maxConcurrent: spec.maxConcurrent,
        explore: spec.explore,
        timeoutMs: spec.timeoutMs,
      }),
    );
  }
  return {
    evaluators,
    store: options.store,
    onAnswer(event) {
      evaluators.get(event.model)?.observe(event);
    },
    async idle() {
      await Promise.all([...evaluators.values()].map((e) => e.idle()));
    },
    async close(graceMs = 0) {
      await Promise.all([...evaluators.values()].map((e) => e.close(graceMs)));
      options.store.close();
    },
  };
}

/** The decision preview of a `route` strategy of the policy, or undefined for any other kind. */
function routePreview(name: string, parts: ShadowBuildParts, path: (p: string) => string): RoutePreview | undefined {
  const spec = parts.policy.strategies[name];
  if (spec?.kind !== "route") return undefined;
  const { kind, ...raw } = spec;
  const parsed = strategyDefinition(kind)!.options.safeParse(raw);
  if (!parsed.success) return undefined; // the builder already rejected it
  const o = parsed.data as { weak: string; strong: string; threshold: number; router: RouterFile | { file: string } };
  const weak = parts.all.get(o.weak);
  const strong = parts.all.get(o.strong);
  if (!weak || !strong) return undefined;
  const router = "file" in o.router ? loadRouterFile(path(o.router.file as string)) : loadRouter(o.router as RouterFile);
  return previewOf({ id: name, weak, strong, router, threshold: o.threshold });
}
