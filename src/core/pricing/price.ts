/**
 * The policy's `price` block (USD per 1M tokens) as a {@link Price}.
 */
import type { Price } from "../model.js";

/** A policy `price`: `{ input, output, cachedInput?, cacheWrite? }`, USD per 1M tokens. */
export interface PolicyPrice {
  input: number;
  output: number;
  cachedInput?: number;
  cacheWrite?: number;
}

/** `{ input, output, cachedInput?, cacheWrite? }` → `Price` (absent cache rates stay absent: they default to the input rate). */
export function policyPrice(p: PolicyPrice): Price {
  return {
    inputPerMillion: p.input,
    outputPerMillion: p.output,
    ...(p.cachedInput !== undefined ? { cachedInputPerMillion: p.cachedInput } : {}),
    ...(p.cacheWrite !== undefined ? { cacheWritePerMillion: p.cacheWrite } : {}),
  };
}
