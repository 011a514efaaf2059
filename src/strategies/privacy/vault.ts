/**
 * The placeholder vault of hide-and-seek (HaS, Chen et al. 2023, "Hide and Seek (HaS): A
 * Lightweight Framework for Prompt Privacy Protection"): private values are replaced by typed
 * placeholders before text leaves the device, and restored in the answer on the device.
 *
 * Placeholders look like `[PERSON_1_k7q2x]`: the entity type, a per-type counter and a random
 * per-vault nonce. The nonce makes them unforgeable: text the user typed (`[PERSON_1]`, or a guess
 * at another request's placeholder) never matches, so it is neither restored into a private value
 * nor mistaken for one; {@link PlaceholderVault.forText} picks a nonce that occurs nowhere in the
 * request. Hiding is one pass over the original text, so a value is never replaced inside a
 * placeholder (no nesting such as `[AGE_[AGE_2]]`), and `restore(hide(x)) === x` for any text and
 * any spans (property-tested in vault.test.ts). The same value (after trimming) always gets the
 * same placeholder within one vault, so the remote model sees a consistent conversation. The vault
 * lives only in memory for one request.
 */
import type { EntityType, PiiSpan } from "../../pii/types.js";

/**
 * Matches a placeholder of any vault (any nonce); group 1 = type, group 2 = counter, group 3 =
 * nonce. For detection of leftovers (the guard's output check); restoring uses the vault's own.
 */
export const PLACEHOLDER_RE = /\[([A-Z][A-Z_]*?)_(\d{1,6})_([a-z0-9]{5})\]/g;

/** Longest placeholder the stream restorer waits for, in characters. */
export const MAX_PLACEHOLDER_LENGTH = 40;

/** Nonce alphabet: lower-case consonants and digits without look-alikes (no words, no 0/o, 1/l). */
const NONCE_ALPHABET = "bcdfghjkmnpqrstvwxz23456789";
const NONCE_LENGTH = 5;

/** A fresh random nonce (Web Crypto: works in Node ≥ 20 and in browsers). */
export function randomNonce(): string {
  const bytes = new Uint8Array(NONCE_LENGTH);
  globalThis.crypto.getRandomValues(bytes);
  let out = "";
  for (const b of bytes) out += NONCE_ALPHABET[b % NONCE_ALPHABET.length];
  return out;
}

/** Values shorter than this are hidden only where detected (never searched for elsewhere). */
const MIN_KNOWN_LENGTH = 2;
/** Known values shorter than this are searched for only at word boundaries ("22" not inside "2022"). */
const WORD_BOUNDED_BELOW = 4;

const isWordChar = (ch: string | undefined) => ch !== undefined && /[\p{L}\p{N}]/u.test(ch);

/** A value ↔ placeholder table for one conversation. */
export class PlaceholderVault {
  private readonly byValue = new Map<string, string>();
  private readonly byPlaceholder = new Map<string, { value: string; type: EntityType }>();
  private readonly counters = new Map<string, number>();
  /** The per-vault nonce inside every placeholder (5 characters of [b-z2-9]). */
  readonly nonce: string;
  private readonly own: RegExp;

  /** @param nonce fixed nonce (tests); default a random one — prefer {@link PlaceholderVault.forText}. */
  constructor(nonce: string = randomNonce()) {
    if (!/^[a-z0-9]{5}$/.test(nonce)) throw new Error(`placeholder nonce must be 5 characters of [a-z0-9], got ${JSON.stringify(nonce)}`);
    this.nonce = nonce;
    this.own = new RegExp(`\\[([A-Z][A-Z_]*?)_(\\d{1,6})_${nonce}\\]`, "g");
  }

  /**
   * A vault whose nonce occurs nowhere in `text` (e.g. the whole serialized request), so no text
   * of the request can contain, or be mistaken for, one of its placeholders.
   */
  static forText(text: string): PlaceholderVault {
    for (;;) {
      const nonce = randomNonce();
      if (!text.includes(nonce)) return new PlaceholderVault(nonce);
    }
  }

  /** The placeholder of `value`, created on first use. */
  placeholderFor(value: string, type: EntityType): string {
    const key = value.trim();
    const existing = this.byValue.get(key);
    if (existing) return existing;
    const n = (this.counters.get(type) ?? 0) + 1;
    this.counters.set(type, n);
    const placeholder = `[${type}_${n}_${this.nonce}]`;
    this.byValue.set(key, placeholder);
    this.byPlaceholder.set(placeholder, { value: key, type });
    return placeholder;
  }

  /** Number of distinct private values hidden. */
  get size(): number {
    return this.byValue.size;
  }

  /** Distinct values per entity type (counts only — never the values). */
  typeCounts(): Record<string, number> {
    return Object.fromEntries(this.counters);
  }

  /** The hidden values (for tests and leak checks on the device). */
  values(): string[] {
    return [...this.byValue.keys()];
  }

  /** The original value of `placeholder`, or undefined when unknown. */
  valueOf(placeholder: string): string | undefined {
    return this.byPlaceholder.get(placeholder)?.value;
  }

  /** The placeholders of this vault, in creation order. */
  placeholders(): string[] {
    return [...this.byPlaceholder.keys()];
  }

  /**
   * Replaces `spans` of `text` (sorted by start; overlapping ones after the first are skipped) by
   * placeholders, and every other occurrence of a value already in the vault (so a value detected
   * once is hidden everywhere) — all in one pass over the original `text`, so nothing is ever
   * replaced inside a placeholder. Values of 2–3 characters are matched only at word boundaries;
   * single characters only where detected. Time: O(|text| × values in the vault).
   */
  hide(text: string, spans: readonly PiiSpan[] = []): string {
    const cuts: Array<{ start: number; end: number; placeholder: string }> = [];
    const covered = new Uint8Array(text.length);
    const free = (start: number, end: number) => {
      for (let i = start; i < end; i++) if (covered[i]) return false;
      return true;
    };
    const take = (start: number, end: number, placeholder: string) => {
      covered.fill(1, start, end);
      cuts.push({ start, end, placeholder });
    };
    for (const s of spans) {
      if (s.start < 0 || s.end > text.length || s.end <= s.start) continue;
      const value = text.slice(s.start, s.end);
      if (value.trim().length === 0) continue;
      const start = s.start + (value.length - value.trimStart().length);
      const end = s.end - (value.length - value.trimEnd().length);
      if (!free(start, end)) continue;
      take(start, end, this.placeholderFor(value, s.type));
    }
    const known = [...this.byValue.keys()].filter((v) => v.length >= MIN_KNOWN_LENGTH).sort((a, b) => b.length - a.length);
    for (const v of known) {
      const bounded = v.length < WORD_BOUNDED_BELOW;
      for (let at = text.indexOf(v); at >= 0; at = text.indexOf(v, at + 1)) {
        const end = at + v.length;
        if (bounded && ((isWordChar(v[0]) && isWordChar(text[at - 1])) || (isWordChar(v[v.length - 1]) && isWordChar(text[end])))) continue;
        if (!free(at, end)) continue;
        take(at, end, this.byValue.get(v)!);
      }
    }
    if (cuts.length === 0) return text;
    cuts.sort((a, b) => a.start - b.start);
    let out = "";
    let last = 0;
    for (const c of cuts) {
      out += text.slice(last, c.start) + c.placeholder;
      last = c.end;
    }
    return out + text.slice(last);
  }

  /** Replaces every occurrence of a known value by its placeholder (one pass; see {@link hide}). */
  hideKnown(text: string): string {
    return this.hide(text, []);
  }

  /**
   * Restores this vault's placeholders in `text`, in one pass (a restored value is never scanned
   * again). With `json: true` the values are inserted JSON-string escaped (for tool-call
   * arguments, where a placeholder can only sit inside a string literal). Placeholders of other
   * vaults, and placeholder-like text the user typed, are left as they are.
   */
  restore(text: string, options: { json?: boolean } = {}): string {
    if (!text.includes(this.nonce)) return text;
    return text.replace(this.own, (m) => {
      const v = this.byPlaceholder.get(m)?.value;
      if (v === undefined) return m;
      return options.json ? JSON.stringify(v).slice(1, -1) : v;
    });
  }

  /** True when `tail` could still grow into one of this vault's placeholders. */
  couldBePlaceholderPrefix(tail: string): boolean {
    if (tail.length >= MAX_PLACEHOLDER_LENGTH || tail[0] !== "[") return false;
    const m = /^\[(?:[A-Z][A-Z_]*(?:_(\d{0,6}(?:_([a-z0-9]{0,5}))?)?)?)?$/.exec(tail);
    if (!m) return false;
    const nonce = m[2];
    return nonce === undefined || this.nonce.startsWith(nonce);
  }
}

/**
 * Restores placeholders in a stream of text fragments, holding back a suffix that could be the
 * start of a placeholder split across chunk boundaries (at most {@link MAX_PLACEHOLDER_LENGTH}
 * characters), so the caller never sees half a placeholder.
 */
export class StreamRestorer {
  private buffer = "";

  constructor(
    private readonly vault: PlaceholderVault,
    private readonly options: { json?: boolean } = {},
  ) {}

  /** Feeds a fragment; returns the text safe to emit now (possibly ""). */
  push(fragment: string): string {
    this.buffer += fragment;
    // Hold back from the last "[" if what follows could still grow into a placeholder.
    const open = this.buffer.lastIndexOf("[");
    if (open >= 0 && this.vault.couldBePlaceholderPrefix(this.buffer.slice(open))) {
      const ready = this.buffer.slice(0, open);
      this.buffer = this.buffer.slice(open);
      return this.vault.restore(ready, this.options);
    }
    const out = this.vault.restore(this.buffer, this.options);
    this.buffer = "";
    return out;
  }

  /** Returns whatever is still held back (restored where possible). */
  flush(): string {
    const out = this.vault.restore(this.buffer, this.options);
    this.buffer = "";
    return out;
  }
}
