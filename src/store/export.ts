/**
 * Distillation datasets from stored traces (the "distillation" mechanism of the surveys: the
 * LLM's answers become training data for the SLM and for the routers). Three formats, one JSON
 * object per line:
 *
 * - `sft` — chat fine-tuning pairs in the `messages` format that Hugging Face TRL's `SFTTrainer`,
 *   Axolotl, Unsloth, OpenAI fine-tuning and most tools read:
 *   `{"messages": [...request messages, {"role": "assistant", "content": answer}]}`.
 *   Only answers served by a strong model: the serving call (last call without an error) ran in
 *   the cloud, or — for traces without call details — a decision escalated. Degraded answers
 *   (a local fallback served) are therefore excluded. Deduplicated; negative feedback on an answer excludes that
 *   answer to that prompt (in every trace that repeats it).
 * - `preference` — TRL's conversational preference format (`DPOTrainer`):
 *   `{"prompt": [...messages], "chosen": [{"role":"assistant","content":…}], "rejected": [...]}`.
 *   Two sources: (1) each cascade escalation — the strong answer chosen over the weak answer it
 *   replaced (stored on the decision as `discarded`), unless user feedback marks the strong answer
 *   bad; (2) answers to the *same* request messages in different traces, ranked by user feedback
 *   when given, else strong-served (1) over weak-served (0); ties make no pair.
 * - `router` — router training labels in Tandem's replay JSONL (src/eval/dataset.ts), read by
 *   `tandem router train` / `tandem eval`: `{"id","prompt","group","outcomes":{"<weak>":{"score","cost"},
 *   "<strong>":{"score","cost"}}}`, from traces where a cascade made the decision (its weak model
 *   answered, so the outcome was observed): weak answer kept ⇒ weak score 1; escalated ⇒ weak
 *   score 0; the strong score is 1 (assumed: it served). User feedback on the served answer
 *   overrides the score of the side that served. A `route` decision observes only one side and
 *   yields no label. Costs in USD: observed calls' cost; the strong cost of a kept-weak trace is
 *   the strong-only estimate (`costEstimated: true`).
 *
 * This module knows no strategy names: which decisions observed both sides (a cascade) and
 * which only the chosen side (a route) comes in through {@link ExportOptions.observations},
 * which callers take from the strategy registry (`decisionObservations()` in
 * src/strategies/registry.ts). Below, "cascade" and "route" stand for those two groups.
 */
import type { ModelCall } from "../core/model.js";
import type { ChatMessage } from "../core/wire.js";
import type { Trace } from "./traces.js";

/** Export format; see the module comment. */
export type ExportFormat = "sft" | "preference" | "router";

/** The export formats, for CLI validation. */
export const EXPORT_FORMATS: readonly ExportFormat[] = ["sft", "preference", "router"];

/**
 * Decision `strategy` values grouped by what the decision observed: `both` — the weak side
 * answered before the decision (its escalation replaced a weak answer: a preference pair and a
 * router label); `chosen` — only the chosen side ran (no router label).
 */
export interface DecisionObservations {
  both: readonly string[];
  chosen: readonly string[];
}

/** Options of {@link exportTraces}. */
export interface ExportOptions {
  format: ExportFormat;
  /** Which decision kinds observed what (e.g. `decisionObservations()` of the strategy registry). */
  observations: DecisionObservations;
  /** User feedback: trace id → score of the served answer in [0, 1] (1 = good). Scores < 0.5 count as negative. */
  feedback?: ReadonlyMap<string, number>;
  /** Router format: outcome key of the weak model (default: the id of the cascade's weak model). */
  weak?: string;
  /** Router format: outcome key of the strong model (default: the id of the cascade's strong model, as seen in an escalated trace). */
  strong?: string;
}

/** One SFT example. */
export interface SftRecord {
  messages: ChatMessage[];
}

/** One preference pair (TRL conversational format). */
export interface PreferenceRecord {
  prompt: ChatMessage[];
  chosen: [{ role: "assistant"; content: string }];
  rejected: [{ role: "assistant"; content: string }];
}

/** One router label record (replay JSONL). Scores in [0, 1]; costs in USD. */
export interface RouterRecord {
  id: string;
  prompt: ChatMessage[];
  /** The cascade strategy's name. */
  group: string;
  outcomes: Record<string, { score: number; cost: number; costEstimated?: boolean }>;
}

/** What an export produced and why traces were left out (reason → count). */
export interface ExportResult<R = SftRecord | PreferenceRecord | RouterRecord> {
  records: R[];
  /** Traces read. */
  considered: number;
  skipped: Record<string, number>;
}

/** The call whose output was served: the last call without an error. */
export function servingCall(trace: Trace): ModelCall | undefined {
  return trace.calls.filter((c) => !c.error).at(-1);
}

/** True when a strong (cloud) model produced the served answer. */
export function servedByStrong(trace: Trace): boolean {
  const call = servingCall(trace);
  if (call) return call.location === "cloud";
  return trace.escalated && !trace.degraded;
}

/** Content usable as training data: a 200 with stored messages and a non-empty answer. */
function usable(trace: Trace, skip: (reason: string) => void): trace is Trace & { messages: ChatMessage[]; responseText: string } {
  if (trace.status !== 200) return skip("request failed"), false;
  if (!trace.messages?.length || trace.responseText === undefined) return skip("content not stored (traces.storeContent: false)"), false;
  if (!trace.responseText.trim()) return skip("empty answer (e.g. tool calls only)"), false;
  return true;
}

/**
 * Builds the records of `format` from `traces` (any order; output follows input order).
 * Pure: reads nothing but its arguments. Never throws on odd traces — they are counted in `skipped`.
 */
export function exportTraces(traces: readonly Trace[], options: ExportOptions): ExportResult {
  const skipped: Record<string, number> = {};
  const skip = (reason: string) => {
    skipped[reason] = (skipped[reason] ?? 0) + 1;
  };
  const feedback = options.feedback ?? new Map<string, number>();
  const records =
    options.format === "sft"
      ? sft(traces, feedback, skip)
      : options.format === "preference"
        ? preference(traces, feedback, options.observations, skip)
        : router(traces, feedback, options, skip);
  return { records, considered: traces.length, skipped };
}

function sft(traces: readonly Trace[], feedback: ReadonlyMap<string, number>, skip: (r: string) => void): SftRecord[] {
  const out: SftRecord[] = [];
  const seen = new Set<string>();
  const example = (t: Trace & { messages: ChatMessage[]; responseText: string }): SftRecord => ({ messages: [...t.messages, { role: "assistant", content: t.responseText }] });
  // negative feedback on an answer rejects that answer to that prompt wherever it occurs
  const rejected = new Set<string>();
  for (const t of traces) {
    const fb = feedback.get(t.id);
    if (fb !== undefined && fb < 0.5 && t.messages?.length && t.responseText !== undefined) rejected.add(JSON.stringify(example(t as Trace & { messages: ChatMessage[]; responseText: string }).messages));
  }
  for (const t of traces) {
    if (!usable(t, skip)) continue;
    if (!servedByStrong(t)) {
      skip(t.degraded ? "degraded (a fallback served)" : "served by a weak/edge model");
      continue;
    }
    const record = example(t);
    const key = JSON.stringify(record.messages);
    if (rejected.has(key)) {
      skip("negative feedback");
      continue;
    }
    if (seen.has(key)) {
      skip("duplicate");
      continue;
    }
    seen.add(key);
    out.push(record);
  }
  return out;
}

function preference(traces: readonly Trace[], feedback: ReadonlyMap<string, number>, observations: DecisionObservations, skip: (r: string) => void): PreferenceRecord[] {
  const both = new Set(observations.both);
  const groups = new Map<string, { prompt: ChatMessage[]; answers: Array<{ text: string; score: number }>; pairs: Array<[string, string]> }>();
  for (const t of traces) {
    if (!usable(t, skip)) continue;
    const key = JSON.stringify(t.messages);
    const group = groups.get(key) ?? { prompt: t.messages, answers: [], pairs: [] };
    groups.set(key, group);
    const fb = feedback.get(t.id);
    group.answers.push({ text: t.responseText, score: fb ?? (servedByStrong(t) ? 1 : 0) });
    const cascade = t.decisions.find((d) => both.has(d.strategy));
    if (!cascade?.escalated) continue;
    if (cascade.discarded === undefined) skip("cascade escalation: weak answer not stored (older trace, or content storage off)");
    else if (fb !== undefined && fb < 0.5) skip("cascade escalation with negative feedback on the strong answer");
    else if (servedByStrong(t)) group.pairs.push([t.responseText, cascade.discarded]); // the strong answer over the weak one it replaced
  }
  const out: PreferenceRecord[] = [];
  for (const { prompt, answers, pairs: escalations } of groups.values()) {
    const pairs = new Set<string>();
    const add = (chosen: string, rejected: string) => {
      const key = JSON.stringify([chosen, rejected]);
      if (chosen === rejected || pairs.has(key)) return;
      pairs.add(key);
      out.push({ prompt, chosen: [{ role: "assistant", content: chosen }], rejected: [{ role: "assistant", content: rejected }] });
    };
    for (const [chosen, rejected] of escalations) add(chosen, rejected);
    for (const a of answers) for (const b of answers) if (a.score > b.score) add(a.text, b.text);
    if (pairs.size === 0) skip("prompt with no ranked pair of different answers");
  }
  return out;
}

function router(traces: readonly Trace[], feedback: ReadonlyMap<string, number>, options: ExportOptions, skip: (r: string) => void): RouterRecord[] {
  const isWeak = (c: ModelCall) => c.role?.startsWith("weak") === true;
  const both = new Set(options.observations.both);
  const chosen = new Set(options.observations.chosen);
  // strong model ids per cascade, learned from escalated traces (a kept-weak trace never calls it)
  // (by cascade name, else by weak model id)
  const strongOf = new Map<string, string>();
  for (const t of traces) {
    const d = t.decisions.find((x) => both.has(x.strategy));
    if (!d?.escalated || t.status !== 200) continue;
    strongOf.set(`name:${d.name}`, d.chosen);
    const weakId = t.calls.find(isWeak)?.model;
    if (weakId && !strongOf.has(`weak:${weakId}`)) strongOf.set(`weak:${weakId}`, d.chosen);
  }
  const out: RouterRecord[] = [];
  for (const t of traces) {
    if (t.status !== 200) {
      skip("request failed");
      continue;
    }
    const d = t.decisions.find((x) => both.has(x.strategy));
    if (!d) {
      skip(t.decisions.some((x) => chosen.has(x.strategy)) ? "route decision: only the chosen side was observed" : "no cascade decision");
      continue;
    }
    if (!t.messages?.length) {
      skip("content not stored (traces.storeContent: false)");
      continue;
    }
    const weakCalls = t.calls.filter(isWeak);
    const otherCalls = t.calls.filter((c) => !isWeak(c));
    const weak = options.weak ?? weakCalls[0]?.model ?? (d.escalated ? undefined : d.chosen) ?? "weak";
    const strong = options.strong ?? (d.escalated ? d.chosen : (strongOf.get(`name:${d.name}`) ?? strongOf.get(`weak:${weak}`))) ?? "strong";
    const fb = feedback.get(t.id);
    const weakScore = d.escalated ? 0 : (fb ?? 1);
    const strongScore = d.escalated ? (fb ?? 1) : 1;
    const sum = (calls: ModelCall[]) => calls.reduce((s, c) => s + c.costUsd, 0);
    out.push({
      id: t.id,
      prompt: t.messages,
      group: d.name,
      outcomes: {
        [weak]: { score: weakScore, cost: sum(weakCalls) },
        [strong]: d.escalated ? { score: strongScore, cost: sum(otherCalls) } : { score: strongScore, cost: t.strongOnlyCostUsd, costEstimated: true },
      },
    });
  }
  return out;
}

/** JSONL text of `records` (one object per line, trailing newline when non-empty). */
export function toJsonl(records: readonly unknown[]): string {
  return records.map((r) => JSON.stringify(r)).join("\n") + (records.length ? "\n" : "");
}

/**
 * Reads a feedback JSONL file's text: one `{"trace_id": "...", "score": 0..1}` per line (also
 * accepted: `id`, and `thumbs: "up" | "down"`). Errors: `SyntaxError` naming the line for a
 * malformed line.
 */
export function parseFeedback(text: string): Map<string, number> {
  const out = new Map<string, number>();
  text.split("\n").forEach((line, i) => {
    if (!line.trim()) return;
    let row: { trace_id?: string; id?: string; score?: number; thumbs?: string };
    try {
      row = JSON.parse(line);
    } catch (error) {
      throw new SyntaxError(`feedback line ${i + 1}: ${(error as Error).message}`);
    }
    const id = row.trace_id ?? row.id;
    const score = typeof row.score === "number" ? row.score : row.thumbs === "up" ? 1 : row.thumbs === "down" ? 0 : undefined;
    if (!id || score === undefined || !(score >= 0 && score <= 1)) throw new SyntaxError(`feedback line ${i + 1}: needs "trace_id" and "score" in [0, 1] (or "thumbs": "up"|"down")`);
    out.set(id, score);
  });
  return out;
}
