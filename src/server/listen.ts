/**
 * Starts a Hono app on a real HTTP server (@hono/node-server over node:http). Port 0 picks a free
 * port. The server carries timeouts against slow clients (slow-loris): a client that does not
 * finish sending its headers within `headersTimeoutMs`, or its whole request (headers and body)
 * within `requestTimeoutMs`, is answered `408 Request Timeout` by node:http (when nothing was
 * answered yet) and its socket is closed; other connections are not affected. The timeouts cover
 * only *receiving* the request: a long streamed answer is not cut off by them.
 */
import { serve, type ServerType } from "@hono/node-server";
import type { Hono } from "hono";
import type { Server } from "node:http";
import type { AddressInfo } from "node:net";

/** A running HTTP server. */
export interface RunningServer {
  /** Base URL, e.g. "http://127.0.0.1:41234". */
  url: string;
  port: number;
  /** Stops accepting connections and closes open ones. */
  close(): Promise<void>;
}

/** Options of {@link listen}. All durations are in milliseconds; 0 disables a timeout. */
export interface ListenOptions {
  /** Port; 0 (default) picks a free one. */
  port?: number;
  /** Interface to bind. Default "127.0.0.1". */
  host?: string;
  /**
   * Time to receive the entire request, headers and body, in ms (node:http `requestTimeout`).
   * Default 30,000. Requests cut off by it never reach the gateway when their headers were
   * incomplete; when only the body was slow, the handler sees a failed body read.
   */
  requestTimeoutMs?: number;
  /**
   * Time to receive the request headers, in ms (node:http `headersTimeout`). Default 10,000,
   * clamped to `requestTimeoutMs` (node:http requires headers ≤ request timeout).
   */
  headersTimeoutMs?: number;
  /** Idle time in ms a kept-alive connection waits for its next request (node:http `keepAliveTimeout`). Default 5,000. */
  keepAliveTimeoutMs?: number;
  /**
   * How often in ms node:http checks connections against `headersTimeoutMs` / `requestTimeoutMs`
   * (node:http `connectionsCheckingInterval`), so a timeout fires up to this much late.
   * Default: a quarter of the smaller of the two, between 100 and 30,000 ms.
   */
  connectionsCheckingIntervalMs?: number;
}

/** Default {@link ListenOptions.requestTimeoutMs}: 30 s. */
export const DEFAULT_REQUEST_TIMEOUT_MS = 30_000;
/** Default {@link ListenOptions.headersTimeoutMs}: 10 s. */
export const DEFAULT_HEADERS_TIMEOUT_MS = 10_000;
/** Default {@link ListenOptions.keepAliveTimeoutMs}: 5 s (node:http's own default). */
export const DEFAULT_KEEP_ALIVE_TIMEOUT_MS = 5_000;

/**
 * Listens on `host:port` (default 127.0.0.1:0). Errors: EADDRINUSE and the like, as thrown by
 * node:net; `ERR_OUT_OF_RANGE` (node:http) for a negative timeout.
 */
export function listen(app: Pick<Hono, "fetch">, options: ListenOptions = {}): Promise<RunningServer> {
  const host = options.host ?? "127.0.0.1";
  const requestTimeout = options.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS;
  let headersTimeout = options.headersTimeoutMs ?? DEFAULT_HEADERS_TIMEOUT_MS;
  if (requestTimeout > 0 && headersTimeout > requestTimeout) headersTimeout = requestTimeout;
  const keepAliveTimeout = options.keepAliveTimeoutMs ?? DEFAULT_KEEP_ALIVE_TIMEOUT_MS;
  const active = [requestTimeout, headersTimeout].filter((t) => t > 0);
  const connectionsCheckingInterval =
    options.connectionsCheckingIntervalMs ?? (active.length ? Math.min(30_000, Math.max(100, Math.floor(Math.min(...active) / 4))) : 30_000);
  return new Promise((resolve, reject) => {
    let server: ServerType;
    const onError = (error: Error) => reject(error);
    server = serve(
      {
        fetch: app.fetch,
        port: options.port ?? 0,
        hostname: host,
        serverOptions: { requestTimeout, headersTimeout, keepAliveTimeout, connectionsCheckingInterval },
      },
      (info: AddressInfo) => {
        server.off("error", onError);
        const shownHost = host.includes(":") ? `[${host}]` : host;
        resolve({
          url: `http://${shownHost}:${info.port}`,
          port: info.port,
          close: () =>
            new Promise<void>((done) => {
              const s = server as Server;
              s.close(() => done());
              s.closeAllConnections?.();
            }),
        });
      },
    );
    server.on("error", onError);
  });
}
