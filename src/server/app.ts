/**
 * The OpenAI-compatible gateway (Hono): `POST /v1/chat/completions` (JSON and SSE streaming),
 * `GET /v1/models` (chat models and strategies, then embedding models: `tandem.type`), `POST /v1/tandem/feedback` (user feedback on a traced answer, for the
 * distillation loop), `GET /health`, `GET /metrics`, `GET /dashboard` (live page; data at
 * `/dashboard/data`). Optional OpenTelemetry spans per request (`otel.ts`) when the application
 * registers an SDK. Every answer carries `x-tandem-*` headers and
 * a `tandem` body object (on the final chunk when streaming); every request, failed or not, is
 * traced. Errors are OpenAI-shaped with their HTTP status; the process never crashes on input.
 *
 * This file mounts the routes. A generation route is the protocol-neutral pipeline (pipeline.ts:
 * intake, admission, run with abort and timeout, charge, trace) over one wire mapping
 * (openai/chat.ts for chat completions); what an answer shows — the `tandem` field, `x-tandem-*`
 * headers, usage and the stored trace — is projection.ts's.
 */
import { Hono, type Context } from "hono";
import { bodyLimit } from "hono/body-limit";
import { TandemError, toTandemError } from "../core/errors.js";
import type { Model } from "../core/model.js";
import type { AsyncTraceStore } from "../store/traces.js";
import { traceScopeOf, type ApiKeySpec, type KeyRing } from "./auth.js";
import { mountDashboard } from "./dashboard.js";
import { mountPlayground } from "./playground/index.js";
import { GatewayMetrics } from "./metrics.js";
import { openAIChat } from "./openai/chat.js";
import { openAIEmbeddings } from "./openai/embeddings.js";
import type { EmbeddingModel } from "../core/embedding.js";
import { openAIResponses } from "./openai/responses.js";
import { countTokensRoute } from "./anthropic/count-tokens.js";
import { anthropicErrorResponse, anthropicMessages, isAnthropicPath } from "./anthropic/messages.js";
import { createPipeline, modelNotFound, type GatewayEnv, type PipelineOptions } from "./pipeline.js";
import type { PrivateContentMode } from "./projection.js";
import { parseFeedbackRequest } from "./schema.js";
import { announceTrace, emitPersonalFeedback, runAsCaller } from "../strategies/personalize/caller.js";

export type { GatewayEnv } from "./pipeline.js";
export { toGenerateRequest } from "./openai/chat.js";

/** Options of {@link createGatewayApp}. */
export interface GatewayOptions {
  /** Served models by name: strategies and plain models. */
  models: ReadonlyMap<string, Model>;
  /** Where traces go; none = not traced. */
  traces?: AsyncTraceStore;
  /** Largest accepted request body in bytes. Default 1 MiB. */
  maxBodyBytes?: number;
  /** Per-request time limit in ms (504 after it). Default 120,000. */
  requestTimeoutMs?: number;
  /** Prometheus metrics; created when omitted. */
  metrics?: GatewayMetrics;
  /** Name reported by `/health`. */
  name?: string;
  /**
   * API keys, budgets and rate limits; none = open gateway. With keys, every trace records its
   * key's name and each key sees only its own traces (dashboard data, feedback); admin keys see all.
   */
  keys?: KeyRing;
  /**
   * Who may read `GET /metrics` when `keys` is set (policy `auth.metrics`): "open" (default),
   * "key" (any valid key, else 401) or "admin" (admin keys only: 401 without a valid key, 403 for
   * a normal one). Ignored on an open gateway.
   */
  metricsAuth?: "open" | "key" | "admin";
  /**
   * Served names whose strategy tree contains a `privacy` strategy (`BuiltPolicy.privateModels`).
   * Their traces store what the cloud saw (placeholders), never the private values — or per
   * `privateContent`. A name whose answer carries a privacy decision is treated as private even
   * when not listed (see trace-content.ts).
   */
  privateModels?: ReadonlySet<string>;
  /** Trace content of private models (policy `traces.privateContent`). @default "redacted" */
  privateContent?: PrivateContentMode;
  /** Called after each answered generation (the shadow evaluation's hook; see `PipelineOptions.onAnswer`). */
  onAnswer?: PipelineOptions["onAnswer"];
  /** Embedding models served at `POST /v1/embeddings` by name (policy `embeddings`); none = every name is 404 there. */
  embeddings?: ReadonlyMap<string, EmbeddingModel>;
}

/** Builds the gateway's Hono app. */
export function createGatewayApp(options: GatewayOptions): { app: Hono<GatewayEnv>; metrics: GatewayMetrics } {
  const app = new Hono<GatewayEnv>();
  const metrics = options.metrics ?? new GatewayMetrics();
  const started = Date.now();
  // every generation route: intake, admission, run, response, charge, trace (pipeline.ts)
  const pipeline = createPipeline({ ...options, metrics });

  const errorResponse = (c: Context, error: TandemError) => c.json(error.toJSON(), error.status as 400);

  /** The caller's key when the request carries a valid one, else undefined (never throws). */
  const callerKey = (c: Context): ApiKeySpec | undefined => {
    try {
      return options.keys?.authenticate(c.req.header("authorization"));
    } catch {
      return undefined;
    }
  };

  // errors under /v1/messages (auth included) answer in Anthropic's shape and statuses
  app.onError((error, c) => (isAnthropicPath(c.req.path) ? anthropicErrorResponse(c, toTandemError(error)) : errorResponse(c, toTandemError(error))));
  app.notFound((c) => {
    const e = new TandemError("not_found", `No route for ${c.req.method} ${c.req.path}`);
    return isAnthropicPath(c.req.path) ? anthropicErrorResponse(c, e) : errorResponse(c, e);
  });

  app.get("/health", (c) => {
    // With keys, an anonymous caller (no valid key) learns only that the service is up.
    if (options.keys && !callerKey(c)) return c.json({ status: "ok" });
    return c.json({ status: "ok", name: options.name ?? "tandem", uptime_s: Math.round((Date.now() - started) / 1000), models: [...options.models.keys()] });
  });

  app.use("/v1/*", async (c, next) => {
    // `Authorization: Bearer <key>`, or Anthropic's `x-api-key: <key>` (the Anthropic SDK's default)
    if (options.keys) c.set("apiKey", options.keys.authenticate(c.req.header("authorization") ?? bearerOf(c.req.header("x-api-key"))));
    // personalization: strategies read the caller's tenant (the key's name), and learn the request's trace id afterwards (strategies/personalize/caller.ts)
    const { value, context } = runAsCaller(c.get("apiKey")?.name ?? "", next);
    await value;
    const traceId = context.onTrace.length ? c.res?.headers.get("x-tandem-trace-id") : undefined;
    if (traceId) announceTrace(context, traceId);
  });

  // chat models and strategies, then the embedding models (policy `embeddings`), told apart by `tandem.type`
  const modelObject = (name: string, type: "chat" | "embedding", m: Pick<Model, "location" | "price">) => ({
    id: name,
    object: "model" as const,
    created: Math.floor(started / 1000),
    owned_by: "tandem",
    tandem: { type, location: m.location, price_usd_per_million: { input: m.price.inputPerMillion, output: m.price.outputPerMillion } },
  });
  const listedModel = (name: string) => {
    const chat = options.models.get(name);
    if (chat) return modelObject(name, "chat", chat);
    const embedding = options.embeddings?.get(name);
    return embedding ? modelObject(name, "embedding", embedding) : undefined;
  };
  // A key with a `models` allow-list sees only those names; another name is the same 404 as a missing one.
  const mayList = (c: { get(key: "apiKey"): { models?: string[] } | undefined }, name: string) => {
    const allowed = c.get("apiKey")?.models;
    return !allowed || allowed.includes(name);
  };
  app.get("/v1/models", (c) =>
    c.json({
      object: "list",
      data: [...options.models.keys(), ...[...(options.embeddings?.keys() ?? [])].filter((n) => !options.models.has(n))].filter((n) => mayList(c, n)).map((n) => listedModel(n)!),
    }),
  );

  app.get("/v1/models/:name", (c) => {
    const name = c.req.param("name");
    const found = mayList(c, name) ? listedModel(name) : undefined;
    if (!found) return errorResponse(c, modelNotFound(name));
    return c.json(found);
  });

  app.post(
    "/v1/tandem/feedback",
    bodyLimit({ maxSize: 64 * 1024, onError: (c) => errorResponse(c, new TandemError("payload_too_large", "Feedback body exceeds 65536 bytes")) }),
    async (c) => {
      if (!options.traces) throw new TandemError("invalid_request", "Feedback needs traces: this gateway runs with traces off");
      let json: unknown;
      try {
        json = JSON.parse(await c.req.text());
      } catch (error) {
        throw new TandemError("invalid_json", `Request body is not valid JSON: ${(error as Error).message}`);
      }
      const feedback = parseFeedbackRequest(json);
      const spec = c.get("apiKey");
      // One scoped statement: a trace of another key answers exactly like a missing one (same 404, same path).
      const stored = await options.traces.addFeedback({ ...feedback, key: spec?.name, createdAt: Date.now() }, traceScopeOf(spec));
      if (!stored) throw new TandemError("not_found", "No trace with this trace_id", { param: "trace_id" });
      metrics.observeFeedback(feedback.score);
      await emitPersonalFeedback({ traceId: feedback.traceId, score: feedback.score }); // per-user router calibration
      return c.json({ object: "tandem.feedback", trace_id: feedback.traceId, score: feedback.score, recorded: true });
    },
  );

  mountDashboard(app, { traces: options.traces, name: options.name, keys: options.keys });
  mountPlayground(app, { name: options.name });

  app.get("/metrics", async (c) => {
    const rule = options.keys ? (options.metricsAuth ?? "open") : "open";
    if (rule !== "open") {
      const spec = options.keys!.authenticate(c.req.header("authorization")); // 401 through the app's error handler
      if (rule === "admin" && !spec.admin) throw new TandemError("permission_denied", `Key '${spec.name}' may not read /metrics (admin keys only)`);
    }
    return c.text(await metrics.render(), 200, { "content-type": metrics.contentType });
  });

  app.post("/v1/chat/completions", ...pipeline.route(openAIChat));
  app.post("/v1/embeddings", ...pipeline.route(openAIEmbeddings(options.embeddings ?? new Map())));
  app.post("/v1/responses", ...pipeline.route(openAIResponses));
  app.post("/v1/messages", ...pipeline.route(anthropicMessages));
  app.post("/v1/messages/count_tokens", ...countTokensRoute({ models: options.models, maxBodyBytes: options.maxBodyBytes }));

  return { app, metrics };
}

/** An `x-api-key` value as the `Authorization` value {@link KeyRing.authenticate} reads (undefined when absent or blank). */
function bearerOf(apiKey: string | undefined): string | undefined {
  return apiKey?.trim() ? `Bearer ${apiKey.trim()}` : undefined;
}
