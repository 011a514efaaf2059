/**
 * Where the dashboard page's browser script comes from. Its source is TypeScript under
 * `client/` (type-checked against the DOM by `tsconfig.dashboard.json`); esbuild bundles it into
 * one classic script (IIFE, ES2020, ASCII-only), which the page inlines under a CSP hash.
 *
 * - Installed package / `tandem serve` from dist/: `npm run build` (and so `npm install`, through
 *   `prepare`) writes `dist/server/dashboard/client.js` with {@link bundleDashboardClient}
 *   (`build.ts`); the server reads that file. esbuild is a devDependency: not needed at run time.
 * - Source checkout (vitest, tsx): `client/main.ts` lies next to this file, and the server bundles
 *   it in memory on the first page request (about 20 ms, once per process), so a test never sees
 *   a stale build.
 */
import { existsSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import type * as Esbuild from "esbuild";

const here = dirname(fileURLToPath(import.meta.url));
/** Package root: src/server/dashboard/ and dist/server/dashboard/ both sit three levels below it. */
const packageRoot = resolve(here, "../../..");

/** Entry of the browser script's source (in a source checkout), absolute path. */
export const CLIENT_ENTRY = join(here, "client", "main.ts");
/** File name of the built script, next to this module in dist/. */
export const CLIENT_BUNDLE_FILE = "client.js";

/**
 * Bundles the browser script from its TypeScript source with esbuild (IIFE for a classic inline
 * `<script>`, target ES2020, non-ASCII escaped so the bytes and the CSP hash do not depend on a
 * charset). Returns the script text. Throws when esbuild is not installed (it is a devDependency:
 * run `npm install` in the checkout) or the source does not compile (esbuild's messages).
 */
export function bundleDashboardClient(entry: string = CLIENT_ENTRY): string {
  let esbuild: typeof Esbuild;
  try {
    esbuild = createRequire(import.meta.url)("esbuild") as typeof Esbuild;
  } catch (error) {
    throw new Error(`bundling the dashboard script needs esbuild (a devDependency of tandem; run npm install): ${(error as Error).message}`);
  }
  const result = esbuild.buildSync({
    entryPoints: [entry],
    absWorkingDir: packageRoot, // path comments in the bundle are relative to it: the same bytes from any cwd
    bundle: true,
    format: "iife",
    platform: "browser",
    target: "es2020",
    charset: "ascii",
    legalComments: "none",
    tsconfigRaw: { compilerOptions: { verbatimModuleSyntax: true } },
    write: false,
    logLevel: "silent",
  });
  return result.outputFiles[0].text;
}

/**
 * The script for the page served from `dir` (this module's folder by default): bundled from
 * `dir/client/main.ts` when that source is there (a checkout), else read from `dir/client.js`
 * (a build). Throws when neither exists ("run npm run build"), or as {@link bundleDashboardClient}.
 */
export function readDashboardScript(dir: string = here): string {
  const source = join(dir, "client", "main.ts");
  if (existsSync(source)) return bundleDashboardClient(source);
  const built = join(dir, CLIENT_BUNDLE_FILE);
  if (existsSync(built)) return readFileSync(built, "utf8");
  throw new Error(`the dashboard script is missing: neither ${built} nor its source ${source} exists; run npm run build`);
}

let cached: string | undefined;

/** {@link readDashboardScript} of this module's folder, read or bundled once per process. */
export function dashboardScript(): string {
  cached ??= readDashboardScript();
  return cached;
}
