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

/** One structured-PII recognizer: returns candidate spans of `text`. */
export interface PatternRecognizer {
  readonly type: EntityType;
  find(text: string): PiiSpan[];
}

/** Words whose presence within `window` characters before `start` raises a score. */
function hasContext(text: string, start: number, words: RegExp, window = 48): boolean {
  return words.test(text.slice(Math.max(0, start - window), start));
}

function span(text: string, start: number, end: number, type: EntityType, score: number): PiiSpan {
  return { start, end, type, text: text.slice(start, end), score, source: "pattern" };
}

/** Trims trailing punctuation a regex over-captured (`example.com.` → `example.com`). */
function trimEnd(text: string, start: number, end: number): number {
  while (end > start && /[.,;:!?)\]}'"”’>]/.test(text[end - 1])) end--;
  return end;
}

function* matches(re: RegExp, text: string): Generator<RegExpExecArray> {
  const r = new RegExp(re.source, re.flags.includes("g") ? re.flags : re.flags + "g");
  let m: RegExpExecArray | null;
  while ((m = r.exec(text)) !== null) {
    if (m[0].length === 0) r.lastIndex++;
    yield m;
  }
}

const EMAIL_RE = /[\p{L}\p{N}._%+-]+@[\p{L}\p{N}.-]+\.\p{L}{2,}/gu;
/** E-mail addresses, confirmed with `validator.isEmail` (score 1). */
export const emailRecognizer: PatternRecognizer = {
  type: "EMAIL_ADDRESS",
  find(text) {
    const out: PiiSpan[] = [];
    for (const m of matches(EMAIL_RE, text)) {
      const end = trimEnd(text, m.index, m.index + m[0].length);
      if (validator.isEmail(text.slice(m.index, end), { allow_utf8_local_part: true })) out.push(span(text, m.index, end, "EMAIL_ADDRESS", 1));
    }
    return out;
  },
};

const URL_RE = /\b(?:https?:\/\/|www\.)[^\s<>"'`]+|\b(?:[\p{L}\p{N}][\p{L}\p{N}-]*\.)+\p{L}{2,}(?:\/[^\s<>"'`]*)?/giu;
/**
 * URLs and domain names (DOMAIN_NAME), confirmed with `validator.isURL` / `isFQDN`. With a scheme
 * or `www.` prefix: score 0.97; a bare domain: 0.75 (file names like `report.pdf` are FQDN-shaped).
 */
export const urlRecognizer: PatternRecognizer = {
  type: "DOMAIN_NAME",
  find(text) {
    const out: PiiSpan[] = [];
    for (const m of matches(URL_RE, text)) {
      const start = m.index;
      const end = trimEnd(text, start, start + m[0].length);
      const value = text.slice(start, end);
      if (start > 0 && text[start - 1] === "@") continue; // domain part of an e-mail
      if (/^(https?:\/\/|www\.)/i.test(value)) {
        if (validator.isURL(value, { require_tld: true })) out.push(span(text, start, end, "DOMAIN_NAME", 0.97));
      } else {
        const host = value.split("/")[0];
        const tld = host.split(".").pop() ?? "";
        if (validator.isFQDN(host) && !/^(pdf|txt|doc|docx|js|ts|py|json|csv|png|jpg|md|html|exe|zip)$/i.test(tld) && !/^(e\.g|i\.e)$/i.test(host))
          out.push(span(text, start, end, "DOMAIN_NAME", 0.75));
      }
    }
    return out;
  },
};

const IPV4_RE = /\b(?:\d{1,3}\.){3}\d{1,3}\b/g;
const IPV6_RE = /(?<![\w:])(?:[0-9a-f]{0,4}:){2,7}[0-9a-f]{0,4}(?![\w:])/gi;
/** IPv4 and IPv6 addresses, confirmed with `validator.isIP` (score 1 / 0.95). */
export const ipRecognizer: PatternRecognizer = {
  type: "IP_ADDRESS",
  find(text) {
    const out: PiiSpan[] = [];
    for (const m of matches(IPV4_RE, text)) if (validator.isIP(m[0], 4)) out.push(span(text, m.index, m.index + m[0].length, "IP_ADDRESS", 1));
    for (const m of matches(IPV6_RE, text)) if (m[0].length >= 6 && validator.isIP(m[0], 6)) out.push(span(text, m.index, m.index + m[0].length, "IP_ADDRESS", 0.95));
    return out;
  },
};

const IBAN_RE = /\b[A-Z]{2}\d{2}(?: ?[A-Z0-9]){11,30}\b/gi;
/** IBANs, confirmed with `validator.isIBAN` (ISO 13616 mod-97 checksum; score 1). */
export const ibanRecognizer: PatternRecognizer = {
  type: "IBAN_CODE",
  find(text) {
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
  },
};

const CARD_RE = /(?<![\d-])\d(?:[ -]?\d){11,18}(?![\d-])/g;
const CARD_CONTEXT = /\b(card|credit|debit|visa|master ?card|amex|cc|pan)\b/i;
/**
 * Payment card numbers (12–19 digits, spaces or dashes allowed). Luhn-valid
 * (`validator.isLuhnNumber`) and issuer-shaped (`validator.isCreditCard`): 1; Luhn-valid only:
 * 0.9; not Luhn-valid but with a card context word before it: 0.6; otherwise not reported.
 */
export const creditCardRecognizer: PatternRecognizer = {
  type: "CREDIT_CARD",
  find(text) {
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
  },
};

const SSN_RE = /(?<![\d-])(\d{3})([- ]?)(\d{2})\2(\d{4})(?![\d-])/g;
const SSN_CONTEXT = /\b(ssn|social security|social|security number|ss#)/i;
/** US social security numbers with the SSA's validity rules (no 000/666/9xx area, 00 group, 0000 serial); 0.85, 1 with context. */
export const ssnRecognizer: PatternRecognizer = {
  type: "US_SSN",
  find(text) {
    const out: PiiSpan[] = [];
    for (const m of matches(SSN_RE, text)) {
      const [, area, sep, group, serial] = m;
      if (area === "000" || area === "666" || area[0] === "9" || group === "00" || serial === "0000") continue;
      const context = hasContext(text, m.index, SSN_CONTEXT);
      if (!sep && !context) continue; // 9 bare digits are too ambiguous without context
      out.push(span(text, m.index, m.index + m[0].length, "US_SSN", context ? 1 : 0.85));
    }
    return out;
  },
};

const PHONE_COUNTRIES: CountryCode[] = ["US", "GB", "DE", "FR", "AU", "IT", "ES", "NL", "SE", "CH", "BR", "IN"];
const PHONE_CONTEXT = /\b(phone|call|tel|telephone|mobile|cell|fax|number|reach|contact|dial|text me|whatsapp)\b/i;
/**
 * Phone numbers, found with libphonenumber-js (`findNumbers`, leniency POSSIBLE) under several
 * default regions (US, GB, DE, FR, AU, IT, ES, NL, SE, CH, BR, IN), plus an extension suffix
 * (`x459`). Valid for some region: 0.9, merely possible: 0.7; +0.1 with a context word.
 */
export const phoneRecognizer: PatternRecognizer = {
  type: "PHONE_NUMBER",
  find(text) {
    const found = new Map<string, PiiSpan>();
    for (const country of PHONE_COUNTRIES) {
      let results: Array<{ startsAt: number; endsAt: number; number: { number: string } }>;
      try {
        // `leniency` is honoured at run time but missing from the published typings.
        const findOptions = { defaultCountry: country, leniency: "POSSIBLE", v2: true } as unknown as { defaultCountry: CountryCode; v2: true };
        results = findNumbers(text, findOptions) as never;
      } catch {
        continue;
      }
      for (const r of results) {
        let end = r.endsAt;
        const ext = /^x\d{1,5}/.exec(text.slice(end));
        if (ext) end += ext[0].length;
        if (/[\p{L}\p{N}]/u.test(text[r.startsAt - 1] ?? "") || /[\p{L}\p{N}]/u.test(text[end] ?? "")) continue; // inside a longer token
        const value = text.slice(r.startsAt, end);
        const digits = value.replace(/\D/g, "");
        if (digits.length < 7 || digits.length > 15) continue;
        if (/^(19|20)\d{2}-\d{2}-\d{2}/.test(value)) continue; // ISO date
        const key = `${r.startsAt}:${end}`;
        let score = 0.7;
        try {
          if (isValidPhoneNumber(value.replace(/x\d+$/, ""), country)) score = 0.9;
        } catch {
          /* not parseable for this region */
        }
        if (hasContext(text, r.startsAt, PHONE_CONTEXT)) score = Math.min(1, score + 0.1);
        const prev = found.get(key);
        if (!prev || prev.score < score) found.set(key, span(text, r.startsAt, end, "PHONE_NUMBER", score));
      }
    }
    return [...found.values()];
  },
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
export const dateRecognizer: PatternRecognizer = {
  type: "DATE_TIME",
  find(text) {
    const out: PiiSpan[] = [];
    for (const [re, score] of DATE_RES) for (const m of matches(re, text)) out.push(span(text, m.index, m.index + m[0].length, "DATE_TIME", score));
    return out;
  },
};

/** The default recognizers, strongest evidence first. */
export const DEFAULT_RECOGNIZERS: readonly PatternRecognizer[] = [
  emailRecognizer,
  ibanRecognizer,
  creditCardRecognizer,
  ipRecognizer,
  urlRecognizer,
  ssnRecognizer,
  dateRecognizer,
  phoneRecognizer,
];

/**
 * Resolves overlapping spans: higher score wins, then the longer span, then the earlier one.
 * Returns non-overlapping spans sorted by `start`.
 */
export function resolveOverlaps(spans: readonly PiiSpan[]): PiiSpan[] {
  const ranked = spans.slice().sort((a, b) => b.score - a.score || b.end - b.start - (a.end - a.start) || a.start - b.start);
  const kept: PiiSpan[] = [];
  for (const s of ranked) if (!kept.some((k) => s.start < k.end && k.start < s.end)) kept.push(s);
  return kept.sort((a, b) => a.start - b.start);
}

/** Runs `recognizers` over `text` and resolves overlaps. Synchronous; never throws on odd input. */
export function findPatternSpans(text: string, recognizers: readonly PatternRecognizer[] = DEFAULT_RECOGNIZERS): PiiSpan[] {
  return resolveOverlaps(recognizers.flatMap((r) => r.find(text)));
}
