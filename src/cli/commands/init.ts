/**
 * `tandem init`: writes a `tandem.yaml` for the common setups — a local weak model (a GGUF run
 * in-process by node-llama-cpp, or an Ollama / LM Studio / vLLM server) with a strong model (OpenAI,
 * Anthropic through its OpenAI-compatible endpoint, any other OpenAI-compatible cloud, or a larger
 * local GGUF) — with `route` and `cascade` strategies between them and, for a cloud strong model,
 * an optional `privacy` strategy (HaS-style hide and seek). Interactive (@inquirer/prompts) by
 * default; `--yes` takes flags and defaults for scripts.
 *
 * The text is validated by the policy schema (`parsePolicy`) before it is written, an existing file
 * is never overwritten without `--force`, and API keys are written only as `${ENV_VAR}` references
 * (the policy's environment interpolation), never as literal secrets.
 */
import type { Command } from "commander";
import { confirm, input, number, select } from "@inquirer/prompts";
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { dirname, isAbsolute, join, relative, resolve } from "node:path";
import { TandemError } from "../../core/errors.js";
import { parsePolicy, type Policy } from "../../policy/schema.js";
import { MODEL_PRESETS, findPreset, recommendPresets, type PresetRecommendation } from "../presets.js";
import { DEFAULT_MODELS_DIR, pullModel } from "./models.js";

/** Local OpenAI-compatible servers `init` knows, with their default endpoint and an example model name. */
export const LOCAL_SERVERS = {
  ollama: { label: "Ollama", baseURL: "http://127.0.0.1:11434/v1", model: "qwen2.5:0.5b" },
  lmstudio: { label: "LM Studio", baseURL: "http://127.0.0.1:1234/v1", model: "qwen2.5-0.5b-instruct" },
  vllm: { label: "vLLM", baseURL: "http://127.0.0.1:8000/v1", model: "Qwen/Qwen2.5-0.5B-Instruct" },
} as const;
export type LocalServer = keyof typeof LOCAL_SERVERS;

/**
 * Cloud providers `init` knows: endpoint, default model, the env var holding the key, and the
 * default model's list price (USD per 1M tokens, input/output) as published when this was written
 * — check the provider's price page; the policy comment says so.
 */
export const CLOUDS = {
  openai: { label: "OpenAI", baseURL: "https://api.openai.com/v1", model: "gpt-4o-mini", keyEnv: "OPENAI_API_KEY", price: { input: 0.15, output: 0.6 } },
  // Anthropic's OpenAI SDK compatibility endpoint (chat completions with a Bearer key)
  anthropic: { label: "Anthropic", baseURL: "https://api.anthropic.com/v1", model: "claude-haiku-4-5", keyEnv: "ANTHROPIC_API_KEY", price: { input: 1, output: 5 } },
} as const;

/** The weak (local, edge) model of the generated policy. */
export type WeakChoice =
  | { kind: "gguf"; /** GGUF path, absolute or relative to the working directory. */ path: string; /** The preset it comes from (pulled by `--pull`). */ preset?: string }
  | { kind: "server"; server: LocalServer; baseURL: string; model: string };

/** The strong model of the generated policy. */
export type StrongChoice =
  | { kind: "openai" | "anthropic"; model: string; keyEnv: string; price?: { input: number; output: number } }
  | { kind: "compatible"; baseURL: string; model: string; keyEnv: string; price?: { input: number; output: number } }
  | { kind: "gguf"; path: string; preset?: string };

/** Everything `init` asks. */
export interface InitAnswers {
  weak: WeakChoice;
  strong: StrongChoice;
  /** Add a `privacy` strategy (placeholders for private data bound for the cloud model). Ignored for a local strong model. */
  privacy: boolean;
  /** Gateway port. */
  port: number;
  /** llama.cpp threads for in-process GGUFs. */
  threads: number;
}

/** Prompt streams (input/output, signal) as @inquirer/prompts takes them. */
export type PromptContext = Parameters<typeof confirm>[1];

const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
/** Shapes of real API keys: refused where an env var *name* is expected. */
const LOOKS_LIKE_KEY = /^(sk-|sk_|pk-|rk-|xai-|gsk_|AIza|hf_)|^[A-Za-z0-9_\-]{32,}$/;

/** Throws `invalid_request` unless `name` is an environment variable name (not a key). */
export function checkKeyEnv(name: string): string {
  if (LOOKS_LIKE_KEY.test(name) && !/^[A-Z0-9_]+$/.test(name)) throw new TandemError("invalid_request", "that looks like an API key: give the NAME of the environment variable that holds it (e.g. OPENAI_API_KEY); keys are never written into tandem.yaml");
  if (!ENV_NAME.test(name)) throw new TandemError("invalid_request", `'${name}' is not an environment variable name (letters, digits, _)`);
  return name;
}

const q = (s: string) => JSON.stringify(s); // a YAML double-quoted scalar

/** The policy path of a model file, relative to the policy file's folder. */
function policyPath(file: string, policyFile: string): string {
  const abs = resolve(file);
  const rel = relative(dirname(resolve(policyFile)), abs);
  return rel.startsWith("..") && isAbsolute(file) ? abs : rel.split("\\").join("/");
}

/**
 * The YAML text of a policy for `answers`, written to `policyFile` (paths are made relative to
 * its folder). Commented for a human to edit. Not validated here: {@link writePolicy} does.
 */
export function policyYaml(answers: InitAnswers, policyFile = "tandem.yaml"): string {
  const { weak, strong } = answers;
  const cloud = strong.kind !== "gguf";
  const out: string[] = [
    "# Generated by `tandem init`. Validate with `tandem serve --policy <this file>` (it fails fast",
    "# with the path of a bad field); docs: docs/onboarding.md, README.md.",
    "version: 1",
    "server:",
    "  host: 127.0.0.1",
    `  port: ${answers.port}`,
    "traces:",
    "  path: .tandem/traces.sqlite",
    "models:",
  ];
  if (weak.kind === "gguf") {
    out.push(
      "  # the weak model: in-process through node-llama-cpp (its GGUF chat template is used)",
      "  edge:",
      "    provider: llama-cpp",
      `    path: ${q(policyPath(weak.path, policyFile))}${weak.preset ? `   # tandem models pull ${weak.preset}` : ""}`,
      `    threads: ${answers.threads}`,
      "    contextSize: 4096",
      "    price: { input: 0, output: 0 }",
    );
  } else {
    const s = LOCAL_SERVERS[weak.server];
    out.push(
      `  # the weak model: served by ${s.label} on this machine (OpenAI-compatible API)`,
      "  edge:",
      "    provider: openai-compatible",
      `    baseURL: ${q(weak.baseURL)}`,
      `    model: ${q(weak.model)}`,
      "    apiKey: \"none\"",
      "    location: edge",
      "    price: { input: 0, output: 0 }",
      "    timeoutMs: 120000",
    );
  }
  if (strong.kind === "gguf") {
    out.push(
      "  # the strong model: a larger local GGUF",
      "  strong:",
      "    provider: llama-cpp",
      `    path: ${q(policyPath(strong.path, policyFile))}${strong.preset ? `   # tandem models pull ${strong.preset}` : ""}`,
      `    threads: ${answers.threads}`,
      "    contextSize: 4096",
      "    price: { input: 0, output: 0 }",
    );
  } else {
    const known = strong.kind === "compatible" ? undefined : CLOUDS[strong.kind];
    const baseURL = strong.kind === "compatible" ? strong.baseURL : known!.baseURL;
    const price = strong.price ?? (known && strong.model === known.model ? known.price : undefined);
    out.push(
      `  # the strong model: ${known ? known.label : "an OpenAI-compatible cloud"}; the key is read from $${strong.keyEnv} when the gateway starts`,
      "  cloud:",
      "    provider: openai-compatible",
      `    baseURL: ${q(baseURL)}`,
      `    model: ${q(strong.model)}`,
      `    apiKey: "\${${strong.keyEnv}}"`,
      "    location: cloud",
      price
        ? `    price: { input: ${price.input}, output: ${price.output} }   # USD per 1M tokens${strong.price ? "" : " — list price when tandem was written: check the provider's page"}`
        : "    # price: { input: 0.5, output: 1.5 }   # USD per 1M tokens — set it so cost and savings are reported",
      "    timeoutMs: 60000",
      "    maxRetries: 2",
    );
  }
  const strongName = cloud ? "cloud" : "strong";
  const signal =
    weak.kind === "gguf"
      ? ["    signal: mean-logprob", "    threshold: -0.5   # nats/token: escalate when the weak answer's mean token log-probability is below; calibrate on your traffic (docs/routing.md)"]
      : ["    signal: verify     # the weak model checks its own answer (AutoMix); no logprobs needed from the server", "    threshold: 0.5     # escalate when P(correct) < 0.5"];
  out.push(
    "strategies:",
    "  # route before generating: the heuristic router's score is P(weak not good enough); above the",
    "  # threshold the request goes to the strong model (RouteLLM). Train/calibrate: tandem router train|calibrate",
    "  route:",
    "    kind: route",
    "    weak: edge",
    `    strong: ${strongName}`,
    "    router: { kind: heuristic }",
    "    threshold: 0.2",
    "  # let the weak model answer first and escalate when unsure (FrugalGPT / AutoMix cascade)",
    "  cascade:",
    "    kind: cascade",
    "    weak: edge",
    `    strong: ${strongName}`,
    ...signal,
  );
  if (cloud && answers.privacy) {
    out.push(
      "  # private data (names, e-mails, phone numbers, ...) becomes placeholders before the cloud sees it,",
      "  # and is restored locally in the answer (hide and seek); fails closed to the local model",
      "  private:",
      "    kind: privacy",
      "    remote: cascade",
      "    local: edge",
      "    mode: redact",
      "    onDetectorError: local",
    );
  }
  return out.join("\n") + "\n";
}

/**
 * Validates `yaml` with the policy schema and writes it to `file` (folders created). Throws
 * `TandemError("invalid_request")` when `file` exists and `force` is not set, and
 * `TandemError("invalid_policy")` (with the bad field's path) when the text does not validate —
 * nothing is written then. Returns the parsed policy.
 */
export function writePolicy(file: string, yaml: string, options: { force?: boolean } = {}): Policy {
  if (existsSync(file) && !options.force) throw new TandemError("invalid_request", `${file} already exists: pass --force to overwrite it`);
  // validate with the referenced variables unset, as a fresh shell would start the gateway
  const policy = parsePolicy(yaml, file);
  mkdirSync(dirname(resolve(file)), { recursive: true });
  writeFileSync(file, yaml);
  return policy;
}

/** Flags of `tandem init` (see {@link register}). */
export interface InitFlags {
  file: string;
  yes?: boolean;
  force?: boolean;
  weak?: string;
  weakModel?: string;
  weakUrl?: string;
  strong?: string;
  strongModel?: string;
  strongUrl?: string;
  keyEnv?: string;
  priceInput?: string;
  priceOutput?: string;
  privacy?: boolean;
  port?: string;
  threads?: string;
  modelsDir: string;
  pull?: boolean;
}

function ggufChoice(model: string | undefined, fallbackPreset: string, modelsDir: string): { kind: "gguf"; path: string; preset?: string } {
  const preset = findPreset(model ?? fallbackPreset);
  if (preset) return { kind: "gguf", path: join(modelsDir, preset.fileName), preset: preset.name };
  if (!model!.endsWith(".gguf")) throw new TandemError("invalid_request", `'${model}' is neither a preset (${MODEL_PRESETS.map((p) => p.name).join(", ")}) nor a .gguf path`);
  return { kind: "gguf", path: model! };
}

function priceOf(flags: InitFlags): { input: number; output: number } | undefined {
  if (flags.priceInput === undefined && flags.priceOutput === undefined) return undefined;
  const input = Number(flags.priceInput), output = Number(flags.priceOutput);
  if (!(input >= 0) || !(output >= 0)) throw new TandemError("invalid_request", "--price-input and --price-output go together: USD per 1M tokens, ≥ 0");
  return { input, output };
}

/**
 * The answers `--yes` implies: each flag, else the default — the recommended weak preset of this
 * machine (`machine`), OpenAI's gpt-4o-mini with `$OPENAI_API_KEY`, privacy on, port 8080.
 * Throws `invalid_request` on an unknown choice, a missing `--strong-url`, or a literal key.
 */
export function answersFromFlags(flags: InitFlags, machine: PresetRecommendation = recommendPresets()): InitAnswers {
  const weakKind = flags.weak ?? "gguf";
  let weak: WeakChoice;
  if (weakKind === "gguf") weak = ggufChoice(flags.weakModel, machine.weak.name, flags.modelsDir);
  else if (weakKind in LOCAL_SERVERS) {
    const s = LOCAL_SERVERS[weakKind as LocalServer];
    weak = { kind: "server", server: weakKind as LocalServer, baseURL: flags.weakUrl ?? s.baseURL, model: flags.weakModel ?? s.model };
  } else throw new TandemError("invalid_request", `--weak must be gguf, ${Object.keys(LOCAL_SERVERS).join(", ")}; got '${weakKind}'`);
  const strongKind = flags.strong ?? "openai";
  let strong: StrongChoice;
  if (strongKind === "openai" || strongKind === "anthropic") {
    const c = CLOUDS[strongKind];
    strong = { kind: strongKind, model: flags.strongModel ?? c.model, keyEnv: checkKeyEnv(flags.keyEnv ?? c.keyEnv), price: priceOf(flags) };
  } else if (strongKind === "compatible") {
    if (!flags.strongUrl) throw new TandemError("invalid_request", "--strong compatible needs --strong-url (the provider's OpenAI-compatible base URL, e.g. https://openrouter.ai/api/v1)");
    if (!flags.strongModel) throw new TandemError("invalid_request", "--strong compatible needs --strong-model (the provider's model name)");
    strong = { kind: "compatible", baseURL: flags.strongUrl, model: flags.strongModel, keyEnv: checkKeyEnv(flags.keyEnv ?? "CLOUD_API_KEY"), price: priceOf(flags) };
  } else if (strongKind === "gguf") strong = ggufChoice(flags.strongModel, machine.strong.name, flags.modelsDir);
  else throw new TandemError("invalid_request", `--strong must be openai, anthropic, compatible or gguf; got '${strongKind}'`);
  const port = flags.port === undefined ? 8080 : Number(flags.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new TandemError("invalid_request", `--port must be 0–65535, got '${flags.port}'`);
  const threads = flags.threads === undefined ? machine.threads : Number(flags.threads);
  if (!Number.isInteger(threads) || threads < 1) throw new TandemError("invalid_request", `--threads must be a positive integer, got '${flags.threads}'`);
  return { weak, strong, privacy: flags.privacy ?? true, port, threads };
}

/**
 * Asks for the answers interactively (@inquirer/prompts), defaults from `flags` and `machine`.
 * `context` passes input/output streams (tests drive it through them). Rejects when the prompt is
 * cancelled (Ctrl-C: `ExitPromptError`).
 */
export async function askAnswers(flags: InitFlags, machine: PresetRecommendation = recommendPresets(), context?: PromptContext): Promise<InitAnswers> {
  const d = answersFromFlags({ ...flags, strong: flags.strong === "compatible" && !flags.strongUrl ? undefined : flags.strong }, machine);
  const presetChoices = (role: "weak" | "strong") =>
    MODEL_PRESETS.filter((p) => p.roles.includes(role)).map((p) => ({ name: `${p.name} (≈${p.sizeGB} GB, ${p.license})${p.name === machine[role].name ? " — recommended for this machine" : ""}`, value: p.name }));
  const weakKind = await select(
    {
      message: `Weak (local) model — this machine: ${machine.memoryGiB} GiB RAM, ${machine.cores} cores`,
      choices: [
        { name: "a GGUF preset, run in-process (downloaded by tandem models pull)", value: "preset" },
        { name: "a GGUF file I already have", value: "file" },
        ...Object.entries(LOCAL_SERVERS).map(([k, s]) => ({ name: `${s.label} server (${s.baseURL})`, value: k })),
      ],
      default: d.weak.kind === "server" ? d.weak.server : "preset",
    },
    context,
  );
  let weak: WeakChoice;
  if (weakKind === "preset") {
    const name = await select({ message: "Which preset?", choices: presetChoices("weak"), default: d.weak.kind === "gguf" && d.weak.preset ? d.weak.preset : machine.weak.name }, context);
    weak = { kind: "gguf", path: join(flags.modelsDir, findPreset(name)!.fileName), preset: name };
  } else if (weakKind === "file") {
    const path = await input({ message: "Path of the .gguf", validate: (v) => (v.endsWith(".gguf") ? true : "a .gguf file") }, context);
    weak = { kind: "gguf", path };
  } else {
    const s = LOCAL_SERVERS[weakKind as LocalServer];
    const baseURL = await input({ message: `${s.label} base URL`, default: s.baseURL, validate: (v) => (/^https?:\/\//.test(v) ? true : "an http(s) URL") }, context);
    const model = await input({ message: `${s.label} model name`, default: s.model }, context);
    weak = { kind: "server", server: weakKind as LocalServer, baseURL, model };
  }
  const strongKind = await select(
    {
      message: "Strong model",
      choices: [
        { name: "OpenAI", value: "openai" },
        { name: "Anthropic (through its OpenAI-compatible endpoint)", value: "anthropic" },
        { name: "another OpenAI-compatible cloud (OpenRouter, Together, Groq, Mistral, ...)", value: "compatible" },
        { name: "a larger local GGUF preset (everything stays on this machine)", value: "gguf" },
      ],
      default: d.strong.kind,
    },
    context,
  );
  let strong: StrongChoice;
  const keyEnvPrompt = (fallback: string) =>
    input({ message: "Name of the environment variable holding the API key (the key itself is never written)", default: fallback, validate: (v) => { try { checkKeyEnv(v); return true; } catch (e) { return (e as Error).message; } } }, context);
  const pricePrompt = async () => {
    const inputPrice = await number({ message: "Price, USD per 1M input tokens (empty: leave unset)", required: false, min: 0, step: "any" }, context);
    if (inputPrice === undefined) return undefined;
    const outputPrice = await number({ message: "Price, USD per 1M output tokens", required: true, min: 0, step: "any" }, context);
    return { input: inputPrice, output: outputPrice! };
  };
  if (strongKind === "openai" || strongKind === "anthropic") {
    const c = CLOUDS[strongKind];
    const model = await input({ message: `${c.label} model`, default: c.model }, context);
    strong = { kind: strongKind, model, keyEnv: await keyEnvPrompt(c.keyEnv), price: model === c.model ? undefined : await pricePrompt() };
  } else if (strongKind === "compatible") {
    const baseURL = await input({ message: "Base URL of its OpenAI-compatible API", default: flags.strongUrl, validate: (v) => (/^https?:\/\/.+/.test(v) ? true : "an http(s) URL") }, context);
    const model = await input({ message: "Model name", default: flags.strongModel, validate: (v) => (v.trim() ? true : "required") }, context);
    strong = { kind: "compatible", baseURL, model, keyEnv: await keyEnvPrompt(flags.keyEnv ?? "CLOUD_API_KEY"), price: await pricePrompt() };
  } else {
    const name = await select({ message: "Which preset?", choices: presetChoices("strong"), default: machine.strong.name }, context);
    strong = { kind: "gguf", path: join(flags.modelsDir, findPreset(name)!.fileName), preset: name };
  }
  const privacy = strong.kind === "gguf" ? false : await confirm({ message: "Replace private data with placeholders before it reaches the cloud (privacy strategy)?", default: d.privacy }, context);
  const port = (await number({ message: "Gateway port", default: d.port, min: 0, max: 65535, required: true }, context)) ?? d.port;
  return { weak, strong, privacy, port, threads: d.threads };
}

/** GGUF presets of `answers` not yet in place (what `--pull` downloads). */
export function missingModels(answers: InitAnswers): Array<{ preset: string; path: string }> {
  return [answers.weak, answers.strong]
    .filter((m): m is { kind: "gguf"; path: string; preset: string } => m.kind === "gguf" && !!m.preset && !existsSync(m.path))
    .filter((m, i, all) => all.findIndex((o) => o.path === m.path) === i)
    .map((m) => ({ preset: m.preset, path: m.path }));
}

export function register(program: Command): void {
  program
    .command("init")
    .description("write a tandem.yaml for a local model with OpenAI, Anthropic, another OpenAI-compatible cloud or a larger local model (interactive; --yes for scripts)")
    .option("--file <path>", "policy file to write", "tandem.yaml")
    .option("-y, --yes", "no questions: use the flags and defaults")
    .option("--force", "overwrite an existing file")
    .option("--weak <kind>", "weak model: gguf | ollama | lmstudio | vllm")
    .option("--weak-model <name>", "gguf: a preset (tandem models list) or a .gguf path; server: its model name")
    .option("--weak-url <url>", "server: its OpenAI-compatible base URL")
    .option("--strong <kind>", "strong model: openai | anthropic | compatible | gguf")
    .option("--strong-model <name>", "the cloud's model name, or a preset / .gguf path for gguf")
    .option("--strong-url <url>", "compatible: the provider's OpenAI-compatible base URL")
    .option("--key-env <VAR>", "environment variable that holds the cloud API key")
    .option("--price-input <usd>", "cloud price, USD per 1M input tokens")
    .option("--price-output <usd>", "cloud price, USD per 1M output tokens")
    .option("--no-privacy", "no privacy strategy")
    .option("--port <n>", "gateway port")
    .option("--threads <n>", "llama.cpp threads")
    .option("--models-dir <dir>", "where GGUF presets are (or go)", DEFAULT_MODELS_DIR)
    .option("--pull", "download the GGUF presets the policy needs")
    .action(async (flags: InitFlags) => {
      if (existsSync(flags.file) && !flags.force) throw new TandemError("invalid_request", `${flags.file} already exists: pass --force to overwrite it`);
      const interactive = !flags.yes;
      if (interactive && !process.stdin.isTTY) throw new TandemError("invalid_request", "tandem init asks questions on a terminal; without one pass --yes and flags (tandem init --help)");
      const answers = interactive ? await askAnswers(flags) : answersFromFlags(flags);
      writePolicy(flags.file, policyYaml(answers, flags.file), { force: flags.force });
      console.log(`Wrote ${flags.file} (validated).`);
      const missing = missingModels(answers);
      const pull = flags.pull ?? (interactive && missing.length > 0 ? await confirm({ message: `Download ${missing.map((m) => m.preset).join(" and ")} now?`, default: true }) : false);
      for (const m of missing) {
        if (!pull) {
          console.log(`Missing ${m.path}: tandem models pull ${m.preset} --dir ${dirname(m.path)}`);
          continue;
        }
        const r = await pullModel({ source: m.preset, dir: dirname(m.path), progressBar: true });
        console.log(`Downloaded ${r.path}`);
      }
      if (answers.strong.kind !== "gguf") console.log(`Set ${answers.strong.keyEnv} in the environment, then: tandem serve --policy ${flags.file}`);
      else console.log(`Then: tandem serve --policy ${flags.file}`);
    });
}
