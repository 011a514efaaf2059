/**
 * A PII detector that reads normalised text (core/normalize.ts: invisible characters removed,
 * NFKC, look-alike letters folded) and reports spans over the original text, so redaction covers
 * the original characters (a zero-width space inside an e-mail included).
 */
import { identity, normalize, type NormalizedText, type NormalizeOptions } from "../core/normalize.js";
import type { PiiDetector, PiiSpan } from "./types.js";

/** Characters `normalize` leaves as they are (its own fast-path class: printable ASCII, tab, LF, CR). */
const DIRTY = /[^\x09\x0a\x0d\x20-\x7e]/g;

/** Share of characters outside printable ASCII above which {@link normalizePieces} normalises the whole text at once. */
const MAX_DIRTY_SHARE = 1 / 64;

/** ASCII whitespace: a piece boundary may follow it (see {@link normalizePieces}). */
function isBreak(c: number): boolean {
  return c === 32 || c === 9 || c === 10 || c === 13;
}

/** A stretch of the text: unchanged (`norm` undefined) or normalised by `normalize`. */
interface Piece {
  /** Start in the normalised text. */
  readonly at: number;
  /** Length in the normalised text. */
  readonly length: number;
  /** Start in the original text. */
  readonly from: number;
  readonly norm?: NormalizedText;
}

/**
 * `normalize(text, options)` (same `text`, `changed` and offset maps) computed only over the
 * stretches that hold a character outside printable ASCII/tab/LF/CR, each widened to the ASCII
 * whitespace around it. That is the same result: `normalize` works on a code point and the
 * combining marks after it, and folds look-alikes per word (a run of letters and marks), so
 * nothing it does reaches across an ASCII whitespace character followed by an ASCII character.
 * Costs a regex scan over clean text instead of a per-character copy with an offset map
 * (normalize.test.ts compares the two); text in which more than `maxDirtyShare` of the UTF-16
 * units are such characters (default 1/64; `Infinity` = never) is normalised whole. Linear time.
 */
export function normalizePieces(text: string, options: NormalizeOptions = {}, maxDirtyShare = MAX_DIRTY_SHARE): NormalizedText {
  const n = text.length;
  const dirty = new RegExp(DIRTY.source, "g");
  // Dense non-ASCII text (more than MAX_DIRTY_SHARE of it): pieces would cost more
  // than one whole-text pass (1 MB of "é a " or emoji: ≈ 3–17× more), so normalise it whole.
  for (let count = 0, limit = n * maxDirtyShare; dirty.exec(text); ) if (++count > limit) return normalize(text, options);
  dirty.lastIndex = 0;
  let m = dirty.exec(text);
  if (!m) return normalize(text, options); // its identity fast path
  const pieces: Piece[] = [];
  const parts: string[] = [];
  let at = 0;
  let pos = 0; // original text before `pos` is covered by pieces
  let changed = false;
  while (m) {
    // Region start: just after the last ASCII whitespace before the dirty character whose next character is ASCII.
    let start = m.index;
    while (start > pos && !(isBreak(text.charCodeAt(start - 1)) && text.charCodeAt(start) < 0x80)) start--;
    // Region end: the first position after it that follows ASCII whitespace and holds a clean ASCII character (or the end).
    let end = m.index + 1;
    for (;;) {
      while (end < n && !(isBreak(text.charCodeAt(end - 1)) && text.charCodeAt(end) < 0x80)) end++;
      dirty.lastIndex = end;
      m = dirty.exec(text);
      // A dirty character right at `end` (or a clean stretch too short to split) joins this region.
      if (m && m.index === end) {
        end++;
        continue;
      }
      break;
    }
    if (start > pos) {
      pieces.push({ at, length: start - pos, from: pos });
      parts.push(text.slice(pos, start));
      at += start - pos;
    }
    // A trailing zero-width space (removed, joins no cluster or word) makes `normalize` build its
    // offset map even when the stretch comes out unchanged: an unchanged cluster of several units
    // (a surrogate pair, a letter and a mark without a composed form) maps every unit to the whole
    // cluster, as in `normalize(text)`, not to itself.
    const region = text.slice(start, end);
    const norm = normalize(region + "\u200b", options);
    if (norm.text !== region) changed = true;
    pieces.push({ at, length: norm.text.length, from: start, norm });
    parts.push(norm.text);
    at += norm.text.length;
    pos = end;
  }
  if (pos < n) {
    pieces.push({ at, length: n - pos, from: pos });
    parts.push(text.slice(pos));
    at += n - pos;
  }
  if (!changed) return identity(text);
  const normalized = parts.join("");
  const total = at;
  const check = (k: number) => {
    if (!Number.isInteger(k) || k < 0 || k > total) throw new RangeError(`offset ${k} outside [0, ${total}]`);
  };
  // The piece holding normalised unit k (0 ≤ k < total).
  const pieceAt = (k: number) => {
    let lo = 0;
    let hi = pieces.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (pieces[mid].at <= k) lo = mid;
      else hi = mid - 1;
    }
    return pieces[lo];
  };
  // Original start / end of normalised unit k.
  const startOf = (k: number) => {
    const p = pieceAt(k);
    return p.from + (p.norm ? p.norm.toOriginal(k - p.at) : k - p.at);
  };
  const endOf = (k: number) => {
    const p = pieceAt(k);
    return p.from + (p.norm ? p.norm.originalSpan(k - p.at, k - p.at + 1).end : k - p.at + 1);
  };
  return {
    text: normalized,
    original: text,
    changed: true,
    toOriginal(k) {
      check(k);
      return k === total ? n : startOf(k);
    },
    originalSpan(start, end) {
      check(start);
      check(end);
      if (end < start) throw new RangeError(`span end ${end} before start ${start}`);
      if (start === end) {
        const o = start === total ? n : startOf(start);
        return { start: o, end: o };
      }
      return { start: startOf(start), end: endOf(end - 1) };
    },
  };
}



/**
 * Wraps a PII detector so it detects on {@link normalize}d text: spans are mapped back to the
 * original text (`start`/`end` over the original characters, zero-width characters inside a span
 * included; `text` is the original slice). Spans that would collapse to nothing are dropped.
 * Errors and aborts of `inner` propagate. Normalises with {@link normalizePieces} (the same
 * result, computed only around the characters outside printable ASCII).
 * @example const detector = normalizingDetector(createDetector());
 */
export function normalizingDetector(inner: PiiDetector, options: NormalizeOptions = {}): PiiDetector {
  return {
    name: inner.name,
    async detect(text: string, signal?: AbortSignal): Promise<PiiSpan[]> {
      const norm = normalizePieces(text, options);
      const spans = await inner.detect(norm.text, signal);
      if (!norm.changed) return spans;
      const out: PiiSpan[] = [];
      for (const s of spans) {
        const { start, end } = norm.originalSpan(s.start, s.end);
        if (end > start) out.push({ ...s, start, end, text: text.slice(start, end) });
      }
      return out;
    },
  };
}
