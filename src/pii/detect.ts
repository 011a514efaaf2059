/**
 * Tandem's edge PII detector without file access: pattern recognizers with maintained validators
 * for structured types, our BIO perceptron tagger for names, addresses, organisations and the
 * like, and optional extra detectors, merged by score (see `resolveOverlaps`). Runs in Node and in
 * browsers (`tandem/browser`); `detector.ts` adds the loaders that read the tagger from disk.
 */
import { DEFAULT_RECOGNIZERS, resolveOverlaps, type PatternRecognizer } from "./patterns.js";
import { PerceptronTagger, type TaggerFile } from "./tagger.js";
import { createYielder } from "./cooperative.js";
import type { EntityType, PiiDetector, PiiSpan } from "./types.js";
import { normalizingDetector } from "./normalizing-detector.js";

/** Types the pattern recognizers validate; the tagger's guesses for them are ignored by default. */
export const PATTERN_TYPES: readonly EntityType[] = ["EMAIL_ADDRESS", "IBAN_CODE", "IP_ADDRESS", "CREDIT_CARD", "US_SSN", "PHONE_NUMBER", "DOMAIN_NAME", "US_PASSPORT", "US_BANK_NUMBER", "US_ITIN", "MEDICAL_LICENSE", "UK_NHS", "CRYPTO"];

/** Options of {@link detectorWithTagger} (and, with `tagger`, of `createDetector` / {@link createDetectorFromFile}). */
export interface DetectorCoreOptions {
  /** Entity types to report; others are dropped. @default all types */
  entities?: readonly EntityType[];
  /** Spans scoring below this are dropped, in [0, 1]. @default 0.3 */
  minScore?: number;
  /** Pattern recognizers. @default DEFAULT_RECOGNIZERS; `[]` disables patterns */
  patterns?: readonly PatternRecognizer[];
  /** Tagger predictions of these types are ignored (patterns own them). @default PATTERN_TYPES */
  patternOnlyTypes?: readonly EntityType[];
  /**
   * Detect on the normalised text (invisible characters removed, NFKC, look-alike letters folded;
   * `normalize.ts`), with spans mapped back to the original offsets. @default true
   */
  normalize?: boolean;
  /**
   * Report tagger GPE spans that are just a country or continent name ("What is the capital of
   * France?"): such places are too coarse to identify anyone. Cities, streets and addresses are
   * always reported. @default false
   */
  reportCountries?: boolean;
  /** Extra detectors whose spans are merged in (e.g. `slmDetector(...)`). Their failures propagate. */
  extra?: readonly PiiDetector[];
}

/**
 * Builds the combined detector around an already-loaded `tagger` (none: patterns only). No file
 * access: this is what `createDetector` (which also reads tagger files) and the browser build
 * ({@link createDetectorFromFile}, with a tagger JSON the page fetched) both call.
 *
 * Time and fail-closed behaviour: patterns and the tagger are linear in the text length
 * (costs per KB of real text and worst cases on adversarial text in bench/results/pii-patterns.json) and run in bounded
 * steps (a window of the text per recognizer, ≤ 1,024 tokens of the tagger); between steps
 * `detect` yields to the event loop whenever it has held it for ≥ `sliceMs` (8 ms), and checks
 * `signal`. So a huge or hostile text never stalls the process, and an abort (the privacy
 * strategy's `detectorTimeoutMs`) rejects `detect` with `signal.reason` within one step. Texts
 * up to one window (32 KB; 1 KB for phone numbers) get exactly the spans a whole-text search finds.
 * `extra` detectors may be slow and may throw.
 * @example const detector = detectorWithTagger(PerceptronTagger.fromJSON(await (await fetch("/privacy-tagger.json")).json()));
 */
export function detectorWithTagger(tagger: PerceptronTagger | undefined, options: DetectorCoreOptions = {}): PiiDetector {
  const patterns = options.patterns ?? DEFAULT_RECOGNIZERS;
  const entities = options.entities ? new Set(options.entities) : undefined;
  const minScore = options.minScore ?? 0.3;
  const patternOnly = new Set(options.patternOnlyTypes ?? PATTERN_TYPES);
  const extra = options.extra ?? [];
  const reportCountries = options.reportCountries ?? false;
  const parts = [patterns.length ? "patterns" : "", tagger ? "tagger" : "", ...extra.map((d) => d.name)].filter(Boolean);
  const keep = (s: PiiSpan) => s.score >= minScore && (!entities || entities.has(s.type)) && s.end > s.start;
  const base: PiiDetector = {
    name: parts.join("+"),
    async detect(text: string, signal?: AbortSignal): Promise<PiiSpan[]> {
      const step = createYielder(signal);
      await step.checkpoint();
      const spans: PiiSpan[] = [];
      for (const r of patterns) {
        for (const batch of r.scan ? r.scan(text) : [r.find(text)]) {
          for (const s of batch) if (keep(s)) spans.push(s);
          await step.checkpoint();
        }
      }
      if (tagger) {
        for (const batch of tagger.tagSteps(text)) {
          for (const s of batch) if (!patternOnly.has(s.type) && keep(s) && (reportCountries || s.type !== "GPE" || !tagger.isCountry(s.text))) spans.push(s);
          await step.checkpoint();
        }
      }
      for (const d of extra) for (const s of await d.detect(text, signal)) if (keep(s)) spans.push(s);
      signal?.throwIfAborted();
      return resolveOverlaps(spans);
    },
  };
  // Obfuscation (zero-width characters inside an e-mail, look-alike letters, fullwidth digits)
  // is undone before detection; spans map back to the original characters.
  return options.normalize === false ? base : normalizingDetector(base);
}

/**
 * The combined detector from an in-memory tagger: an instance, a parsed tagger file (e.g. the JSON
 * of models/privacy-tagger.json that a page fetched), or `false` for patterns only. Options as
 * {@link detectorWithTagger}. Throws `Error` when `tagger` is not a tagger file.
 */
export function createDetectorFromFile(tagger: PerceptronTagger | TaggerFile | false, options: DetectorCoreOptions = {}): PiiDetector {
  return detectorWithTagger(tagger === false ? undefined : tagger instanceof PerceptronTagger ? tagger : PerceptronTagger.fromJSON(tagger), options);
}
