/** A bounded-concurrency runner for the `rank` strategy's candidate and judge calls. */

/**
 * Runs `tasks` with at most `limit` (≥ 1) in flight; resolves to their results in task order.
 * A task that rejects rejects the whole run (the rank strategy's tasks catch their own errors).
 */
export async function pool<T>(tasks: ReadonlyArray<() => Promise<T>>, limit: number): Promise<T[]> {
  const out = new Array<T>(tasks.length);
  let next = 0;
  const worker = async () => {
    while (next < tasks.length) {
      const i = next++;
      out[i] = await tasks[i]();
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, tasks.length)) }, worker));
  return out;
}
