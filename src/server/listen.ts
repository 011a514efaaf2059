/**
 * Starts a Hono app on a real HTTP server (@hono/node-server). Port 0 picks a free port.
 */
import { serve, type ServerType } from "@hono/node-server";
import type { Hono } from "hono";
import type { AddressInfo } from "node:net";

/** A running HTTP server. */
export interface RunningServer {
  /** Base URL, e.g. "http://127.0.0.1:41234". */
  url: string;
  port: number;
  /** Stops accepting connections and closes open ones. */
  close(): Promise<void>;
}

/** Listens on `host:port` (default 127.0.0.1:0). Errors: EADDRINUSE and the like, as thrown by node:net. */
export function listen(app: Hono, options: { port?: number; host?: string } = {}): Promise<RunningServer> {
  const host = options.host ?? "127.0.0.1";
  return new Promise((resolve, reject) => {
    let server: ServerType;
    const onError = (error: Error) => reject(error);
    server = serve({ fetch: app.fetch, port: options.port ?? 0, hostname: host }, (info: AddressInfo) => {
      server.off("error", onError);
      const shownHost = host.includes(":") ? `[${host}]` : host;
      resolve({
        url: `http://${shownHost}:${info.port}`,
        port: info.port,
        close: () =>
          new Promise<void>((done) => {
            const s = server as unknown as { closeAllConnections?: () => void; close: (cb: () => void) => void };
            s.close(() => done());
            s.closeAllConnections?.();
          }),
      });
    });
    server.on("error", onError);
  });
}
