/**
 * Prometheus counters of shadow evaluation, read from the evaluators at each scrape:
 * `tandem_shadow_sampled_total`, `tandem_shadow_dropped_total`, `tandem_shadow_failed_total`,
 * `tandem_shadow_recorded_total` and `tandem_shadow_cost_usd_total` (USD the shadow spent — never
 * charged to a key), each labelled by the shadowed served name.
 */
import { Counter, type Registry } from "prom-client";
import type { ShadowEvaluator, ShadowStats } from "./evaluator.js";

const COUNTERS: Array<[string, string, keyof ShadowStats]> = [
  ["tandem_shadow_sampled_total", "Answered requests selected for shadow evaluation (dropped ones included)", "sampled"],
  ["tandem_shadow_dropped_total", "Sampled requests dropped because the shadow's concurrency limit was reached", "dropped"],
  ["tandem_shadow_failed_total", "Shadow evaluations whose candidate or judge failed, or whose record could not be stored", "failed"],
  ["tandem_shadow_recorded_total", "Shadow records stored", "recorded"],
  ["tandem_shadow_cost_usd_total", "USD spent by shadow evaluations (candidate generations and judge calls), not charged to any key", "costUsd"],
];

/** Registers the counters on `registry` (once per registry; later calls are no-ops). */
export function registerShadowMetrics(registry: Registry, evaluators: ReadonlyMap<string, ShadowEvaluator>): void {
  for (const [name, help, field] of COUNTERS) {
    if (registry.getSingleMetric(name)) continue;
    new Counter({
      name,
      help,
      labelNames: ["model"],
      registers: [registry],
      collect() {
        this.reset();
        for (const [model, e] of evaluators) this.inc({ model }, e.stats[field]);
      },
    });
  }
}
