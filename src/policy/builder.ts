/**
 * Turns a validated policy into served models: providers for `models`, strategies for
 * `strategies` (which may reference models or other strategies, so they nest), started sidecars,
 * the trace store, keys, and — when the policy names a Redis server — the shared state (budgets,
 * rate limits, breakers, router statistics) in Redis. References are checked and cycles reported
 * with their path.
 */
import { readFileSync } from "node:fs";
import { dirname, isAbsolute, resolve } from "node:path";
import { TandemError } from "../core/errors.js";
import type { Model } from "../core/model.js";
import { llamaCpp, type LlamaCppModel } from "../providers/llama-cpp/index.js";
import { openaiCompatible } from "../providers/openai-compatible.js";
import { createDetector } from "../privacy/index.js";
import type { EntityType } from "../privacy/types.js";
import { cascade } from "../strategies/cascade/index.js";
import { LocalLogitModel } from "../providers/llama-cpp/logits.js";
import { fallback, type BreakerFactory } from "../strategies/fallback/index.js";
import { contrastive, ensemble, proxyTuning } from "../strategies/fusion/index.js";
import { guard } from "../strategies/guard/index.js";
import { promptCompression } from "../strategies/pipeline/index.js";
import { speculative } from "../strategies/speculative/index.js";
import { privacy } from "../strategies/privacy/index.js";
import { loadRouter, loadRouterFile, route, type RouterFile, type RouterStats } from "../strategies/route/index.js";
import { KeyRing } from "../server/auth.js";
import { localRateLimiter } from "../store/rate-limit.js";
import { connectRedis, redisBreakerFactory, redisRateLimiter, redisRouterStats, redisSpendLedger, type RedisState } from "../store/redis/index.js";
import { openSpendLedger } from "../store/spend.js";
import { openTraceStore, type TraceStore } from "../store/traces.js";
import { parsePolicy, type ModelSpec, type Policy, type StrategySpec } from "./schema.js";
import { startSidecar, type Sidecar } from "./sidecar.js";

/** State that is shared by gateway replicas when the policy names a Redis server (else undefined: in-process defaults). */
interface SharedState {
  breakerFactory?: BreakerFactory;
  routerStats?: RouterStats;
}

/** The running form of a policy. */
export interface BuiltPolicy {
  policy: Policy;
  /** Every model and strategy by name. */
  all: Map<string, Model>;
  /** The names the gateway serves (policy `expose`, default all). */
  served: Map<string, Model>;
  traces?: TraceStore;
  /** API keys, budgets and rate limits, when the policy has `auth`. */
  keys?: KeyRing;
  /** Names (models and strategies) whose strategy tree contains a `privacy` strategy: their traces never hold plaintext by default. */
  privateModels: Set<string>;
  sidecars: Sidecar[];
  /** Closes models, sidecars and the trace store. */
  close(): Promise<void>;
}

/** Options of {@link buildPolicy}. */
export interface BuildOptions {
  /** Directory that relative paths in the policy are resolved against. Default: cwd. */
  baseDir?: string;
  /** Load local models now (fail at start-up on a bad file). Default true. */
  preload?: boolean;
  /** Override the trace store (e.g. ":memory:" in tests); `false` disables tracing. */
  tracesPath?: string | false;
  /** Override the spend ledger path (e.g. ":memory:"). */
  ledgerPath?: string;
}

/**
 * Builds a policy. Errors: `invalid_policy` (unknown reference, cycle, bad router file),
 * `model_load_failed` (missing or corrupt GGUF, sidecar that does not start).
 */
export async function buildPolicy(policy: Policy, options: BuildOptions = {}): Promise<BuiltPolicy> {
  const baseDir = options.baseDir ?? process.cwd();
  const at = (p: string) => (isAbsolute(p) ? p : resolve(baseDir, p));
  const all = new Map<string, Model>();
  const sidecars: Sidecar[] = [];
  const locals: LlamaCppModel[] = [];
  const handles = new Map<string, Promise<LocalLogitModel>>();
  const close = async () => {
    await Promise.all([...all.values()].map((m) => m.close?.().catch(() => {})));
    await Promise.all([...handles.values()].map((h) => h.then((x) => x.dispose()).catch(() => {})));
    await Promise.all(sidecars.map((s) => s.stop()));
    traces?.close();
    await keys?.close();
    await redis?.close();
  };
  let traces: TraceStore | undefined;
  let keys: KeyRing | undefined;
  let redis: RedisState | undefined;
  const shared: SharedState = {};

  try {
    if (policy.state?.redis) {
      const r = policy.state.redis;
      redis = await connectRedis({ url: r.url, prefix: r.prefix });
      shared.breakerFactory = redisBreakerFactory(redis, { probeLeaseMs: r.probeLeaseMs });
      shared.routerStats = redisRouterStats(redis);
    }
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
      building.add(name);
      const model = await buildStrategyModel(name, spec, (ref, field) => buildStrategy(ref, ["strategies", name, field]), (ref, field) => handle(ref, `strategies.${name}.${field}`), at, shared);
      building.delete(name);
      all.set(name, model);
      return model;
    };
    for (const name of Object.keys(policy.strategies)) await buildStrategy(name, ["strategies", name]);

    if (options.preload ?? true) await Promise.all(locals.map((m) => m.load()));

    const tracesPath = options.tracesPath ?? (policy.traces === false ? false : at(policy.traces.path));
    if (tracesPath !== false) traces = openTraceStore(tracesPath, { storeContent: policy.traces === false ? true : policy.traces.storeContent });

    if (policy.auth) {
      keys = new KeyRing(
        policy.auth.keys,
        redis
          ? { ledger: redisSpendLedger(redis, { reservationTtlMs: policy.state!.redis!.reservationTtlMs }), limiter: redisRateLimiter(redis, { reservationTtlMs: policy.state!.redis!.reservationTtlMs }) }
          : { ledger: openSpendLedger(options.ledgerPath ?? at(policy.auth.ledger)), limiter: localRateLimiter() },
      );
    }

    const served = new Map<string, Model>();
    for (const name of policy.expose ?? [...all.keys()]) {
      const m = all.get(name);
      if (!m) throw new TandemError("invalid_policy", `expose: unknown model or strategy '${name}'`);
      served.set(name, m);
    }
    return { policy, all, served, traces, keys, sidecars, close, privateModels: privateModelsOf(policy) };
  } catch (error) {
    await close();
    throw error;
  }
}

/**
 * The names of `policy` whose strategy tree contains a `privacy` strategy (directly or through
 * the strategies they reference, at any depth).
 */
export function privateModelsOf(policy: Policy): Set<string> {
  const memo = new Map<string, boolean>();
  const refsOf = (spec: unknown): string[] => {
    if (typeof spec === "string") return [spec];
    if (Array.isArray(spec)) return spec.flatMap(refsOf);
    if (spec && typeof spec === "object") return Object.values(spec).flatMap(refsOf);
    return [];
  };
  const isPrivate = (name: string): boolean => {
    const known = memo.get(name);
    if (known !== undefined) return known;
    const spec = policy.strategies[name];
    memo.set(name, false); // cycles are rejected by the builder; this only stops the walk
    const result = spec !== undefined && (spec.kind === "privacy" || refsOf(spec).some((r) => r !== name && policy.strategies[r] !== undefined && isPrivate(r)));
    memo.set(name, result);
    return result;
  };
  return new Set(Object.keys(policy.strategies).filter(isPrivate));
}

/** Reads, validates and builds a policy file; relative paths resolve against its directory. */
export async function loadPolicyFile(path: string, options: Omit<BuildOptions, "baseDir"> = {}): Promise<BuiltPolicy> {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (error) {
    throw new TandemError("invalid_policy", `Cannot read policy file ${path}: ${(error as Error).message}`, { cause: error });
  }
  return buildPolicy(parsePolicy(text, path), { ...options, baseDir: dirname(resolve(path)) });
}

async function buildModel(name: string, spec: ModelSpec, at: (p: string) => string, sidecars: Sidecar[], locals: LlamaCppModel[]): Promise<Model> {
  const price = spec.price ? { inputPerMillion: spec.price.input, outputPerMillion: spec.price.output } : undefined;
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

async function buildStrategyModel(
  name: string,
  spec: StrategySpec,
  ref: (name: string, field: string) => Promise<Model>,
  handle: (name: string, field: string) => Promise<LocalLogitModel>,
  at: (p: string) => string,
  shared: SharedState,
): Promise<Model> {
  switch (spec.kind) {
    case "route": {
      const router =
        "file" in spec.router ? loadRouterFile(at(spec.router.file as string)) : loadRouter(spec.router as RouterFile);
      return route({
        name,
        weak: await ref(spec.weak, "weak"),
        strong: await ref(spec.strong, "strong"),
        router,
        threshold: spec.threshold,
        strongShare: spec.strongShare,
        minObservations: spec.minObservations,
        stats: shared.routerStats,
      });
    }
    case "cascade":
      return cascade({
        name,
        weak: await ref(spec.weak, "weak"),
        strong: await ref(spec.strong, "strong"),
        signal: spec.signal,
        threshold: spec.threshold,
        samples: spec.samples,
        sampleTemperature: spec.sampleTemperature,
      });
    case "privacy":
      return privacy({
        id: name,
        detector: createDetector({ tagger: spec.tagger === undefined ? undefined : spec.tagger === false ? false : at(spec.tagger) }),
        remote: await ref(spec.remote, "remote"),
        local: spec.local ? await ref(spec.local, "local") : undefined,
        mode: spec.mode,
        entities: spec.entities as EntityType[] | undefined,
        minScore: spec.minScore,
        detectorTimeoutMs: spec.detectorTimeoutMs,
        onDetectorError: spec.onDetectorError,
        redactForEdge: spec.redactForEdge,
      });
    case "guard":
      return guard({
        id: name,
        model: await ref(spec.model, "model"),
        input: spec.input,
        output: spec.output,
        classifier: spec.classifier ? at(spec.classifier) : undefined,
        onBlock: spec.onBlock,
        refusalMessage: spec.refusalMessage,
      });
    case "fallback": {
      const fallbacks: Model[] = [];
      for (const [i, f] of spec.fallbacks.entries()) fallbacks.push(await ref(f, `fallbacks.${i}`));
      return fallback({
        name,
        primary: await ref(spec.primary, "primary"),
        fallbacks,
        retries: spec.retries,
        retryBackoffMs: spec.retryBackoffMs,
        breaker: spec.breaker,
        breakerFactory: shared.breakerFactory,
        midStream: spec.midStream,
        firstTokenTimeoutMs: spec.firstTokenTimeoutMs,
        idleTimeoutMs: spec.idleTimeoutMs,
      });
    }
    case "speculative":
      return speculative({
        id: name,
        draft: await handle(spec.draft, "draft"),
        target: await handle(spec.target, "target"),
        gamma: spec.gamma,
        adaptive: spec.adaptive,
        minGamma: spec.minGamma,
        maxGamma: spec.maxGamma,
      });
    case "proxy-tuning":
      return proxyTuning({ id: name, base: await handle(spec.base, "base"), expert: await handle(spec.expert, "expert"), antiExpert: await handle(spec.antiExpert, "antiExpert"), alpha: spec.alpha });
    case "contrastive":
      return contrastive({ id: name, expert: await handle(spec.expert, "expert"), amateur: await handle(spec.amateur, "amateur"), alpha: spec.alpha, beta: spec.beta });
    case "ensemble": {
      const members = [];
      for (const [i, m] of spec.members.entries()) members.push({ model: await handle(m.model, `members.${i}.model`), weight: m.weight });
      return ensemble({ id: name, members });
    }
    case "compression":
      return promptCompression({ id: name, compressor: await handle(spec.compressor, "compressor"), model: await ref(spec.model, "model"), rate: spec.rate, minTokens: spec.minTokens });
  }
}
