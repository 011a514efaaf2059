/**
 * The pairwise judge of shadow evaluation: given one request and two answers — the primary's
 * (what the client got) and the candidate's (what the candidate strategy would have served) — a
 * judge model says which is better, or a tie. The prompt and verdict format are MT-Bench's
 * pairwise judge ("Judging LLM-as-a-Judge with MT-Bench and Chatbot Arena", Zheng et al. 2023):
 * `[[A]]`, `[[B]]` or `[[C]]` (tie) after an explanation. Against the judge's position bias (the
 * same paper's finding: judges favour the first answer), the order of the two answers is drawn at
 * random per request and the verdict mapped back.
 *
 * The parser is strict: exactly one distinct verdict token must appear; anything else is
 * `invalid` (counted by the report, never guessed).
 */
import { TandemError } from "../core/errors.js";
import type { GenerateRequest, GenerateResult, Model, ModelCall } from "../core/model.js";
import { seededRandom, type Random } from "../core/random.js";
import { contentText, type ChatMessage } from "../core/wire.js";

/** The candidate's answer compared with the primary's: better (`win`), as good (`tie`), worse (`loss`). */
export type Verdict = "win" | "tie" | "loss";

/** What one pairwise judgment found. */
export interface PairwiseJudgment {
  /** Candidate vs primary; `invalid` when the judge's output did not parse. */
  verdict: Verdict | "invalid";
  /** True when the candidate's answer was shown first (as "A"). */
  candidateFirst: boolean;
  /** USD the judgment cost (its calls). */
  costUsd: number;
  /** The judge's calls (for the shadow's cost accounting). */
  calls: ModelCall[];
}

/** One pair to judge. */
export interface PairwiseInput {
  request: GenerateRequest;
  /** The answer the client received. */
  primary: GenerateResult;
  /** The candidate strategy's answer. */
  candidate: GenerateResult;
}

/** A pairwise judge: a model behind the MT-Bench prompt ({@link modelPairwiseJudge}), or recorded verdicts (benches). */
export interface PairwiseJudge {
  /** Judges one pair. Errors: the judge model's (`upstream_error`, `upstream_timeout`, `aborted`) — the shadow records them as `error`. */
  judge(input: PairwiseInput, signal?: AbortSignal): Promise<PairwiseJudgment>;
}

/** The system prompt of MT-Bench's pairwise judge (`pair-v2`), verbatim but for the tie wording. */
export const PAIRWISE_SYSTEM_PROMPT =
  "Please act as an impartial judge and evaluate the quality of the responses provided by two AI assistants to the user question displayed below. " +
  "You should choose the assistant that follows the user's instructions and answers the user's question better. Your evaluation should consider factors such as the helpfulness, relevance, accuracy, depth, creativity, and level of detail of their responses. " +
  "Begin your evaluation by comparing the two responses and provide a short explanation. Avoid any position biases and ensure that the order in which the responses were presented does not influence your decision. " +
  "Do not allow the length of the responses to influence your evaluation. Do not favor certain names of the assistants. Be as objective as possible. " +
  'After providing your explanation, output your final verdict by strictly following this format: "[[A]]" if assistant A is better, "[[B]]" if assistant B is better, and "[[C]]" for a tie.';

/** The conversation as the judge reads it: each message as `[Role]\ntext`, the last user turn being the question. */
export function conversationText(messages: readonly ChatMessage[]): string {
  return messages
    .map((m) => {
      const text = m.role === "assistant" ? contentText(m.content ?? "") : contentText(m.content);
      const role = m.role === "user" ? "User Question" : m.role === "assistant" ? "Assistant (earlier turn)" : m.role === "tool" ? "Tool Result" : "System";
      return `[${role}]\n${text}`;
    })
    .join("\n\n");
}

/** The judge's messages for answers `a` (shown first) and `b`. */
export function pairwiseMessages(messages: readonly ChatMessage[], a: string, b: string): ChatMessage[] {
  const user =
    `${conversationText(messages)}\n\n` +
    `[The Start of Assistant A's Answer]\n${a}\n[The End of Assistant A's Answer]\n\n` +
    `[The Start of Assistant B's Answer]\n${b}\n[The End of Assistant B's Answer]`;
  return [
    { role: "system", content: PAIRWISE_SYSTEM_PROMPT },
    { role: "user", content: user },
  ];
}

/**
 * The verdict of a judge's output: `A`, `B`, `tie` (`[[C]]`), or undefined when no verdict token
 * appears or several different ones do (strict: never guessed from prose).
 */
export function parsePairwiseVerdict(text: string): "A" | "B" | "tie" | undefined {
  const found = new Set([...text.matchAll(/\[\[\s*([ABC])\s*\]\]/g)].map((m) => m[1]));
  if (found.size !== 1) return undefined;
  const [v] = found;
  return v === "C" ? "tie" : (v as "A" | "B");
}

/** Options of {@link modelPairwiseJudge}. */
export interface ModelJudgeOptions {
  /** Draws the answer order (< 0.5: candidate first). Default mulberry32 seeded 0. */
  random?: Random;
  /** Most tokens of the judge's output (explanation + verdict). Default 512. */
  maxTokens?: number;
}

/**
 * A judge model behind the MT-Bench pairwise prompt, greedy (temperature 0), answer order drawn
 * per request. Errors: the model's, rethrown (the shadow records `error` and the judge's spent
 * calls when the error carries them).
 */
export function modelPairwiseJudge(model: Model, options: ModelJudgeOptions = {}): PairwiseJudge {
  const random = options.random ?? seededRandom(0);
  const maxTokens = options.maxTokens ?? 512;
  return {
    async judge({ request, primary, candidate }, signal) {
      const candidateFirst = random() < 0.5;
      const [a, b] = candidateFirst ? [candidate.text, primary.text] : [primary.text, candidate.text];
      const result = await model.generate({ messages: pairwiseMessages(request.messages, a, b), maxTokens, temperature: 0 }, signal);
      const parsed = parsePairwiseVerdict(result.text);
      const verdict: Verdict | "invalid" = parsed === undefined ? "invalid" : parsed === "tie" ? "tie" : (parsed === "A") === candidateFirst ? "win" : "loss";
      return { verdict, candidateFirst, costUsd: result.info.costUsd, calls: result.info.calls };
    },
  };
}

/** Checks a judgment returned by a custom judge. Errors: `internal_error` for an unknown verdict. */
export function checkJudgment(j: PairwiseJudgment): PairwiseJudgment {
  if (!["win", "tie", "loss", "invalid"].includes(j.verdict)) throw new TandemError("internal_error", `shadow judge returned an unknown verdict '${String(j.verdict)}'`);
  return j;
}
