/**
 * The built-in heuristic router: scores a prompt by surface features that correlate with
 * difficulty — length, digits and arithmetic, code, multi-step and reasoning cue words — with a
 * logistic link, so no training data or embedding service is needed. It is the "simple built-in
 * router" of Tandem; learned routers (tfidf-lr, knn, mf, …) replace it once outcomes are logged.
 *
 * score = σ(bias + Σ wᵢ·fᵢ), every fᵢ ∈ [0, 1].
 */
import type { Router, RouterFile, RouterInput } from "../router.js";

/** Feature weights of the heuristic router (logits per unit feature). */
export interface HeuristicWeights {
  bias: number;
  /** Prompt length, saturating at `lengthScale` characters. */
  length: number;
  /** Share of characters that are digits or arithmetic operators (scaled ×5, capped at 1). */
  math: number;
  /** Code markers: fences, braces with keywords, `def`/`function`/`class`. */
  code: number;
  /** Reasoning cues: why, explain, prove, compare, step by step, analyze… (count, capped at 3, /3). */
  reasoning: number;
  /** Number of questions or enumerated sub-tasks (capped at 3, /3). */
  multiPart: number;
}

export const DEFAULT_HEURISTIC_WEIGHTS: HeuristicWeights = {
  bias: -2.0,
  length: 1.6,
  math: 1.5,
  code: 1.5,
  reasoning: 1.8,
  multiPart: 0.8,
};

const REASONING = /\b(why|explain|prove|derive|compare|contrast|analy[sz]e|evaluate|justify|step[- ]by[- ]step|reason|calculate|solve|how many|how much|implement|design|optimi[sz]e)\b/gi;
const CODE = /```|\b(def|function|class|return|import|const|let|var|public|static|SELECT|FROM)\b|[{};]\s*$/m;

/** Feature vector of a prompt, each in [0, 1]. */
export function heuristicFeatures(prompt: string, lengthScale = 1000): Omit<HeuristicWeights, "bias"> {
  const n = Math.max(prompt.length, 1);
  const mathChars = (prompt.match(/[0-9+\-*/=^%×÷]/g) ?? []).length;
  const reasoning = (prompt.match(REASONING) ?? []).length;
  const parts = (prompt.match(/\?/g) ?? []).length + (prompt.match(/^\s*(\d+[.)]|[-*•])\s/gm) ?? []).length;
  return {
    length: Math.min(prompt.length / lengthScale, 1),
    math: Math.min((mathChars / n) * 5, 1),
    code: CODE.test(prompt) ? 1 : 0,
    reasoning: Math.min(reasoning, 3) / 3,
    multiPart: Math.min(Math.max(parts - 1, 0), 3) / 3,
  };
}

/** Heuristic router; see the module comment for the formula. */
export class HeuristicRouter implements Router {
  readonly kind = "heuristic";
  constructor(
    readonly weights: HeuristicWeights = DEFAULT_HEURISTIC_WEIGHTS,
    readonly lengthScale = 1000,
  ) {}

  score(input: RouterInput): number {
    const f = heuristicFeatures(input.prompt, this.lengthScale);
    const w = this.weights;
    const z = w.bias + w.length * f.length + w.math * f.math + w.code * f.code + w.reasoning * f.reasoning + w.multiPart * f.multiPart;
    return 1 / (1 + Math.exp(-z));
  }

  toJSON(): RouterFile {
    return { kind: "heuristic", version: 1, weights: { ...this.weights }, lengthScale: this.lengthScale };
  }

  static fromJSON(file: RouterFile): HeuristicRouter {
    const weights = { ...DEFAULT_HEURISTIC_WEIGHTS, ...((file.weights as Partial<HeuristicWeights> | undefined) ?? {}) };
    return new HeuristicRouter(weights, typeof file.lengthScale === "number" ? file.lengthScale : 1000);
  }
}
