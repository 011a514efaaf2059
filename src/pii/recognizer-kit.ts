/**
 * The parts every pattern recognizer is built from: the {@link PatternRecognizer} interface,
 * windowed scanning (bounded work per step, see the detector), context-word checks and span
 * construction. Presidio's `PatternRecognizer` is the model: a permissive pattern proposes, a
 * validator or checksum confirms, context words nearby raise the score.
 */
import type { EntityType, PiiSpan } from "./types.js";

/**
 * One structured-PII recognizer: returns candidate spans of `text`.
 *
 * Time: every built-in recognizer runs in time linear in `text.length` (no regular expression
 * here backtracks over more than a bounded stretch; see `patterns-time.test.ts`).
 */
export interface PatternRecognizer {
  readonly type: EntityType;
  /** All candidate spans of `text` (offsets into `text`). Synchronous. */
  find(text: string): PiiSpan[];
  /**
   * The same search in bounded steps, for callers that must yield between them (the detector):
   * each step's batch covers one window of the text (spans may repeat across overlapping
   * windows; `resolveOverlaps` drops the duplicates). On texts no longer than one window the
   * batches equal `find(text)`. Optional: recognizers without it are run with `find` in one step.
   */
  scan?(text: string): Iterable<PiiSpan[]>;
}

/** Window of the built-in regex recognizers' `scan`, UTF-16 units. */
export const SCAN_WINDOW = 32_768;
/** Overlap of consecutive windows: longer than any span they report (URLs ≤ 2,084, see `validator.isURL`) plus context. */
export const SCAN_OVERLAP = 4_096;

/**
 * Runs `find` over overlapping windows of `text` (`size` units, consecutive windows sharing
 * `overlap`), yielding each window's spans with offsets into `text`. One window when
 * `text.length <= size`.
 */
export function* scanWindows(text: string, find: (window: string) => PiiSpan[], size = SCAN_WINDOW, overlap = SCAN_OVERLAP): Generator<PiiSpan[]> {
  if (text.length <= size) {
    yield find(text);
    return;
  }
  const step = size - overlap;
  for (let from = 0; ; from += step) {
    const to = Math.min(text.length, from + size);
    yield find(text.slice(from, to)).map((s) => ({ ...s, start: s.start + from, end: s.end + from }));
    if (to === text.length) return;
  }
}

/**
 * A recognizer whose `scan` windows its (linear, whole-text) `find`. With `trigger`, a text (or
 * window) in which `trigger` does not match is answered with no spans without running `find`:
 * pass only a pattern that every span `find` can return must contain (a digit for numbers), so
 * the answer is the same, one quick pass over text without such a character.
 */
export function windowed(type: EntityType, find: (text: string) => PiiSpan[], trigger?: RegExp): PatternRecognizer {
  const gated = trigger ? (text: string) => (trigger.test(text) ? find(text) : []) : find;
  return { type, find: gated, scan: (text) => scanWindows(text, gated) };
}

/** An ASCII digit: in every span of the number recognizers (`windowed`'s `trigger`). */
export const HAS_DIGIT = /[0-9]/;

/** Words whose presence within `window` characters before `start` raises a score. */
export function hasContext(text: string, start: number, words: RegExp, window = 48): boolean {
  return words.test(text.slice(Math.max(0, start - window), start));
}

/** A pattern span of `text` from `start` to `end` (exclusive) with its score. */
export function span(text: string, start: number, end: number, type: EntityType, score: number): PiiSpan {
  return { start, end, type, text: text.slice(start, end), score, source: "pattern" };
}

/** Trims trailing punctuation a regex over-captured (`example.com.` → `example.com`). */
export function trimEnd(text: string, start: number, end: number): number {
  while (end > start && /[.,;:!?)\]}'"”’>]/.test(text[end - 1])) end--;
  return end;
}

/** Every match of `re` in `text` (a global copy of `re`; empty matches step over one unit). */
export function* matches(re: RegExp, text: string): Generator<RegExpExecArray> {
  const r = new RegExp(re.source, re.flags.includes("g") ? re.flags : re.flags + "g");
  let m: RegExpExecArray | null;
  while ((m = r.exec(text)) !== null) {
    if (m[0].length === 0) r.lastIndex++;
    yield m;
  }
}
