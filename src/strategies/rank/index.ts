/**
 * The `rank` strategy — output-level fusion (LLM-Blender, Jiang et al. 2023; majority voting as
 * in self-consistency, Wang et al. 2023): the request goes to N models (`models`), or N times to
 * one model (`model` + `samples`, sampled at `sampleTemperature` with seeds `seed … seed + N − 1`),
 * and one of the answers is served, chosen by a {@link Ranker}:
 *
 * - `consensus` (consensus.ts): majority vote over canonical answers (choice letter, number,
 *   normalised text), ties by declared order or cost;
 * - `judge` (judge.ts): a judge model scores each answer (pointwise) or compares them in pairs;
 * - `scorer` (scorer.ts): a learned pointwise scorer loaded from a model file.
 *
 * Cost: every candidate call and every judge call is in `info.calls` (candidates first, in
 * declared order, roles `candidate-<i>`; then the judge's, roles `judge-…`) and in `costUsd`;
 * `worstCase` reserves all candidates plus the ranker's calls. The reference (strong-only) price
 * is the first candidate model's.
 *
 * Failures: candidates run concurrently (at most `concurrency` at once, default all); a candidate
 * that fails is recorded as a call with `error` (charged what its error says was spent) and the
 * others are ranked. Fewer than `minSuccesses` (default 1) successes → the last candidate error,
 * carrying every call made. A caller abort → `aborted`.
 *
 * Streaming: a ranked answer is known only once every candidate has finished and the ranker has
 * chosen, so `stream` runs the whole ranking and then streams the chosen answer at once (time to
 * first token = time to the whole ranked answer), as `race` does.
 */
import { TandemError, toTandemError, withCalls } from "../../core/errors.js";
import { combinedLocation, costOf, streamFromGenerate, sumWorstCases, worstCaseOf, type GenerateRequest, type GenerateResult, type Model, type ModelCall } from "../../core/model.js";
import { callRecord, decision } from "../info.js";
import { pool } from "./pool.js";
import type { Candidate, Ranker } from "./ranker.js";

export { canonicalAnswer, canonicalResult, type CanonicalKind, type CanonicalOptions } from "./canonical.js";
export { consensusRanker, majority, type ConsensusOptions, type TieBreak, type Vote } from "./consensus.js";
export { judgeRanker, parseScore, parseWinner, pairwiseRequest, pointwiseRequest, type JudgeOptions } from "./judge.js";
export type { Candidate, RankChoice, Ranker } from "./ranker.js";
export { loadRankScorer, RankScorer, scorerFeatures, scorerRanker, trainRankScorer, type RankScorerFile, type ScorerGroup, type ScorerInput, type TrainRankScorerOptions } from "./scorer.js";

/** Options of {@link rank}. Give either `models` (≥ 2) or `model` with `samples` (≥ 2). */
export interface RankOptions {
  /** Strategy name (served model name). Default "rank". */
  id?: string;
  /** Candidate models or strategies, one call each, in declared order (the tie-break order). */
  models?: Model[];
  /** One model sampled `samples` times. */
  model?: Model;
  /** Samples of `model`, 2–32. */
  samples?: number;
  /** Temperature of the samples. Default 0.8. */
  sampleTemperature?: number;
  /** How the answer is chosen. */
  ranker: Ranker;
  /** Candidate calls in flight at once. Default: all. */
  concurrency?: number;
  /** Fewest successful candidates to rank; fewer is an error. Default 1. */
  minSuccesses?: number;
}

/**
 * Creates a rank model. Errors at creation: `invalid_policy` for fewer than two candidates, both
 * or neither of `models` / `model`, `samples` outside 2–32 or `minSuccesses` above the number of
 * candidates. At generation: see the module comment.
 */
export function rank(options: RankOptions): Model {
  const id = options.id ?? "rank";
  const bad = (why: string) => new TandemError("invalid_policy", `rank '${id}': ${why}`);
  if ((options.models === undefined) === (options.model === undefined)) throw bad("give either 'models' or 'model' with 'samples'");
  const sampled = options.model !== undefined;
  const n = sampled ? (options.samples ?? 0) : options.models!.length;
  if (sampled && !(Number.isInteger(n) && n >= 2 && n <= 32)) throw bad(`samples must be an integer 2–32, got ${options.samples}`);
  if (!sampled && n < 2) throw bad(`needs at least two models, got ${n}`);
  const minSuccesses = options.minSuccesses ?? 1;
  if (!(Number.isInteger(minSuccesses) && minSuccesses >= 1 && minSuccesses <= n)) throw bad(`minSuccesses must be 1–${n}, got ${minSuccesses}`);
  const members: Model[] = sampled ? Array.from({ length: n }, () => options.model!) : options.models!;
  const distinct = [...new Set(members)];
  const price = members[0].price;
  const ranker = options.ranker;

  function candidateRequest(request: GenerateRequest, i: number): GenerateRequest {
    return sampled ? { ...request, temperature: options.sampleTemperature ?? 0.8, seed: (request.seed ?? 0) + i } : request;
  }

  async function generate(request: GenerateRequest, signal?: AbortSignal): Promise<GenerateResult> {
    const started = performance.now();
    const outcomes = await pool(
      members.map((m, i) => async (): Promise<{ result?: GenerateResult; error?: unknown; calls: ModelCall[] }> => {
        const role = `candidate-${i + 1}`;
        const roled = (calls: readonly ModelCall[]) => calls.map((c) => ({ ...c, role: c.role && calls.length > 1 ? `${role}:${c.role}` : role }));
        if (signal?.aborted) return { error: new TandemError("aborted", "Request aborted"), calls: [] };
        try {
          const result = await m.generate(candidateRequest(request, i), signal);
          return { result, calls: roled(result.info.calls) };
        } catch (error) {
          const e = toTandemError(error, "upstream_error");
          const paid = e.calls?.length ? roled(e.calls) : [callRecord(m, { promptTokens: 0, completionTokens: 0 }, performance.now() - started, { role, costUsd: 0, error: e.message })];
          return { error: e, calls: paid.map((c, k) => (k === paid.length - 1 && !c.error ? { ...c, error: e.message } : c)) };
        }
      }),
      options.concurrency ?? n,
    );
    const candidateCalls = outcomes.flatMap((o) => o.calls);
    if (signal?.aborted) throw withCalls(new TandemError("aborted", "Request aborted"), candidateCalls.filter((c) => c.costUsd > 0 || c.promptTokens > 0));
    const candidates: Candidate[] = outcomes.flatMap((o, i) => (o.result ? [{ index: i, model: members[i].id, result: o.result }] : []));
    const failed = n - candidates.length;
    if (candidates.length < minSuccesses) {
      const last = [...outcomes].reverse().find((o) => o.error)?.error;
      const e = toTandemError(last ?? new Error(`only ${candidates.length} of ${n} candidates succeeded`), "upstream_error");
      e.calls = undefined; // replaced by every call of every candidate, in order
      throw withCalls(e, candidateCalls);
    }
    let choice;
    try {
      choice = await ranker.rank(candidates, request, signal);
    } catch (error) {
      throw withCalls(toTandemError(error, "upstream_error"), candidateCalls);
    }
    const chosen = candidates[choice.chosen];
    const served = chosen.result;
    const calls = [...candidateCalls, ...choice.calls];
    const decided = decision({
      strategy: "rank",
      name: id,
      signal: choice.signal,
      score: choice.score,
      chosen: chosen.model,
      reason: `${ranker.kind}: ${choice.reason}${sampled ? ` (sample ${chosen.index + 1} of ${n})` : ""}${failed ? `; ${failed} of ${n} candidates failed` : ""}`,
    });
    const decisions = [decided, ...served.info.decisions];
    return {
      ...served,
      info: {
        servedBy: served.info.servedBy,
        calls,
        decisions,
        escalated: decisions.some((d) => d.escalated),
        costUsd: calls.reduce((s, c) => s + c.costUsd, 0),
        strongOnlyCostUsd: Math.max(costOf(price, served.usage), served.info.strongOnlyCostUsd),
        ...(served.info.degraded !== undefined ? { degraded: served.info.degraded } : {}),
      },
    };
  }

  return {
    id,
    location: combinedLocation([...distinct, ...(ranker.models ?? [])]),
    price,
    /** Every candidate runs, then the ranker's calls (a judge's). */
    worstCase: (perCall) => sumWorstCases([...members.map((m) => worstCaseOf(m, perCall)), ...(ranker.worstCase ? [ranker.worstCase(n, perCall)] : [])]),
    generate,
    stream: (request, signal) => streamFromGenerate(generate(request, signal)),
  };
}
