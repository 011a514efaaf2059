/**
 * `tandem models pull` offline: node-llama-cpp's downloader against a real HTTP file server on
 * 127.0.0.1 serving the bundled GGUFs (with byte ranges, as Hugging Face's CDN does), and a fake
 * Hugging Face hub on the same server (the manifest API `v2/<user>/<repo>/manifests/<quant>` and
 * `<user>/<repo>/resolve/main/<file>`), so the `hf:` path runs without the network. Checks: the
 * bytes arrive intact, a given sha256 is verified, a mismatch fails clearly and deletes the file,
 * an interrupted download resumes without fetching the finished chunks again, an unreachable hub
 * fails with an "offline?" message, and the presets follow the machine's memory.
 */
import { Command } from "commander";
import { createHash } from "node:crypto";
import { existsSync, mkdtempSync, readdirSync, readFileSync, statSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { listLocalModels, modelsListText, pullModel, register } from "../src/cli/commands/models.js";
import { MODEL_PRESETS, recommendPresets } from "../src/cli/presets.js";
import { modelPath } from "./helpers.js";

const small = readFileSync(modelPath("stories260K.gguf")); // 1.2 MB: one 5 MiB chunk
const big = readFileSync(modelPath("tinytales-5M.gguf")); // 20 MB: four chunks
const sha = (b: Buffer) => createHash("sha256").update(b).digest("hex");

/** Requests seen, as "METHOD path range". */
const log: string[] = [];
/** When set, only ranges starting at byte 0 are served; other responses send headers and stall. */
let stall = false;
const stalled = new Set<import("node:http").ServerResponse>();
let server: Server;
let base: string;

function serveFile(data: Buffer, req: import("node:http").IncomingMessage, res: import("node:http").ServerResponse): void {
  const m = /^bytes=(\d+)-(\d*)$/.exec(req.headers.range ?? "");
  const start = m ? Number(m[1]) : 0;
  const end = m && m[2] ? Math.min(Number(m[2]), data.length - 1) : data.length - 1;
  const headers = { "content-type": "application/octet-stream", "accept-ranges": "bytes", etag: `"${sha(data).slice(0, 16)}"` };
  if (m) res.writeHead(206, { ...headers, "content-range": `bytes ${start}-${end}/${data.length}`, "content-length": end - start + 1 });
  else res.writeHead(200, { ...headers, "content-length": data.length });
  if (req.method === "HEAD") return void res.end();
  if (stall && !(m && start === 0)) {
    res.flushHeaders();
    stalled.add(res);
    return;
  }
  res.end(data.subarray(start, end + 1));
}

beforeAll(async () => {
  server = createServer((req, res) => {
    const url = new URL(req.url ?? "/", "http://x");
    log.push(`${req.method} ${url.pathname} ${req.headers.range ?? ""}`.trim());
    if (url.pathname === "/files/stories260K.gguf") return serveFile(small, req, res);
    if (url.pathname === "/files/tinytales-5M.gguf") return serveFile(big, req, res);
    // fake hub: the manifest names the GGUF of a quant, resolve/main serves it
    if (url.pathname === "/v2/tandem-test/Stories-GGUF/manifests/Q8_0") {
      res.writeHead(200, { "content-type": "application/json" });
      return void res.end(JSON.stringify({ ggufFile: { rfilename: "stories260K-Q8_0.gguf", size: small.length } }));
    }
    if (url.pathname === "/tandem-test/Stories-GGUF/resolve/main/stories260K-Q8_0.gguf") return serveFile(small, req, res);
    res.writeHead(404, { "content-type": "text/plain" }).end("not found");
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
});

const tmp = () => mkdtempSync(join(tmpdir(), "tandem-pull-"));

describe("tandem models pull (offline, local file server)", () => {
  it("downloads a URL intact and verifies the given sha256; a second pull finds it present", async () => {
    const dir = tmp();
    const seen: number[] = [];
    const r = await pullModel({ source: `${base}/files/stories260K.gguf`, dir, sha256: sha(small).toUpperCase(), onProgress: (s) => seen.push(s.downloadedBytes) });
    expect(r.path).toBe(join(dir, "stories260K.gguf"));
    expect(readFileSync(r.path).equals(small)).toBe(true);
    expect(r).toMatchObject({ bytes: small.length, sha256: sha(small), verified: true, resumedFromBytes: 0, alreadyPresent: false });
    expect(Math.max(...seen)).toBe(small.length);
    const again = await pullModel({ source: `${base}/files/stories260K.gguf`, dir });
    expect(again).toMatchObject({ alreadyPresent: true, verified: false, sha256: sha(small) });
    expect(readdirSync(dir)).toEqual(["stories260K.gguf"]);
  });

  it("a sha256 mismatch fails with both digests and deletes the file", async () => {
    const dir = tmp();
    const wrong = "0".repeat(64);
    await expect(pullModel({ source: `${base}/files/stories260K.gguf`, dir, sha256: wrong })).rejects.toThrow(
      new RegExp(`sha256 mismatch for stories260K\\.gguf: expected ${wrong}, got ${sha(small)} — the file was deleted`),
    );
    expect(readdirSync(dir)).toEqual([]);
    await expect(pullModel({ source: `${base}/files/stories260K.gguf`, dir, sha256: "abc" })).rejects.toThrow(/64 hex digits/);
  });

  it("an interrupted download keeps its finished chunks and the next pull resumes without fetching them again", async () => {
    const dir = tmp();
    const partial = join(dir, "tinytales-5M.gguf.ipull");
    stall = true;
    log.length = 0;
    const controller = new AbortController();
    // ipull saves its progress (which chunks are complete) after the file's bytes in <file>.ipull:
    // interrupt once the first 5 MiB chunk — the only range the stalling server completes — is saved
    const watcher = setInterval(() => {
      if (!controller.signal.aborted && existsSync(partial) && statSync(partial).size > big.length) {
        controller.abort(); // Ctrl-C…
        for (const res of stalled) res.destroy(); // …and the connections drop
      }
    }, 25);
    try {
      await expect(pullModel({ source: `${base}/files/tinytales-5M.gguf`, dir, signal: controller.signal })).rejects.toThrow(/download interrupted \(\d+ bytes kept in .*tinytales-5M\.gguf\.ipull\); run the same pull again to resume/);
    } finally {
      clearInterval(watcher);
      stall = false;
      for (const res of stalled) res.destroy();
      stalled.clear();
    }
    expect(existsSync(join(dir, "tinytales-5M.gguf"))).toBe(false);
    expect(listLocalModels(dir)).toMatchObject([{ file: "tinytales-5M.gguf", partial: true }]);
    expect(modelsListText(dir)).toMatch(/tinytales-5M\.gguf .*\(partial: pull again to resume\)/);
    log.length = 0;
    const r = await pullModel({ source: `${base}/files/tinytales-5M.gguf`, dir, sha256: sha(big) });
    expect(r.resumedFromBytes).toBeGreaterThanOrEqual(5 * 2 ** 20);
    expect(r.verified).toBe(true);
    expect(readFileSync(r.path).equals(big)).toBe(true);
    const ranges = log.filter((l) => l.includes("bytes="));
    expect(ranges.length).toBeGreaterThan(0);
    expect(ranges.some((l) => l.endsWith("bytes=0-5242879") || / bytes=0-/.test(l))).toBe(false); // chunk 0 was not fetched again
    expect(readdirSync(dir)).toEqual(["tinytales-5M.gguf"]);
  });

  it("resolves hf: URIs through the hub (a local stand-in via HF_ENDPOINT-style endpoint): quant tag and file path", async () => {
    const dir = tmp();
    log.length = 0;
    const r = await pullModel({ source: "hf:tandem-test/Stories-GGUF:Q8_0", dir, huggingFaceEndpoint: `${base}/`, fileName: "stories.gguf", sha256: sha(small) });
    expect(r.path).toBe(join(dir, "stories.gguf"));
    expect(r.verified).toBe(true);
    expect(log).toContain("GET /v2/tandem-test/Stories-GGUF/manifests/Q8_0");
    const byPath = await pullModel({ source: "hf:tandem-test/Stories-GGUF/stories260K-Q8_0.gguf", dir, huggingFaceEndpoint: `${base}/` });
    expect(readFileSync(byPath.path).equals(small)).toBe(true);
  });

  it("offline: an unreachable hub or URL fails with a clear message and leaves nothing behind", async () => {
    const dir = tmp();
    const closed = createServer();
    await new Promise<void>((r) => closed.listen(0, "127.0.0.1", r));
    const port = (closed.address() as AddressInfo).port;
    await new Promise((r) => closed.close(r)); // nothing listens there now
    await expect(pullModel({ source: "qwen2.5-0.5b", dir, huggingFaceEndpoint: `http://127.0.0.1:${port}/` })).rejects.toThrow(
      /could not reach the model hub \(http:\/\/127\.0\.0\.1:\d+\/\) to download hf:bartowski\/Qwen2\.5-0\.5B-Instruct-GGUF:Q4_K_M — offline\?/,
    );
    await expect(pullModel({ source: `http://127.0.0.1:${port}/m.gguf`, dir })).rejects.toThrow(/could not reach 127\.0\.0\.1:\d+ .* offline\?/);
    await expect(pullModel({ source: `${base}/files/missing.gguf`, dir })).rejects.toThrow(/download of|cannot download/);
    await expect(pullModel({ source: "not-a-preset", dir })).rejects.toThrow(/neither a preset \(qwen2\.5-0\.5b, .*\), a hub URI .* nor an http\(s\) URL/);
    expect(readdirSync(dir).filter((f) => f.endsWith(".gguf"))).toEqual([]);
  });

  it("the CLI: `models pull <url> --sha256` prints path and digest; `models list` shows presets and files", async () => {
    const dir = tmp();
    const program = new Command().exitOverride();
    register(program);
    const out: string[] = [];
    const orig = console.log;
    const origWrite = process.stdout.write.bind(process.stdout);
    console.log = (s: string) => void out.push(s);
    process.stdout.write = ((s: string) => (out.push(String(s)), true)) as typeof process.stdout.write;
    const origErr = process.stderr.write.bind(process.stderr);
    process.stderr.write = (() => true) as typeof process.stderr.write;
    try {
      await program.parseAsync(["models", "pull", `${base}/files/stories260K.gguf`, "--dir", dir, "--sha256", sha(small)], { from: "user" });
      await program.parseAsync(["models", "list", "--dir", dir], { from: "user" });
    } finally {
      console.log = orig;
      process.stdout.write = origWrite;
      process.stderr.write = origErr;
    }
    const text = out.join("\n");
    expect(text).toContain(`${join(dir, "stories260K.gguf")}  0.00 GB  downloaded  sha256 ${sha(small)} (verified)`);
    expect(text).toMatch(/This machine: [\d.]+ GiB RAM, \d+ cores/);
    for (const p of MODEL_PRESETS) expect(text).toContain(p.uri);
    expect(text).toMatch(/stories260K\.gguf {2}0\.00 GB/);
  });
});

describe("presets by machine size", () => {
  it("weak/strong/draft follow RAM; drafts share the strong model's family; URIs are hub quant URIs", () => {
    const GiB = 2 ** 30;
    expect(recommendPresets(4 * GiB, 4)).toMatchObject({ tier: "small", weak: { name: "qwen2.5-0.5b" }, strong: { name: "qwen2.5-1.5b" }, threads: 4 });
    expect(recommendPresets(4 * GiB, 4).draft).toBeUndefined();
    expect(recommendPresets(12 * GiB, 16)).toMatchObject({ tier: "medium", strong: { name: "qwen2.5-3b" }, draft: { name: "qwen2.5-0.5b" }, threads: 8 });
    expect(recommendPresets(64 * GiB, 8)).toMatchObject({ tier: "large", weak: { name: "qwen2.5-1.5b" }, strong: { name: "qwen2.5-7b" }, threads: 8 });
    expect(recommendPresets(64 * GiB, 2)).toMatchObject({ tier: "large", strong: { name: "qwen2.5-3b" }, threads: 2 }); // too few cores for 7B
    for (const m of [4, 12, 64]) {
      const r = recommendPresets(m * GiB, 8);
      if (r.draft) expect(r.draft.family).toBe(r.strong.family);
      // weak + strong files stay under about a third of the RAM
      expect((r.weak.sizeGB + r.strong.sizeGB) * 1e9).toBeLessThan((m * GiB) / 2.5);
    }
    for (const p of MODEL_PRESETS) {
      expect(p.uri).toMatch(/^hf:[\w.-]+\/[\w.-]+-GGUF:Q4_K_M$/);
      expect(p.fileName).toMatch(/-Q4_K_M\.gguf$/);
    }
  });
});
