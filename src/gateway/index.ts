/**
 * The composition root: everything a running gateway needs beyond the policy's models, wired in
 * one place — the Redis connection and the shared state on it (budgets, rate limits, circuit
 * breakers, router statistics) when the policy names Redis, the trace store, the API keys with
 * their spend ledger and rate limiter, and the HTTP app and server. `tandem serve`, `tandem demo`,
 * the benches and the tests use it; `src/policy` only parses and builds models, `src/store` only
 * implements the ports of `src/core/ports.ts`.
 *
 *     const gateway = await createGateway("tandem.yaml");
 *     const server = await gateway.listen();          // the policy's host/port and timeouts
 *     …
 *     await gateway.close();                          // servers, models, sidecars, stores, Redis
 *
 * Pieces for tests and benches that build their own app: {@link buildGateway} /
 * {@link loadGatewayFile} return the built policy plus `traces` and `keys`, and
 * {@link gatewayAppOptions} turns them into `createGatewayApp` options.
 */
import type { Hono } from "hono";
import { Counter } from "prom-client";
import { dirname, isAbsolute, resolve } from "node:path";
import type { SharedState } from "../core/ports.js";
import { buildPolicy, policyBaseDir, readPolicyFile, type BuildOptions, type BuiltPolicy } from "../policy/builder.js";
import type { Policy } from "../policy/schema.js";
import { createGatewayApp, type GatewayEnv, type GatewayOptions } from "../server/app.js";
import { KeyRing } from "../server/auth.js";
import { listen, type ListenOptions, type RunningServer } from "../server/listen.js";
import type { GatewayMetrics } from "../server/metrics.js";
import { localRateLimiter } from "../store/rate-limit.js";
import { connectRedis, redisBreakerFactory, redisRateLimiter, redisRouterStats, redisSpendLedger, type RedisState } from "../store/redis/index.js";
import { openSpendLedger } from "../store/spend.js";
import { openPostgresTraceStore } from "../store/postgres/traces.js";
import { openTraceStore, type AsyncTraceStore, type TraceStore } from "../store/traces.js";
import { openShadowStore } from "../store/shadow.js";
import { buildShadow, type ShadowRuntime } from "../shadow/build.js";
import { registerShadowMetrics } from "../shadow/metrics.js";

/** Options of {@link buildGateway}. */
export interface GatewayBuildOptions extends Omit<BuildOptions, "shared"> {
  /** Override the policy's trace store path (e.g. ":memory:" in tests; ignored when the policy names `traces.postgres`); `false` disables tracing. */
  tracesPath?: string | false;
  /** Override the policy's spend ledger path (e.g. ":memory:"). Ignored with Redis. */
  ledgerPath?: string;
  /** Override where shadow records go (default: `shadow.sqlite` beside the SQLite traces, ":memory:" with in-memory traces, else `.tandem/shadow.sqlite`). */
  shadowPath?: string;
}

/** A built policy with the gateway's stores: what `createGatewayApp` is made from. */
export interface GatewayParts extends BuiltPolicy {
  /**
   * The embedded SQLite trace store, synchronous reads (absent with `traces: false`, and with
   * `traces.postgres`: see {@link GatewayParts.traceStore}).
   */
  traces?: TraceStore;
  /**
   * The trace store the gateway uses, reads awaitable: `traces` (SQLite), or the Postgres store
   * when the policy names `traces.postgres`; absent with `traces: false`.
   */
  traceStore?: AsyncTraceStore;
  /** API keys, budgets and rate limits, when the policy has `auth`. */
  keys?: KeyRing;
  /** The strategies' shared state (Redis-backed when the policy names Redis, else empty). */
  shared: SharedState;
  /** The shadow evaluations of the policy's `shadow` section (src/shadow), when it has one. */
  shadow?: ShadowRuntime;
  /** Closes models, sidecars, the trace store, the keys' stores and the Redis connection. */
  close(): Promise<void>;
}

/**
 * Builds a policy and the stores around it. Errors: those of `buildPolicy` (`invalid_policy`,
 * `model_load_failed`), Redis connection errors (`TandemError` from `connectRedis`), SQLite errors
 * opening the trace store or ledger, Postgres errors opening a `traces.postgres` store. On error
 * everything already opened is closed.
 */
export async function buildGateway(policy: Policy, options: GatewayBuildOptions = {}): Promise<GatewayParts> {
  const { tracesPath: tracesOverride, ledgerPath, shadowPath, ...buildOptions } = options;
  const at = (p: string) => resolveAt(options.baseDir, p);
  let redis: RedisState | undefined;
  let built: BuiltPolicy | undefined;
  let traces: TraceStore | undefined;
  let traceStore: AsyncTraceStore | undefined;
  let keys: KeyRing | undefined;
  let shadow: ShadowRuntime | undefined;
  const close = async () => {
    await shadow?.close(); // stops shadow evaluations before their models close
    await built?.close();
    await traceStore?.close(); // flushes the write-behind queue
    await keys?.close();
    await redis?.close();
  };
  try {
    const shared: SharedState = {};
    const r = policy.state?.redis;
    if (r) {
      redis = await connectRedis({ url: r.url, prefix: r.prefix });
      shared.breakerFactory = redisBreakerFactory(redis, { probeLeaseMs: r.probeLeaseMs });
      shared.routerStats = redisRouterStats(redis);
    }
    built = await buildPolicy(policy, { ...buildOptions, shared });

    const tracesPath = tracesOverride ?? (policy.traces === false ? false : at(policy.traces.path));
    const storeContent = policy.traces === false ? true : policy.traces.storeContent;
    const postgres = policy.traces === false ? undefined : policy.traces.postgres;
    if (tracesPath !== false) traceStore = postgres ? await openPostgresTraceStore(postgres.url, { storeContent }) : (traces = openTraceStore(tracesPath, { storeContent }));

    if (policy.auth) {
      keys = new KeyRing(
        policy.auth.keys,
        redis && r
          ? { ledger: redisSpendLedger(redis, { reservationTtlMs: r.reservationTtlMs }), limiter: redisRateLimiter(redis, { reservationTtlMs: r.reservationTtlMs }) }
          : { ledger: openSpendLedger(ledgerPath ?? at(policy.auth.ledger)), limiter: localRateLimiter() },
      );
    }
    if (policy.shadow && Object.keys(policy.shadow).length > 0) {
      const path = shadowPath ?? (tracesPath === ":memory:" ? ":memory:" : tracesPath !== false && !postgres ? resolve(dirname(tracesPath), "shadow.sqlite") : at(".tandem/shadow.sqlite"));
      const store = openShadowStore(path);
      try {
        shadow = buildShadow(policy.shadow, built, { store, path: at });
      } catch (error) {
        store.close();
        throw error;
      }
    }
    return { ...built, traces, traceStore, keys, shared, shadow, close };
  } catch (error) {
    await close();
    throw error;
  }
}

/** Reads, validates and builds a policy file and its stores; relative paths resolve against the file's directory. Errors: as {@link buildGateway}, and `invalid_policy` for an unreadable or bad file. */
export async function loadGatewayFile(path: string, options: Omit<GatewayBuildOptions, "baseDir"> = {}): Promise<GatewayParts> {
  return buildGateway(readPolicyFile(path), { ...options, baseDir: policyBaseDir(path) });
}

/**
 * The `createGatewayApp` options of a built gateway: served models, traces, keys, private models
 * and the policy's `server`/`auth`/`traces` settings; `overrides` win (e.g. a test's short
 * `requestTimeoutMs`).
 */
export function gatewayAppOptions(parts: GatewayParts, overrides: Partial<GatewayOptions> = {}): GatewayOptions {
  const policy = parts.policy;
  return {
    models: parts.served,
    traces: parts.traceStore ?? parts.traces,
    keys: parts.keys,
    metricsAuth: policy.auth?.metrics,
    privateModels: parts.privateModels,
    privateContent: policy.traces === false ? undefined : policy.traces.privateContent,
    maxBodyBytes: policy.server.maxBodyBytes,
    requestTimeoutMs: policy.server.requestTimeoutMs,
    embeddings: parts.embeddings,
    onAnswer: parts.shadow?.onAnswer,
    ...overrides,
  };
}

/** Options of {@link createGateway}. */
export interface CreateGatewayOptions extends GatewayBuildOptions {
  /** Overrides of the app options derived from the policy (see {@link gatewayAppOptions}). */
  app?: Partial<GatewayOptions>;
}

/** A ready gateway: its parts, its Hono app, and a way to serve it. */
export interface Gateway {
  built: GatewayParts;
  app: Hono<GatewayEnv>;
  metrics: GatewayMetrics;
  /**
   * Serves the app over HTTP. Defaults: the policy's `server.host`/`server.port` and its
   * receive/header timeouts; `options` win. Errors: those of node:net (EADDRINUSE…).
   */
  listen(options?: ListenOptions): Promise<RunningServer>;
  /** Closes every server started by `listen`, then the parts. */
  close(): Promise<void>;
}

/**
 * Builds a gateway from a policy (parsed, or the path of a policy file). Errors: as
 * {@link buildGateway} / {@link loadGatewayFile}.
 */
export async function createGateway(source: Policy | string, options: CreateGatewayOptions = {}): Promise<Gateway> {
  const { app: appOverrides, ...buildOptions } = options;
  const built = typeof source === "string" ? await loadGatewayFile(source, buildOptions) : await buildGateway(source, buildOptions);
  let created: ReturnType<typeof createGatewayApp>;
  try {
    created = createGatewayApp(gatewayAppOptions(built, appOverrides));
  } catch (error) {
    await built.close();
    throw error;
  }
  const traceStore = built.traceStore ?? built.traces;
  if (traceStore) countTraceDrops(created.metrics, traceStore);
  if (built.shadow) registerShadowMetrics(created.metrics.registry, built.shadow.evaluators);
  const servers: RunningServer[] = [];
  const server = built.policy.server;
  return {
    built,
    app: created.app,
    metrics: created.metrics,
    async listen(listenOptions = {}) {
      const running = await listen(created.app, {
        host: server.host,
        port: server.port,
        requestTimeoutMs: server.receiveTimeoutMs,
        headersTimeoutMs: server.headersTimeoutMs,
        ...stripUndefined(listenOptions),
      });
      servers.push(running);
      return running;
    },
    async close() {
      await Promise.all(servers.splice(0).map((s) => s.close()));
      await built.close();
    },
  };
}

/** `tandem_traces_dropped_total`: traces the store's full write-behind queue dropped (read from the store at each scrape). */
function countTraceDrops(metrics: GatewayMetrics, traces: AsyncTraceStore): void {
  const name = "tandem_traces_dropped_total";
  if (metrics.registry.getSingleMetric(name)) return; // a metrics object shared by several gateways
  new Counter({
    name,
    help: "Traces dropped because the trace store's write-behind queue was full (or the store closed)",
    registers: [metrics.registry],
    collect() {
      this.reset();
      this.inc(traces.dropped);
    },
  });
}

function resolveAt(baseDir: string | undefined, p: string): string {
  return isAbsolute(p) ? p : resolve(baseDir ?? process.cwd(), p);
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}
