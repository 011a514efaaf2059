/**
 * The prompt-injection detector's scoring, without file access or node built-ins (it also runs in
 * a browser); src/safety/injection.ts adds the loaders that read model files from disk. See
 * injection.ts for what the detector is and how it was trained.
 */
import { normalize } from "../core/normalize.js";
import { injectionScore, type RuleHit } from "./detectors.js";
import { LinearTextModel, linearTextFeatures, type LinearTextModelFile } from "./linear.js";

/** Rule features of a text for the injection model: each rule's score, on the raw and the normalised text (the larger). */
export function injectionExtraFeatures(text: string): Record<string, number> {
  const raw = injectionScore(text);
  const n = normalize(text).text;
  const norm = n === text ? raw : injectionScore(n);
  const best = norm.score > raw.score ? norm : raw;
  return best.score > 0 ? { [`rule:${best.reason}`]: 1, "rule:any": best.score } : {};
}

/**
 * Where a text comes from: `"prompt"` — a user turn (direct injection, jailbreak); `"document"` —
 * a tool result or retrieved document (indirect injection), where the guard applies the detector
 * by default.
 */
export type InjectionContext = "prompt" | "document";

/**
 * An injection model file: a `linear-text` file of task "injection", optionally with a threshold
 * per context (each chosen on validation for its FPR bound; see src/safety/injection-train.ts).
 * `threshold` is then the prompt one (the default context of `score`).
 */
export type InjectionModelFile = LinearTextModelFile & {
  contextThresholds?: Record<InjectionContext, number>;
  /**
   * Document-context scoring: feature-name prefixes left out of a window's margin (the text-shape
   * indicators — length bucket, line count, code characters, delimiter lines — say how a tool
   * formats its output, not whether it carries an instruction) and the Platt calibration of the
   * largest window margin, fitted on validation documents. Absent: windows scored like prompts.
   */
  document?: { ignoredFeatures: string[]; calibration: { a: number; b: number } };
};

/** Window size and stride (characters) of {@link documentWindows}, and the most characters of a document read. */
export const DOCUMENT_WINDOW = { size: 500, stride: 250, maxChars: 12_000 } as const;

/**
 * Overlapping windows of a document (span-level scoring): `size`-character windows every `stride`
 * characters, their edges moved to the next whitespace (at most 40 characters on), the last one
 * ending at the text's end; a text of at most `size` characters is one window. Only the first
 * `maxChars` characters are read. Returns each window's start offset and text.
 */
export function documentWindows(text: string, size: number = DOCUMENT_WINDOW.size, stride: number = DOCUMENT_WINDOW.stride, maxChars: number = DOCUMENT_WINDOW.maxChars): Array<{ start: number; text: string }> {
  const t = text.length > maxChars ? text.slice(0, maxChars) : text;
  if (t.length <= size) return [{ start: 0, text: t }];
  const snap = (i: number) => {
    if (i <= 0 || i >= t.length) return Math.max(0, Math.min(i, t.length));
    for (let j = i; j < Math.min(t.length, i + 40); j++) if (/\s/.test(t[j])) return j;
    return i;
  };
  const starts: number[] = [];
  for (let p = 0; p + size < t.length; p += stride) starts.push(p);
  starts.push(t.length - size);
  const out: Array<{ start: number; text: string }> = [];
  let last = -1;
  for (const p of starts) {
    const s = snap(p);
    if (s <= last) continue;
    last = s;
    const e = snap(s + size);
    const raw = t.slice(s, e);
    const w = raw.trim();
    if (w) out.push({ start: s + (raw.length - raw.trimStart().length), text: w });
  }
  return out;
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

const sigmoid = (z: number) => (z >= 0 ? 1 / (1 + Math.exp(-z)) : Math.exp(z) / (1 + Math.exp(z)));

/** Feature-name prefixes left out of document windows by default (see {@link InjectionModelFile}): length bucket, line count, code characters, delimiter lines, truncation. */
export const DOCUMENT_IGNORED_FEATURES = ["s:len", "s:lines", "s:code-chars", "s:delimiter-line", "s:truncated"];

/** A loaded prompt-injection detector. */
export class InjectionDetector {
  private constructor(
    private readonly model: LinearTextModel,
    private readonly file: InjectionModelFile,
    private readonly weights: ReadonlyMap<string, number>,
    /** Decision threshold on `score` in its default ("prompt") context (the file's `threshold`). */
    readonly threshold: number,
    /** Threshold per context (from the file; both `threshold` for older files). */
    readonly contextThresholds: Readonly<Record<InjectionContext, number>>,
  ) {}

  /** Loads a model file. Throws `Error` when it is not a `linear-text` file of task "injection". */
  static fromJSON(file: InjectionModelFile): InjectionDetector {
    if (file.kind !== "linear-text" || file.task !== "injection") throw new Error(`not an injection model file (kind ${String(file.kind)}, task ${String((file as { task?: unknown }).task)})`);
    return new InjectionDetector(LinearTextModel.fromJSON(file), file, new Map(Object.entries(file.weights)), file.threshold, file.contextThresholds ?? { prompt: file.threshold, document: file.threshold });
  }

  /** The decision threshold for texts of `context` (a user turn or a tool result / document). */
  thresholdFor(context: InjectionContext): number {
    return this.contextThresholds[context];
  }

  /**
   * Probability in [0, 1] that `text` is a prompt injection or jailbreak. `"prompt"` (the default,
   * as before issue #16 item 3): the whole text at once (first 6,000 characters). `"document"` (a
   * tool result or retrieved document): the largest window margin over {@link documentWindows}
   * (span-level scoring — an injection is a span of a document, and a long benign document is
   * neither diluted nor penalised for its length or markup; first 12,000 characters read), with
   * the file's document calibration. Flag above {@link thresholdFor}(context). Linear in the text length.
   */
  score(text: string, context: InjectionContext = "prompt"): number {
    if (context === "prompt" || !this.file.document) {
      if (context === "prompt") return this.model.score(text, injectionExtraFeatures(text));
      let best = 0;
      for (const w of documentWindows(text)) best = Math.max(best, this.model.score(w.text, injectionExtraFeatures(w.text)));
      return best;
    }
    const { a, b } = this.file.document.calibration;
    return sigmoid(a * this.documentMargin(text) + b);
  }

  /** Uncalibrated document margin: the largest window margin, the file's `document.ignoredFeatures` left out (see {@link InjectionModelFile}). */
  documentMargin(text: string): number {
    const ignored = this.file.document?.ignoredFeatures ?? [];
    let best = -Infinity;
    for (const w of documentWindows(text)) {
      let z = this.file.bias;
      for (const [f, x] of linearTextFeatures(w.text, injectionExtraFeatures(w.text), this.file.features.charNgrams, this.file.features.skipBigrams ?? 0)) {
        if (ignored.some((p) => f.startsWith(p))) continue;
        z += (this.weights.get(f) ?? 0) * x;
      }
      best = Math.max(best, z);
    }
    return best;
  }

  /** Score in `context` (default "prompt"), verdict at `threshold` (default: that context's threshold) and reason. */
  detect(text: string, context: InjectionContext = "prompt", threshold: number = this.thresholdFor(context)): InjectionVerdict {
    const t = threshold;
    const score = this.score(text, context);
    const rule: RuleHit = injectionScore(normalize(text).text);
    const reason = `injection detector p=${score.toFixed(3)}${rule.score > 0 ? ` (${rule.reason})` : ""}`;
    return { score, flagged: score > t, threshold: t, reason };
  }
}

/**
 * The detector as a scorer of one context, `{ score(text), threshold }` — the shape the guard's
 * `injectionDetector` option takes (src/strategies/guard `InjectionScorer`). `"document"`: for
 * tool results and retrieved documents (span-level scoring at the document threshold).
 */
export function contextScorer(detector: InjectionDetector, context: InjectionContext): { score(text: string): number; readonly threshold: number; readonly context: InjectionContext } {
  return { score: (text: string) => detector.score(text, context), threshold: detector.thresholdFor(context), context };
}
