/** Shared state in Redis: see connection.ts. */
export { connectRedis, type RedisState, type RedisStateOptions } from "./connection.js";
export { redisSpendLedger, type RedisSpendOptions } from "./spend.js";
export { redisRateLimiter } from "./rate-limit.js";
export { redisBreakerFactory, type RedisBreakerOptions } from "./breaker.js";
export { redisRouterStats } from "./router-stats.js";
