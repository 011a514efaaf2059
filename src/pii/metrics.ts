/**
 * Span-level evaluation of PII detection: precision, recall and F1 per entity type, with exact
 * matching (same start and end, compatible type) and overlap matching (compatible type, any
 * character overlap) — the two views presidio-research reports.
 *
 * Types are compared through an entity taxonomy ({@link sameEntityFamily}): corpora and
 * detectors name the same thing differently (gold ADDRESS or LOCATION vs. predicted
 * STREET_ADDRESS, GPE or ZIP_CODE; PER vs. PERSON; ORG vs. ORGANIZATION), and a prediction of a
 * compatible type is a hit, not a false positive plus a miss.
 */
import type { EntityType } from "./types.js";

/** A typed character span. */
export interface TypedSpan {
  start: number;
  end: number;
  type: EntityType | string;
}

/** Counts and scores of one entity type (or the micro average, under "ALL"). */
export interface PrfRow {
  /** Gold spans of this type that were found. */
  tp: number;
  /** Predicted spans (keyed by their own type) that match no compatible gold span. */
  fp: number;
  /** Gold spans of this type that were missed. */
  fn: number;
  /** Predicted spans that matched a gold span of this type (in overlap mode several may match one gold span). */
  tpPredicted: number;
  precision: number;
  recall: number;
  f1: number;
  /** Gold spans of this type. */
  support: number;
}

/** Per-type and micro-averaged results, exact and overlap. */
export interface SpanReport {
  exact: Record<string, PrfRow>;
  overlap: Record<string, PrfRow>;
  /** Character-level "any PII" recall: share of gold PII characters covered by some predicted span of any type — what matters for leaking. */
  anyTypeCharRecall: number;
  /** Character-level "any PII" precision: share of predicted characters that lie inside some gold span. */
  anyTypeCharPrecision: number;
  examples: number;
}

/** Type names of other corpora and tools → the family they belong to. */
const FAMILY: Record<string, string> = {
  PERSON: "PERSON",
  PER: "PERSON",
  ORGANIZATION: "ORGANIZATION",
  ORG: "ORGANIZATION",
  CORPORATION: "ORGANIZATION",
  LOCATION: "LOCATION",
  LOC: "LOCATION",
  GPE: "LOCATION",
  ADDRESS: "LOCATION",
  STREET_ADDRESS: "LOCATION",
  ZIP_CODE: "LOCATION",
  DOMAIN_NAME: "URL",
  URL: "URL",
  DATE_TIME: "DATE_TIME",
  DATE: "DATE_TIME",
  TIME: "DATE_TIME",
};

/** The taxonomy family of an entity type name ("GPE" → "LOCATION", "PER" → "PERSON"; others map to themselves). */
export function entityFamily(type: string): string {
  return FAMILY[type] ?? type;
}

/** True when a prediction of type `predicted` counts as finding a gold span of type `gold`. */
export function sameEntityFamily(gold: string, predicted: string): boolean {
  return gold === predicted || entityFamily(gold) === entityFamily(predicted);
}

function row(tp: number, fp: number, fn: number, tpPredicted: number): PrfRow {
  const precision = tpPredicted + fp === 0 ? 0 : tpPredicted / (tpPredicted + fp);
  const recall = tp + fn === 0 ? 0 : tp / (tp + fn);
  const f1 = precision + recall === 0 ? 0 : (2 * precision * recall) / (precision + recall);
  return { tp, fp, fn, tpPredicted, precision, recall, f1, support: tp + fn };
}

/**
 * Scores predictions against gold spans, one pair of arrays per example.
 * Exact mode matches one to one (same offsets, compatible type). Overlap mode: a gold span is
 * found when some compatible prediction overlaps it; a prediction is a true positive when it
 * overlaps some compatible gold span (so a gold address predicted as street + city + zip is
 * one hit and three correct predictions). Hits are counted under the gold span's type, false
 * positives under the predicted type.
 */
export function scoreSpans(pairs: ReadonlyArray<{ gold: readonly TypedSpan[]; predicted: readonly TypedSpan[] }>): SpanReport {
  type Acc = Map<string, [number, number, number, number]>;
  const acc: { exact: Acc; overlap: Acc } = { exact: new Map(), overlap: new Map() };
  const bump = (m: Acc, type: string, k: 0 | 1 | 2 | 3) => {
    for (const key of [type, "ALL"]) {
      const v = m.get(key) ?? [0, 0, 0, 0];
      v[k]++;
      m.set(key, v);
    }
  };
  let goldChars = 0;
  let coveredChars = 0;
  let predictedChars = 0;
  let correctChars = 0;
  for (const { gold, predicted } of pairs) {
    // Exact: one to one.
    const used = new Set<number>();
    for (const p of predicted) {
      const j = gold.findIndex((g, gi) => !used.has(gi) && g.start === p.start && g.end === p.end && sameEntityFamily(g.type, p.type));
      if (j >= 0) {
        used.add(j);
        bump(acc.exact, gold[j].type, 0);
        bump(acc.exact, gold[j].type, 3);
      } else bump(acc.exact, p.type, 1);
    }
    gold.forEach((g, gi) => {
      if (!used.has(gi)) bump(acc.exact, g.type, 2);
    });
    // Overlap: many to many.
    const hit = (g: TypedSpan, p: TypedSpan) => g.start < p.end && p.start < g.end && sameEntityFamily(g.type, p.type);
    for (const p of predicted) {
      const g = gold.find((x) => hit(x, p));
      if (g) bump(acc.overlap, g.type, 3);
      else bump(acc.overlap, p.type, 1);
    }
    for (const g of gold) bump(acc.overlap, g.type, predicted.some((p) => hit(g, p)) ? 0 : 2);
    // Characters, any type (spans of one side may overlap each other: count positions once).
    const goldAt = new Set<number>();
    for (const g of gold) for (let c = g.start; c < g.end; c++) goldAt.add(c);
    const predAt = new Set<number>();
    for (const p of predicted) for (let c = p.start; c < p.end; c++) predAt.add(c);
    goldChars += goldAt.size;
    predictedChars += predAt.size;
    for (const c of goldAt) if (predAt.has(c)) coveredChars++;
    for (const c of predAt) if (goldAt.has(c)) correctChars++;
  }
  const toRecord = (m: Acc) => Object.fromEntries([...m.entries()].sort(([a], [b]) => (a === "ALL" ? 1 : b === "ALL" ? -1 : a.localeCompare(b))).map(([k, [tp, fp, fn, tpp]]) => [k, row(tp, fp, fn, tpp)]));
  return {
    exact: toRecord(acc.exact),
    overlap: toRecord(acc.overlap),
    anyTypeCharRecall: goldChars === 0 ? 1 : coveredChars / goldChars,
    anyTypeCharPrecision: predictedChars === 0 ? 1 : correctChars / predictedChars,
    examples: pairs.length,
  };
}
