/**
 * Seeded pseudo-random numbers for everything in eval that must be reproducible (fold
 * assignment, shuffles): mulberry32, shared with the routers' trainers.
 */
import { seededRandom } from "../core/random.js";

export { shuffleInPlace } from "../core/random.js";

/**
 * A generator of uniform floats in [0, 1), deterministic in `seed` (any 32-bit integer).
 * @deprecated The same function as `seededRandom` of core/random.ts (the one seeded generator): import that.
 */
export const mulberry32 = seededRandom;
