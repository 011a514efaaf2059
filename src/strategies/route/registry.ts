/**
 * Router registry: turns a serialized router (`router.json`, `{ "kind": …, … }`) back into a
 * `Router`. Each kind registers a loader here; `loadRouterFile` reads one from disk.
 *
 * Errors: `TandemError("invalid_policy")` for an unknown kind, unreadable file or bad JSON.
 */
import { readFileSync } from "node:fs";
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

/** Router from a `router.json` file on disk. */
export function loadRouterFile(path: string): Router {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (error) {
    throw new TandemError("invalid_policy", `Cannot read router file ${path}: ${(error as Error).message}`, { cause: error });
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new TandemError("invalid_policy", `Router file ${path} is not valid JSON: ${(error as Error).message}`, { cause: error });
  }
  if (typeof parsed !== "object" || parsed === null || typeof (parsed as RouterFile).kind !== "string") {
    throw new TandemError("invalid_policy", `Router file ${path} must be a JSON object with a string 'kind'`);
  }
  return loadRouter(parsed as RouterFile);
}
