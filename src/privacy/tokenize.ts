/** Word tokenization with character offsets, for the BIO tagger. */

/** A token of a text: `text.slice(start, end) === value`. Offsets are UTF-16 indices. */
export interface Token {
  value: string;
  start: number;
  end: number;
  /** True when a line break lies between the previous token and this one. */
  newline: boolean;
}

const TOKEN_RE = /[\p{L}\p{M}]+|\p{N}+|[^\s\p{L}\p{M}\p{N}]/gu;

/** Splits `text` into runs of letters, runs of digits, and single other symbols. */
export function tokenize(text: string): Token[] {
  const out: Token[] = [];
  let last = 0;
  for (const m of text.matchAll(TOKEN_RE)) {
    const start = m.index ?? 0;
    out.push({ value: m[0], start, end: start + m[0].length, newline: text.slice(last, start).includes("\n") });
    last = start + m[0].length;
  }
  return out;
}
