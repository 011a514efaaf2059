/**
 * What keys, budgets and rate limits cost per request, in the process (SQLite ledger + memory) and
 * in Redis (the shared state of several replicas), against no keys — one run, interleaved.
 *
 *   npx tsx bench/shared-state.ts        (about 2 min; writes bench/results/shared-state.json)
 *
 * Three gateway processes (bench/gateway-server.ts) in front of one instant loopback upstream,
 * traces on (SQLite); a real redis-server on loopback (test/fixtures/production/redis.ts). Each key
 * check runs all of: token window, request window, budget reservation, and settlement. autocannon
 * drives JSON requests at 1,000 rps and at the maximum rate; each configuration is run RUN_S
 * seconds (default 8), configurations interleaved, twice over (rounds), and reported per round.
 */
import autocannon from "autocannon";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { cpus, loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { startChild } from "./child.js";
import { startRedis } from "../test/fixtures/production/redis.js";

const RUN_S = Number(process.env.RUN_S ?? 8);
const ROUNDS = Number(process.env.ROUNDS ?? 2);
const here = fileURLToPath(new URL(".", import.meta.url));


const r2 = (x: number) => Math.round(x * 100) / 100;

async function run(url: string, key: string | undefined, rate: number | undefined) {
  const result = await autocannon({
    url: `${url}/v1/chat/completions`,
    method: "POST",
    headers: { "content-type": "application/json", ...(key ? { authorization: `Bearer ${key}` } : {}) },
    body: JSON.stringify({ model: "up", messages: [{ role: "user", content: "hi" }], max_tokens: 16 }),
    connections: rate ? 10 : 16,
    duration: RUN_S,
    ...(rate ? { overallRate: rate } : {}),
  });
  return { rps: r2(result.requests.average), p50: result.latency.p50, p99: result.latency.p99, non2xx: result.non2xx, errors: result.errors + result.timeouts };
}

async function main() {
  const dir = mkdtempSync(join(tmpdir(), "tandem-bench-state-"));
  const redis = await startRedis();
  const upstream = await startChild(["upstream"]);
  const gateways = {
    "no keys": await startChild(["gateway", `${upstream.url}/v1`, join(dir, "a", "traces.sqlite")]),
    "keys, local (SQLite + memory)": await startChild(["gateway", `${upstream.url}/v1`, join(dir, "b", "traces.sqlite")], { TANDEM_KEYS: "local" }),
    "keys, Redis": await startChild(["gateway", `${upstream.url}/v1`, join(dir, "c", "traces.sqlite")], { TANDEM_KEYS: redis.url }),
  };
  const rows: Array<{ round: number; config: string; rate: number | "max"; rps: number; p50: number; p99: number; non2xx: number; errors: number }> = [];
  try {
    for (const [, g] of Object.entries(gateways)) await run(g.url, g === gateways["no keys"] ? undefined : "bench-key", undefined); // warm-up
    for (let round = 1; round <= ROUNDS; round++) {
      for (const rate of [1000, undefined]) {
        for (const [config, g] of Object.entries(gateways)) {
          const r = await run(g.url, config === "no keys" ? undefined : "bench-key", rate);
          rows.push({ round, config, rate: rate ?? "max", ...r });
          console.log(`round ${round}  ${config.padEnd(30)} ${String(rate ?? "max").padStart(5)} rps target  ${String(r.rps).padStart(7)} rps  p50 ${r.p50} ms  p99 ${r.p99} ms  non2xx ${r.non2xx} err ${r.errors}`);
        }
      }
    }
  } finally {
    for (const g of Object.values(gateways)) await g.stop();
    await upstream.stop();
    await redis.stop();
    rmSync(dir, { recursive: true, force: true });
  }
  const out = join(here, "results", "shared-state.json");
  mkdirSync(join(here, "results"), { recursive: true });
  writeFileSync(
    out,
    JSON.stringify({ date: new Date().toISOString(), machine: { cpus: cpus().length, model: cpus()[0]?.model, loadavgBefore: loadavg() }, runS: RUN_S, rows }, null, 2) + "\n",
  );
  console.log(`wrote ${out}`);
}

await main();
