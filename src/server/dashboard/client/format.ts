/**
 * Number and time formatting of the dashboard page. Pure functions (no DOM, no Node), so they run
 * in the browser bundle and in the Node unit tests (src/server/dashboard/format.test.ts) alike.
 */

/** Removes trailing zeros after a decimal point, and the point itself when nothing follows it. */
const trimZeros = (s: string): string => s.replace(/0+$/, "").replace(/\.$/, "");

/**
 * USD amount for display: "$0" for 0; 2 decimals from $1; up to 4 from $0.01; below that about 3
 * significant digits (at most 12 decimals), trailing zeros dropped. E.g. 0.000123456 → "$0.000123".
 */
export function usd(x: number): string {
  if (!x) return "$0";
  const a = Math.abs(x);
  if (a >= 1) return `$${x.toFixed(2)}`;
  if (a >= 0.01) return `$${trimZeros(x.toFixed(4))}`;
  const digits = Math.min(12, Math.ceil(-Math.log10(a)) + 2);
  return `$${trimZeros(x.toFixed(digits))}`;
}

/** Milliseconds for display: "1.23 s" from 1000 ms, "42 ms" from 10 ms, "3.5 ms" below. */
export function ms(x: number): string {
  if (x >= 1000) return `${(x / 1000).toFixed(2)} s`;
  return `${x >= 10 ? Math.round(x) : x.toFixed(1)} ms`;
}

/** A share in [0, 1] as a percentage: one decimal for (0, 10 %), none otherwise. */
export function pct(x: number): string {
  return `${(x * 100).toFixed(x > 0 && x < 0.1 ? 1 : 0)}%`;
}

const pad = (n: number): string => (n < 10 ? "0" : "") + n;

/** Local wall-clock time "HH:MM:SS" of an epoch-ms instant. */
export function hms(t: number): string {
  const d = new Date(t);
  return `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}

/** A decision's score or threshold: integers and values of magnitude ≥ 100 rounded, others to 3 decimals. */
export function num(x: number): string {
  return Math.abs(x) >= 100 || x === Math.round(x) ? String(Math.round(x)) : x.toFixed(3);
}
