/**
 * The dashboard's browser script as a build artefact: esbuild bundles the TypeScript source into
 * one classic, ASCII-only script; a built folder (dist/) is served from its `client.js`, a source
 * checkout from `client/main.ts`; the page's CSP hash is the hash of the exact script it inlines.
 * Also the page's pure number formatting (client/format.ts), which runs in Node too.
 */
import { createHash } from "node:crypto";
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { hms, ms, num, pct, usd } from "./client/format.js";
import { dashboardPage } from "./page.js";
import { bundleDashboardClient, CLIENT_ENTRY, dashboardScript, readDashboardScript } from "./script.js";

const tmp = mkdtempSync(join(tmpdir(), "tandem-dashboard-script-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe("dashboard script", () => {
  it("bundles the TypeScript source into one classic ASCII script with no module syntax or types left", () => {
    const script = bundleDashboardClient();
    expect(script.startsWith("(() => {")).toBe(true); // IIFE: runs as a classic inline <script>
    expect(script).not.toMatch(/^\s*(import|export)\s/m);
    expect(script).not.toMatch(/: (string|number|HTMLElement|DashboardStatsView)\b/); // types erased
    expect(script).toContain("/data?buckets=40&recent=25");
    expect(script).toMatch(/^[\x00-\x7f]*$/); // non-ASCII escaped: bytes (and hash) independent of charset
    expect(script).not.toMatch(/<\/script/i);
    expect(dashboardScript()).toBe(script); // a checkout serves the fresh bundle of its source
  });

  it("a built folder serves its client.js; a folder with neither the build nor the source fails with a hint", () => {
    const built = join(tmp, "built");
    mkdirSync(built);
    writeFileSync(join(built, "client.js"), "/* built */ void 0;\n");
    expect(readDashboardScript(built)).toBe("/* built */ void 0;\n");
    expect(() => readDashboardScript(join(tmp, "empty"))).toThrow(/dashboard script is missing.*npm run build/);
  });

  it("the source wins over a stale build next to it", () => {
    const checkout = join(tmp, "checkout");
    mkdirSync(join(checkout, "client"), { recursive: true });
    writeFileSync(join(checkout, "client.js"), "stale();\n");
    writeFileSync(join(checkout, "client", "main.ts"), 'const n: number = 41;\ndocument.title = String(n + 1);\n');
    const script = readDashboardScript(checkout);
    expect(script).not.toContain("stale");
    expect(script).toContain("var n = 41;"); // types stripped
  });

  it("a source that does not compile fails the bundle with esbuild's message", () => {
    const bad = join(tmp, "bad.ts");
    writeFileSync(bad, "const x = ;\n");
    expect(() => bundleDashboardClient(bad)).toThrow(/Unexpected/);
    expect(CLIENT_ENTRY).toMatch(/client[\\/]main\.ts$/);
  });

  it("the page inlines the script and its CSP allows exactly that script's SHA-256", () => {
    const script = "document.title = 'x';";
    const page = dashboardPage('<b>"gw"</b>', true, script);
    expect(page.html).toContain(`<script>${script}</script>`);
    expect(page.html).toContain("<title>&lt;b&gt;&quot;gw&quot;&lt;/b&gt; · Tandem dashboard</title>");
    expect(page.csp).toContain(`script-src 'sha256-${createHash("sha256").update(script).digest("base64")}'`);
    expect(page.csp).toContain("connect-src 'self'");
    expect(page.csp).toContain("default-src 'none'");
    expect(() => dashboardPage("gw", true, "'</script><script>alert(1)'")).toThrow(/<\/script/);
  });
});

describe("dashboard number formatting (client/format.ts)", () => {
  it("USD: $0, 2 decimals from $1, up to 4 from 1 cent, about 3 significant digits below", () => {
    expect([0, 12.5, 1, 0.5, 0.0123, 0.01, 0.000123456, 0.00000123, -0.5].map(usd)).toEqual([
      "$0", "$12.50", "$1.00", "$0.5", "$0.0123", "$0.01", "$0.000123", "$0.00000123", "$-0.5",
    ]);
  });

  it("ms, percentages, decision numbers and clock time", () => {
    expect([1234, 1000, 42.4, 10, 3.46, 0].map(ms)).toEqual(["1.23 s", "1.00 s", "42 ms", "10 ms", "3.5 ms", "0.0 ms"]);
    expect([0, 0.05, 0.5, 1, 0.123].map(pct)).toEqual(["0%", "5.0%", "50%", "100%", "12%"]);
    expect([0.2, 0.123456, 3, 150.7].map(num)).toEqual(["0.200", "0.123", "3", "151"]);
    expect(hms(new Date(2024, 0, 1, 9, 5, 7).getTime())).toBe("09:05:07");
  });
});
