/**
 * `tandem shadow report`'s numbers, from stored {@link ShadowRecord}s (docs/shadow.md):
 *
 * - **decisions**: how many sampled requests, the share where the candidate would have served a
 *   different model (Wilson 95 % interval);
 * - **cost**: USD the primary spent on the sampled requests, USD the candidate would have spent,
 *   estimated savings (USD and share of the primary's spend, percentile-bootstrap 95 % interval
 *   over requests), the same extrapolated to all traffic (÷ sampling rate), and what the shadow
 *   itself spent (candidate generations + judge);
 * - **quality**: the candidate's win / tie / loss rates against the primary among judged requests
 *   (a request where it chose the same model counts as a tie; Wilson 95 % intervals), and the net
 *   quality change = win rate − loss rate, with a 95 % interval (below);
 * - **threshold** (a `route` candidate): a sweep over the recorded router scores. At threshold t a
 *   request goes to the route's strong side when score > t, else its weak side; its saving and
 *   verdict are those recorded for that side. The recommended threshold maximises the savings
 *   share subject to the net quality change's lower 95 % bound ≥ −`maxQualityDrop`. A threshold
 *   is evaluable only where every request's needed side was observed: without `explore`, when the
 *   candidate agreed with the primary the other side was not run, so (for a strong-only primary)
 *   only thresholds at or below the candidate's own are evaluable.
 *
 * The net change's interval is the adjusted Wald interval of a difference of matched proportions
 * (Agresti & Min 2005: half a pseudo-observation added to each cell of the paired 2×2 table, so
 * a small sample with no observed loss does not get a zero-width interval) on d ∈ {−1, 0, +1}
 * per request. It is cheap enough to evaluate at every threshold of the sweep; bench/shadow.ts
 * measures its coverage.
 */
import { seededRandom } from "../core/random.js";
import type { ShadowRecord, ShadowSide, ShadowVerdict } from "../store/shadow.js";

/** A 95 % (or other) interval, as [low, high]. */
export type Interval = [number, number];

/** Normal quantile of a two-sided 95 % interval. */
export const Z95 = 1.959963984540054;

/**
 * Wilson score interval of a binomial proportion k/n (Wilson 1927): [0, 1] when n = 0.
 * Errors: RangeError for k outside 0..n.
 */
export function wilsonInterval(k: number, n: number, z = Z95): Interval {
  if (n === 0) return [0, 1];
  if (!(k >= 0 && k <= n)) throw new RangeError(`wilson: k=${k} outside 0..${n}`);
  const p = k / n;
  const z2 = z * z;
  const centre = (p + z2 / (2 * n)) / (1 + z2 / n);
  const half = (z / (1 + z2 / n)) * Math.sqrt((p * (1 - p)) / n + z2 / (4 * n * n));
  return [Math.max(0, centre - half), Math.min(1, centre + half)];
}

/**
 * The net change (wins − losses)/n of paired verdicts and its 95 % interval: Wald on the mean of
 * d ∈ {+1 win, 0 tie, −1 loss} with half a pseudo-win and half a pseudo-loss added and n + 2
 * (Agresti & Min 2005, see the module doc).
 * n = 0 gives change 0 and [−1, 1].
 */
export function netChangeInterval(wins: number, ties: number, losses: number, z = Z95): { change: number; interval: Interval } {
  const n = wins + ties + losses;
  if (n === 0) return { change: 0, interval: [-1, 1] };
  const change = (wins - losses) / n;
  const w = wins + 0.5;
  const l = losses + 0.5;
  const m = n + 2;
  const mean = (w - l) / m;
  const variance = (w + l) / m - mean * mean; // E[d²] − E[d]²
  const half = z * Math.sqrt(Math.max(0, variance) / m);
  return { change, interval: [Math.max(-1, mean - half), Math.min(1, mean + half)] };
}

/**
 * Percentile-bootstrap 95 % interval (Efron) of the ratio Σ num / Σ den over items resampled with
 * replacement, `resamples` times, seeded. Returns [NaN, NaN] for no items.
 */
export function bootstrapRatioInterval(num: readonly number[], den: readonly number[], options: { resamples?: number; seed?: number } = {}): Interval {
  const n = num.length;
  if (n === 0) return [Number.NaN, Number.NaN];
  const resamples = options.resamples ?? 2000;
  const random = seededRandom(options.seed ?? 0);
  const stats: number[] = [];
  for (let b = 0; b < resamples; b++) {
    let a = 0;
    let d = 0;
    for (let i = 0; i < n; i++) {
      const j = Math.floor(random() * n);
      a += num[j];
      d += den[j];
    }
    stats.push(d === 0 ? 0 : a / d);
  }
  stats.sort((x, y) => x - y);
  const at = (q: number) => stats[Math.min(resamples - 1, Math.max(0, Math.floor(q * resamples)))];
  return [at(0.025), at(0.975)];
}

/** A rate with its 95 % interval. */
export interface Rate {
  count: number;
  /** The base of the share. */
  n: number;
  /** count / n. */
  share: number;
  interval: Interval;
}

/** One threshold of the sweep. */
export interface ThresholdPoint {
  /** Router-score threshold: score > threshold → strong side. */
  threshold: number;
  /** Share of the swept requests sent to the weak side. */
  weakShare: number;
  /** Estimated savings as a share of the primary's spend on the swept requests (may be negative). */
  savingsShare: number;
  /** Net quality change (win − loss rate) vs the primary, with its 95 % interval. */
  netChange: number;
  netChangeInterval: Interval;
  /** True when this and every lower threshold have a net-change lower bound ≥ −maxQualityDrop (fixed-sequence testing). */
  feasible: boolean;
}

/** What {@link shadowReport} computes (see the module doc). Units: USD, shares in [0, 1]. */
export interface ShadowReport {
  /** Records read. */
  n: number;
  /** Records whose candidate or judge failed (`error`), whose judge output did not parse (`invalid`), or that were not judged (no judge). */
  errors: number;
  invalid: number;
  unjudged: number;
  /** Where the candidate would have served a different model (over records with a decision). */
  differ: Rate;
  cost: {
    /** Records with a known candidate cost: the cost estimates' base. */
    n: number;
    primaryUsd: number;
    candidateUsd: number;
    savingsUsd: number;
    savingsShare: number;
    savingsShareInterval: Interval;
    /** savingsUsd ÷ each record's sampling rate, summed: the estimate for all traffic over the same period. */
    extrapolatedSavingsUsd: number;
    /** What the shadow evaluations spent (candidate generations + judge). */
    shadowUsd: number;
    judgeUsd: number;
  };
  quality: {
    /** Judged records (win, tie, loss, same). */
    n: number;
    win: Rate;
    tie: Rate;
    loss: Rate;
    /** win − loss rate: the candidate's quality change vs the primary (> 0: better). */
    netChange: number;
    netChangeInterval: Interval;
  };
  /** For a `route` candidate (records with router scores). */
  threshold?: {
    /** The candidate's configured threshold (the latest record's). */
    current: number;
    /** The largest saving whose net-change lower bound ≥ −maxQualityDrop; absent when none is. */
    recommended?: ThresholdPoint;
    maxQualityDrop: number;
    /** Evaluable thresholds, ascending. */
    sweep: ThresholdPoint[];
    /** Records left out of the sweep (no usable verdict on either side). */
    excluded: number;
  };
}

/** Options of {@link shadowReport}. */
export interface ShadowReportOptions {
  /** Largest acceptable net quality drop (share of requests) for the recommended threshold. Default 0.02. */
  maxQualityDrop?: number;
  /** Bootstrap resamples of the savings interval. Default 2000. */
  resamples?: number;
  /** Seed of the bootstrap. Default 0. */
  seed?: number;
}

const JUDGED: ReadonlySet<ShadowVerdict> = new Set(["win", "tie", "loss", "same"]);

/** The report of `records` (any order; one candidate on one served name is what makes sense). */
export function shadowReport(records: readonly ShadowRecord[], options: ShadowReportOptions = {}): ShadowReport {
  const maxQualityDrop = options.maxQualityDrop ?? 0.02;
  const count = (v: ShadowVerdict) => records.filter((r) => r.verdict === v).length;
  const decided = records.filter((r) => r.candidateModel !== undefined);
  const differs = decided.filter((r) => r.differs).length;

  const costed = records.filter((r) => r.candidateCostUsd !== undefined);
  const primary = costed.map((r) => r.primaryCostUsd);
  const saved = costed.map((r) => r.primaryCostUsd - r.candidateCostUsd!);
  const primaryUsd = sum(primary);
  const candidateUsd = sum(costed.map((r) => r.candidateCostUsd!));
  const savingsUsd = primaryUsd - candidateUsd;

  const judged = records.filter((r) => JUDGED.has(r.verdict));
  const wins = judged.filter((r) => r.verdict === "win").length;
  const losses = judged.filter((r) => r.verdict === "loss").length;
  const ties = judged.length - wins - losses;
  const net = netChangeInterval(wins, ties, losses);

  const report: ShadowReport = {
    n: records.length,
    errors: count("error"),
    invalid: count("invalid"),
    unjudged: count("unjudged"),
    differ: rate(differs, decided.length),
    cost: {
      n: costed.length,
      primaryUsd,
      candidateUsd,
      savingsUsd,
      savingsShare: primaryUsd === 0 ? 0 : savingsUsd / primaryUsd,
      savingsShareInterval: bootstrapRatioInterval(saved, primary, { resamples: options.resamples, seed: options.seed }),
      extrapolatedSavingsUsd: sum(costed.map((r) => (r.primaryCostUsd - r.candidateCostUsd!) / (r.sample > 0 ? r.sample : 1))),
      shadowUsd: sum(records.map((r) => r.shadowCostUsd)),
      judgeUsd: sum(records.map((r) => r.judgeCostUsd)),
    },
    quality: { n: judged.length, win: rate(wins, judged.length), tie: rate(ties, judged.length), loss: rate(losses, judged.length), netChange: net.change, netChangeInterval: net.interval },
  };
  const routed = records.filter((r) => r.routerScore !== undefined && r.sides !== undefined);
  if (routed.length > 0) report.threshold = thresholdSweep(routed, maxQualityDrop);
  return report;
}

/** A side's contribution at some threshold: saving (USD) and d ∈ {−1, 0, 1}, or undefined when not observed. */
function outcome(r: ShadowRecord, side: ShadowSide): { saved: number; d: number; same: boolean } | undefined {
  if (side.costUsd === undefined || side.verdict === undefined || !JUDGED.has(side.verdict)) return undefined;
  return { saved: r.primaryCostUsd - side.costUsd, d: side.verdict === "win" ? 1 : side.verdict === "loss" ? -1 : 0, same: side.verdict === "same" };
}

/**
 * The threshold sweep over route records (see the module doc), in O(n log n): thresholds at 0,
 * the current one and every recorded score, ascending (more traffic to the weak side as t grows).
 * Feasibility is decided by fixed-sequence testing ("Learn then Test", Angelopoulos et al. 2021):
 * thresholds are tested in ascending order and the first one whose net-change lower bound falls
 * below −maxQualityDrop ends the sequence — it and every later one are infeasible (a threshold at
 * which no sampled request changes model is the status quo, feasible untested) — which keeps
 * the chance that the recommended threshold's true drop exceeds the tolerance near the interval's
 * one-sided 2.5 % despite choosing among many thresholds (picking the best of all of them would
 * not: the winner's curse). The recommendation is the largest saving in the feasible prefix.
 */
export function thresholdSweep(records: readonly ShadowRecord[], maxQualityDrop = 0.02): NonNullable<ShadowReport["threshold"]> {
  const latest = records.reduce((a, b) => (b.createdAt >= a.createdAt ? b : a));
  const current = latest.threshold ?? 0.5;
  const rows = records
    .map((r) => ({ score: clamp01(r.routerScore!), weak: outcome(r, r.sides!.weak), strong: outcome(r, r.sides!.strong), primary: r.primaryCostUsd }))
    .filter((x) => x.weak !== undefined || x.strong !== undefined)
    .sort((a, b) => a.score - b.score);
  const n = rows.length;
  const primaryUsd = sum(rows.map((x) => x.primary));
  // start: every request on the strong side (t below every score)
  let saved = 0;
  let wins = 0;
  let losses = 0;
  let uncovered = 0;
  let changed = 0;
  let weakN = 0;
  const add = (o: { saved: number; d: number; same: boolean } | undefined, sign: 1 | -1) => {
    if (!o) {
      uncovered += sign;
      return;
    }
    if (!o.same) changed += sign;
    saved += sign * o.saved;
    if (o.d > 0) wins += sign;
    else if (o.d < 0) losses += sign;
  };
  for (const x of rows) add(x.strong, 1);
  const thresholds = [...new Set([0, current, ...rows.map((x) => x.score)])].sort((a, b) => a - b);
  const sweep: ThresholdPoint[] = [];
  let next = 0;
  let failed = false;
  for (const t of thresholds) {
    // requests with score ≤ t move to the weak side
    while (next < n && !(rows[next].score > t)) {
      add(rows[next].strong, -1);
      add(rows[next].weak, 1);
      weakN++;
      next++;
    }
    if (uncovered > 0 || n === 0) continue;
    const net = netChangeInterval(wins, n - wins - losses, losses);
    // a threshold at which every sampled request keeps the primary's model is the status quo: feasible, not tested
    const ok = !failed && (changed === 0 || net.interval[0] >= -maxQualityDrop);
    if (!ok) failed = true;
    sweep.push({ threshold: t, weakShare: weakN / n, savingsShare: primaryUsd === 0 ? 0 : saved / primaryUsd, netChange: net.change, netChangeInterval: net.interval, feasible: ok });
  }
  const recommended = sweep
    .filter((p) => p.feasible)
    .reduce<ThresholdPoint | undefined>((best, p) => (!best || p.savingsShare > best.savingsShare + 1e-12 || (Math.abs(p.savingsShare - best.savingsShare) <= 1e-12 && p.netChange > best.netChange) ? p : best), undefined);
  return { current, ...(recommended ? { recommended } : {}), maxQualityDrop, sweep, excluded: records.length - n };
}

function rate(count: number, n: number): Rate {
  return { count, n, share: n === 0 ? 0 : count / n, interval: wilsonInterval(count, n) };
}

function sum(xs: readonly number[]): number {
  let s = 0;
  for (const x of xs) s += x;
  return s;
}

const clamp01 = (x: number) => Math.min(1, Math.max(0, x));

/** The report as the CLI prints it (human-readable lines). */
export function formatShadowReport(report: ShadowReport, label = ""): string {
  const pct = (x: number) => `${(x * 100).toFixed(1)} %`;
  const ci = (i: Interval) => `[${pct(i[0])}, ${pct(i[1])}]`;
  const usd = (x: number) => `$${x.toFixed(6)}`;
  const lines = [
    `shadow report${label ? ` — ${label}` : ""}: ${report.n} sampled request(s)` +
      (report.errors || report.invalid || report.unjudged ? ` (${report.errors} error, ${report.invalid} invalid verdict, ${report.unjudged} unjudged)` : ""),
    `  decision differed: ${report.differ.count}/${report.differ.n} = ${pct(report.differ.share)} ${ci(report.differ.interval)}`,
    `  cost on the sampled requests: primary ${usd(report.cost.primaryUsd)}, candidate ${usd(report.cost.candidateUsd)}`,
    `  estimated savings: ${usd(report.cost.savingsUsd)} = ${pct(report.cost.savingsShare)} ${ci(report.cost.savingsShareInterval)}; all traffic ≈ ${usd(report.cost.extrapolatedSavingsUsd)}`,
    `  shadow spend (not charged to keys): ${usd(report.cost.shadowUsd)} (judge ${usd(report.cost.judgeUsd)})`,
    report.quality.n === 0
      ? "  quality: no judged requests"
      : `  quality vs primary (${report.quality.n} judged): win ${pct(report.quality.win.share)} ${ci(report.quality.win.interval)}, tie ${pct(report.quality.tie.share)}, loss ${pct(report.quality.loss.share)} ${ci(report.quality.loss.interval)}; net change ${signed(report.quality.netChange)} ${ci(report.quality.netChangeInterval)}`,
  ];
  const t = report.threshold;
  if (t) {
    lines.push(`  router threshold: current ${t.current.toFixed(4)}; ${t.sweep.length} evaluable threshold(s)${t.excluded ? `, ${t.excluded} record(s) excluded` : ""}`);
    lines.push(
      t.recommended
        ? `  recommended threshold: ${t.recommended.threshold.toFixed(4)} → weak share ${pct(t.recommended.weakShare)}, savings ${pct(t.recommended.savingsShare)}, net quality ${signed(t.recommended.netChange)} ${ci(t.recommended.netChangeInterval)} (lower bound ≥ −${pct(t.maxQualityDrop)})`
        : `  recommended threshold: none keeps the net quality drop within ${pct(t.maxQualityDrop)} at 95 %`,
    );
  }
  return lines.join("\n");
}

const signed = (x: number) => `${x >= 0 ? "+" : ""}${(x * 100).toFixed(1)} pp`;
