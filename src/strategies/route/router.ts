/**
 * The router interface of the `route` strategy (RouteLLM, Ong et al. 2024): before generation, a
 * router scores a request with the probability that the weak model is NOT good enough for it.
 * The strategy sends the request to the strong model when `score > threshold`.
 *
 * Routers are plain objects so they can be trained, serialized to JSON (`router.json`) and
 * loaded back by kind through the registry in `registry.ts`.
 */
import type { ChatMessage } from "../../core/wire.js";

/** What a router sees of a request. */
export interface RouterInput {
  /** The text the router scores: by default the last user message. */
  prompt: string;
  /** The whole conversation, for routers that want more than the prompt. */
  messages?: readonly ChatMessage[];
}

/** A binary router: weak vs. strong. */
export interface Router {
  /** Kind name, as in `router.json`'s `kind` field, e.g. "heuristic", "random", "tfidf-lr". */
  readonly kind: string;
  /**
   * Probability in [0, 1] that the weak model's answer would be worse than the strong model's
   * (RouteLLM's "win rate" of the strong model). Higher = more in need of the strong model.
   */
  score(input: RouterInput): number;
}

/** Serialized router: a JSON object with at least `kind`; the rest is kind-specific. */
export interface RouterFile {
  kind: string;
  /** Format version of this kind's fields. */
  version?: number;
  [key: string]: unknown;
}
