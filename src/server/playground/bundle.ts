/**
 * Bundling the browser build with esbuild, for the browser platform, failing on any Node built-in:
 *
 * - the library, `tandem/browser` (src/browser/index.ts) → one ES module
 *   (`dist/browser/tandem.browser.js`), for a page that loads it without a bundler;
 * - the playground page's script (src/browser/playground/main.ts), served at
 *   `/playground/assets/playground.js`.
 *
 * The check is what keeps the browser entry honest: an import of `fs`, `node:path`, `crypto`… anywhere
 * in its graph (directly or through a package) fails the build with the chain that reached it,
 * instead of a bundle that breaks in the page. (`tandem/browser` in package.json points at the tsc
 * output, dist/browser/index.js, whose graph is this same one.)
 *
 * Source checkout (vitest, tsx): bundled in memory on the first request (≈0.3 s, once per process); installed package:
 * read from dist/ where `npm run build` (`build.ts`) wrote it. esbuild is a devDependency.
 */
import { existsSync, readFileSync } from "node:fs";
import { builtinModules, createRequire } from "node:module";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import type * as Esbuild from "esbuild";

const here = dirname(fileURLToPath(import.meta.url));
/** Package root: src/server/playground/ and dist/server/playground/ both sit three levels below it. */
export const packageRoot = resolve(here, "../../..");
/** Entry of `tandem/browser` in a source checkout. */
export const BROWSER_ENTRY = join(packageRoot, "src", "browser", "index.ts");
/** Entry of the playground page's script in a source checkout. */
export const PLAYGROUND_ENTRY = join(packageRoot, "src", "browser", "playground", "main.ts");
/** Where `npm run build` writes the library bundle. */
export const BROWSER_BUNDLE_PATH = join(packageRoot, "dist", "browser", "tandem.browser.js");
/** Where `npm run build` writes the playground script (next to this module in dist/). */
export const PLAYGROUND_BUNDLE_FILE = "client.js";

/** Node's built-in module names (`fs`, `node:fs`, `fs/promises`…). */
const BUILTINS = new Set(builtinModules.flatMap((m) => [m, `node:${m}`]));

/** Options of {@link bundleBrowser}. */
export interface BundleOptions {
  /** Entry file (absolute, or relative to the package root). */
  entry: string;
  /** Minify (whitespace, identifiers, syntax). @default true */
  minify?: boolean;
}

/** A bundle and what went into it. */
export interface BrowserBundle {
  /** The ES module's text. */
  code: string;
  /** Bytes in the output per input (path relative to the package root), largest first. */
  inputs: Array<{ path: string; bytes: number }>;
}

function loadEsbuild(): typeof Esbuild {
  try {
    return createRequire(import.meta.url)("esbuild") as typeof Esbuild;
  } catch (error) {
    throw new Error(`bundling the browser build needs esbuild (a devDependency of tandem; run npm install): ${(error as Error).message}`);
  }
}

/**
 * Bundles `entry` for browsers: ES module, target ES2022, platform "browser" (package `browser`
 * fields honoured), ASCII output. Rejects with an `Error` listing every Node built-in reached from
 * the entry (with the importing file), or with esbuild's compile errors.
 */
export async function bundleBrowser(options: BundleOptions): Promise<BrowserBundle> {
  const esbuild = loadEsbuild();
  const entry = resolve(packageRoot, options.entry);
  const forbidden: string[] = [];
  let result: Esbuild.BuildResult<{ write: false; metafile: true }>;
  try {
    result = (await esbuild.build({
      entryPoints: [entry],
      absWorkingDir: packageRoot,
      bundle: true,
      format: "esm",
      platform: "browser",
      target: "es2022",
      charset: "ascii",
      legalComments: "none",
      minify: options.minify ?? true,
      write: false,
      metafile: true,
      logLevel: "silent",
      tsconfigRaw: { compilerOptions: { verbatimModuleSyntax: false } },
      plugins: [
        {
          name: "no-node-builtins",
          setup(build: Esbuild.PluginBuild) {
            build.onResolve({ filter: /.*/ }, (args: Esbuild.OnResolveArgs) => {
              if (!BUILTINS.has(args.path)) return undefined;
              forbidden.push(`${args.path} (imported by ${args.importer.startsWith(packageRoot) ? args.importer.slice(packageRoot.length + 1) : args.importer})`);
              return { errors: [{ text: `Node built-in '${args.path}' is not allowed in the browser build` }] };
            });
          },
        },
      ],
    })) as Esbuild.BuildResult<{ write: false; metafile: true }>;
  } catch (error) {
    if (forbidden.length) throw new Error(`the browser build reaches Node built-ins: ${[...new Set(forbidden)].join("; ")}`, { cause: error });
    throw error;
  }
  const output = Object.values(result.metafile.outputs)[0];
  const inputs = Object.entries(output?.inputs ?? {})
    .map(([path, info]) => ({ path, bytes: info.bytesInOutput }))
    .sort((a, b) => b.bytes - a.bytes);
  return { code: result.outputFiles[0].text, inputs };
}

/**
 * The playground script served from `dir` (this module's folder by default): bundled from the
 * source entry when the checkout has it, else read from `dir/client.js` (a build). Throws when
 * neither exists ("run npm run build"), or as {@link bundleBrowser}.
 */
export async function readPlaygroundScript(dir: string = here): Promise<string> {
  if (existsSync(PLAYGROUND_ENTRY)) return (await bundleBrowser({ entry: PLAYGROUND_ENTRY })).code;
  const built = join(dir, PLAYGROUND_BUNDLE_FILE);
  if (existsSync(built)) return readFileSync(built, "utf8");
  throw new Error(`the playground script is missing: neither ${built} nor its source ${PLAYGROUND_ENTRY} exists; run npm run build`);
}

let cached: Promise<string> | undefined;

/** {@link readPlaygroundScript}, read or bundled once per process (a failure is not cached). */
export function playgroundScript(): Promise<string> {
  cached ??= readPlaygroundScript().catch((error: unknown) => {
    cached = undefined;
    throw error;
  });
  return cached;
}
