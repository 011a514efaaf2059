/**
 * Plain token-by-token decoding of one local model through the token-level layer: the "target
 * alone" baseline of speculative decoding (one forward pass per token), and a `Model` for any
 * {@link LocalLogitModel}.
 */
import { leafInfo, type Model } from "../core/model.js";
import { autoregressiveLoop, tokenLevelModel, type TokenLevelSpec } from "./decode.js";
import type { LocalLogitModel } from "./logit-model.js";

/** Options of {@link autoregressive}. */
export interface AutoregressiveOptions {
  /** Id of the model. Default: the handle's id. */
  id?: string;
  /** Also stop at the plain template's turn marker ("\nQuestion:") for template-less models. Default true. */
  templateStops?: boolean;
  /** Role in `info.calls`. Default "target". */
  role?: string;
}

/**
 * A `Model` decoding `handle` autoregressively (greedy at temperature 0, seeded sampling
 * otherwise). Info: one call (the handle, `role`, latency = time in forward passes), no decision.
 * Errors as {@link runTokenLevel}: `invalid_request` when the prompt fills the context, `aborted`.
 */
export function autoregressive(handle: LocalLogitModel, options: AutoregressiveOptions = {}): Model {
  const spec: TokenLevelSpec = {
    id: options.id ?? handle.id,
    templateStops: options.templateStops,
    price: handle.price,
    handles: [handle],
    contextSize: handle.contextSize,
    start() {
      let ms = 0;
      return {
        loop: autoregressiveLoop(async (sequence) => {
          const m0 = handle.busyMs;
          const logits = await handle.nextLogits(sequence);
          ms += handle.busyMs - m0;
          return logits;
        }),
        info(usage, latencyMs) {
          const info = leafInfo({ id: handle.id, location: "edge", price: handle.price }, usage, ms || latencyMs);
          info.calls[0].role = options.role ?? "target";
          return info;
        },
      };
    },
  };
  return tokenLevelModel(spec);
}
