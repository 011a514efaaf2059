/**
 * The `judge` ranker: a judge model of the policy (small or large) ranks the candidates —
 * "LLM-as-a-judge" (Zheng et al. 2023) in LLM-Blender's two forms (Jiang et al. 2023):
 *
 * - `pointwise`: each candidate is scored alone, 1–10, one judge call per candidate (run with the
 *   strategy's concurrency); the highest score wins, ties go to the declared order.
 * - `pairwise`: a single bubble pass (LLM-Blender's O(N) aggregation): the incumbent (first
 *   candidate) meets each next candidate in turn and the winner goes on — N − 1 judge calls. With
 *   `bothOrders`, each comparison is asked twice with the answers swapped (position bias), and the
 *   challenger takes over only when it wins both.
 *
 * Strict parsing: the judge's whole reply (trimmed, `*` emphasis removed) must be `Score: N` /
 * `N` / `N/10` with N an integer 1–10 (pointwise), or `Winner: A|B` / `A|B` (pairwise); anything
 * else is a failed verdict. Failure handling, documented and in the decision path:
 *
 * - a judge call that fails, or whose reply does not parse, is recorded as a call with `error`
 *   (its tokens are still charged when the reply came back);
 * - pointwise: unscored candidates rank below scored ones; pairwise: a failed comparison keeps
 *   the incumbent;
 * - when *every* verdict failed: `onFailure: "first"` (default) serves the first candidate in
 *   declared order (reason "judge failed …"); `onFailure: "error"` throws `upstream_error`
 *   carrying the judge calls (the candidates' calls are added by the strategy).
 *
 * With a single successful candidate the judge is not called.
 */
import { TandemError, toTandemError } from "../../core/errors.js";
import { costOf, type GenerateRequest, type Model, type ModelCall, type TokenUsage, type WorstCase } from "../../core/model.js";
import { contentText, type ChatMessage } from "../../core/wire.js";
import { callRecord } from "../info.js";
import { pool } from "./pool.js";
import type { Candidate, RankChoice, Ranker } from "./ranker.js";

/** Options of {@link judgeRanker}. */
export interface JudgeOptions {
  /** The judge model (a model or strategy of the policy). */
  judge: Model;
  /** `pointwise` (default) or `pairwise`. */
  mode?: "pointwise" | "pairwise";
  /** Pairwise only: ask each comparison in both orders. Default false. */
  bothOrders?: boolean;
  /** When every verdict failed: serve the first candidate ("first", default) or throw ("error"). */
  onFailure?: "first" | "error";
  /** Completion tokens allowed per judge call. Default 16. */
  maxTokens?: number;
  /** Pointwise calls in flight at once. Default: all. */
  concurrency?: number;
}

/** The pointwise judge's instructions. */
export const POINTWISE_SYSTEM =
  "You are an impartial judge. Rate how well the assistant's answer responds to the user's request: correctness first, then helpfulness. Reply with exactly one line: 'Score: N', where N is an integer from 1 (worst) to 10 (best).";
/** The pairwise judge's instructions. */
export const PAIRWISE_SYSTEM =
  "You are an impartial judge. Two assistants answered the same user request. Decide which answer is better: correctness first, then helpfulness. Reply with exactly one line: 'Winner: A' or 'Winner: B'.";

/** Parses a pointwise verdict: the integer 1–10, or null when the reply is not exactly a score. */
export function parseScore(reply: string): number | null {
  const m = /^(?:score\s*[:=]\s*)?(10|[1-9])(?:\s*\/\s*10)?\s*\.?$/i.exec(reply.replace(/\*/g, "").trim());
  return m ? Number(m[1]) : null;
}

/** Parses a pairwise verdict: "A" or "B", or null when the reply is not exactly one. */
export function parseWinner(reply: string): "A" | "B" | null {
  const m = /^(?:winner\s*[:=]\s*)?(?:answer\s+)?([AB])\s*\.?$/i.exec(reply.replace(/\*/g, "").trim());
  return m ? (m[1].toUpperCase() as "A" | "B") : null;
}

/** The conversation as the judge reads it: one `role: text` block per message. */
function conversation(messages: readonly ChatMessage[]): string {
  return messages.map((m) => `${m.role}: ${contentText(m.content as never)}`).join("\n");
}

function answerText(c: Candidate): string {
  const tools = c.result.toolCalls?.map((t) => `[tool call ${t.function.name}(${t.function.arguments})]`).join("\n") ?? "";
  return [c.result.text, tools].filter(Boolean).join("\n");
}

/** The pointwise judge request for one candidate. */
export function pointwiseRequest(request: GenerateRequest, candidate: Candidate, maxTokens = 16): GenerateRequest {
  return {
    messages: [
      { role: "system", content: POINTWISE_SYSTEM },
      { role: "user", content: `[Request]\n${conversation(request.messages)}\n\n[Answer]\n${answerText(candidate)}` },
    ],
    maxTokens,
    temperature: 0,
  };
}

/** The pairwise judge request comparing `a` (shown as A) with `b` (shown as B). */
export function pairwiseRequest(request: GenerateRequest, a: Candidate, b: Candidate, maxTokens = 16): GenerateRequest {
  return {
    messages: [
      { role: "system", content: PAIRWISE_SYSTEM },
      { role: "user", content: `[Request]\n${conversation(request.messages)}\n\n[Answer A]\n${answerText(a)}\n\n[Answer B]\n${answerText(b)}` },
    ],
    maxTokens,
    temperature: 0,
  };
}

/** Creates a judge ranker (see the module comment). */
export function judgeRanker(options: JudgeOptions): Ranker {
  const judge = options.judge;
  const mode = options.mode ?? "pointwise";
  const maxTokens = options.maxTokens ?? 16;
  const onFailure = options.onFailure ?? "first";

  /** One judge call: its reply text (null when it failed) and the calls to record. */
  async function ask(request: GenerateRequest, role: string, signal?: AbortSignal): Promise<{ reply: string | null; calls: ModelCall[] }> {
    const started = performance.now();
    try {
      const r = await judge.generate(request, signal);
      return { reply: r.text, calls: r.info.calls.map((c) => ({ ...c, role })) };
    } catch (error) {
      if (signal?.aborted) throw new TandemError("aborted", "Request aborted");
      const e = toTandemError(error, "upstream_error");
      const paid = (e.calls ?? []).map((c) => ({ ...c, role }));
      return { reply: null, calls: paid.length ? paid : [callRecord(judge, { promptTokens: 0, completionTokens: 0 }, performance.now() - started, { role, costUsd: 0, error: e.message })] };
    }
  }

  /** Marks the last call of a verdict that did not parse. */
  function unparsed(calls: ModelCall[], reply: string): ModelCall[] {
    if (calls.length === 0) return calls;
    const last = calls[calls.length - 1];
    return [...calls.slice(0, -1), { ...last, error: last.error ?? `unparsable judge reply ${JSON.stringify(reply.slice(0, 60))}` }];
  }

  function failed(calls: ModelCall[], what: string): RankChoice {
    if (onFailure === "error") throw new TandemError("upstream_error", `rank judge '${judge.id}': ${what}`, { calls });
    return { chosen: 0, signal: mode === "pointwise" ? "judge-score" : "judge-wins", score: 0, reason: `judge ${judge.id} failed (${what}): served the first candidate`, calls };
  }

  async function pointwise(candidates: readonly Candidate[], request: GenerateRequest, signal?: AbortSignal): Promise<RankChoice> {
    const verdicts = await pool(
      candidates.map((c, i) => async () => {
        const { reply, calls } = await ask(pointwiseRequest(request, c, maxTokens), `judge-${i + 1}`, signal);
        const score = reply === null ? null : parseScore(reply);
        return { score, calls: reply !== null && score === null ? unparsed(calls, reply) : calls };
      }),
      options.concurrency ?? candidates.length,
    );
    const calls = verdicts.flatMap((v) => v.calls);
    let chosen = -1;
    verdicts.forEach((v, i) => {
      if (v.score !== null && (chosen < 0 || v.score > verdicts[chosen].score!)) chosen = i;
    });
    if (chosen < 0) return failed(calls, `no parsable score for any of ${candidates.length} candidates`);
    const list = verdicts.map((v, i) => `${candidates[i].model}=${v.score ?? "?"}`).join(", ");
    return { chosen, signal: "judge-score", score: verdicts[chosen].score!, reason: `judge ${judge.id} scores (1–10): ${list}; served ${candidates[chosen].model}`, calls };
  }

  async function pairwise(candidates: readonly Candidate[], request: GenerateRequest, signal?: AbortSignal): Promise<RankChoice> {
    const calls: ModelCall[] = [];
    let incumbent = 0;
    let wins = 0;
    let verdicts = 0;
    for (let i = 1; i < candidates.length; i++) {
      const a = candidates[incumbent];
      const b = candidates[i];
      const orders: Array<[Candidate, Candidate, "A" | "B"]> = [[a, b, "B"]];
      if (options.bothOrders) orders.push([b, a, "A"]);
      const results = await Promise.all(
        orders.map(async ([x, y, challengerSide], o) => {
          const { reply, calls: made } = await ask(pairwiseRequest(request, x, y, maxTokens), `judge-${incumbent + 1}-vs-${i + 1}${o ? "-swapped" : ""}`, signal);
          const winner = reply === null ? null : parseWinner(reply);
          return { challengerWon: winner === null ? null : winner === challengerSide, calls: reply !== null && winner === null ? unparsed(made, reply) : made };
        }),
      );
      calls.push(...results.flatMap((r) => r.calls));
      if (results.some((r) => r.challengerWon !== null)) verdicts++;
      // the challenger takes over only when every verdict given says so and none failed
      if (results.every((r) => r.challengerWon === true)) {
        incumbent = i;
        wins = 1;
      } else if (results.some((r) => r.challengerWon === false)) wins++;
    }
    if (verdicts === 0) return failed(calls, `no parsable verdict in ${candidates.length - 1} comparisons`);
    return { chosen: incumbent, signal: "judge-wins", score: wins, reason: `judge ${judge.id} pairwise bubble over ${candidates.length} candidates: ${candidates[incumbent].model} won ${wins} comparison(s)`, calls };
  }

  return {
    kind: `judge:${mode}`,
    models: [judge],
    async rank(candidates, request, signal) {
      if (candidates.length === 1) return { chosen: 0, signal: mode === "pointwise" ? "judge-score" : "judge-wins", score: 0, reason: `only ${candidates[0].model} succeeded: not judged`, calls: [] };
      return mode === "pointwise" ? pointwise(candidates, request, signal) : pairwise(candidates, request, signal);
    },
    worstCase(n: number, perCall: TokenUsage): WorstCase {
      const calls = mode === "pointwise" ? n : (n - 1) * (options.bothOrders ? 2 : 1);
      const shown = mode === "pointwise" ? 1 : 2;
      // the judge reads the request and the shown answers (plus ~200 tokens of instructions)
      const usage = { promptTokens: perCall.promptTokens + shown * perCall.completionTokens + 200, completionTokens: maxTokens };
      const one = judge.worstCase?.(usage) ?? { costUsd: costOf(judge.price, usage), tokens: usage.promptTokens + usage.completionTokens };
      return { costUsd: one.costUsd * calls, tokens: one.tokens * calls };
    },
  };
}
