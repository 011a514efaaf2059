/**
 * Pattern recognizers for structured PII, in the manner of Presidio's pattern recognizers:
 * a permissive regular expression proposes candidates, a maintained validator confirms them
 * (`validator` for e-mail, IP, IBAN, Luhn, URL/FQDN; `libphonenumber-js` for phone numbers),
 * and context words nearby raise the score. Scores are in [0, 1]; checksum-validated matches
 * score ≥ 0.95.
 */
import validator from "validator";
import { findNumbers, isValidPhoneNumber, type CountryCode } from "libphonenumber-js/max";
import type { EntityType, PiiSpan } from "./types.js";
import { ID_RECOGNIZERS } from "./id-recognizers.js";
import { hasContext, matches, scanWindows, span, trimEnd, windowed, type PatternRecognizer } from "./recognizer-kit.js";

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
});

const SCHEME_RE = /\b(?:https?:\/\/|www\.)[^\s<>"'`]+/giu;
const PATH_RE = /\/[^\s<>"'`]*/uy;
const DOMAIN_RUN_RE = /[\p{L}\p{N}.-]+/gu;
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
  const runs = new RegExp(DOMAIN_RUN_RE.source, DOMAIN_RUN_RE.flags);
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
        runs.lastIndex = pos;
        const m = runs.exec(text);
        if (!m) break;
        if (!m[0].includes(".")) {
          pos = m.index + m[0].length; // one label: no domain can start here
          continue;
        }
        loadRun(m.index, m.index + m[0].length);
        pos = m.index;
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
});

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
});

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
});

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
});

const PHONE_COUNTRIES: CountryCode[] = ["US", "GB", "DE", "FR", "AU", "IT", "ES", "NL", "SE", "CH", "BR", "IN"];
// "number" counts unless an identity-document or bank word names the number ("passport number").
const PHONE_CONTEXT = /\b(phone|call|tel|telephone|mobile|cell|fax|(?<!(?:passport|account|licen[cs]e|routing|card|ssn|security|itin|npi|nhs|dea|id|bank|acct)\.? )number|reach|contact|dial|text me|whatsapp)\b/i;
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

/** One region's `findNumbers` over `text`, turned into spans (see {@link phoneRecognizer}). */
function phoneSpansFor(text: string, country: CountryCode, segments: ReadonlyArray<{ from: number; text: string }> = [{ from: 0, text }]): PiiSpan[] {
  const out: PiiSpan[] = [];
  for (const { from, text: segment } of segments) {
    for (const r of phoneMatches(segment, country)) {
      const startsAt = r.startsAt + from;
      let end = r.endsAt + from;
      const ext = /^x\d{1,5}/.exec(text.slice(end, end + 6));
      if (ext) end += ext[0].length;
      if (/[\p{L}\p{N}]/u.test(cpBefore(text, startsAt)) || /[\p{L}\p{N}]/u.test(cpAt(text, end))) continue; // inside a longer token
      const value = text.slice(startsAt, end);
      const digits = value.replace(/\D/g, "");
      if (digits.length < 7 || digits.length > 15) continue;
      if (/^(19|20)\d{2}-\d{2}-\d{2}/.test(value)) continue; // ISO date
      let score = 0.7;
      try {
        if (isValidPhoneNumber(value.replace(/x\d+$/, ""), country)) score = 0.9;
      } catch {
        /* not parseable for this region */
      }
      if (hasContext(text, startsAt, PHONE_CONTEXT)) score = Math.min(1, score + 0.1);
      out.push(span(text, startsAt, end, "PHONE_NUMBER", score));
    }
  }
  return out;
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
  for (const window of scanWindows(text, (w) => [{ start: 0, end: w.length, type: "PHONE_NUMBER", text: w, score: 0, source: "pattern" }], PHONE_WINDOW, PHONE_OVERLAP)) {
    const [{ start: from, text: w }] = window;
    if (!mayHoldPhone(w)) continue;
    // cut once per window, searched under every region
    const segments = phoneSegments(w).map(([a, b]) => ({ from: a, text: a === 0 && b === w.length ? w : w.slice(a, b) }));
    if (segments.length === 0) continue;
    for (const country of PHONE_COUNTRIES) {
      yield phoneSpansFor(w, country, segments).map((s) => (from === 0 ? s : { ...s, start: s.start + from, end: s.end + from }));
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
 * searched ({@link phoneSegments}). `scan` yields one batch per (window, region).
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
});

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
 * Resolves overlapping spans: higher score wins, then the longer span, then the earlier one.
 * Returns non-overlapping, non-empty spans sorted by `start`. O(k log k) for k spans (kept spans live in a
 * Fenwick tree over their start offsets).
 */
export function resolveOverlaps(spans: readonly PiiSpan[]): PiiSpan[] {
  const ranked = spans.slice().sort((a, b) => b.score - a.score || b.end - b.start - (a.end - a.start) || a.start - b.start);
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
