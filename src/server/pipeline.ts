/**
 * The protocol-neutral request pipeline of the gateway (issue #11, item 5). Every generation
 * route — OpenAI chat completions today; OpenAI Responses and Anthropic Messages next — runs the
 * same steps and differs only in its {@link WireProtocol} mapping:
 *
 * 1. **intake**: read the body (a client that leaves while sending is `aborted`), parse JSON,
 *    refuse bodies nested deeper than {@link MAX_JSON_DEPTH}, let the protocol validate and map
 *    it to a {@link GenerateRequest}, look the model up, and admit the request against the
 *    caller's key (budgets, rate limits; `max_tokens` clamped to the key's limit);
 * 2. **run**: one AbortController per request, fired by the client's disconnect (`aborted`) or the
 *    request timeout (`upstream_timeout`, 504), released when the request ends;
 * 3. **respond**: run to completion (JSON body + `x-tandem-*` headers) or run as a stream (the
 *    first part is pulled before committing to a 200, so early failures keep their status; then
 *    SSE frames through Hono's streaming helper, the protocol encoding each part);
 * 4. **charge and settle**: an answer is charged its calls; a failed or abandoned request the calls
 *    its error carries, else (once a stream was open) the streamed text counted with the o200k
 *    tokenizer at the requested model's price; a charge past the admission's reservation is
 *    counted as an overrun;
 * 5. **trace**: every request, failed or not, is traced once through {@link storedTrace} (privacy
 *    of private models, see projection.ts), counted in the metrics and emitted as an
 *    OpenTelemetry span.
 */
import type { Context, MiddlewareHandler } from "hono";
import { bodyLimit } from "hono/body-limit";
import { stream as honoStream } from "hono/streaming";
import { countTokens } from "gpt-tokenizer";
import { randomUUID } from "node:crypto";
import type { z } from "zod";
import { TandemError, toTandemError } from "../core/errors.js";
import { costOf, streamFromGenerate, worstCaseOf, type GenerateRequest, type GenerateResult, type Model, type ModelCall, type StreamPart } from "../core/model.js";
import { passthroughOf, type ChatPassthrough, type PassthroughPart, type UpstreamObject } from "../providers/openai-compatible.js";
import type { AsyncTraceStore, Trace } from "../store/traces.js";
import { admittedMaxTokens, DEFAULT_MAX_TOKENS, type Admission, type ApiKeySpec, type KeyRing } from "./auth.js";
import type { GatewayMetrics } from "./metrics.js";
import { emitRequestSpan } from "./otel.js";
import { answeredTrace, blankTrace, projectAnswer, storedTrace, viewsOf, type AnswerProjection, type DecisionViews, type PrivateContentMode } from "./projection.js";

/** The app's per-request variables: the caller's key, authenticated once by the `/v1/*` middleware. */
export type GatewayEnv = { Variables: { apiKey?: ApiKeySpec } };

/** What a protocol's mapping makes of a request body. */
export interface Intake {
  /** The requested served name (a model or strategy of `models`). */
  model: string;
  /** True when the caller asked for a stream. */
  stream: boolean;
  /**
   * The provider-neutral request. Its `messages` are what the trace records; the pipeline clamps
   * `maxTokens` to the caller key's limit before the run.
   */
  request: GenerateRequest;
}

/** A finished answer, for the protocol to put into its body. */
export interface Answer<I extends Intake = Intake> {
  intake: I;
  /** The trace id, also the response id. */
  traceId: string;
  /** Epoch seconds of arrival (OpenAI `created`). */
  created: number;
  result: GenerateResult;
  /** The `tandem` field, headers and usage (projection.ts). */
  projection: AnswerProjection;
}

/** One server-sent event: `event:` line when set, then `data:`. */
export interface SseFrame {
  event?: string;
  /** The data line (no newlines: JSON.stringify output, or a literal such as "[DONE]"). */
  data: string;
}

/** A part of a stream that is not its end. */
export type StreamDelta = Exclude<StreamPart, { type: "finish" }>;

/** How a protocol writes one streamed answer; each hook returns the frames to send, in order. */
export interface StreamEncoder {
  /** Frames opening the stream (sent once the first part arrived). */
  open(): SseFrame[];
  /** Frames of a text or tool-call part. */
  part(part: StreamDelta): SseFrame[];
  /** Frames of the final result (finish reason, `tandem` field, usage when asked). */
  finish(result: GenerateResult, projection: AnswerProjection): SseFrame[];
  /** Frames telling the client the stream failed after its 200. */
  error(error: TandemError): SseFrame[];
  /** Frames ending a complete stream. */
  close(): SseFrame[];
}

/** A wire protocol's mapping: all that differs between generation routes. */
export interface WireProtocol<I extends Intake = Intake> {
  /**
   * Validates and maps a parsed JSON body (its depth already checked). Throws
   * `TandemError("invalid_request")` naming the bad field. May answer a promise (the Responses
   * mapping awaits the trace store to resolve `item_reference`s).
   */
  parse(body: unknown, context?: ParseContext): I | Promise<I>;
  /** The error body in this protocol's shape; the HTTP status is the error's. */
  errorBody(error: TandemError): unknown;
  /** The body of a non-streamed answer. */
  completion(answer: Answer<I>): unknown;
  /** The encoder of one streamed answer. */
  encoder(args: { intake: I; traceId: string; created: number }): StreamEncoder;
  /**
   * Optional, for a route whose requests are not generations (embeddings): what serves it instead
   * of the pipeline's `models` and `model.generate` (see {@link RequestRunner}). Absent: a
   * generation route.
   */
  runner?: RequestRunner<I>;
  /**
   * Prefix of this protocol's trace ids (which are also its response ids), e.g. `resp_`.
   * @default "chatcmpl-"
   */
  traceIdPrefix?: string;
  /**
   * The HTTP status of an error in this protocol (e.g. Anthropic's 529 for `overloaded`); traces
   * keep the error's own status. @default error.status
   */
  status?(error: TandemError): number;
  /**
   * Optional: how this protocol relays the upstream's own responses for a model that exposes a
   * pass-through hop (a plain `openai-compatible` model, see {@link ChatPassthrough}). Absent, or
   * for any other model (strategies, middleware, local models): the regular `completion` /
   * `encoder` path.
   */
  passthrough?: PassthroughMapping<I>;
}

/**
 * A protocol's relay of upstream responses (the pass-through fast path): the upstream's JSON body
 * or chunks, rewritten as little as the protocol needs (ids, model name, the `tandem` field).
 * Everything else — admission, charge, trace, metrics, errors — is the pipeline's, as for any
 * answer.
 */
export interface PassthroughMapping<I extends Intake = Intake> {
  /** The body text of a non-streamed answer, from the upstream's parsed body (which it may modify). */
  completion(answer: Answer<I>, upstream: UpstreamObject): string;
  /**
   * The relay of one stream: `chunk` maps each upstream chunk to frames (none: held back, e.g.
   * the final chunk until the usage arrived), `finish` the frames of the end (finish reason,
   * `tandem` field, usage when asked). The regular encoder's `error` and `close` frames end it.
   */
  relay(args: { intake: I; traceId: string; created: number }): { chunk(chunk: UpstreamObject): SseFrame[]; finish(result: GenerateResult, projection: AnswerProjection): SseFrame[] };
}

/**
 * How a non-generation route (embeddings) is served: `models` are the names it looks up (an
 * unknown one is 404 `model_not_found`) with the price and worst case admission reserves; `run`
 * serves one admitted request under the pipeline's signal (client disconnect, request timeout).
 * Everything else is the pipeline's, as for a generation: admission against the caller's key,
 * charge and settle of the result's `info` (its calls' USD and tokens; a failure's
 * `TandemError.calls`), the trace (`intake.request.messages` as its content, the result's `text`
 * as its response) and metrics. `completion` receives the very result `run` returned. Never
 * streamed: the protocol's `parse` must set `stream: false`.
 */
export interface RequestRunner<I extends Intake = Intake> {
  models: ReadonlyMap<string, Pick<Model, "id" | "location" | "price" | "worstCase">>;
  /** Serves one request. Throws TandemErrors, answered in the protocol's shape with their status. */
  run(intake: I, signal?: AbortSignal): Promise<GenerateResult>;
}

/** What a protocol's `parse` may read besides the body: the trace store and the caller's key (e.g. to resolve references to earlier answers, scoped to that key). */
export interface ParseContext {
  traces?: AsyncTraceStore;
  apiKey?: ApiKeySpec;
}

/** Options of {@link createPipeline} (the generation part of `GatewayOptions`). */
export interface PipelineOptions {
  /** Served models by name: strategies and plain models. */
  models: ReadonlyMap<string, Model>;
  /** Where traces go; none = not traced. */
  traces?: AsyncTraceStore;
  metrics: GatewayMetrics;
  /** API keys, budgets and rate limits; none = open gateway. */
  keys?: KeyRing;
  /** Largest accepted request body in bytes. Default 1 MiB. */
  maxBodyBytes?: number;
  /** Per-request time limit in ms (504 after it). Default 120,000. */
  requestTimeoutMs?: number;
  /** Served names whose strategy tree contains a `privacy` strategy (see projection.ts). */
  privateModels?: ReadonlySet<string>;
  /** Trace content of private models. @default "redacted" */
  privateContent?: PrivateContentMode;
  /**
   * Called once per answered generation, after its answer was produced and traced (never for
   * embeddings or failures) — the shadow evaluation's hook (src/shadow). Must return at once;
   * never awaited, and an exception is logged, never answered.
   */
  onAnswer?: (answered: AnsweredRequest) => void;
}

/** An answered generation, as {@link PipelineOptions.onAnswer} sees it. */
export interface AnsweredRequest {
  /** The requested served name. */
  model: string;
  /** The request as the model ran it (max tokens clamped). */
  request: GenerateRequest;
  /** The answer sent (a streamed answer's `text` is the streamed text). */
  result: GenerateResult;
  traceId: string;
  /** The caller's API key name (absent on an open gateway). */
  key?: string;
}

/** The generation pipeline shared by every wire protocol. */
export interface Pipeline {
  /** The route's handlers: the body-size limit (413, traced) then {@link Pipeline.handle}. */
  route<I extends Intake>(protocol: WireProtocol<I>): [MiddlewareHandler<GatewayEnv>, (c: Context<GatewayEnv>) => Promise<Response>];
  /** Runs one request end to end: intake, admission, run, response, charge, trace. Never throws for a request's failure: answers it. */
  handle<I extends Intake>(c: Context<GatewayEnv>, protocol: WireProtocol<I>): Promise<Response>;
  /**
   * Stores a trace (a failed write is logged, never fatal), counts it in the metrics and emits its
   * span. `views`: the answer's decision views when it has one (so they are cut once).
   */
  record(trace: Trace, c: Context, views?: DecisionViews): void;
}

/**
 * Deepest nesting of arrays/objects accepted in a request body. Deeper bodies would overflow the
 * stack later (JSON.stringify upstream and into traces); no real request comes close.
 */
export const MAX_JSON_DEPTH = 64;

/** Builds the pipeline over the gateway's models, traces, keys and metrics. */
export function createPipeline(options: PipelineOptions): Pipeline {
  const { metrics } = options;
  const maxBodyBytes = options.maxBodyBytes ?? 1024 * 1024;
  const timeoutMs = options.requestTimeoutMs ?? 120_000;
  const privateModels = new Set(options.privateModels ?? []);
  /** Names served through a protocol's {@link RequestRunner} (metric labels like `models`). */
  const runnerNames = new Set<string>();

  const record = (traced: Trace, c: Context, views?: DecisionViews) => {
    const cut = views ?? viewsOf(traced.decisions);
    // private models: what the cloud saw, never the private values (projection.ts)
    const t = storedTrace(traced, cut, { isPrivate: privateModels.has(traced.model), mode: options.privateContent });
    // a name whose answer carried a privacy view is private from now on (its failures too)
    if (cut.cloudView !== undefined) privateModels.add(traced.model);
    try {
      options.traces?.record(t);
    } catch (error) {
      console.error(`tandem: could not write trace ${t.id}: ${(error as Error).message}`);
    }
    // unknown model names stay out of the metric labels (each would be a new series, forever)
    metrics.observe(options.models.has(t.model) || runnerNames.has(t.model) ? t : { ...t, model: "" });
    emitRequestSpan(t, c.req.header());
  };

  const handle = async <I extends Intake>(c: Context<GatewayEnv>, protocol: WireProtocol<I>): Promise<Response> => {
    const arrived = Date.now();
    const t0 = performance.now();
    const traceId = newTraceId(protocol.traceIdPrefix);
    let intake: I | undefined;

    /** Every trace carries the gateway's overhead: its latency minus the upstream calls' (ms, ≥ 0). */
    const trace = (partial: Partial<Trace> & { status: number }, views?: DecisionViews) => {
      const latencyMs = partial.latencyMs ?? performance.now() - t0;
      record({
        ...blankTrace(traceId, arrived),
        model: intake?.model ?? "",
        stream: intake?.stream === true,
        latencyMs,
        messages: intake?.request.messages,
        key: c.get("apiKey")?.name,
        ...partial,
        overheadMs: overheadOf(latencyMs, partial.calls),
      }, c, views);
    };
    /** An error answer with its overhead header (`calls`: the upstream calls the failure made). */
    const errorResponse = (e: TandemError, calls?: readonly ModelCall[]) =>
      c.json(protocol.errorBody(e) as object, (protocol.status?.(e) ?? e.status) as 400, { [OVERHEAD_HEADER]: overheadText(performance.now() - t0, calls) });
    const fail = (error: unknown) => {
      const e = toTandemError(error);
      trace({ status: e.status, error: e.code, errorMessage: e.message });
      return errorResponse(e);
    };

    // 1. intake
    let raw: string;
    try {
      raw = await c.req.text();
    } catch (error) {
      if (c.req.raw.signal.aborted) return fail(new TandemError("aborted", `Client disconnected while sending the body: ${(error as Error).message}`));
      return fail(new TandemError("invalid_request", `Could not read the request body: ${(error as Error).message}`));
    }
    let json: unknown;
    try {
      json = JSON.parse(raw);
    } catch (error) {
      return fail(new TandemError("invalid_json", `Request body is not valid JSON: ${(error as Error).message}`));
    }
    try {
      checkJsonDepth(json);
      intake = await protocol.parse(json, { traces: options.traces, apiKey: c.get("apiKey") });
    } catch (error) {
      return fail(error);
    }
    const model = protocol.runner ? runnerModel(protocol.runner, intake) : options.models.get(intake.model);
    if (model && protocol.runner) runnerNames.add(intake.model);
    if (!model) return fail(modelNotFound(intake.model));

    const { request } = intake;
    const name = intake.model;
    let admission: Admission | undefined;
    const spec = c.get("apiKey");
    if (options.keys && spec) {
      // what is reserved is what is sent: the upstream may not generate past the admitted max_tokens
      request.maxTokens = admittedMaxTokens(spec, request.maxTokens);
      try {
        admission = await options.keys.admit(spec, name, model.price, {
          promptChars: raw.length,
          maxTokens: request.maxTokens ?? DEFAULT_MAX_TOKENS,
          worstCase: (perCall) => worstCaseOf(model, perCall),
        });
      } catch (error) {
        return fail(error);
      }
    }

    // 4. charge and settle
    /** Settles the admission with what the request is charged; a charge past the budget reservation is counted as an overrun. */
    const settle = (charge: Charge) => {
      if (!admission) return;
      if (admission.reservedUsd > 0 && charge.costUsd > admission.reservedUsd * (1 + 1e-9)) {
        metrics.observeOverrun(name, charge.costUsd - admission.reservedUsd);
        console.warn(`tandem: request ${traceId} of key '${admission.key}' cost $${charge.costUsd} > its reservation $${admission.reservedUsd} (upstream ignored max_tokens?)`);
      }
      void admission.finish({ costUsd: charge.costUsd, tokens: charge.promptTokens + charge.completionTokens });
    };
    /**
     * What a failed request is charged: the calls the error carries (providers and strategies
     * attach what was generated), else — once a stream was open — the streamed text counted with
     * the o200k tokenizer (at least one token per chunk) plus the prompt, at the requested
     * model's price (a strategy's price is its strong path's: an upper bound); else nothing.
     */
    const chargeOfFailure = (error: unknown, streamed?: { text: string; parts: number }): Charge => {
      const calls = TandemError.isInstance(error) ? error.calls : undefined;
      if (calls?.length) return chargeOfCalls(calls);
      if (!streamed) return NO_CHARGE;
      const usage = { promptTokens: countTokens(JSON.stringify(request.messages)), completionTokens: Math.max(countTokens(streamed.text), streamed.parts) };
      const costUsd = costOf(model.price, usage);
      const message = TandemError.isInstance(error) ? error.message : "stream ended early";
      return { ...usage, costUsd, calls: [{ model: model.id, location: model.location, role: "partial-estimate", ...usage, costUsd, latencyMs: performance.now() - t0, error: message }] };
    };
    /** Charges, traces and answers a request that failed before a 200 was sent. */
    const failCharged = (error: unknown) => {
      const charge = chargeOfFailure(error);
      settle(charge);
      const e = asTimeout(error);
      trace({ status: e.status, error: e.code, errorMessage: e.message, ...chargedFields(charge) });
      return errorResponse(e, charge.calls);
    };
    // 2. run: one controller per request, released when the request ends (a pending
    // AbortSignal.timeout would keep every request's signal graph alive for the whole timeout).
    const controller = new AbortController();
    const signal = controller.signal;
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      controller.abort(new TandemError("upstream_timeout", `Request timed out after ${timeoutMs} ms`));
    }, timeoutMs);
    const clientSignal = c.req.raw.signal;
    const onClientAbort = () => controller.abort(new TandemError("aborted", "Client disconnected"));
    if (clientSignal.aborted) onClientAbort();
    else clientSignal.addEventListener("abort", onClientAbort, { once: true });
    const release = () => {
      clearTimeout(timer);
      clientSignal.removeEventListener("abort", onClientAbort);
    };
    const asTimeout = (error: unknown) =>
      timedOut ? new TandemError("upstream_timeout", `Request timed out after ${timeoutMs} ms`, { cause: error }) : toTandemError(error, "upstream_error");
    const created = Math.floor(arrived / 1000);
    /** Hands an answered generation to the `onAnswer` hook (generation routes only); its failure is logged, never answered. */
    const answered = (result: GenerateResult) => {
      if (!options.onAnswer || protocol.runner) return;
      try {
        options.onAnswer({ model: name, request, result, traceId, key: spec?.name });
      } catch (error) {
        console.error(`tandem: onAnswer hook failed for ${traceId}: ${(error as Error).message}`);
      }
    };

    // The pass-through fast path: a protocol that can relay upstream responses, and a model that
    // exposes its upstream hop (a plain openai-compatible model; never a strategy or middleware).
    const hop: ChatPassthrough | undefined = protocol.passthrough ? passthroughOf(model) : undefined;

    // 3a. run to completion
    if (!intake.stream) {
      let result: GenerateResult;
      let upstream: UpstreamObject | undefined;
      try {
        if (hop) ({ body: upstream, result } = await hop.complete(request, signal));
        else result = await model.generate(request, signal);
      } catch (error) {
        return failCharged(error);
      } finally {
        release();
      }
      settle(chargeOfResult(result));
      const latency = performance.now() - t0;
      const projection = projectAnswer({ traceId, model: name, result, latencyMs: latency });
      trace(answeredTrace(result, latency), projection.views);
      answered(result);
      const answer = { intake, traceId, created, result, projection };
      const headers = { ...projection.headers, [OVERHEAD_HEADER]: overheadText(performance.now() - t0, result.info.calls) };
      if (upstream) return c.body(protocol.passthrough!.completion(answer, upstream), 200, { ...headers, "content-type": "application/json" });
      return c.json(protocol.completion(answer) as object, 200, headers);
    }

    // 3b. run as a stream: pull the first part before committing to a 200 so early failures get their status.
    const iterator: AsyncIterator<StreamPart | PassthroughPart> = (hop ? hop.stream(request, signal) : model.stream(request, signal))[Symbol.asyncIterator]();
    let first: IteratorResult<StreamPart | PassthroughPart>;
    const waited0 = performance.now();
    try {
      first = await iterator.next();
    } catch (error) {
      release();
      return failCharged(error);
    }
    const waitedMs = performance.now() - waited0;
    const encoder = protocol.encoder({ intake, traceId, created });
    const relay = hop ? protocol.passthrough!.relay({ intake, traceId, created }) : undefined;
    c.header("content-type", "text/event-stream; charset=utf-8");
    c.header("cache-control", "no-cache");
    c.header("connection", "keep-alive");
    c.header("x-tandem-trace-id", traceId);
    // a stream's headers leave before its end: the overhead so far (gateway time to the first part
    // minus the time spent waiting for the model); the trace has the whole request's figure
    c.header(OVERHEAD_HEADER, overheadText(performance.now() - t0 - waitedMs));
    return honoStream(c, async (out) => {
      const send = async (frames: SseFrame[]) => {
        for (const f of frames) await out.write(`${f.event !== undefined ? `event: ${f.event}\n` : ""}data: ${f.data}\n\n`);
      };
      let text = "";
      let parts = 0;
      let finished = false;
      try {
        if (!relay) await send(encoder.open());
        let next = first;
        while (!next.done) {
          const part = next.value;
          if (part.type === "chunk") {
            // pass-through: the upstream's own chunk (its role chunk opens the stream)
            if (part.text) {
              parts++;
              text += part.text;
            }
            await send(relay!.chunk(part.chunk));
          } else if (part.type !== "finish") {
            parts++;
            if (part.type === "text") text += part.text;
            await send(encoder.part(part));
          } else {
            const result = part.result;
            const latency = performance.now() - t0;
            const projection = projectAnswer({ traceId, model: name, result, latencyMs: latency });
            await send(relay ? relay.finish(result, projection) : encoder.finish(result, projection));
            trace(answeredTrace(result, latency, text), projection.views);
            settle(chargeOfResult(result));
            finished = true;
            answered(result.text ? result : { ...result, text });
          }
          next = await iterator.next();
        }
        if (!finished) throw new TandemError("upstream_error", "Stream ended without a final result");
        await send(encoder.close());
      } catch (error) {
        const e = c.req.raw.signal.aborted ? new TandemError("aborted", "Client disconnected") : asTimeout(error);
        if (!finished) {
          // what was generated is paid for, whether the client left, the clock ran out or the upstream broke
          const charge = chargeOfFailure(error, { text, parts });
          settle(charge);
          trace({ status: e.code === "aborted" ? 499 : e.status, error: e.code, errorMessage: e.message, responseText: text, ...chargedFields(charge) });
        }
        if (!c.req.raw.signal.aborted) {
          await send(encoder.error(e)).catch(() => {});
        }
        await iterator.return?.(undefined).catch(() => {});
      } finally {
        release();
      }
    });
  };

  const route = <I extends Intake>(protocol: WireProtocol<I>): [MiddlewareHandler<GatewayEnv>, (c: Context<GatewayEnv>) => Promise<Response>] => [
    bodyLimit({
      maxSize: maxBodyBytes,
      onError: (c) => {
        const e = new TandemError("payload_too_large", `Request body exceeds ${maxBodyBytes} bytes`);
        record({ ...blankTrace(newTraceId(protocol.traceIdPrefix), Date.now()), status: e.status, error: e.code, errorMessage: e.message, key: c.get("apiKey")?.name }, c);
        return c.json(protocol.errorBody(e) as object, (protocol.status?.(e) ?? e.status) as 400);
      },
    }),
    (c) => handle(c, protocol),
  ];

  return { route, handle, record };
}

/**
 * Throws `TandemError("invalid_request")` when `value` nests deeper than {@link MAX_JSON_DEPTH},
 * naming the top-level field under which it does (`param`; null when the body itself is the
 * culprit, e.g. a deep array). Iterative, so any depth is safe to check.
 */
export function checkJsonDepth(value: unknown, max = MAX_JSON_DEPTH): void {
  const deep = tooDeepAt(value, max);
  if (deep !== undefined) throw new TandemError("invalid_request", `Invalid request: ${deep ? `'${deep}'` : "the body"} nests deeper than ${max} levels`, { param: deep || null });
}

function tooDeepAt(value: unknown, max: number): string | undefined {
  if (typeof value !== "object" || value === null) return undefined;
  const stack: Array<[object, number, string]> = [[value, 1, ""]];
  while (stack.length > 0) {
    const [v, depth, top] = stack.pop()!;
    if (depth > max) return top;
    const topLevelObject = depth === 1 && !Array.isArray(v);
    for (const [key, child] of Object.entries(v)) {
      if (typeof child === "object" && child !== null) stack.push([child, depth + 1, topLevelObject ? key : top]);
    }
  }
  return undefined;
}

/** `TandemError("invalid_request")` of a zod issue, naming its path (OpenAI `param`, e.g. `messages.0.role`). */
export function invalidRequest(issue: z.core.$ZodIssue): TandemError {
  const path = issue.path.join(".");
  return new TandemError("invalid_request", `Invalid request: ${path ? `'${path}': ` : ""}${issue.message}`, { param: path || null });
}

/** The entry of `intake.model` in a {@link RequestRunner} as a `Model` whose one generation is `runner.run(intake)`; undefined when unknown. */
function runnerModel<I extends Intake>(runner: RequestRunner<I>, intake: I): Model | undefined {
  const entry = runner.models.get(intake.model);
  if (!entry) return undefined;
  return {
    id: entry.id,
    location: entry.location,
    price: entry.price,
    worstCase: entry.worstCase ? (perCall) => entry.worstCase!(perCall) : undefined,
    generate: (_request, signal) => runner.run(intake, signal),
    stream: (_request, signal) => streamFromGenerate(runner.run(intake, signal)),
  };
}

/** `TandemError("model_not_found")` for a served name that does not exist (404, `param: "model"`). */
export function modelNotFound(name: string): TandemError {
  return new TandemError("model_not_found", `The model '${name}' does not exist`, { param: "model" });
}

/** The response header carrying the gateway's overhead (ms, one decimal). */
export const OVERHEAD_HEADER = "x-tandem-overhead-ms";

/**
 * The gateway's own share of a request, in ms (≥ 0): `latencyMs` (arrival to answer) minus the
 * latency of the upstream calls it made (`calls`' `latencyMs`, summed — calls made in parallel
 * count several times, so a strategy's figure is a lower bound).
 */
export function overheadOf(latencyMs: number, calls?: readonly ModelCall[]): number {
  let upstream = 0;
  for (const call of calls ?? []) upstream += call.latencyMs;
  return Math.max(0, latencyMs - upstream);
}

function overheadText(latencyMs: number, calls?: readonly ModelCall[]): string {
  return (Math.round(overheadOf(latencyMs, calls) * 10) / 10).toFixed(1);
}

/** What one request is charged: USD and tokens over all its model calls. */
interface Charge {
  /** USD. */
  costUsd: number;
  promptTokens: number;
  completionTokens: number;
  /** The calls charged (empty: nothing). */
  calls: ModelCall[];
}

const NO_CHARGE: Charge = { costUsd: 0, promptTokens: 0, completionTokens: 0, calls: [] };

function chargeOfCalls(calls: ModelCall[]): Charge {
  let costUsd = 0;
  let promptTokens = 0;
  let completionTokens = 0;
  for (const call of calls) {
    costUsd += call.costUsd;
    promptTokens += call.promptTokens;
    completionTokens += call.completionTokens;
  }
  return { costUsd, promptTokens, completionTokens, calls };
}

/** The charge of an answered request: its cost, and the tokens of every call (for the token limit). */
function chargeOfResult(result: GenerateResult): Charge {
  const calls = result.info.calls;
  if (!calls.length) return { costUsd: result.info.costUsd, ...result.usage, calls };
  return { ...chargeOfCalls(calls), costUsd: result.info.costUsd };
}

/** Trace fields of a charge on a failed request. */
function chargedFields(charge: Charge): Partial<Trace> {
  return charge.calls.length ? { costUsd: charge.costUsd, promptTokens: charge.promptTokens, completionTokens: charge.completionTokens, calls: charge.calls } : {};
}

function newTraceId(prefix = "chatcmpl-"): string {
  return `${prefix}${randomUUID().replace(/-/g, "")}`;
}
