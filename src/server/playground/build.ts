/**
 * Build step of the browser build, run by `npm run build` / `prepare` after tsc:
 * `node dist/server/playground/build.js` bundles `tandem/browser` (src/browser/index.ts) into
 * dist/browser/tandem.browser.js and the playground page's script into
 * dist/server/playground/client.js, both with {@link bundleBrowser} (browser platform; the build
 * FAILS when a Node built-in is reachable). Prints each bundle's size and gzip size (bytes).
 * Exits non-zero with the reason when a bundle cannot be built.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { gzipSync } from "node:zlib";
import { BROWSER_BUNDLE_PATH, BROWSER_ENTRY, PLAYGROUND_BUNDLE_FILE, PLAYGROUND_ENTRY, bundleBrowser, packageRoot } from "./bundle.js";

const outDir = dirname(fileURLToPath(import.meta.url));
const targets = [
  { entry: BROWSER_ENTRY, out: BROWSER_BUNDLE_PATH },
  { entry: PLAYGROUND_ENTRY, out: join(outDir, PLAYGROUND_BUNDLE_FILE) },
];
for (const { entry, out } of targets) {
  const { code } = await bundleBrowser({ entry });
  mkdirSync(dirname(out), { recursive: true });
  writeFileSync(out, code);
  console.log(`browser bundle: ${out.slice(packageRoot.length + 1)} (${Buffer.byteLength(code)} bytes, ${gzipSync(code).length} gzip)`);
}
