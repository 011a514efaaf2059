/**
 * `tandem init`: the generated tandem.yaml for each common setup validates with the real policy
 * schema, keys appear only as `${ENV_VAR}` references (even with the secret set in the
 * environment), an existing file is kept without --force, an invalid answer writes nothing, and
 * the interactive prompts (@inquirer/prompts, driven through real input/output streams) produce
 * the same kind of policy.
 */
import { Command } from "commander";
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PassThrough } from "node:stream";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { answersFromFlags, askAnswers, policyYaml, register, writePolicy, type InitFlags } from "../src/cli/commands/init.js";
import { recommendPresets } from "../src/cli/presets.js";
import { loadPolicyFile, parsePolicy } from "../src/policy/index.js";
import { ask, modelPath } from "./helpers.js";

const machine = recommendPresets(12 * 2 ** 30, 4); // a fixed "medium" machine: qwen2.5-0.5b weak, qwen2.5-3b strong
const SECRET = "sk-test-do-not-write-0123456789abcdef";
let dir: string;
let saved: Record<string, string | undefined>;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "tandem-init-"));
  saved = { OPENAI_API_KEY: process.env.OPENAI_API_KEY, ANTHROPIC_API_KEY: process.env.ANTHROPIC_API_KEY };
  process.env.OPENAI_API_KEY = SECRET;
  process.env.ANTHROPIC_API_KEY = SECRET;
});
afterEach(() => {
  for (const [k, v] of Object.entries(saved)) if (v === undefined) delete process.env[k];
  else process.env[k] = v;
});

const flags = (extra: Partial<InitFlags> = {}): InitFlags => ({ file: join(dir, "tandem.yaml"), modelsDir: join(dir, "models"), yes: true, privacy: true, ...extra });
const generate = (extra: Partial<InitFlags> = {}) => {
  const f = flags(extra);
  const yaml = policyYaml(answersFromFlags(f, machine), f.file);
  return { yaml, policy: writePolicy(f.file, yaml, { force: true }) };
};

describe("tandem init --yes: one valid policy per common setup", () => {
  it("default: the recommended local GGUF with OpenAI, route + cascade + privacy; the key only as ${OPENAI_API_KEY}", () => {
    const { yaml, policy } = generate();
    expect(yaml).not.toContain(SECRET);
    expect(yaml).toContain('apiKey: "${OPENAI_API_KEY}"');
    expect(policy.models.edge).toMatchObject({ provider: "llama-cpp", path: "models/Qwen2.5-0.5B-Instruct-Q4_K_M.gguf", threads: 4 });
    expect(policy.models.cloud).toMatchObject({ provider: "openai-compatible", baseURL: "https://api.openai.com/v1", model: "gpt-4o-mini", location: "cloud", price: { input: 0.15, output: 0.6 } });
    expect(Object.keys(policy.strategies)).toEqual(["route", "cascade", "private"]);
    expect(policy.strategies.cascade).toMatchObject({ kind: "cascade", weak: "edge", strong: "cloud", signal: "mean-logprob" });
    expect(policy.strategies.private).toMatchObject({ kind: "privacy", remote: "cascade", local: "edge", mode: "redact" });
    // the file on disk is the validated text, and parses again
    expect(readFileSync(join(dir, "tandem.yaml"), "utf8")).toBe(yaml);
    expect(parsePolicy(yaml).server.port).toBe(8080);
  });

  it("Anthropic through its OpenAI-compatible endpoint, with ${ANTHROPIC_API_KEY}", () => {
    const { yaml, policy } = generate({ strong: "anthropic" });
    expect(yaml).not.toContain(SECRET);
    expect(yaml).toContain('apiKey: "${ANTHROPIC_API_KEY}"');
    expect(policy.models.cloud).toMatchObject({ baseURL: "https://api.anthropic.com/v1", model: "claude-haiku-4-5" });
  });

  it("any OpenAI-compatible cloud: URL, model, key variable and price from flags; needs --strong-url", () => {
    const { yaml, policy } = generate({ strong: "compatible", strongUrl: "https://openrouter.ai/api/v1", strongModel: "meta-llama/llama-3.3-70b-instruct", keyEnv: "OPENROUTER_API_KEY", priceInput: "0.1", priceOutput: "0.3" });
    expect(yaml).toContain('apiKey: "${OPENROUTER_API_KEY}"');
    expect(policy.models.cloud).toMatchObject({ baseURL: "https://openrouter.ai/api/v1", model: "meta-llama/llama-3.3-70b-instruct", price: { input: 0.1, output: 0.3 } });
    expect(() => answersFromFlags(flags({ strong: "compatible", strongModel: "m" }), machine)).toThrow(/needs --strong-url/);
    // no price given: left unset with a comment, still valid
    expect(generate({ strong: "compatible", strongUrl: "https://api.together.xyz/v1", strongModel: "m", priceInput: undefined, priceOutput: undefined }).policy.models.cloud.price).toBeUndefined();
  });

  it("Ollama, LM Studio and vLLM upstreams as the weak model (no logprobs needed: verify cascade)", () => {
    const expected = { ollama: "http://127.0.0.1:11434/v1", lmstudio: "http://127.0.0.1:1234/v1", vllm: "http://127.0.0.1:8000/v1" };
    for (const [server, baseURL] of Object.entries(expected)) {
      const { policy } = generate({ weak: server });
      expect(policy.models.edge).toMatchObject({ provider: "openai-compatible", baseURL, location: "edge", price: { input: 0, output: 0 } });
      expect(policy.strategies.cascade).toMatchObject({ signal: "verify", threshold: 0.5 });
    }
    expect(generate({ weak: "ollama", weakModel: "llama3.2:1b", weakUrl: "http://10.0.0.5:11434/v1" }).policy.models.edge).toMatchObject({ model: "llama3.2:1b", baseURL: "http://10.0.0.5:11434/v1" });
  });

  it("fully local: a larger GGUF preset as the strong model, no cloud and no privacy strategy", () => {
    const { yaml, policy } = generate({ strong: "gguf" });
    expect(yaml).not.toContain("apiKey");
    expect(policy.models.strong).toMatchObject({ provider: "llama-cpp", path: "models/Qwen2.5-3B-Instruct-Q4_K_M.gguf" });
    expect(Object.keys(policy.strategies)).toEqual(["route", "cascade"]);
    expect(generate({ weakModel: "/opt/m/small.gguf", strong: "gguf", strongModel: "qwen2.5-7b" }).policy.models.edge).toMatchObject({ path: "/opt/m/small.gguf" });
  });

  it("refuses a literal key where a variable name goes, an unknown choice, and a bad port", () => {
    expect(() => answersFromFlags(flags({ keyEnv: SECRET }), machine)).toThrow(/looks like an API key: give the NAME of the environment variable/);
    expect(() => answersFromFlags(flags({ keyEnv: "my key" }), machine)).toThrow(/not an environment variable name/);
    expect(() => answersFromFlags(flags({ strong: "gemini" }), machine)).toThrow(/--strong must be/);
    expect(() => answersFromFlags(flags({ weakModel: "tiny" }), machine)).toThrow(/neither a preset .* nor a \.gguf path/);
    expect(() => answersFromFlags(flags({ port: "70000" }), machine)).toThrow(/--port/);
  });

  it("validates before writing: an answer the schema rejects writes nothing; an existing file needs --force", () => {
    const f = flags({ strong: "compatible", strongUrl: "not a url", strongModel: "m" });
    expect(() => writePolicy(f.file, policyYaml(answersFromFlags(f, machine), f.file))).toThrow(/tandem\.yaml: models\.cloud.*baseURL/);
    expect(existsSync(f.file)).toBe(false);
    writeFileSync(f.file, "# mine\n");
    const good = policyYaml(answersFromFlags(flags(), machine), f.file);
    expect(() => writePolicy(f.file, good)).toThrow(/already exists: pass --force/);
    expect(readFileSync(f.file, "utf8")).toBe("# mine\n");
    writePolicy(f.file, good, { force: true });
    expect(readFileSync(f.file, "utf8")).toBe(good);
  });

  it("the command: `tandem init --yes` writes the file, then refuses to overwrite it", async () => {
    const program = new Command().exitOverride();
    register(program);
    const logs: string[] = [];
    const orig = console.log;
    console.log = (s: string) => void logs.push(s);
    try {
      const file = join(dir, "sub", "tandem.yaml");
      await program.parseAsync(["init", "--yes", "--file", file, "--weak", "vllm", "--strong", "anthropic", "--no-privacy"], { from: "user" });
      const policy = parsePolicy(readFileSync(file, "utf8"));
      expect(Object.keys(policy.strategies)).toEqual(["route", "cascade"]);
      expect(logs.join("\n")).toMatch(/Wrote .*tandem\.yaml \(validated\)[\s\S]*Set ANTHROPIC_API_KEY in the environment/);
      await expect(program.parseAsync(["init", "--yes", "--file", file], { from: "user" })).rejects.toThrow(/already exists: pass --force/);
    } finally {
      console.log = orig;
    }
  });
});

describe("a generated policy runs", () => {
  it("fully local with the bundled GGUFs: the policy builds and its route and cascade answer", async () => {
    const f = flags({ weakModel: modelPath("stories260K.gguf"), strong: "gguf", strongModel: modelPath("tinytales-5M.gguf"), threads: "1" });
    writePolicy(f.file, policyYaml(answersFromFlags(f, machine), f.file));
    const built = await loadPolicyFile(f.file);
    try {
      for (const name of ["route", "cascade"]) {
        const r = await built.all.get(name)!.generate(ask("Tom had 3 apples.", 4));
        expect(r.usage.completionTokens).toBeGreaterThan(0);
      }
    } finally {
      await built.close();
    }
  });
});

describe("tandem init, interactive", () => {
  it("answers typed into the prompts give the same policy shape (Ollama weak, Anthropic strong, no privacy, port 9090)", async () => {
    const input = new PassThrough();
    const output = new PassThrough();
    // each prompt ends its output stream when done, as it would pipe into process.stdout (which never
    // ends): keep this one open for the next question
    output.end = (() => output) as typeof output.end;
    let screen = "";
    output.on("data", (d) => (screen += String(d)));
    const down = "\x1b[B";
    // each step waits for its question to be on screen, then types
    const steps: Array<[RegExp, string]> = [
      [/Weak \(local\) model/, `${down}${down}\r`], // preset, file, → Ollama
      [/Ollama base URL/, "\r"],
      [/Ollama model name/, "\r"],
      [/Strong model/, `${down}\r`], // OpenAI, → Anthropic
      [/Anthropic model/, "\r"],
      [/environment variable holding the API key/, "\r"],
      [/private data with placeholders/, "n\r"],
      [/Gateway port/, "\x7f\x7f\x7f\x7f9090\r"],
    ];
    const driver = (async () => {
      let seen = 0;
      for (const [question, keys] of steps) {
        const deadline = Date.now() + 30_000;
        while (!question.test(screen.slice(seen))) {
          if (Date.now() > deadline) throw new Error(`prompt ${question} never appeared; screen: ${screen.slice(-400)}`);
          await new Promise((r) => setTimeout(r, 10));
        }
        seen = screen.length;
        for (const ch of keys.match(/\x1b\[B|./gs)!) {
          input.write(ch);
          await new Promise((r) => setTimeout(r, 5));
        }
      }
    })();
    const answers = await askAnswers(flags({ yes: false }), machine, { input, output });
    await driver;
    expect(answers).toMatchObject({ weak: { kind: "server", server: "ollama", baseURL: "http://127.0.0.1:11434/v1", model: "qwen2.5:0.5b" }, strong: { kind: "anthropic", model: "claude-haiku-4-5", keyEnv: "ANTHROPIC_API_KEY" }, privacy: false, port: 9090 });
    const f = flags();
    const policy = writePolicy(f.file, policyYaml(answers, f.file));
    expect(policy.server.port).toBe(9090);
    expect(policy.models.edge).toMatchObject({ provider: "openai-compatible", baseURL: "http://127.0.0.1:11434/v1" });
    expect(readFileSync(f.file, "utf8")).not.toContain(SECRET);
    expect(screen).toContain("this machine: 12 GiB RAM, 4 cores");
  });
});
