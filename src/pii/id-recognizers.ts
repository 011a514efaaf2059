/**
 * Recognizers for identity-document, bank, medical-licence and crypto-wallet numbers — the
 * entities of Presidio's predefined recognizer set that the first pattern set lacked
 * (`UsLicenseRecognizer`, `UsPassportRecognizer`, `UsBankRecognizer`, `UsItinRecognizer`,
 * `MedicalLicenseRecognizer`, `NhsRecognizer`, `CryptoRecognizer`).
 *
 * Numbers of these kinds have no shape of their own (a passport number is nine digits, so is a
 * ZIP+4 or an order number), so — as in Presidio — most are reported only with a context word
 * shortly before them ("passport", "account", "driver's licence"); the ones with a checksum
 * (DEA numbers, NHS numbers, ABA routing numbers, Bitcoin addresses) are confirmed by it.
 * Bitcoin addresses are validated by `bitcoin-address-validation` (Base58Check and Bech32/Bech32m).
 *
 * Every pattern here matches a bounded stretch (≤ 100 characters) at word boundaries, so each
 * recognizer is linear in the text (checked in `patterns-time.test.ts`).
 */
import { validate as isBitcoinAddress } from "bitcoin-address-validation";
import { HAS_DIGIT, hasContext, matches, span, windowed, type PatternRecognizer } from "./recognizer-kit.js";
import type { PiiSpan } from "./types.js";

/** Characters before a candidate searched for context words. */
const CONTEXT_WINDOW = 48;

const LICENSE_CONTEXT = /\b(driver'?s?|driving|licen[cs]e|DL|DLN|ID card|permit)\b/i;
const LICENSE_RE = /(?<![\w-])(?:[A-Z]{1,2}-?\d{4,14}|\d{6,14}|\d{2,4}(?:-\d{2,6}){1,3})(?![\w-])/gi;
/**
 * US driver's licence numbers (US_DRIVER_LICENSE): the states' formats (1–2 letters and 4–14
 * digits, 6–14 digits, dash-grouped digits), reported only after a licence context word; 0.95 —
 * above the phone recognizer's 0.9 for a number valid in some region and the SSN recognizer's
 * 0.85 for a dash-grouped number without SSN context, so "driver's license 123-45-6789" is a
 * licence. (The other context-gated recognizers below score 0.95 for the same reason.)
 */
export const driverLicenseRecognizer: PatternRecognizer = windowed("US_DRIVER_LICENSE", (text) => {
  const out: PiiSpan[] = [];
  for (const m of matches(LICENSE_RE, text)) {
    if (!/\d{4}/.test(m[0].replace(/-/g, ""))) continue;
    if (hasContext(text, m.index, LICENSE_CONTEXT, CONTEXT_WINDOW)) out.push(span(text, m.index, m.index + m[0].length, "US_DRIVER_LICENSE", 0.95));
  }
  return out;
}, HAS_DIGIT);

const PASSPORT_CONTEXT = /\b(passport|travel document|passport ?(no|number|#))\b/i;
const PASSPORT_RE = /(?<![\w-])(?:[A-Z]{1,2}\d{6,8}|\d{8,9})(?![\w-])/gi;
/** Passport numbers (US_PASSPORT; the US 9-digit and letter+8-digit formats and most countries' 1–2 letters + 6–8 digits) after a passport context word; 0.95. */
export const passportRecognizer: PatternRecognizer = windowed("US_PASSPORT", (text) => {
  const out: PiiSpan[] = [];
  for (const m of matches(PASSPORT_RE, text)) {
    if (hasContext(text, m.index, PASSPORT_CONTEXT, CONTEXT_WINDOW)) out.push(span(text, m.index, m.index + m[0].length, "US_PASSPORT", 0.95));
  }
  return out;
}, HAS_DIGIT);

/** ABA routing-number checksum: 3·(d1+d4+d7) + 7·(d2+d5+d8) + (d3+d6+d9) ≡ 0 (mod 10). */
export function isAbaRoutingNumber(digits: string): boolean {
  if (!/^\d{9}$/.test(digits)) return false;
  const d = [...digits].map(Number);
  const sum = 3 * (d[0] + d[3] + d[6]) + 7 * (d[1] + d[4] + d[7]) + (d[2] + d[5] + d[8]);
  return sum % 10 === 0 && sum > 0;
}

const BANK_CONTEXT = /\b(bank|banking|account|acct|a\/c|checking|savings|routing|aba|rtn|deposit|wire)\b/i;
const BANK_RE = /(?<![\w-])\d{8,17}(?![\w-])/g;
/**
 * Bank account and routing numbers (US_BANK_NUMBER): 8–17 digits after a banking context word
 * (0.95); 9-digit numbers passing the ABA routing checksum after such a word score 0.97.
 */
export const bankNumberRecognizer: PatternRecognizer = windowed("US_BANK_NUMBER", (text) => {
  const out: PiiSpan[] = [];
  for (const m of matches(BANK_RE, text)) {
    if (!hasContext(text, m.index, BANK_CONTEXT, CONTEXT_WINDOW)) continue;
    out.push(span(text, m.index, m.index + m[0].length, "US_BANK_NUMBER", isAbaRoutingNumber(m[0]) ? 0.97 : 0.95));
  }
  return out;
}, HAS_DIGIT);

const ITIN_CONTEXT = /\b(itin|taxpayer|tax id|tax identification)\b/i;
const ITIN_RE = /(?<![\d-])9\d{2}([- ]?)(?:5\d|6[0-5]|7\d|8[0-8]|9[0-24-9])\1\d{4}(?![\d-])/g;
/** US individual taxpayer identification numbers (US_ITIN: 9XX-[50–65,70–88,90–92,94–99]-XXXX); 1 with context, 0.7 when separated, else not reported. */
export const itinRecognizer: PatternRecognizer = windowed("US_ITIN", (text) => {
  const out: PiiSpan[] = [];
  for (const m of matches(ITIN_RE, text)) {
    const context = hasContext(text, m.index, ITIN_CONTEXT, CONTEXT_WINDOW);
    if (!context && !m[1]) continue;
    out.push(span(text, m.index, m.index + m[0].length, "US_ITIN", context ? 1 : 0.7));
  }
  return out;
}, HAS_DIGIT);

/**
 * DEA registration-number checksum (the US prescriber licence): two letters, seven digits;
 * (d1+d3+d5) + 2·(d2+d4+d6) ≡ d7 (mod 10).
 */
export function isDeaNumber(value: string): boolean {
  const m = /^[ABCDEFGHJKLMPRSTUX][A-Z9](\d{7})$/i.exec(value);
  if (!m) return false;
  const d = [...m[1]].map(Number);
  return (d[0] + d[2] + d[4] + 2 * (d[1] + d[3] + d[5])) % 10 === d[6];
}

/** NPI check digit: Luhn over "80840" + the first nine digits (CMS's National Provider Identifier). */
export function isNpi(digits: string): boolean {
  if (!/^[12]\d{9}$/.test(digits)) return false;
  const all = "80840" + digits;
  let sum = 0;
  for (let i = 0; i < all.length; i++) {
    let v = all.charCodeAt(all.length - 1 - i) - 48;
    if (i % 2 === 1) {
      v *= 2;
      if (v > 9) v -= 9;
    }
    sum += v;
  }
  return sum % 10 === 0;
}

const DEA_RE = /(?<![\w-])[A-Z][A-Z9]\d{7}(?![\w-])/gi;
const NPI_RE = /(?<![\w-])[12]\d{9}(?![\w-])/g;
const MEDICAL_CONTEXT = /\b(npi|dea|medical licen[cs]e|provider|prescriber|physician|doctor|dr\.?)\b/i;
/** Medical licence numbers (MEDICAL_LICENSE): DEA numbers passing their checksum (0.95); NPIs passing theirs after a medical context word (0.9). */
export const medicalLicenseRecognizer: PatternRecognizer = windowed("MEDICAL_LICENSE", (text) => {
  const out: PiiSpan[] = [];
  for (const m of matches(DEA_RE, text)) if (isDeaNumber(m[0])) out.push(span(text, m.index, m.index + m[0].length, "MEDICAL_LICENSE", 0.95));
  for (const m of matches(NPI_RE, text)) {
    if (isNpi(m[0]) && hasContext(text, m.index, MEDICAL_CONTEXT, CONTEXT_WINDOW)) out.push(span(text, m.index, m.index + m[0].length, "MEDICAL_LICENSE", 0.9));
  }
  return out;
}, HAS_DIGIT);

/** NHS number check digit (mod 11 with weights 10…2). */
export function isNhsNumber(digits: string): boolean {
  if (!/^\d{10}$/.test(digits)) return false;
  let sum = 0;
  for (let i = 0; i < 9; i++) sum += (digits.charCodeAt(i) - 48) * (10 - i);
  const check = 11 - (sum % 11);
  const expected = check === 11 ? 0 : check;
  return expected !== 10 && expected === digits.charCodeAt(9) - 48;
}

const NHS_RE = /(?<![\d-])\d{3}([- ]?)\d{3}\1\d{4}(?![\d-])/g;
const NHS_CONTEXT = /\b(nhs|national health|health service|patient)\b/i;
/** UK NHS numbers (UK_NHS): 10 digits passing the mod-11 check after an NHS context word; 1. */
export const nhsRecognizer: PatternRecognizer = windowed("UK_NHS", (text) => {
  const out: PiiSpan[] = [];
  for (const m of matches(NHS_RE, text)) {
    if (isNhsNumber(m[0].replace(/[- ]/g, "")) && hasContext(text, m.index, NHS_CONTEXT, CONTEXT_WINDOW)) out.push(span(text, m.index, m.index + m[0].length, "UK_NHS", 1));
  }
  return out;
}, HAS_DIGIT);

const BTC_RE = /(?<![\w])(?:[13mn2][1-9A-HJ-NP-Za-km-z]{25,34}|(?:bc|tb|bcrt)1[02-9ac-hj-np-z]{8,87})(?![\w])/gi;
const ETH_RE = /(?<![\w])0x[0-9a-fA-F]{40}(?![\w])/g;
const CRYPTO_CONTEXT = /\b(wallet|address|btc|bitcoin|eth|ether|ethereum|crypto|send|pay)\b/i;
/**
 * Crypto-wallet addresses (CRYPTO): Bitcoin addresses (P2PKH, P2SH, SegWit, Taproot; mainnet and
 * testnet) confirmed by `bitcoin-address-validation` (1), or address-shaped after a wallet
 * context word though the checksum fails (0.6: a mistyped or synthetic address is still private); Ethereum addresses (0x + 40 hex
 * digits; the EIP-55 checksum is not checked) 0.85, 1 after a wallet context word.
 */
export const cryptoRecognizer: PatternRecognizer = windowed("CRYPTO", (text) => {
  const out: PiiSpan[] = [];
  for (const m of matches(BTC_RE, text)) {
    if (isBitcoinAddress(m[0])) out.push(span(text, m.index, m.index + m[0].length, "CRYPTO", 1));
    else if (/\d/.test(m[0]) && /[a-z]/.test(m[0]) && hasContext(text, m.index, CRYPTO_CONTEXT, CONTEXT_WINDOW)) out.push(span(text, m.index, m.index + m[0].length, "CRYPTO", 0.6));
  }
  for (const m of matches(ETH_RE, text)) out.push(span(text, m.index, m.index + m[0].length, "CRYPTO", hasContext(text, m.index, CRYPTO_CONTEXT, CONTEXT_WINDOW) ? 1 : 0.85));
  return out;
});

/** The identity/bank/medical/crypto recognizers, in the default recognizer set after the checksum-strong ones. */
export const ID_RECOGNIZERS: readonly PatternRecognizer[] = [cryptoRecognizer, medicalLicenseRecognizer, nhsRecognizer, itinRecognizer, driverLicenseRecognizer, passportRecognizer, bankNumberRecognizer];
