/**
 * A PII detector that reads normalised text (core/normalize.ts: invisible characters removed,
 * NFKC, look-alike letters folded) and reports spans over the original text, so redaction covers
 * the original characters (a zero-width space inside an e-mail included).
 */
import { normalize, type NormalizeOptions } from "../core/normalize.js";
import type { PiiDetector, PiiSpan } from "./types.js";

/**
 * Wraps a PII detector so it detects on {@link normalize}d text: spans are mapped back to the
 * original text (`start`/`end` over the original characters, zero-width characters inside a span
 * included; `text` is the original slice). Spans that would collapse to nothing are dropped.
 * Errors and aborts of `inner` propagate.
 * @example const detector = normalizingDetector(createDetector());
 */
export function normalizingDetector(inner: PiiDetector, options: NormalizeOptions = {}): PiiDetector {
  return {
    name: inner.name,
    async detect(text: string, signal?: AbortSignal): Promise<PiiSpan[]> {
      const norm = normalize(text, options);
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
