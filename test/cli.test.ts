/**
 * The `tandem` command as a user runs it: help, and `tandem serve` on the embedded default policy
 * (which starts its own serve-model sidecar), driven by the official openai client.
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import OpenAI from "openai";
import { afterAll, describe, expect, it } from "vitest";
import { cliCommand } from "../src/policy/index.js";

const { command, args } = cliCommand();
const children: ChildProcess[] = [];
afterAll(() => {
  for (const c of children) c.kill("SIGTERM");
});

describe("tandem CLI", () => {
  it("--help lists the commands with one-line descriptions", () => {
    const r = spawnSync(command, [...args, "--help"], { encoding: "utf8" });
    expect(r.status).toBe(0);
    for (const cmd of ["serve ", "serve-model", "demo", "traces"]) expect(r.stdout).toContain(cmd);
  });

  it("serve-model rejects a missing model file with a clear message and exit code 1", () => {
    const r = spawnSync(command, [...args, "serve-model", "--model", "/nonexistent.gguf", "--port", "0"], { encoding: "utf8" });
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/Model file not found: \/nonexistent\.gguf/);
  });

  it("serve --policy with a bad policy fails at start-up naming the field", () => {
    const dir = mkdtempSync(`${tmpdir()}/tandem-cli-`);
    const file = `${dir}/tandem.yaml`;
    spawnSync("sh", ["-c", `printf 'models:\\n  m: { provider: llama-cpp, path: x.gguf, threads: many }\\n' > ${file}`]);
    const r = spawnSync(command, [...args, "serve", "--policy", file], { encoding: "utf8" });
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/tandem\.yaml: models\.m.*threads/);
  });

  it("serve without --policy runs the embedded default and answers the openai client", async () => {
    const cwd = mkdtempSync(`${tmpdir()}/tandem-serve-`);
    const child = spawn(command, [...args, "serve", "--port", "0"], { cwd, stdio: ["ignore", "pipe", "pipe"] });
    children.push(child);
    const url = await new Promise<string>((resolve, reject) => {
      let out = "";
      child.stdout?.on("data", (d: Buffer) => {
        out += d.toString();
        const m = out.match(/listening on (http:\/\/\S+)/);
        if (m) resolve(m[1]);
      });
      child.on("exit", (code) => reject(new Error(`serve exited with ${code}: ${out}`)));
    });
    const client = new OpenAI({ baseURL: `${url}/v1`, apiKey: "x", maxRetries: 0 });
    const r = await client.chat.completions.create({ model: "route", messages: [{ role: "user", content: "What is 16 - 3 - 4?" }], max_tokens: 8 });
    expect((r as unknown as { tandem: { served_by: string } }).tandem.served_by).toBe("cloud");
    const models = await client.models.list();
    expect(models.data.map((m) => m.id)).toEqual(["edge", "cloud", "route", "cascade", "edge-embed"]); // chat models and strategies, then the embedding model
  });
});
