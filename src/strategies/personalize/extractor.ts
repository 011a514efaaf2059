/**
 * The memory extractor: finds facts a user states about themself in their own messages ("my name
 * is …", "I live in …", "I'm allergic to …", "I prefer …") and turns each into a memory — a slot,
 * the private value, a sentence, and the text to embed (the sentence plus the slot's topic words,
 * a hand-written document expansion in the manner of doc2query, Nogueira et al. 2019, so that
 * "what should I cook?" finds an allergy with a lexical embedder).
 *
 * Rules, not a model: first-person patterns per sentence, anchored on a fixed phrase, each value
 * at most {@link MAX_VALUE_CHARS} characters — bounded time, O(characters scanned × value
 * length), and at most {@link MAX_SCAN_CHARS} characters of at most {@link MAX_MESSAGES} user
 * messages are scanned. Questions ("Do I live in Paris?"), negations ("I'm not allergic to …",
 * "I don't prefer …"), other people ("my friend's name is …") and hypotheticals ("if I lived in
 * …", "I used to live in …") do not match the phrases. Only `user` messages are read: an
 * assistant's or a tool's text never becomes a user's memory.
 */
import type { ChatMessage } from "../../core/wire.js";

/** One extracted fact. */
export interface ExtractedFact {
  /** The slot, e.g. "name". */
  slot: string;
  /** The private value, e.g. "Alice Moreau". */
  value: string;
  /** Placeholder type of the value (PII entity type where one fits: PERSON, GPE, TITLE…). */
  entityType: string;
  /** The fact as a sentence. */
  text: string;
  /** What is embedded: the sentence and the slot's topic words. */
  embedText: string;
  /** True for a slot with one value (a new one replaces the old). */
  single: boolean;
}

/** A memory extractor (rules by default; a small model could implement the same). */
export interface MemoryExtractor {
  readonly name: string;
  /** Facts stated in `messages` (user messages only), deduplicated by slot and value. Never throws on input. */
  extract(messages: readonly ChatMessage[]): ExtractedFact[];
}

/** Longest value captured, in characters. */
export const MAX_VALUE_CHARS = 60;
/** Characters scanned per message (the start of it). */
export const MAX_SCAN_CHARS = 4000;
/** User messages scanned per request (the latest). */
export const MAX_MESSAGES = 16;

interface Slot {
  slot: string;
  entityType: string;
  single: boolean;
  topic: string;
}

const SLOTS: Record<string, Slot> = {
  name: { slot: "name", entityType: "PERSON", single: true, topic: "name named called call who am i introduce" },
  location: { slot: "location", entityType: "GPE", single: true, topic: "live home city town area nearby local where place country weather near me around here" },
  allergy: { slot: "allergy", entityType: "HEALTH", single: false, topic: "allergy allergic food eat meal dish cook recipe ingredient restaurant dinner lunch snack health safe" },
  diet: { slot: "diet", entityType: "DIET", single: false, topic: "diet food eat meal dish cook recipe ingredient restaurant dinner lunch menu" },
  like: { slot: "like", entityType: "PREFERENCE", single: false, topic: "like prefer favorite favourite enjoy love recommend suggest choose pick" },
  dislike: { slot: "dislike", entityType: "PREFERENCE", single: false, topic: "dislike hate avoid recommend suggest choose pick" },
  job: { slot: "job", entityType: "TITLE", single: true, topic: "job work career profession occupation office colleague do for a living" },
  employer: { slot: "employer", entityType: "ORGANIZATION", single: true, topic: "work job company employer office colleague" },
  birthday: { slot: "birthday", entityType: "DATE_TIME", single: true, topic: "birthday born birth date age celebrate old" },
  language: { slot: "language", entityType: "LANGUAGE", single: false, topic: "language speak translate translation native" },
};

/** Captures a clause: lazily up to a clause boundary, at most MAX_VALUE_CHARS. */
const CLAUSE = `([^,.;:!?()\\n]{1,${MAX_VALUE_CHARS}}?)(?=\\s+(?:and|but|because|so|since|though|although|which|who|when|while|if|or)\\b|\\s*[,.;:!?()\\n]|\\s*$)`;

interface Rule {
  slot: keyof typeof SLOTS;
  re: RegExp;
  fact(value: string): string;
  /** Value post-processing; undefined rejects the match. */
  clean?(value: string): string | undefined;
}

const NAME_WORD = /^\p{Lu}[\p{L}'’-]*$/u;
/** A name: the leading capitalized words (1–4). */
function capitalizedWords(value: string): string | undefined {
  const words: string[] = [];
  for (const w of value.split(/\s+/)) {
    if (!NAME_WORD.test(w) || words.length === 4) break;
    words.push(w);
  }
  return words.length ? words.join(" ") : undefined;
}

/** Trailing filler that is not part of the value. */
const TRAILING = /\s+(?:now|nowadays|these days|currently|at the moment|right now|actually|too|as well|anyway|though|lol|haha|a lot|very much|so much)$/i;
/** Values that are pronouns or filler, not facts. */
const NOT_A_VALUE = /^(?:it|that|this|them|those|these|you|him|her|something|anything|nothing|everything|stuff|things?|when|how|what)\b/i;

function plain(value: string): string | undefined {
  let v = value.trim();
  for (let i = 0; i < 3; i++) v = v.replace(TRAILING, "");
  v = v.replace(/^(?:the|a|an)\s+(?=\S)/i, (m) => m); // articles kept: "a window seat"
  if (v.length < 2 || NOT_A_VALUE.test(v)) return undefined;
  return v;
}
const withoutArticle = (value: string) => plain(value.replace(/^(?:a|an|the)\s+/i, ""));

const I_AM = String.raw`\b(?:i\s+am|i'm|i’m|im)`;
const RULES: Rule[] = [
  // name
  { slot: "name", re: new RegExp(String.raw`\bmy\s+(?:first\s+|full\s+)?name(?:\s+is|'s|’s)\s+${CLAUSE}`, "giu"), fact: (v) => `The user's name is ${v}.`, clean: capitalizedWords },
  { slot: "name", re: new RegExp(String.raw`(?:\bcall\s+me|${I_AM}\s+called|\bpeople\s+call\s+me|\bi\s+go\s+by)\s+${CLAUSE}`, "giu"), fact: (v) => `The user's name is ${v}.`, clean: capitalizedWords },
  // location
  { slot: "location", re: new RegExp(String.raw`(?:\bi\s+live|${I_AM}\s+living|${I_AM}\s+based|\bi\s+reside|\bi\s+moved|\bi\s+just\s+moved|\bmy\s+home\s+is)\s+(?:in|to)\s+${CLAUSE}`, "giu"), fact: (v) => `The user lives in ${v}.`, clean: (v) => capitalizedWords(v.replace(/^the\s+/i, "")) },
  // allergy
  { slot: "allergy", re: new RegExp(String.raw`(?:${I_AM}|\bi\s+am\s+very|${I_AM}\s+very|${I_AM}\s+severely|${I_AM}\s+seriously)\s+allergic\s+to\s+${CLAUSE}`, "giu"), fact: (v) => `The user is allergic to ${v}.`, clean: withoutArticle },
  { slot: "allergy", re: new RegExp(String.raw`\bi\s+have\s+(?:a|an)\s+(?:severe\s+|serious\s+|mild\s+)?allergy\s+to\s+${CLAUSE}`, "giu"), fact: (v) => `The user is allergic to ${v}.`, clean: withoutArticle },
  { slot: "allergy", re: /\bi\s+have\s+(?:a|an)\s+(?:severe\s+|serious\s+|mild\s+)?([\p{L}-]{2,30}(?:\s[\p{L}-]{2,30})?)\s+allergy\b/giu, fact: (v) => `The user is allergic to ${v}.`, clean: (v) => (/^(?:severe|serious|mild|bad|food)$/i.test(v) ? undefined : plain(v)) },
  // diet
  { slot: "diet", re: new RegExp(String.raw`${I_AM}\s+(?:a\s+|an\s+|strictly\s+|fully\s+)?(vegetarian|vegan|pescatarian|pescetarian|gluten[- ]free|lactose[- ]intolerant|kosher|halal|keto|celiac|coeliac|diabetic)\b`, "giu"), fact: (v) => `The user is ${v.toLowerCase()}.`, clean: (v) => v.toLowerCase() },
  { slot: "diet", re: new RegExp(String.raw`\bi\s+(?:don't|don’t|do\s+not|never|can't|can’t|cannot)\s+eat\s+${CLAUSE}`, "giu"), fact: (v) => `The user does not eat ${v}.`, clean: plain },
  // likes and dislikes
  { slot: "like", re: new RegExp(String.raw`\bi\s+(?:really\s+|strongly\s+|usually\s+|always\s+)?(?:prefer|love|like|enjoy|adore)\s+${CLAUSE}`, "giu"), fact: (v) => `The user likes ${v}.`, clean: plain },
  { slot: "like", re: new RegExp(String.raw`(?:${I_AM}\s+a\s+(?:huge\s+|big\s+)?fan\s+of)\s+${CLAUSE}`, "giu"), fact: (v) => `The user likes ${v}.`, clean: plain },
  { slot: "like", re: new RegExp(String.raw`\bmy\s+(?:favorite|favourite)\s+([\p{L}-]{2,20}(?:\s[\p{L}-]{2,20})?)\s+is\s+${CLAUSE}`, "giu"), fact: (v) => `The user's favorite is ${v}.`, clean: plain },
  { slot: "dislike", re: new RegExp(String.raw`\bi\s+(?:really\s+)?(?:hate|dislike|detest|(?:don't|don’t|do\s+not)\s+like|can't\s+stand|can’t\s+stand|cannot\s+stand)\s+${CLAUSE}`, "giu"), fact: (v) => `The user dislikes ${v}.`, clean: plain },
  // work
  { slot: "job", re: new RegExp(String.raw`(?:\bi\s+work\s+as|\bi'm\s+employed\s+as|\bmy\s+job\s+is|\bmy\s+profession\s+is|\bi\s+make\s+a\s+living\s+as)\s+${CLAUSE}`, "giu"), fact: (v) => `The user works as ${v}.`, clean: (v) => plain(v.split(/\s+(?:at|for|in|with)\s+/i)[0]) },
  { slot: "employer", re: new RegExp(String.raw`(?:\bi\s+work\s+(?:at|for)|${I_AM}\s+employed\s+(?:at|by)|${I_AM}\s+working\s+(?:at|for))\s+${CLAUSE}`, "giu"), fact: (v) => `The user works at ${v}.`, clean: (v) => capitalizedWords(v.replace(/^the\s+/i, "")) },
  // birthday
  { slot: "birthday", re: new RegExp(String.raw`(?:\bmy\s+birthday\s+is(?:\s+on)?|\bi\s+was\s+born\s+on)\s+${CLAUSE}`, "giu"), fact: (v) => `The user's birthday is ${v}.`, clean: plain },
  // language
  { slot: "language", re: /(?:\bi\s+speak|\bmy\s+(?:native|first|mother)\s+(?:language|tongue)\s+is)\s+(\p{Lu}\p{L}{2,20})\b/giu, fact: (v) => `The user speaks ${v}.`, clean: (v) => (NAME_WORD.test(v) ? v : undefined) },
];

/** The sentences of `text` that are statements (questions dropped), each at most 400 characters. */
function statements(text: string): string[] {
  const out: string[] = [];
  for (const m of text.matchAll(/[^.!?\n]+[.!?]*/g)) {
    const s = m[0].trim();
    if (!s || s.endsWith("?")) continue;
    out.push(s.slice(0, 400));
  }
  return out;
}

function userTexts(messages: readonly ChatMessage[]): string[] {
  const texts: string[] = [];
  for (const m of messages) {
    if (m.role !== "user") continue;
    const c = m.content as unknown;
    if (typeof c === "string") texts.push(c);
    else if (Array.isArray(c)) texts.push(c.map((p) => (p && typeof p === "object" && (p as { type?: string }).type === "text" ? String((p as { text?: unknown }).text ?? "") : "")).join(" "));
  }
  return texts.slice(-MAX_MESSAGES).map((t) => t.slice(0, MAX_SCAN_CHARS));
}

/**
 * Facts of one sentence or message text (the rules over its statements).
 * @example extractFacts("Hi! My name is Alice Moreau and I live in Lyon.") // name "Alice Moreau", location "Lyon"
 */
export function extractFacts(text: string): ExtractedFact[] {
  const facts: ExtractedFact[] = [];
  const seen = new Set<string>();
  for (const sentence of statements(text.slice(0, MAX_SCAN_CHARS))) {
    for (const rule of RULES) {
      rule.re.lastIndex = 0;
      for (const m of sentence.matchAll(rule.re)) {
        const raw = m[m.length - 1];
        if (!raw) continue;
        const value = rule.clean ? rule.clean(raw) : plain(raw);
        if (!value) continue;
        const slot = SLOTS[rule.slot];
        const key = `${slot.slot}\u0000${value.toLowerCase()}`;
        if (seen.has(key)) continue;
        seen.add(key);
        const sentenceText = rule.fact(value);
        facts.push({ slot: slot.slot, value, entityType: slot.entityType, text: sentenceText, embedText: `${sentenceText} ${slot.topic}`, single: slot.single });
      }
    }
  }
  // a single-valued slot stated twice keeps the last statement
  return facts.filter((f, i) => !f.single || !facts.slice(i + 1).some((g) => g.slot === f.slot));
}

/** The rule-based extractor (the default). */
export function ruleExtractor(): MemoryExtractor {
  return {
    name: "rules",
    extract(messages) {
      const all: ExtractedFact[] = [];
      for (const t of userTexts(messages)) all.push(...extractFacts(t));
      const byKey = new Map<string, ExtractedFact>();
      for (const f of all) {
        if (f.single) for (const [k, g] of byKey) if (g.slot === f.slot) byKey.delete(k);
        byKey.set(`${f.slot}\u0000${f.value.toLowerCase()}`, f);
      }
      return [...byKey.values()];
    },
  };
}

/** The slots the rules know, with their placeholder types (docs and benches). */
export function extractorSlots(): Array<{ slot: string; entityType: string; single: boolean }> {
  return Object.values(SLOTS).map(({ slot, entityType, single }) => ({ slot, entityType, single }));
}
