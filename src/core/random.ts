/**
 * Seeded pseudo-random numbers for everything that must be reproducible (training, splits,
 * folds, sampling): mulberry32 (Tommy Ettinger's 32-bit generator) and Fisher–Yates shuffles.
 */

/** A uniform random source on [0, 1). */
export type Random = () => number;

/** mulberry32: a small, fast 32-bit PRNG. Same seed → same stream of floats in [0, 1). */
export function seededRandom(seed: number): Random {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Fisher–Yates shuffle in place with `random`; returns the array. */
export function shuffleInPlace<T>(items: T[], random: Random): T[] {
  for (let i = items.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    const t = items[i];
    items[i] = items[j];
    items[j] = t;
  }
  return items;
}

/** Fisher–Yates shuffle of a copy of `items`, driven by `seededRandom(seed)`. */
export function seededShuffle<T>(items: readonly T[], seed: number): T[] {
  return shuffleInPlace(items.slice(), seededRandom(seed));
}
