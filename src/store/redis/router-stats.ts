/**
 * The route strategy's online score statistics ({@link RouterStats}) in Redis: one hash
 * `router:{<strategy>}` of bin → count, so every replica calibrates its threshold on the same
 * distribution. Observe-and-read is one script.
 */
import { SCORE_BINS, scoreBin, type RouterStats } from "../../core/ports.js";
import type { RedisState } from "./connection.js";

/** ARGV: bin → the hash before the increment (flat field/value list). */
const OBSERVE = `local h = redis.call('HGETALL', KEYS[1])
redis.call('HINCRBY', KEYS[1], ARGV[1], 1)
return h`;

/** Router statistics in `redis`. Errors: ioredis errors (connection, timeout). */
export function redisRouterStats(redis: RedisState): RouterStats {
  const observe = redis.script(OBSERVE, 1);
  const toHistogram = (flat: string[]) => {
    const h = new Array<number>(SCORE_BINS).fill(0);
    for (let i = 0; i + 1 < flat.length; i += 2) {
      const b = Number(flat[i]);
      if (b >= 0 && b < SCORE_BINS) h[b] = Number(flat[i + 1]);
    }
    return h;
  };
  return {
    async observe(name, score) {
      return toHistogram((await observe([redis.key("router", name)], [scoreBin(score)])) as string[]);
    },
    async histogram(name) {
      const flat = Object.entries(await redis.client.hgetall(redis.key("router", name))).flat();
      return toHistogram(flat);
    },
    async close() {},
  };
}
