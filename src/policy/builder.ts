/**
 * Turns a validated policy into served models: providers for `models` (and their sidecars),
 * strategies for `strategies` — each built by its registered definition
 * (src/strategies/registry.ts), which may reference models or other strategies, so they nest.
 * References are checked and cycles reported with their path.
 *
 * This module builds models only. Traces, API keys, budgets, rate limits and the Redis
 * connection are wired by the composition root, src/gateway/, which passes the shared state
 * (breakers, router statistics) in through {@link BuildOptions.shared}.
 */
import { readFileSync } from "node:fs";
import { dirname, isAbsolute, resolve } from "node:path";
import { TandemError } from "../core/errors.js";
import type { Model } from "../core/model.js";
import { policyPrice } from "../core/pricing/price.js";
import type { SharedState } from "../core/ports.js";
import { llamaCpp, type LlamaCppModel } from "../providers/llama-cpp/index.js";
import { LocalLogitModel } from "../token-level/logit-model.js";
import { openaiCompatible } from "../providers/openai-compatible.js";
import type { BuildContext } from "../strategies/definition.js";
import { strategyDefinition, strategyKinds } from "../strategies/registry.js";
import { parsePolicy, type ModelSpec, type Policy } from "./schema.js";
import { startSidecar, type Sidecar } from "./sidecar.js";
import type { EmbeddingModel } from "../core/embedding.js";
import { buildEmbeddings, type BuiltEmbeddings } from "./embeddings.js";

/** The running form of a policy's models and strategies. */
export interface BuiltPolicy {
  policy: Policy;
  /** Every model and strategy by name. */
  all: Map<string, Model>;
  /** The names the gateway serves (policy `expose`, default all). */
  served: Map<string, Model>;
  /** Names (models and strategies) whose strategy tree contains a `privacy` strategy: their traces never hold plaintext by default. */
  privateModels: Set<string>;
  sidecars: Sidecar[];
  /** The embedding models served at POST /v1/embeddings (policy `embeddings`, filtered by `expose` when given), by name. */
  embeddings: Map<string, EmbeddingModel>;
  /** Closes models, token-level handles and sidecars. Idempotent enough: errors of single models are ignored. */
  close(): Promise<void>;
}

/** Options of {@link buildPolicy}. */
export interface BuildOptions {
  /** Directory that relative paths in the policy are resolved against. Default: cwd. */
  baseDir?: string;
  /** Load local models now (fail at start-up on a bad file). Default true. */
  preload?: boolean;
  /** Shared state for the strategies (the gateway passes Redis-backed ones when the policy names Redis). Default: in-process. */
  shared?: SharedState;
}

/**
 * Builds a policy's models and strategies. Errors: `invalid_policy` (unknown reference, cycle,
 * unknown strategy kind, bad router file), `model_load_failed` (missing or corrupt GGUF, sidecar
 * that does not start). On error everything already built is closed.
 */
export async function buildPolicy(policy: Policy, options: BuildOptions = {}): Promise<BuiltPolicy> {
  const baseDir = options.baseDir ?? process.cwd();
  const at = (p: string) => (isAbsolute(p) ? p : resolve(baseDir, p));
  const shared = options.shared ?? {};
  const all = new Map<string, Model>();
  const sidecars: Sidecar[] = [];
  const locals: LlamaCppModel[] = [];
  const handles = new Map<string, Promise<LocalLogitModel>>();
  let embeddings: BuiltEmbeddings | undefined;
  const close = async () => {
    await embeddings?.close();
    await Promise.all([...all.values()].map((m) => m.close?.().catch(() => {})));
    await Promise.all([...handles.values()].map((h) => h.then((x) => x.dispose()).catch(() => {})));
    await Promise.all(sidecars.map((s) => s.stop()));
  };

  try {
    for (const [name, spec] of Object.entries(policy.models)) {
      if (policy.strategies[name]) throw new TandemError("invalid_policy", `models.${name}: the name is also used by a strategy`);
      all.set(name, await buildModel(name, spec, at, sidecars, locals));
    }
    /** A token-level handle on a llama-cpp model of the policy (loaded once per name). */
    const handle = (ref: string, path: string): Promise<LocalLogitModel> => {
      const spec = policy.models[ref];
      if (!spec || spec.provider !== "llama-cpp") {
        throw new TandemError("invalid_policy", `${path}: '${ref}' must be a llama-cpp model of the policy (token-level strategies need local logits)`);
      }
      let h = handles.get(ref);
      if (!h) {
        const price = spec.price ? { inputPerMillion: spec.price.input, outputPerMillion: spec.price.output } : undefined;
        h = LocalLogitModel.load(at(spec.path), { id: ref, threads: spec.threads, contextSize: spec.contextSize, price });
        handles.set(ref, h);
      }
      return h;
    };
    const building = new Set<string>();
    const buildStrategy = async (name: string, path: string[]): Promise<Model> => {
      const existing = all.get(name);
      if (existing) return existing;
      const spec = policy.strategies[name];
      if (!spec) {
        const known = [...Object.keys(policy.models), ...Object.keys(policy.strategies)].join(", ");
        throw new TandemError("invalid_policy", `${path.join(".")}: unknown model or strategy '${name}' (known: ${known})`);
      }
      if (building.has(name)) throw new TandemError("invalid_policy", `strategies.${name}: reference cycle ${[...building, name].join(" → ")}`);
      const definition = strategyDefinition(spec.kind);
      if (!definition) throw new TandemError("invalid_policy", `strategies.${name}.kind: unknown strategy kind '${spec.kind}' (known: ${strategyKinds().join(", ")})`);
      building.add(name);
      const context: BuildContext = {
        name,
        model: (ref, field) => buildStrategy(ref, ["strategies", name, field]),
        logits: async (ref, field) => handle(ref, `strategies.${name}.${field}`),
        path: at,
        shared,
      };
      // parsed again: a policy object made in code (not by parsePolicy) gets validated and its defaults too
      const { kind: _kind, ...raw } = spec;
      const parsed = definition.options.safeParse(raw);
      if (!parsed.success) {
        const issue = parsed.error.issues[0];
        throw new TandemError("invalid_policy", `strategies.${[name, ...issue.path.map(String)].join(".")}: ${issue.message}`);
      }
      const model = await definition.build(parsed.data, context);
      building.delete(name);
      all.set(name, model);
      return model;
    };
    for (const name of Object.keys(policy.strategies)) await buildStrategy(name, ["strategies", name]);
    embeddings = await buildEmbeddings(policy.embeddings ?? {}, at, new Set(all.keys()));

    if (options.preload ?? true) await Promise.all([...locals.map((m) => m.load()), ...embeddings.locals.map((m) => m.load())]);

    const served = new Map<string, Model>();
    const servedEmbeddings = policy.expose ? new Map([...embeddings.all].filter(([n]) => policy.expose!.includes(n))) : embeddings.all;
    for (const name of policy.expose ?? [...all.keys()]) {
      if (embeddings.all.has(name)) continue;
      const m = all.get(name);
      if (!m) throw new TandemError("invalid_policy", `expose: unknown model or strategy '${name}'`);
      served.set(name, m);
    }
    return { policy, all, served, sidecars, close, privateModels: new Set([...privateModelsOf(policy), ...embeddings.privateNames]), embeddings: servedEmbeddings };
  } catch (error) {
    await close();
    throw error;
  }
}

/**
 * The strategies of `policy` whose strategy tree contains a `privacy` strategy (directly or
 * through the strategies they reference, at any depth), found through each definition's
 * `references`.
 */
export function privateModelsOf(policy: Policy): Set<string> {
  const memo = new Map<string, boolean>();
  const isPrivate = (name: string): boolean => {
    const known = memo.get(name);
    if (known !== undefined) return known;
    const spec = policy.strategies[name];
    memo.set(name, false); // cycles are rejected by the builder; this only stops the walk
    let result = false;
    if (spec) {
      const { kind, ...options } = spec;
      const refs = strategyDefinition(kind)?.references(options) ?? [];
      result = kind === "privacy" || refs.some((r) => r !== name && policy.strategies[r] !== undefined && isPrivate(r));
    }
    memo.set(name, result);
    return result;
  };
  return new Set(Object.keys(policy.strategies).filter(isPrivate));
}

/**
 * Reads and validates a policy file (messages name the file). Errors: `invalid_policy` for an
 * unreadable file or a bad policy.
 */
export function readPolicyFile(path: string): Policy {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (error) {
    throw new TandemError("invalid_policy", `Cannot read policy file ${path}: ${(error as Error).message}`, { cause: error });
  }
  return parsePolicy(text, path);
}

/** The directory that a policy file's relative paths resolve against. */
export function policyBaseDir(path: string): string {
  return dirname(resolve(path));
}

/** Reads, validates and builds a policy file; relative paths resolve against its directory. Errors: those of {@link readPolicyFile} and {@link buildPolicy}. */
export async function loadPolicyFile(path: string, options: Omit<BuildOptions, "baseDir"> = {}): Promise<BuiltPolicy> {
  return buildPolicy(readPolicyFile(path), { ...options, baseDir: policyBaseDir(path) });
}

async function buildModel(name: string, spec: ModelSpec, at: (p: string) => string, sidecars: Sidecar[], locals: LlamaCppModel[]): Promise<Model> {
  const price = spec.price ? policyPrice(spec.price) : undefined;
  if (spec.provider === "llama-cpp") {
    const m = llamaCpp({
      id: name,
      path: at(spec.path),
      threads: spec.threads,
      contextSize: spec.contextSize,
      sequences: spec.sequences,
      maxQueue: spec.maxQueue,
      defaultMaxTokens: spec.maxTokens,
      price,
      location: spec.location,
      template: spec.template,
    });
    locals.push(m);
    return m;
  }
  let baseURL = spec.baseURL;
  if (spec.sidecar) {
    const sidecar = await startSidecar({ path: at(spec.sidecar.path), id: spec.model, threads: spec.sidecar.threads, contextSize: spec.sidecar.contextSize, sequences: spec.sidecar.sequences });
    sidecars.push(sidecar);
    baseURL = sidecar.baseURL;
  }
  return openaiCompatible({
    id: name,
    model: spec.model,
    baseURL,
    apiKey: spec.apiKey || undefined,
    price,
    location: spec.location,
    timeoutMs: spec.timeoutMs,
    maxRetries: spec.maxRetries,
    headers: spec.headers,
  });
}
