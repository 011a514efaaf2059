/**
 * A `Model` over any OpenAI-compatible chat-completions endpoint through the web platform's
 * `fetch`: a Tandem gateway (`tandem serve`, whose strategies then serve as the page's cloud side),
 * a `tandem serve`d local model, or a cloud API called with the user's own key. Runs in browsers
 * (and in Node ≥ 20, which has the same `fetch`). SSE streams are parsed with `eventsource-parser`.
 *
 * When the endpoint is a Tandem gateway, its answer carries a `tandem` field (who served it there,
 * the decision path, cost); that becomes this call's info, so a page shows the gateway's decisions
 * after its own. Every call the gateway made is off this device: reported with location `cloud`.
 *
 * Failures are typed for the `fallback` strategy (the breaker and the offline path): the network
 * unreachable (or `navigator.onLine === false`, checked before any request) → `upstream_error`;
 * HTTP errors → the code of their status (`rate_limit_exceeded` 429, `upstream_timeout` 504/408,
 * `upstream_error` otherwise) with the status kept in `cause.status`; `timeoutMs` elapsed →
 * `upstream_timeout`; the caller's signal → `aborted`.
 */
import { createParser, type EventSourceMessage } from "eventsource-parser";
import { TandemError, type ErrorCode } from "../core/errors.js";
import { costOf, leafInfo, type CollaborationInfo, type GenerateRequest, type GenerateResult, type Model, type ModelLocation, type Price, type StreamPart, type TokenUsage } from "../core/model.js";
import type { ChatToolCall, FinishReason, TokenLogprob } from "../core/wire.js";

/** Options of {@link fetchModel}. */
export interface FetchModelOptions {
  /** Model id in this page (`servedBy` when the endpoint is not a Tandem gateway). @default `model` */
  id?: string;
  /** Base URL up to `/v1`, e.g. `https://api.openai.com/v1` or `${location.origin}/v1`. */
  baseURL: string;
  /** The `model` field sent (a gateway's strategy name, or the provider's model name). */
  model: string;
  /** Sent as `Authorization: Bearer <apiKey>` (the user's own key; never bundle one into a page). */
  apiKey?: string;
  /** Extra request headers. */
  headers?: Record<string, string>;
  /** @default "cloud" */
  location?: ModelLocation;
  /** USD per 1M tokens, for the cost of calls whose answer has no `tandem` field. @default 0 / 0 */
  price?: Price;
  /** Limit in ms for the whole call (stream included). @default none */
  timeoutMs?: number;
  /** The fetch to use (default `globalThis.fetch`). */
  fetch?: typeof fetch;
}

/** The `tandem` field of a gateway answer (server/projection.ts), as far as this client reads it. */
interface RemoteTandem {
  served_by: string;
  escalated: boolean;
  degraded: boolean;
  cost_usd: number;
  strong_only_cost_usd: number;
  decisions: CollaborationInfo["decisions"];
  calls: CollaborationInfo["calls"];
}

interface WireChoice {
  message?: { content?: string | null; tool_calls?: ChatToolCall[] };
  delta?: { content?: string | null; tool_calls?: Array<{ index: number; id?: string; type?: "function"; function?: { name?: string; arguments?: string } }> };
  finish_reason?: string | null;
  logprobs?: { content?: TokenLogprob[] | null } | null;
}

interface WireBody {
  choices?: WireChoice[];
  usage?: { prompt_tokens: number; completion_tokens: number } | null;
  tandem?: RemoteTandem;
  error?: { message?: string; code?: string };
}

const FINISH: ReadonlySet<string> = new Set(["stop", "length", "tool_calls", "content_filter"]);
const finishOf = (reason: string | null | undefined): FinishReason => (reason && FINISH.has(reason) ? (reason as FinishReason) : "stop");

function codeOfStatus(status: number): ErrorCode {
  if (status === 429) return "rate_limit_exceeded";
  if (status === 504 || status === 408) return "upstream_timeout";
  if (status === 404) return "model_not_found";
  return "upstream_error";
}

/** The OpenAI request body for `request`. */
function wireBody(model: string, request: GenerateRequest, stream: boolean): Record<string, unknown> {
  return {
    model,
    messages: request.messages,
    ...(request.maxTokens !== undefined ? { max_tokens: request.maxTokens } : {}),
    ...(request.temperature !== undefined ? { temperature: request.temperature } : {}),
    ...(request.topP !== undefined ? { top_p: request.topP } : {}),
    ...(request.seed !== undefined ? { seed: request.seed } : {}),
    ...(request.stop?.length ? { stop: request.stop } : {}),
    ...(request.logprobs ? { logprobs: true, ...(request.topLogprobs !== undefined ? { top_logprobs: request.topLogprobs } : {}) } : {}),
    ...(request.tools?.length ? { tools: request.tools } : {}),
    ...(request.toolChoice !== undefined ? { tool_choice: request.toolChoice } : {}),
    ...(request.user !== undefined ? { user: request.user } : {}),
    ...(stream ? { stream: true, stream_options: { include_usage: true } } : {}),
  };
}

/**
 * Creates a fetch-based OpenAI-compatible model (see module docs). Errors as listed there.
 * @example
 * const cloud = fetchModel({ baseURL: `${location.origin}/v1`, model: "strong" });          // a Tandem gateway's strategy
 * const openai = fetchModel({ baseURL: "https://api.openai.com/v1", model: "gpt-4o-mini", apiKey: userKey, price: { inputPerMillion: 0.15, outputPerMillion: 0.6 } });
 */
export function fetchModel(options: FetchModelOptions): Model {
  const id = options.id ?? options.model;
  const price = options.price ?? { inputPerMillion: 0, outputPerMillion: 0 };
  const location = options.location ?? "cloud";
  const url = `${options.baseURL.replace(/\/+$/, "")}/chat/completions`;
  const doFetch = options.fetch ?? ((input: Parameters<typeof fetch>[0], init?: RequestInit) => globalThis.fetch(input, init));

  /** Sends the request; returns the response once its status is OK. */
  async function send(request: GenerateRequest, stream: boolean, signal: AbortSignal | undefined): Promise<{ response: Response; started: number; timeout?: AbortSignal }> {
    if (signal?.aborted) throw new TandemError("aborted", "Request aborted", { cause: signal.reason });
    if ((globalThis as { navigator?: { onLine?: boolean } }).navigator?.onLine === false) {
      throw new TandemError("upstream_error", `Model '${id}' is unreachable: this device is offline`);
    }
    const timeout = options.timeoutMs !== undefined ? AbortSignal.timeout(options.timeoutMs) : undefined;
    const signals = [signal, timeout].filter((s): s is AbortSignal => s !== undefined);
    const combined = signals.length > 1 ? AbortSignal.any(signals) : signals[0];
    const started = performance.now();
    let response: Response;
    try {
      response = await doFetch(url, {
        method: "POST",
        headers: { "content-type": "application/json", accept: stream ? "text/event-stream" : "application/json", ...(options.apiKey ? { authorization: `Bearer ${options.apiKey}` } : {}), ...options.headers },
        body: JSON.stringify(wireBody(options.model, request, stream)),
        signal: combined,
      });
    } catch (error) {
      throw networkFailure(error, signal, timeout);
    }
    if (!response.ok) {
      let message = `HTTP ${response.status}`;
      try {
        const body = (await response.json()) as WireBody;
        if (body.error?.message) message = `HTTP ${response.status}: ${body.error.message}`;
      } catch {
        // not JSON: keep the status
      }
      throw new TandemError(codeOfStatus(response.status), `Model '${id}' failed: ${message}`, { cause: { status: response.status } });
    }
    return { response, started, timeout };
  }

  /** The caller's abort, our timeout, or the network being unreachable. */
  function networkFailure(error: unknown, signal: AbortSignal | undefined, timeout: AbortSignal | undefined): TandemError {
    if (TandemError.isInstance(error)) return error;
    if (signal?.aborted) return new TandemError("aborted", "Request aborted", { cause: error });
    if (timeout?.aborted) return new TandemError("upstream_timeout", `Model '${id}' did not answer within ${options.timeoutMs} ms`, { cause: error });
    return new TandemError("upstream_error", `Model '${id}' is unreachable: ${(error as Error)?.message ?? String(error)}`, { cause: error });
  }

  /** This call's info: the gateway's own (its decisions, calls and cost) when it sent one, else a leaf call at `price`. */
  function infoOf(usage: TokenUsage, latencyMs: number, remote: RemoteTandem | undefined): CollaborationInfo {
    if (!remote) return leafInfo(model, usage, latencyMs, costOf(price, usage));
    return {
      servedBy: remote.served_by,
      calls: remote.calls.map((c) => ({ ...c, location: "cloud" as const })),
      decisions: remote.decisions,
      escalated: remote.escalated,
      costUsd: remote.cost_usd,
      strongOnlyCostUsd: remote.strong_only_cost_usd,
      ...(remote.degraded ? { degraded: true } : {}),
    };
  }

  async function generate(request: GenerateRequest, signal?: AbortSignal): Promise<GenerateResult> {
    const { response, started, timeout } = await send(request, false, signal);
    let body: WireBody;
    try {
      body = (await response.json()) as WireBody;
    } catch (error) {
      throw TandemError.isInstance(error) ? error : signal?.aborted || timeout?.aborted ? networkFailure(error, signal, timeout) : new TandemError("upstream_error", `Model '${id}' sent a body that is not JSON`, { cause: error });
    }
    const choice = body.choices?.[0];
    if (!choice) throw new TandemError("upstream_error", `Model '${id}' sent no choices`);
    const usage = { promptTokens: body.usage?.prompt_tokens ?? 0, completionTokens: body.usage?.completion_tokens ?? 0 };
    const logprobs = choice.logprobs?.content ?? undefined;
    return {
      text: choice.message?.content ?? "",
      ...(choice.message?.tool_calls?.length ? { toolCalls: choice.message.tool_calls } : {}),
      finishReason: finishOf(choice.finish_reason),
      usage,
      ...(logprobs ? { logprobs } : {}),
      info: infoOf(usage, performance.now() - started, body.tandem),
    };
  }

  async function* stream(request: GenerateRequest, signal?: AbortSignal): AsyncIterable<StreamPart> {
    const { response, started, timeout } = await send(request, true, signal);
    if (!response.body) throw new TandemError("upstream_error", `Model '${id}' sent no stream body`);
    const events: EventSourceMessage[] = [];
    const parser = createParser({ onEvent: (e) => events.push(e) });
    const reader = response.body.getReader();
    const decoder = new TextDecoder();
    let text = "";
    let finish: FinishReason = "stop";
    let usage: TokenUsage | undefined;
    let remote: RemoteTandem | undefined;
    const toolCalls = new Map<number, ChatToolCall>();
    const logprobs: TokenLogprob[] = [];
    let done = false;
    try {
      while (!done) {
        let chunk: Awaited<ReturnType<typeof reader.read>>;
        try {
          chunk = await reader.read();
        } catch (error) {
          throw networkFailure(error, signal, timeout);
        }
        if (chunk.done) break;
        parser.feed(decoder.decode(chunk.value, { stream: true }));
        for (const event of events.splice(0)) {
          if (event.data === "[DONE]") {
            done = true;
            break;
          }
          let body: WireBody;
          try {
            body = JSON.parse(event.data) as WireBody;
          } catch (error) {
            throw new TandemError("upstream_error", `Model '${id}' sent a stream event that is not JSON`, { cause: error });
          }
          if (body.error) throw new TandemError("upstream_error", `Model '${id}' failed mid-stream: ${body.error.message ?? "error event"}`);
          if (body.tandem) remote = body.tandem;
          if (body.usage) usage = { promptTokens: body.usage.prompt_tokens, completionTokens: body.usage.completion_tokens };
          const choice = body.choices?.[0];
          if (!choice) continue;
          if (choice.finish_reason) finish = finishOf(choice.finish_reason);
          if (choice.logprobs?.content) logprobs.push(...choice.logprobs.content);
          const delta = choice.delta;
          if (delta?.content) {
            text += delta.content;
            yield { type: "text", text: delta.content, ...(choice.logprobs?.content ? { logprobs: choice.logprobs.content } : {}) };
          }
          for (const d of delta?.tool_calls ?? []) {
            const call = toolCalls.get(d.index) ?? { id: "", type: "function" as const, function: { name: "", arguments: "" } };
            if (d.id) call.id = d.id;
            if (d.function?.name) call.function.name += d.function.name;
            if (d.function?.arguments) call.function.arguments += d.function.arguments;
            toolCalls.set(d.index, call);
            yield { type: "tool-call", delta: d };
          }
        }
      }
    } finally {
      void reader.cancel().catch(() => {});
    }
    if (!done && !usage && !remote) throw new TandemError("upstream_error", `Model '${id}': the stream ended before it finished`);
    const counted = usage ?? { promptTokens: 0, completionTokens: 0 };
    const calls = [...toolCalls.entries()].sort((a, b) => a[0] - b[0]).map(([, c]) => c);
    yield {
      type: "finish",
      result: {
        text,
        ...(calls.length ? { toolCalls: calls } : {}),
        finishReason: finish,
        usage: counted,
        ...(logprobs.length ? { logprobs } : {}),
        info: infoOf(counted, performance.now() - started, remote),
      },
    };
  }

  const model: Model = { id, location, price, generate, stream };
  return model;
}
