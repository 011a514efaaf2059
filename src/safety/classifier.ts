/**
 * Tandem's small harmful-request classifier. Two model-file formats load:
 * - version 2 (`kind: "linear-text"`, task "harm", the shipped models/guard.json): logistic
 *   regression over character 3–5-grams of the de-obfuscated, entity-masked text, word 1–2-grams,
 *   structural features and (since issue #16, `features.roles`) harm-role and question-form
 *   indicators (src/safety/linear.ts, harm-roles.ts), class- and source-balanced, Platt-calibrated
 *   on a validation split, with the threshold chosen on that validation split; the file carries
 *   its training-data hash and its validation and test metrics.
 * - version 1 (`kind: "logreg-ngrams"`): word 1–2-grams + char 4-grams of the raw text, no
 *   calibration (older files).
 *
 * Data (../shared/data/safety, see `safetySplit`): unsafe = HarmBench behaviors (no copyright)
 * and XSTest's unsafe prompts; safe = harmless instructions, XSTest's safe prompts, WildGuardTest's
 * harmless prompts, NotInject and ordinary prompts carrying private data (presidio texts).
 */
import path from "node:path";
import { cachedJsonLoader, repoRoot } from "../core/files.js";
import { GuardClassifier, type GuardClassifierFile } from "./guard-classifier.js";

// The classifier (no file access, browser-safe) lives in guard-classifier.ts; this module adds the loaders that read files.
export { GuardClassifier, guardFeatures, type GuardClassifierFile, type GuardClassifierFileV1, type SafetyExample } from "./guard-classifier.js";

/** Path of the shipped classifier. */
export function defaultGuardModelPath(): string {
  return path.join(repoRoot(), "models", "guard.json");
}

const loadClassifierFile = cachedJsonLoader((file: GuardClassifierFile) => GuardClassifier.fromJSON(file));

/** Loads (and caches per path) a classifier file. Throws `Error` when missing or malformed. */
export function loadGuardClassifier(file: string = defaultGuardModelPath()): GuardClassifier {
  return loadClassifierFile(file);
}
