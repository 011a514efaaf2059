/**
 * Confidence signals of the `cascade` strategy, each in its own unit:
 *
 * - `mean-logprob`: mean natural-log probability of the weak answer's tokens (nats/token, ≤ 0).
 *   Escalate when below the threshold (e.g. −1.5). FrugalGPT/AutoMix-style scoring from the
 *   model's own likelihood.
 * - `min-logprob`: the least likely token's log-probability (nats, ≤ 0). Escalate when below.
 * - `self-consistency`: share of k sampled weak answers that agree with the majority answer
 *   (∈ [1/k, 1]; Wang et al. 2023; MoT, Yue et al. 2024). Escalate when below.
 * - `verify`: P(correct) of the weak answer by few-shot self-verification — a verifier model
 *   (default: the weak model itself) sampled k times on AutoMix's prompt, share of "correct"
 *   verdicts (∈ [0, 1]; AutoMix, Madaan et al. 2023; see ../verify/verifier.ts). Escalate when
 *   below. AutoMix's POMDP meta-verifier is replaced by this threshold.
 */
import type { TokenLogprob } from "../../core/wire.js";

/** The confidence signals a cascade can use. */
export type CascadeSignal = "mean-logprob" | "min-logprob" | "self-consistency" | "verify";

/** Mean token log-probability in nats/token; -Infinity for an empty answer. */
export function meanLogprob(logprobs: readonly TokenLogprob[] | undefined): number {
  if (!logprobs?.length) return Number.NEGATIVE_INFINITY;
  return logprobs.reduce((s, t) => s + t.logprob, 0) / logprobs.length;
}

/** Minimum token log-probability in nats; -Infinity for an empty answer. */
export function minLogprob(logprobs: readonly TokenLogprob[] | undefined): number {
  if (!logprobs?.length) return Number.NEGATIVE_INFINITY;
  return logprobs.reduce((m, t) => Math.min(m, t.logprob), 0);
}

/**
 * The answer a sample commits to, for voting: the text after "####" (GSM8K style) if present,
 * else the last number, else the first line lower-cased without punctuation.
 */
export function normalizeAnswer(text: string): string {
  const hash = text.split("####");
  if (hash.length > 1) return hash[hash.length - 1].trim().replace(/[,\s]/g, "").toLowerCase();
  const numbers = text.match(/-?\d[\d,]*(\.\d+)?/g);
  if (numbers?.length) return numbers[numbers.length - 1].replace(/,/g, "");
  return (text.trim().split("\n")[0] ?? "").toLowerCase().replace(/[^\p{L}\p{N} ]/gu, "").replace(/\s+/g, " ").trim();
}

/**
 * Majority vote over answers. Returns the majority answer, its share of the votes (∈ [1/k, 1])
 * and the index of the first sample that gave it. Ties go to the answer seen first.
 */
export function majorityVote(answers: readonly string[]): { answer: string; share: number; index: number } {
  const counts = new Map<string, number>();
  for (const a of answers) counts.set(a, (counts.get(a) ?? 0) + 1);
  let best = answers[0] ?? "";
  for (const [a, n] of counts) if (n > (counts.get(best) ?? 0)) best = a;
  return { answer: best, share: answers.length ? (counts.get(best) ?? 0) / answers.length : 0, index: answers.indexOf(best) };
}
