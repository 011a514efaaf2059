/**
 * The policy file (`tandem.yaml`) schema, validated with zod. A wrong policy fails at start-up
 * with the path of the bad field and what was expected, e.g.
 * `tandem.yaml: strategies.auto.threshold: expected number, received string`.
 *
 * Strings may reference the environment: `${VAR}` or `${VAR:-default}`.
 */
import { parse as parseYaml } from "yaml";
import { z } from "zod";
import { TandemError } from "../core/errors.js";

const name = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._:/-]*$/, "a name of letters, digits and . _ : / -");

/** USD per 1M tokens. */
const price = z.object({ input: z.number().min(0), output: z.number().min(0) }).strict();

const llamaCppModel = z
  .object({
    provider: z.literal("llama-cpp"),
    /** GGUF path, relative to the policy file. */
    path: z.string().min(1),
    threads: z.number().int().min(1).max(256).optional(),
    contextSize: z.number().int().min(64).optional(),
    sequences: z.number().int().min(1).max(64).optional(),
    maxQueue: z.number().int().min(0).optional(),
    maxTokens: z.number().int().min(1).optional(),
    price: price.optional(),
    location: z.enum(["edge", "cloud"]).optional(),
    template: z.object({ userPrefix: z.string(), assistantPrefix: z.string() }).strict().optional(),
  })
  .strict();

const openaiCompatibleModel = z
  .object({
    provider: z.literal("openai-compatible"),
    /** Upstream model name. */
    model: z.string().min(1),
    baseURL: z.string().url().optional(),
    apiKey: z.string().optional(),
    price: price.optional(),
    location: z.enum(["edge", "cloud"]).optional(),
    timeoutMs: z.number().int().min(1).optional(),
    maxRetries: z.number().int().min(0).max(10).optional(),
    headers: z.record(z.string(), z.string()).optional(),
    /** Start `tandem serve-model` for this GGUF as a child process and use it as the endpoint. */
    sidecar: z
      .object({
        path: z.string().min(1),
        threads: z.number().int().min(1).max(256).optional(),
        contextSize: z.number().int().min(64).optional(),
        sequences: z.number().int().min(1).max(64).optional(),
      })
      .strict()
      .optional(),
  })
  .strict()
  .refine((m) => m.baseURL !== undefined || m.sidecar !== undefined || process.env.OPENAI_BASE_URL !== undefined || process.env.OPENAI_API_KEY !== undefined, {
    message: "needs baseURL (or sidecar, or OPENAI_BASE_URL / OPENAI_API_KEY in the environment)",
    path: ["baseURL"],
  });

export const modelSpecSchema = z.union([llamaCppModel, openaiCompatibleModel]);

const routerSpec = z.union([
  z.object({ kind: z.string().min(1) }).passthrough(),
  z.object({ file: z.string().min(1) }).strict(),
]);

const routeStrategy = z
  .object({
    kind: z.literal("route"),
    weak: name,
    strong: name,
    router: routerSpec.default({ kind: "heuristic" }),
    /** Router-score threshold in [0, 1]: score > threshold → strong (with strongShare: until minObservations). */
    threshold: z.number().min(0).max(1),
    /** Online calibration: share of requests in [0, 1] for the strong model; the threshold follows the running score distribution. */
    strongShare: z.number().min(0).max(1).optional(),
    /** Scores observed before the online threshold is used. */
    minObservations: z.number().int().min(1).optional(),
  })
  .strict();

const cascadeStrategy = z
  .object({
    kind: z.literal("cascade"),
    weak: name,
    strong: name,
    signal: z.enum(["mean-logprob", "min-logprob", "self-consistency"]),
    /** Escalate when signal < threshold (nats/token, nats, or vote share). */
    threshold: z.number(),
    samples: z.number().int().min(2).max(32).optional(),
    sampleTemperature: z.number().min(0).max(2).optional(),
  })
  .strict();

const privacyStrategy = z
  .object({
    kind: z.literal("privacy"),
    /** The model requests are meant for; redaction applies when it is a cloud model. */
    remote: name,
    /** Edge model for `local-only` and (optionally) detector failures. */
    local: name.optional(),
    mode: z.enum(["redact", "local-only", "block"]).default("redact"),
    /** Entity types to hide (default: all detected). */
    entities: z.array(z.string()).optional(),
    /** Spans scoring below this are ignored, in [0, 1]. */
    minScore: z.number().min(0).max(1).optional(),
    /** Detection budget per request, ms; exceeding it fails closed. */
    detectorTimeoutMs: z.number().int().min(1).optional(),
    onDetectorError: z.enum(["block", "local"]).optional(),
    redactForEdge: z.boolean().optional(),
    /** The PII tagger model file (default models/privacy-tagger.json), or false for patterns only. */
    tagger: z.union([z.string(), z.literal(false)]).optional(),
  })
  .strict();

const guardStrategy = z
  .object({
    kind: z.literal("guard"),
    /** The guarded model or strategy. */
    model: name,
    input: z
      .union([
        z.literal(false),
        z.object({ harm: z.union([z.number().min(0).max(1), z.literal(false)]).optional(), injection: z.union([z.number().min(0).max(1), z.literal(false)]).optional(), scope: z.enum(["last-user", "all"]).optional() }).strict(),
      ])
      .optional(),
    output: z
      .union([
        z.literal(false),
        z.object({ harm: z.union([z.number().min(0).max(1), z.literal(false)]).optional(), placeholders: z.boolean().optional(), secrets: z.boolean().optional() }).strict(),
      ])
      .optional(),
    /** Guard classifier file (default models/guard.json). */
    classifier: z.string().optional(),
    onBlock: z.enum(["error", "refusal"]).optional(),
    refusalMessage: z.string().optional(),
  })
  .strict();

/** Token-level strategies take `llama-cpp` models of the policy (same vocabulary) by name. */
const speculativeStrategy = z
  .object({
    kind: z.literal("speculative"),
    draft: name,
    target: name,
    /** Draft tokens per target evaluation (initial, when adaptive). */
    gamma: z.number().int().min(1).max(64).optional(),
    adaptive: z.boolean().optional(),
    minGamma: z.number().int().min(1).optional(),
    maxGamma: z.number().int().min(1).optional(),
  })
  .strict();

const proxyTuningStrategy = z
  .object({ kind: z.literal("proxy-tuning"), base: name, expert: name, antiExpert: name, alpha: z.number().optional() })
  .strict();

const contrastiveStrategy = z
  .object({ kind: z.literal("contrastive"), expert: name, amateur: name, alpha: z.number().gt(0).max(1).optional(), beta: z.number().min(0).optional() })
  .strict();

const ensembleStrategy = z
  .object({ kind: z.literal("ensemble"), members: z.array(z.object({ model: name, weight: z.number().min(0).optional() }).strict()).min(2) })
  .strict();

const compressionStrategy = z
  .object({
    kind: z.literal("compression"),
    /** A llama-cpp model of the policy whose surprisal ranks tokens. */
    compressor: name,
    /** Any model or strategy that receives the compressed prompt. */
    model: name,
    /** Share of tokens to keep, in (0, 1]. */
    rate: z.number().gt(0).max(1).optional(),
    minTokens: z.number().int().min(0).optional(),
  })
  .strict();

const fallbackStrategy = z
  .object({
    kind: z.literal("fallback"),
    /** The preferred model or strategy (typically the cloud model). */
    primary: name,
    /** Tried in order when the primary fails; the last is always tried (typically the edge SLM). */
    fallbacks: z.array(name).min(1),
    /** Retries of transient primary failures. */
    retries: z.number().int().min(0).max(10).optional(),
    /** Base backoff between retries, ms (exponential with jitter). */
    retryBackoffMs: z.number().int().min(0).optional(),
    /** Circuit breaker: open after N consecutive failures, probe again after cooldownMs. */
    breaker: z.union([z.literal(false), z.object({ failureThreshold: z.number().int().min(1), cooldownMs: z.number().int().min(0) }).strict()]).optional(),
    /** After the first streamed token: "error" (default), "continue" (append the fallback's answer) or "buffer". */
    midStream: z.enum(["error", "continue", "buffer"]).optional(),
    firstTokenTimeoutMs: z.number().int().min(1).optional(),
    idleTimeoutMs: z.number().int().min(1).optional(),
  })
  .strict();

export const strategySpecSchema = z.discriminatedUnion("kind", [
  fallbackStrategy,
  routeStrategy,
  cascadeStrategy,
  privacyStrategy,
  guardStrategy,
  speculativeStrategy,
  proxyTuningStrategy,
  contrastiveStrategy,
  ensembleStrategy,
  compressionStrategy,
]);

export const policySchema = z
  .object({
    version: z.literal(1).default(1),
    server: z
      .object({
        host: z.string().default("127.0.0.1"),
        port: z.number().int().min(0).max(65535).default(8080),
        /** Largest request body, bytes. */
        maxBodyBytes: z.number().int().min(1024).default(1024 * 1024),
        /** Per-request limit, ms. */
        requestTimeoutMs: z.number().int().min(1).default(120_000),
        /** Time to receive a whole request (headers + body), ms: slow-loris clients get 408 after it. */
        receiveTimeoutMs: z.number().int().min(100).default(30_000),
        /** Time to receive the request headers, ms (at most receiveTimeoutMs). */
        headersTimeoutMs: z.number().int().min(100).default(10_000),
      })
      .strict()
      .prefault({}),
    traces: z
      .union([
        z.literal(false),
        z
          .object({
            path: z.string().default(".tandem/traces.sqlite"),
            storeContent: z.boolean().default(true),
            /**
             * Content of traces for names served through a `privacy` strategy: what the cloud saw
             * (placeholders, default), plaintext (explicit opt-in), or none.
             */
            privateContent: z.enum(["redacted", "plain", "none"]).default("redacted"),
          })
          .strict(),
      ])
      .prefault({}),
    models: z.record(name, modelSpecSchema).refine((m) => Object.keys(m).length > 0, "at least one model is required"),
    strategies: z.record(name, strategySpecSchema).default({}),
    /** Gateway API keys (hashed), budgets and rate limits. Without it the gateway is open. */
    auth: z
      .object({
        keys: z
          .array(
            z
              .object({
                name: name,
                /** sha256:<hex> of the key; `tandem keys hash KEY` prints it. */
                hash: z.string().regex(/^sha256:[0-9a-f]{64}$/, "sha256:<64 hex digits> (see 'tandem keys hash')"),
                /** Total USD this key may spend. */
                budgetUsd: z.number().min(0).optional(),
                requestsPerMinute: z.number().int().min(1).optional(),
                tokensPerMinute: z.number().int().min(1).optional(),
                /** Most completion tokens one request of this key may ask for (larger asks are clamped); also what budgets and token limits reserve when the client sends no max_tokens. */
                maxTokens: z.number().int().min(1).optional(),
                models: z.array(name).optional(),
                /** Admin key: sees every key's traces (dashboard, feedback) — a normal key sees only its own. */
                admin: z.boolean().optional(),
              })
              .strict(),
          )
          .min(1)
          // traces, budgets and rate limits are kept per key *name*: two keys sharing one would share them
          .refine((keys) => new Set(keys.map((k) => k.name)).size === keys.length, "key names must be unique"),
        /** Spend ledger (SQLite), so budgets survive restarts. */
        ledger: z.string().default(".tandem/spend.sqlite"),
        /**
         * Who may read `GET /metrics`: "open" (default: anyone, as Prometheus scrapers expect;
         * the metrics are gateway-wide counts with no key names and no content), "key" (any valid
         * key, `Authorization: Bearer`), "admin" (admin keys only).
         */
        metrics: z.enum(["open", "key", "admin"]).default("open"),
      })
      .strict()
      .optional(),
    /**
     * Shared state. With `redis`, budgets, rate limits, circuit breakers and the router's online
     * statistics live in that Redis server, so several gateway replicas enforce them as one.
     */
    state: z
      .object({
        redis: z
          .object({
            /** redis://[user:password@]host:port[/db] — `${REDIS_URL}` interpolation works. */
            url: z.string().regex(/^rediss?:\/\//, "a redis:// or rediss:// URL"),
            prefix: z.string().default("tandem:"),
            /** Unsettled budget reservations expire after this many ms (a replica that died mid-request). */
            reservationTtlMs: z.number().int().min(1000).default(600_000),
            /** A half-open breaker probe may run this many ms before another replica may probe. */
            probeLeaseMs: z.number().int().min(100).default(60_000),
          })
          .strict()
          .optional(),
      })
      .strict()
      .optional(),
    /** Names served by the gateway. Default: every strategy and model. */
    expose: z.array(name).optional(),
  })
  .strict();

export type Policy = z.infer<typeof policySchema>;
export type ModelSpec = z.infer<typeof modelSpecSchema>;
export type StrategySpec = z.infer<typeof strategySpecSchema>;

/** Replaces `${VAR}` / `${VAR:-default}` in every string of a parsed YAML tree. */
export function interpolateEnv(value: unknown, env: NodeJS.ProcessEnv = process.env): unknown {
  if (typeof value === "string") {
    return value.replace(/\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}/g, (_, v: string, d: string | undefined) => env[v] ?? d ?? "");
  }
  if (Array.isArray(value)) return value.map((v) => interpolateEnv(v, env));
  if (value && typeof value === "object") {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, interpolateEnv(v, env)]));
  }
  return value;
}

/**
 * Parses and validates a policy from YAML text. `source` names the file in messages.
 * Throws `TandemError("invalid_policy")` with `source: path: problem` for the first problems found.
 */
export function parsePolicy(yamlText: string, source = "policy"): Policy {
  let doc: unknown;
  try {
    doc = parseYaml(yamlText);
  } catch (error) {
    throw new TandemError("invalid_policy", `${source}: not valid YAML: ${(error as Error).message}`, { cause: error });
  }
  if (doc === null || typeof doc !== "object") throw new TandemError("invalid_policy", `${source}: expected a mapping with 'models' (and 'strategies')`);
  const result = policySchema.safeParse(interpolateEnv(doc));
  if (!result.success) {
    const lines = result.error.issues.slice(0, 5).map((i) => `${source}: ${i.path.map(String).join(".") || "(root)"}: ${describeIssue(i as unknown as Issue)}`);
    throw new TandemError("invalid_policy", lines.join("\n"));
  }
  return result.data;
}

type Issue = { code: string; path: PropertyKey[]; message: string; errors?: Issue[][] };

function describeIssue(issue: Issue): string {
  if (issue.code === "invalid_union" && issue.errors?.length) {
    // report the branch that got furthest: the one whose provider/kind literal matched
    const branches = issue.errors.filter(
      (issues) => !issues.some((i) => (i.code === "invalid_value" || i.code === "invalid_literal") && ["provider", "kind"].includes(String(i.path.at(-1)))),
    );
    const best = branches.sort((a, b) => a.length - b.length)[0];
    if (best?.length) return best.map((i) => `${i.path.map(String).join(".")}${i.path.length ? ": " : ""}${i.message}`).join("; ");
    return "expected a model with provider 'llama-cpp' or 'openai-compatible' (or a router with 'kind' or 'file')";
  }
  return issue.message;
}
