/**
 * Sidecar model servers: a policy model with `sidecar: { path }` gets its own
 * `tandem serve-model` child process on a free loopback port, reached over HTTP through the
 * `openai-compatible` provider — the same way a remote model is. The child is stopped when the
 * policy is closed (and dies with its parent: it watches its stdin).
 */
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { TandemError } from "../core/errors.js";

/** A running `tandem serve-model` child. */
export interface Sidecar {
  /** Base URL with `/v1`. */
  baseURL: string;
  pid: number;
  stop(): Promise<void>;
}

/** Command line that runs the Tandem CLI from this installation (compiled, or TypeScript via tsx). */
export function cliCommand(): { command: string; args: string[] } {
  const compiled = fileURLToPath(new URL("../cli/run.js", import.meta.url));
  if (existsSync(compiled)) return { command: process.execPath, args: [compiled] };
  const source = fileURLToPath(new URL("../cli/run.ts", import.meta.url));
  // resolve tsx from this package, not from the caller's working directory
  return { command: process.execPath, args: ["--import", import.meta.resolve("tsx"), source] };
}

/**
 * Starts `tandem serve-model` for a GGUF and resolves once it listens.
 * Errors: `model_load_failed` if the child exits or prints no URL within `timeoutMs` (default 60 s).
 */
export function startSidecar(options: { path: string; id: string; threads?: number; contextSize?: number; sequences?: number; timeoutMs?: number }): Promise<Sidecar> {
  const { command, args } = cliCommand();
  const argv = [...args, "serve-model", "--model", options.path, "--id", options.id, "--port", "0", "--watch-stdin"];
  if (options.threads) argv.push("--threads", String(options.threads));
  if (options.contextSize) argv.push("--context-size", String(options.contextSize));
  if (options.sequences) argv.push("--sequences", String(options.sequences));
  const child: ChildProcess = spawn(command, argv, { stdio: ["pipe", "pipe", "pipe"], env: process.env });
  return new Promise((resolve, reject) => {
    let out = "";
    let err = "";
    const timer = setTimeout(() => fail(`no URL within ${options.timeoutMs ?? 60_000} ms`), options.timeoutMs ?? 60_000);
    const fail = (why: string) => {
      clearTimeout(timer);
      child.kill("SIGKILL");
      reject(new TandemError("model_load_failed", `Sidecar for ${options.path} failed: ${why}${err ? `\n${err.trim()}` : ""}`));
    };
    child.stderr?.on("data", (d: Buffer) => (err += d.toString()));
    child.on("exit", (code) => fail(`exited with code ${code}`));
    child.stdout?.on("data", (d: Buffer) => {
      out += d.toString();
      const m = out.match(/listening on (http:\/\/\S+)/);
      if (!m) return;
      clearTimeout(timer);
      child.removeAllListeners("exit");
      child.stdout?.removeAllListeners("data");
      child.stdout?.resume();
      resolve({
        baseURL: `${m[1]}/v1`,
        pid: child.pid ?? -1,
        stop: () =>
          new Promise<void>((done) => {
            if (child.exitCode !== null || child.signalCode !== null) return done();
            child.once("exit", () => done());
            child.kill("SIGTERM");
            setTimeout(() => child.kill("SIGKILL"), 5000).unref();
          }),
      });
    });
  });
}
