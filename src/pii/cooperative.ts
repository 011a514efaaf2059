/**
 * Cooperative scheduling for CPU-bound detection: run work in small synchronous steps and give
 * the event loop back between them, so a large or hostile text cannot stall a server (other
 * requests, `/health`, timers — including the timeout that aborts this very detection).
 * Browser-safe: uses `setImmediate` where it exists (Node), else `setTimeout(0)`.
 */

/** Resolves on the next macrotask (after pending I/O and timers have had a chance to run). */
export function nextMacrotask(): Promise<void> {
  const g = globalThis as { setImmediate?: (cb: () => void) => unknown };
  if (typeof g.setImmediate === "function") return new Promise((resolve) => g.setImmediate!(resolve));
  return new Promise((resolve) => setTimeout(resolve, 0));
}

/** A time-slicer: call `checkpoint()` between bounded steps of work. */
export interface Yielder {
  /**
   * Throws `signal.reason` when the signal has aborted; yields to the event loop when at least
   * `sliceMs` of work ran since the last yield (and checks the signal again after it).
   */
  checkpoint(): Promise<void>;
}

/**
 * Creates a {@link Yielder}. `sliceMs` (ms, default 8) bounds how long the caller keeps the event
 * loop between yields, given that each step between checkpoints is itself short.
 */
export function createYielder(signal?: AbortSignal, sliceMs = 8): Yielder {
  let last = performance.now();
  return {
    async checkpoint() {
      signal?.throwIfAborted();
      if (performance.now() - last < sliceMs) return;
      await nextMacrotask();
      last = performance.now();
      signal?.throwIfAborted();
    },
  };
}
