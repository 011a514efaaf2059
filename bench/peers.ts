/**
 * Side-by-side gateway bench: `npx tsx bench/peers.ts [--quick] [--profile[=json|sse]]`.
 *
 * Four targets answer the same OpenAI-compatible chat completion, each in its own process, in
 * front of the same instant loopback upstream (bench/gateway-server.ts `upstream`: node:http,
 * a fixed 12-chunk completion, JSON or SSE):
 *
 *   direct         the upstream itself (the floor: what the loopback hop and load generator cost);
 *   tandem-traces  Tandem (bench/gateway-server.ts `gateway`), one openai-compatible model, traces to SQLite;
 *   tandem-off     the same with traces off;
 *   portkey        Portkey's open-source gateway (`@portkey-ai/gateway`, TypeScript/Hono), installed by
 *                  this script into bench/peers/portkey/ (its own package.json pins the version and
 *                  overrides @hono/node-server to 1.12.2: with newer ones Portkey's SSE path fails,
 *                  Portkey-AI/gateway issues #1389/#1550), started from its `build/start-server.js`
 *                  (`--port=0 --headless`) behind bench/peers/loopback.mjs, which binds it to 127.0.0.1.
 *                  Requests name the upstream with `x-portkey-provider: openai` and
 *                  `x-portkey-custom-host: <upstream>/v1` (Portkey trusts loopback custom hosts).
 *
 * Method. Interleaved rounds: each round visits every (mode, rate) cell and, inside a cell, every
 * target in an order rotated per cell and round, so slow drifts of a shared machine fall on all
 * targets alike; a cell's figures pool its segments over the rounds.
 * - Fixed rates (200, 1,000, 2,000, 4,000 rps) are open-loop: an undici Pool with
 *   max(16, rate/25) connections sends request i at t0 + i/rate whatever the responses do; latency
 *   runs from that scheduled instant to the last byte (SSE: to `[DONE]`), so waiting in the pool
 *   counts (no coordinated omission). A request due while `2 × connections` are already in flight
 *   is not sent and counted as `skipped` — the target cannot hold that rate. (autocannon's
 *   `overallRate` was not used for these: it gives each connection a per-second quota that it
 *   sends back to back at each second's start — bursts of closed-loop traffic, not a fixed rate.)
 * - Maximum: autocannon, closed-loop, MAX_CONNECTIONS (16) connections, for the segment's length.
 * - Added latency: the target's p50/p99 minus direct's in the same cell.
 * - CPU ms per request: the target process's user+system CPU time (/proc/<pid>/stat, all its
 *   threads) over the segment, divided by the responses completed; RSS: VmRSS after each segment.
 * - Load on the machine: the 1-minute load average before/after and the share of the machine's CPU
 *   used by processes other than this bench and its children during the run (/proc/stat).
 *
 * Warm-up: WARMUP_REQUESTS (2,000; --quick 300; at most 15 s) per target and mode, then each new undici pool opens its
 * connections before its first segment.
 *
 * Output: bench/results/peers.json (full run), bench/results/peers-quick.json.tmp (--quick, git-ignored),
 * and a table on stdout. Environment: ROUNDS (full 3, quick 1), SEG_S (seconds per segment, full 3,
 * quick 1), RATES (comma-separated rps), MAX_CONNECTIONS (16). The full run takes about 7 minutes,
 * --quick about 1 minute.
 *
 * --profile[=json|sse]: runs upstream + Tandem (traces on) under `node --cpu-prof`, drives it at
 * maximum rate for PROFILE_S seconds (10; --quick 4), and prints the top self-time entries by
 * function and by package → bench/results/peers-profile.json (the .cpuprofile stays in a temp
 * folder, its path printed, to open in Chrome DevTools).
 */
import autocannon from "autocannon";
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { cpus, loadavg, tmpdir, totalmem } from "node:os";
import { join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { Pool } from "undici";
import { startChild, startNode, type Child } from "./child.js";

const here = fileURLToPath(new URL(".", import.meta.url));
const root = join(here, "..");
const argv = process.argv.slice(2);
const QUICK = argv.includes("--quick");
const PROFILE = argv.find((a) => a === "--profile" || a.startsWith("--profile="));
const ROUNDS = Number(process.env.ROUNDS ?? (QUICK ? 1 : 3));
const SEG_S = Number(process.env.SEG_S ?? (QUICK ? 1 : 3));
const RATES = (process.env.RATES ?? "200,1000,2000,4000").split(",").map(Number);
const MAX_CONNECTIONS = Number(process.env.MAX_CONNECTIONS ?? 16);
const PROFILE_S = Number(process.env.PROFILE_S ?? (QUICK ? 4 : 10));
/** Requests per target and mode before measuring. */
const WARMUP_REQUESTS = Number(process.env.WARMUP_REQUESTS ?? (QUICK ? 300 : 2000));
const PORTKEY_DIR = join(here, "peers", "portkey");
const PORTKEY_ENTRY = join(PORTKEY_DIR, "node_modules", "@portkey-ai", "gateway", "build", "start-server.js");

type Mode = "json" | "sse";
type TargetId = "direct" | "tandem-traces" | "tandem-off" | "portkey";
type Rate = number | "max";

/** A process under load: where to send, what to send, which pid to measure. */
interface Target {
  id: TargetId;
  url: string;
  model: string;
  headers: Record<string, string>;
  pid: number;
}

/** One measured segment: a target, a cell (mode × rate), one round. Times in ms. */
interface Segment {
  target: TargetId;
  mode: Mode;
  rate: Rate;
  connections: number;
  /** Requests due by the schedule (open-loop) or sent (max). */
  scheduled: number;
  /** Open-loop requests not sent because 2 × connections were already in flight. */
  skipped: number;
  ok: number;
  errors: number;
  non2xx: number;
  wallS: number;
  /** Latency of each 2xx response, ms (open-loop: from its scheduled instant; max: autocannon's per-response time). */
  samples: number[];
  cpuMs: number;
  upstreamCpuMs: number;
  rssMiB: number;
}

/** Resident set size of a process in MiB (Linux /proc). */
function rssMiB(pid: number): number {
  const m = readFileSync(`/proc/${pid}/status`, "utf8").match(/VmRSS:\s+(\d+) kB/);
  return m ? Number(m[1]) / 1024 : Number.NaN;
}

/** CPU time (user + system, all threads) of a process in ms (Linux /proc, 100 ticks/s). */
function cpuMs(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1].split(" ");
  return (Number(fields[11]) + Number(fields[12])) * 10;
}

/** The machine's CPU jiffies (all cores): busy and total, from /proc/stat (10 ms each). */
function machineJiffies(): { busy: number; total: number } {
  const f = readFileSync("/proc/stat", "utf8").split("\n")[0].trim().split(/\s+/).slice(1).map(Number);
  const total = f.slice(0, 8).reduce((s, x) => s + x, 0); // user nice system idle iowait irq softirq steal
  return { busy: total - f[3] - f[4], total };
}

const quantile = (sorted: number[], q: number) => (sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] : Number.NaN);
const r3 = (x: number) => Math.round(x * 1000) / 1000;
const r1 = (x: number) => Math.round(x * 10) / 10;

function body(target: Target, mode: Mode): string {
  return JSON.stringify({ model: target.model, messages: [{ role: "user", content: "What is 6 times 7?" }], max_tokens: 16, ...(mode === "sse" ? { stream: true } : {}) });
}

const pools = new Map<string, Pool>();
/**
 * A keep-alive undici Pool per (target, connections), reused across rounds. A new pool first
 * opens all its connections (one request on each, `connections` at once, not measured), so no
 * segment pays for TCP connects.
 */
async function poolFor(target: Target, mode: Mode, connections: number): Promise<Pool> {
  const key = `${target.url} ${connections}`;
  let pool = pools.get(key);
  if (!pool) {
    pool = new Pool(target.url, { connections, pipelining: 1, keepAliveTimeout: 60_000, headersTimeout: 10_000, bodyTimeout: 10_000 });
    pools.set(key, pool);
    const p = pool;
    await Promise.all(
      Array.from({ length: connections }, () =>
        p.request({ path: "/v1/chat/completions", method: "POST", headers: { "content-type": "application/json", ...target.headers }, body: body(target, mode) }).then((r) => r.body.dump(), () => {}),
      ),
    );
  }
  return pool;
}

/** Open-loop load at `rate` rps for `durationS` s (see the file comment). */
async function openLoop(target: Target, mode: Mode, rate: number, durationS: number, upstreamPid: number): Promise<Segment> {
  const connections = Math.max(16, Math.ceil(rate / 25));
  const maxInflight = 2 * connections;
  const pool = await poolFor(target, mode, connections);
  const payload = body(target, mode);
  const headers = { "content-type": "application/json", ...target.headers };
  const n = Math.round(rate * durationS);
  const interval = 1000 / rate;
  const seg: Segment = { target: target.id, mode, rate, connections, scheduled: n, skipped: 0, ok: 0, errors: 0, non2xx: 0, wallS: 0, samples: [], cpuMs: 0, upstreamCpuMs: 0, rssMiB: 0 };
  const cpu0 = cpuMs(target.pid);
  const up0 = cpuMs(upstreamPid);
  let inflight = 0;
  let i = 0;
  let lastDone = 0;
  const t0 = performance.now();
  await new Promise<void>((resolve) => {
    const drainCap = setTimeout(resolve, durationS * 1000 + 10_000);
    const maybeDone = () => {
      if (i >= n && inflight === 0) {
        clearTimeout(drainCap);
        resolve();
      }
    };
    const send = (scheduledAt: number) => {
      inflight++;
      pool
        .request({ path: "/v1/chat/completions", method: "POST", headers, body: payload })
        .then(async (res) => {
          for await (const _ of res.body) {
            // read to the last byte
          }
          const t = performance.now();
          if (res.statusCode >= 200 && res.statusCode < 300) {
            seg.ok++;
            seg.samples.push(t - scheduledAt);
          } else seg.non2xx++;
          lastDone = t;
        })
        .catch(() => {
          seg.errors++;
        })
        .finally(() => {
          inflight--;
          maybeDone();
        });
    };
    const pump = () => {
      const now = performance.now();
      while (i < n && t0 + i * interval <= now) {
        const at = t0 + i * interval;
        i++;
        if (inflight >= maxInflight) seg.skipped++;
        else send(at);
      }
      if (i < n) setTimeout(pump, Math.max(0, t0 + i * interval - performance.now()));
      else maybeDone();
    };
    pump();
  });
  seg.wallS = Math.max(durationS, ((lastDone || performance.now()) - t0) / 1000);
  seg.cpuMs = cpuMs(target.pid) - cpu0;
  seg.upstreamCpuMs = cpuMs(upstreamPid) - up0;
  seg.rssMiB = rssMiB(target.pid);
  return seg;
}

/** Closed-loop maximum: autocannon with `connections` for `durationS` s (or for `amount` requests). */
async function maxLoad(target: Target, mode: Mode, durationS: number, upstreamPid: number, connections = MAX_CONNECTIONS, amount?: number): Promise<Segment> {
  const samples: number[] = [];
  const cpu0 = cpuMs(target.pid);
  const up0 = cpuMs(upstreamPid);
  const instance = autocannon({
    url: `${target.url}/v1/chat/completions`,
    method: "POST",
    headers: { "content-type": "application/json", ...target.headers },
    body: body(target, mode),
    connections,
    ...(amount ? { amount } : { duration: durationS }),
    timeout: 10,
  });
  (instance as unknown as NodeJS.EventEmitter).on("response", (_c: unknown, statusCode: number, _b: number, responseTime: number) => {
    if (statusCode >= 200 && statusCode < 300) samples.push(responseTime);
  });
  // a warm-up by request count stops after 15 s on a machine too slow to finish it
  const cap = amount ? setTimeout(() => (instance as unknown as { stop(): void }).stop(), 15_000) : undefined;
  const result = await instance;
  if (cap) clearTimeout(cap);
  return {
    target: target.id,
    mode,
    rate: "max",
    connections,
    scheduled: result.requests.sent,
    skipped: 0,
    ok: samples.length,
    errors: result.errors + result.timeouts,
    non2xx: result.non2xx,
    wallS: result.duration,
    samples,
    cpuMs: cpuMs(target.pid) - cpu0,
    upstreamCpuMs: cpuMs(upstreamPid) - up0,
    rssMiB: rssMiB(target.pid),
  };
}

/** One request per mode through `target`; throws unless the fixed completion comes back whole. */
async function check(target: Target): Promise<void> {
  for (const mode of ["json", "sse"] as const) {
    const res = await fetch(`${target.url}/v1/chat/completions`, { method: "POST", headers: { "content-type": "application/json", ...target.headers }, body: body(target, mode) });
    const text = await res.text();
    const good = res.status === 200 && (mode === "json" ? JSON.parse(text).choices?.[0]?.message?.content?.includes("42") : text.includes("42") && text.includes("data: [DONE]"));
    if (!good) throw new Error(`${target.id} ${mode}: status ${res.status}, body ${text.slice(0, 300)}`);
  }
}

function ensurePortkey(): { version: string; honoNodeServer: string } {
  if (!existsSync(PORTKEY_ENTRY)) {
    console.log(`installing Portkey's gateway into ${relative(root, PORTKEY_DIR)} …`);
    // --ignore-scripts: its only install script is patch-package, and the published package ships no patches
    execFileSync("npm", ["install", "--prefix", PORTKEY_DIR, "--no-audit", "--no-fund", "--ignore-scripts"], { stdio: "inherit" });
  }
  const version = JSON.parse(readFileSync(join(PORTKEY_DIR, "node_modules", "@portkey-ai", "gateway", "package.json"), "utf8")).version as string;
  const honoNodeServer = JSON.parse(readFileSync(join(PORTKEY_DIR, "node_modules", "@hono", "node-server", "package.json"), "utf8")).version as string;
  if (honoNodeServer !== "1.12.2") console.warn(`warning: Portkey runs with @hono/node-server ${honoNodeServer}, not the pinned 1.12.2 (its SSE path may fail)`);
  return { version, honoNodeServer };
}

function startPortkey(): Promise<Child> {
  return startNode(["--import", join(here, "peers", "loopback.mjs"), PORTKEY_ENTRY, "--port=0", "--headless"]);
}

function machine() {
  return { cpus: cpus().length, cpuModel: cpus()[0]?.model, memoryGiB: Math.round(totalmem() / 2 ** 30), node: process.version, platform: process.platform };
}

function tandemRevision(): string {
  try {
    const rev = execFileSync("git", ["rev-parse", "--short", "HEAD"], { cwd: root, encoding: "utf8" }).trim();
    const dirty = execFileSync("git", ["status", "--porcelain", "--untracked-files=no"], { cwd: root, encoding: "utf8" }).trim() !== "";
    return dirty ? `${rev} + uncommitted changes` : rev;
  } catch {
    return "unknown";
  }
}

/** A cell's pooled figures. Latencies in ms, CPU in ms per completed request, RSS in MiB. */
interface Cell {
  target: TargetId;
  mode: Mode;
  rate: Rate;
  connections: number;
  rounds: number;
  ok: number;
  skipped: number;
  errors: number;
  non2xx: number;
  throughputRps: number;
  /** Open-loop: ok responses / scheduled requests (1 = the target held the rate). */
  heldRate?: number;
  latencyMs: { p50: number; p90: number; p99: number; max: number; mean: number };
  addedMs?: { p50: number; p99: number };
  cpuMsPerRequest: number;
  upstreamCpuMsPerRequest: number;
  rssMiB: { last: number; max: number };
}

function pool(segs: Segment[]): Cell {
  const s = segs[0];
  const samples = segs.flatMap((x) => x.samples).sort((a, b) => a - b);
  const ok = segs.reduce((a, x) => a + x.ok, 0);
  const scheduled = segs.reduce((a, x) => a + x.scheduled, 0);
  const wall = segs.reduce((a, x) => a + x.wallS, 0);
  return {
    target: s.target,
    mode: s.mode,
    rate: s.rate,
    connections: s.connections,
    rounds: segs.length,
    ok,
    skipped: segs.reduce((a, x) => a + x.skipped, 0),
    errors: segs.reduce((a, x) => a + x.errors, 0),
    non2xx: segs.reduce((a, x) => a + x.non2xx, 0),
    throughputRps: Math.round(ok / wall),
    ...(s.rate === "max" ? {} : { heldRate: r3(ok / Math.max(1, scheduled)) }),
    latencyMs: {
      p50: r3(quantile(samples, 0.5)),
      p90: r3(quantile(samples, 0.9)),
      p99: r3(quantile(samples, 0.99)),
      max: r3(samples.at(-1) ?? Number.NaN),
      mean: r3(samples.reduce((a, x) => a + x, 0) / Math.max(1, samples.length)),
    },
    cpuMsPerRequest: r3(segs.reduce((a, x) => a + x.cpuMs, 0) / Math.max(1, ok)),
    upstreamCpuMsPerRequest: r3(segs.reduce((a, x) => a + x.upstreamCpuMs, 0) / Math.max(1, ok)),
    rssMiB: { last: r1(segs.at(-1)!.rssMiB), max: r1(Math.max(...segs.map((x) => x.rssMiB))) },
  };
}

const TARGETS: TargetId[] = ["direct", "tandem-traces", "tandem-off", "portkey"];

async function bench() {
  const t0 = Date.now();
  const portkeyInfo = ensurePortkey();
  const load1Before = r3(loadavg()[0]);
  const dir = mkdtempSync(join(tmpdir(), "tandem-peers-"));
  const children: Child[] = [];
  try {
    const upstream = await startChild(["upstream"]);
    children.push(upstream);
    const upV1 = `${upstream.url}/v1`;
    const [traced, bare, portkey] = await Promise.all([startChild(["gateway", upV1, join(dir, "traces.sqlite")]), startChild(["gateway", upV1, "off"]), startPortkey()]);
    children.push(traced, bare, portkey);
    const targets: Record<TargetId, Target> = {
      direct: { id: "direct", url: upstream.url, model: "fixed", headers: {}, pid: upstream.pid },
      "tandem-traces": { id: "tandem-traces", url: traced.url, model: "up", headers: {}, pid: traced.pid },
      "tandem-off": { id: "tandem-off", url: bare.url, model: "up", headers: {}, pid: bare.pid },
      portkey: { id: "portkey", url: portkey.url, model: "fixed", headers: { authorization: "Bearer bench", "x-portkey-provider": "openai", "x-portkey-custom-host": upV1 }, pid: portkey.pid },
    };
    for (const id of TARGETS) await check(targets[id]);
    const ourPids = children.map((c) => c.pid);
    const ourCpu = () => ourPids.reduce((a, pid) => a + cpuMs(pid), 0) + (process.cpuUsage().user + process.cpuUsage().system) / 1000;
    // warm-up (JIT, SQLite pages), not reported: a fixed number of requests, so a slower target is not left colder
    for (const id of TARGETS) for (const mode of ["json", "sse"] as const) await maxLoad(targets[id], mode, 0, upstream.pid, 8, WARMUP_REQUESTS);
    const m0 = machineJiffies();
    const c0 = ourCpu();
    const cells: Array<{ mode: Mode; rate: Rate }> = [];
    for (const mode of ["json", "sse"] as const) for (const rate of [...RATES, "max" as const]) cells.push({ mode, rate });
    const segments: Segment[] = [];
    const total = ROUNDS * cells.length * TARGETS.length;
    for (let round = 0; round < ROUNDS; round++) {
      for (const [ci, cell] of cells.entries()) {
        const shift = (round + ci) % TARGETS.length;
        for (const id of [...TARGETS.slice(shift), ...TARGETS.slice(0, shift)]) {
          const seg = cell.rate === "max" ? await maxLoad(targets[id], cell.mode, SEG_S, upstream.pid) : await openLoop(targets[id], cell.mode, cell.rate, SEG_S, upstream.pid);
          segments.push(seg);
          const p = [...seg.samples].sort((a, b) => a - b);
          process.stdout.write(
            `[${String(segments.length).padStart(3)}/${total}] r${round + 1} ${cell.mode} ${String(cell.rate).padStart(4)} ${id.padEnd(13)} ${String(Math.round(seg.ok / seg.wallS)).padStart(6)} rps  p50 ${quantile(p, 0.5).toFixed(2)}  p99 ${quantile(p, 0.99).toFixed(2)} ms  cpu ${(seg.cpuMs / Math.max(1, seg.ok)).toFixed(3)} ms/req${seg.skipped ? `  skipped ${seg.skipped}` : ""}${seg.errors + seg.non2xx ? `  err ${seg.errors} non2xx ${seg.non2xx}` : ""}\n`,
          );
        }
      }
    }
    const m1 = machineJiffies();
    const c1 = ourCpu();
    const otherCpuPct = r1(Math.max(0, ((m1.busy - m0.busy) * 10 - (c1 - c0)) / ((m1.total - m0.total) * 10)) * 100);
    const out = report(cells, segments, {
      quick: QUICK,
      load1Before,
      otherCpuPct,
      portkeyInfo,
      totalS: Math.round((Date.now() - t0) / 1000),
    });
    mkdirSync(join(here, "results"), { recursive: true });
    const file = join(here, "results", QUICK ? "peers-quick.json.tmp" : "peers.json");
    writeFileSync(file, `${JSON.stringify(out, null, 2)}\n`);
    console.log(`wrote ${relative(root, file)} in ${out.totalS} s`);
  } finally {
    await Promise.all([...pools.values()].map((p) => p.close().catch(() => {})));
    await Promise.all(children.map((c) => c.stop()));
    rmSync(dir, { recursive: true, force: true });
  }
}

function report(cells: Array<{ mode: Mode; rate: Rate }>, segments: Segment[], meta: { quick: boolean; load1Before: number; otherCpuPct: number; portkeyInfo: { version: string; honoNodeServer: string }; totalS: number }) {
  const pooled: Cell[] = [];
  for (const cell of cells) {
    const inCell = segments.filter((s) => s.mode === cell.mode && s.rate === cell.rate);
    const direct = pool(inCell.filter((s) => s.target === "direct"));
    for (const id of TARGETS) {
      const c = id === "direct" ? direct : pool(inCell.filter((s) => s.target === id));
      if (id !== "direct") c.addedMs = { p50: r3(c.latencyMs.p50 - direct.latencyMs.p50), p99: r3(c.latencyMs.p99 - direct.latencyMs.p99) };
      pooled.push(c);
    }
  }
  const get = (id: TargetId, mode: Mode, rate: Rate) => pooled.find((c) => c.target === id && c.mode === mode && c.rate === rate)!;
  const ratio = (a: number, b: number) => (b ? r3(a / b) : Number.NaN);
  const ratios: Record<string, unknown> = {};
  for (const mode of ["json", "sse"] as const) {
    for (const t of ["tandem-traces", "tandem-off"] as const) {
      const tm = get(t, mode, "max");
      const pm = get("portkey", mode, "max");
      const dm = get("direct", mode, "max");
      ratios[`${mode} ${t}`] = {
        maxThroughputVsPortkey: ratio(tm.throughputRps, pm.throughputRps),
        maxThroughputVsDirect: ratio(tm.throughputRps, dm.throughputRps),
        cpuPerRequestAtMaxVsPortkey: ratio(tm.cpuMsPerRequest, pm.cpuMsPerRequest),
        ...(RATES.includes(1000) ? { addedP50At1000VsPortkey: ratio(get(t, mode, 1000).addedMs!.p50, get("portkey", mode, 1000).addedMs!.p50), addedP99At1000VsPortkey: ratio(get(t, mode, 1000).addedMs!.p99, get("portkey", mode, 1000).addedMs!.p99) } : {}),
      };
    }
  }
  // issue #13's targets, judged on Tandem with traces on
  const tj = get("tandem-traces", "json", "max");
  const pj = get("portkey", "json", "max");
  const ts = get("tandem-traces", "sse", "max");
  const ps = get("portkey", "sse", "max");
  const t1000 = RATES.includes(1000) ? get("tandem-traces", "json", 1000) : undefined;
  const targets = {
    "json max throughput >= 3x Portkey": { value: ratio(tj.throughputRps, pj.throughputRps), met: tj.throughputRps >= 3 * pj.throughputRps },
    "json CPU per request <= 1/3 of Portkey": { value: ratio(tj.cpuMsPerRequest, pj.cpuMsPerRequest), met: tj.cpuMsPerRequest <= pj.cpuMsPerRequest / 3 },
    "sse max throughput >= 3x Portkey": { value: ratio(ts.throughputRps, ps.throughputRps), met: ts.throughputRps >= 3 * ps.throughputRps },
    ...(t1000 ? { "json added p50 <= 1 ms at 1,000 rps": { value: t1000.addedMs!.p50, met: t1000.addedMs!.p50 <= 1 }, "json added p99 <= 5 ms at 1,000 rps": { value: t1000.addedMs!.p99, met: t1000.addedMs!.p99 <= 5 } } : {}),
  };

  // the table
  const pad = (s: string | number, n: number) => String(s).padStart(n);
  console.log(`\n${"mode".padEnd(5)}${pad("rate", 6)}  ${"target".padEnd(14)}${pad("rps", 7)}${pad("held", 6)}${pad("p50", 8)}${pad("p99", 8)}${pad("+p50", 8)}${pad("+p99", 8)}${pad("cpu/req", 9)}${pad("rss", 7)}  notes`);
  for (const c of pooled) {
    const notes = [c.skipped ? `skipped ${c.skipped}` : "", c.errors + c.non2xx ? `err ${c.errors} non2xx ${c.non2xx}` : ""].filter(Boolean).join(" ");
    console.log(
      `${c.mode.padEnd(5)}${pad(c.rate, 6)}  ${c.target.padEnd(14)}${pad(c.throughputRps, 7)}${pad(c.heldRate !== undefined ? c.heldRate.toFixed(2) : "", 6)}${pad(c.latencyMs.p50.toFixed(2), 8)}${pad(c.latencyMs.p99.toFixed(2), 8)}${pad(c.addedMs ? c.addedMs.p50.toFixed(2) : "", 8)}${pad(c.addedMs ? c.addedMs.p99.toFixed(2) : "", 8)}${pad(c.cpuMsPerRequest.toFixed(3), 9)}${pad(c.rssMiB.max.toFixed(0), 7)}  ${notes}`,
    );
  }
  console.log("\nratios (Tandem / Portkey, Tandem / direct):");
  for (const [k, v] of Object.entries(ratios)) console.log(`  ${k.padEnd(19)} ${Object.entries(v as object).map(([a, b]) => `${a} ${b}`).join("  ")}`);
  console.log("issue #13 targets (Tandem, traces on):");
  for (const [k, v] of Object.entries(targets)) console.log(`  ${v.met ? "met    " : "NOT met"} ${k}: ${v.value}`);
  const load1After = r3(loadavg()[0]);
  console.log(`machine: ${cpus().length} × ${cpus()[0]?.model}, node ${process.version}; load average (1 min) ${meta.load1Before} → ${load1After}; other processes used ${meta.otherCpuPct} % of the machine's CPU during the run`);

  return {
    command: `npx tsx bench/peers.ts${meta.quick ? " --quick" : ""}`,
    date: new Date().toISOString(),
    tandem: tandemRevision(),
    machine: { ...machine(), loadAverage1mBeforeAfter: [meta.load1Before, load1After], otherProcessesCpuPct: meta.otherCpuPct },
    peers: { portkey: { package: "@portkey-ai/gateway", version: meta.portkeyInfo.version, "@hono/node-server": meta.portkeyInfo.honoNodeServer, start: "build/start-server.js --port=0 --headless, bound to 127.0.0.1 by bench/peers/loopback.mjs", route: "x-portkey-provider: openai, x-portkey-custom-host: <upstream>/v1" } },
    conditions:
      `All processes on this machine: the load generator (this process), the upstream, two Tandem gateways (traces to SQLite / off) and Portkey, loopback HTTP/1.1 keep-alive. ` +
      `${ROUNDS} interleaved round(s), ${SEG_S} s per segment, target order rotated per cell and round. Fixed rates ${RATES.join(", ")} rps: open-loop (undici Pool, max(16, rate/25) connections, latency from the scheduled send instant to the last byte, requests due while 2 × connections are in flight are skipped). ` +
      `max: autocannon closed-loop with ${MAX_CONNECTIONS} connections. Added latency = target − direct in the same cell. CPU per request = the target process's CPU time / responses. ` +
      `Portkey holds the first chunk of every stream for 25 ms (its stream handler), which caps its closed-loop SSE rate near connections / 25 ms.`,
    cells: pooled,
    ratios,
    targets,
    totalS: meta.totalS,
  };
}

/** Self-time entries of a V8 .cpuprofile, by function and by package. */
function analyseProfile(file: string, windowUs?: [number, number], top = 25) {
  const prof = JSON.parse(readFileSync(file, "utf8")) as { nodes: Array<{ id: number; callFrame: { functionName: string; url: string; lineNumber: number } }>; samples: number[]; timeDeltas: number[]; startTime: number; endTime: number };
  const byId = new Map(prof.nodes.map((n) => [n.id, n.callFrame]));
  // keep the samples taken during the measured load (V8's and process.hrtime's clocks are both CLOCK_MONOTONIC on Linux)
  const inWindow = !!windowUs && windowUs[0] >= prof.startTime && windowUs[1] <= prof.endTime;
  const counts = new Map<number, number>();
  let t = prof.startTime;
  for (const [i, s] of prof.samples.entries()) {
    t += prof.timeDeltas[i] ?? 0;
    if (inWindow && (t < windowUs[0] || t > windowUs[1])) continue;
    counts.set(s, (counts.get(s) ?? 0) + 1);
  }
  const fn = new Map<string, number>();
  const pkg = new Map<string, number>();
  let busy = 0;
  const bucket = (url: string, name: string): string => {
    if (!url) return name.startsWith("(") ? name : "(native)";
    if (url.includes("/node_modules/")) {
      const rest = url.slice(url.lastIndexOf("/node_modules/") + 14).split("/");
      return rest[0].startsWith("@") ? `${rest[0]}/${rest[1]}` : rest[0];
    }
    if (url.startsWith("node:internal/deps/undici")) return "node:undici (fetch, Request, Response, Headers)";
    if (url.startsWith("node:")) return url.split("/").slice(0, 3).join("/");
    const p = url.replace(/^file:\/\//, "");
    if (p.startsWith(root)) return `tandem ${relative(root, p).split("/").slice(0, 2).join("/")}`;
    return p;
  };
  for (const [id, n] of counts) {
    const cf = byId.get(id)!;
    if (cf.functionName === "(idle)") continue;
    busy += n;
    const where = cf.url ? `${cf.url.replace(/^file:\/\//, "").replace(root + "/", "")}:${cf.lineNumber + 1}` : "";
    const key = `${cf.functionName || "(anonymous)"} ${where}`.trim();
    fn.set(key, (fn.get(key) ?? 0) + n);
    const b = bucket(cf.url, cf.functionName);
    pkg.set(b, (pkg.get(b) ?? 0) + n);
  }
  const rank = (m: Map<string, number>, k: number) =>
    [...m.entries()]
      .sort((a, b) => b[1] - a[1])
      .slice(0, k)
      .map(([name, n]) => ({ name, samples: n, pctOfBusy: r1((n / busy) * 100) }));
  return { samples: prof.samples.length, window: inWindow ? "the measured load only (start-up and warm-up excluded)" : "the whole process (the load window could not be located)", busySamples: busy, topFunctions: rank(fn, top), topPackages: rank(pkg, 20) };
}

async function profile() {
  const mode: Mode = PROFILE === "--profile=sse" ? "sse" : "json";
  const dir = mkdtempSync(join(tmpdir(), "tandem-peers-prof-"));
  const upstream = await startChild(["upstream"]);
  const gw = await startChild(["gateway", `${upstream.url}/v1`, join(dir, "traces.sqlite")], {}, ["--cpu-prof", "--cpu-prof-dir", dir]);
  const target: Target = { id: "tandem-traces", url: gw.url, model: "up", headers: {}, pid: gw.pid };
  let seg: Segment;
  let windowUs: [number, number] | undefined;
  try {
    await check(target);
    await maxLoad(target, mode, 0, upstream.pid, 8, WARMUP_REQUESTS);
    const from = Number(process.hrtime.bigint() / 1000n);
    seg = await maxLoad(target, mode, PROFILE_S, upstream.pid);
    windowUs = [from, Number(process.hrtime.bigint() / 1000n)];
  } finally {
    await gw.stop();
    await upstream.stop();
  }
  const file = readdirSync(dir).find((f) => f.endsWith(".cpuprofile"));
  if (!file) throw new Error(`no .cpuprofile written in ${dir}`);
  const analysis = analyseProfile(join(dir, file), windowUs);
  console.log(`Tandem (traces on) at max ${mode}: ${Math.round(seg.ok / seg.wallS)} rps, ${(seg.cpuMs / Math.max(1, seg.ok)).toFixed(3)} ms CPU/request (profiler on); ${analysis.busySamples} busy samples from ${analysis.window}`);
  console.log("\ntop self time by function:");
  for (const e of analysis.topFunctions) console.log(`  ${e.pctOfBusy.toFixed(1).padStart(5)} %  ${e.name}`);
  console.log("\nby package / area:");
  for (const e of analysis.topPackages) console.log(`  ${e.pctOfBusy.toFixed(1).padStart(5)} %  ${e.name}`);
  const out = {
    command: `npx tsx bench/peers.ts ${PROFILE}${QUICK ? " --quick" : ""}`,
    date: new Date().toISOString(),
    tandem: tandemRevision(),
    machine: { ...machine(), loadAverage1m: r3(loadavg()[0]) },
    conditions: `Tandem gateway (traces to SQLite) under node --cpu-prof, autocannon ${MAX_CONNECTIONS} connections, ${mode}, ${PROFILE_S} s after ${WARMUP_REQUESTS} warm-up requests; self time, idle excluded.`,
    throughputRps: Math.round(seg.ok / seg.wallS),
    cpuMsPerRequest: r3(seg.cpuMs / Math.max(1, seg.ok)),
    profileFile: join(dir, file),
    ...analysis,
  };
  const res = join(here, "results", QUICK ? "peers-profile-quick.json.tmp" : `peers-profile${mode === "sse" ? "-sse" : ""}.json`);
  writeFileSync(res, `${JSON.stringify(out, null, 2)}\n`);
  console.log(`\nwrote ${relative(root, res)}; the profile itself: ${out.profileFile}`);
}

if (PROFILE) await profile();
else await bench();
