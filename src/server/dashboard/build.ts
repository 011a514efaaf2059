/**
 * Build step of the dashboard script, run by `npm run build` / `prepare` after tsc:
 * `node dist/server/dashboard/build.js [entry] [out]` bundles `entry` (default
 * src/server/dashboard/client/main.ts, relative to the working directory) into `out` (default
 * dist/server/dashboard/client.js) with {@link bundleDashboardClient}, the same function a source
 * checkout uses in memory. Exits non-zero with esbuild's message when the source does not compile.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { bundleDashboardClient } from "./script.js";

const [entry = "src/server/dashboard/client/main.ts", out = "dist/server/dashboard/client.js"] = process.argv.slice(2);
const script = bundleDashboardClient(resolve(entry));
mkdirSync(dirname(resolve(out)), { recursive: true });
writeFileSync(resolve(out), script);
console.log(`dashboard script: ${out} (${script.length} bytes)`);
