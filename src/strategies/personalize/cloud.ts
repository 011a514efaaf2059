/**
 * What a cloud model may see of a user's memories, per the `cloud` policy (docs/personalization.md):
 *
 * - `none`: nothing — the memories are not sent;
 * - `placeholders`: the memory message with every stored value replaced by a typed placeholder
 *   of hide-and-seek (HaS, Chen et al. 2023; the vault of src/strategies/privacy), plus whatever
 *   else the PII detector finds in it; the same values are hidden wherever they occur in the
 *   request's message texts, so the cloud sees one consistent conversation. The answer is
 *   restored on the device;
 * - `summary`: a summary written by a local (edge) model, itself passed through the detector and
 *   the vault the same way (so a value the summary repeats is hidden too).
 *
 * Fails closed: when the detector throws or runs out of time, when a stored value would still
 * leave raw (in any letter case), or when the summarizer fails, no memory is sent.
 */
import type { GenerateRequest, GenerateResult, Model } from "../../core/model.js";
import type { ChatMessage } from "../../core/wire.js";
import type { EntityType, PiiDetector } from "../../pii/types.js";
import type { MemoryEntry } from "../../store/memory.js";
import { PLACEHOLDER_RE, PlaceholderVault, withTimeout } from "../privacy/index.js";
import { extractorSlots } from "./extractor.js";
import { memoryText } from "./retrieval.js";

/** What the cloud may see of the memories. */
export type CloudMemoryPolicy = "none" | "placeholders" | "summary";

const typeOfSlot = new Map(extractorSlots().map((s) => [s.slot, s.entityType]));

/** A memory message in the form that may leave the device, and the vault that restores the answer. */
export interface CloudMemory {
  /** The system message text (placeholders or hidden summary). */
  text: string;
  vault: PlaceholderVault;
  /** Distinct values hidden. */
  hidden: number;
  /** The summarizer's result when `summary` made one (its calls are charged). */
  summary?: GenerateResult;
}

/** Why no memory left: the outcome of {@link cloudMemory} when it fails closed. */
export interface WithheldMemory {
  withheld: string;
  summary?: GenerateResult;
}

/** Options of {@link cloudMemory}. */
export interface CloudMemoryOptions {
  detector: PiiDetector;
  /** Detection budget, ms. Default 2000. */
  detectorTimeoutMs?: number;
  /** The edge model that writes `summary` mode's summary. */
  summarizer?: Model;
  signal?: AbortSignal;
}

/** The placeholder type of a memory's value ("PERSON" for a name…; the slot upper-cased otherwise). */
export function placeholderType(entry: Pick<MemoryEntry, "slot">): EntityType {
  // Health, diet, preference and language are not PII entity types, but the vault accepts any
  // upper-case type name ([A-Z][A-Z_]*), which is all a placeholder needs.
  return (typeOfSlot.get(entry.slot) ?? entry.slot.toUpperCase().replace(/[^A-Z_]/g, "_")) as EntityType;
}

/** True when some value of `entries` occurs in `text`, in any letter case. */
export function containsRawValue(text: string, entries: readonly Pick<MemoryEntry, "value">[]): boolean {
  const lower = text.toLowerCase();
  return entries.some((e) => e.value.trim().length >= 2 && lower.includes(e.value.trim().toLowerCase()));
}

/** The summarizer's prompt. */
export function summaryPrompt(facts: readonly string[]): ChatMessage[] {
  return [
    { role: "system", content: "Summarize the facts about the user in one short sentence. Do not add anything." },
    { role: "user", content: facts.join("\n") },
  ];
}

/**
 * The memory message for a cloud model (`placeholders` or `summary`), or why none may leave.
 * `request` is the request the message joins (the vault's nonce occurs nowhere in it).
 */
export async function cloudMemory(policy: Exclude<CloudMemoryPolicy, "none">, entries: readonly MemoryEntry[], request: GenerateRequest, options: CloudMemoryOptions): Promise<CloudMemory | WithheldMemory> {
  let text: string;
  let summary: GenerateResult | undefined;
  const facts = entries.map((e) => e.text);
  if (policy === "summary") {
    if (!options.summarizer) return { withheld: "no summarizer configured" };
    try {
      summary = await options.summarizer.generate({ messages: summaryPrompt(facts), maxTokens: 64, temperature: 0 }, options.signal);
    } catch (error) {
      options.signal?.throwIfAborted();
      return { withheld: `the summarizer failed (${(error as Error).message})` };
    }
    text = `What you know about the user from earlier conversations: ${summary.text.trim()}`;
  } else {
    text = memoryText(facts);
  }
  const vault = PlaceholderVault.forText(JSON.stringify(request.messages) + text);
  // the stored values first: hidden even where the detector would miss them
  for (const e of entries) vault.placeholderFor(e.value, placeholderType(e));
  // stored values hidden first (whole), then what the detector finds in the rest; spans that touch
  // a placeholder are dropped so that no placeholder is cut
  const known = vault.hideKnown(text);
  let spans;
  try {
    spans = await withTimeout((s) => options.detector.detect(known, s), options.detectorTimeoutMs ?? 2000, options.signal);
  } catch (error) {
    options.signal?.throwIfAborted();
    return { withheld: `the PII detector failed (${(error as Error).message}); failed closed`, summary };
  }
  const taken = [...known.matchAll(PLACEHOLDER_RE)].map((m) => [m.index, m.index + m[0].length] as const);
  const hiddenText = vault.hide(known, spans.filter((sp) => !taken.some(([a, b]) => sp.start < b && sp.end > a)));
  if (containsRawValue(hiddenText, entries)) return { withheld: "a stored value would leave unhidden; failed closed", summary };
  return { text: hiddenText, vault, hidden: vault.size, summary };
}

/**
 * The request's messages with the vault's known values hidden in their text (string content and
 * text parts of every message); other fields are left as they are. The input is not modified.
 */
export function hideKnownInMessages(messages: readonly ChatMessage[], vault: PlaceholderVault): ChatMessage[] {
  return messages.map((m) => {
    const c = (m as { content?: unknown }).content;
    if (typeof c === "string") return { ...m, content: vault.hideKnown(c) } as ChatMessage;
    if (Array.isArray(c)) {
      return { ...m, content: c.map((p) => (p && typeof p === "object" && (p as { type?: string }).type === "text" && typeof (p as { text?: unknown }).text === "string" ? { ...p, text: vault.hideKnown((p as { text: string }).text) } : p)) } as ChatMessage;
    }
    return m;
  });
}
