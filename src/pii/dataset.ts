/**
 * Loading PII data sets in their own formats, and the fixed held-out split.
 *
 * Format supported: presidio-research's synthetic data set (`presidio_synth_dataset_v2.json`:
 * an array of `{ full_text, spans: [{ entity_type, entity_value, start_position, end_position }],
 * template_id }`; also the named-entity corpora in ../shared/data/privacy, whose labels are mapped by
 * {@link ENTITY_ALIASES}), and Tandem's JSONL (`{ "text": …, "spans": [{ "start", "end", "type" }] }` a line).
 */
import { repoRoot } from "../core/files.js";
import fs from "node:fs";
import path from "node:path";
import { seededShuffle } from "../core/random.js";
import type { LabeledText } from "./tagger.js";
import { isEntityType, type EntityType } from "./types.js";

/**
 * Label names of other corpora → Tandem's entity types: the named-entity corpora in
 * ../shared/data/privacy (WikiANN, Wikigold, BTC, WNUT-17, CoNLL-2003) say LOCATION for what
 * Tandem calls GPE (countries, cities, rivers, regions), and PER/ORG/LOC in their raw forms.
 */
export const ENTITY_ALIASES: Readonly<Record<string, EntityType>> = {
  LOCATION: "GPE",
  LOC: "GPE",
  PER: "PERSON",
  ORG: "ORGANIZATION",
  ADDRESS: "STREET_ADDRESS",
  URL: "DOMAIN_NAME",
};

/** Tandem's type for a corpus label ({@link ENTITY_ALIASES}), or undefined when Tandem has no such type. */
export function toEntityType(label: string): EntityType | undefined {
  if (isEntityType(label)) return label;
  return ENTITY_ALIASES[label];
}

function spanOf(label: string, start: number, end: number): Array<{ start: number; end: number; type: EntityType }> {
  const type = toEntityType(label);
  return type ? [{ start, end, type }] : [];
}

/** A labeled text with the template it came from (for group splits), when known. */
export interface PiiExample extends LabeledText {
  /** Generator template id; examples of one template never straddle the split. */
  group?: string | number;
}


/** Default location of the presidio synthetic data set: ../shared/data/privacy from the repo root. */
export function defaultPrivacyDatasetPath(): string {
  return path.resolve(repoRoot(), "../shared/data/privacy/presidio_synth_dataset_v2.json");
}

/**
 * Reads a PII data set: presidio JSON (array) or Tandem JSONL. Labels are mapped to Tandem's
 * types ({@link ENTITY_ALIASES}: LOCATION → GPE, …); spans of types Tandem does not know are dropped. Throws `Error` with the file name on malformed input.
 */
export function loadPiiDataset(file: string): PiiExample[] {
  const raw = fs.readFileSync(file, "utf8");
  const trimmed = raw.trimStart();
  try {
    if (trimmed.startsWith("[")) {
      const rows = JSON.parse(raw) as Array<{ full_text: string; spans: Array<{ entity_type: string; start_position: number; end_position: number }>; template_id?: number }>;
      return rows.map((r) => ({
        text: r.full_text,
        group: r.template_id,
        spans: r.spans.flatMap((s) => spanOf(s.entity_type, s.start_position, s.end_position)),
      }));
    }
    return raw
      .split("\n")
      .filter((l) => l.trim().length > 0)
      .map((l) => {
        const r = JSON.parse(l) as { text: string; spans: Array<{ start: number; end: number; type: string }>; group?: string | number };
        return { text: r.text, group: r.group, spans: r.spans.flatMap((s) => spanOf(s.type, s.start, s.end)) };
      });
  } catch (error) {
    throw new Error(`cannot read PII data set ${file}: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
  }
}

/** Split options. */
export interface SplitOptions {
  /** Share of groups (templates) held out for testing. @default 0.2 */
  testShare?: number;
  /** Seed of the shuffle. @default 42 */
  seed?: number;
  /**
   * "example": a seeded shuffle of examples (presidio-research's own evaluation setup; values
   * never repeat, but test sentences share generator templates with training ones);
   * "template": whole templates are held out (harder: unseen sentence frames). @default "example"
   */
  by?: "example" | "template";
}

/**
 * Fixed held-out split: a seeded shuffle of the examples (or of the template ids, with
 * `by: "template"`); the first `testShare` of them form the test set.
 */
export function splitByGroup<T extends { group?: string | number }>(examples: readonly T[], options: SplitOptions = {}): { train: T[]; test: T[] } {
  const share = options.testShare ?? 0.2;
  const seed = options.seed ?? 42;
  const groupOf = (e: T, i: number) => (options.by === "template" ? String(e.group ?? `#${i}`) : `#${i}`);
  const groups = [...new Set(examples.map(groupOf))].sort();
  const shuffled = seededShuffle(groups, seed);
  const testGroups = new Set(shuffled.slice(0, Math.round(groups.length * share)));
  const train: T[] = [];
  const test: T[] = [];
  examples.forEach((e, i) => (testGroups.has(groupOf(e, i)) ? test : train).push(e));
  return { train, test };
}
