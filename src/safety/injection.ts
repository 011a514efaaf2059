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
 * Usage: `loadInjectionDetector().score(text)` → probability in [0, 1]; flag when it exceeds
 * `threshold` (chosen on the validation split for ≤ 1 % FPR). `detect(text)` gives the verdict
 * with a reason (the strongest rule that fired, if any). Meant to be applied to every message a
 * model reads that the deployer did not write — user turns and, by default, tool results.
 */
import path from "node:path";
import { cachedJsonLoader, repoRoot } from "../core/files.js";
import { normalize } from "../core/normalize.js";
import { injectionScore, type RuleHit } from "./detectors.js";
import { LinearTextModel, type LinearTextModelFile } from "./linear.js";

/** Rule features of a text for the injection model: each rule's score, on the raw and the normalised text (the larger). */
export function injectionExtraFeatures(text: string): Record<string, number> {
  const raw = injectionScore(text);
  const n = normalize(text).text;
  const norm = n === text ? raw : injectionScore(n);
  const best = norm.score > raw.score ? norm : raw;
  return best.score > 0 ? { [`rule:${best.reason}`]: 1, "rule:any": best.score } : {};
}

/** Verdict of {@link InjectionDetector.detect}. */
export interface InjectionVerdict {
  /** Calibrated probability in [0, 1] that the text is an injection or jailbreak. */
  score: number;
  /** `score > threshold`. */
  flagged: boolean;
  threshold: number;
  /** Short explanation: the rule that fired, or the model's probability. */
  reason: string;
}

/** A loaded prompt-injection detector. */
export class InjectionDetector {
  private constructor(
    private readonly model: LinearTextModel,
    /** Decision threshold on `score` (from the model file). */
    readonly threshold: number,
  ) {}

  /** Loads a model file. Throws `Error` when it is not a `linear-text` file of task "injection". */
  static fromJSON(file: LinearTextModelFile): InjectionDetector {
    if (file.kind !== "linear-text" || file.task !== "injection") throw new Error(`not an injection model file (kind ${String(file.kind)}, task ${String((file as { task?: unknown }).task)})`);
    return new InjectionDetector(LinearTextModel.fromJSON(file), file.threshold);
  }

  /** Probability in [0, 1] that `text` is a prompt injection or jailbreak. Linear in the text length (first 6,000 characters read). */
  score(text: string): number {
    return this.model.score(text, injectionExtraFeatures(text));
  }

  /** Score, verdict at `threshold` (default the file's) and reason. */
  detect(text: string, threshold = this.threshold): InjectionVerdict {
    const score = this.score(text);
    const rule: RuleHit = injectionScore(normalize(text).text);
    const reason = `injection detector p=${score.toFixed(3)}${rule.score > 0 ? ` (${rule.reason})` : ""}`;
    return { score, flagged: score > threshold, threshold, reason };
  }
}

/** Path of the shipped detector (models/injection.json). */
export function defaultInjectionModelPath(): string {
  return path.join(repoRoot(), "models", "injection.json");
}

const loadFile = cachedJsonLoader((file: LinearTextModelFile) => InjectionDetector.fromJSON(file));

/** Loads (and caches per path) an injection detector. Throws `Error` when missing or malformed. */
export function loadInjectionDetector(file: string = defaultInjectionModelPath()): InjectionDetector {
  return loadFile(file);
}
