/**
 * The `consensus` ranker: a majority vote over the candidates' canonical answers (self-
 * consistency, Wang et al. 2023, applied across models as in LLM-Blender's "majority" baseline,
 * Jiang et al. 2023). Each candidate votes for its canonical form (see canonical.ts); candidates
 * without one abstain. The answer with the most votes wins; ties between answers, and which of
 * the winning answer's candidates is served, are decided by `tieBreak`:
 *
 * - `order` (default): the earliest in the declared order (list the model you trust most first);
 * - `costliest`: the candidate whose call cost the most (USD; price as a proxy for strength);
 * - `cheapest`: the candidate whose call cost the least.
 *
 * When every candidate abstains, the tie-break picks among all of them (score 0). The decision's
 * signal is `consensus-share`: the winning answer's votes / candidates that succeeded, ∈ [0, 1].
 */
import type { Candidate, RankChoice, Ranker } from "./ranker.js";
import { canonicalResult, type CanonicalKind } from "./canonical.js";

/** How ties are broken (see the module comment). */
export type TieBreak = "order" | "costliest" | "cheapest";

/** Options of {@link consensusRanker}. */
export interface ConsensusOptions {
  /** Canonical form compared. Default "text". */
  canonical?: CanonicalKind;
  /** Valid letters for `choice`. Default "ABCD". */
  letters?: string;
  /** Tie-break rule. Default "order". */
  tieBreak?: TieBreak;
}

/** A vote's outcome over plain values, shared by the strategy and the replay measurement. */
export interface Vote {
  /** Position (in the given arrays) of the candidate served. */
  chosen: number;
  /** The winning canonical answer (null when all abstained). */
  answer: string | null;
  /** Votes for it. */
  votes: number;
  /** Candidates that voted or abstained (the denominator of the share). */
  total: number;
}

/**
 * Majority vote over canonical `answers` (null = abstain), with `costs` (USD per candidate, used
 * by the cost tie-breaks) in declared order. Throws `RangeError` on an empty list.
 */
export function majority(answers: readonly (string | null)[], costs: readonly number[], tieBreak: TieBreak = "order"): Vote {
  if (answers.length === 0) throw new RangeError("majority: no candidates");
  const better = (a: number, b: number): boolean => {
    // true when candidate a beats candidate b under the tie-break
    if (tieBreak === "costliest" && costs[a] !== costs[b]) return costs[a] > costs[b];
    if (tieBreak === "cheapest" && costs[a] !== costs[b]) return costs[a] < costs[b];
    return a < b;
  };
  const groups = new Map<string, number[]>();
  answers.forEach((a, i) => {
    if (a === null) return;
    const g = groups.get(a);
    if (g) g.push(i);
    else groups.set(a, [i]);
  });
  const champion = (members: readonly number[]) => members.reduce((best, i) => (better(i, best) ? i : best));
  let best: { answer: string | null; members: number[]; lead: number } | undefined;
  for (const [answer, members] of groups) {
    const lead = champion(members);
    if (!best || members.length > best.members.length || (members.length === best.members.length && better(lead, best.lead))) best = { answer, members, lead };
  }
  if (!best) return { chosen: champion(answers.map((_, i) => i)), answer: null, votes: 0, total: answers.length };
  return { chosen: best.lead, answer: best.answer, votes: best.members.length, total: answers.length };
}

/** Creates the consensus ranker (no model calls). */
export function consensusRanker(options: ConsensusOptions = {}): Ranker {
  const kind = options.canonical ?? "text";
  const tieBreak = options.tieBreak ?? "order";
  return {
    kind: "consensus",
    async rank(candidates: readonly Candidate[]): Promise<RankChoice> {
      const answers = candidates.map((c) => canonicalResult(c.result, kind, { letters: options.letters }));
      const vote = majority(answers, candidates.map((c) => c.result.info.costUsd), tieBreak);
      const served = candidates[vote.chosen].model;
      const share = vote.votes / vote.total;
      const reason =
        vote.answer === null
          ? `no candidate gave a ${kind} answer: served ${served} (tie-break ${tieBreak})`
          : `${vote.votes}/${vote.total} candidates agree on ${JSON.stringify(vote.answer.slice(0, 40))} (${kind}); served ${served} (tie-break ${tieBreak})`;
      return { chosen: vote.chosen, signal: "consensus-share", score: share, reason, calls: [] };
    },
  };
}
