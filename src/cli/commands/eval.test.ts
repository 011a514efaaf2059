import { describe, expect, it } from "vitest";
import { Command } from "commander";
import { existsSync, mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { register as registerEval } from "./eval.js";
import { register as registerData } from "./data.js";
import { register as registerRouter } from "./router.js";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "../../..");
const gsm = join(root, "../shared/data/routing/routellm/gsm8k");

function program(): { program: Command; out: string[] } {
  const p = new Command().exitOverride();
  registerData(p);
  registerRouter(p);
  const ev = registerEval(p);
  ev.command("privacy").option("--dataset <f>").option("--split <s>").action(function (this: Command) {
    out.push(`privacy ${JSON.stringify(this.opts())}`);
  });
  const out: string[] = [];
  return { program: p, out };
}

describe("CLI: data import, router train/calibrate, eval", () => {
  it("runs the whole flow on GSM8K and keeps eval subcommands working", async () => {
    const dir = mkdtempSync(join(tmpdir(), "tandem-cli-"));
    const writes: string[] = [];
    const orig = process.stdout.write.bind(process.stdout);
    process.stdout.write = ((s: string) => (writes.push(String(s)), true)) as typeof process.stdout.write;
    try {
      const { program: p, out } = program();
      await p.parseAsync(["data", "import", "--format", "routellm", gsm, "--out", join(dir, "gsm.jsonl")], { from: "user" });
      expect(writes.join("")).toMatch(/Wrote 1307 records .* contaminated dropped 12/);
      await p.parseAsync(["router", "train", "--dataset", join(dir, "gsm.jsonl"), "--kind", "tfidf-lr", "--out", join(dir, "router.json")], { from: "user" });
      expect(JSON.parse(readFileSync(join(dir, "router.json"), "utf8")).kind).toBe("tfidf-lr");
      await p.parseAsync(["router", "calibrate", "--router", join(dir, "router.json"), "--dataset", join(dir, "gsm.jsonl"), "--strong-share", "0.3"], { from: "user" });
      expect(writes.join("")).toMatch(/For 30\.0% strong calls, threshold = 0\.\d+\n\(on 1307 calibration prompts, 30\.0% score above it/);
      await p.parseAsync(["router", "calibrate", "--router", join(dir, "router.json"), "--dataset", join(dir, "gsm.jsonl"), "--budget", "5"], { from: "user" });
      expect(writes.join("")).toMatch(/threshold = /);
      await p.parseAsync(["eval", "--dataset", join(dir, "gsm.jsonl"), "--strategy", "route", "--router", join(dir, "router.json"), "--out", join(dir, "ev")], { from: "user" });
      for (const f of ["decisions.jsonl", "report.json", "report.md", "curve.svg"]) expect(existsSync(join(dir, "ev", f))).toBe(true);
      const report = JSON.parse(readFileSync(join(dir, "ev", "report.json"), "utf8"));
      expect(report.strategies.map((s: { name: string }) => s.name)).toEqual(["route:tfidf-lr", "random", "oracle"]);
      // trained and evaluated on the same data: far above random
      expect(report.strategies[0].metrics.apgr).toBeGreaterThan(0.7);
      await p.parseAsync(["eval", "privacy", "--dataset", "x.json", "--split", "template"], { from: "user" });
      expect(out).toEqual([`privacy {"dataset":"x.json","split":"template"}`]);
    } finally {
      process.stdout.write = orig;
    }
  });
});
