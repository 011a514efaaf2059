/**
 * Reading traces stored in PostgreSQL (`traces: { postgres: { url } }`) from the trace CLI and
 * the Responses API: a real PostgreSQL cluster (Debian's `postgresql`, on a loopback port, from
 * test/fixtures/production/postgres.ts) behind a real gateway over a real tiny GGUF model, with
 * two keys, called through the official `openai` client. Then:
 * - `tandem traces` and `tandem traces export` read that database — chosen by `--policy F` (its
 *   `traces.postgres`), `--postgres URL` or `$TANDEM_TRACES_POSTGRES_URL` — with key scoping; the
 *   compiled-or-tsx `tandem` binary once, the commander program in-process for the rest;
 * - a Responses `item_reference` to an earlier answer resolves from Postgres (its text becomes
 *   the assistant turn), only within the caller key's scope.
 */
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Command } from "commander";
import OpenAI from "openai";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { register as registerRouter } from "../src/cli/commands/router.js";
import { register as registerTraces } from "../src/cli/commands/traces.js";
import { TRACES_POSTGRES_ENV } from "../src/cli/commands/trace-source.js";
import { createGateway, type Gateway } from "../src/gateway/index.js";
import { cliCommand } from "../src/policy/index.js";
import { hashApiKey } from "../src/server/auth.js";
import type { RunningServer } from "../src/server/listen.js";
import type { Trace } from "../src/store/traces.js";
import { startPostgres, type TestPostgres } from "./fixtures/production/postgres.js";
import { modelPath } from "./helpers.js";

let pgServer: TestPostgres;
let url: string;
let dir: string;
let policyFile: string;
let gateway: Gateway;
let server: RunningServer;
const chatIds: Record<string, string[]> = { "team-a": [], "team-b": [] };
const client = (key: string) => new OpenAI({ baseURL: `${server.url}/v1`, apiKey: key, maxRetries: 0 });
const ask = { model: "tiny", messages: [{ role: "user" as const, content: "Once upon a time" }], max_tokens: 6 };

beforeAll(async () => {
  pgServer = await startPostgres();
  url = pgServer.database("cli");
  dir = mkdtempSync(join(tmpdir(), "tandem-pg-cli-"));
  policyFile = join(dir, "tandem.yaml");
  writeFileSync(
    policyFile,
    `models:
  tiny: { provider: llama-cpp, path: ${modelPath("stories260K.gguf")}, threads: 1, contextSize: 256, location: cloud }
traces:
  path: never-used.sqlite
  postgres: { url: "${url}" }
auth:
  keys:
    - { name: team-a, hash: "${hashApiKey("key-a")}" }
    - { name: team-b, hash: "${hashApiKey("key-b")}" }
`,
  );
  gateway = await createGateway(policyFile, { ledgerPath: ":memory:" });
  server = await gateway.listen({ host: "127.0.0.1", port: 0 });
  for (const [key, name] of [["key-a", "team-a"], ["key-a", "team-a"], ["key-b", "team-b"]]) chatIds[name].push((await client(key).chat.completions.create(ask)).id);
  await gateway.built.traceStore!.flush();
}, 120_000);

afterAll(async () => {
  await gateway?.close();
  await pgServer?.stop();
});

/** Runs `tandem traces ARGS` in-process (commander, the real command); stdout/stderr lines and the exit code. */
async function traces(args: string[], env: Record<string, string | undefined> = {}): Promise<{ out: string[]; err: string[]; code: number }> {
  const out: string[] = [];
  const err: string[] = [];
  const log = vi.spyOn(console, "log").mockImplementation((...a: unknown[]) => void out.push(a.join(" ")));
  const error = vi.spyOn(console, "error").mockImplementation((...a: unknown[]) => void err.push(a.join(" ")));
  const saved = Object.fromEntries(Object.keys(env).map((k) => [k, process.env[k]]));
  Object.assign(process.env, env);
  for (const [k, v] of Object.entries(env)) if (v === undefined) delete process.env[k];
  const before = process.exitCode;
  process.exitCode = 0;
  try {
    const program = new Command("tandem").exitOverride();
    registerTraces(program);
    await program.parseAsync(["traces", ...args], { from: "user" });
    return { out, err, code: Number(process.exitCode ?? 0) };
  } finally {
    process.exitCode = before;
    log.mockRestore();
    error.mockRestore();
    for (const [k, v] of Object.entries(saved)) if (v === undefined) delete process.env[k];
    else process.env[k] = v;
  }
}
const jsonLines = (lines: string[]) => lines.map((l) => JSON.parse(l) as Trace);

describe("tandem router train --from-traces over the Postgres store", () => {
  it("reads the policy's Postgres traces (or a URL), not the SQLite default", async () => {
    const run = async (args: string[]) => {
      const err: string[] = [];
      const write = vi.spyOn(process.stderr, "write").mockImplementation((chunk: string | Uint8Array) => (err.push(String(chunk)), true));
      try {
        const program = new Command("tandem").exitOverride();
        registerRouter(program);
        const error = await program.parseAsync(["router", "train", "--from-traces", ...args, "--kind", "tfidf-lr", "--out", join(dir, "r.json")], { from: "user" }).then(() => undefined, (e: unknown) => e as Error);
        return { err: err.join(""), error };
      } finally {
        write.mockRestore();
      }
    };
    // The gateway served a plain model, so its 3 traces carry no cascade decision: no router labels,
    // but the summary shows they were read from Postgres (the SQLite default does not exist here).
    for (const args of [["--traces-policy", policyFile], ["--traces-postgres", url]]) {
      const { err, error } = await run(args);
      expect(err).toContain("router: 0 records from 3 traces");
      expect(error?.message).toMatch(/No records .*cascade decided/);
    }
    const { error } = await run(["--traces-policy", policyFile, "--traces-postgres", url]);
    expect(error?.message).toMatch(/only one of/);
  });
});

describe("tandem traces over the Postgres store", () => {
  it("the `tandem` binary: `traces --policy F --json` lists the gateway's traces from Postgres (not traces.path)", async () => {
    const { command, args } = cliCommand();
    const child = spawn(command, [...args, "traces", "--policy", policyFile, "--json"], { cwd: dir, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    const code = await new Promise<number | null>((r) => child.on("close", r));
    expect(stderr).toBe("");
    expect(code).toBe(0);
    const rows = jsonLines(stdout.trim().split("\n"));
    expect(new Set(rows.map((t) => t.id))).toEqual(new Set([...chatIds["team-a"], ...chatIds["team-b"]]));
    expect(rows.every((t) => t.status === 200 && t.servedBy === "tiny")).toBe(true);
  }, 60_000);

  it("`--postgres URL --key NAME` lists one key's traces, and names the store with its URL", async () => {
    const r = await traces(["--postgres", url, "--key", "team-a"]);
    expect(r.code).toBe(0);
    expect(r.out[0]).toBe(`2 traces of key 'team-a' in ${url}; latest 2:`);
    const j = await traces(["--postgres", url, "--key", "team-b", "--json"]);
    expect(jsonLines(j.out).map((t) => t.id)).toEqual(chatIds["team-b"]);
  });

  it(`$${TRACES_POSTGRES_ENV} is read when no --db/--policy/--postgres is given`, async () => {
    const r = await traces(["--json", "--limit", "1"], { [TRACES_POSTGRES_ENV]: url });
    expect(r.code).toBe(0);
    expect(jsonLines(r.out)).toHaveLength(1);
    expect([...chatIds["team-a"], ...chatIds["team-b"]]).toContain(jsonLines(r.out)[0].id);
  });

  it("`traces export --policy F` writes SFT records from the Postgres traces, one key's with --key", async () => {
    const out = join(dir, "sft.jsonl");
    const r = await traces(["export", "--format", "sft", "--policy", policyFile, "--out", out]);
    expect(r.code).toBe(0);
    expect(r.err[0]).toMatch(/^sft: \d+ records from 3 traces/);
    const records = readFileSync(out, "utf8").trim().split("\n").map((l) => JSON.parse(l) as { messages: Array<{ role: string; content: string }> });
    expect(records.length).toBeGreaterThan(0); // identical answers of the greedy model deduplicate
    expect(records[0].messages[0]).toEqual({ role: "user", content: "Once upon a time" });
    const b = await traces(["export", "--format", "sft", "--postgres", url, "--key", "team-b", "--out", join(dir, "b.jsonl")]);
    expect(b.err[0]).toMatch(/^sft: 1 records from 1 traces/);
  });

  it("refuses two sources at once, a policy without traces, and a missing SQLite file — exit code 1 with a message", async () => {
    const both = await traces(["--db", join(dir, "x.sqlite"), "--postgres", url]);
    expect(both.code).toBe(1);
    expect(both.err.join("\n")).toMatch(/only one of --db, --policy and --postgres/);
    const off = join(dir, "off.yaml");
    writeFileSync(off, `models:\n  tiny: { provider: llama-cpp, path: ${modelPath("stories260K.gguf")} }\ntraces: false\n`);
    expect((await traces(["--policy", off])).err.join("\n")).toMatch(/traces: false/);
    const missing = await traces(["--db", join(dir, "none.sqlite")], { [TRACES_POSTGRES_ENV]: url });
    expect(missing.code).toBe(1);
    expect(missing.err.join("\n")).toMatch(/No trace database at .*none\.sqlite/);
  });
});

describe("Responses item_reference with traces in Postgres", () => {
  it("an item_reference to an earlier answer resolves from Postgres for its key, and is 404 for another key", async () => {
    const first = await client("key-a").responses.create({ model: "tiny", input: "Once upon a time", max_output_tokens: 6 });
    const msg = first.output.find((o) => o.type === "message")!;
    const answer = first.output_text;
    expect(msg.id).toMatch(/^msg_[0-9a-f]{32}$/);
    const input = [{ role: "user" as const, content: "Once upon a time" }, { type: "item_reference" as const, id: msg.id }, { role: "user" as const, content: "And then?" }];
    const second = await client("key-a").responses.create({ model: "tiny", input, max_output_tokens: 4 });
    expect(second.status).not.toBe("failed"); // "incomplete": max_output_tokens reached
    // the referenced answer became the assistant turn of the conversation the model saw (read back from its trace)
    await gateway.built.traceStore!.flush();
    const trace = await gateway.built.traceStore!.get(second.id);
    expect(trace?.messages).toEqual([
      { role: "user", content: "Once upon a time" },
      { role: "assistant", content: answer },
      { role: "user", content: "And then?" },
    ]);
    await expect(client("key-b").responses.create({ model: "tiny", input, max_output_tokens: 4 })).rejects.toMatchObject({ status: 404 });
  });
});
