/**
 * Reads the Python list-of-strings literals that RouterBench stores in its CSV cells
 * (`"['What is …\nAnswer:']"`, produced by `str(list)`), with Python's string escapes.
 */

const SIMPLE: Record<string, string> = { n: "\n", t: "\t", r: "\r", "\\": "\\", "'": "'", '"': '"', a: "\x07", b: "\b", f: "\f", v: "\v", "0": "\0" };

/**
 * Parses `['a', "b"]` into `["a", "b"]`. A cell that is not a list literal is returned as a
 * one-element list of itself, so plain text passes through.
 */
export function parsePythonStringList(cell: string): string[] {
  const s = cell.trim();
  if (!s.startsWith("[") || !s.endsWith("]")) return [cell];
  const out: string[] = [];
  let i = 1;
  const end = s.length - 1;
  while (i < end) {
    const c = s[i];
    if (c === " " || c === ",") {
      i++;
      continue;
    }
    if (c !== "'" && c !== '"') return [cell];
    const q = c;
    i++;
    let str = "";
    while (i < end && s[i] !== q) {
      if (s[i] === "\\") {
        const e = s[i + 1];
        if (e === "x") {
          str += String.fromCharCode(parseInt(s.slice(i + 2, i + 4), 16));
          i += 4;
        } else if (e === "u") {
          str += String.fromCharCode(parseInt(s.slice(i + 2, i + 6), 16));
          i += 6;
        } else if (e === "U") {
          str += String.fromCodePoint(parseInt(s.slice(i + 2, i + 10), 16));
          i += 10;
        } else if (e !== undefined && e in SIMPLE) {
          str += SIMPLE[e];
          i += 2;
        } else {
          str += "\\" + (e ?? "");
          i += 2;
        }
      } else {
        str += s[i];
        i++;
      }
    }
    i++; // closing quote
    out.push(str);
  }
  return out;
}
