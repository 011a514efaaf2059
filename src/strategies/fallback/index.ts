/**
 * The `fallback` strategy — offline operation and upstream failover. The primary model (usually
 * a cloud LLM) serves; when it errors, times out or is unreachable, the request is retried per
 * policy and then served by the first fallback that works (usually the local SLM), marked
 * `degraded: true` with a `fallback` decision whose reason is the error. Retries with
 * exponential backoff and jitter follow the AWS Architecture Blog's "Exponential Backoff And
 * Jitter" (Brooker, 2015); the circuit breaker is Nygard's ("Release It!", see
 * `circuit-breaker.ts`): after `failureThreshold` consecutive failures the primary is not called
 * at all for `cooldownMs`, requests go straight to the fallback (still degraded), then one probe
 * request is let through and closes the circuit if it succeeds.
 *
 * Streams — what happens when the primary fails:
 * - before its first part (connect error, HTTP error, hang past `firstTokenTimeoutMs` or the
 *   provider's own timeout): nothing has been sent yet, so the fallback's stream is passed
 *   through as if it had been the plan all along (the gateway still answers 200);
 * - after some text was sent (`midStream`): bytes on the wire cannot be taken back, and chat APIs
 *   cannot, in general, resume another model's half-written answer. So:
 *   - `"error"` (default): the stream ends with the OpenAI-shaped error event after the partial
 *     text — the client knows the answer is incomplete and can retry (the breaker counts it);
 *   - `"continue"`: the separator (default `"\n\n"`) is streamed, then the fallback's full answer
 *     to the original request; the answer is marked degraded and the decision says where the
 *     primary broke. The client sees partial text + separator + a complete answer;
 *   - `"buffer"`: the primary's stream is read to the end before anything is sent, so a
 *     mid-stream failure is handled like an early one and the client only ever sees one complete
 *     answer — at the price of streaming (time to first token = whole answer time).
 *   A primary that already streamed tool-call deltas is never continued: the stream errors.
 */
import { abortableSleep } from "../../core/sleep.js";
import { TandemError, toTandemError, withCalls, type ErrorCode } from "../../core/errors.js";
import { combinedLocation, costOf, sumWorstCases, worstCaseOf, type CollaborationInfo, type Decision, type GenerateRequest, type GenerateResult, type Model, type ModelCall, type StreamPart } from "../../core/model.js";
import { strategyInfo } from "../info.js";
import { CircuitBreaker, type Breaker, type BreakerFactory, type CircuitSnapshot } from "./circuit-breaker.js";

export { CircuitBreaker, type Breaker, type BreakerFactory, type BreakerSettings, type CircuitBreakerOptions, type CircuitSnapshot, type CircuitState } from "./circuit-breaker.js";

/** What a stream does when the primary fails after its first part was sent. See the module comment. */
export type MidStreamPolicy = "error" | "continue" | "buffer";

/** Options of {@link fallback}. */
export interface FallbackOptions {
  /** Id of the strategy (served model name). Default "fallback". */
  id?: string;
  /** @deprecated Use `id` (kept as an alias). */
  name?: string;
  /** The preferred model (e.g. the cloud LLM, or a strategy). */
  primary: Model;
  /** Tried in order when the primary fails; the last one is always tried (no breaker). At least one. */
  fallbacks: Model[];
  /**
   * Extra attempts on the primary after a transient failure (connection error, timeout, 408/409/429,
   * 5xx, overloaded), before falling back. Fallbacks are tried once each. Default 1.
   * The openai-compatible provider also retries on its own (`maxRetries`); set that to 0 to keep
   * one place of control.
   */
  retries?: number;
  /** Base delay of the exponential backoff between primary attempts, in ms (attempt k waits base·2^(k−1), with 50 % jitter). Default 200. */
  retryBackoffMs?: number;
  /**
   * Circuit breaker per model except the last of the chain, or `false` for none.
   * `failureThreshold`: consecutive failures that open it; `cooldownMs`: ms before a half-open probe.
   * Default `{ failureThreshold: 5, cooldownMs: 30_000 }`.
   */
  breaker?: { failureThreshold: number; cooldownMs: number } | false;
  /** Stream behaviour when the primary breaks after its first part. @default "error" */
  midStream?: MidStreamPolicy;
  /** Text streamed between the partial primary answer and the fallback's answer (`midStream: "continue"`). @default "\n\n" */
  separator?: string;
  /**
   * Limit in ms for a non-fallback model (primary, and every fallback but the last) to produce
   * its first stream part, or its whole answer for non-streaming calls. Default: none (the
   * provider's own timeout applies, e.g. openai-compatible `timeoutMs`).
   */
  firstTokenTimeoutMs?: number;
  /** Limit in ms between two stream parts of a non-last model once streaming (a stalled stream is a failure). Default: none. */
  idleTimeoutMs?: number;
  /** Clock in ms for the breakers (default `Date.now`); injectable for tests. */
  now?: () => number;
  /**
   * Makes each breaker; default: an in-process {@link CircuitBreaker}. The policy passes a Redis
   * factory when it names a Redis server, so replicas share breaker state.
   */
  breakerFactory?: BreakerFactory;
}

/** A fallback strategy model, with its breakers' states for metrics and health checks. */
export interface FallbackModel extends Model {
  /** Breaker snapshot per model id (models without a breaker are absent). */
  breakerStates(): Record<string, CircuitSnapshot>;
}

/** Error codes that are the caller's fault: never retried, never counted by the breaker. */
const CALLER_FAULT: ReadonlySet<ErrorCode> = new Set(["invalid_json", "invalid_request", "payload_too_large", "tandem_guard", "aborted", "not_found"]);
/** Codes worth retrying on the same model. */
const TRANSIENT: ReadonlySet<ErrorCode> = new Set(["upstream_error", "upstream_timeout", "overloaded", "rate_limit_exceeded"]);

/** HTTP status of the upstream response behind an error, when the provider kept it (openai SDK's APIError.status). */
function upstreamStatus(error: TandemError): number | undefined {
  const status = (error.cause as { status?: unknown } | undefined)?.status;
  return typeof status === "number" ? status : undefined;
}

/** Transient: a retry may succeed (connection errors, timeouts, 408/409/429, 5xx, overloaded). */
function isTransient(error: TandemError): boolean {
  if (!TRANSIENT.has(error.code)) return false;
  const status = upstreamStatus(error);
  return status === undefined || status >= 500 || status === 408 || status === 409 || status === 429;
}

/** Says something about the upstream's health (counts towards opening the breaker). */
function countsAgainstUpstream(error: TandemError): boolean {
  if (CALLER_FAULT.has(error.code)) return false;
  const status = upstreamStatus(error);
  return !(status === 400 || status === 413 || status === 422);
}

/** Another model may answer where this one failed (everything but a guard block or a client abort). */
function fallsBack(error: TandemError): boolean {
  return error.code !== "tandem_guard" && error.code !== "aborted";
}


/** One call to one model: its own abort signal (the caller's, plus our deadlines) and timing. */
class Attempt {
  private readonly controller = new AbortController();
  readonly signal: AbortSignal;
  readonly started = performance.now();

  constructor(private readonly outer: AbortSignal | undefined) {
    this.signal = outer ? AbortSignal.any([outer, this.controller.signal]) : this.controller.signal;
  }

  /** Resolves `promise`, or rejects with `upstream_timeout` (and aborts the call) after `ms`. */
  async within<T>(promise: Promise<T>, ms: number | undefined, what: string, modelId: string): Promise<T> {
    if (ms === undefined) return promise;
    promise.catch(() => {}); // it may reject after we stopped waiting
    let timer: ReturnType<typeof setTimeout> | undefined;
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        const error = new TandemError("upstream_timeout", `Model '${modelId}' produced no ${what} within ${ms} ms`);
        this.controller.abort(error);
        reject(error);
      }, ms);
    });
    try {
      return await Promise.race([promise, deadline]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** Normalizes a failure; rethrows when the caller aborted (nothing to fall back for). */
  classify(error: unknown): TandemError {
    if (this.outer?.aborted) {
      if (TandemError.isInstance(error) && error.code === "aborted") throw error;
      throw new TandemError("aborted", "Request aborted", { cause: error, calls: TandemError.isInstance(error) ? error.calls : undefined });
    }
    const reason = this.controller.signal.reason;
    if (this.controller.signal.aborted && TandemError.isInstance(reason)) return reason;
    return toTandemError(error, "upstream_error");
  }

  get elapsedMs(): number {
    return performance.now() - this.started;
  }
}

/** What went wrong on the way to the answer: failed calls (traced) and human-readable events. */
class Incidents {
  readonly calls: ModelCall[] = [];
  readonly events: string[] = [];
  failures = 0;
  skips = 0;
  lastError: TandemError | undefined;
  midStream = false;

  /**
   * Records a failed attempt. The paid part of it is what the error carries (`error.calls`, set
   * by the provider: the upstream's usage, or tokens counted from the stream), else `usage`.
   */
  fail(model: Model, role: string, error: TandemError, latencyMs: number, usage = { promptTokens: 0, completionTokens: 0 }): void {
    this.failures++;
    this.lastError = error;
    if (error.calls?.length) {
      for (const c of error.calls) this.calls.push({ ...c, role: c.role ? `${role}/${c.role}` : role, error: c.error ?? error.message });
      error.calls = undefined; // now accounted for here; the error that leaves the strategy carries all of them
      return;
    }
    this.calls.push({ model: model.id, location: model.location, role, ...usage, costUsd: costOf(model.price, usage), latencyMs, error: error.message });
  }

  skip(model: Model, snapshot: CircuitSnapshot): void {
    this.skips++;
    this.events.push(`circuit open for '${model.id}' (${snapshot.consecutiveFailures} consecutive failures, probe in ${Math.round(snapshot.retryInMs ?? 0)} ms): not called`);
  }
}

/**
 * Creates a fallback model: `primary`, retried `retries` times with backoff, then each of
 * `fallbacks` in order. The answer of a fallback is marked `degraded: true` and carries a
 * Decision `{ strategy: "fallback", signal: "upstream-error" | "circuit-open", reason }`
 * (`score` = failed attempts, `threshold` = attempts allowed on the primary; for circuit-open,
 * `score` = the breaker's consecutive failures, `threshold` = its failureThreshold).
 * `escalated` is passed through from the serving model (falling back is not an escalation).
 *
 * Errors: `invalid_policy` for bad options (no fallbacks, negative retries, bad breaker); when
 * every model failed, a TandemError with the last failure's code (e.g. `upstream_error` 502,
 * `upstream_timeout` 504) whose message lists each failure; `aborted` when `signal` fires;
 * `tandem_guard` errors pass through without falling back. With `midStream: "error"`, a broken
 * primary stream ends with the primary's error.
 *
 * @example
 * const served = fallback({ primary: cloud, fallbacks: [edge], retries: 1, breaker: { failureThreshold: 3, cooldownMs: 30_000 } });
 */
export function fallback(options: FallbackOptions): FallbackModel {
  const name = options.id ?? options.name ?? "fallback";
  const retries = options.retries ?? 1;
  const backoffMs = options.retryBackoffMs ?? 200;
  const midStream = options.midStream ?? "error";
  const separator = options.separator ?? "\n\n";
  if (!options.primary) throw new TandemError("invalid_policy", `fallback '${name}': primary model is required`);
  if (!Array.isArray(options.fallbacks) || options.fallbacks.length === 0) throw new TandemError("invalid_policy", `fallback '${name}': at least one fallback model is required`);
  if (!Number.isInteger(retries) || retries < 0) throw new TandemError("invalid_policy", `fallback '${name}': retries must be an integer ≥ 0, got ${retries}`);
  if (!(backoffMs >= 0)) throw new TandemError("invalid_policy", `fallback '${name}': retryBackoffMs must be ≥ 0 ms, got ${backoffMs}`);
  if (!["error", "continue", "buffer"].includes(midStream)) throw new TandemError("invalid_policy", `fallback '${name}': midStream must be "error", "continue" or "buffer", got ${String(midStream)}`);
  for (const [key, value] of [["firstTokenTimeoutMs", options.firstTokenTimeoutMs], ["idleTimeoutMs", options.idleTimeoutMs]] as const) {
    if (value !== undefined && !(value > 0)) throw new TandemError("invalid_policy", `fallback '${name}': ${key} must be > 0 ms, got ${value}`);
  }

  const chain: Model[] = [options.primary, ...options.fallbacks];
  const breakerOptions = options.breaker === undefined ? { failureThreshold: 5, cooldownMs: 30_000 } : options.breaker;
  const makeBreaker: BreakerFactory = options.breakerFactory ?? ((_, settings) => new CircuitBreaker({ ...settings, now: options.now }));
  let breakers: Array<Breaker | undefined>;
  try {
    breakers = chain.map((m, i) => (breakerOptions && i < chain.length - 1 ? makeBreaker(`${name}/${m.id}`, breakerOptions) : undefined));
  } catch (error) {
    throw new TandemError("invalid_policy", `fallback '${name}': ${(error as Error).message}`, { cause: error });
  }
  const price = options.primary.price;
  const last = chain.length - 1;

  const role = (i: number, attempt: number) => (i === 0 ? (attempt === 1 ? "primary" : `primary-retry-${attempt - 1}`) : `fallback-${i}`);
  const attemptsOf = (i: number) => (i === 0 ? retries + 1 : 1);
  const delay = (retry: number) => backoffMs * 2 ** (retry - 1) * (0.5 + Math.random() * 0.5);
  const deadlineOf = (i: number, ms: number | undefined) => (i === last ? undefined : ms);

  /** The final info: failed calls first, then the served result's; a decision when anything happened. */
  function served(result: GenerateResult, i: number, log: Incidents, prefix = ""): GenerateResult {
    if (i === 0 && log.failures === 0 && log.skips === 0) return result;
    const model = chain[i];
    const degraded = i > 0 || result.info.degraded === true;
    const onlySkips = log.failures === 0;
    const primaryBreaker = breakers[0]?.snapshot();
    const what = log.lastError ? `${log.midStream ? "broke mid-stream" : "failed"}: ${log.lastError.message}` : "";
    const reasons = [...log.events];
    if (log.failures) reasons.push(`${log.failures} failed attempt${log.failures === 1 ? "" : "s"}, last ${what}`);
    reasons.push(i === 0 ? `retry of primary '${model.id}' succeeded` : `served by fallback '${model.id}' (degraded)${prefix ? " after the partial primary answer and a separator" : ""}`);
    const decision: Decision = {
      strategy: "fallback",
      name,
      signal: onlySkips ? "circuit-open" : "upstream-error",
      score: onlySkips ? (primaryBreaker?.consecutiveFailures ?? 0) : log.failures,
      threshold: onlySkips ? (breakerOptions ? breakerOptions.failureThreshold : 0) : retries + 1,
      chosen: model.id,
      escalated: false,
      reason: reasons.join("; "),
    };
    const info: CollaborationInfo = { ...strategyInfo(result, decision, price, { calls: log.calls }), degraded };
    return { ...result, text: prefix + result.text, info };
  }

  function exhausted(log: Incidents): TandemError {
    const last = log.lastError ?? new TandemError("upstream_error", "no model was called");
    const failures = log.calls.map((c) => `${c.model} (${c.role}): ${c.error}`);
    return new TandemError(last.code, `fallback '${name}': every model failed — ${[...log.events, ...failures].join("; ")}`, { cause: last, calls: [...log.calls] });
  }

  /**
   * Runs `step` over the chain from `start`: retries, breakers, backoff. `step` returns a value
   * (success) or throws; the first success wins.
   */
  async function overChain<T>(
    start: number,
    log: Incidents,
    signal: AbortSignal | undefined,
    step: (model: Model, i: number, attempt: Attempt, breaker: Breaker | undefined) => Promise<T>,
    attemptRole: (i: number, a: number) => string,
  ): Promise<{ value: T; index: number }> {
    for (let i = start; i < chain.length; i++) {
      const model = chain[i];
      const breaker = breakers[i];
      for (let a = 1; a <= attemptsOf(i); a++) {
        if (a > 1) await abortableSleep(delay(a - 1), signal);
        if (breaker && !(await breaker.tryAcquire())) {
          log.skip(model, breaker.snapshot());
          break;
        }
        const attempt = new Attempt(signal);
        try {
          return { value: await step(model, i, attempt, breaker), index: i };
        } catch (error) {
          const e = classifyFailure(attempt, error, breaker, log);
          log.fail(model, attemptRole(i, a), e, attempt.elapsedMs);
          if (!fallsBack(e)) throw withCalls(e, log.calls);
          if (!isTransient(e)) break;
        }
      }
    }
    throw exhausted(log);
  }

  async function generate(request: GenerateRequest, signal?: AbortSignal): Promise<GenerateResult> {
    const log = new Incidents();
    const { value, index } = await overChain(
      0,
      log,
      signal,
      async (model, i, attempt, breaker) => {
        const result = await attempt.within(model.generate(request, attempt.signal), deadlineOf(i, options.firstTokenTimeoutMs), "answer", model.id);
        breaker?.onSuccess();
        return result;
      },
      role,
    );
    return served(value, index, log);
  }

  interface Opened {
    attempt: Attempt;
    breaker: Breaker | undefined;
    iterator: AsyncIterator<StreamPart>;
    first: IteratorResult<StreamPart>;
  }

  /** Opens a stream on a model and waits for its first part (or, with `buffer`, for all of them). */
  async function open(model: Model, i: number, attempt: Attempt, breaker: Breaker | undefined, request: GenerateRequest): Promise<Opened> {
    const iterator = model.stream(request, attempt.signal)[Symbol.asyncIterator]();
    try {
      const first = await attempt.within(iterator.next(), deadlineOf(i, options.firstTokenTimeoutMs), "first token", model.id);
      if (midStream !== "buffer" || i === last || first.done) return { attempt, breaker, iterator, first };
      const parts: StreamPart[] = [first.value];
      for (;;) {
        const next = await attempt.within(iterator.next(), deadlineOf(i, options.idleTimeoutMs), "next token", model.id);
        if (next.done) break;
        parts.push(next.value);
      }
      const rest = parts.slice(1)[Symbol.iterator]();
      return { attempt, breaker, iterator: { next: async () => rest.next() }, first: { done: false, value: parts[0] } };
    } catch (error) {
      void Promise.resolve(iterator.return?.(undefined)).catch(() => {});
      throw error;
    }
  }

  async function* streamFrom(start: number, request: GenerateRequest, signal: AbortSignal | undefined, log: Incidents, prefix: string): AsyncGenerator<StreamPart> {
    const { value, index } = await overChain(start, log, signal, (model, i, attempt, breaker) => open(model, i, attempt, breaker, request), role);
    const { attempt, breaker, iterator } = value;
    let next = value.first;
    const model = chain[index];
    let text = "";
    let toolDeltas = false;
    let settled = false;
    try {
      while (!next.done) {
        const part = next.value;
        if (part.type === "finish") {
          breaker?.onSuccess();
          settled = true;
          yield { type: "finish", result: served(part.result, index, log, prefix) };
        } else {
          if (part.type === "text") text += part.text;
          else toolDeltas = true;
          yield part;
        }
        next = await attempt.within(iterator.next(), deadlineOf(index, options.idleTimeoutMs), "next token", model.id);
      }
      settled = true;
    } catch (error) {
      if (settled) throw error;
      settled = true;
      const e = classifyFailure(attempt, error, breaker, log);
      // the provider's count when it attached one (error.calls), else ~4 characters per token
      const partial = { promptTokens: Math.ceil(JSON.stringify(request.messages).length / 4), completionTokens: Math.ceil(text.length / 4) };
      log.fail(model, `${role(index, 1)}-broken-stream`, e, attempt.elapsedMs, partial);
      log.midStream = true;
      void Promise.resolve(iterator.return?.(undefined)).catch(() => {});
      if (midStream !== "continue" || index === last || toolDeltas || !fallsBack(e)) throw withCalls(e, log.calls);
      yield { type: "text", text: separator };
      yield* streamFrom(index + 1, request, signal, log, prefix + text + separator);
      return;
    } finally {
      if (!settled) {
        // the consumer stopped early (client went away): free the probe, stop the upstream
        breaker?.release();
        void Promise.resolve(iterator.return?.(undefined)).catch(() => {});
      }
    }
  }

  return {
    id: name,
    location: combinedLocation(chain),
    price,
    /** Every attempt may run: the primary and its retries, then each fallback once. */
    worstCase: (perCall) => sumWorstCases(chain.flatMap((m, i) => Array.from({ length: attemptsOf(i) }, () => worstCaseOf(m, perCall)))),
    generate,
    stream(request, signal) {
      return streamFrom(0, request, signal, new Incidents(), "");
    },
    breakerStates() {
      const states: Record<string, CircuitSnapshot> = {};
      chain.forEach((m, i) => {
        const b = breakers[i];
        if (b) states[m.id] = b.snapshot();
      });
      return states;
    },
  };
}

/**
 * Classifies a failed attempt and updates the breaker: failures that count against the upstream
 * trip it, others release the half-open probe. Aborts are rethrown (after releasing the probe),
 * carrying the calls already paid for (`log.calls`, then the aborted call's own).
 */
function classifyFailure(attempt: Attempt, error: unknown, breaker: Breaker | undefined, log: Incidents): TandemError {
  let e: TandemError;
  try {
    e = attempt.classify(error);
  } catch (aborted) {
    breaker?.release();
    throw TandemError.isInstance(aborted) ? withCalls(aborted, log.calls) : aborted;
  }
  if (countsAgainstUpstream(e)) breaker?.onFailure();
  else breaker?.release();
  return e;
}
