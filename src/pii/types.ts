/**
 * Shapes shared by Tandem's PII detectors: entity types and character spans.
 *
 * Entity type names follow Microsoft Presidio's (the labels of presidio-research's synthetic
 * data set in ../shared/data/privacy), so gold spans and predictions compare without mapping.
 */

/** Every entity type a Tandem detector can report. */
export const ENTITY_TYPES = [
  "PERSON",
  "EMAIL_ADDRESS",
  "PHONE_NUMBER",
  "CREDIT_CARD",
  "IBAN_CODE",
  "IP_ADDRESS",
  "STREET_ADDRESS",
  "ZIP_CODE",
  "GPE",
  "ORGANIZATION",
  "DATE_TIME",
  "AGE",
  "US_SSN",
  "US_DRIVER_LICENSE",
  "US_PASSPORT",
  "US_BANK_NUMBER",
  "US_ITIN",
  "MEDICAL_LICENSE",
  "UK_NHS",
  "CRYPTO",
  "DOMAIN_NAME",
  "NRP",
  "TITLE",
] as const;

/**
 * An entity type. Meanings: PERSON (names), GPE (countries, cities, states — "locations"),
 * NRP (nationality, religious or political group), DOMAIN_NAME (URLs and domains),
 * DATE_TIME (dates incl. dates of birth), TITLE (honorifics and job titles), US_SSN and
 * US_DRIVER_LICENSE, US_PASSPORT, US_ITIN and UK_NHS (ID numbers), US_BANK_NUMBER (bank account
 * and routing numbers), MEDICAL_LICENSE (DEA numbers, NPIs), CRYPTO (wallet addresses).
 */
export type EntityType = (typeof ENTITY_TYPES)[number];

/** True when `value` is one of {@link ENTITY_TYPES}. */
export function isEntityType(value: string): value is EntityType {
  return (ENTITY_TYPES as readonly string[]).includes(value);
}

/** Which detector component found a span. */
export type SpanSource = "pattern" | "tagger" | "slm";

/**
 * A private span of a text. Offsets are UTF-16 code-unit indices into the text the detector
 * was given (JavaScript string indices), `end` exclusive.
 */
export interface PiiSpan {
  start: number;
  end: number;
  type: EntityType;
  /** `text.slice(start, end)`. */
  text: string;
  /** Confidence in [0, 1]: 1 for checksum-validated patterns, the tagger's margin-derived score otherwise. */
  score: number;
  source: SpanSource;
}

/**
 * A PII detector: finds private spans in one text.
 * Implementations throw on failure; callers that guard data (the privacy strategy) must treat
 * a throw or a timeout as "cannot tell" and fail closed.
 */
export interface PiiDetector {
  /** Short name for traces, e.g. "patterns+tagger". */
  readonly name: string;
  /** Spans sorted by `start`, non-overlapping. Rejects on failure or when `signal` aborts. */
  detect(text: string, signal?: AbortSignal): Promise<PiiSpan[]>;
}
