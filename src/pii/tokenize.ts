/** Word tokenization with character offsets, for the BIO tagger. Linear time. */

/** A token of a text: `text.slice(start, end) === value`. Offsets are UTF-16 indices. */
export interface Token {
  value: string;
  start: number;
  end: number;
  /** True when a line break lies between the previous token and this one. */
  newline: boolean;
}

const TOKEN_RE = /[\p{L}\p{M}]+|\p{N}+|[^\s\p{L}\p{M}\p{N}]/gu;

/**
 * Tokens of `text` one at a time (runs of letters, runs of digits, single other symbols), for
 * callers that process a long text in steps. Same tokens as {@link tokenize}.
 */
export function* tokenStream(text: string): Generator<Token> {
  const re = new RegExp(TOKEN_RE.source, TOKEN_RE.flags);
  let last = 0;
  let nl = text.indexOf("\n"); // the first line break at or after `last` (-1: none)
  let m: RegExpExecArray | null;
  while ((m = re.exec(text)) !== null) {
    const start = m.index;
    if (nl >= 0 && nl < last) nl = text.indexOf("\n", last);
    yield { value: m[0], start, end: start + m[0].length, newline: nl >= 0 && nl < start };
    last = start + m[0].length;
  }
}

/** Splits `text` into runs of letters, runs of digits, and single other symbols. */
export function tokenize(text: string): Token[] {
  return [...tokenStream(text)];
}
