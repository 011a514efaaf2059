/**
 * Seeded pseudo-random numbers for everything in eval that must be reproducible (fold
 * assignment, shuffles): mulberry32, shared with the routers' trainers.
 */
import { seededRandom } from "../strategies/route/routers/text-features.js";

/** A generator of uniform floats in [0, 1), deterministic in `seed` (any 32-bit integer). */
export const mulberry32 = seededRandom;

/** Fisher–Yates shuffle in place with `random`; returns the array. */
export function shuffleInPlace<T>(items: T[], random: () => number): T[] {
  for (let i = items.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    const t = items[i];
    items[i] = items[j];
    items[j] = t;
  }
  return items;
}
