/**
 * Tandem's one error family. Every failure that can reach a caller is a `TandemError` carrying
 * an OpenAI-shaped body (`{ error: { message, type, param, code } }`) and its HTTP status.
 * Codes live in one table (`ERROR_CODES`), each with its status, in the manner of tRPC's error
 * table. Checks use `TandemError.isInstance`, which works across bundles via a `Symbol.for` marker
 * (the Vercel AI SDK's convention).
 */

import type { ModelCall } from "./model.js";

const MARKER = Symbol.for("tandem.error");

/** Each error code with its HTTP status and OpenAI error `type`. */
export const ERROR_CODES = {
  invalid_json: { status: 400, type: "invalid_request_error" },
  invalid_request: { status: 400, type: "invalid_request_error" },
  tandem_guard: { status: 400, type: "invalid_request_error" },
  invalid_api_key: { status: 401, type: "authentication_error" },
  permission_denied: { status: 403, type: "permission_error" },
  model_not_found: { status: 404, type: "invalid_request_error" },
  not_found: { status: 404, type: "invalid_request_error" },
  payload_too_large: { status: 413, type: "invalid_request_error" },
  rate_limit_exceeded: { status: 429, type: "rate_limit_error" },
  budget_exceeded: { status: 429, type: "insufficient_quota" },
  internal_error: { status: 500, type: "server_error" },
  upstream_error: { status: 502, type: "upstream_error" },
  overloaded: { status: 503, type: "server_error" },
  upstream_timeout: { status: 504, type: "timeout_error" },
  invalid_policy: { status: 500, type: "server_error" },
  model_load_failed: { status: 500, type: "server_error" },
  aborted: { status: 499, type: "invalid_request_error" },
} as const;

/** One of the codes in {@link ERROR_CODES}. */
export type ErrorCode = keyof typeof ERROR_CODES;

/** The JSON body OpenAI clients parse on error responses. */
export interface OpenAIErrorBody {
  error: { message: string; type: string; param: string | null; code: string };
}

/**
 * A typed Tandem failure.
 * @example throw new TandemError("model_not_found", "The model 'x' does not exist", { param: "model" })
 */
export class TandemError extends Error {
  readonly [MARKER] = true;
  readonly code: ErrorCode;
  /** HTTP status of the response this error becomes. */
  readonly status: number;
  /** OpenAI error `type`. */
  readonly type: string;
  /** The request field at fault, when there is one (OpenAI `param`). */
  readonly param: string | null;
  /**
   * Model calls made (and paid for) before the failure, including the partial call that failed
   * (its tokens = what the upstream reported, else what was counted from the streamed text).
   * Set by providers and strategies so the gateway can charge what was generated on an abort,
   * timeout or error; `undefined` when nobody knew (the gateway then estimates).
   */
  calls?: ModelCall[];

  constructor(code: ErrorCode, message: string, options: { param?: string | null; cause?: unknown; calls?: ModelCall[] } = {}) {
    super(message, { cause: options.cause });
    this.name = "TandemError";
    this.code = code;
    this.status = ERROR_CODES[code].status;
    this.type = ERROR_CODES[code].type;
    this.param = options.param ?? null;
    if (options.calls) this.calls = options.calls;
  }

  /** True for any TandemError, even one created by another copy of this package. */
  static isInstance(value: unknown): value is TandemError {
    return typeof value === "object" && value !== null && (value as Record<symbol, unknown>)[MARKER] === true;
  }

  /** OpenAI-shaped response body. */
  toJSON(): OpenAIErrorBody {
    return { error: { message: this.message, type: this.type, param: this.param, code: this.code } };
  }
}

/**
 * Normalizes anything thrown into a TandemError, keeping the original as `cause`.
 * Errors that already are TandemErrors pass through; aborts become `aborted`; timeouts
 * become `upstream_timeout`; everything else becomes `fallback` (default `internal_error`).
 */
export function toTandemError(error: unknown, fallback: ErrorCode = "internal_error"): TandemError {
  if (TandemError.isInstance(error)) return error;
  const message = error instanceof Error ? error.message : String(error);
  const name = error instanceof Error ? error.name : "";
  if (name === "TimeoutError" || /timed? ?out/i.test(message)) {
    return new TandemError("upstream_timeout", message, { cause: error });
  }
  if (name === "AbortError") return new TandemError("aborted", message || "Request aborted", { cause: error });
  return new TandemError(fallback, message, { cause: error });
}

/**
 * Records on `error` the paid `calls` made before it (prepended to any it already carries) and
 * returns it. Used by providers and strategies on the way up, so the gateway can charge them.
 */
export function withCalls(error: TandemError, calls: readonly ModelCall[]): TandemError {
  if (calls.length) error.calls = [...calls, ...(error.calls ?? [])];
  return error;
}
