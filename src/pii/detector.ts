/**
 * Tandem's edge PII detector: pattern recognizers with maintained validators for structured
 * types, our BIO perceptron tagger for names, addresses, organisations and the like, and an
 * optional SLM extraction pass. Spans from all parts are merged by score (see `resolveOverlaps`).
 */
import path from "node:path";
import { PerceptronTagger, type TaggerFile } from "./tagger.js";
import { cachedJsonLoader, repoRoot } from "../core/files.js";
import type { PiiDetector } from "./types.js";
import { detectorWithTagger, type DetectorCoreOptions } from "./detect.js";

// The detector itself (no file access, browser-safe) lives in detect.ts; this module adds the tagger file loaders.
export { PATTERN_TYPES, detectorWithTagger, createDetectorFromFile, type DetectorCoreOptions } from "./detect.js";

/** Options of {@link createDetector}. */
export interface DetectorOptions extends DetectorCoreOptions {
  /** The tagger: an instance, a parsed file, a path to a JSON file, or `false` for none. @default models/privacy-tagger.json */
  tagger?: PerceptronTagger | TaggerFile | string | false;
}

/** Path of the shipped tagger model. */
export function defaultTaggerPath(): string {
  return path.join(repoRoot(), "models", "privacy-tagger.json");
}

const loadTaggerFile = cachedJsonLoader((file: TaggerFile) => PerceptronTagger.fromJSON(file));

/** Loads (and caches per path) a tagger JSON file. Throws `Error` when missing or malformed. */
export function loadTagger(file: string = defaultTaggerPath()): PerceptronTagger {
  return loadTaggerFile(file);
}

/**
 * Builds the combined detector (see {@link detectorWithTagger} for time bounds and fail-closed
 * behaviour), reading the tagger from `options.tagger` when it is a path (default
 * models/privacy-tagger.json). Throws `Error` when the tagger file is missing or malformed.
 * @example const detector = createDetector({ entities: ["PERSON", "EMAIL_ADDRESS"] });
 */
export function createDetector(options: DetectorOptions = {}): PiiDetector {
  const tagger =
    options.tagger === false
      ? undefined
      : options.tagger instanceof PerceptronTagger
        ? options.tagger
        : typeof options.tagger === "object"
          ? PerceptronTagger.fromJSON(options.tagger)
          : loadTagger(options.tagger ?? defaultTaggerPath());
  return detectorWithTagger(tagger, options);
}
