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
import { modelRef } from "../strategies/definition.js";
import { strategyDefinition, strategyKinds } from "../strategies/registry.js";
import { embeddingsSchema } from "./embedding-schema.js";
import { shadowSectionSchema } from "../shadow/schema.js";

const name = modelRef;

/**
 * USD per 1M tokens: input, output, and optionally cached (cache-read) input and cache writes
 * (default: the input rate). Omitted on a cloud model: the bundled catalogue's price (docs/pricing.md).
 */
const price = z.object({ input: z.number().min(0), output: z.number().min(0), cachedInput: z.number().min(0).optional(), cacheWrite: z.number().min(0).optional() }).strict();

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

/**
 * One entry of `strategies`: `{ kind, ...options }`, validated by the registered definition of
 * its `kind` (src/strategies/registry.ts) — so a kind registered at run time by a library user
 * validates like a built-in one. Problems keep the path `strategies.<name>.<field>`; an unknown
 * kind names the known ones.
 */
export const strategySpecSchema = z
  .looseObject({ kind: z.string({ error: "expected a strategy kind (a string)" }) })
  .transform((spec, ctx): StrategySpec => {
    const definition = strategyDefinition(spec.kind);
    if (!definition) {
      ctx.addIssue({ code: "custom", path: ["kind"], message: `unknown strategy kind '${spec.kind}' (known: ${strategyKinds().join(", ")})`, input: spec.kind });
      return z.NEVER;
    }
    const { kind, ...options } = spec;
    const result = definition.options.safeParse(options);
    if (!result.success) {
      for (const issue of result.error.issues) ctx.addIssue({ code: "custom", path: issue.path, message: describeIssue(issue as unknown as Issue), input: options });
      return z.NEVER;
    }
    return { kind, ...(result.data as Record<string, unknown>) };
  });

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
            /**
             * Shared trace store for replicas: traces, feedback and the dashboard live in this
             * PostgreSQL database (`postgres://user:pass@host:port/db`) instead of `path`.
             */
            postgres: z.object({ url: z.string().min(1) }).strict().optional(),
          })
          .strict(),
      ])
      .prefault({}),
    models: z.record(name, modelSpecSchema).refine((m) => Object.keys(m).length > 0, "at least one model is required"),
    strategies: z.record(name, strategySpecSchema).default({}),
    /** Embedding models served at POST /v1/embeddings (see embedding-schema.ts); names apart from models and strategies. */
    embeddings: embeddingsSchema.optional(),
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
    /** Names served by the gateway. Default: every strategy and model (and every embedding model). */
    expose: z.array(name).optional(),
    /** Shadow evaluation of candidate strategies on served names' traffic, keyed by served name (src/shadow/schema.ts, docs/shadow.md). */
    shadow: shadowSectionSchema.optional(),
  })
  .strict();

export type Policy = z.infer<typeof policySchema>;
export type ModelSpec = z.infer<typeof modelSpecSchema>;
/** A strategy of the policy: its `kind` and the options its definition parsed (defaults applied). */
export type StrategySpec = { kind: string } & Record<string, unknown>;

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
