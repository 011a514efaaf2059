/**
 * Gateway API keys, per-key USD budgets and request/token rate limits.
 *
 * - Keys are stored only as SHA-256 hashes (`sha256:<hex>`; `tandem keys hash KEY` prints one).
 * - Budgets are enforced by reservation in a {@link SpendLedger}: a request reserves its
 *   worst-case cost (the model's price × (prompt tokens estimated at 1 per 3 characters +
 *   max_tokens)), and settles its actual cost when it ends — so concurrent requests cannot
 *   overshoot the budget by more than one estimate's error.
 * - Rate limits are sliding 60-second windows, per key, in this process.
 *
 * Errors (all OpenAI-shaped): 401 `invalid_api_key` (missing or unknown key), 403
 * `permission_denied` (model not allowed for the key), 429 `budget_exceeded` or
 * `rate_limit_exceeded`.
 */
import { createHash, timingSafeEqual } from "node:crypto";
import { TandemError } from "../core/errors.js";
import { costOf, type Price } from "../core/model.js";
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
  /** Completion + prompt tokens per rolling minute (counted when requests finish). */
  tokensPerMinute?: number;
  /** Model names this key may call (default: all). */
  models?: string[];
}

/** `sha256:<hex>` of a key. */
export function hashApiKey(key: string): string {
  return `sha256:${createHash("sha256").update(key, "utf8").digest("hex")}`;
}

/** An admitted request: call `finish` with its actual cost and tokens, exactly once. */
export interface Admission {
  key: string;
  finish(actual: { costUsd: number; tokens: number }): void;
}

/** Checks keys, budgets and rate limits. */
export class KeyRing {
  private readonly byHash = new Map<string, ApiKeySpec>();
  private readonly requestTimes = new Map<string, number[]>();
  private readonly tokenEvents = new Map<string, Array<[number, number]>>();

  constructor(
    keys: readonly ApiKeySpec[],
    private readonly ledger: SpendLedger,
    private readonly now: () => number = Date.now,
  ) {
    for (const k of keys) {
      if (!/^sha256:[0-9a-f]{64}$/.test(k.hash)) throw new TandemError("invalid_policy", `auth.keys.${k.name}.hash must be sha256:<64 hex digits> (see 'tandem keys hash')`);
      this.byHash.set(k.hash, k);
    }
  }

  /** Key spec for an `Authorization` header value, or a 401. */
  authenticate(authorization: string | undefined): ApiKeySpec {
    const m = authorization?.match(/^Bearer\s+(.+)$/i);
    if (!m) throw new TandemError("invalid_api_key", "Missing API key: send 'Authorization: Bearer <key>'");
    const hash = hashApiKey(m[1].trim());
    for (const [h, spec] of this.byHash) {
      if (timingSafeEqual(Buffer.from(h), Buffer.from(hash))) return spec;
    }
    throw new TandemError("invalid_api_key", "Incorrect API key provided");
  }

  /**
   * Admits one request of `spec` for `model` (with `price`), reserving its worst-case cost.
   * Throws 403/429 TandemErrors as described in the module comment.
   */
  admit(spec: ApiKeySpec, model: string, price: Price, estimate: { promptChars: number; maxTokens: number }): Admission {
    if (spec.models && !spec.models.includes(model)) throw new TandemError("permission_denied", `Key '${spec.name}' may not use model '${model}'`, { param: "model" });
    const t = this.now();
    if (spec.requestsPerMinute !== undefined) {
      const times = (this.requestTimes.get(spec.name) ?? []).filter((x) => x > t - 60_000);
      if (times.length >= spec.requestsPerMinute) {
        this.requestTimes.set(spec.name, times);
        throw new TandemError("rate_limit_exceeded", `Rate limit of ${spec.requestsPerMinute} requests per minute reached for key '${spec.name}'`);
      }
      times.push(t);
      this.requestTimes.set(spec.name, times);
    }
    if (spec.tokensPerMinute !== undefined) {
      const events = (this.tokenEvents.get(spec.name) ?? []).filter(([x]) => x > t - 60_000);
      this.tokenEvents.set(spec.name, events);
      const used = events.reduce((s, [, n]) => s + n, 0);
      if (used >= spec.tokensPerMinute) throw new TandemError("rate_limit_exceeded", `Rate limit of ${spec.tokensPerMinute} tokens per minute reached for key '${spec.name}'`);
    }
    let reserved = 0;
    if (spec.budgetUsd !== undefined) {
      reserved = costOf(price, { promptTokens: Math.ceil(estimate.promptChars / 3), completionTokens: estimate.maxTokens });
      if (!this.ledger.reserve(spec.name, reserved, spec.budgetUsd)) {
        const s = this.ledger.state(spec.name);
        throw new TandemError(
          "budget_exceeded",
          `Budget of $${spec.budgetUsd} for key '${spec.name}' would be exceeded (spent $${s.spentUsd.toFixed(6)}, in flight $${s.reservedUsd.toFixed(6)}, this request up to $${reserved.toFixed(6)})`,
        );
      }
    }
    let done = false;
    return {
      key: spec.name,
      finish: (actual) => {
        if (done) return;
        done = true;
        this.ledger.settle(spec.name, reserved, actual.costUsd);
        if (spec.tokensPerMinute !== undefined && actual.tokens > 0) {
          const events = this.tokenEvents.get(spec.name) ?? [];
          events.push([this.now(), actual.tokens]);
          this.tokenEvents.set(spec.name, events);
        }
      },
    };
  }
}
