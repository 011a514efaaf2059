/**
 * The random router: the baseline of the routing papers (RouteLLM, RouterBench). Each prompt gets
 * a pseudo-random score, uniform in [0, 1), fixed by (seed, prompt) so runs are reproducible;
 * with threshold t, about (1 − t) of the traffic goes to the strong model.
 */
import type { Router, RouterFile, RouterInput } from "../router.js";

/** FNV-1a 32-bit hash of a string, mixed with a seed. */
export function hashString(text: string, seed = 0): number {
  let h = (0x811c9dc5 ^ seed) >>> 0;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  // final avalanche (murmur3 fmix32)
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b) >>> 0;
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35) >>> 0;
  h ^= h >>> 16;
  return h >>> 0;
}

/** Random baseline router. `seed` selects one of many equally random routings. */
export class RandomRouter implements Router {
  readonly kind = "random";
  constructor(readonly seed = 0) {}

  /** Uniform in [0, 1), deterministic in (seed, prompt). */
  score(input: RouterInput): number {
    return hashString(input.prompt, this.seed) / 4294967296;
  }

  toJSON(): RouterFile {
    return { kind: "random", version: 1, seed: this.seed };
  }

  static fromJSON(file: RouterFile): RandomRouter {
    return new RandomRouter(typeof file.seed === "number" ? file.seed : 0);
  }
}
