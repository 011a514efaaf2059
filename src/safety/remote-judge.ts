/**
 * Guard judges that are chat models: any `Model` (a model of the policy, local or remote), or a
 * guard model behind an OpenAI-compatible endpoint — Llama Guard (Inan et al. 2023, "Llama
 * Guard: LLM-based Input-Output Safeguard") or a JSON-answering instruct model served by vLLM,
 * llama.cpp's server or `tandem serve-model`. The second stage of the guard cascade
 * (src/strategies/guard): the built-in classifier decides the clear cases, the uncertain band is
 * sent here.
 *
 * Two documented prompt styles, each with a strict parser (anything else is a failure, and the
 * guard fails closed):
 *
 * - `"llama-guard"` — the conversation is sent as it is (`[{ role: "user", content: text }]`; for
 *   an answer, `[{ role: "user", content: "(request not shown)" }, { role: "assistant", content:
 *   text }]`): the endpoint applies the guard model's own chat template, which carries Llama
 *   Guard's task prompt and hazard taxonomy (S1–S14, {@link LLAMA_GUARD_CATEGORIES}) — how vLLM
 *   and llama.cpp (`--jinja`) serve Llama Guard 3. The answer must be `safe`, or `unsafe` and
 *   optionally one line of comma-separated category codes (`unsafe\nS1,S10`); see
 *   {@link parseLlamaGuardVerdict}.
 * - `"json"` — for a general instruct model: {@link judgePrompt} (a Llama-Guard-style task prompt
 *   over Tandem's `JUDGE_CATEGORIES` (judge.ts), asking for `{"verdict":"safe"|"unsafe","category":…}`)
 *   as one user message. The answer must be one JSON object (a ```json fence is tolerated) whose
 *   `verdict` is `"safe"` or `"unsafe"`; see {@link parseJsonVerdict}.
 *
 * Calls are greedy (temperature 0) with a small `maxTokens`; the judge's calls (tokens, USD, ms)
 * come back in the verdict's `calls` so the guard can put them in the decision path.
 */
import { TandemError } from "../core/errors.js";
import type { Model, ModelCall } from "../core/model.js";
import type { ChatMessage } from "../core/wire.js";
import { normalize } from "../core/normalize.js";
import { openaiCompatible } from "../providers/openai-compatible.js";
import { JudgeFailure, judgePrompt, type GuardJudge, type JudgeVerdict } from "./judge.js";

/** How the judge is prompted and how its answer is parsed (see module docs). */
export type JudgePromptStyle = "llama-guard" | "json";

/** Llama Guard 3's hazard categories (MLCommons taxonomy), by code. */
export const LLAMA_GUARD_CATEGORIES: Readonly<Record<string, string>> = {
  S1: "Violent Crimes",
  S2: "Non-Violent Crimes",
  S3: "Sex-Related Crimes",
  S4: "Child Sexual Exploitation",
  S5: "Defamation",
  S6: "Specialized Advice",
  S7: "Privacy",
  S8: "Intellectual Property",
  S9: "Indiscriminate Weapons",
  S10: "Hate",
  S11: "Suicide & Self-Harm",
  S12: "Sexual Content",
  S13: "Elections",
  S14: "Code Interpreter Abuse",
};

/** A parsed verdict: unsafe or not, and the hazard categories named (codes or names). */
export interface ParsedVerdict {
  unsafe: boolean;
  categories: string[];
}

const quote = (text: string) => JSON.stringify(text.length > 80 ? `${text.slice(0, 80)}…` : text);

/**
 * Strict parser of Llama Guard's answer: after trimming, either exactly `safe`, or `unsafe`
 * optionally followed by one line of comma-separated category codes (`S1`…`S14`, Llama Guard 1's
 * `O1`…`O7`). The words are matched case-insensitively, nothing else is accepted.
 * Errors: `Error` naming the answer when it is anything else (empty, prose, extra lines).
 * @example parseLlamaGuardVerdict("\n\nunsafe\nS1,S10") // { unsafe: true, categories: ["S1", "S10"] }
 */
export function parseLlamaGuardVerdict(text: string): ParsedVerdict {
  const lines = text
    .trim()
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter((l) => l.length > 0);
  const head = lines[0]?.toLowerCase();
  if (head === "safe" && lines.length === 1) return { unsafe: false, categories: [] };
  if (head === "unsafe" && lines.length <= 2) {
    const categories = lines[1] === undefined ? [] : lines[1].split(",").map((c) => c.trim().toUpperCase());
    if (categories.every((c) => /^[SO]\d{1,2}$/.test(c))) return { unsafe: true, categories };
  }
  throw new Error(`not a Llama Guard verdict ("safe" or "unsafe\\nS<n>,…"): ${quote(text)}`);
}

/**
 * Strict parser of a JSON verdict: one JSON object (surrounding whitespace and a ```json fence
 * are tolerated) with `verdict` exactly `"safe"` or `"unsafe"`, an optional string `category`
 * (`"none"` = no category) and an optional string `reason`; no other keys.
 * Errors: `Error` naming the answer when it is not such an object.
 * @example parseJsonVerdict('{"verdict":"unsafe","category":"weapons_cbrn"}') // { unsafe: true, categories: ["weapons_cbrn"] }
 */
export function parseJsonVerdict(text: string): ParsedVerdict {
  const body = text
    .trim()
    .replace(/^```(?:json)?\s*\n?([\s\S]*?)\n?```$/, "$1")
    .trim();
  let value: unknown;
  try {
    value = JSON.parse(body);
  } catch {
    throw new Error(`not a JSON verdict: ${quote(text)}`);
  }
  const o = value as Record<string, unknown>;
  const ok =
    typeof value === "object" &&
    value !== null &&
    !Array.isArray(value) &&
    (o.verdict === "safe" || o.verdict === "unsafe") &&
    (o.category === undefined || typeof o.category === "string") &&
    (o.reason === undefined || typeof o.reason === "string") &&
    Object.keys(o).every((k) => k === "verdict" || k === "category" || k === "reason");
  if (!ok) throw new Error(`not a JSON verdict {"verdict":"safe"|"unsafe","category"?}: ${quote(text)}`);
  const unsafe = o.verdict === "unsafe";
  const category = typeof o.category === "string" && o.category !== "none" ? o.category : undefined;
  return { unsafe, categories: unsafe && category ? [category] : [] };
}

/** The messages sent to the judge for `text` in `style` (see module docs). The text is normalised (NFKC, invisible characters removed). */
export function judgeMessages(text: string, role: "user" | "assistant", style: JudgePromptStyle): ChatMessage[] {
  if (style === "json") return [{ role: "user", content: judgePrompt(text, role) }];
  const normalized = normalize(text).text;
  return role === "user"
    ? [{ role: "user", content: normalized }]
    : [
        { role: "user", content: "(request not shown)" },
        { role: "assistant", content: normalized },
      ];
}

/** Options of {@link modelJudge}. */
export interface ModelJudgeOptions {
  /** The judge model: any Model (a local GGUF, a remote endpoint, a strategy of the policy). */
  model: Model;
  /** Name in decisions (`judge:<name>`). @default model.id */
  name?: string;
  /** @default "llama-guard" */
  promptStyle?: JudgePromptStyle;
  /** Completion limit of one verdict, tokens. @default 24 (llama-guard), 64 (json) */
  maxTokens?: number;
}

function describeCategories(style: JudgePromptStyle, categories: string[]): string {
  if (categories.length === 0) return "";
  const named = categories.map((c) => (style === "llama-guard" && LLAMA_GUARD_CATEGORIES[c] ? `${c} ${LLAMA_GUARD_CATEGORIES[c]}` : c));
  return ` (${named.join(", ")})`;
}

/**
 * A {@link GuardJudge} over any `Model`: sends {@link judgeMessages} (greedy, `maxTokens`), parses
 * the answer strictly for `promptStyle`, and returns score 1 (unsafe) or 0 (safe) with the
 * model's calls (tokens, USD, ms; role "judge"). The judge's location is the model's.
 *
 * Errors: {@link JudgeFailure} — the model failed (its message and the calls it made, e.g. an
 * `upstream_timeout`), or the answer is not a verdict of the style (the call is kept, with
 * `error` set). An abort through `signal` rejects likewise.
 */
export function modelJudge(options: ModelJudgeOptions): GuardJudge {
  const { model } = options;
  const style = options.promptStyle ?? "llama-guard";
  const name = options.name ?? model.id;
  const maxTokens = options.maxTokens ?? (style === "json" ? 64 : 24);
  const parse = style === "json" ? parseJsonVerdict : parseLlamaGuardVerdict;
  const asJudge = (calls: readonly ModelCall[], error?: string): ModelCall[] =>
    calls.map((c, i) => ({ ...c, role: "judge", ...(error !== undefined && i === calls.length - 1 ? { error } : {}) }));
  return {
    name,
    location: model.location,
    async judge(text, role, signal): Promise<JudgeVerdict> {
      const started = performance.now();
      let answer: string;
      let calls: ModelCall[];
      try {
        const r = await model.generate({ messages: judgeMessages(text, role, style), maxTokens, temperature: 0 }, signal);
        answer = r.text;
        calls = asJudge(r.info.calls);
      } catch (error) {
        const message = error instanceof Error ? error.message : String(error);
        const made = TandemError.isInstance(error) && error.calls ? error.calls : [];
        const failed = made.length > 0 ? asJudge(made, message) : [{ model: model.id, location: model.location, role: "judge", promptTokens: 0, completionTokens: 0, costUsd: 0, latencyMs: performance.now() - started, error: message }];
        throw new JudgeFailure(`judge '${name}' failed: ${message}`, failed, { cause: error });
      }
      let parsed: ParsedVerdict;
      try {
        parsed = parse(answer);
      } catch (error) {
        throw new JudgeFailure(`judge '${name}' answered no verdict: ${(error as Error).message}`, asJudge(calls, "unparseable verdict"), { cause: error });
      }
      const label = parsed.unsafe ? `unsafe${describeCategories(style, parsed.categories)}` : "safe";
      return { score: parsed.unsafe ? 1 : 0, reason: `judge '${name}': ${label}`, verdict: parsed, calls };
    },
  };
}

/** Options of {@link openaiCompatibleJudge}. */
export interface OpenAICompatibleJudgeOptions {
  /** Base URL including `/v1`, e.g. "http://127.0.0.1:8000/v1" (vLLM) or a `tandem serve-model` URL. */
  baseURL: string;
  /** Upstream model name, e.g. "meta-llama/Llama-Guard-3-8B". */
  model: string;
  /** API key. @default "none" */
  apiKey?: string;
  /** Per-call timeout, ms (the guard's own judge timeout also applies). @default 10,000 */
  timeoutMs?: number;
  /** @default "llama-guard" */
  promptStyle?: JudgePromptStyle;
  /** Name in decisions. @default `model` */
  name?: string;
  /** Where the endpoint runs. @default "edge" (a guard model served next to the gateway) */
  location?: "edge" | "cloud";
  /** USD per 1M tokens of the judge. @default 0 */
  price?: { inputPerMillion: number; outputPerMillion: number };
  /** @default 24 (llama-guard), 64 (json) */
  maxTokens?: number;
}

/**
 * A guard model behind an OpenAI-compatible `/v1/chat/completions` endpoint as a judge: the
 * `openai-compatible` provider (no retries: a slow judge should fail closed, not be retried) under
 * {@link modelJudge}. Errors: as {@link modelJudge}.
 * @example const judge = openaiCompatibleJudge({ baseURL: "http://127.0.0.1:8000/v1", model: "meta-llama/Llama-Guard-3-1B", promptStyle: "llama-guard" });
 */
export function openaiCompatibleJudge(options: OpenAICompatibleJudgeOptions): GuardJudge {
  const model = openaiCompatible({
    id: options.name ?? options.model,
    baseURL: options.baseURL,
    model: options.model,
    apiKey: options.apiKey ?? "none",
    timeoutMs: options.timeoutMs ?? 10_000,
    maxRetries: 0,
    location: options.location ?? "edge",
    price: options.price,
  });
  return modelJudge({ model, name: options.name, promptStyle: options.promptStyle, maxTokens: options.maxTokens });
}
