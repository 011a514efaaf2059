/**
 * The shadow evaluator (docs/shadow.md): after the primary path answered a request — its answer
 * already produced, traced and on its way to the client — a sampled share of requests is run
 * again through a *candidate* strategy, off the request path, to estimate what switching to it
 * would save and what it would cost in quality, before it is switched on. The practice is
 * "shadow" or "dark" launching (Google SRE; "online controlled experiments", Kohavi et al.);
 * the quality comparison is a pairwise LLM judge (MT-Bench, Zheng et al. 2023, see judge.ts).
 *
 * For one sampled request:
 * 1. the candidate's decision: for a `route` candidate, previewed without generating
 *    ({@link RoutePreview}: the router's score against the threshold picks its weak or strong
 *    side); for any other candidate, the candidate is run and its `info.servedBy` is its choice;
 * 2. when it would have served what the primary served (same model), the verdict is `same`, and
 *    the candidate's cost is the primary's (route preview) or its own run's;
 * 3. otherwise the candidate's answer is generated (route: its chosen side) and a pairwise judge
 *    compares it with the primary's, in random order → `win` / `tie` / `loss` (or `invalid`);
 * 4. one {@link ShadowRecord} is stored: both models and costs, verdict, judge cost, shadow cost,
 *    router score and threshold.
 *
 * Guarantees: the primary is never delayed or altered — {@link ShadowEvaluator.observe} only draws
 * the sampler, copies the request and schedules the work on a later turn of the event loop; at
 * most `maxConcurrent` evaluations run, a sampled request arriving when they are all busy is
 * dropped and counted; every failure (candidate down, judge down, store full) is caught, recorded
 * as verdict `error` and counted — it never reaches the client. Shadow spending is counted apart
 * (`shadowCostUsd`, {@link ShadowStats.costUsd}) and never charged to the caller's key. Memory
 * is read-only in a shadow run (strategies/personalize/caller.ts `runWithReadOnlyMemory`, as the
 * caller's tenant): a `personalize` candidate retrieves the user's memories as it would live,
 * but stores no fact a second time, and a per-user calibrated `route` links no decision to the
 * primary's trace.
 */
import { randomUUID } from "node:crypto";
import { TandemError } from "../core/errors.js";
import type { GenerateRequest, GenerateResult, Model, ModelCall } from "../core/model.js";
import type { ShadowRecord, ShadowSide, ShadowStore, ShadowVerdict } from "../store/shadow.js";
import { currentCaller, runWithReadOnlyMemory } from "../strategies/personalize/caller.js";
import type { PairwiseJudge } from "./judge.js";
import type { ShadowSampler } from "./sampler.js";

/** An answered request, as the gateway's pipeline reports it (its `onAnswer` hook). */
export interface ShadowEvent {
  /** The requested served name. */
  model: string;
  request: GenerateRequest;
  /** The primary answer, as sent to the client. */
  result: GenerateResult;
  /** The request's trace id. */
  traceId: string;
  /** The caller's API key name (absent on an open gateway). */
  key?: string;
}

/** A `route` candidate's decision, taken without generating. */
export interface RoutePreview {
  weak: Model;
  strong: Model;
  /** The router's decision for `request`: side, score in [0, 1], threshold. Errors: the router's. */
  decide(request: GenerateRequest): { side: "weak" | "strong"; score: number; threshold: number };
}

/** Options of {@link ShadowEvaluator}. */
export interface ShadowEvaluatorOptions {
  /** The served name whose traffic is shadowed. */
  model: string;
  /** The candidate strategy's name (in records and reports). */
  candidateName: string;
  /** The candidate strategy, as built by the policy (its own privacy wrapping applies). */
  candidate: Model;
  /** Set for a `route` candidate: its decision without generating. */
  route?: RoutePreview;
  /** Absent: verdicts are `unjudged` (decisions and costs only). */
  judge?: PairwiseJudge;
  store: ShadowStore;
  sampler: ShadowSampler;
  /** Evaluations in flight at most (≥ 1). Default 2. */
  maxConcurrent?: number;
  /** Route candidates: also run and judge the other side when the chosen one is the primary's (full threshold sweep). Default false. */
  explore?: boolean;
  /** Time limit of one evaluation, ms. Default 120,000. */
  timeoutMs?: number;
  /** Clock (epoch ms). Default Date.now. */
  now?: () => number;
}

/** Counters of one evaluator, cumulative since it was created. */
export interface ShadowStats {
  /** Answered requests observed. */
  seen: number;
  /** Requests the sampler selected (dropped ones included). */
  sampled: number;
  /** Sampled requests dropped because `maxConcurrent` evaluations were running (or the evaluator was closed). */
  dropped: number;
  /** Records stored. */
  recorded: number;
  /** Evaluations that ended in verdict `error`, or whose record could not be stored. */
  failed: number;
  /** USD spent by shadow evaluations (candidate generations and judge calls). */
  costUsd: number;
  /** Evaluations running now. */
  inFlight: number;
}

/** Shadow evaluation of one candidate strategy on one served name's traffic (see the module doc). */
export class ShadowEvaluator {
  readonly stats: ShadowStats = { seen: 0, sampled: 0, dropped: 0, recorded: 0, failed: 0, costUsd: 0, inFlight: 0 };
  private readonly maxConcurrent: number;
  private readonly timeoutMs: number;
  private readonly now: () => number;
  private readonly running = new Set<Promise<void>>();
  private readonly controllers = new Set<AbortController>();
  private closed = false;

  /** Errors: RangeError for `maxConcurrent` < 1. */
  constructor(readonly options: ShadowEvaluatorOptions) {
    this.maxConcurrent = options.maxConcurrent ?? 2;
    if (!(this.maxConcurrent >= 1)) throw new RangeError("shadow maxConcurrent must be ≥ 1");
    this.timeoutMs = options.timeoutMs ?? 120_000;
    this.now = options.now ?? Date.now;
  }

  /**
   * Called once per answered request of the served name, after its answer was produced. Draws the
   * sampler; when sampled and a slot is free, schedules an evaluation (on a later event-loop turn)
   * and returns true. Never throws, never awaits.
   */
  observe(event: ShadowEvent): boolean {
    try {
      this.stats.seen++;
      if (!this.options.sampler.next()) return false;
      this.stats.sampled++;
      if (this.closed || this.stats.inFlight >= this.maxConcurrent) {
        this.stats.dropped++;
        return false;
      }
      this.stats.inFlight++;
      // a copy: nothing the shadow does can reach the primary's objects
      const copy: ShadowEvent = { ...event, request: structuredClone(event.request), result: { ...event.result, info: { ...event.result.info } } };
      const task = new Promise<void>((resolve) => setImmediate(resolve))
        .then(() => this.run(copy))
        .finally(() => {
          this.stats.inFlight--;
          this.running.delete(task);
        });
      this.running.add(task);
      return true;
    } catch (error) {
      console.error(`tandem: shadow '${this.options.model}': ${(error as Error).message}`);
      return false;
    }
  }

  /** Resolves when no evaluation is running (tests, benches, shutdown). */
  async idle(): Promise<void> {
    while (this.running.size > 0) await Promise.all([...this.running]);
  }

  /** Stops sampling, aborts running evaluations after `graceMs` (default 0), waits for them. Idempotent. */
  async close(graceMs = 0): Promise<void> {
    this.closed = true;
    if (graceMs > 0 && this.running.size > 0) {
      let timer: ReturnType<typeof setTimeout> | undefined;
      await Promise.race([this.idle(), new Promise<void>((r) => (timer = setTimeout(r, graceMs)))]);
      clearTimeout(timer);
    }
    for (const c of this.controllers) c.abort(new TandemError("aborted", "shadow evaluator closed"));
    await this.idle();
  }

  /** One evaluation, stored and counted; failures are recorded, never thrown. */
  private async run(event: ShadowEvent): Promise<void> {
    const controller = new AbortController();
    this.controllers.add(controller);
    const timer = setTimeout(() => controller.abort(new TandemError("upstream_timeout", `shadow evaluation timed out after ${this.timeoutMs} ms`)), this.timeoutMs);
    try {
      const record = await this.evaluate(event, controller.signal);
      this.stats.costUsd += record.shadowCostUsd;
      if (record.verdict === "error") this.stats.failed++;
      try {
        this.options.store.record(record);
        this.stats.recorded++;
      } catch (error) {
        this.stats.failed++;
        console.error(`tandem: shadow '${this.options.model}': could not store record: ${(error as Error).message}`);
      }
    } catch (error) {
      this.stats.failed++;
      console.error(`tandem: shadow '${this.options.model}': ${(error as Error).message}`);
    } finally {
      clearTimeout(timer);
      this.controllers.delete(controller);
    }
  }

  /**
   * Evaluates one answered request and returns its record (not stored: {@link observe} stores).
   * Never throws for a candidate's or judge's failure: the record says `error`. Runs with memory
   * read-only, as the event's tenant (`key`, else the current caller's, else `""`).
   */
  evaluate(event: ShadowEvent, signal?: AbortSignal): Promise<ShadowRecord> {
    return runWithReadOnlyMemory(event.key ?? currentCaller()?.tenant ?? "", () => this.evaluateOnce(event, signal));
  }

  private async evaluateOnce(event: ShadowEvent, signal?: AbortSignal): Promise<ShadowRecord> {
    const { request, result } = event;
    const primaryModel = result.info.servedBy;
    const primaryCostUsd = result.info.costUsd;
    let shadowCostUsd = 0;
    let judgeCostUsd = 0;
    const spent = (calls: readonly ModelCall[] | undefined) => {
      for (const c of calls ?? []) shadowCostUsd += c.costUsd;
    };
    const base = {
      id: randomUUID(),
      traceId: event.traceId,
      ...(event.key !== undefined ? { key: event.key } : {}),
      model: event.model,
      candidate: this.options.candidateName,
      sample: this.options.sampler.rate,
      primaryModel,
      primaryCostUsd,
    };
    const isPrimary = (id: string) => id === primaryModel || id === event.model;

    /** Generates with `model` and judges its answer against the primary's. */
    const compare = async (model: Model): Promise<{ servedBy?: string; costUsd?: number; verdict: ShadowVerdict; error?: string }> => {
      let alt: GenerateResult;
      try {
        alt = await model.generate(structuredClone(request), signal);
      } catch (error) {
        spent(TandemError.isInstance(error) ? error.calls : undefined);
        return { verdict: "error", error: `candidate: ${(error as Error).message}` };
      }
      spent(alt.info.calls);
      if (alt.info.servedBy === primaryModel) return { servedBy: alt.info.servedBy, costUsd: alt.info.costUsd, verdict: "same" };
      const judged = await this.judgeAgainst(event, alt, signal);
      judgeCostUsd += judged.costUsd;
      shadowCostUsd += judged.costUsd;
      return { servedBy: alt.info.servedBy, costUsd: alt.info.costUsd, verdict: judged.verdict, ...(judged.error ? { error: judged.error } : {}) };
    };

    const route = this.options.route;
    if (route) {
      let decided: ReturnType<RoutePreview["decide"]>;
      try {
        decided = route.decide(request);
      } catch (error) {
        return { ...base, createdAt: this.now(), differs: false, verdict: "error", judgeCostUsd, shadowCostUsd, error: `router: ${(error as Error).message}` };
      }
      const sides: { weak: ShadowSide; strong: ShadowSide } = { weak: { model: route.weak.id }, strong: { model: route.strong.id } };
      const other = decided.side === "weak" ? "strong" : "weak";
      let chosenServedBy: string | undefined;
      let error: string | undefined;
      for (const side of [decided.side, other] as const) {
        const model = route[side];
        if (isPrimary(model.id)) {
          sides[side] = { model: model.id, costUsd: primaryCostUsd, verdict: "same" };
          if (side === decided.side) chosenServedBy = primaryModel;
          continue;
        }
        if (side !== decided.side && !this.options.explore) continue;
        const r = await compare(model);
        sides[side] = { model: model.id, ...(r.costUsd !== undefined ? { costUsd: r.costUsd } : {}), verdict: r.verdict };
        if (side === decided.side) {
          chosenServedBy = r.servedBy;
          error = r.error;
        }
      }
      const chosen = sides[decided.side];
      return {
        ...base,
        createdAt: this.now(),
        candidateModel: chosenServedBy ?? chosen.model,
        ...(chosen.costUsd !== undefined ? { candidateCostUsd: chosen.costUsd } : {}),
        differs: chosen.verdict !== "same",
        verdict: chosen.verdict ?? "error",
        judgeCostUsd,
        shadowCostUsd,
        routerScore: decided.score,
        threshold: decided.threshold,
        sides,
        ...(error ? { error } : {}),
      };
    }

    // any other candidate: run it; its served model is its choice
    const r = await compare(this.options.candidate);
    return {
      ...base,
      createdAt: this.now(),
      ...(r.servedBy !== undefined ? { candidateModel: r.servedBy } : {}),
      ...(r.costUsd !== undefined ? { candidateCostUsd: r.costUsd } : {}),
      differs: r.verdict !== "same",
      verdict: r.verdict,
      judgeCostUsd,
      shadowCostUsd,
      ...(r.error ? { error: r.error } : {}),
    };
  }

  private async judgeAgainst(event: ShadowEvent, candidate: GenerateResult, signal?: AbortSignal): Promise<{ verdict: ShadowVerdict; costUsd: number; error?: string }> {
    const judge = this.options.judge;
    if (!judge) return { verdict: "unjudged", costUsd: 0 };
    try {
      const j = await judge.judge({ request: event.request, primary: event.result, candidate }, signal);
      return { verdict: j.verdict, costUsd: j.costUsd };
    } catch (error) {
      const calls = TandemError.isInstance(error) ? error.calls : undefined;
      return { verdict: "error", costUsd: (calls ?? []).reduce((s, c) => s + c.costUsd, 0), error: `judge: ${(error as Error).message}` };
    }
  }
}
