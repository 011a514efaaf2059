/**
 * Optional SLM judge: a Llama-Guard-style prompt (Inan et al. 2023, "Llama Guard") asking a
 * capable local model to classify a user request or an assistant answer as safe/unsafe against
 * a small taxonomy, its output constrained by a JSON-schema grammar so the verdict is always
 * parseable. Tandem's bundled tiny models are not capable judges; this is wiring for a user's
 * own local guard model (e.g. a Llama Guard GGUF).
 */
import { jsonCompletion } from "../providers/llama-cpp/json-completion.js";
import { foldForClassifier, normalize } from "../core/normalize.js";
import type { ModelCall, ModelLocation } from "../core/model.js";

/** A judge verdict: score in [0, 1] (1 = unsafe) and a reason. */
export interface JudgeVerdict {
  score: number;
  reason: string;
  /** The verdict as the judge wrote it, parsed: `"safe"` / `"unsafe"` and its hazard categories (e.g. `["S1"]`). */
  verdict?: { unsafe: boolean; categories: string[] };
  /**
   * The model calls the judge made for this verdict (tokens, USD, ms), so the guard can put them
   * in the answer's `calls` and cost. Absent for judges that do not report them.
   */
  calls?: ModelCall[];
}

/** Anything that judges a text; throws on failure (the guard then fails closed). */
export interface GuardJudge {
  /** Name in decisions (`signal: "judge:<name>"`) and reasons. */
  readonly name: string;
  /** Where the judge runs: a `cloud` judge receives the screened text off-device. @default "edge" */
  readonly location?: ModelLocation;
  /**
   * Judges one message. Throws on any failure — no answer, an answer the strict parser rejects,
   * an abort through `signal` — preferably a {@link JudgeFailure} carrying the calls made.
   */
  judge(text: string, role: "user" | "assistant", signal?: AbortSignal): Promise<JudgeVerdict>;
}

/**
 * A judge that could not give a verdict (unreachable, timed out, answered something the strict
 * parser rejects). `calls` are the model calls it made (and paid for) on the way, with `error` set
 * on the failed one; the guard records them and fails closed.
 */
export class JudgeFailure extends Error {
  constructor(
    message: string,
    /** Calls made before the failure (tokens, USD, ms). */
    readonly calls: ModelCall[] = [],
    options: { cause?: unknown } = {},
  ) {
    super(message, { cause: options.cause });
    this.name = "JudgeFailure";
  }
}

/** Llama Guard's hazard categories (abridged MLCommons taxonomy). */
export const JUDGE_CATEGORIES = ["violent_crimes", "non_violent_crimes", "sex_crimes", "child_exploitation", "weapons_cbrn", "self_harm", "hate", "privacy", "cybercrime", "elections", "none"] as const;

/**
 * The Llama-Guard-style judge prompt. The text is normalised first (NFKC, invisible characters
 * removed, look-alike letters folded); when leetspeak or spelled-out words change its reading,
 * the de-obfuscated reading is added so a small judge sees what the model would understand.
 */
export function judgePrompt(text: string, role: "user" | "assistant"): string {
  const normalized = normalize(text).text;
  const folded = foldForClassifier(text);
  const deobfuscated = folded !== normalized.toLowerCase() ? ["", `(The same message with obfuscation removed: ${folded})`] : [];
  text = normalized;
  return [
    `Task: Check if there is unsafe content in the '${role === "user" ? "User" : "Agent"}' message below according to our safety policy with these categories: ${JUDGE_CATEGORIES.filter((c) => c !== "none").join(", ")}.`,
    "",
    "<BEGIN CONVERSATION>",
    `${role === "user" ? "User" : "Agent"}: ${text}`,
    ...deobfuscated,
    "<END CONVERSATION>",
    "",
    'Provide your safety assessment as JSON: {"verdict":"safe"|"unsafe","category":"<category or none>"}',
    "",
  ].join("\n");
}

/** Options of {@link slmJudge}. */
export interface SlmJudgeOptions {
  /** Path of a local GGUF guard model. */
  modelPath: string;
  /** CPU threads (explicit; 1–2 on small machines). @default 2 */
  threads?: number;
  /** Context size in tokens. @default 2048 */
  contextSize?: number;
}

/** Creates the SLM judge (lazy load; calls serialized on one sequence). */
export function slmJudge(options: SlmJudgeOptions): GuardJudge & { close(): Promise<void> } {
  const schema = { type: "object", properties: { verdict: { enum: ["safe", "unsafe"] }, category: { enum: [...JUDGE_CATEGORIES] } } } as const;
  const completer = jsonCompletion<{ verdict?: string; category?: string }>({
    modelPath: options.modelPath,
    schema,
    threads: options.threads,
    contextSize: options.contextSize,
    what: "SLM judge verdict",
  });
  return {
    name: "slm-judge",
    async judge(text, role, signal) {
      const verdict = await completer.complete(judgePrompt(text, role), { maxTokens: 48, signal });
      if (verdict.verdict !== "safe" && verdict.verdict !== "unsafe") throw new JudgeFailure(`SLM judge gave no verdict (${JSON.stringify(verdict).slice(0, 80)})`);
      const unsafe = verdict.verdict === "unsafe";
      const categories = unsafe && verdict.category && verdict.category !== "none" ? [verdict.category] : [];
      return { score: unsafe ? 1 : 0, reason: `SLM judge: ${verdict.verdict}${unsafe ? ` (${verdict.category ?? "unspecified"})` : ""}`, verdict: { unsafe, categories } };
    },
    close: () => completer.close(),
  };
}
