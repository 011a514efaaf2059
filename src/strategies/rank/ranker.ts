/**
 * What the `rank` strategy's rankers see and return (output-level fusion: LLM-Blender, Jiang et
 * al. 2023, "LLM-Blender: Ensembling Large Language Models with Pairwise Ranking and Generative
 * Fusion"; majority voting as in self-consistency, Wang et al. 2023). A ranker gets the
 * candidates that succeeded, in the declared order, and picks one. It may make model calls of
 * its own (a judge); those are returned so that they are in the decision path and the cost.
 */
import type { GenerateRequest, GenerateResult, Model, ModelCall, TokenUsage, WorstCase } from "../../core/model.js";

/** One successful candidate answer. */
export interface Candidate {
  /** Position in the declared candidate list (0-based; samples: the sample number). */
  index: number;
  /** Id of the model (or nested strategy) that produced it. */
  model: string;
  /** The candidate's whole answer. */
  result: GenerateResult;
}

/** A ranker's choice. */
export interface RankChoice {
  /** Position in the `candidates` array given to {@link Ranker.rank} (not `Candidate.index`). */
  chosen: number;
  /** The decision signal's name, e.g. "consensus-share", "judge-score", "scorer-probability". */
  signal: string;
  /** The chosen candidate's value of that signal (share ∈ [0, 1], judge score 1–10, probability ∈ [0, 1], wins). */
  score: number;
  /** Human-readable reason for the decision path. */
  reason: string;
  /** Calls the ranker made (judge calls), in the order made; [] for rankers that call nothing. */
  calls: ModelCall[];
}

/** A way to choose one answer among several. */
export interface Ranker {
  /** Ranker kind, e.g. "consensus", "judge:pointwise", "scorer". */
  readonly kind: string;
  /** Models the ranker sends the request to (a judge), for the strategy's location. Default none. */
  readonly models?: readonly Model[];
  /**
   * Picks one of `candidates` (at least one, in declared order) for `request`.
   * Errors: a judge ranker with `onFailure: "error"` throws `upstream_error` carrying its calls;
   * `aborted` when `signal` fires.
   */
  rank(candidates: readonly Candidate[], request: GenerateRequest, signal?: AbortSignal): Promise<RankChoice>;
  /** The most the ranker itself can spend for `n` candidates when each candidate call is bounded by `perCall`. Default: nothing. */
  worstCase?(n: number, perCall: TokenUsage): WorstCase;
}
