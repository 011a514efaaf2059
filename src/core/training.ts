/**
 * The one shape of Tandem's trainers — the PII tagger (`trainPrivacyTagger`, src/pii/train.ts),
 * the guard classifier (`trainGuard`, src/safety/train.ts) and routers (`trainRouterRun`,
 * src/eval/train-router.ts): each takes its data and options, trains, writes the model JSON to
 * `out` (or not, with `out: null`) and returns a {@link TrainRun}. The CLI commands
 * (`tandem privacy train`, `tandem guard train`, `tandem router train`) are thin wrappers.
 */
import fs from "node:fs";
import path from "node:path";

/** What a training run produced. Units: ms, examples. */
export interface TrainRun<File, Report> {
  /** The model as written to disk (JSON-serialisable). */
  file: File;
  /** Where it was written; null when not written. */
  out: string | null;
  /** Examples trained on. */
  trainExamples: number;
  /** Wall-clock ms of training (not loading or evaluating). */
  trainMs: number;
  /** What the trainer measured (held-out scores, or what the model was trained on). */
  report: Report;
}

/** Writes a model file as JSON (creating its folder) when `out` is not null; returns `out`. */
export function writeModelFile(out: string | null, file: unknown): string | null {
  if (out === null) return null;
  fs.mkdirSync(path.dirname(out), { recursive: true });
  fs.writeFileSync(out, JSON.stringify(file));
  return out;
}
