/**
 * The training-data fingerprint written into linear model files (`dataHash`). Kept apart from
 * linear.ts because it needs node:crypto: the classifier itself runs in browsers too
 * (`tandem/browser`), only training hashes its data.
 */
import { createHash } from "node:crypto";

/** sha256 (hex) of examples as sorted `label\ttext` lines: identifies the training data of a model file. */
export function dataHash(examples: ReadonlyArray<{ text: string; label: 0 | 1 }>): string {
  const lines = examples.map((e) => `${e.label}\t${e.text}`).sort();
  const h = createHash("sha256");
  for (const l of lines) h.update(l + "\n");
  return h.digest("hex");
}
