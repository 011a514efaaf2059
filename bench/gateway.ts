/**
 * Gateway overhead benchmark: `npx tsx bench/gateway.ts` → bench/results/gateway.json.
 *
 * A fast loopback upstream (an OpenAI-compatible node:http server answering instantly with a
 * fixed completion, JSON and SSE) runs in one child process, the Tandem gateway in front of it
 * in another (bench/gateway-server.ts: createGatewayApp + an openai-compatible model, traces to
 * a temp SQLite file as in production, or off), and autocannon drives both from this process.
 * For each mode (JSON, SSE) and each rate (200 rps, 1,000 rps, unthrottled), the upstream is hit
 * directly and then through the gateway, back to back in the same run, so the difference is the
 * gateway's overhead: request validation, the openai SDK hop, response re-encoding, metrics and
 * the synchronous SQLite trace write. A soak then sends SOAK_REQUESTS requests through the
 * gateway while its RSS is sampled from /proc, and checks "RSS flat within 10 % after warm-up".
 *
 * Latencies are exact (every response's time from autocannon's `response` event, in ms, not
 * the integer-ms histogram); rate-limited runs are not corrected for coordinated omission.
 * Environment: RUN_S (seconds per run, default 8), SOAK_REQUESTS (default 100000), SOAK_MAX_S
 * (the soak's time cap, default 240 s; the requests actually sent are reported).
 * Bounded: about 4–6 minutes on 2 cores.
 */
import autocannon from "autocannon";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { cpus, loadavg, tmpdir, totalmem } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { startChild } from "./child.js";

const RUN_S = Number(process.env.RUN_S ?? 8);
const SOAK_REQUESTS = Number(process.env.SOAK_REQUESTS ?? 100_000);
/** The soak stops after this many seconds even if SOAK_REQUESTS were not all sent (the count is reported). */
const SOAK_MAX_S = Number(process.env.SOAK_MAX_S ?? 240);
const here = fileURLToPath(new URL(".", import.meta.url));



/** Resident set size of a process in MiB (Linux /proc). */
function rssMiB(pid: number): number {
  const m = readFileSync(`/proc/${pid}/status`, "utf8").match(/VmRSS:\s+(\d+) kB/);
  return m ? Number(m[1]) / 1024 : Number.NaN;
}

/** CPU time (user + system) of a process in ms (Linux /proc, 100 ticks/s). */
function cpuMs(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1].split(" ");
  return (Number(fields[11]) + Number(fields[12])) * 10; // utime, stime (fields 14, 15)
}

const quantile = (sorted: number[], q: number) => (sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] : Number.NaN);
const r3 = (x: number) => Math.round(x * 1000) / 1000;

interface RunResult {
  name: string;
  target: "upstream-direct" | "gateway";
  traces: "sqlite" | "off" | "n/a";
  model: string;
  mode: "json" | "sse";
  rateRps: number | "max";
  connections: number;
  durationS: number;
  requests: number;
  throughputRps: number;
  latencyMs: { p50: number; p90: number; p99: number; max: number; mean: number };
  errors: number;
  non2xx: number;
  /** Gateway process CPU per request, ms (gateway runs only). */
  gatewayCpuMsPerRequest?: number;
}

async function load(options: {
  name: string;
  url: string;
  model: string;
  mode: "json" | "sse";
  target: RunResult["target"];
  traces: RunResult["traces"];
  rate?: number;
  connections: number;
  durationS?: number;
  amount?: number;
  gatewayPid?: number;
  onTick?: () => void;
  maxS?: number;
}): Promise<RunResult> {
  const body = JSON.stringify({ model: options.model, messages: [{ role: "user", content: "What is 6 times 7?" }], max_tokens: 16, ...(options.mode === "sse" ? { stream: true } : {}) });
  const samples: number[] = [];
  const cpu0 = options.gatewayPid ? cpuMs(options.gatewayPid) : 0;
  const instance = autocannon({
    url: `${options.url}/v1/chat/completions`,
    method: "POST",
    headers: { "content-type": "application/json" },
    body,
    connections: options.connections,
    ...(options.rate ? { overallRate: options.rate } : {}),
    ...(options.amount ? { amount: options.amount } : { duration: options.durationS ?? RUN_S }),
    timeout: 10,
  });
  (instance as unknown as NodeJS.EventEmitter).on("response", (_client: unknown, statusCode: number, _bytes: number, responseTime: number) => {
    if (statusCode >= 200 && statusCode < 300) samples.push(responseTime);
  });
  const tick = options.onTick ? setInterval(options.onTick, 500) : undefined;
  const cap = options.maxS ? setTimeout(() => (instance as unknown as { stop(): void }).stop(), options.maxS * 1000) : undefined;
  const result = await instance;
  if (tick) clearInterval(tick);
  if (cap) clearTimeout(cap);
  const cpu1 = options.gatewayPid ? cpuMs(options.gatewayPid) : 0;
  samples.sort((a, b) => a - b);
  const total = result.requests.total;
  const run: RunResult = {
    name: options.name,
    target: options.target,
    traces: options.traces,
    model: options.model,
    mode: options.mode,
    rateRps: options.rate ?? "max",
    connections: options.connections,
    durationS: result.duration,
    requests: total,
    throughputRps: Math.round(total / result.duration),
    latencyMs: {
      p50: r3(quantile(samples, 0.5)),
      p90: r3(quantile(samples, 0.9)),
      p99: r3(quantile(samples, 0.99)),
      max: r3(samples.at(-1) ?? Number.NaN),
      mean: r3(samples.reduce((s, x) => s + x, 0) / Math.max(1, samples.length)),
    },
    errors: result.errors + result.timeouts,
    non2xx: result.non2xx,
    ...(options.gatewayPid ? { gatewayCpuMsPerRequest: r3((cpu1 - cpu0) / Math.max(1, total)) } : {}),
  };
  const l = run.latencyMs;
  console.log(
    `${run.name.padEnd(38)} ${String(run.throughputRps).padStart(6)} rps  p50 ${l.p50.toFixed(3)}  p99 ${l.p99.toFixed(3)}  max ${l.max.toFixed(1)} ms  err ${run.errors} non2xx ${run.non2xx}${run.gatewayCpuMsPerRequest !== undefined ? `  gw cpu ${run.gatewayCpuMsPerRequest} ms/req` : ""}`,
  );
  return run;
}

async function main() {
  const t0 = Date.now();
  const loadBefore = loadavg().map((x) => r3(x));
  const dir = mkdtempSync(join(tmpdir(), "tandem-bench-"));
  const upstream = await startChild(["upstream"]);
  const gateway = await startChild(["gateway", `${upstream.url}/v1`, join(dir, "traces.sqlite")]);
  const runs: RunResult[] = [];
  const overhead: Array<{ mode: string; rate: number | "max"; traces: string; addedP50Ms: number; addedP99Ms: number; throughputRatio?: number }> = [];
  try {
    // warm-up (JIT, connection pools, SQLite pages): not reported
    for (const mode of ["json", "sse"] as const) {
      await autocannon({ url: `${gateway.url}/v1/chat/completions`, method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ model: "up", messages: [{ role: "user", content: "hi" }], stream: mode === "sse" }), connections: 8, duration: 2 });
    }
    for (const mode of ["json", "sse"] as const) {
      for (const rate of [200, 1000, undefined]) {
        const connections = rate ? 10 : 16;
        const label = `${mode} @ ${rate ?? "max"} rps`;
        const direct = await load({ name: `direct   ${label}`, url: upstream.url, model: "fixed", mode, target: "upstream-direct", traces: "n/a", rate, connections });
        const via = await load({ name: `gateway  ${label} (traces on)`, url: gateway.url, model: "up", mode, target: "gateway", traces: "sqlite", rate, connections, gatewayPid: gateway.pid });
        runs.push(direct, via);
        overhead.push({
          mode,
          rate: rate ?? "max",
          traces: "sqlite",
          addedP50Ms: r3(via.latencyMs.p50 - direct.latencyMs.p50),
          addedP99Ms: r3(via.latencyMs.p99 - direct.latencyMs.p99),
          ...(rate ? {} : { throughputRatio: r3(via.throughputRps / direct.throughputRps) }),
        });
      }
    }
    runs.push(await load({ name: "gateway  json @ 1000 rps via fallback", url: gateway.url, model: "fb", mode: "json", target: "gateway", traces: "sqlite", rate: 1000, connections: 10, gatewayPid: gateway.pid }));

    // soak with traces on: RSS of the gateway process sampled every 500 ms
    const rss: Array<{ tS: number; rssMiB: number }> = [];
    const soakStart = Date.now();
    const sample = () => rss.push({ tS: r3((Date.now() - soakStart) / 1000), rssMiB: Math.round(rssMiB(gateway.pid) * 10) / 10 });
    sample();
    const soakRun = await load({ name: `soak     json ${SOAK_REQUESTS} requests`, url: gateway.url, model: "up", mode: "json", target: "gateway", traces: "sqlite", connections: 16, amount: SOAK_REQUESTS, maxS: SOAK_MAX_S, gatewayPid: gateway.pid, onTick: sample });
    sample();
    runs.push(soakRun);
    const warm = rss.filter((s) => s.tS >= rss.at(-1)!.tS * 0.2); // first 20 % of the soak is warm-up
    const values = warm.map((s) => s.rssMiB);
    const window = Math.max(1, Math.floor(values.length / 5));
    const mean = (xs: number[]) => xs.reduce((s, x) => s + x, 0) / xs.length;
    const first = mean(values.slice(0, window));
    const last = mean(values.slice(-window));
    const min = Math.min(...values);
    const max = Math.max(...values);
    const soak = {
      requested: SOAK_REQUESTS,
      capS: SOAK_MAX_S,
      requests: soakRun.requests,
      durationS: soakRun.durationS,
      warmupDefinition: "first 20 % of the soak's duration",
      rssMiB: { start: rss[0].rssMiB, afterWarmupMin: min, afterWarmupMax: max, firstWindowMean: r3(first), lastWindowMean: r3(last) },
      rangeAfterWarmupPct: r3(((max - min) / min) * 100),
      driftFirstToLastWindowPct: r3(((last - first) / first) * 100),
      flatWithin10Pct: (max - min) / min <= 0.1,
      samples: rss,
    };
    console.log(`soak RSS after warm-up ${min}–${max} MiB (range ${soak.rangeAfterWarmupPct} %, drift ${soak.driftFirstToLastWindowPct} %): ${soak.flatWithin10Pct ? "flat within 10 %" : "NOT flat within 10 %"}`);

    // traces off: same gateway code without the SQLite write
    await gateway.stop();
    const bare = await startChild(["gateway", `${upstream.url}/v1`, "off"]);
    try {
      await autocannon({ url: `${bare.url}/v1/chat/completions`, method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ model: "up", messages: [{ role: "user", content: "hi" }] }), connections: 8, duration: 2 });
      for (const [mode, rate] of [["json", 1000], ["json", undefined], ["sse", undefined]] as const) {
        const connections = rate ? 10 : 16;
        const via = await load({ name: `gateway  ${mode} @ ${rate ?? "max"} rps (traces off)`, url: bare.url, model: "up", mode, target: "gateway", traces: "off", rate, connections, gatewayPid: bare.pid });
        runs.push(via);
        const direct = runs.find((r) => r.target === "upstream-direct" && r.mode === mode && r.rateRps === (rate ?? "max"))!;
        overhead.push({ mode, rate: rate ?? "max", traces: "off", addedP50Ms: r3(via.latencyMs.p50 - direct.latencyMs.p50), addedP99Ms: r3(via.latencyMs.p99 - direct.latencyMs.p99), ...(rate ? {} : { throughputRatio: r3(via.throughputRps / direct.throughputRps) }) });
      }
    } finally {
      await bare.stop();
    }

    const out = {
      command: "npx tsx bench/gateway.ts",
      date: new Date().toISOString(),
      machine: { cpus: cpus().length, cpuModel: cpus()[0]?.model, memoryGiB: Math.round(totalmem() / 2 ** 30), node: process.version, platform: process.platform, loadAverage1mBeforeAfter: [loadBefore[0], r3(loadavg()[0])] },
      conditions:
        "3 processes on the same machine (load generator = autocannon in the bench process; upstream child; gateway child), loopback HTTP/1.1 keep-alive. " +
        "Upstream answers instantly with a fixed 12-chunk completion. Rate-limited runs: 10 connections; unthrottled: 16. " +
        `Each run ${RUN_S} s; direct and gateway runs back to back. Latency = time to the full response (SSE: to [DONE]), exact per-response times, no coordinated-omission correction.`,
      runs,
      overhead,
      soak,
      totalS: Math.round((Date.now() - t0) / 1000),
    };
    mkdirSync(join(here, "results"), { recursive: true });
    writeFileSync(join(here, "results", "gateway.json"), `${JSON.stringify(out, null, 2)}\n`);
    console.log(`wrote bench/results/gateway.json in ${out.totalS} s`);
  } finally {
    await gateway.stop();
    await upstream.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
