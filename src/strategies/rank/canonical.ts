/**
 * Canonical forms of answers, so that answers which say the same thing compare equal — what a
 * majority vote (self-consistency, Wang et al. 2023) and the learned scorer's agreement features
 * count. `null` means the answer has no canonical form of that kind (it abstains from the vote).
 *
 * - `choice`: a multiple-choice letter. The answer must *start* with the letter (optionally in
 *   parentheses) followed by the end, a newline, `.`, `)`, `:`, `,`, or a space and `(` / `-` — so "B",
 *   "B)\n", "(C)", "D. palms" and "D (the asteroid)" count but "A hypothesis is…" (the article) does not — or say "answer is X" /
 *   "answer: X" somewhere. Only letters of `letters` (default "ABCD") count.
 * - `number`: the text after a GSM8K-style "####" marker if any, else the last number in the
 *   text; thousands separators removed and trailing decimal zeros dropped ("1,000.50" → "1000.5").
 * - `text`: the whole text lower-cased, punctuation removed, whitespace collapsed ("" → null).
 * - tool calls: `tool:` + the calls' names and arguments (JSON, whitespace-free), whatever the kind.
 */
import type { GenerateResult } from "../../core/model.js";

/** The kinds of canonical form. */
export type CanonicalKind = "choice" | "number" | "text";

/** Options of {@link canonicalAnswer}. */
export interface CanonicalOptions {
  /** The valid choice letters for `choice` (upper case). Default "ABCD". */
  letters?: string;
}

/** The canonical form of `text` (see the module comment), or null when it has none. */
export function canonicalAnswer(text: string, kind: CanonicalKind, options: CanonicalOptions = {}): string | null {
  if (kind === "choice") return choiceLetter(text, options.letters ?? "ABCD");
  if (kind === "number") return numberAnswer(text);
  const t = text.toLowerCase().replace(/[^\p{L}\p{N}\s]/gu, "").replace(/\s+/g, " ").trim();
  return t === "" ? null : t;
}

/** The canonical form of a whole result: its tool calls when it has any, else its text's. */
export function canonicalResult(result: Pick<GenerateResult, "text" | "toolCalls">, kind: CanonicalKind, options: CanonicalOptions = {}): string | null {
  if (result.toolCalls?.length) {
    return `tool:${result.toolCalls.map((c) => `${c.function.name}(${c.function.arguments.replace(/\s+/g, "")})`).join(";")}`;
  }
  return canonicalAnswer(result.text, kind, options);
}

function choiceLetter(text: string, letters: string): string | null {
  const valid = (l: string | undefined) => (l !== undefined && letters.includes(l.toUpperCase()) ? l.toUpperCase() : null);
  const lead = /^\s*\(?([A-Za-z])\)?(?=\s*$|\s*[\n.):,]|\s+[(\-–])/.exec(text);
  // a lower-case lead letter counts only alone ("b"), never as a word start
  if (lead && (lead[1] === lead[1].toUpperCase() || /^\s*\(?[a-z]\)?\s*$/.test(text))) return valid(lead[1]);
  const said = /\banswer(?:\s+is)?\s*[:\-]?\s*\(?([A-Z])\)?(?![A-Za-z])/i.exec(text);
  return valid(said?.[1]);
}

function numberAnswer(text: string): string | null {
  const hash = text.split("####");
  const tail = hash.length > 1 ? hash[hash.length - 1] : text;
  const numbers = tail.match(/-?\d[\d,]*(?:\.\d+)?/g);
  if (!numbers?.length) return null;
  let n = (hash.length > 1 ? numbers[0] : numbers[numbers.length - 1]).replace(/,/g, "");
  if (n.includes(".")) n = n.replace(/0+$/, "").replace(/\.$/, "");
  return n === "-0" ? "0" : n;
}
