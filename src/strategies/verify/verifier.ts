/**
 * Few-shot self-verification (AutoMix, Madaan et al. 2023, "AutoMix: Automatically Mixing
 * Language Models", automix-llm/automix `colabs/Step2_SelfVerify.ipynb`): a verifier model — in
 * AutoMix the small model itself — is shown a few-shot prompt of (context, question, AI generated
 * answer, evaluation, verification decision) examples followed by the request's context, question
 * and answer, and asked to evaluate the answer. It is sampled k times at a temperature > 0 (AutoMix:
 * k = 8…32, temperature 1.0, stop "---"); each sample's verdict is parsed, and
 *
 *     P(correct) = (#samples judging "correct") / (#samples with a verdict)
 *
 * — AutoMix's `compute_fraction_correct`: samples without a verdict ("unparseable") are left out of
 * the denominator, and P(correct) = 0 when no sample gave one (so a verifier that says nothing makes
 * a cascade escalate). With `unparseable: "incorrect"` they count as "incorrect" instead
 * (denominator k). A sample whose call failed counts as unparseable (its call is recorded with the
 * error, so what it cost is still charged).
 *
 * The verdict parser is strict ({@link parseVerdict}): "The AI generated answer is Correct" /
 * "… Incorrect" (AutoMix's decision sentence, case-insensitive, one distinct verdict per sample),
 * or a sample whose first word is yes / no / correct / incorrect (a yes/no prompt). Anything else —
 * including a sample that states both verdicts — is unparseable.
 *
 * AutoMix's meta-verifier (a POMDP over the noisy P(correct)) is not implemented: callers compare
 * P(correct) to a threshold (the cascade's `verify` signal, the `verify` strategy).
 */
import { TandemError } from "../../core/errors.js";
import type { GenerateRequest, Model, ModelCall, TokenUsage } from "../../core/model.js";
import { contentText, type ChatMessage } from "../../core/wire.js";

/** AutoMix's four-shot verification prompt (verbatim format), with `{context}`, `{question}` and `{generated_answer}` slots. */
export const AUTOMIX_VERIFIER_PROMPT = `Context: The manuscript, discovered in 1980 in a dusty attic, turned out to be a lost work of Shakespeare.

Question: Whose lost work was discovered in a dusty attic in 1980?

AI Generated Answer: Shakespeare

Instruction: Your task is to evaluate if the AI Generated Answer is correct, based on the provided context and question. Provide the judgement and reasoning for each case. Choose between Correct or Incorrect.

Evaluation: The context specifically mentions that a lost work of Shakespeare was discovered in 1980 in a dusty attic.

Verification Decision: The AI generated answer is Correct.

---

Context: The celestial event, known as the Pink Moon, is unique to the month of April and has cultural significance in many indigenous tribes.

Question: In which month does the celestial event, the Pink Moon, occur?

AI Generated Answer: July

Instruction: Your task is to evaluate if the AI Generated Answer is correct, based on the provided context and question. Provide the judgement and reasoning for each case. Choose between Correct or Incorrect.

Evaluation: The context clearly states that the Pink Moon is unique to the month of April.

Verification Decision: The AI generated answer is Incorrect.

---

Context: The Mona Lisa, housed in the Louvre Museum, is believed to be a portrait of Lisa Gherardini, painted by Leonardo da Vinci in the early 16th century.

Question: Who is believed to have painted the Mona Lisa in the early 16th century?

AI Generated Answer: Vincent van Gogh

Instruction: Your task is to evaluate if the AI Generated Answer is correct, based on the provided context and question. Provide the judgement and reasoning for each case. Choose between Correct or Incorrect.

Evaluation: The context specifies that the Mona Lisa was painted by Leonardo da Vinci in the early 16th century.

Verification Decision: The AI generated answer is Incorrect.

---

Context: The planet Kepler-442b, located 1,100 light-years away, is one of the most Earth-like planets ever discovered, having a similar size and orbiting within its star's habitable zone.

Question: How far away is the planet Kepler-442b?

AI Generated Answer: 1,100 light-years

Instruction: Your task is to evaluate if the AI Generated Answer is correct, based on the provided context and question. Provide the judgement and reasoning for each case. Choose between Correct or Incorrect.

Evaluation: The context states that Kepler-442b is located 1,100 light-years away.

Verification Decision: The AI generated answer is Correct.

---

Context: {context}

Question: {question}

AI Generated Answer: {generated_answer}

Instruction: Your task is to evaluate if the AI Generated Answer is correct, based on the provided context and question. Provide the judgement and reasoning for each case. Choose between Correct or Incorrect.

Evaluation:`;

/** What is verified: the conversation's context, its question (last user message) and the answer. */
export interface VerificationInput {
  /** System/developer messages and earlier turns, as text ("" when the question stands alone). */
  context: string;
  /** The last user message's text. */
  question: string;
  /** The answer text to verify. */
  answer: string;
}

/** One verifier sample's verdict. */
export type Verdict = "correct" | "incorrect" | "unparseable";

/** Options of a verifier (see the module comment for the method). */
export interface VerifierOptions {
  /** The verifier model (AutoMix: the small model itself). */
  model: Model;
  /** k, verifier samples per answer. Default 8 (AutoMix's `run_verification` default). */
  samples?: number;
  /** Sampling temperature of the verifier samples, > 0 for k distinct samples. Default 1.0 (AutoMix). */
  temperature?: number;
  /** Completion-token limit per verifier sample. Default 128 (AutoMix: 250). */
  maxTokens?: number;
  /** How unparseable samples count: `"skip"` (default, AutoMix: left out of the denominator) or `"incorrect"`. */
  unparseable?: "skip" | "incorrect";
  /** The verifier's messages for an input. Default: {@link automixMessages} (AutoMix's prompt as one user message). */
  prompt?: (input: VerificationInput) => ChatMessage[];
}

/** The outcome of verifying one answer. */
export interface VerificationResult {
  /** P(correct) ∈ [0, 1] (see the module comment). */
  probability: number;
  /** k, samples drawn. */
  samples: number;
  correct: number;
  incorrect: number;
  unparseable: number;
  /** Per-sample verdicts, in seed order. */
  verdicts: Verdict[];
  /** The verifier's calls (roles `verifier-sample-1` … `-k`), in seed order; failed ones carry `error`. */
  calls: ModelCall[];
}

/** AutoMix's prompt filled with `input`, as one user message (context "none" when empty). */
export function automixMessages(input: VerificationInput): ChatMessage[] {
  const slots: Record<string, string> = { context: input.context.trim() || "none", question: input.question.trim(), generated_answer: input.answer.trim() };
  // one pass, so a slot name inside the user's text is never filled in
  const content = AUTOMIX_VERIFIER_PROMPT.replace(/\{(context|question|generated_answer)\}/g, (_, slot: string) => slots[slot]);
  return [{ role: "user", content }];
}

/**
 * The verification input of `answer` to `messages`: the last user message is the question; the
 * messages before it (system, developer, earlier turns; tool results) are the context, one
 * `role: text` line each.
 */
export function verificationInput(messages: readonly ChatMessage[], answer: string): VerificationInput {
  let last = -1;
  for (let i = messages.length - 1; i >= 0; i--) if (messages[i].role === "user") { last = i; break; }
  const question = last >= 0 ? contentText(messages[last].content as never) : "";
  const context = messages
    .slice(0, Math.max(last, 0))
    .map((m) => `${m.role}: ${contentText((m.content ?? "") as never)}`)
    .filter((line) => !/^\w+: $/.test(line))
    .join("\n");
  return { context, question, answer };
}

const DECISION = /the ai generated answer is (correct|incorrect)\b/gi;

/**
 * One sample's verdict: AutoMix's "The AI generated answer is Correct|Incorrect" (case-insensitive;
 * every occurrence must agree), else a first word yes|correct → correct, no|incorrect → incorrect;
 * otherwise (or when the sample states both verdicts) `unparseable`.
 */
export function parseVerdict(text: string): Verdict {
  const found = new Set([...text.matchAll(DECISION)].map((m) => m[1].toLowerCase()));
  if (found.size === 1) return found.has("correct") ? "correct" : "incorrect";
  if (found.size > 1) return "unparseable";
  const first = /^\W*(yes|no|correct|incorrect)\b/i.exec(text.trim());
  if (!first) return "unparseable";
  return first[1].toLowerCase() === "yes" || first[1].toLowerCase() === "correct" ? "correct" : "incorrect";
}

/**
 * P(correct) of verdicts: correct / (correct + incorrect) with `"skip"` (0 when none has a
 * verdict), correct / all with `"incorrect"` (0 for no verdicts at all).
 */
export function correctProbability(verdicts: readonly Verdict[], unparseable: "skip" | "incorrect" = "skip"): number {
  const correct = verdicts.filter((v) => v === "correct").length;
  const denominator = unparseable === "skip" ? verdicts.filter((v) => v !== "unparseable").length : verdicts.length;
  return denominator === 0 ? 0 : correct / denominator;
}

/** Validates verifier options (k ≥ 1, temperature ≥ 0); throws `TandemError("invalid_policy")` naming `owner`. */
export function checkVerifierOptions(options: Omit<VerifierOptions, "model">, owner: string): void {
  const k = options.samples ?? 8;
  if (!Number.isInteger(k) || k < 1 || k > 64) throw new TandemError("invalid_policy", `${owner}: verifier samples must be an integer in 1…64, got ${k}`);
  const t = options.temperature ?? 1;
  if (!(t >= 0 && t <= 2)) throw new TandemError("invalid_policy", `${owner}: verifier temperature must be in [0, 2], got ${t}`);
}

/**
 * Verifies `input` with k verifier samples (seeds `seed`, `seed + 1`, … `seed + k − 1`, in
 * parallel). Returns P(correct), the verdict counts and the verifier's calls. A failed sample is
 * unparseable (its call recorded with the error); errors: `aborted` (rethrown) when `signal` fired.
 */
export async function verifyAnswer(options: VerifierOptions, input: VerificationInput, request: { seed?: number; user?: string } = {}, signal?: AbortSignal): Promise<VerificationResult> {
  const k = options.samples ?? 8;
  const messages = (options.prompt ?? automixMessages)(input);
  const base = request.seed ?? 0;
  const outcomes = await Promise.all(
    Array.from({ length: k }, async (_, i): Promise<{ verdict: Verdict; calls: ModelCall[] }> => {
      const role = `verifier-sample-${i + 1}`;
      const sampleRequest: GenerateRequest = { messages, temperature: options.temperature ?? 1, seed: base + i, maxTokens: options.maxTokens ?? 128, stop: ["---"], ...(request.user !== undefined ? { user: request.user } : {}) };
      try {
        const r = await options.model.generate(sampleRequest, signal);
        return { verdict: parseVerdict(r.text), calls: r.info.calls.map((c) => ({ ...c, role })) };
      } catch (error) {
        if (signal?.aborted) throw error;
        const message = (error as Error)?.message ?? String(error);
        const paid = ((error as { calls?: ModelCall[] }).calls ?? []).map((c) => ({ ...c, role, error: c.error ?? message }));
        return { verdict: "unparseable", calls: paid.length ? paid : [{ model: options.model.id, location: options.model.location, role, promptTokens: 0, completionTokens: 0, costUsd: 0, latencyMs: 0, error: message }] };
      }
    }),
  );
  const verdicts = outcomes.map((o) => o.verdict);
  return {
    probability: correctProbability(verdicts, options.unparseable ?? "skip"),
    samples: k,
    correct: verdicts.filter((v) => v === "correct").length,
    incorrect: verdicts.filter((v) => v === "incorrect").length,
    unparseable: verdicts.filter((v) => v === "unparseable").length,
    verdicts,
    calls: outcomes.flatMap((o) => o.calls),
  };
}

/** "P(correct) 0.75: 6 correct / 2 incorrect / 0 unparseable of 8" — the decision's reason text. */
export function describeVerification(v: VerificationResult): string {
  return `P(correct) ${v.probability.toFixed(2)}: ${v.correct} correct / ${v.incorrect} incorrect / ${v.unparseable} unparseable of ${v.samples}`;
}

/**
 * Upper bound on one verifier sample's tokens, for budgets (`Model.worstCase`): prompt = AutoMix's
 * few-shot part (one token per 3 characters, generous; a custom prompt is assumed no longer) + the
 * request's prompt (its context and question) + the answer (≤ the call's completion limit);
 * completion = the verifier's limit (default 128). Units: tokens.
 */
export function verifierSampleBound(perCall: TokenUsage, maxTokens = 128): TokenUsage {
  return { promptTokens: Math.ceil(AUTOMIX_VERIFIER_PROMPT.length / 3) + perCall.promptTokens + perCall.completionTokens, completionTokens: maxTokens };
}
