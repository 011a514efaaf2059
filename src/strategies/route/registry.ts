/**
 * Router registry: turns a serialized router (`router.json`, `{ "kind": …, … }`) back into a
 * `Router`. Each kind registers a loader here; `loadRouterFile` reads one from disk.
 *
 * Errors: `TandemError("invalid_policy")` for an unknown kind, unreadable file or bad JSON.
 */
import { readFileSync } from "node:fs";
import { TandemError } from "../../core/errors.js";
import type { Router, RouterFile } from "./router.js";
import { loadRouter } from "./kinds.js";

// The kinds table (browser-safe) lives in kinds.ts; this module adds reading router files.
export { loadRouter, registerRouterKind, routerKinds, type RouterLoader } from "./kinds.js";

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
