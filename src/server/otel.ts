/**
 * Optional OpenTelemetry spans (through `@opentelemetry/api` only: without an SDK registered by the
 * application they cost nothing). One span per traced request, named `chat <model>`, with the
 * OpenTelemetry GenAI semantic-convention attributes (`gen_ai.operation.name`,
 * `gen_ai.request.model`, `gen_ai.response.model`, `gen_ai.usage.input_tokens` /
 * `output_tokens`) and Tandem's own (`tandem.trace_id`, `tandem.cost_usd`,
 * `tandem.strong_only_cost_usd`, `tandem.escalated`, `tandem.degraded`,
 * `http.response.status_code`); each strategy decision is a span event, and each model call a
 * child span (`call <model>`, laid end to end from the request's start: calls carry durations, not
 * start times). The parent comes from the request's `traceparent` header when the application
 * registered a propagator.
 *
 * The span is emitted when the trace is recorded, with the request's real start and end times, so
 * the request path itself carries no tracing code.
 */
import { context, propagation, SpanKind, SpanStatusCode, trace as otel } from "@opentelemetry/api";
import type { Trace } from "../store/traces.js";

const tracer = () => otel.getTracer("tandem");

/** Emits the spans of one finished request. `headers`: the request's headers, for the parent context. Never throws. */
export function emitRequestSpan(t: Trace, headers: Record<string, string>): void {
  try {
    const parent = propagation.extract(context.active(), headers);
    const start = t.createdAt;
    const span = tracer().startSpan(
      `chat ${t.model || "unknown"}`,
      {
        kind: SpanKind.SERVER,
        startTime: start,
        attributes: {
          "gen_ai.operation.name": "chat",
          "gen_ai.request.model": t.model,
          ...(t.servedBy ? { "gen_ai.response.model": t.servedBy } : {}),
          "gen_ai.usage.input_tokens": t.promptTokens,
          "gen_ai.usage.output_tokens": t.completionTokens,
          "tandem.trace_id": t.id,
          "tandem.stream": t.stream,
          "tandem.cost_usd": t.costUsd,
          "tandem.strong_only_cost_usd": t.strongOnlyCostUsd,
          "tandem.escalated": t.escalated,
          "tandem.degraded": t.degraded,
          "http.response.status_code": t.status,
          ...(t.error ? { "error.type": t.error } : {}),
        },
      },
      parent,
    );
    for (const d of t.decisions) {
      span.addEvent(`tandem.decision ${d.strategy}`, {
        "tandem.strategy": d.strategy,
        "tandem.name": d.name,
        "tandem.signal": d.signal,
        "tandem.score": d.score,
        "tandem.threshold": d.threshold,
        "tandem.chosen": d.chosen,
        "tandem.escalated": d.escalated,
        "tandem.reason": d.reason,
      }, start);
    }
    const ctx = otel.setSpan(parent, span);
    let at = start;
    for (const c of t.calls) {
      const child = tracer().startSpan(
        `call ${c.model}`,
        {
          kind: SpanKind.CLIENT,
          startTime: at,
          attributes: {
            "gen_ai.operation.name": "chat",
            "gen_ai.request.model": c.model,
            "gen_ai.usage.input_tokens": c.promptTokens,
            "gen_ai.usage.output_tokens": c.completionTokens,
            "tandem.location": c.location,
            "tandem.role": c.role ?? "",
            "tandem.cost_usd": c.costUsd,
            ...(c.error ? { "error.type": "call_failed" } : {}),
          },
        },
        ctx,
      );
      if (c.error) child.setStatus({ code: SpanStatusCode.ERROR, message: c.error });
      at += c.latencyMs;
      child.end(at);
    }
    if (t.status >= 400) span.setStatus({ code: SpanStatusCode.ERROR, message: t.errorMessage ?? t.error });
    span.end(start + t.latencyMs);
  } catch (error) {
    console.error(`tandem: could not emit the OpenTelemetry span of ${t.id}: ${(error as Error).message}`);
  }
}
