/**
 * Approximate token counts for pricing recorded outcomes whose token usage was not recorded
 * (RouteLLM's MMLU/GSM8K CSVs, MoT's sample files). It mimics the pre-tokenisation of OpenAI's
 * cl100k_base (words with their leading space, up to 3 digits, runs of punctuation, whitespace)
 * and counts one token per piece plus one per 8 characters beyond the first 8 of a long word.
 * On English prose and code it is within about ±10 % of tiktoken; it is NOT exact, and every
 * cost derived from it is labelled as an estimate in reports.
 */

const PIECE = /'(?:s|t|re|ve|m|ll|d)| ?[A-Za-z\u00C0-\uFFFF]+| ?\d{1,3}| ?[^\sA-Za-z\d\u00C0-\uFFFF]+|\s+/g;

/** Approximate number of cl100k tokens in `text` (0 for ""). */
export function approxTokens(text: string): number {
  let count = 0;
  for (const m of text.matchAll(PIECE)) {
    const piece = m[0];
    count += 1;
    const len = piece.trim().length;
    if (len > 8) count += Math.floor((len - 1) / 8);
  }
  return count;
}

/** USD cost of a call at per-million-token prices. */
export function usdOf(promptTokens: number, completionTokens: number, inputPerMillion: number, outputPerMillion: number): number {
  return (promptTokens * inputPerMillion + completionTokens * outputPerMillion) / 1e6;
}
