/**
 * Span-level evaluation of PII detection: precision, recall and F1 per entity type, with exact
 * matching (same start, end and type) and overlap matching (same type, any character overlap;
 * each gold span matched at most once) — the two views presidio-research reports.
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
  tp: number;
  fp: number;
  fn: number;
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
  examples: number;
}

function row(tp: number, fp: number, fn: number): PrfRow {
  const precision = tp + fp === 0 ? 0 : tp / (tp + fp);
  const recall = tp + fn === 0 ? 0 : tp / (tp + fn);
  const f1 = precision + recall === 0 ? 0 : (2 * precision * recall) / (precision + recall);
  return { tp, fp, fn, precision, recall, f1, support: tp + fn };
}

/** Scores predictions against gold spans, one pair of arrays per example. */
export function scoreSpans(pairs: ReadonlyArray<{ gold: readonly TypedSpan[]; predicted: readonly TypedSpan[] }>): SpanReport {
  const acc = { exact: new Map<string, [number, number, number]>(), overlap: new Map<string, [number, number, number]>() };
  const bump = (m: Map<string, [number, number, number]>, type: string, k: 0 | 1 | 2) => {
    for (const key of [type, "ALL"]) {
      const v = m.get(key) ?? [0, 0, 0];
      v[k]++;
      m.set(key, v);
    }
  };
  let goldChars = 0;
  let coveredChars = 0;
  for (const { gold, predicted } of pairs) {
    for (const mode of ["exact", "overlap"] as const) {
      const used = new Set<number>();
      for (const p of predicted) {
        const j = gold.findIndex((g, gi) => !used.has(gi) && g.type === p.type && (mode === "exact" ? g.start === p.start && g.end === p.end : g.start < p.end && p.start < g.end));
        if (j >= 0) {
          used.add(j);
          bump(acc[mode], p.type, 0);
        } else bump(acc[mode], p.type, 1);
      }
      gold.forEach((g, gi) => {
        if (!used.has(gi)) bump(acc[mode], g.type, 2);
      });
    }
    for (const g of gold) {
      for (let c = g.start; c < g.end; c++) {
        goldChars++;
        if (predicted.some((p) => p.start <= c && c < p.end)) coveredChars++;
      }
    }
  }
  const toRecord = (m: Map<string, [number, number, number]>) => Object.fromEntries([...m.entries()].sort(([a], [b]) => (a === "ALL" ? 1 : b === "ALL" ? -1 : a.localeCompare(b))).map(([k, [tp, fp, fn]]) => [k, row(tp, fp, fn)]));
  return { exact: toRecord(acc.exact), overlap: toRecord(acc.overlap), anyTypeCharRecall: goldChars === 0 ? 1 : coveredChars / goldChars, examples: pairs.length };
}
