/**
 * Rule-based guard signals that need no model: prompt-injection / jailbreak markers (input),
 * secrets and leaked privacy placeholders (output). Each returns a score in [0, 1] and the
 * rule that fired, so a decision can say why.
 */

/** A rule hit: score in [0, 1] and a short reason. */
export interface RuleHit {
  score: number;
  reason: string;
}

const INJECTION_RULES: Array<[RegExp, number, string]> = [
  [/\b(ignore|disregard|forget|override)\b[^.\n]{0,40}\b(previous|prior|above|earlier|all|your|the|system)\b[^.\n]{0,30}\b(instructions?|prompts?|rules?|guidelines?|directions?|messages?)/i, 0.95, "asks to ignore previous instructions"],
  [/\b(reveal|print|show|repeat|output|leak|tell me)\b[^.\n]{0,40}\b(system prompt|hidden (prompt|instructions)|initial instructions|your instructions|developer message)/i, 0.9, "asks for the system prompt"],
  [/\b(DAN|do anything now|developer mode|jailbreak(ed)?|god mode|unfiltered mode|STAN|AIM)\b/, 0.85, "names a known jailbreak persona"],
  [/\b(you are|act as|pretend (to be|you are)|roleplay as)\b[^.\n]{0,60}\b(no|without|free of)\b[^.\n]{0,20}\b(restrictions?|limits?|rules?|filters?|guidelines?|ethics|morals)/i, 0.9, "asks to act without restrictions"],
  [/\bnew (instructions?|rules?|system prompt)\s*:/i, 0.8, "injects new instructions"],
  [/<\|?(im_start|system|endoftext)\|?>|\[\/?INST\]|###\s*(system|instruction)\s*:/i, 0.8, "contains chat-template control tokens"],
  [/\b(from now on|for the rest of this conversation)\b[^.\n]{0,60}\b(you will|you must|always|never)\b/i, 0.6, "tries to rewrite the assistant's behaviour"],
  [/\b(stay in character|never break character|you cannot refuse|you must not refuse|do not refuse)\b/i, 0.75, "forbids refusing"],
  [/\b(base64|rot13|hex)\b[^.\n]{0,40}\b(decode|decoded|encoded)\b[^.\n]{0,40}\b(follow|execute|obey|instructions?)/i, 0.7, "hides instructions in an encoding"],
];

/** Prompt-injection / jailbreak score of a text: the strongest matching rule (0 when none). */
export function injectionScore(text: string): RuleHit {
  let best: RuleHit = { score: 0, reason: "no injection marker" };
  for (const [re, score, reason] of INJECTION_RULES) if (score > best.score && re.test(text)) best = { score, reason };
  return best;
}

const JWT_CHAR = /[A-Za-z0-9_-]/;
const isWord = (c: string) => c !== "" && c !== "-" && JWT_CHAR.test(c);

/**
 * True when `text` contains a JSON web token: exactly what
 * `/\beyJ[A-Za-z0-9_-]{10,}\.eyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}\b/` finds, in linear
 * time (that expression is quadratic on `-eyJ-eyJ-…`: every start rescans the rest of the run).
 * The first segment must end at the end of its run of `[A-Za-z0-9_-]`, so each run is checked
 * once, from its leftmost `eyJ` at a word boundary.
 */
export function containsJwt(text: string): boolean {
  const runs: Array<[number, number]> = [];
  const re = /[A-Za-z0-9_-]+/g;
  for (let m = re.exec(text); m !== null; m = re.exec(text)) runs.push([m.index, m.index + m[0].length]);
  let next = text.indexOf("eyJ"); // first "eyJ" at or after the current run (-1: none left)
  for (let r = 0; r + 2 < runs.length && next >= 0; r++) {
    const [a, b] = runs[r];
    if (next < a) next = text.indexOf("eyJ", a);
    if (next < 0) break;
    if (next + 3 > b || text[b] !== "." || runs[r + 1][0] !== b + 1) continue;
    // Leftmost `eyJ` in the run at a word boundary (run start, or after '-').
    let s = -1;
    for (let i = next; i >= 0 && i + 3 <= b; i = text.indexOf("eyJ", i + 1)) {
      if (i === a || text[i - 1] === "-") {
        s = i;
        break;
      }
    }
    if (s < 0 || b - (s + 3) < 10) continue;
    const [c, d] = runs[r + 1];
    if (!text.startsWith("eyJ", c) || d - (c + 3) < 10 || text[d] !== "." || runs[r + 2][0] !== d + 1) continue;
    const [e, f] = runs[r + 2];
    for (let p = e + 10; p <= f; p++) if (isWord(text.charAt(p - 1)) !== isWord(text.charAt(p))) return true;
  }
  return false;
}

/**
 * Secret rules: a regular expression (each linear: bounded repetition, or unbounded runs that
 * cannot fail after they start) or a test function.
 */
const SECRET_RULES: Array<[RegExp | ((text: string) => boolean), string]> = [
  [/\bsk-(?:proj-|ant-)?[A-Za-z0-9_-]{20,}\b/, "API key (sk-…)"],
  [/\bAKIA[0-9A-Z]{16}\b/, "AWS access key id"],
  [/\bgh[pousr]_[A-Za-z0-9]{36,}\b/, "GitHub token"],
  [/\bxox[abprs]-[A-Za-z0-9-]{10,}\b/, "Slack token"],
  [/\bAIza[0-9A-Za-z_-]{35}\b/, "Google API key"],
  [/-----BEGIN (?:RSA |EC |OPENSSH |DSA |PGP )?PRIVATE KEY-----/, "private key block"],
  [containsJwt, "JSON web token"],
  [/\b(password|passwd|pwd)\s*[:=]\s*\S{6,}/i, "password assignment"],
];

/** Secrets in a text (API keys, tokens, private keys, passwords): score 1 on a hit. */
export function secretScore(text: string): RuleHit {
  for (const [rule, reason] of SECRET_RULES) if (typeof rule === "function" ? rule(text) : rule.test(text)) return { score: 1, reason: `contains a secret: ${reason}` };
  return { score: 0, reason: "no secret" };
}

/** Privacy placeholders (`[PERSON_1_k7q2x]`, or the nonce-less `[PERSON_1]`) left in a text that should have been restored: score 1 on a hit. */
export function placeholderLeakScore(text: string): RuleHit {
  const m = /\[(PERSON|EMAIL_ADDRESS|PHONE_NUMBER|CREDIT_CARD|IBAN_CODE|IP_ADDRESS|STREET_ADDRESS|ZIP_CODE|GPE|ORGANIZATION|DATE_TIME|AGE|US_SSN|US_DRIVER_LICENSE|DOMAIN_NAME|NRP|TITLE)_\d{1,6}(?:_[a-z0-9]{5})?\]/.exec(text);
  return m ? { score: 1, reason: `leaked privacy placeholder ${m[0]}` } : { score: 0, reason: "no placeholder" };
}
