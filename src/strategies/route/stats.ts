/**
 * Online statistics of a router's scores, for *online threshold calibration*: RouteLLM (Ong et
 * al. 2024) calibrates a router's threshold offline so that a target share of requests goes to the
 * strong model; traffic drifts, so the `route` strategy can instead keep the share true online, by
 * taking the threshold from the running distribution of the scores it has seen.
 *
 * Scores in [0, 1] are counted in {@link SCORE_BINS} equal bins. The statistics live in a
 * {@link RouterStats} store: this process's memory ({@link localRouterStats}) or Redis
 * (`src/store/redis/router-stats.ts`), so that every gateway replica routes by one distribution.
 */

import { SCORE_BINS, scoreBin, type RouterStats } from "../../core/ports.js";

/** The port (interface) lives in src/core/ports.ts; re-exported here for old import paths. */
export { SCORE_BINS, scoreBin, type RouterStats } from "../../core/ports.js";

/**
 * The threshold t for which a share `strongShare` ∈ [0, 1] of the histogram's scores lies above t
 * (linear interpolation inside the bin where the share is reached, i.e. scores assumed uniform in
 * a bin). Returns undefined for an empty histogram. Units: router-score probability.
 */
export function thresholdForShare(histogram: readonly number[], strongShare: number): number | undefined {
  const total = histogram.reduce((s, x) => s + x, 0);
  if (total === 0) return undefined;
  const want = strongShare * total;
  if (want <= 0) return 1;
  let above = 0;
  for (let b = histogram.length - 1; b >= 0; b--) {
    const n = histogram[b];
    if (above + n >= want) {
      const fraction = n === 0 ? 0 : (want - above) / n;
      return (b + 1 - fraction) / histogram.length;
    }
    above += n;
  }
  return 0;
}

/** Router statistics in this process's memory. */
export function localRouterStats(): RouterStats {
  const byName = new Map<string, number[]>();
  const get = (name: string) => {
    let h = byName.get(name);
    if (!h) byName.set(name, (h = new Array<number>(SCORE_BINS).fill(0)));
    return h;
  };
  return {
    async observe(name, score) {
      const h = get(name);
      const before = [...h];
      h[scoreBin(score)]++;
      return before;
    },
    async histogram(name) {
      return [...get(name)];
    },
    async close() {},
  };
}
