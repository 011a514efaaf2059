/** Waiting that a request's abort signal can cut short. */
import { TandemError } from "./errors.js";

/**
 * Resolves after `ms` milliseconds; rejects with `TandemError("aborted")` as soon as `signal`
 * aborts (or at once when it already has). Used for retry backoff.
 */
export function abortableSleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(new TandemError("aborted", "Request aborted"));
    const onAbort = () => {
      clearTimeout(timer);
      reject(new TandemError("aborted", "Request aborted"));
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}
