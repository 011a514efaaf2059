/**
 * Prometheus metrics of the gateway (prom-client): requests, latency, tokens, USD cost, USD saved
 * versus the strong model alone, escalations — per requested model (strategy) and serving model —
 * and the gateway's own overhead per request (`tandem_overhead_ms`, ms).
 * Tokens and cost count every request that was charged, failed or not (an aborted, timed-out or
 * broken stream is charged what was generated); savings, escalations and degradations count
 * answered (200) requests only.
 */
import { Counter, Histogram, Registry, collectDefaultMetrics } from "prom-client";
import type { Trace } from "../store/traces.js";

/** One registry per gateway, so several gateways in one process do not clash. */
export class GatewayMetrics {
  readonly registry = new Registry();
  private readonly requests: Counter<"model" | "served_by" | "status">;
  private readonly latency: Histogram<"model" | "stream">;
  private readonly overhead: Histogram<"model" | "stream">;
  private readonly tokens: Counter<"model" | "served_by" | "kind">;
  private readonly cost: Counter<"model">;
  private readonly saved: Counter<"model">;
  private readonly escalations: Counter<"model">;
  private readonly degraded: Counter<"model">;
  private readonly feedback: Counter<"verdict">;
  private readonly overrun: Counter<"model">;
  private readonly overruns: Counter<"model">;

  constructor(options: { defaultMetrics?: boolean } = {}) {
    if (options.defaultMetrics ?? true) collectDefaultMetrics({ register: this.registry, prefix: "tandem_process_" });
    const registers = [this.registry];
    this.requests = new Counter({ name: "tandem_requests_total", help: "Chat completion requests", labelNames: ["model", "served_by", "status"], registers });
    this.latency = new Histogram({
      name: "tandem_request_duration_seconds",
      help: "End-to-end request latency in seconds",
      labelNames: ["model", "stream"],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
      registers,
    });
    this.overhead = new Histogram({
      name: "tandem_overhead_ms",
      help: "Gateway overhead per request in milliseconds: its latency minus the upstream calls' (x-tandem-overhead-ms)",
      labelNames: ["model", "stream"],
      buckets: [0.1, 0.25, 0.5, 1, 2, 5, 10, 25, 50, 100, 250, 1000],
      registers,
    });
    this.tokens = new Counter({ name: "tandem_tokens_total", help: "Tokens of the serving model", labelNames: ["model", "served_by", "kind"], registers });
    this.cost = new Counter({ name: "tandem_cost_usd_total", help: "USD spent on all model calls", labelNames: ["model"], registers });
    this.saved = new Counter({ name: "tandem_saved_usd_total", help: "USD saved versus the strong model alone for the same tokens", labelNames: ["model"], registers });
    this.escalations = new Counter({ name: "tandem_escalations_total", help: "Requests escalated to a strong model", labelNames: ["model"], registers });
    this.degraded = new Counter({ name: "tandem_degraded_total", help: "Requests served by a fallback", labelNames: ["model"], registers });
    this.feedback = new Counter({ name: "tandem_feedback_total", help: "User feedback received (score ≥ 0.5 = positive)", labelNames: ["verdict"], registers });
    this.overrun = new Counter({
      name: "tandem_reservation_overrun_usd_total",
      help: "USD charged beyond the budget reservation admitted for the request (an upstream that ignored max_tokens, or a strategy that made more calls than reserved)",
      labelNames: ["model"],
      registers,
    });
    this.overruns = new Counter({ name: "tandem_reservation_overruns_total", help: "Requests charged more than their budget reservation", labelNames: ["model"], registers });
  }

  /** Records one finished request. */
  observe(t: Trace): void {
    const model = t.model || "unknown";
    const servedBy = t.servedBy ?? "none";
    this.requests.inc({ model, served_by: servedBy, status: String(t.status) });
    this.latency.observe({ model, stream: String(t.stream) }, t.latencyMs / 1000);
    if (t.overheadMs !== undefined && Number.isFinite(t.overheadMs)) this.overhead.observe({ model, stream: String(t.stream) }, t.overheadMs);
    if (t.status !== 200 && !(t.costUsd > 0 || t.promptTokens > 0 || t.completionTokens > 0)) return;
    this.tokens.inc({ model, served_by: servedBy, kind: "prompt" }, t.promptTokens);
    this.tokens.inc({ model, served_by: servedBy, kind: "completion" }, t.completionTokens);
    this.cost.inc({ model }, t.costUsd);
    if (t.status !== 200) return;
    this.saved.inc({ model }, Math.max(0, t.strongOnlyCostUsd - t.costUsd));
    if (t.escalated) this.escalations.inc({ model });
    if (t.degraded) this.degraded.inc({ model });
  }

  /** Records a request charged `usd` (> 0) more than its budget reservation. */
  observeOverrun(model: string, usd: number): void {
    if (!(usd > 0)) return;
    this.overrun.inc({ model: model || "unknown" }, usd);
    this.overruns.inc({ model: model || "unknown" });
  }

  /** Records one feedback score in [0, 1]. */
  observeFeedback(score: number): void {
    this.feedback.inc({ verdict: score >= 0.5 ? "positive" : "negative" });
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  render(): Promise<string> {
    return this.registry.metrics();
  }
}
