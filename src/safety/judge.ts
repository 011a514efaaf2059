/**
 * Optional SLM judge: a Llama-Guard-style prompt (Inan et al. 2023, "Llama Guard") asking a
 * capable local model to classify a user request or an assistant answer as safe/unsafe against
 * a small taxonomy, its output constrained by a JSON-schema grammar so the verdict is always
 * parseable. Tandem's bundled tiny models are not capable judges; this is wiring for a user's
 * own local guard model (e.g. a Llama Guard GGUF).
 */
import { jsonCompletion } from "../providers/llama-cpp/json-completion.js";
import { foldForClassifier, normalize } from "../core/normalize.js";

/** A judge verdict: score in [0, 1] (1 = unsafe) and a reason. */
export interface JudgeVerdict {
  score: number;
  reason: string;
}

/** Anything that judges a text; throws on failure (the guard then fails closed). */
export interface GuardJudge {
  readonly name: string;
  judge(text: string, role: "user" | "assistant", signal?: AbortSignal): Promise<JudgeVerdict>;
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
      const unsafe = verdict.verdict === "unsafe";
      return { score: unsafe ? 1 : 0, reason: `SLM judge: ${verdict.verdict ?? "?"}${unsafe ? ` (${verdict.category ?? "unspecified"})` : ""}` };
    },
    close: () => completer.close(),
  };
}
