/** Deterministic helpers for training and splits (see core/random.ts). */
export { seededRandom, seededShuffle } from "../core/random.js";
