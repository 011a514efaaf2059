/**
 * Starts a bench/gateway-server.ts child process (upstream or gateway role) and resolves once it
 * prints `listening on <url>`; `stop()` closes its stdin (it exits) and kills it after 3 s.
 * Shared by the gateway benches so their children are measured apart from the load generator.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const here = fileURLToPath(new URL(".", import.meta.url));
const tsx = import.meta.resolve("tsx");

/** A running child: its URL, pid (for RSS/CPU sampling) and how to stop it. */
export interface Child {
  url: string;
  pid: number;
  stop(): Promise<void>;
}

/** Starts `gateway-server.ts <args>` with `env` added. Errors: the child exits before listening. */
export function startChild(args: string[], env: Record<string, string> = {}, nodeArgs: string[] = []): Promise<Child> {
  return startNode([...nodeArgs, "--import", tsx, join(here, "gateway-server.ts"), ...args], env);
}

/**
 * Starts `node <argv>` (any script that prints `listening on <url>` and exits when stdin closes,
 * e.g. a peer gateway behind bench/peers/loopback.mjs) with `env` added.
 * Errors: the child exits before listening.
 */
export function startNode(argv: string[], env: Record<string, string> = {}): Promise<Child> {
  const child: ChildProcess = spawn(process.execPath, argv, {
    stdio: ["pipe", "pipe", "inherit"],
    env: { ...process.env, ...env },
  });
  return new Promise((resolve, reject) => {
    let out = "";
    child.on("exit", (code) => reject(new Error(`child \`node ${argv.join(" ")}\` exited with ${code}`)));
    child.stdout?.on("data", function onData(d: Buffer) {
      out += d.toString();
      const m = out.match(/listening on (http:\/\/\S+)/);
      if (!m) return;
      child.stdout?.off("data", onData);
      child.stdout?.resume(); // keep draining what the child prints after, without keeping it
      child.removeAllListeners("exit");
      resolve({
        url: m[1],
        pid: child.pid ?? -1,
        stop: () =>
          new Promise<void>((done) => {
            if (child.exitCode !== null) return done();
            child.once("exit", () => done());
            child.stdin?.end();
            setTimeout(() => child.kill("SIGKILL"), 3000).unref();
          }),
      });
    });
  });
}
