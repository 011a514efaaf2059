/**
 * Who is calling: the tenant (the gateway API key's name) of the request being served, carried
 * through the async call chain with Node's `AsyncLocalStorage`, so that a strategy deep in a
 * policy tree (`personalize`, a per-user calibrated `route`) knows whose memory it may read
 * without the `Model` interface growing a parameter. The gateway opens one {@link CallerContext}
 * per `/v1/*` request (src/server/app.ts), and announces the request's trace id once it is known
 * (its `x-tandem-trace-id`), so that what a strategy stored for the request (memories, a routing
 * decision) can be tied to the trace — which is how feedback on a trace reaches the user's
 * router calibration ({@link emitPersonalFeedback}).
 *
 * Identity of a user everywhere in personalization = (tenant, `user` field): the same `user`
 * string under two keys is two different users. Outside a gateway request (library use) there is
 * no context: strategies use their `tenant` option (default `""`), or the application runs its
 * calls inside {@link runAsCaller}.
 *
 * A **read-only** context ({@link runWithReadOnlyMemory}) is what the shadow evaluator
 * (src/shadow/) runs a candidate in, after the primary answered: the same tenant, memories
 * retrieved as for a live request, but nothing written — `personalize` stores no fact and
 * per-user calibration links no decision to a trace — so shadowing a personalized strategy
 * neither stores a user's facts twice nor lets feedback on the primary's trace count a decision
 * the user never saw.
 */
import { AsyncLocalStorage } from "node:async_hooks";

/** The per-request caller context. */
export interface CallerContext {
  /** The tenant: the API key's name; `""` on an open gateway (one tenant). */
  readonly tenant: string;
  /** Callbacks run once with the request's trace id (see {@link announceTrace}); bounded by the strategies that add them. */
  readonly onTrace: Array<(traceId: string) => void>;
  /** True in a shadow run: strategies read the user's memory and write none of it (see the module comment). */
  readonly readOnlyMemory?: boolean;
}

const storage = new AsyncLocalStorage<CallerContext>();

/** Runs `fn` as `tenant` (its async continuations included); returns `fn`'s value and the context. */
export function runAsCaller<T>(tenant: string, fn: () => T): { value: T; context: CallerContext } {
  const context: CallerContext = { tenant, onTrace: [] };
  return { value: storage.run(context, fn), context };
}

/**
 * Runs `fn` as `tenant` with memory read-only (its async continuations included): `personalize`
 * retrieves and stores nothing, `userCalibration` links nothing; the context's `onTrace` is never
 * announced. Returns `fn`'s value. Used by the shadow evaluator for candidate runs.
 */
export function runWithReadOnlyMemory<T>(tenant: string, fn: () => T): T {
  return storage.run({ tenant, onTrace: [], readOnlyMemory: true }, fn);
}

/** True inside {@link runWithReadOnlyMemory}: memory may be read, not written. */
export function memoryIsReadOnly(): boolean {
  return storage.getStore()?.readOnlyMemory === true;
}

/** The caller of the request being served, or undefined outside {@link runAsCaller}. */
export function currentCaller(): CallerContext | undefined {
  return storage.getStore();
}

/**
 * Tells the strategies of a request its trace id: runs (then clears) the context's `onTrace`
 * callbacks. A throwing callback is logged and does not stop the others. Never throws.
 */
export function announceTrace(context: CallerContext, traceId: string): void {
  const callbacks = context.onTrace.splice(0);
  for (const cb of callbacks) {
    try {
      cb(traceId);
    } catch (error) {
      console.error(`tandem: personalization could not link trace ${traceId}: ${(error as Error).message}`);
    }
  }
}

/** Feedback on a trace, as the gateway received it (already scoped to the caller's key). */
export interface PersonalFeedback {
  traceId: string;
  /** Quality of the answer in [0, 1]: < 0.5 negative (thumbs down). */
  score: number;
}

/** A listener of {@link emitPersonalFeedback}. May be async; its errors are logged. */
export type PersonalFeedbackListener = (feedback: PersonalFeedback) => void | Promise<void>;

const listeners = new Set<PersonalFeedbackListener>();

/** Registers a feedback listener (a per-user calibration store); returns the function that removes it. */
export function onPersonalFeedback(listener: PersonalFeedbackListener): () => void {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

/**
 * Hands feedback the gateway stored (`POST /v1/tandem/feedback`) to every listener; each looks the
 * trace up in its own links and ignores traces it did not serve. Awaits them; never throws.
 */
export async function emitPersonalFeedback(feedback: PersonalFeedback): Promise<void> {
  for (const listener of [...listeners]) {
    try {
      await listener(feedback);
    } catch (error) {
      console.error(`tandem: personalization feedback on ${feedback.traceId} failed: ${(error as Error).message}`);
    }
  }
}
