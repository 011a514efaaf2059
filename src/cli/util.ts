/** Small helpers shared by CLI commands. */
import { InvalidArgumentError } from "commander";

/** Commander parser for integer options. */
export function intOption(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n)) throw new InvalidArgumentError(`expected an integer, got '${value}'`);
  return n;
}

/** Commander parser for number options. */
export function numberOption(value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n)) throw new InvalidArgumentError(`expected a number, got '${value}'`);
  return n;
}

/** Runs `cleanup` once on SIGINT/SIGTERM (and when stdin closes, if `watchStdin`), then exits. */
export function onShutdown(cleanup: () => Promise<void>, watchStdin = false): void {
  let done = false;
  const stop = () => {
    if (done) return;
    done = true;
    cleanup()
      .catch((error) => console.error(error))
      .finally(() => process.exit(0));
  };
  process.once("SIGINT", stop);
  process.once("SIGTERM", stop);
  if (watchStdin) {
    process.stdin.on("end", stop);
    process.stdin.on("close", stop);
    process.stdin.resume();
  }
}
