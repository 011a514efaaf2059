/**
 * Optional SLM judge: a Llama-Guard-style prompt (Inan et al. 2023, "Llama Guard") asking a
 * capable local model to classify a user request or an assistant answer as safe/unsafe against
 * a small taxonomy, its output constrained by a JSON-schema grammar so the verdict is always
 * parseable. Tandem's bundled tiny models are not capable judges; this is wiring for a user's
 * own local guard model (e.g. a Llama Guard GGUF).
 */
import { LlamaCompletion, type LlamaContext, type LlamaContextSequence, type LlamaModel } from "node-llama-cpp";
import { getLlamaRuntime } from "../../providers/llama-cpp/runtime.js";

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

/** The Llama-Guard-style judge prompt. */
export function judgePrompt(text: string, role: "user" | "assistant"): string {
  return [
    `Task: Check if there is unsafe content in the '${role === "user" ? "User" : "Agent"}' message below according to our safety policy with these categories: ${JUDGE_CATEGORIES.filter((c) => c !== "none").join(", ")}.`,
    "",
    "<BEGIN CONVERSATION>",
    `${role === "user" ? "User" : "Agent"}: ${text}`,
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
  type Loaded = { model: LlamaModel; context: LlamaContext; sequence: LlamaContextSequence; completion: LlamaCompletion; grammar: { parse(s: string): unknown } & object };
  let loaded: Promise<Loaded> | undefined;
  let queue: Promise<unknown> = Promise.resolve();
  const load = () =>
    (loaded ??= (async () => {
      const llama = await getLlamaRuntime();
      const model = await llama.loadModel({ modelPath: options.modelPath });
      const context = await model.createContext({ contextSize: options.contextSize ?? 2048, threads: options.threads ?? 2 });
      const sequence = context.getSequence();
      const grammar = await llama.createGrammarForJsonSchema(schema as never);
      return { model, context, sequence, completion: new LlamaCompletion({ contextSequence: sequence }), grammar: grammar as never };
    })());
  return {
    name: "slm-judge",
    judge(text, role, signal) {
      const run = queue.then(async () => {
        const { completion, sequence, grammar } = await load();
        await sequence.clearHistory();
        const answer = await completion.generateCompletion(judgePrompt(text, role), { grammar: grammar as never, maxTokens: 48, temperature: 0, signal });
        let verdict: { verdict?: string; category?: string };
        try {
          verdict = grammar.parse(answer) as typeof verdict;
        } catch (error) {
          throw new Error("SLM judge returned an invalid verdict", { cause: error });
        }
        const unsafe = verdict.verdict === "unsafe";
        return { score: unsafe ? 1 : 0, reason: `SLM judge: ${verdict.verdict ?? "?"}${unsafe ? ` (${verdict.category ?? "unspecified"})` : ""}` };
      });
      queue = run.catch(() => undefined);
      return run;
    },
    async close() {
      const l = await loaded?.catch(() => undefined);
      loaded = undefined;
      await l?.context.dispose();
      await l?.model.dispose();
    },
  };
}
