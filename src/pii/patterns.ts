/**
 * Pattern recognizers for structured PII, in the manner of Presidio's pattern recognizers:
 * a permissive regular expression proposes candidates, a maintained validator confirms them
 * (`validator` for e-mail, IP, IBAN, Luhn, URL/FQDN; `libphonenumber-js` for phone numbers),
 * and context words nearby raise the score. Scores are in [0, 1]; checksum-validated matches
 * score ≥ 0.95.
 */
import validator from "validator";
import { findNumbers, isValidPhoneNumber, PhoneNumberMatcher, type CountryCode } from "libphonenumber-js/max";
import type { EntityType, PiiSpan } from "./types.js";
import { ID_RECOGNIZERS } from "./id-recognizers.js";
import { HAS_DIGIT, hasContext, matches, scanWindows, span, trimEnd, windowed, type PatternRecognizer } from "./recognizer-kit.js";

export { SCAN_OVERLAP, SCAN_WINDOW, scanWindows, type PatternRecognizer } from "./recognizer-kit.js";

const LOCAL_CHAR = /^[\p{L}\p{N}._%+-]$/u;
const DOMAIN_CHAR = /^[\p{L}\p{N}.-]$/u;
const LETTER = /^\p{L}$/u;
const LABEL_START = /^[\p{L}\p{N}]$/u;

/** The code point starting at `i` (one or two UTF-16 units); "" past the end. */
function cpAt(text: string, i: number): string {
  const c = text.charCodeAt(i);
  if (c >= 0xd800 && c <= 0xdbff && i + 1 < text.length) {
    const d = text.charCodeAt(i + 1);
    if (d >= 0xdc00 && d <= 0xdfff) return text.slice(i, i + 2);
  }
  return text.charAt(i);
}

/** The code point ending just before `i`; "" at 0. */
function cpBefore(text: string, i: number): string {
  if (i <= 0) return "";
  const d = text.charCodeAt(i - 1);
  if (d >= 0xdc00 && d <= 0xdfff && i >= 2) {
    const c = text.charCodeAt(i - 2);
    if (c >= 0xd800 && c <= 0xdbff) return text.slice(i - 2, i);
  }
  return text.charAt(i - 1);
}

/** End of the run of code points matching `re` that starts at `i`. */
function runEnd(text: string, i: number, re: RegExp): number {
  while (i < text.length) {
    const cp = cpAt(text, i);
    if (!re.test(cp)) break;
    i += cp.length;
  }
  return i;
}

/** Length (code points) of the run of letters at `i`, and its end; stops at `limit`. */
function letterRun(text: string, i: number, limit: number): { count: number; end: number } {
  let count = 0;
  while (i < limit) {
    const cp = cpAt(text, i);
    if (!LETTER.test(cp)) break;
    i += cp.length;
    count++;
  }
  return { count, end: i };
}

/** Longest e-mail candidate `validator.isEmail` accepts (its `defaultMaxEmailLength`). */
const MAX_EMAIL = 254;
/** Longest local part it accepts (64 bytes of UTF-8, hence at most 64 UTF-16 units). */
const MAX_LOCAL = 64;

/**
 * E-mail candidates, exactly the matches of the former
 * `/[\p{L}\p{N}._%+-]+@[\p{L}\p{N}.-]+\.\p{L}{2,}/gu` (leftmost, greedy, non-overlapping)
 * but found in linear time: anchored on each '@', the local part is read leftwards (at most
 * MAX_LOCAL + 1 units: longer ones fail validation anyway) and the domain run rightwards once.
 * Candidates that could not pass `validator.isEmail` (too long) are reported with `tooLong`.
 */
function emailCandidates(text: string): Array<{ start: number; end: number; tooLong: boolean }> {
  const out: Array<{ start: number; end: number; tooLong: boolean }> = [];
  let pos = 0; // where the regex would resume (end of the previous match)
  for (let at = text.indexOf("@", pos); at >= 0; at = text.indexOf("@", at + 1)) {
    if (at < pos) continue;
    // Local part: run of LOCAL_CHAR ending at `at`, not before `pos`.
    let start = at;
    let tooLong = false;
    while (start > pos) {
      const cp = cpBefore(text, start);
      if (!LOCAL_CHAR.test(cp)) break;
      start -= cp.length;
      if (at - start > MAX_LOCAL) {
        tooLong = true;
        // Keep reading to find the regex's real start (bounded by `pos`): only its end matters
        // for resuming, and a too-long local part is rejected, so stop here.
        break;
      }
    }
    if (start === at) continue;
    // Domain: `[\p{L}\p{N}.-]+\.\p{L}{2,}` greedy = up to the last '.' (not first) followed by ≥ 2 letters.
    const runStop = runEnd(text, at + 1, DOMAIN_CHAR);
    let end = -1;
    for (let i = runStop - 1; i > at + 1; i--) {
      if (text.charCodeAt(i) !== 46 /* . */) continue;
      const letters = letterRun(text, i + 1, runStop);
      if (letters.count >= 2) {
        end = letters.end;
        break;
      }
    }
    if (end < 0) continue;
    out.push({ start, end, tooLong: tooLong || end - start > MAX_EMAIL });
    pos = end;
  }
  return out;
}

/** E-mail addresses, confirmed with `validator.isEmail` (score 1). Linear time. */
export const emailRecognizer: PatternRecognizer = windowed("EMAIL_ADDRESS", (text) => {
  const out: PiiSpan[] = [];
  for (const c of emailCandidates(text)) {
    if (c.tooLong) continue;
    const end = trimEnd(text, c.start, c.end);
    if (validator.isEmail(text.slice(c.start, end), { allow_utf8_local_part: true })) out.push(span(text, c.start, end, "EMAIL_ADDRESS", 1));
  }
  return out;
}, /@/);

const SCHEME_RE = /\b(?:https?:\/\/|www\.)[^\s<>"'`]+/giu;
const PATH_RE = /\/[^\s<>"'`]*/uy;
/** `\b` of a `/…/iu` regular expression: ASCII word characters plus U+017F and U+212A. */
function isWordChar(ch: string): boolean {
  return /^[A-Za-z0-9_\u017f\u212a]$/.test(ch);
}
function isBoundary(text: string, i: number): boolean {
  return isWordChar(text.charAt(i - 1)) !== isWordChar(text.charAt(i));
}

/**
 * URL / domain candidates: exactly the matches of the former
 * `/\b(?:https?:\/\/|www\.)[^\s<>"'`]+|\b(?:[\p{L}\p{N}][\p{L}\p{N}-]*\.)+\p{L}{2,}(?:\/[^\s<>"'`]*)?/giu`,
 * whose second branch took time quadratic in the length of a run like `a.a.a.…`, found in
 * linear time. A run of `[\p{L}\p{N}.-]` is split into dot-separated labels; whether a start in
 * label i can match depends only on the labels after it (`best[i]`: the last label reachable
 * through non-empty labels that start with a letter or digit, and that begins with ≥ 2
 * letters — the greedy TLD), computed once per run from right to left.
 */
function urlCandidates(text: string): Array<{ start: number; end: number }> {
  const out: Array<{ start: number; end: number }> = [];
  const scheme = new RegExp(SCHEME_RE.source, SCHEME_RE.flags);
  const path = new RegExp(PATH_RE.source, PATH_RE.flags);
  const n = text.length;

  // Earliest scheme-branch match at or after `pos` (cached: `pos` only grows).
  let schemeCache: { start: number; end: number } | null | undefined;
  const schemeFrom = (pos: number) => {
    if (schemeCache === undefined || (schemeCache !== null && schemeCache.start < pos)) {
      scheme.lastIndex = pos;
      const m = scheme.exec(text);
      schemeCache = m ? { start: m.index, end: m.index + m[0].length } : null;
    }
    return schemeCache;
  };

  // The current run of [\p{L}\p{N}.-], its labels and best[] (see above), and a label cursor.
  let run: { start: number; stop: number; starts: number[]; ends: number[]; best: Int32Array } | undefined;
  let cursor = 0;
  const loadRun = (start: number, stop: number) => {
    const starts: number[] = [];
    const ends: number[] = [];
    for (let i = start; ; ) {
      const dot = text.indexOf(".", i);
      const e = dot < 0 || dot >= stop ? stop : dot;
      starts.push(i);
      ends.push(e);
      if (e === stop) break;
      i = e + 1;
    }
    const best = new Int32Array(starts.length).fill(-1);
    for (let i = starts.length - 2; i >= 0; i--) {
      const j = i + 1;
      const validNext = ends[j] > starts[j] && LABEL_START.test(cpAt(text, starts[j]));
      if (validNext && best[j] >= 0) best[i] = best[j];
      else if (letterRun(text, starts[j], ends[j]).count >= 2) best[i] = j;
    }
    run = { start, stop, starts, ends, best };
    cursor = 0;
  };
  // Earliest domain-branch match at or after `pos` (cached: validity of a start does not depend on `pos`).
  let domainCache: { start: number; end: number } | null | undefined;
  const domainFrom = (from: number) => {
    if (domainCache !== undefined && (domainCache === null || domainCache.start >= from)) return domainCache;
    let pos = from;
    while (pos < n) {
      if (!run || pos < run.start || pos >= run.stop) {
        // The first run at or after `pos` with a '.' in it (runs without one hold no domain) is
        // the run around the first '.' at or after `pos`, cut at `pos`.
        const dot = text.indexOf(".", pos);
        if (dot < 0) break;
        let start = dot;
        while (start > pos) {
          const cp = cpBefore(text, start);
          if (!DOMAIN_CHAR.test(cp)) break;
          start -= cp.length;
        }
        loadRun(start, runEnd(text, dot, DOMAIN_CHAR));
        pos = start;
      }
      const r = run!;
      for (; cursor < r.starts.length; cursor++) {
        const i = cursor;
        if (r.ends[i] <= pos || r.best[i] < 0) continue;
        for (let c = Math.max(r.starts[i], pos); c < r.ends[i]; ) {
          const cp = cpAt(text, c);
          if (LABEL_START.test(cp) && isBoundary(text, c)) {
            const t = r.best[i];
            let end = letterRun(text, r.starts[t], r.ends[t]).end;
            if (text.charAt(end) === "/") {
              path.lastIndex = end;
              const pm = path.exec(text);
              if (pm) end += pm[0].length;
            }
            return (domainCache = { start: c, end });
          }
          c += cp.length;
        }
      }
      pos = r.stop;
    }
    return (domainCache = null);
  };

  for (let pos = 0; pos < n; ) {
    const s = schemeFrom(pos);
    const d = domainFrom(pos);
    const m = s && (!d || s.start <= d.start) ? s : d;
    if (!m) break;
    out.push(m);
    pos = m.end > m.start ? m.end : m.start + 1;
  }
  return out;
}

/**
 * URLs and domain names (DOMAIN_NAME), confirmed with `validator.isURL` / `isFQDN`. With a scheme
 * or `www.` prefix: score 0.97; a bare domain: 0.75 (file names like `report.pdf` are FQDN-shaped).
 * Linear time.
 */
export const urlRecognizer: PatternRecognizer = windowed("DOMAIN_NAME", (text) => {
  const out: PiiSpan[] = [];
  for (const m of urlCandidates(text)) {
    const start = m.start;
    const end = trimEnd(text, start, m.end);
    const value = text.slice(start, end);
    if (start > 0 && text[start - 1] === "@") continue; // domain part of an e-mail
    if (/^(https?:\/\/|www\.)/i.test(value)) {
      if (value.length <= 2084 && validator.isURL(value, { require_tld: true })) out.push(span(text, start, end, "DOMAIN_NAME", 0.97));
    } else {
      const host = value.split("/")[0];
      const tld = host.split(".").pop() ?? "";
      if (validator.isFQDN(host) && !/^(pdf|txt|doc|docx|js|ts|py|json|csv|png|jpg|md|html|exe|zip)$/i.test(tld) && !/^(e\.g|i\.e)$/i.test(host))
        out.push(span(text, start, end, "DOMAIN_NAME", 0.75));
    }
  }
  return out;
});

const IPV4_RE = /\b(?:\d{1,3}\.){3}\d{1,3}\b/g;
const IPV6_RE = /(?<![\w:])(?:[0-9a-f]{0,4}:){2,7}[0-9a-f]{0,4}(?![\w:])/gi;
/** IPv4 and IPv6 addresses, confirmed with `validator.isIP` (score 1 / 0.95). */
export const ipRecognizer: PatternRecognizer = windowed("IP_ADDRESS", (text) => {
  const out: PiiSpan[] = [];
  for (const m of matches(IPV4_RE, text)) if (validator.isIP(m[0], 4)) out.push(span(text, m.index, m.index + m[0].length, "IP_ADDRESS", 1));
  for (const m of matches(IPV6_RE, text)) if (m[0].length >= 6 && validator.isIP(m[0], 6)) out.push(span(text, m.index, m.index + m[0].length, "IP_ADDRESS", 0.95));
  return out;
}, /[0-9:]/);

const IBAN_RE = /\b[A-Z]{2}\d{2}(?: ?[A-Z0-9]){11,30}\b/gi;
/** IBANs, confirmed with `validator.isIBAN` (ISO 13616 mod-97 checksum; score 1). */
export const ibanRecognizer: PatternRecognizer = windowed("IBAN_CODE", (text) => {
  const out: PiiSpan[] = [];
  for (const m of matches(IBAN_RE, text)) {
    let value = m[0];
    // The regex may swallow a following word separated by a space; shrink until valid.
    while (value.length >= 15) {
      if (validator.isIBAN(value.replace(/ /g, "").toUpperCase())) {
        out.push(span(text, m.index, m.index + value.length, "IBAN_CODE", 1));
        break;
      }
      const cut = value.lastIndexOf(" ");
      if (cut < 0) break;
      value = value.slice(0, cut);
    }
  }
  return out;
}, HAS_DIGIT);

const CARD_RE = /(?<![\d-])\d(?:[ -]?\d){11,18}(?![\d-])/g;
const CARD_CONTEXT = /\b(card|credit|debit|visa|master ?card|amex|cc|pan)\b/i;
/**
 * Payment card numbers (12–19 digits, spaces or dashes allowed). Luhn-valid
 * (`validator.isLuhnNumber`) and issuer-shaped (`validator.isCreditCard`): 1; Luhn-valid only:
 * 0.9; not Luhn-valid but with a card context word before it: 0.6; otherwise not reported.
 */
export const creditCardRecognizer: PatternRecognizer = windowed("CREDIT_CARD", (text) => {
  const out: PiiSpan[] = [];
  for (const m of matches(CARD_RE, text)) {
    const digits = m[0].replace(/[ -]/g, "");
    const context = hasContext(text, m.index, CARD_CONTEXT, 60);
    let score = 0;
    if (validator.isLuhnNumber(digits)) score = validator.isCreditCard(digits) ? 1 : 0.9;
    else if (context) score = 0.6;
    if (score > 0) out.push(span(text, m.index, m.index + m[0].length, "CREDIT_CARD", score));
  }
  return out;
}, HAS_DIGIT);

const SSN_RE = /(?<![\d-])(\d{3})([- ]?)(\d{2})\2(\d{4})(?![\d-])/g;
const SSN_CONTEXT = /\b(ssn|social security|social|security number|ss#)/i;
/** US social security numbers with the SSA's validity rules (no 000/666/9xx area, 00 group, 0000 serial); 0.85, 1 with context. */
export const ssnRecognizer: PatternRecognizer = windowed("US_SSN", (text) => {
  const out: PiiSpan[] = [];
  for (const m of matches(SSN_RE, text)) {
    const [, area, sep, group, serial] = m;
    if (area === "000" || area === "666" || area[0] === "9" || group === "00" || serial === "0000") continue;
    const context = hasContext(text, m.index, SSN_CONTEXT);
    if (!sep && !context) continue; // 9 bare digits are too ambiguous without context
    out.push(span(text, m.index, m.index + m[0].length, "US_SSN", context ? 1 : 0.85));
  }
  return out;
}, HAS_DIGIT);

/** Default regions the phone recognizer searches under, in order. */
export const PHONE_COUNTRIES: readonly CountryCode[] = ["US", "GB", "DE", "FR", "AU", "IT", "ES", "NL", "SE", "CH", "BR", "IN"];
// "number" counts unless an identity-document or bank word names the number ("passport number").
/** Context words that raise a phone number's score (+0.1) within 48 characters before it. */
export const PHONE_CONTEXT = /\b(phone|call|tel|telephone|mobile|cell|fax|(?<!(?:passport|account|licen[cs]e|routing|card|ssn|security|itin|npi|nhs|dea|id|bank|acct)\.? )number|reach|contact|dial|text me|whatsapp)\b/i;
/** Window of the phone recognizer (libphonenumber-js costs ≈ 5–15 µs per character of digit-dense text per region). */
export const PHONE_WINDOW = 1_024;
/** Overlap of phone windows: a phone number with extension and the context words before it. */
export const PHONE_OVERLAP = 160;

/**
 * The stretches of `text` that may hold a phone number: maximal runs of digits and phone
 * punctuation (spaces, `+ ( ) - . /`, an `x` of an extension) with at least 7 digits, widened by
 * a few characters on each side. libphonenumber's search then runs over these alone rather than
 * over the whole window — most prose has none — which is most of the recognizer's time.
 * Returns `[from, to)` pairs in order, non-overlapping.
 */
export function phoneSegments(text: string): Array<[number, number]> {
  const out: Array<[number, number]> = [];
  const n = text.length;
  let i = 0;
  while (i < n) {
    const c = text.charCodeAt(i);
    if (c < 48 || c > 57) {
      i++;
      continue;
    }
    // A run starting at a digit; include phone punctuation and digits.
    let start = i;
    let digits = 0;
    let end = i;
    while (i < n) {
      const d = text.charCodeAt(i);
      if (d >= 48 && d <= 57) {
        digits++;
        end = i + 1;
      } else if (!(d === 32 || d === 0xa0 || d === 9 || d === 43 || d === 40 || d === 41 || d === 45 || d === 46 || d === 47 || d === 120 || d === 0x2010 || d === 0x2011 || d === 0x2013)) break;
      i++;
    }
    if (digits >= 7) {
      const from = Math.max(0, start - 4);
      const to = Math.min(n, end + 8);
      const last = out[out.length - 1];
      if (last && from <= last[1]) last[1] = to;
      else out.push([from, to]);
    }
  }
  return out;
}

/**
 * Per-call memo of libphonenumber's verdicts, shared by the twelve regions' searches of one text.
 * Under leniency POSSIBLE the matcher's `parseAndVerify(candidate, offset, text)` depends only on
 * the candidate string and the default region (its bracket check reads the candidate alone, and
 * `parsePhoneNumber` + `isPossible` see nothing else); a candidate whose first digit-or-plus
 * character is '+' is parsed without the default region (international format: no IDD or
 * national-prefix handling), so its verdict is shared by all regions. The same holds for
 * `isValidPhoneNumber(value, region)`. Keys: `region \0 string`, or `+ \0 string`.
 */
interface PhoneMemo {
  /** Verdicts of the matcher's `parseAndVerify`. */
  readonly possible: Map<string, boolean>;
  /** Verdicts of `isValidPhoneNumber`. */
  readonly valid: Map<string, boolean>;
  /** Best score so far per `start:end` (offsets into the whole text): a region that cannot beat it is not validated. */
  readonly best: Map<string, number>;
}

/** `region \0 s`, or `+ \0 s` when libphonenumber reads `s` as international (its first '+'-or-digit is '+'). */
function memoKey(s: string, country: CountryCode): string {
  return (isInternational(s) ? "+" : country) + "\u0000" + s;
}

/**
 * `parseIncompletePhoneNumber(s).startsWith("+")` without building the string: the first '+' or
 * digit it keeps (ASCII, fullwidth, Arabic-Indic and extended Arabic-Indic digits: its `DIGITS`
 * table) is a '+'.
 */
function isInternational(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 43) return true;
    if ((c >= 48 && c <= 57) || (c >= 0xff10 && c <= 0xff19) || (c >= 0x660 && c <= 0x669) || (c >= 0x6f0 && c <= 0x6f9)) return false;
  }
  return false;
}

/** Internals of libphonenumber-js's `PhoneNumberMatcher` that {@link regionMatcher} resets between segments. */
interface MatcherState {
  text: string;
  searchIndex: number;
  state: string;
  lastMatch: unknown;
  hasNext(): boolean;
  next(): { startsAt: number; endsAt: number };
  parseAndVerify(candidate: string, offset: number, text: string): unknown;
}

type MatcherProto = { parseAndVerify(this: MatcherState, candidate: string, offset: number, text: string): unknown };
const MATCHER_PROTO = Object.getPrototypeOf(PhoneNumberMatcher.prototype) as MatcherProto;
/** Whether this libphonenumber-js build has the matcher internals {@link regionMatcher} relies on (else: plain `findNumbers`). */
const MATCHER_REUSABLE = (() => {
  try {
    const m = new PhoneNumberMatcher("", { defaultCountry: "US", leniency: "POSSIBLE", v2: true } as never) as unknown as MatcherState;
    return typeof MATCHER_PROTO.parseAndVerify === "function" && m.state === "NOT_READY" && m.searchIndex === 0 && m.text === "" && typeof m.hasNext === "function";
  } catch {
    return false;
  }
})();
const FOUND = Object.freeze({});

/**
 * libphonenumber-js's own `PhoneNumberMatcher` (leniency POSSIBLE) for one region, built once per
 * search and re-pointed at each segment (`text`, `searchIndex`, `state` reset to the state a new
 * matcher starts in), with `parseAndVerify` answered from `memo`. Returns exactly the
 * `startsAt`/`endsAt` of `findNumbers(segment, { defaultCountry, leniency: "POSSIBLE", v2: true })`
 * (phone-segments.test.ts compares the two).
 */
function regionMatcher(country: CountryCode, memo: PhoneMemo): (segment: string) => Array<{ startsAt: number; endsAt: number }> {
  if (!MATCHER_REUSABLE) return (segment) => phoneMatches(segment, country);
  const m = new PhoneNumberMatcher("", { defaultCountry: country, leniency: "POSSIBLE", v2: true } as never) as unknown as MatcherState;
  m.parseAndVerify = function (candidate: string, offset: number, text: string) {
    const key = memoKey(candidate, country);
    let ok = memo.possible.get(key);
    if (ok === undefined) memo.possible.set(key, (ok = !!MATCHER_PROTO.parseAndVerify.call(this, candidate, offset, text)));
    return ok ? { startsAt: offset, endsAt: offset + candidate.length, phoneNumber: FOUND } : undefined;
  };
  return (segment) => {
    m.text = segment;
    m.searchIndex = 0;
    m.state = "NOT_READY";
    m.lastMatch = undefined;
    const out: Array<{ startsAt: number; endsAt: number }> = [];
    const stackLimit = Error.stackTraceLimit;
    Error.stackTraceLimit = 0; // see phoneMatches
    try {
      while (m.hasNext()) out.push(m.next());
    } catch {
      return [];
    } finally {
      Error.stackTraceLimit = stackLimit;
    }
    return out;
  };
}

/** `isValidPhoneNumber(value, country)`, memoised in `memo` (false when it throws). */
function validFor(value: string, country: CountryCode, memo: PhoneMemo): boolean {
  const key = memoKey(value, country);
  let ok = memo.valid.get(key);
  if (ok === undefined) {
    try {
      ok = isValidPhoneNumber(value, country);
    } catch {
      ok = false; // not parseable for this region
    }
    memo.valid.set(key, ok);
  }
  return ok;
}

const EXT_SUFFIX = /^x\d{1,5}/;
const ALNUM = /[\p{L}\p{N}]/u;

/**
 * One region's matches over `segments` of window `text` (which starts at `base` in the whole
 * text), turned into spans: an extension suffix (`x459`) joined; matches inside a longer token,
 * with fewer than 7 or more than 15 digits, or shaped like an ISO date dropped; 0.9 when
 * `isValidPhoneNumber` accepts it for the region, else 0.7; +0.1 with a context word. A match
 * whose range already scored what this region could at most give is skipped (not validated again).
 */
function phoneSpansFor(text: string, country: CountryCode, segments: ReadonlyArray<{ from: number; text: string }>, find: (segment: string) => Array<{ startsAt: number; endsAt: number }>, memo: PhoneMemo, base: number): PiiSpan[] {
  const out: PiiSpan[] = [];
  for (const { from, text: segment } of segments) {
    for (const r of find(segment)) {
      const startsAt = r.startsAt + from;
      let end = r.endsAt + from;
      if (text.charCodeAt(end) === 120 /* x */) {
        const ext = EXT_SUFFIX.exec(text.slice(end, end + 6));
        if (ext) end += ext[0].length;
      }
      if (ALNUM.test(cpBefore(text, startsAt)) || ALNUM.test(cpAt(text, end))) continue; // inside a longer token
      const value = text.slice(startsAt, end);
      let digits = 0;
      for (let i = 0; i < value.length; i++) {
        const c = value.charCodeAt(i);
        if (c >= 48 && c <= 57) digits++;
      }
      if (digits < 7 || digits > 15) continue;
      if (/^(19|20)\d{2}-\d{2}-\d{2}/.test(value)) continue; // ISO date
      const context = hasContext(text, startsAt, PHONE_CONTEXT);
      if (!context && looksLikeYearsOrDate(yearLead(text, startsAt) + value)) continue;
      const key = `${startsAt + base}:${end + base}`;
      const best = memo.best.get(key) ?? -1;
      if (best >= (context ? 1 : 0.9)) continue; // cannot beat the span already found
      let score = validFor(value.replace(/x\d+$/, ""), country, memo) ? 0.9 : 0.7;
      if (context) score = Math.min(1, score + 0.1);
      if (score > best) memo.best.set(key, score);
      out.push(span(text, startsAt, end, "PHONE_NUMBER", score));
    }
  }
  return out;
}

/** Day/month/year dates with separators ("12 / 05 / 2001", "3-4-1999", "05.11.2020"). */
const DMY_DATE = /^[(\s]*\d{1,2}\s*([-/.])\s*\d{1,2}\s*\1\s*(?:1[5-9]|20)\d\d[)\s]*$/;
/** A run of years and seasons: "1238–1264", "( 2019-2020 , 2021", "1981–84", "2005 / 06-2010 / 11". */
const YEAR_RUN = /^[(\s]*\d{4}(?:\s*[-\u2010-\u2015,;/]\s*\d{2}(?:\d{2})?)+[)\s]*$/;

/** The "1997 / " before a candidate that starts inside a run of seasons ("1997 / 98-2004 / 05"), else "". */
function yearLead(text: string, start: number): string {
  const m = /\d{4}\s*[-\u2010-\u2015,;/]\s*$/.exec(text.slice(Math.max(0, start - 8), start));
  return m ? m[0] : "";
}

/**
 * True when a phone candidate is more likely a span of years or a written date than a phone
 * number: libphonenumber accepts "1990-2020" as a possible 8-digit number in several regions,
 * which made year ranges in ordinary text (207 WikiANN dev spans, 3 of 6,266 harmless prompts)
 * PHONE_NUMBER spans. Years: 4-digit numbers 1000–2099, each later one not earlier and at most
 * 300 years on; 2-digit parts ("1981–84", seasons "2005/06") follow the year before them.
 * Only applied when no phone context word ("call", "tel", …) is near.
 */
export function looksLikeYearsOrDate(value: string): boolean {
  if (DMY_DATE.test(value)) return true;
  if (!YEAR_RUN.test(value)) return false;
  let previous = -1;
  for (const part of value.match(/\d+/g) ?? []) {
    let year = Number(part);
    if (part.length === 2) {
      if (previous < 0) return false;
      year = Math.floor(previous / 100) * 100 + year;
      if (year < previous) year += 100;
    }
    if (year < 1000 || year > 2099) return false;
    if (previous >= 0 && (year < previous || year > previous + 300)) return false;
    previous = year;
  }
  return true;
}

/** libphonenumber-js `findNumbers` (leniency POSSIBLE) over `text` for `country`; [] when it throws. */
function phoneMatches(text: string, country: CountryCode): Array<{ startsAt: number; endsAt: number }> {
  let results: Array<{ startsAt: number; endsAt: number; number: { number: string } }>;
  // libphonenumber-js throws (and catches) a ParseError per rejected candidate; capturing their
  // stack traces is most of its time on digit-dense text.
  const stackLimit = Error.stackTraceLimit;
  Error.stackTraceLimit = 0;
  try {
    // `leniency` is honoured at run time but missing from the published typings.
    const findOptions = { defaultCountry: country, leniency: "POSSIBLE", v2: true } as unknown as { defaultCountry: CountryCode; v2: true };
    results = findNumbers(text, findOptions) as never;
  } catch {
    return [];
  } finally {
    Error.stackTraceLimit = stackLimit;
  }
  return results;
}

/** At least 7 ASCII digits: fewer cannot make an accepted phone number. */
function mayHoldPhone(text: string): boolean {
  let n = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c >= 48 && c <= 57 && ++n >= 7) return true;
  }
  return false;
}

/** Phone spans, one step per (window, region). */
function* phoneScan(text: string): Generator<PiiSpan[]> {
  const memo: PhoneMemo = { possible: new Map(), valid: new Map(), best: new Map() };
  let finders: Array<(segment: string) => Array<{ startsAt: number; endsAt: number }>> | undefined;
  for (const window of scanWindows(text, (w) => [{ start: 0, end: w.length, type: "PHONE_NUMBER", text: w, score: 0, source: "pattern" }], PHONE_WINDOW, PHONE_OVERLAP)) {
    const [{ start: from, text: w }] = window;
    if (!mayHoldPhone(w)) continue;
    // cut once per window, searched under every region
    const segments = phoneSegments(w).map(([a, b]) => ({ from: a, text: a === 0 && b === w.length ? w : w.slice(a, b) }));
    if (segments.length === 0) continue;
    finders ??= PHONE_COUNTRIES.map((country) => regionMatcher(country, memo));
    for (let k = 0; k < PHONE_COUNTRIES.length; k++) {
      const spans = phoneSpansFor(w, PHONE_COUNTRIES[k], segments, finders[k], memo, from);
      yield from === 0 ? spans : spans.map((s) => ({ ...s, start: s.start + from, end: s.end + from }));
    }
  }
}

/** Keeps the best-scored span per (start, end). */
function bestPerRange(spans: Iterable<PiiSpan[]>): PiiSpan[] {
  const found = new Map<string, PiiSpan>();
  for (const batch of spans)
    for (const s of batch) {
      const key = `${s.start}:${s.end}`;
      const prev = found.get(key);
      if (!prev || prev.score < s.score) found.set(key, s);
    }
  return [...found.values()];
}

/**
 * Phone numbers, found with libphonenumber-js (`findNumbers`, leniency POSSIBLE) under several
 * default regions (US, GB, DE, FR, AU, IT, ES, NL, SE, CH, BR, IN), plus an extension suffix
 * (`x459`). Valid for some region: 0.9, merely possible: 0.7; +0.1 with a context word.
 * Linear time: texts longer than {@link PHONE_WINDOW} are searched in overlapping windows
 * (libphonenumber's own search is super-linear on long digit runs), windows with fewer
 * than 7 digits are skipped, and within a window only the digit runs that may hold a number are
 * searched ({@link phoneSegments}). `scan` yields one batch per (window, region); a range
 * already found with the best score a region could give is not repeated in later batches.
 *
 * Cost (bench/pii-patterns.ts): almost all of it is libphonenumber parsing each candidate under
 * each region. Within one call the twelve searches share its verdicts ({@link PhoneMemo}: one
 * parse per distinct candidate and region, one for all regions when it starts with '+'), reuse
 * one matcher per region, and validate a range only while its score can still rise; the spans
 * are exactly those of twelve independent `findNumbers` searches (phone-segments.test.ts).
 */
export const phoneRecognizer: PatternRecognizer = {
  type: "PHONE_NUMBER",
  find: (text) => bestPerRange(phoneScan(text)),
  scan: phoneScan,
};

const MONTHS = "jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?";
const DATE_RES: Array<[RegExp, number]> = [
  [/\b\d{4}-\d{2}-\d{2}(?:[ T]\d{2}:\d{2}(?::\d{2})?)?\b/g, 0.95],
  [/\b\d{1,2}[/.]\d{1,2}[/.](?:\d{4}|\d{2})\b/g, 0.9],
  [new RegExp(`\\b(?:${MONTHS})\\.? \\d{1,2}(?:st|nd|rd|th)?,? \\d{4}\\b`, "gi"), 0.9],
  [new RegExp(`\\b\\d{1,2}(?:st|nd|rd|th)? (?:of )?(?:${MONTHS})\\.?,? \\d{4}\\b`, "gi"), 0.9],
];
/**
 * Dates (DATE_TIME): ISO dates and date-times, d/m/y or m/d/y, and "March 5, 1990"-style
 * dates (0.9–0.95). Bare years and weekdays are left to the tagger, which sees their context.
 */
export const dateRecognizer: PatternRecognizer = windowed("DATE_TIME", (text) => {
  const out: PiiSpan[] = [];
  for (const [re, score] of DATE_RES) for (const m of matches(re, text)) out.push(span(text, m.index, m.index + m[0].length, "DATE_TIME", score));
  return out;
}, HAS_DIGIT);

/** The default recognizers, strongest evidence first. */
export const DEFAULT_RECOGNIZERS: readonly PatternRecognizer[] = [
  emailRecognizer,
  ibanRecognizer,
  creditCardRecognizer,
  ipRecognizer,
  urlRecognizer,
  ssnRecognizer,
  ...ID_RECOGNIZERS,
  dateRecognizer,
  phoneRecognizer,
];

/**
 * Resolves overlapping spans into non-overlapping, non-empty spans sorted by `start`, without
 * ever uncovering a character that some input span covered (fail closed: what any detector
 * called private stays hidden):
 * 1. a tagger or SLM span lying inside a pattern span (a validated structure: a phone number, an
 *    IBAN) is dropped — a token-level guess must not cut "905" out of "905-674-3793";
 * 2. of overlapping spans the higher score wins, then the longer span, then the earlier one;
 * 3. the characters of losing spans that no kept span covers come back as remainder spans (the
 *    type, score and source of the best-ranked loser of their overlap group), when they hold a
 *    letter or a digit.
 * O(k log k) for k spans (kept spans live in a Fenwick tree over their start offsets).
 */
export function resolveOverlaps(spans: readonly PiiSpan[]): PiiSpan[] {
  const kept = keepBest(dropGuessesInsidePatterns(spans));
  return withRemainders(spans, kept);
}

/** Step 1 of {@link resolveOverlaps}: drops non-pattern spans that lie inside the union of pattern spans. */
function dropGuessesInsidePatterns(spans: readonly PiiSpan[]): readonly PiiSpan[] {
  const patterns = spans.filter((s) => s.source === "pattern" && s.end > s.start).sort((a, b) => a.start - b.start);
  if (patterns.length === 0 || patterns.length === spans.length) return spans;
  const starts: number[] = [];
  const ends: number[] = [];
  for (const p of patterns) {
    if (ends.length && p.start <= ends[ends.length - 1]) ends[ends.length - 1] = Math.max(ends[ends.length - 1], p.end);
    else {
      starts.push(p.start);
      ends.push(p.end);
    }
  }
  const inside = (s: PiiSpan) => {
    let lo = 0;
    let hi = starts.length; // first union interval starting after s.start
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (starts[mid] <= s.start) lo = mid + 1;
      else hi = mid;
    }
    return lo > 0 && ends[lo - 1] >= s.end;
  };
  return spans.filter((s) => s.source === "pattern" || !inside(s));
}

const HAS_ALNUM = /[\p{L}\p{N}]/u;

/**
 * Step 3 of {@link resolveOverlaps}: the characters of `spans` not covered by `kept` (sorted,
 * disjoint) as remainder spans, merged with `kept` and sorted by `start`. Linear after sorting.
 */
function withRemainders(spans: readonly PiiSpan[], kept: PiiSpan[]): PiiSpan[] {
  if (kept.length === spans.length) return kept;
  const keptSet = new Set(kept);
  const losers = spans.filter((s) => s.end > s.start && !keptSet.has(s)).sort((a, b) => a.start - b.start);
  if (losers.length === 0) return kept;
  // Union intervals of the losers, each with its text and its best-ranked member.
  const groups: { start: number; end: number; text: string; best: PiiSpan }[] = [];
  for (const s of losers) {
    const g = groups[groups.length - 1];
    if (g && s.start < g.end) {
      if (s.end > g.end) {
        g.text += s.text.slice(g.end - s.start);
        g.end = s.end;
      }
      if (rank(s, g.best) < 0) g.best = s;
    } else groups.push({ start: s.start, end: s.end, text: s.text, best: s });
  }
  const out: PiiSpan[] = [];
  let k = 0;
  for (const g of groups) {
    while (k < kept.length && kept[k].end <= g.start) k++;
    let from = g.start;
    for (let j = k; j < kept.length && kept[j].start < g.end; j++) {
      if (kept[j].start > from) out.push(piece(g, from, kept[j].start));
      from = Math.max(from, kept[j].end);
    }
    if (from < g.end) out.push(piece(g, from, g.end));
  }
  const remainders = out.filter((s) => HAS_ALNUM.test(s.text));
  return remainders.length ? kept.concat(remainders).sort((a, b) => a.start - b.start) : kept;
}

function piece(g: { start: number; text: string; best: PiiSpan }, start: number, end: number): PiiSpan {
  // Trim white space at the edges: "Mail " left over from a guess "Mail UtaKortig" over an e-mail.
  while (end > start && /\s/.test(g.text[end - 1 - g.start])) end--;
  while (start < end && /\s/.test(g.text[start - g.start])) start++;
  return { start, end, type: g.best.type, text: g.text.slice(start - g.start, end - g.start), score: g.best.score, source: g.best.source };
}

/** Orders spans best first: higher score, then longer, then earlier. */
function rank(a: PiiSpan, b: PiiSpan): number {
  return b.score - a.score || b.end - b.start - (a.end - a.start) || a.start - b.start;
}

/** Step 2 of {@link resolveOverlaps}: greedy by {@link rank}; returns kept spans sorted by `start`. */
function keepBest(spans: readonly PiiSpan[]): PiiSpan[] {
  const ranked = spans.slice().sort(rank);
  // Coordinates: distinct starts, compressed.
  const coords = [...new Set(spans.map((s) => s.start))].sort((a, b) => a - b);
  const m = coords.length;
  const tree = new Int32Array(m + 1); // counts of kept starts
  const keptEndAt = new Map<number, number>(); // kept start → end
  const index = (x: number) => {
    // number of coords < x
    let lo = 0;
    let hi = m;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (coords[mid] < x) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  };
  const prefix = (i: number) => {
    let sum = 0;
    for (; i > 0; i -= i & -i) sum += tree[i];
    return sum;
  };
  const add = (i: number) => {
    for (i++; i <= m; i += i & -i) tree[i]++;
  };
  // The coordinate index of the k-th (1-based) kept start.
  const kth = (k: number) => {
    let pos = 0;
    for (let step = 1 << Math.floor(Math.log2(m || 1)); step > 0; step >>= 1) {
      if (pos + step <= m && tree[pos + step] < k) {
        pos += step;
        k -= tree[pos];
      }
    }
    return pos; // 0-based coordinate index
  };
  const kept: PiiSpan[] = [];
  for (const s of ranked) {
    if (s.end <= s.start) continue;
    const lo = index(s.start);
    const hi = index(s.end); // kept starts in [s.start, s.end) are coords[lo..hi)
    if (prefix(hi) - prefix(lo) > 0) continue;
    const before = prefix(lo); // kept starts < s.start; the last of them may reach into s
    if (before > 0 && keptEndAt.get(coords[kth(before)])! > s.start) continue;
    add(lo);
    keptEndAt.set(s.start, s.end);
    kept.push(s);
  }
  return kept.sort((a, b) => a.start - b.start);
}

/** Runs `recognizers` over `text` and resolves overlaps. Synchronous; never throws on odd input. */
export function findPatternSpans(text: string, recognizers: readonly PatternRecognizer[] = DEFAULT_RECOGNIZERS): PiiSpan[] {
  return resolveOverlaps(recognizers.flatMap((r) => r.find(text)));
}
