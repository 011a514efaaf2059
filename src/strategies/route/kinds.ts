/**
 * Router kinds: turns a serialized router (`{ "kind": …, … }`) back into a `Router`. Each kind
 * registers a loader here. No file access, so it also runs in a browser (`tandem/browser`, e.g.
 * with a router.json the page fetched); `registry.ts` adds `loadRouterFile` (node:fs).
 *
 * Errors: `TandemError("invalid_policy")` for an unknown kind.
 */
import { TandemError } from "../../core/errors.js";
import type { Router, RouterFile } from "./router.js";
import { HeuristicRouter } from "./routers/heuristic.js";
import { RandomRouter } from "./routers/random.js";
import { KnnRouter } from "./routers/knn.js";
import { MfRouter } from "./routers/mf.js";
import { TfidfLrRouter } from "./routers/tfidf-lr.js";

/** Builds a router from its JSON form. */
export type RouterLoader = (file: RouterFile) => Router;

const loaders = new Map<string, RouterLoader>([
  ["heuristic", HeuristicRouter.fromJSON],
  ["random", RandomRouter.fromJSON],
  ["tfidf-lr", TfidfLrRouter.fromJSON],
  ["knn", KnnRouter.fromJSON],
  ["mf", MfRouter.fromJSON],
]);

/** Adds (or replaces) the loader of a router kind. */
export function registerRouterKind(kind: string, loader: RouterLoader): void {
  loaders.set(kind, loader);
}

/** Kinds that can be loaded. */
export function routerKinds(): string[] {
  return [...loaders.keys()].sort();
}

/** Router from its JSON form. Throws `invalid_policy` for unknown kinds. */
export function loadRouter(file: RouterFile): Router {
  const loader = loaders.get(file.kind);
  if (!loader) {
    throw new TandemError("invalid_policy", `Unknown router kind '${file.kind}'; known kinds: ${routerKinds().join(", ")}`);
  }
  return loader(file);
}
