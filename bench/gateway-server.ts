/**
 * A child process for bench/gateway.ts, so its RSS and CPU are measured apart from the load
 * generator. Two roles:
 *
 *   node --import tsx bench/gateway-server.ts upstream
 *     the fast loopback upstream: an OpenAI-compatible node:http server answering instantly with
 *     a fixed completion (JSON, or SSE chunks) — test/fixtures/production/fault-server.ts in `ok` mode;
 *   node --import tsx bench/gateway-server.ts gateway <upstream /v1 URL> <traces.sqlite | off>
 *     the Tandem gateway (createGatewayApp) with one openai-compatible model "up" pointing at it,
 *     traces to a SQLite file as in production (or off), and the same model behind a `fallback`
 *     strategy ("fb", fallback = the same upstream) to show the strategy's own cost.
 *
 * With `TANDEM_KEYS=local` (SQLite ledger + memory limits) or `TANDEM_KEYS=redis://…` (the Redis
 * shared state), the gateway requires the key "bench-key", which has a budget, a request rate and a
 * token rate set high enough never to refuse — so every request pays for all three checks.
 *
 * Prints `listening on <url>` once ready; exits when stdin closes.
 */
import { openaiCompatible } from "../src/providers/openai-compatible.js";
import { dirname, join } from "node:path";
import { createGatewayApp } from "../src/server/app.js";
import { hashApiKey, KeyRing } from "../src/server/auth.js";
import { localRateLimiter } from "../src/store/rate-limit.js";
import { connectRedis, redisRateLimiter, redisSpendLedger, type RedisState } from "../src/store/redis/index.js";
import { openSpendLedger } from "../src/store/spend.js";
import { listen } from "../src/server/listen.js";
import { openTraceStore } from "../src/store/traces.js";
import { fallback } from "../src/strategies/fallback/index.js";
import { startFaultServer } from "../test/fixtures/production/fault-server.js";

const [role, upstreamURL, tracesPath] = process.argv.slice(2);
const stopOnStdinEnd = (close: () => Promise<void>) => {
  const stop = () => void close().finally(() => process.exit(0));
  process.stdin.on("end", stop);
  process.stdin.on("close", stop);
  process.stdin.resume();
};

if (role === "upstream") {
  const server = await startFaultServer({ mode: "ok", text: "The answer is 42. It comes from a fast loopback upstream." });
  console.log(`listening on ${server.baseURL.replace(/\/v1$/, "")}`);
  stopOnStdinEnd(() => server.close());
} else if (role === "gateway") {
  const up = openaiCompatible({ id: "up", baseURL: upstreamURL, model: "fixed", maxRetries: 0, timeoutMs: 10_000, price: { inputPerMillion: 0.15, outputPerMillion: 0.6 } });
  const up2 = openaiCompatible({ id: "up2", baseURL: upstreamURL, model: "fixed", maxRetries: 0, timeoutMs: 10_000 });
  const fb = fallback({ id: "fb", primary: up, fallbacks: [up2], retries: 0 });
  const traces = tracesPath && tracesPath !== "off" ? openTraceStore(tracesPath) : undefined;
  // REQUEST_TIMEOUT_MS: the gateway's per-request limit (default 120,000 ms, as in production)
  const requestTimeoutMs = process.env.REQUEST_TIMEOUT_MS ? Number(process.env.REQUEST_TIMEOUT_MS) : undefined;
  const keysMode = process.env.TANDEM_KEYS;
  let keys: KeyRing | undefined;
  let redis: RedisState | undefined;
  if (keysMode) {
    const spec = { name: "bench", hash: hashApiKey("bench-key"), budgetUsd: 1e9, requestsPerMinute: 1e9, tokensPerMinute: 1e12 };
    if (keysMode === "local") keys = new KeyRing([spec], { ledger: openSpendLedger(join(dirname(tracesPath ?? "."), "spend.sqlite")), limiter: localRateLimiter() });
    else {
      redis = await connectRedis({ url: keysMode, prefix: `bench${process.pid}:` });
      keys = new KeyRing([spec], { ledger: redisSpendLedger(redis), limiter: redisRateLimiter(redis) });
    }
  }
  const { app } = createGatewayApp({ models: new Map([["up", up], ["fb", fb]]), traces, requestTimeoutMs, keys });
  const server = await listen(app, { port: 0 });
  console.log(`listening on ${server.url}`);
  stopOnStdinEnd(async () => {
    await server.close();
    traces?.close();
    await keys?.close();
    await redis?.close();
  });
} else {
  console.error("usage: gateway-server.ts upstream | gateway <upstream /v1 URL> <traces.sqlite|off>");
  process.exit(2);
}
