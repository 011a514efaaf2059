/**
 * `tandem data import` formats: one entry point over the three importers.
 */
import { TandemError } from "../core/errors.js";
import type { ReplayRecord } from "./dataset.js";
import { importMoT } from "./import-mot.js";
import { importRouteLLM, type CostOptions, type ImportStats } from "./import-routellm.js";
import { importRouterBench } from "./import-routerbench.js";

/** Source formats `tandem data import --format` accepts. */
export const IMPORT_FORMATS = ["routellm", "routerbench", "mot"] as const;
export type ImportFormat = (typeof IMPORT_FORMATS)[number];

/**
 * Imports `paths` (files or folders) of `format`. `options`: tokenizers and prices for the
 * importers that compute costs from texts (RouteLLM, MoT; RouterBench keeps its recorded costs).
 * Throws `invalid_request` for an unknown format.
 */
export function importOutcomes(format: string, paths: readonly string[], options: CostOptions = {}): { records: ReplayRecord[]; stats: ImportStats } {
  switch (format) {
    case "routellm":
      return importRouteLLM(paths, options);
    case "routerbench":
      return importRouterBench(paths);
    case "mot":
      return importMoT(paths, options);
    default:
      throw new TandemError("invalid_request", `Unknown import format '${format}'; known: ${IMPORT_FORMATS.join(", ")}`);
  }
}
