/**
 * The gateway's `/playground`: a page that runs Tandem's browser build (`tandem/browser`) with
 * stories260K IN THE PAGE (wllama, WebAssembly) and this gateway's strategies as its cloud side
 * (see src/browser/playground/main.ts). Routes, all read-only:
 *
 * - `GET /playground` — the page (CSP in page.ts);
 * - `GET /playground/assets/playground.js` — its script (bundled from source in a checkout, read
 *   from dist/ when installed; bundle.ts);
 * - `GET /playground/assets/wllama.wasm` — llama.cpp in WebAssembly, from `@wllama/wllama`;
 * - `GET /playground/assets/models/{stories260K.gguf, privacy-tagger.json, guard.json}` — the
 *   bundled models the page loads (the 4.85 MB tagger is fetched, not bundled).
 *
 * The page calls `/v1/chat/completions` and `/v1/models` of this gateway like any client, with the
 * key it finds in its URL fragment (`/playground#key=<key>`) when the gateway has keys.
 * wllama runs single-threaded here (`nThreads: 1`), so no cross-origin isolation is needed.
 * Errors: a missing asset answers 404 (OpenAI-shaped body); a script that cannot be bundled, 500
 * (through the app's error handler).
 */
import { createReadStream, existsSync, statSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { Readable } from "node:stream";
import type { Env, Hono } from "hono";
import { TandemError } from "../../core/errors.js";
import { packageRoot, playgroundScript } from "./bundle.js";
import { PLAYGROUND_CSP, playgroundPage } from "./page.js";

/** Options of {@link mountPlayground}. */
export interface PlaygroundMountOptions {
  /** Gateway name shown in the title. @default "tandem" */
  name?: string;
}

/** The file behind each asset path (absolute), with its content type. */
function assetFiles(): Map<string, { file: string; type: string }> {
  const wllamaDir = dirname(createRequire(import.meta.url).resolve("@wllama/wllama")); // …/esm
  const models = join(packageRoot, "models");
  return new Map([
    ["wllama.wasm", { file: join(wllamaDir, "wasm", "wllama.wasm"), type: "application/wasm" }],
    ["models/stories260K.gguf", { file: join(models, "stories260K.gguf"), type: "application/octet-stream" }],
    ["models/privacy-tagger.json", { file: join(models, "privacy-tagger.json"), type: "application/json" }],
    ["models/guard.json", { file: join(models, "guard.json"), type: "application/json" }],
  ]);
}

/** Adds the `/playground` routes (see module docs) to a gateway app. */
export function mountPlayground<E extends Env>(app: Hono<E>, options: PlaygroundMountOptions = {}): void {
  const name = options.name ?? "tandem";
  const security = { "x-content-type-options": "nosniff", "referrer-policy": "no-referrer" };
  let files: Map<string, { file: string; type: string }> | undefined;

  const html = () => new Response(playgroundPage(name), { headers: { "content-type": "text/html; charset=utf-8", "cache-control": "no-store", "content-security-policy": PLAYGROUND_CSP, ...security } });
  app.get("/playground", html);
  app.get("/playground/", html);

  app.get("/playground/assets/playground.js", async () => new Response(await playgroundScript(), { headers: { "content-type": "text/javascript; charset=utf-8", "cache-control": "no-cache", ...security } }));

  app.get("/playground/assets/*", (c) => {
    files ??= assetFiles();
    const asset = files.get(c.req.path.slice("/playground/assets/".length));
    if (!asset || !existsSync(asset.file)) return c.json(new TandemError("not_found", `No playground asset at ${c.req.path}`).toJSON(), 404);
    const body = Readable.toWeb(createReadStream(asset.file)) as unknown as ReadableStream;
    return new Response(body, { headers: { "content-type": asset.type, "content-length": String(statSync(asset.file).size), "cache-control": "no-cache", ...security } });
  });
}
