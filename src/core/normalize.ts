/**
 * Text normalisation before detection: what a model reads is not what a naive regex or n-gram
 * model sees. "jo\u200Bhn@exa\u200Bmple.com" (zero-width spaces), "Jоhn" (Cyrillic о), "０１２"
 * (fullwidth digits) and "h0w t0 m4k3 a b 0 m b" all read the same to a model as their plain forms.
 *
 * - {@link normalize}: for detectors whose offsets matter (PII). Removes invisible characters,
 *   applies Unicode NFKC per cluster (a starter and its combining marks), folds decimal digits of
 *   any script to ASCII, decodes Unicode tag characters (U+E0020–E007E, "ASCII smuggling") to the
 *   ASCII they hide, and folds Cyrillic/Greek/Armenian/Cherokee look-alike letters to Latin in
 *   words that are Latin or could be (see {@link foldConfusables}). Case is preserved. Every
 *   normalised UTF-16 unit maps back to the original range it came from, so spans found in the
 *   normalised text can be redacted in the original.
 * - {@link foldForClassifier}: for classifiers whose offsets do not matter (the guard). On top
 *   of `normalize`: accents and other combining marks stripped, lower-cased, leetspeak inside
 *   words folded ("m4k3" → "make"), letters spelled out with spaces or dots joined ("k i l l",
 *   "k.i.l.l" → "kill").
 * - `normalizingDetector` (src/pii/normalizing-detector.ts) wraps a PII detector so it detects on
 *   normalised text and reports spans over the original text.
 *
 * Pure TypeScript (no Node APIs: `String.prototype.normalize` and Unicode regexes only), linear
 * time and memory in the input length.
 */

/** A normalised text with its map back to the original. */
export interface NormalizedText {
  /** The normalised text. */
  readonly text: string;
  /** The original text. */
  readonly original: string;
  /** False when `text === original` (the common case; then offsets are the identity). */
  readonly changed: boolean;
  /**
   * Original offset (UTF-16 index) where the character at normalised index `i` comes from;
   * `i === text.length` maps to `original.length`. Throws `RangeError` outside `[0, text.length]`.
   */
  toOriginal(i: number): number;
  /**
   * The original range `[start, end)` covering normalised `[start, end)`: from the start of the
   * first character's source to the end of the last one's, so characters removed inside the range
   * (zero-width spaces) are included, those at its edges are not. Throws `RangeError` on a bad range.
   */
  originalSpan(start: number, end: number): { start: number; end: number };
}

/** Options of {@link normalize}. */
export interface NormalizeOptions {
  /** Fold look-alike letters of other scripts to Latin ({@link foldConfusables}). @default true */
  confusables?: boolean;
}

/**
 * True for code points that render as nothing (or only steer rendering) and are removed:
 * zero-width space/joiners and direction marks U+200B–U+200F, word joiner and invisible operators
 * U+2060–U+2064, U+FEFF, soft hyphen U+00AD, combining grapheme joiner U+034F, Arabic letter mark
 * U+061C, Mongolian vowel separator U+180E, Hangul fillers, bidi embeddings/overrides U+202A–U+202E
 * and isolates U+2066–U+2069, deprecated format chars U+206A–U+206F, variation selectors
 * (U+FE00–U+FE0F, U+E0100–U+E01EF), tag controls U+E0000–U+E001F and U+E007F.
 */
export function isInvisible(cp: number): boolean {
  if (cp < 0xad) return false;
  return (
    cp === 0xad ||
    cp === 0x34f ||
    cp === 0x61c ||
    cp === 0x115f ||
    cp === 0x1160 ||
    cp === 0x17b4 ||
    cp === 0x17b5 ||
    cp === 0x180e ||
    (cp >= 0x200b && cp <= 0x200f) ||
    (cp >= 0x202a && cp <= 0x202e) ||
    (cp >= 0x2060 && cp <= 0x206f) ||
    cp === 0x3164 ||
    (cp >= 0xfe00 && cp <= 0xfe0f) ||
    cp === 0xfeff ||
    cp === 0xffa0 ||
    (cp >= 0xe0000 && cp <= 0xe001f) ||
    cp === 0xe007f ||
    (cp >= 0xe0100 && cp <= 0xe01ef)
  );
}

/**
 * Look-alikes of Latin letters in other scripts (after NFKC, which already folds fullwidth,
 * mathematical, circled and small-capital-free compatibility forms). A compact subset of Unicode
 * UTS #39 confusables restricted to letters that are visually identical or nearly so.
 */
const CONFUSABLES: Record<string, string> = {
  // Cyrillic
  А: "A", В: "B", Е: "E", К: "K", М: "M", Н: "H", О: "O", Р: "P", С: "C", Т: "T", Х: "X", У: "Y", Ү: "Y", Ѕ: "S", І: "I", Ӏ: "I", Ј: "J", Ԛ: "Q", Ԝ: "W", Һ: "H", Ԁ: "D", Ԍ: "G", Ꙅ: "S",
  а: "a", е: "e", о: "o", р: "p", с: "c", у: "y", ү: "y", х: "x", ѕ: "s", і: "i", ӏ: "l", ј: "j", ԛ: "q", ԝ: "w", һ: "h", ԁ: "d", ь: "b", ɡ: "g", ӧ: "o", ӓ: "a", ё: "e", ї: "i",
  // Greek
  Α: "A", Β: "B", Ε: "E", Ζ: "Z", Η: "H", Ι: "I", Κ: "K", Μ: "M", Ν: "N", Ο: "O", Ρ: "P", Τ: "T", Υ: "Y", Χ: "X", Ϲ: "C", Ϳ: "J",
  α: "a", ο: "o", ν: "v", ι: "i", κ: "k", ρ: "p", υ: "u", χ: "x", ϲ: "c", ϳ: "j", ε: "e", τ: "t", γ: "y", ω: "w",
  // Armenian
  օ: "o", ս: "u", հ: "h", ո: "n", ց: "g", զ: "q", ա: "w", Տ: "S", Օ: "O", Ս: "U",
  // Cherokee (capitals look like Latin capitals)
  Ꭺ: "A", Ᏼ: "B", Ꮯ: "C", Ꭰ: "D", Ꭼ: "E", Ꮐ: "G", Ꮋ: "H", Ꭻ: "J", Ꮶ: "K", Ꮮ: "L", Ꮇ: "M", Ꮲ: "P", Ꮪ: "S", Ꭲ: "T", Ꮩ: "V", Ꮃ: "W", Ꮓ: "Z",
  // Latin letters that stand in for ASCII ones
  ı: "i", ȷ: "j", ɑ: "a", ɩ: "i", ʏ: "y", ᴀ: "A", ʙ: "B", ᴄ: "C", ᴅ: "D", ᴇ: "E", ɢ: "G", ʜ: "H", ɪ: "I", ᴊ: "J", ᴋ: "K", ʟ: "L", ᴍ: "M", ɴ: "N", ᴏ: "O", ᴘ: "P", ʀ: "R", ꜱ: "S", ᴛ: "T", ᴜ: "U", ᴠ: "V", ᴡ: "W", ᴢ: "Z",
};

const WORD_RE = /[\p{L}\p{M}]+/gu;
const MARK_RE = /^\p{M}$/u;
const DIGIT_RE = /^\p{Nd}$/u;
const ASCII_LETTER_RE = /[A-Za-z]/;

/**
 * Folds look-alike letters to Latin, word by word: a word (a run of letters and marks) is folded
 * when it already contains an ASCII letter ("Jоhn" with a Cyrillic о), or when every letter in it
 * has a Latin look-alike ("сор" written all in Cyrillic). Words of a real other-script text keep
 * their letters ("Привет": П has no look-alike). Length-preserving (every entry is one BMP unit
 * to one ASCII unit), so offsets do not move.
 */
export function foldConfusables(text: string): string {
  if (!/[^\x00-\x7f]/.test(text)) return text;
  return text.replace(WORD_RE, (word) => {
    let any = false;
    let all = true;
    for (const ch of word) {
      if (CONFUSABLES[ch] !== undefined) any = true;
      else if (!(ch < "\x80") && !MARK_RE.test(ch)) all = false;
    }
    if (!any || (!all && !ASCII_LETTER_RE.test(word))) return word;
    let out = "";
    for (const ch of word) out += CONFUSABLES[ch] ?? ch;
    return out;
  });
}

/** ASCII value of a decimal digit of any script ("٣" → "3"), or undefined. Bounded: ≤ 10 steps. */
function asciiDigit(ch: string): string | undefined {
  if (!DIGIT_RE.test(ch)) return undefined;
  const cp = ch.codePointAt(0)!;
  // Decimal digits come in contiguous runs of ten starting at zero; find this run's zero.
  let zero = cp;
  while (cp - zero < 9 && DIGIT_RE.test(String.fromCodePoint(zero - 1))) zero--;
  // Adjacent runs (e.g. after the one ending here) keep `zero` within 9 of cp; use the remainder.
  return String((cp - zero) % 10);
}

/** Growable pair of offset arrays. */
class OffsetMap {
  starts: Int32Array;
  ends: Int32Array;
  length = 0;
  constructor(capacity: number) {
    this.starts = new Int32Array(Math.max(16, capacity));
    this.ends = new Int32Array(Math.max(16, capacity));
  }
  push(units: number, start: number, end: number): void {
    if (this.length + units > this.starts.length) {
      const cap = Math.max(this.starts.length * 2, this.length + units);
      const s = new Int32Array(cap);
      const e = new Int32Array(cap);
      s.set(this.starts.subarray(0, this.length));
      e.set(this.ends.subarray(0, this.length));
      this.starts = s;
      this.ends = e;
    }
    for (let k = 0; k < units; k++) {
      this.starts[this.length] = start;
      this.ends[this.length++] = end;
    }
  }
}

/** Longest run of combining marks normalised together with their base (longer "zalgo" runs are split). */
const MAX_CLUSTER = 32;
/** NFKC results longer than this many times their source are dropped (keeps output ≤ 4× input; e.g. U+FDFA expands to 18). */
const MAX_EXPANSION = 4;

/**
 * Normalises `text` for detection (see module docs). Linear time; memory ≤ 4× the input for the
 * text plus two 32-bit offsets per output unit. Unpaired surrogates are kept as they are.
 * @example normalize("jo\u200Bhn@ex\u0430mple.com").text === "john@example.com"
 */
export function normalize(text: string, options: NormalizeOptions = {}): NormalizedText {
  const n = text.length;
  // Fast path: printable ASCII and ordinary whitespace need nothing.
  if (!/[^\x09\x0a\x0d\x20-\x7e]/.test(text)) return identity(text);
  const map = new OffsetMap(n + 16);
  const pieces: string[] = [];
  let i = 0;
  while (i < n) {
    const cp = text.codePointAt(i)!;
    const len = cp > 0xffff ? 2 : 1;
    if (cp < 0x80 && !(i + 1 < n && text.charCodeAt(i + 1) >= 0x300 && MARK_RE.test(String.fromCodePoint(text.codePointAt(i + 1)!)))) {
      pieces.push(text[i]);
      map.push(1, i, i + 1);
      i += 1;
      continue;
    }
    if (isInvisible(cp)) {
      i += len;
      continue;
    }
    if (cp >= 0xe0020 && cp <= 0xe007e) {
      // Tag characters spell ASCII invisibly; models read them, so detectors must too.
      pieces.push(String.fromCharCode(cp - 0xe0000));
      map.push(1, i, i + len);
      i += len;
      continue;
    }
    // A cluster: this code point and the combining marks after it (NFKC composes across them).
    let j = i + len;
    for (let count = 1; j < n && count < MAX_CLUSTER; count++) {
      const c2 = text.codePointAt(j)!;
      if (c2 < 0x300 || isInvisible(c2) || !MARK_RE.test(String.fromCodePoint(c2))) break;
      j += c2 > 0xffff ? 2 : 1;
    }
    const seg = text.slice(i, j);
    let nf = seg.normalize("NFKC");
    if (nf.length > MAX_EXPANSION * seg.length) nf = seg;
    let out = "";
    for (const ch of nf) {
      const d = ch > "\x7f" ? asciiDigit(ch) : undefined;
      out += d ?? ch;
    }
    pieces.push(out);
    map.push(out.length, i, j);
    i = j;
  }
  let normalized = pieces.join("");
  if (options.confusables !== false) normalized = foldConfusables(normalized);
  if (normalized === text) return identity(text);
  const { starts, ends } = map;
  const m = normalized.length;
  const check = (k: number, max: number) => {
    if (!Number.isInteger(k) || k < 0 || k > max) throw new RangeError(`offset ${k} outside [0, ${max}]`);
  };
  return {
    text: normalized,
    original: text,
    changed: true,
    toOriginal(k) {
      check(k, m);
      return k === m ? n : starts[k];
    },
    originalSpan(start, end) {
      check(start, m);
      check(end, m);
      if (end < start) throw new RangeError(`span end ${end} before start ${start}`);
      if (start === end) return { start: start === m ? n : starts[start], end: start === m ? n : starts[start] };
      return { start: starts[start], end: ends[end - 1] };
    },
  };
}

/** `normalize`'s result for a text it leaves unchanged: offsets map to themselves (RangeError outside [0, text.length]). */
export function identity(text: string): NormalizedText {
  const n = text.length;
  const check = (k: number) => {
    if (!Number.isInteger(k) || k < 0 || k > n) throw new RangeError(`offset ${k} outside [0, ${n}]`);
  };
  return {
    text,
    original: text,
    changed: false,
    toOriginal(k) {
      check(k);
      return k;
    },
    originalSpan(start, end) {
      check(start);
      check(end);
      if (end < start) throw new RangeError(`span end ${end} before start ${start}`);
      return { start, end };
    },
  };
}


// ---------------------------------------------------------------------------------------------
// Folding for classifiers (no offsets).

const LEET: Record<string, string> = { "0": "o", "1": "i", "3": "e", "4": "a", "5": "s", "7": "t", "8": "b", "9": "g", "@": "a", $: "s", "!": "i", "|": "l", "+": "t", "€": "e" };
const LETTER_RE = /^\p{L}$/u;
const LEADING_PUNCT = "\"'([{<«“‘¿¡*_";
const TRAILING_PUNCT = "\"'.,;:?!)]}>»”’…*_";
const SPELL_SEPARATORS = ".-_*·•~";
/** Digits-then-unit tokens ("5th", "3d", "10am", "24h") and plain numbers are not leetspeak. */
const NOT_LEET_RE = /^(?:\d+[a-z]{1,3}|\d+(?:[.,]\d+)*)$/;

const isLetter = (ch: string) => (ch >= "a" && ch <= "z") || (ch > "\x7f" && LETTER_RE.test(ch));
const leetOf = (ch: string) => (isLetter(ch) ? ch : LEET[ch]);

/** Leetspeak folding of one token core (lower-case), or the core unchanged. */
function foldLeet(core: string): string {
  let letters = 0;
  let leet = 0;
  for (const ch of core) {
    if (isLetter(ch)) letters++;
    else if (LEET[ch] !== undefined) leet++;
    else if (ch !== "'" && ch !== "-") return core;
  }
  if (letters === 0 || leet === 0 || NOT_LEET_RE.test(core)) return core;
  let out = "";
  const chars = [...core];
  for (let k = 0; k < chars.length; k++) {
    const ch = chars[k];
    // "ki11" → "kill": a run of ones reads as l's, a single one as i ("k1ll").
    if (ch === "1" && (chars[k - 1] === "1" || chars[k + 1] === "1")) out += "l";
    else out += LEET[ch] ?? ch;
  }
  return out;
}

/** "k.i.l.l" / "k-1-l-l" (one separator repeated, ≥ 3 letters) → "kill"; otherwise undefined. */
function joinSpelled(core: string): string | undefined {
  const chars = [...core];
  if (chars.length < 5 || chars.length % 2 === 0) return undefined;
  const sep = chars[1];
  if (!SPELL_SEPARATORS.includes(sep)) return undefined;
  let out = "";
  let letters = 0;
  for (let k = 0; k < chars.length; k++) {
    const ch = chars[k];
    if (k % 2 === 1) {
      if (ch !== sep) return undefined;
      continue;
    }
    const l = leetOf(ch);
    if (l === undefined) return undefined;
    if (isLetter(ch)) letters++;
    out += l;
  }
  return letters >= 2 ? out : undefined;
}

interface Token {
  lead: string;
  core: string;
  trail: string;
  /** Whitespace before this token. */
  gap: string;
}

/**
 * The text a classifier should score: {@link normalize}d, combining marks stripped, lower-cased,
 * leetspeak inside words folded ("h0w t0 m4k3" → "how to make"; numbers such as "3 cats", "5th",
 * "1.5" are left alone), and spelled-out words joined: runs of ≥ 2 single letters
 * separated by the same whitespace gap ("k i l l", "b  o  m  b") or by one repeated separator
 * ("k.i.l.l", "k-i-l-l"). Offsets are not kept. Linear time.
 * @example foldForClassifier("H0w t0 m4k3 a b o m b") === "how to make a bomb"
 */
export function foldForClassifier(text: string): string {
  const plain = normalize(text).text.normalize("NFD").replace(/\p{M}+/gu, "").toLowerCase();
  const tokens: Token[] = [];
  const re = /(\s*)(\S+)/gy;
  let m: RegExpExecArray | null;
  let tail = "";
  let last = 0;
  while ((m = re.exec(plain)) !== null) {
    last = re.lastIndex;
    const raw = m[2];
    let a = 0;
    let b = raw.length;
    while (a < b && LEADING_PUNCT.includes(raw[a])) a++;
    while (b > a && TRAILING_PUNCT.includes(raw[b - 1])) b--;
    tokens.push({ gap: m[1], lead: raw.slice(0, a), core: raw.slice(a, b), trail: raw.slice(b) });
  }
  tail = plain.slice(last);
  const single = (t: Token) => t.core.length === 1 && leetOf(t.core) !== undefined;
  const out: string[] = [];
  for (let k = 0; k < tokens.length; ) {
    const t = tokens[k];
    // Single letters spelled out: "k i l l", "h o w  t o" (the smallest gap joins, larger gaps separate words).
    if (single(t)) {
      let e = k + 1;
      const joinable = (x: Token, prev: Token) => single(x) && x.gap.length <= 3 && !x.gap.includes("\n") && prev.trail === "" && x.lead === "";
      while (e < tokens.length && joinable(tokens[e], tokens[e - 1])) e++;
      if (e - k >= 2) {
        let g = Infinity;
        for (let q = k + 1; q < e; q++) g = Math.min(g, tokens[q].gap.length);
        for (let a = k; a < e; ) {
          let b = a + 1;
          while (b < e && tokens[b].gap.length === g) b++;
          const run = tokens.slice(a, b);
          const joined = run.length >= 2 && run.filter((x) => isLetter(x.core)).length >= 2;
          if (joined) out.push(run[0].gap, run[0].lead, run.map((x) => leetOf(x.core)).join(""), run[run.length - 1].trail);
          else for (const x of run) out.push(x.gap, x.lead, x.core, x.trail);
          a = b;
        }
        k = e;
        continue;
      }
    }
    out.push(t.gap, t.lead, joinSpelled(t.core) ?? foldLeet(t.core), t.trail);
    k++;
  }
  out.push(tail);
  return out.join("");
}
