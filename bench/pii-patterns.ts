/**
 * PII pattern timing (issue #10): each recognizer's `find` on adversarial texts of 8k, 32k,
 * 128k and 1M characters ("a.", "x", "1." and random "a.@-x1"), in ms (median of 3).
 * Phone numbers on digit-dense text are measured up to 128k only (≈ 50 µs/char: 1M ≈ 1 min).
 *
 * Run: npx tsx bench/pii-patterns.ts  → bench/results/pii-patterns.json
 */
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { DEFAULT_RECOGNIZERS } from "../src/pii/patterns.js";
import { loadTagger } from "../src/pii/detector.js";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const repeat = (u: string, n: number) => u.repeat(Math.ceil(n / u.length)).slice(0, n);
let seed = 7;
const random = (n: number, abc: string) => Array.from({ length: n }, () => abc[((seed = (seed * 1103515245 + 12345) >>> 0) >>> 8) % abc.length]).join("");
const inputs: Record<string, (n: number) => string> = { "a.": (n) => repeat("a.", n), x: (n) => repeat("x", n), "1.": (n) => repeat("1.", n), "random a.@-x1": (n) => random(n, "a.@-x1") };
const sizes = [8_192, 32_768, 131_072, 1_048_576];
const median = (f: () => unknown) => {
  const t: number[] = [];
  for (let i = 0; i < 3; i++) {
    const t0 = performance.now();
    f();
    t.push(performance.now() - t0);
  }
  return Math.round(t.sort((a, b) => a - b)[1] * 10) / 10;
};
const results: Record<string, Record<string, Record<string, number | null>>> = {};
const tagger = loadTagger();
for (const r of [...DEFAULT_RECOGNIZERS.map((x) => ({ name: x.type, find: (t: string) => x.find(t) })), { name: "tagger", find: (t: string) => tagger.tag(t) }]) {
  results[r.name] = {};
  for (const [k, g] of Object.entries(inputs)) {
    results[r.name][k] = {};
    for (const n of sizes) {
      const slow = (r.name === "PHONE_NUMBER" && /1/.test(k)) || r.name === "tagger";
      const text = g(n);
      results[r.name][k][n] = slow && n > 131_072 ? null : median(() => r.find(text));
    }
  }
  console.log(r.name, JSON.stringify(results[r.name]));
}
fs.mkdirSync(path.join(root, "bench/results"), { recursive: true });
fs.writeFileSync(
  path.join(root, "bench/results/pii-patterns.json"),
  JSON.stringify({ date: new Date().toISOString(), node: process.version, unit: "ms (median of 3)", sizes, note: "null: not measured (too slow by design, see docstring)", results }, null, 2) + "\n",
);
