/**
 * Tandem's edge PII detector: pattern recognizers with maintained validators for structured
 * types, our BIO perceptron tagger for names, addresses, organisations and the like, and an
 * optional SLM extraction pass. Spans from all parts are merged by score (see `resolveOverlaps`).
 */
import path from "node:path";
import { DEFAULT_RECOGNIZERS, resolveOverlaps, type PatternRecognizer } from "./patterns.js";
import { PerceptronTagger, type TaggerFile } from "./tagger.js";
import { cachedJsonLoader, repoRoot } from "../core/files.js";
import type { EntityType, PiiDetector, PiiSpan } from "./types.js";

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
 * Builds the combined detector. Detection of one text is synchronous CPU work for patterns and
 * the tagger (≈0.1–1 ms per 100 words); `extra` detectors may be slow and may throw.
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
  const parts = [patterns.length ? "patterns" : "", tagger ? "tagger" : "", ...extra.map((d) => d.name)].filter(Boolean);
  return {
    name: parts.join("+"),
    async detect(text: string, signal?: AbortSignal): Promise<PiiSpan[]> {
      signal?.throwIfAborted();
      const spans: PiiSpan[] = patterns.flatMap((r) => r.find(text));
      if (tagger) for (const s of tagger.tag(text)) if (!patternOnly.has(s.type)) spans.push(s);
      for (const d of extra) spans.push(...(await d.detect(text, signal)));
      signal?.throwIfAborted();
      return resolveOverlaps(spans.filter((s) => s.score >= minScore && (!entities || entities.has(s.type)) && s.end > s.start));
    },
  };
}
