/**
 * `tandem models pull <preset|hf:uri|url>` and `tandem models list`: getting real GGUF models.
 *
 * Downloading is node-llama-cpp's model downloader (`createModelDownloader`, built on ipull): it
 * resolves Hugging Face URIs (`hf:<user>/<repo>:<quant>` through the hub's manifest API,
 * `hf:<user>/<repo>/<file.gguf>` directly), downloads over several ranged connections into
 * `<file>.ipull` and renames it when complete. Tandem adds around it: presets by machine size
 * (../presets.ts), a progress bar (cli-progress), resumption of an interrupted download (the
 * `.ipull` file is kept on Ctrl-C or failure, and the next pull fetches only the missing 5 MiB
 * chunks), a sha256 check (`--sha256`) that deletes a file that does not match, and a clear
 * message when the hub or URL cannot be reached (offline).
 */
import type { Command } from "commander";
import cliProgress from "cli-progress";
import { createHash } from "node:crypto";
import { createReadStream, existsSync, readdirSync, statSync, unlinkSync } from "node:fs";
import { basename, join, resolve } from "node:path";
import { TandemError } from "../../core/errors.js";
import { MODEL_PRESETS, findPreset, recommendPresets, type ModelPreset } from "../presets.js";

/** Default download folder: `./models` under the working directory (policies refer to it relatively). */
export const DEFAULT_MODELS_DIR = "models";

/** Options of {@link pullModel}. */
export interface PullOptions {
  /** A preset name (see `MODEL_PRESETS`), a hub URI (`hf:user/repo:quant`, `hf:user/repo/file.gguf`) or an http(s) URL of a .gguf. */
  source: string;
  /** Destination folder (created). Default {@link DEFAULT_MODELS_DIR}. */
  dir?: string;
  /** Local file name; default the preset's, else the name node-llama-cpp derives from the URI/URL. */
  fileName?: string;
  /** Expected sha256 of the file (64 hex digits). A mismatch deletes the file and throws. */
  sha256?: string;
  /** Cancels the download; the partial `.ipull` file is kept so the next pull resumes. */
  signal?: AbortSignal;
  /** Called as bytes arrive (bytes). */
  onProgress?: (status: { downloadedBytes: number; totalBytes: number }) => void;
  /** Draw a cli-progress bar on stderr (only when stderr is a terminal). Default false. */
  progressBar?: boolean;
  /** Hugging Face endpoint (default `HF_ENDPOINT` or https://huggingface.co/). */
  huggingFaceEndpoint?: string;
  /** Extra request headers (e.g. `Authorization` for a gated repo). */
  headers?: Record<string, string>;
}

/** What {@link pullModel} did. */
export interface PullResult {
  /** Absolute path of the model file. */
  path: string;
  /** Its size, bytes. */
  bytes: number;
  /** Its sha256 (hex), computed after the download. */
  sha256: string;
  /** True when an expected sha256 was given and matched. */
  verified: boolean;
  /** Bytes already on disk from an interrupted earlier pull (0 when it started afresh). */
  resumedFromBytes: number;
  /** True when a complete file of the remote's size was already there and nothing was fetched. */
  alreadyPresent: boolean;
  /** The preset used, when `source` named one. */
  preset?: ModelPreset;
}

const SHA256 = /^[0-9a-f]{64}$/;
/** How long the reachability probe before a download may take, ms. */
const PROBE_TIMEOUT_MS = 15_000;

/** sha256 (hex) of a file, streamed. Rejects on a read error. */
export async function sha256File(path: string): Promise<string> {
  const hash = createHash("sha256");
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest("hex");
}

function describeNetworkError(error: unknown): string {
  const cause = (error as { cause?: { code?: string; message?: string } })?.cause;
  return [(error as Error)?.message ?? String(error), cause?.code ?? cause?.message].filter(Boolean).join(": ");
}

function isNetworkError(error: unknown): boolean {
  const text = `${(error as Error)?.message ?? ""} ${String((error as { cause?: unknown })?.cause ?? "")} ${(error as { code?: string })?.code ?? ""}`;
  return /fetch failed|ECONNREFUSED|ENOTFOUND|EAI_AGAIN|ENETUNREACH|EHOSTUNREACH|ECONNRESET|ETIMEDOUT|getaddrinfo|socket hang up|network/i.test(text);
}

/**
 * Downloads a model (see the module comment) and returns where it is. Resumes a partial download
 * left in `dir` by an interrupted pull of the same file; skips the download when the complete file
 * is already there (and still checks `sha256` when given).
 *
 * Throws `TandemError`: `invalid_request` for a malformed sha256 or source; `upstream_error`
 * when the hub / URL cannot be reached ("offline?"), answers with an error, or the file's sha256
 * does not match (the bad file is deleted); `aborted` when `signal` fires (partial file kept).
 */
export async function pullModel(options: PullOptions): Promise<PullResult> {
  const preset = findPreset(options.source);
  const uri = preset?.uri ?? options.source;
  const expected = options.sha256?.toLowerCase();
  if (expected !== undefined && !SHA256.test(expected)) throw new TandemError("invalid_request", `--sha256 must be 64 hex digits, got '${options.sha256}'`);
  if (!preset && !/^(hf:|huggingface:|hf\.co\/|huggingface\.co\/|https?:\/\/)/i.test(uri)) {
    throw new TandemError("invalid_request", `'${options.source}' is neither a preset (${MODEL_PRESETS.map((p) => p.name).join(", ")}), a hub URI (hf:user/repo:quant) nor an http(s) URL`);
  }
  const dir = resolve(options.dir ?? DEFAULT_MODELS_DIR);
  const fileName = options.fileName ?? preset?.fileName;
  const { createModelDownloader } = await import("node-llama-cpp");
  let bar: cliProgress.SingleBar | undefined;
  const onProgress = (s: { totalSize: number; downloadedSize: number }) => {
    options.onProgress?.({ downloadedBytes: s.downloadedSize, totalBytes: s.totalSize });
    bar?.update(Math.round(s.downloadedSize / 2 ** 20));
  };
  const hub = (options.huggingFaceEndpoint ?? process.env.HF_ENDPOINT ?? process.env.MODEL_ENDPOINT ?? "https://huggingface.co/").replace(/\/?$/, "/");
  const where = uri.startsWith("http") ? new URL(uri).host : `the model hub (${hub})`;
  const unreachable = (error: unknown) =>
    new TandemError(
      "upstream_error",
      `could not reach ${where} to download ${uri} — offline? (${describeNetworkError(error)}). ` +
        `Download the .gguf on a connected machine and copy it into ${dir}, or pass a URL this machine can reach; an interrupted download is resumed by the next pull.`,
      { cause: error },
    );
  // ipull retries a failing connection ~150 times (minutes) before giving up: find out first, in
  // one request, whether the URL (or the hub) answers at all
  const probeUrl = uri.startsWith("http") ? uri : hub;
  let probe: Response;
  try {
    probe = await fetch(probeUrl, { method: "HEAD", redirect: "follow", headers: options.headers, signal: AbortSignal.any([AbortSignal.timeout(PROBE_TIMEOUT_MS), ...(options.signal ? [options.signal] : [])]) });
  } catch (error) {
    if (options.signal?.aborted) throw interrupted(`${join(dir, fileName ?? "")}.ipull`);
    throw unreachable(error);
  }
  if (uri.startsWith("http") && !probe.ok) throw new TandemError("upstream_error", `cannot download ${uri}: HTTP ${probe.status} ${probe.statusText}`);
  let downloader: Awaited<ReturnType<typeof createModelDownloader>>;
  try {
    downloader = await createModelDownloader({
      modelUri: uri,
      dirPath: dir,
      fileName,
      headers: options.headers,
      deleteTempFileOnCancel: false,
      skipExisting: true,
      onProgress,
      ...(options.huggingFaceEndpoint ? { endpoints: { huggingFace: options.huggingFaceEndpoint } } : {}),
    });
  } catch (error) {
    if (isNetworkError(error)) throw unreachable(error);
    throw new TandemError("upstream_error", `cannot download ${uri}: ${(error as Error).message}`, { cause: error });
  }
  const path = downloader.entrypointFilePath;
  const totalBytes = downloader.totalSize;
  const partial = `${path}.ipull`;
  const alreadyPresent = !existsSync(partial) && existsSync(path) && totalBytes > 0 && statSync(path).size === totalBytes;
  const resumedFromBytes = alreadyPresent ? 0 : downloader.downloadedSize;
  if (options.progressBar && process.stderr.isTTY && !alreadyPresent) {
    bar = new cliProgress.SingleBar(
      { format: `${basename(path)} [{bar}] {percentage}% {value}/{total} MiB | ETA {eta_formatted}`, stream: process.stderr, hideCursor: true },
      cliProgress.Presets.shades_classic,
    );
    bar.start(Math.max(1, Math.round(totalBytes / 2 ** 20)), Math.round(resumedFromBytes / 2 ** 20));
  }
  try {
    const done = downloader.download({ signal: options.signal });
    done.catch(() => {});
    const signal = options.signal;
    // once cancelled, wait a little for ipull to close its streams, not for a connection that hangs
    const gaveUp = signal && new Promise<void>((resolve) => signal.addEventListener("abort", () => setTimeout(resolve, 2000).unref(), { once: true }));
    await (gaveUp ? Promise.race([done, gaveUp]) : done);
  } catch (error) {
    if (options.signal?.aborted) throw interrupted(partial);
    if (isNetworkError(error)) throw unreachable(error);
    throw new TandemError("upstream_error", `download of ${uri} failed: ${(error as Error).message}`, { cause: error });
  } finally {
    bar?.stop();
  }
  // node-llama-cpp resolves (rather than rejects) when a download is cancelled: check the file
  if (options.signal?.aborted) throw interrupted(partial);
  if (!existsSync(path)) throw new TandemError("upstream_error", `download of ${uri} ended without ${path}`);
  const bytes = statSync(path).size;
  if (totalBytes > 0 && bytes !== totalBytes) throw new TandemError("upstream_error", `download of ${uri} is incomplete: ${bytes} of ${totalBytes} bytes; run the pull again to resume`);
  const sha256 = await sha256File(path);
  if (expected !== undefined && sha256 !== expected) {
    unlinkSync(path);
    throw new TandemError("upstream_error", `sha256 mismatch for ${basename(path)}: expected ${expected}, got ${sha256} — the file was deleted (a corrupt or different file); check the URL and digest, then pull again`);
  }
  return { path, bytes, sha256, verified: expected !== undefined, resumedFromBytes, alreadyPresent, preset };
}

function interrupted(partial: string): TandemError {
  const kept = existsSync(partial) ? `${statSync(partial).size} bytes kept in ${partial}` : "nothing kept";
  return new TandemError("aborted", `download interrupted (${kept}); run the same pull again to resume`);
}

/** One `.gguf` found in a models folder. */
export interface LocalModel {
  file: string;
  bytes: number;
  /** True for an interrupted download (`<file>.ipull`), which the next pull resumes. */
  partial: boolean;
  /** The preset whose file this is, if any. */
  preset?: string;
}

/** The `.gguf` files (complete and partial) in `dir`, by name. A missing folder lists nothing. */
export function listLocalModels(dir: string = DEFAULT_MODELS_DIR): LocalModel[] {
  if (!existsSync(dir)) return [];
  const out: LocalModel[] = [];
  for (const f of readdirSync(dir).sort()) {
    const partial = f.endsWith(".gguf.ipull");
    if (!partial && !f.endsWith(".gguf")) continue;
    const file = partial ? f.slice(0, -".ipull".length) : f;
    out.push({ file, bytes: statSync(join(dir, f)).size, partial, preset: MODEL_PRESETS.find((p) => p.fileName === file)?.name });
  }
  return out;
}

const gb = (bytes: number) => `${(bytes / 1e9).toFixed(2)} GB`;

/** Text of `tandem models list`: this machine's recommendation, the presets, and what `dir` holds. */
export function modelsListText(dir: string = DEFAULT_MODELS_DIR, machine = recommendPresets()): string {
  const local = listLocalModels(dir);
  const lines = [
    `This machine: ${machine.memoryGiB} GiB RAM, ${machine.cores} cores (${machine.tier}) → weak ${machine.weak.name}, strong ${machine.strong.name}${machine.draft ? `, draft ${machine.draft.name}` : ""}, threads ${machine.threads}`,
    "",
    "Presets (tandem models pull <name>):",
    ...MODEL_PRESETS.map((p) => {
      const have = local.find((l) => l.file === p.fileName);
      const state = have ? (have.partial ? "partial" : "downloaded") : "";
      return `  ${p.name.padEnd(14)} ${p.roles.join("/").padEnd(12)} ≈${p.sizeGB.toFixed(1)} GB  ${p.uri.padEnd(50)} ${state}`.trimEnd();
    }),
    "",
    `In ${resolve(dir)}:`,
    ...(local.length ? local.map((l) => `  ${l.file}  ${gb(l.bytes)}${l.partial ? "  (partial: pull again to resume)" : ""}${l.preset ? `  [${l.preset}]` : ""}`) : ["  (no .gguf files)"]),
  ];
  return lines.join("\n") + "\n";
}

export function register(program: Command): void {
  const models = program.command("models").description("download real GGUF models (presets by machine size, hub URIs, URLs) and list them");
  models
    .command("pull")
    .description("download a model: a preset name, hf:<user>/<repo>:<quant>, hf:<user>/<repo>/<file.gguf> or an http(s) URL; resumes an interrupted download")
    .argument("[source]", "preset name, hub URI or URL (default: this machine's recommended weak model)")
    .option("--dir <dir>", "destination folder", DEFAULT_MODELS_DIR)
    .option("--file-name <name>", "local file name")
    .option("--sha256 <hex>", "expected sha256: a mismatch deletes the file and fails")
    .option("--hf-endpoint <url>", "Hugging Face endpoint (default HF_ENDPOINT or https://huggingface.co/)")
    .option("--recommended", "pull this machine's recommended weak, strong and draft presets")
    .action(async (source: string | undefined, opts: { dir: string; fileName?: string; sha256?: string; hfEndpoint?: string; recommended?: boolean }) => {
      const machine = recommendPresets();
      const sources = opts.recommended ? [...new Set([machine.weak, machine.strong, machine.draft].filter((p) => p).map((p) => p!.name))] : [source ?? machine.weak.name];
      if (opts.recommended && source) throw new TandemError("invalid_request", "give either a source or --recommended");
      if (sources.length > 1 && (opts.sha256 || opts.fileName)) throw new TandemError("invalid_request", "--sha256 and --file-name apply to one model; pull them one by one");
      const controller = new AbortController();
      const stop = () => controller.abort();
      process.once("SIGINT", stop);
      try {
        for (const s of sources) {
          const preset = findPreset(s);
          process.stderr.write(`pulling ${s}${preset ? ` (${preset.uri}, ≈${preset.sizeGB} GB)` : ""} into ${resolve(opts.dir)}\n`);
          const r = await pullModel({ source: s, dir: opts.dir, fileName: opts.fileName, sha256: opts.sha256, huggingFaceEndpoint: opts.hfEndpoint, signal: controller.signal, progressBar: true });
          const how = r.alreadyPresent ? "already present" : r.resumedFromBytes > 0 ? `resumed from ${gb(r.resumedFromBytes)}` : "downloaded";
          console.log(`${r.path}  ${gb(r.bytes)}  ${how}  sha256 ${r.sha256}${r.verified ? " (verified)" : ""}`);
        }
      } finally {
        process.off("SIGINT", stop);
      }
    });
  models
    .command("list")
    .description("presets recommended for this machine and the models already downloaded")
    .option("--dir <dir>", "models folder", DEFAULT_MODELS_DIR)
    .action((opts: { dir: string }) => {
      process.stdout.write(modelsListText(opts.dir));
    });
}
