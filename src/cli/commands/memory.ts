/**
 * `tandem memory list|forget`: the per-user memory of personalization (src/store/memory.ts) for
 * the operator on the device — who has memories, what one user's are, and the right to be
 * forgotten (every memory, trace link and feedback of one user, or one memory).
 *
 *   tandem memory list [--store F] [--tenant T]             users with memories and their counts
 *   tandem memory list --tenant T --user U [--json]          one user's memories
 *   tandem memory forget --tenant T --user U [--id N]        delete them (or one)
 *
 * `--tenant` is the gateway API key's name ("" on an open gateway). Exit code 1 with a message on
 * stderr for a missing store file or a memory id the user does not have.
 */
import type { Command } from "commander";
import { existsSync } from "node:fs";
import { resolve } from "node:path";
import { openMemoryStore, type MemoryStore } from "../../store/memory.js";

const DEFAULT_STORE = ".tandem/personal.sqlite";

function open(path: string): MemoryStore {
  const file = resolve(path);
  if (!existsSync(file)) throw new Error(`No personal store at ${file} (a personalize strategy creates it; see docs/personalization.md)`);
  return openMemoryStore(file);
}

/** Runs `tandem memory list` and returns its output lines. Errors: `Error` for a missing store. */
export function memoryList(options: { store?: string; tenant?: string; user?: string; json?: boolean }): string[] {
  const store = open(options.store ?? DEFAULT_STORE);
  try {
    if (options.user === undefined) {
      const users = store.users(options.tenant);
      if (options.json) return [JSON.stringify(users)];
      return users.length ? users.map((u) => `${JSON.stringify(u.tenant)}\t${JSON.stringify(u.user)}\t${u.memories}`) : ["no memories"];
    }
    const entries = store.list({ tenant: options.tenant ?? "", user: options.user });
    if (options.json) return [JSON.stringify(entries.map(({ vector: _, ...e }) => e))];
    return entries.length ? entries.map((e) => `${e.id}\t${e.slot}\t${new Date(e.createdAt).toISOString()}\t${e.text}`) : ["no memories"];
  } finally {
    store.close();
  }
}

/** Runs `tandem memory forget`; returns the line it prints. Errors: `Error` for a missing store or unknown id. */
export function memoryForget(options: { store?: string; tenant?: string; user: string; id?: string }): string {
  const store = open(options.store ?? DEFAULT_STORE);
  const owner = { tenant: options.tenant ?? "", user: options.user };
  try {
    if (options.id !== undefined) {
      if (!store.forgetEntry(owner, Number(options.id))) throw new Error(`User ${JSON.stringify(owner.user)} of tenant ${JSON.stringify(owner.tenant)} has no memory ${options.id}`);
      return `forgot memory ${options.id}`;
    }
    return `forgot ${store.forget(owner)} memory(ies) of ${JSON.stringify(owner.user)} (tenant ${JSON.stringify(owner.tenant)}), with their trace links and feedback`;
  } finally {
    store.close();
  }
}

export function register(program: Command): void {
  const memory = program.command("memory").description("per-user memory of personalization (list, forget)");
  const fail = (error: unknown) => {
    console.error((error as Error).message);
    process.exitCode = 1;
  };
  memory
    .command("list")
    .description("users with memories, or one user's memories")
    .option("--store <file>", "the personal store", DEFAULT_STORE)
    .option("--tenant <name>", "the API key name ('' on an open gateway)")
    .option("--user <id>", "the request's user field")
    .option("--json", "JSON output")
    .action((o: { store: string; tenant?: string; user?: string; json?: boolean }) => {
      try {
        for (const line of memoryList(o)) console.log(line);
      } catch (error) {
        fail(error);
      }
    });
  memory
    .command("forget")
    .description("delete every memory, trace link and feedback of one user (or one memory with --id)")
    .option("--store <file>", "the personal store", DEFAULT_STORE)
    .option("--tenant <name>", "the API key name ('' on an open gateway)", "")
    .requiredOption("--user <id>", "the request's user field")
    .option("--id <n>", "only this memory")
    .action((o: { store: string; tenant: string; user: string; id?: string }) => {
      try {
        console.log(memoryForget(o));
      } catch (error) {
        fail(error);
      }
    });
}
