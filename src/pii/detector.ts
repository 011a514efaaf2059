/**
 * Tandem's edge PII detector: pattern recognizers with maintained validators for structured
 * types, our BIO perceptron tagger for names, addresses, organisations and the like, and an
 * optional SLM extraction pass. Spans from all parts are merged by score (see `resolveOverlaps`).
 */
import path from "node:path";
import { DEFAULT_RECOGNIZERS, resolveOverlaps, type PatternRecognizer } from "./patterns.js";
import { PerceptronTagger, type TaggerFile } from "./tagger.js";
import { cachedJsonLoader, repoRoot } from "../core/files.js";
import { createYielder } from "./cooperative.js";
import type { EntityType, PiiDetector, PiiSpan } from "./types.js";
import { normalizingDetector } from "./normalizing-detector.js";

/** Types the pattern recognizers validate; the tagger's guesses for them are ignored by default. */
export const PATTERN_TYPES: readonly EntityType[] = ["EMAIL_ADDRESS", "IBAN_CODE", "IP_ADDRESS", "CREDIT_CARD", "US_SSN", "PHONE_NUMBER", "DOMAIN_NAME"];

/** Options of {@link createDetector}. */
export interface DetectorOptions {
  /** Entity types to report; others are dropped. @default all types */
  entities?: readonly EntityType[];
  /** Spans scoring below this are dropped, in [0, 1]. @default 0.3 */
  minScore?: number;
  /** Pattern recognizers. @default DEFAULT_RECOGNIZERS; `[]` disables patterns */
  patterns?: readonly PatternRecognizer[];
  /** The tagger: an instance, a parsed file, a path to a JSON file, or `false` for none. @default models/privacy-tagger.json */
  tagger?: PerceptronTagger | TaggerFile | string | false;
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
 * Builds the combined detector.
 *
 * Time and fail-closed behaviour: patterns and the tagger are linear in the text length
 * (≈0.1–1 ms per 100 words; worst cases in bench/results/pii-patterns.json) and run in bounded
 * steps (a window of the text per recognizer, ≤ 1,024 tokens of the tagger); between steps
 * `detect` yields to the event loop whenever it has held it for ≥ `sliceMs` (8 ms), and checks
 * `signal`. So a huge or hostile text never stalls the process, and an abort (the privacy
 * strategy's `detectorTimeoutMs`) rejects `detect` with `signal.reason` within one step. Texts
 * up to one window (32 KB; 1 KB for phone numbers) get exactly the spans a whole-text search finds.
 * `extra` detectors may be slow and may throw.
 * @example const detector = createDetector({ entities: ["PERSON", "EMAIL_ADDRESS"] });
 */
export function createDetector(options: DetectorOptions = {}): PiiDetector {
  const patterns = options.patterns ?? DEFAULT_RECOGNIZERS;
  const tagger =
    options.tagger === false
      ? undefined
      : options.tagger instanceof PerceptronTagger
        ? options.tagger
        : typeof options.tagger === "object"
          ? PerceptronTagger.fromJSON(options.tagger)
          : loadTagger(options.tagger ?? defaultTaggerPath());
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
