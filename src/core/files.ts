/**
 * Locating the package's own files (bundled models, ../shared beside the checkout) and loading
 * JSON model files once per path.
 */
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

/** Root of this package: the nearest folder above this file (src/ or dist/) holding package.json. */
export function repoRoot(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    if (fs.existsSync(path.join(dir, "package.json"))) return dir;
    dir = path.dirname(dir);
  }
  return process.cwd();
}

/**
 * A loader that parses a JSON file with `fromJSON` and caches the result per absolute path.
 * Throws `Error` when the file is missing or is not valid JSON; `fromJSON`'s errors propagate.
 */
export function cachedJsonLoader<F, T>(fromJSON: (file: F) => T): (file: string) => T {
  const cache = new Map<string, T>();
  return (file) => {
    const key = path.resolve(file);
    let value = cache.get(key);
    if (value === undefined) {
      value = fromJSON(JSON.parse(fs.readFileSync(key, "utf8")) as F);
      cache.set(key, value);
    }
    return value;
  };
}
