/**
 * Model middleware: wrap a {@link Model} with hooks that rewrite its request and wrap its
 * `generate` and `stream`, without writing a whole `Model` — the shape of the Vercel AI SDK's
 * `wrapLanguageModel` (`transformParams` / `wrapGenerate` / `wrapStream`), applied to Tandem's
 * `Model`. Privacy (hide and seek), guard and prompt compression are middleware.
 *
 * ## Order
 * `wrapModel({ model, middleware: [a, b] })` behaves like `a(b(model))`: `a` is the outermost
 * layer. For one call:
 *
 * 1. `a.transformRequest(request)` → request′
 * 2. `a.wrapGenerate({ request: request′, doGenerate })` runs; its `doGenerate(r = request′)` enters `b`:
 * 3. `b.transformRequest(r)` → r′, then `b.wrapGenerate({ request: r′, doGenerate })`, whose
 *    `doGenerate(r″ = r′)` calls `model.generate(r″)`.
 * 4. The result comes back through `b`'s wrapGenerate, then `a`'s: `a` sees the original request
 *    first and the result last. Streams follow the same order with `wrapStream` / `doStream`.
 *
 * A hook that is absent is the identity: no `transformRequest` keeps the request, no
 * `wrapGenerate` calls `doGenerate()`, no `wrapStream` yields `doStream()`.
 *
 * ## Writing a middleware
 * - `transformRequest` is for rewrites that need nothing afterwards (add a system prompt, clamp
 *   `maxTokens`); it may throw a `TandemError` to refuse the request. It runs for `generate` and
 *   for `stream`.
 * - When the wrap needs what was learnt while rewriting (privacy's placeholder vault, the
 *   compression statistics, the guard's input decisions), do the rewrite inside
 *   `wrapGenerate` / `wrapStream` and pass the new request to `doGenerate(request)` /
 *   `doStream(request)`: one closure holds the per-call state, no side table keyed by request.
 * - A hook may serve from another model than the wrapped one (privacy's `local-only` mode calls
 *   its edge model instead of `doGenerate`): then neither the wrapped model nor the middleware
 *   inside this one runs for that call.
 * - Decisions and calls are recorded with the helpers of `strategies/info.ts` (`withDecision`,
 *   `withCallsBefore`, `mapStreamInfo`…), not by building `CollaborationInfo` by hand.
 *
 * Errors: whatever a hook or the wrapped model throws propagates unchanged (a `stream` error
 * surfaces while iterating, as for any `Model`).
 */
import { worstCaseOf, type GenerateRequest, type GenerateResult, type Model, type ModelLocation, type Price, type StreamPart } from "./model.js";

/** Hooks of one middleware layer; every hook is optional (see the module docs for the order). */
export interface ModelMiddleware {
  /**
   * Runs before the call (for `generate` and `stream`): may rewrite the request (return a new
   * object; do not mutate `request`) and may throw `TandemError` (e.g. `tandem_guard`) to refuse.
   * `model` is the model this layer wraps (the next layer inwards, or the wrapped model).
   */
  transformRequest?(args: { request: GenerateRequest; model: Model; signal?: AbortSignal }): Promise<GenerateRequest> | GenerateRequest;
  /**
   * Wraps `generate`. `request` is the transformed request; `doGenerate(r = request)` runs the rest
   * of the chain (inner layers, then the wrapped model) on `r`. Returns the result the caller
   * gets (e.g. restored text, added decisions, a refusal without calling `doGenerate`).
   */
  wrapGenerate?(args: { doGenerate: (request?: GenerateRequest) => Promise<GenerateResult>; request: GenerateRequest; model: Model; signal?: AbortSignal }): Promise<GenerateResult>;
  /**
   * Wraps `stream`, like `wrapGenerate`; must end with exactly one `finish` part (as every
   * `Model.stream`). `doStream(r = request)` streams the rest of the chain on `r`.
   */
  wrapStream?(args: { doStream: (request?: GenerateRequest) => AsyncIterable<StreamPart>; request: GenerateRequest; model: Model; signal?: AbortSignal }): AsyncIterable<StreamPart>;
  /**
   * Releases what this layer holds besides the wrapped model (e.g. privacy's edge model). Called
   * by the wrapped `close()` after the wrapped model's `close`. Must be idempotent.
   */
  close?(): Promise<void>;
}

/** Arguments of {@link wrapModel}; `id`, `location`, `price` and `worstCase` override the wrapped model's. */
export interface WrapModelOptions {
  /** The wrapped model (the innermost one). */
  model: Model;
  /** One layer, or several: `[a, b]` is `a(b(model))` (`a` outermost). */
  middleware: ModelMiddleware | readonly ModelMiddleware[];
  /** @default model.id */
  id?: string;
  /** @default model.location (set `cloud` when a layer may send data elsewhere off-device) */
  location?: ModelLocation;
  /** USD per 1M tokens. @default model.price */
  price?: Price;
  /** @default the wrapped model's bound (`worstCaseOf(model, perCall)`): the layers make its calls */
  worstCase?: Model["worstCase"];
}

/** One layer over `inner`. */
function wrapOne(inner: Model, mw: ModelMiddleware): Model {
  const transform = async (request: GenerateRequest, signal?: AbortSignal): Promise<GenerateRequest> =>
    mw.transformRequest ? mw.transformRequest({ request, model: inner, signal }) : request;
  return {
    id: inner.id,
    location: inner.location,
    price: inner.price,
    async generate(request, signal) {
      const transformed = await transform(request, signal);
      const doGenerate = (r: GenerateRequest = transformed) => inner.generate(r, signal);
      return mw.wrapGenerate ? mw.wrapGenerate({ doGenerate, request: transformed, model: inner, signal }) : doGenerate();
    },
    async *stream(request, signal): AsyncIterable<StreamPart> {
      const transformed = await transform(request, signal);
      const doStream = (r: GenerateRequest = transformed) => inner.stream(r, signal);
      yield* mw.wrapStream ? mw.wrapStream({ doStream, request: transformed, model: inner, signal }) : doStream();
    },
    async close() {
      await inner.close?.();
      await mw.close?.();
    },
  };
}

/**
 * Wraps `model` with `middleware` (see the module docs for hooks and order) and returns a `Model`
 * with the given identity: `id`, `location` and `price` default to the wrapped model's, and
 * `worstCase` to the wrapped model's bound. `close()` closes the wrapped model, then each layer
 * (innermost first).
 * @example const m = wrapModel({ model: cloud, middleware: [privacyMiddleware({ detector }), guardMiddleware({})], id: "safe-cloud" });
 */
export function wrapModel(options: WrapModelOptions): Model {
  const { model } = options;
  const layers: readonly ModelMiddleware[] = Array.isArray(options.middleware) ? options.middleware : [options.middleware as ModelMiddleware];
  const chain = layers.reduceRight<Model>((inner, mw) => wrapOne(inner, mw), model);
  const worstCase = options.worstCase ?? ((perCall) => worstCaseOf(model, perCall));
  return {
    id: options.id ?? model.id,
    location: options.location ?? model.location,
    price: options.price ?? model.price,
    worstCase,
    generate: (request, signal) => chain.generate(request, signal),
    stream: (request, signal) => chain.stream(request, signal),
    close: async () => {
      await chain.close?.();
    },
  };
}
