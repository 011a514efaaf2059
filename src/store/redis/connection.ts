/**
 * The Redis connection behind Tandem's shared state (ioredis): when the policy names a Redis
 * server (`state.redis`), budgets, rate limits, circuit-breaker state and the router's online
 * statistics live there, each changed by one Lua script so that check-and-update is atomic across
 * gateway replicas. The gateway itself then holds no state but its traces.
 *
 * Keys are `<prefix><kind>:{<name>}` — the braces make every key of one API key or breaker hash
 * to the same Redis Cluster slot, as multi-key scripts require there.
 */
import { Redis } from "ioredis";
import { TandemError } from "../../core/errors.js";

/** Options of {@link connectRedis}. */
export interface RedisStateOptions {
  /** `redis://[user:password@]host:port[/db]` (or `rediss://` for TLS). */
  url: string;
  /** Prefix of every key. Default "tandem:". */
  prefix?: string;
  /** Time to connect, ms. Default 2,000. */
  connectTimeoutMs?: number;
  /** Time a command may take before it fails, ms. Default 1,000. */
  commandTimeoutMs?: number;
}

/** A connected Redis and the scripts defined on it. */
export interface RedisState {
  readonly client: Redis;
  readonly prefix: string;
  /** Key `<prefix><kind>:{<name>}`. */
  key(kind: string, name: string): string;
  /** Registers a Lua script (sent by EVALSHA, re-sent on NOSCRIPT) and returns a caller. */
  script(lua: string, keyCount: number): (keys: string[], args: Array<string | number>) => Promise<unknown>;
  /** Closes the connection (QUIT). Idempotent. */
  close(): Promise<void>;
}

let scriptCounter = 0;

/**
 * Connects to Redis. While connected, commands that cannot be sent fail at once (no offline
 * queue) and time out after `commandTimeoutMs`, so a Redis outage turns into clear errors, not
 * hung requests; the client keeps reconnecting in the background.
 * Errors: `TandemError("invalid_policy")` naming the URL when the first connection fails.
 */
export async function connectRedis(options: RedisStateOptions): Promise<RedisState> {
  const prefix = options.prefix ?? "tandem:";
  const client = new Redis(options.url, {
    lazyConnect: true,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    connectTimeout: options.connectTimeoutMs ?? 2_000,
    commandTimeout: options.commandTimeoutMs ?? 1_000,
    retryStrategy: (times) => Math.min(times * 100, 2_000),
  });
  let lastLog = 0;
  client.on("error", (error: Error) => {
    if (Date.now() - lastLog < 10_000) return;
    lastLog = Date.now();
    console.error(`tandem: redis ${redacted(options.url)}: ${error.message}`);
  });
  try {
    await client.connect();
  } catch (error) {
    client.disconnect();
    throw new TandemError("invalid_policy", `state.redis: cannot connect to ${redacted(options.url)}: ${(error as Error).message}`, { cause: error });
  }
  let closed = false;
  return {
    client,
    prefix,
    key: (kind, name) => `${prefix}${kind}:{${name}}`,
    script(lua, keyCount) {
      const name = `tandemScript${++scriptCounter}`;
      client.defineCommand(name, { numberOfKeys: keyCount, lua });
      const call = (client as unknown as Record<string, (...a: Array<string | number>) => Promise<unknown>>)[name].bind(client);
      return (keys, args) => call(...keys, ...args);
    },
    async close() {
      if (closed) return;
      closed = true;
      await client.quit().catch(() => client.disconnect());
    },
  };
}

/** The URL without its password, for messages. */
function redacted(url: string): string {
  return url.replace(/\/\/([^:@/]*):[^@/]*@/, "//$1:***@");
}

/** Lua: the server's clock in epoch ms (one clock for every replica). */
export const LUA_NOW = "local t = redis.call('TIME'); local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)";
