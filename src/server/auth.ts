/**
 * Gateway API keys, per-key USD budgets and request/token rate limits.
 *
 * - Keys are stored only as SHA-256 hashes (`sha256:<hex>`; `tandem keys hash KEY` prints one).
 * - Budgets are enforced by reservation in a {@link SpendLedger}: a request reserves its
 *   worst-case cost (the model's price × (prompt tokens estimated at 1 per 3 characters +
 *   max_tokens)), and settles its actual cost when it ends — so concurrent requests cannot
 *   overshoot the budget by more than one estimate's error. The max_tokens reserved is the one
 *   sent upstream ({@link admittedMaxTokens}: the client's, clamped to the key's `maxTokens`,
 *   else the key's cap, else {@link DEFAULT_MAX_TOKENS}), so an honest upstream cannot generate
 *   past what was reserved. An upstream that ignores max_tokens is charged what it reports (the
 *   ledger records the truth) and the excess is counted as an overrun in the metrics.
 * - Rate limits are sliding 60-second windows per key: requests are counted when admitted;
 *   tokens are reserved when admitted (prompt estimate + max_tokens; refused when the window's
 *   tokens + those in flight + this reservation would pass the limit) and settled to the actual
 *   tokens when the request ends.
 * - Both live in {@link LimitStores}: this process (SQLite ledger + memory) by default, or Redis
 *   when the policy names one (`state.redis`), so several replicas enforce one budget.
 *
 * Errors (all OpenAI-shaped): 401 `invalid_api_key` (missing or unknown key), 403
 * `permission_denied` (model not allowed for the key), 429 `budget_exceeded` or
 * `rate_limit_exceeded`, 503 `overloaded` (shared store unreachable: fail closed).
 */
import { createHash, timingSafeEqual } from "node:crypto";
import { TandemError } from "../core/errors.js";
import { costOf, type Price, type TokenUsage, type WorstCase } from "../core/model.js";
import type { RateLimiter } from "../store/rate-limit.js";
import type { SpendLedger } from "../store/spend.js";

/** One gateway API key. */
export interface ApiKeySpec {
  /** Name shown in traces and metrics. */
  name: string;
  /** `sha256:<64 hex>` of the key. */
  hash: string;
  /** Total USD this key may spend (all time, as recorded in the ledger). */
  budgetUsd?: number;
  /** Requests per rolling minute. */
  requestsPerMinute?: number;
  /** Completion + prompt tokens per rolling minute (reserved when admitted, settled to the actual count when requests finish). */
  tokensPerMinute?: number;
  /** Most completion tokens one request may ask for (larger asks are clamped to it); the default max_tokens of this key's requests. */
  maxTokens?: number;
  /** Model names this key may call (default: all). */
  models?: string[];
  /**
   * Admin key: sees every key's traces (dashboard data, feedback on any trace) and may read
   * `/metrics` under `auth.metrics: admin`. Default false: a key sees only its own traces.
   */
  admin?: boolean;
}

/**
 * The trace scope of a caller (see `TraceScope` in src/store/traces.ts): `{ key: name }` for a
 * normal key, `{}` (every trace) for an admin key or an open gateway (`spec` undefined — only
 * pass undefined when the gateway has no keys).
 */
export function traceScopeOf(spec: ApiKeySpec | undefined): { key?: string } {
  return spec && !spec.admin ? { key: spec.name } : {};
}

/** `sha256:<hex>` of a key. */
export function hashApiKey(key: string): string {
  return `sha256:${createHash("sha256").update(key, "utf8").digest("hex")}`;
}

/** Completion tokens reserved (and sent upstream) for a request without max_tokens, when its key has a budget or a token limit and no `maxTokens`. */
export const DEFAULT_MAX_TOKENS = 1024;

/**
 * The max_tokens to send upstream for a request of `spec` that asked for `requested` (undefined
 * = not given): the ask clamped to the key's `maxTokens`; without an ask, the key's `maxTokens`,
 * else {@link DEFAULT_MAX_TOKENS} when the key has a budget or a token limit (what is reserved
 * must be what bounds the upstream); else `requested` (nothing reserved, nothing to bound).
 */
export function admittedMaxTokens(spec: ApiKeySpec, requested: number | undefined): number | undefined {
  const cap = spec.maxTokens;
  if (requested !== undefined) return cap !== undefined ? Math.min(requested, cap) : requested;
  if (cap !== undefined) return cap;
  return spec.budgetUsd !== undefined || spec.tokensPerMinute !== undefined ? DEFAULT_MAX_TOKENS : undefined;
}

/** An admitted request: call `finish` with its actual cost and tokens, exactly once. */
export interface Admission {
  key: string;
  /** USD reserved against the budget (0 without one): the admitted worst case. */
  reservedUsd: number;
  /** Tokens reserved against the tokens-per-minute limit (0 without one). */
  reservedTokens: number;
  /** Settles the reservation and counts the tokens; never throws (a store failure is logged). */
  finish(actual: { costUsd: number; tokens: number }): Promise<void>;
}

/** Where budgets and rate limits live: this process (SQLite + memory) or Redis (shared by replicas). */
export interface LimitStores {
  ledger: SpendLedger;
  limiter: RateLimiter;
}

/** Checks keys, budgets and rate limits. */
export class KeyRing {
  private readonly byHash = new Map<string, ApiKeySpec>();
  private readonly ledger: SpendLedger;
  private readonly limiter: RateLimiter;

  constructor(keys: readonly ApiKeySpec[], stores: LimitStores) {
    for (const k of keys) {
      if (!/^sha256:[0-9a-f]{64}$/.test(k.hash)) throw new TandemError("invalid_policy", `auth.keys.${k.name}.hash must be sha256:<64 hex digits> (see 'tandem keys hash')`);
      this.byHash.set(k.hash, k);
    }
    this.ledger = stores.ledger;
    this.limiter = stores.limiter;
  }

  /** Key spec for an `Authorization` header value, or a 401. */
  authenticate(authorization: string | undefined): ApiKeySpec {
    const m = authorization?.match(/^Bearer\s+(.+)$/i);
    if (!m) throw new TandemError("invalid_api_key", "Missing API key: send 'Authorization: Bearer <key>' (or 'x-api-key: <key>' on /v1 routes)");
    const hash = hashApiKey(m[1].trim());
    for (const [h, spec] of this.byHash) {
      if (timingSafeEqual(Buffer.from(h), Buffer.from(hash))) return spec;
    }
    throw new TandemError("invalid_api_key", "Incorrect API key provided");
  }

  /**
   * Admits one request of `spec` for `model` (with `price`), reserving its worst-case cost and
   * tokens: `estimate.worstCase` (the served model's bound over every call it may make, see
   * `Model.worstCase`), else one call at `price`, each call bounded by the prompt (estimated at
   * one token per 3 characters) and `estimate.maxTokens`. Throws 403/429 TandemErrors as described in the module comment, and 503 `overloaded` when
   * the shared store (Redis) cannot be reached — limits fail closed, never open.
   */
  async admit(spec: ApiKeySpec, model: string, price: Price, estimate: { promptChars: number; maxTokens: number; worstCase?: (perCall: TokenUsage) => WorstCase }): Promise<Admission> {
    if (spec.models && !spec.models.includes(model)) throw new TandemError("permission_denied", `Key '${spec.name}' may not use model '${model}'`, { param: "model" });
    return unavailableAsOverloaded(async () => {
      const perCall = { promptTokens: Math.ceil(estimate.promptChars / 3), completionTokens: estimate.maxTokens };
      const worst = estimate.worstCase?.(perCall) ?? { costUsd: costOf(price, perCall), tokens: perCall.promptTokens + perCall.completionTokens };
      if (spec.requestsPerMinute !== undefined && !(await this.limiter.admitRequest(spec.name, spec.requestsPerMinute, WINDOW_MS))) {
        throw new TandemError("rate_limit_exceeded", `Rate limit of ${spec.requestsPerMinute} requests per minute reached for key '${spec.name}'`);
      }
      let reservedTokens = 0;
      let tokenReservation: string | undefined;
      if (spec.tokensPerMinute !== undefined) {
        reservedTokens = worst.tokens;
        tokenReservation = await this.limiter.reserveTokens(spec.name, reservedTokens, spec.tokensPerMinute, WINDOW_MS);
        if (tokenReservation === undefined) {
          throw new TandemError("rate_limit_exceeded", `Rate limit of ${spec.tokensPerMinute} tokens per minute reached for key '${spec.name}' (this request reserves up to ${reservedTokens} tokens)`);
        }
      }
      let reserved = 0;
      let reservation: string | undefined;
      if (spec.budgetUsd !== undefined) {
        reserved = worst.costUsd;
        try {
          reservation = await this.ledger.reserve(spec.name, reserved, spec.budgetUsd);
        } catch (error) {
          if (tokenReservation !== undefined) await this.limiter.settleTokens(spec.name, tokenReservation, 0).catch(() => {});
          throw error;
        }
        if (reservation === undefined) {
          if (tokenReservation !== undefined) await this.limiter.settleTokens(spec.name, tokenReservation, 0);
          const s = await this.ledger.state(spec.name);
          throw new TandemError(
            "budget_exceeded",
            `Budget of $${spec.budgetUsd} for key '${spec.name}' would be exceeded (spent $${s.spentUsd.toFixed(6)}, in flight $${s.reservedUsd.toFixed(6)}, this request up to $${reserved.toFixed(6)})`,
          );
        }
      }
      let done = false;
      return {
        key: spec.name,
        reservedUsd: reserved,
        reservedTokens,
        finish: async (actual) => {
          if (done) return;
          done = true;
          try {
            if (reservation !== undefined) await this.ledger.settle(spec.name, reservation, reserved, actual.costUsd);
            if (tokenReservation !== undefined) await this.limiter.settleTokens(spec.name, tokenReservation, actual.tokens);
          } catch (error) {
            console.error(`tandem: could not settle spend of key '${spec.name}': ${(error as Error).message}`);
          }
        },
      };
    });
  }

  /** Closes the ledger and the limiter. */
  async close(): Promise<void> {
    await Promise.all([this.ledger.close(), this.limiter.close()]);
  }
}

const WINDOW_MS = 60_000;

/** Runs `f`; an error that is not a TandemError (a store connection failure) becomes 503 `overloaded`. */
async function unavailableAsOverloaded<T>(f: () => Promise<T>): Promise<T> {
  try {
    return await f();
  } catch (error) {
    if (TandemError.isInstance(error)) throw error;
    throw new TandemError("overloaded", `Budget and rate-limit store unavailable: ${(error as Error).message}`, { cause: error });
  }
}
