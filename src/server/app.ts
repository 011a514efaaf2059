/**
 * The OpenAI-compatible gateway (Hono): `POST /v1/chat/completions` (JSON and SSE streaming),
 * `GET /v1/models`, `POST /v1/tandem/feedback` (user feedback on a traced answer, for the
 * distillation loop), `GET /health`, `GET /metrics`, `GET /dashboard` (live page; data at
 * `/dashboard/data`). Optional OpenTelemetry spans per request (`otel.ts`) when the application
 * registers an SDK. Every answer carries `x-tandem-*` headers and
 * a `tandem` body object (on the final chunk when streaming); every request, failed or not, is
 * traced. Errors are OpenAI-shaped with their HTTP status; the process never crashes on input.
 */
import { Hono, type Context } from "hono";
import { bodyLimit } from "hono/body-limit";
import { stream as honoStream } from "hono/streaming";
import { countTokens } from "gpt-tokenizer";
import { randomUUID } from "node:crypto";
import { TandemError, toTandemError } from "../core/errors.js";
import { costOf, worstCaseOf, type GenerateRequest, type GenerateResult, type Model, type ModelCall, type StreamPart } from "../core/model.js";
import type { ChatCompletionRequest } from "../core/wire.js";
import type { Trace, TraceStore } from "../store/traces.js";
import { admittedMaxTokens, DEFAULT_MAX_TOKENS, traceScopeOf, type Admission, type ApiKeySpec, type KeyRing } from "./auth.js";
import { mountDashboard } from "./dashboard.js";
import { GatewayMetrics } from "./metrics.js";
import { emitRequestSpan } from "./otel.js";
import { chunk, completionBody, tandemField, tandemHeaders } from "./openai-format.js";
import { parseChatCompletionRequest, parseFeedbackRequest } from "./schema.js";
import { traceContent, type PrivateContentMode } from "./trace-content.js";

/** Options of {@link createGatewayApp}. */
export interface GatewayOptions {
  /** Served models by name: strategies and plain models. */
  models: ReadonlyMap<string, Model>;
  /** Where traces go; none = not traced. */
  traces?: TraceStore;
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
}

/** The app's per-request variables: the caller's key, authenticated once by the `/v1/*` middleware. */
export type GatewayEnv = { Variables: { apiKey?: ApiKeySpec } };

/** Builds the gateway's Hono app. */
export function createGatewayApp(options: GatewayOptions): { app: Hono<GatewayEnv>; metrics: GatewayMetrics } {
  const app = new Hono<GatewayEnv>();
  const metrics = options.metrics ?? new GatewayMetrics();
  const maxBodyBytes = options.maxBodyBytes ?? 1024 * 1024;
  const timeoutMs = options.requestTimeoutMs ?? 120_000;
  const started = Date.now();

  const errorResponse = (c: Context, error: TandemError) => c.json(error.toJSON(), error.status as 400);
  const privateModels = new Set(options.privateModels ?? []);
  /** Writes a trace (a failed write is logged, never fatal) and counts it in the metrics. */
  const record = (traced: Trace, c: Context) => {
    // private models: what the cloud saw, never the private values (trace-content.ts)
    const content = traceContent({ isPrivate: privateModels.has(traced.model), mode: options.privateContent, messages: traced.messages, responseText: traced.responseText, decisions: traced.decisions });
    if (!privateModels.has(traced.model) && traced.decisions.some((d) => d.cloudView)) privateModels.add(traced.model);
    const t: Trace = { ...traced, messages: content.messages, responseText: content.responseText, decisions: content.decisions };
    try {
      options.traces?.record(t);
    } catch (error) {
      console.error(`tandem: could not write trace ${t.id}: ${(error as Error).message}`);
    }
    // unknown model names stay out of the metric labels (each would be a new series, forever)
    metrics.observe(options.models.has(t.model) ? t : { ...t, model: "" });
    emitRequestSpan(t, c.req.header());
  };

  /** The caller's key when the request carries a valid one, else undefined (never throws). */
  const callerKey = (c: Context): ApiKeySpec | undefined => {
    try {
      return options.keys?.authenticate(c.req.header("authorization"));
    } catch {
      return undefined;
    }
  };

  app.onError((error, c) => errorResponse(c, toTandemError(error)));
  app.notFound((c) => errorResponse(c, new TandemError("not_found", `No route for ${c.req.method} ${c.req.path}`)));

  app.get("/health", (c) => {
    // With keys, an anonymous caller (no valid key) learns only that the service is up.
    if (options.keys && !callerKey(c)) return c.json({ status: "ok" });
    return c.json({ status: "ok", name: options.name ?? "tandem", uptime_s: Math.round((Date.now() - started) / 1000), models: [...options.models.keys()] });
  });

  app.use("/v1/*", async (c, next) => {
    if (options.keys) c.set("apiKey", options.keys.authenticate(c.req.header("authorization")));
    await next();
  });

  app.get("/v1/models", (c) =>
    c.json({
      object: "list",
      data: [...options.models.entries()].map(([name, m]) => ({
        id: name,
        object: "model",
        created: Math.floor(started / 1000),
        owned_by: "tandem",
        tandem: { location: m.location, price_usd_per_million: { input: m.price.inputPerMillion, output: m.price.outputPerMillion } },
      })),
    }),
  );

  app.get("/v1/models/:name", (c) => {
    const name = c.req.param("name");
    if (!options.models.has(name)) return errorResponse(c, modelNotFound(name));
    return c.json({ id: name, object: "model", created: Math.floor(started / 1000), owned_by: "tandem" });
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
      const stored = options.traces.addFeedback({ ...feedback, key: spec?.name, createdAt: Date.now() }, traceScopeOf(spec));
      if (!stored) throw new TandemError("not_found", "No trace with this trace_id", { param: "trace_id" });
      metrics.observeFeedback(feedback.score);
      return c.json({ object: "tandem.feedback", trace_id: feedback.traceId, score: feedback.score, recorded: true });
    },
  );

  mountDashboard(app, { traces: options.traces, name: options.name, keys: options.keys });

  app.get("/metrics", async (c) => {
    const rule = options.keys ? (options.metricsAuth ?? "open") : "open";
    if (rule !== "open") {
      const spec = options.keys!.authenticate(c.req.header("authorization")); // 401 through the app's error handler
      if (rule === "admin" && !spec.admin) throw new TandemError("permission_denied", `Key '${spec.name}' may not read /metrics (admin keys only)`);
    }
    return c.text(await metrics.render(), 200, { "content-type": metrics.contentType });
  });

  app.post(
    "/v1/chat/completions",
    bodyLimit({
      maxSize: maxBodyBytes,
      onError: (c) => {
        const e = new TandemError("payload_too_large", `Request body exceeds ${maxBodyBytes} bytes`);
        record({ ...blankTrace(newTraceId(), Date.now()), status: e.status, error: e.code, errorMessage: e.message, key: c.get("apiKey")?.name }, c);
        return errorResponse(c, e);
      },
    }),
    async (c) => {
      const arrived = Date.now();
      const t0 = performance.now();
      const traceId = newTraceId();
      let requested: ChatCompletionRequest | undefined;

      const trace = (partial: Partial<Trace> & { status: number }) =>
        record({
          ...blankTrace(traceId, arrived),
          model: requested?.model ?? "",
          stream: requested?.stream === true,
          latencyMs: performance.now() - t0,
          messages: requested?.messages,
          key: c.get("apiKey")?.name,
          ...partial,
        }, c);
      const fail = (error: unknown) => {
        const e = toTandemError(error);
        trace({ status: e.status, error: e.code, errorMessage: e.message });
        return errorResponse(c, e);
      };

      let raw: string;
      try {
        raw = await c.req.text();
      } catch (error) {
        if (c.req.raw.signal.aborted) return fail(new TandemError("aborted", `Client disconnected while sending the body: ${(error as Error).message}`));
        return fail(new TandemError("invalid_request", `Could not read the request body: ${(error as Error).message}`));
      }
      let json: unknown;
      try {
        json = JSON.parse(raw);
      } catch (error) {
        return fail(new TandemError("invalid_json", `Request body is not valid JSON: ${(error as Error).message}`));
      }
      try {
        requested = parseChatCompletionRequest(json);
      } catch (error) {
        return fail(error);
      }
      const model = options.models.get(requested.model);
      if (!model) return fail(modelNotFound(requested.model));

      const request = toGenerateRequest(requested);
      let admission: Admission | undefined;
      const spec = c.get("apiKey");
      if (options.keys && spec) {
        // what is reserved is what is sent: the upstream may not generate past the admitted max_tokens
        request.maxTokens = admittedMaxTokens(spec, request.maxTokens);
        try {
          admission = await options.keys.admit(spec, requested.model, model.price, {
            promptChars: raw.length,
            maxTokens: request.maxTokens ?? DEFAULT_MAX_TOKENS,
            worstCase: (perCall) => worstCaseOf(model, perCall),
          });
        } catch (error) {
          return fail(error);
        }
      }
      /** Settles the admission with what the request is charged; a charge past the budget reservation is counted as an overrun. */
      const settle = (charge: Charge) => {
        if (!admission) return;
        if (admission.reservedUsd > 0 && charge.costUsd > admission.reservedUsd * (1 + 1e-9)) {
          metrics.observeOverrun(requested?.model ?? "", charge.costUsd - admission.reservedUsd);
          console.warn(`tandem: request ${traceId} of key '${admission.key}' cost $${charge.costUsd} > its reservation $${admission.reservedUsd} (upstream ignored max_tokens?)`);
        }
        void admission.finish({ costUsd: charge.costUsd, tokens: charge.promptTokens + charge.completionTokens });
      };
      /**
       * What a failed request is charged: the calls the error carries (providers and strategies
       * attach what was generated), else — once a stream was open — the streamed text counted with
       * the o200k tokenizer (at least one token per chunk) plus the prompt, at the requested
       * model's price (a strategy's price is its strong path's: an upper bound); else nothing.
       */
      const chargeOfFailure = (error: unknown, streamed?: { text: string; parts: number }): Charge => {
        const calls = TandemError.isInstance(error) ? error.calls : undefined;
        if (calls?.length) return chargeOfCalls(calls);
        if (!streamed) return NO_CHARGE;
        const usage = { promptTokens: countTokens(JSON.stringify(request.messages)), completionTokens: Math.max(countTokens(streamed.text), streamed.parts) };
        const costUsd = costOf(model.price, usage);
        const message = TandemError.isInstance(error) ? error.message : "stream ended early";
        return { ...usage, costUsd, calls: [{ model: model.id, location: model.location, role: "partial-estimate", ...usage, costUsd, latencyMs: performance.now() - t0, error: message }] };
      };
      /** Trace fields of a charge on a failed request. */
      const charged = (charge: Charge): Partial<Trace> =>
        charge.calls.length ? { costUsd: charge.costUsd, promptTokens: charge.promptTokens, completionTokens: charge.completionTokens, calls: charge.calls } : {};
      /** Charges, traces and answers a request that failed before a 200 was sent. */
      const failCharged = (error: unknown) => {
        const charge = chargeOfFailure(error);
        settle(charge);
        const e = asTimeout(error);
        trace({ status: e.status, error: e.code, errorMessage: e.message, ...charged(charge) });
        return errorResponse(c, e);
      };
      // One controller per request, released when the request ends (a pending AbortSignal.timeout
      // would keep every request's signal graph alive for the whole timeout).
      const controller = new AbortController();
      const signal = controller.signal;
      let timedOut = false;
      const timer = setTimeout(() => {
        timedOut = true;
        controller.abort(new TandemError("upstream_timeout", `Request timed out after ${timeoutMs} ms`));
      }, timeoutMs);
      const clientSignal = c.req.raw.signal;
      const onClientAbort = () => controller.abort(new TandemError("aborted", "Client disconnected"));
      if (clientSignal.aborted) onClientAbort();
      else clientSignal.addEventListener("abort", onClientAbort, { once: true });
      const release = () => {
        clearTimeout(timer);
        clientSignal.removeEventListener("abort", onClientAbort);
      };
      const asTimeout = (error: unknown) =>
        timedOut ? new TandemError("upstream_timeout", `Request timed out after ${timeoutMs} ms`, { cause: error }) : toTandemError(error, "upstream_error");
      const created = Math.floor(arrived / 1000);
      const name = requested.model;

      if (!requested.stream) {
        let result: GenerateResult;
        try {
          result = await model.generate(request, signal);
        } catch (error) {
          return failCharged(error);
        } finally {
          release();
        }
        settle(chargeOfResult(result));
        const latency = performance.now() - t0;
        const field = tandemField(traceId, name, result.info, latency);
        trace(successTrace(result, latency));
        return c.json(completionBody(traceId, created, name, result, field), 200, tandemHeaders(field));
      }

      // Streaming: pull the first part before committing to a 200 so early failures get their status.
      const iterator = model.stream(request, signal)[Symbol.asyncIterator]();
      let first: IteratorResult<StreamPart>;
      try {
        first = await iterator.next();
      } catch (error) {
        release();
        return failCharged(error);
      }
      const includeUsage = requested.stream_options?.include_usage === true;
      c.header("content-type", "text/event-stream; charset=utf-8");
      c.header("cache-control", "no-cache");
      c.header("connection", "keep-alive");
      c.header("x-tandem-trace-id", traceId);
      return honoStream(c, async (out) => {
        const send = (data: unknown) => out.write(`data: ${JSON.stringify(data)}\n\n`);
        let text = "";
        let parts = 0;
        let finished = false;
        try {
          await send(chunk(traceId, created, name, { role: "assistant", content: "" }));
          let next = first;
          while (!next.done) {
            const part = next.value;
            if (part.type !== "finish") parts++;
            if (part.type === "text") {
              text += part.text;
              await send(chunk(traceId, created, name, { content: part.text }, null, request.logprobs ? part.logprobs : undefined));
            } else if (part.type === "tool-call") {
              await send(chunk(traceId, created, name, { tool_calls: [part.delta] }));
            } else {
              const result = part.result;
              const latency = performance.now() - t0;
              const field = tandemField(traceId, name, result.info, latency);
              await send({ ...chunk(traceId, created, name, {}, result.finishReason), tandem: field });
              if (includeUsage) {
                await send({
                  id: traceId,
                  object: "chat.completion.chunk",
                  created,
                  model: name,
                  choices: [],
                  usage: { prompt_tokens: result.usage.promptTokens, completion_tokens: result.usage.completionTokens, total_tokens: result.usage.promptTokens + result.usage.completionTokens },
                });
              }
              trace(successTrace(result, latency, text));
              settle(chargeOfResult(result));
              finished = true;
            }
            next = await iterator.next();
          }
          if (!finished) throw new TandemError("upstream_error", "Stream ended without a final result");
          await out.write("data: [DONE]\n\n");
        } catch (error) {
          const e = c.req.raw.signal.aborted ? new TandemError("aborted", "Client disconnected") : asTimeout(error);
          if (!finished) {
            // what was generated is paid for, whether the client left, the clock ran out or the upstream broke
            const charge = chargeOfFailure(error, { text, parts });
            settle(charge);
            trace({ status: e.code === "aborted" ? 499 : e.status, error: e.code, errorMessage: e.message, responseText: text, ...charged(charge) });
          }
          if (!c.req.raw.signal.aborted) {
            await send(e.toJSON()).catch(() => {});
          }
          await iterator.return?.(undefined).catch(() => {});
        } finally {
          release();
        }
      });
    },
  );

  return { app, metrics };
}

/** What one request is charged: USD and tokens over all its model calls. */
interface Charge {
  /** USD. */
  costUsd: number;
  promptTokens: number;
  completionTokens: number;
  /** The calls charged (empty: nothing). */
  calls: ModelCall[];
}

const NO_CHARGE: Charge = { costUsd: 0, promptTokens: 0, completionTokens: 0, calls: [] };

function chargeOfCalls(calls: ModelCall[]): Charge {
  let costUsd = 0;
  let promptTokens = 0;
  let completionTokens = 0;
  for (const call of calls) {
    costUsd += call.costUsd;
    promptTokens += call.promptTokens;
    completionTokens += call.completionTokens;
  }
  return { costUsd, promptTokens, completionTokens, calls };
}

/** The charge of an answered request: its cost, and the tokens of every call (for the token limit). */
function chargeOfResult(result: GenerateResult): Charge {
  const calls = result.info.calls;
  if (!calls.length) return { costUsd: result.info.costUsd, ...result.usage, calls };
  return { ...chargeOfCalls(calls), costUsd: result.info.costUsd };
}

function newTraceId(): string {
  return `chatcmpl-${randomUUID().replace(/-/g, "")}`;
}

/** A trace with nothing served yet: no model, no cost, no tokens. */
function blankTrace(id: string, createdAt: number): Trace {
  return {
    id,
    createdAt,
    model: "",
    stream: false,
    status: 0,
    escalated: false,
    degraded: false,
    costUsd: 0,
    strongOnlyCostUsd: 0,
    promptTokens: 0,
    completionTokens: 0,
    latencyMs: 0,
    decisions: [],
    calls: [],
  };
}

function modelNotFound(name: string): TandemError {
  return new TandemError("model_not_found", `The model '${name}' does not exist`, { param: "model" });
}

function successTrace(result: GenerateResult, latencyMs: number, text?: string): Partial<Trace> & { status: number } {
  return {
    status: 200,
    servedBy: result.info.servedBy,
    escalated: result.info.escalated,
    degraded: result.info.degraded ?? false,
    costUsd: result.info.costUsd,
    strongOnlyCostUsd: result.info.strongOnlyCostUsd,
    promptTokens: result.usage.promptTokens,
    completionTokens: result.usage.completionTokens,
    latencyMs,
    decisions: result.info.decisions,
    calls: result.info.calls,
    responseText: text ?? result.text,
  };
}

/** Maps the OpenAI request body onto the provider-neutral request. */
export function toGenerateRequest(body: ChatCompletionRequest): GenerateRequest {
  const stop = body.stop == null ? undefined : Array.isArray(body.stop) ? body.stop : [body.stop];
  return {
    messages: body.messages,
    maxTokens: body.max_completion_tokens ?? body.max_tokens ?? undefined,
    temperature: body.temperature ?? undefined,
    topP: body.top_p ?? undefined,
    seed: body.seed ?? undefined,
    stop,
    logprobs: body.logprobs ?? undefined,
    topLogprobs: body.top_logprobs ?? undefined,
    tools: body.tools,
    toolChoice: body.tool_choice,
    user: body.user,
  };
}
