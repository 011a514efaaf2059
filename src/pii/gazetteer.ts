/**
 * Name and place gazetteers for the PII tagger: lower-cased words tagged F (first name),
 * L (last name) or P (place: city, state, county, country), built at training time from
 * `@faker-js/faker`'s locale data (Latin-script locales) and stored inside the tagger model file,
 * so detection needs neither faker nor any other file. A word's tag is a feature, not a rule:
 * the perceptron learns how much "Will" or "Paris" being in a list counts in context.
 */
import { createRequire } from "node:module";

import type { Gazetteer } from "./gazetteer-index.js";

// The data shape and lookup (browser-safe, used at detection time) live in gazetteer-index.ts.
export { gazetteerIndex, type Gazetteer } from "./gazetteer-index.js";

const LATIN_WORD = /^[\p{Script=Latin}'’-]{2,24}$/u;

function words(value: unknown, out: Set<string>): void {
  if (typeof value === "string") {
    if (value.includes("{{") || value.includes("#")) return; // patterns, not values
    for (const w of value.split(/[\s,.()/]+/)) {
      if (LATIN_WORD.test(w)) out.add(w.toLowerCase());
    }
  } else if (Array.isArray(value)) for (const v of value) words(v, out);
  else if (value && typeof value === "object") for (const v of Object.values(value)) words(v, out);
}

/**
 * Builds the default gazetteer from `@faker-js/faker` (all locales whose names are in Latin
 * script; words of 2–24 letters). Throws `Error` when the package is not installed (it is needed
 * for training only). Place lists drop words shorter than 4 letters.
 */
export function defaultGazetteer(): Gazetteer {
  const require = createRequire(import.meta.url);
  let faker: { allLocales: Record<string, { person?: Record<string, unknown>; location?: Record<string, unknown> }> };
  let version = "?";
  try {
    faker = require("@faker-js/faker") as typeof faker;
    version = (require("@faker-js/faker/package.json") as { version: string }).version;
  } catch (error) {
    throw new Error("the tagger's default gazetteer is built from @faker-js/faker at training time: npm install @faker-js/faker (or pass gazetteer: null)", { cause: error });
  }
  const first = new Set<string>();
  const last = new Set<string>();
  const place = new Set<string>();
  const country = new Set<string>();
  const used: string[] = [];
  for (const [name, locale] of Object.entries(faker.allLocales)) {
    if (name.includes("BORK") || name === "base") continue;
    const p = locale.person ?? {};
    const l = locale.location ?? {};
    const before = first.size + last.size + place.size;
    words(p.first_name, first);
    words(p.middle_name, first);
    words(p.last_name, last);
    const places = new Set<string>();
    for (const k of ["city_name", "state", "county", "country"]) words(l[k], places);
    for (const w of places) if (w.length >= 4) place.add(w);
    for (const k of ["country", "continent"]) for (const c of [l[k]].flat(2)) if (typeof c === "string" && !c.includes("{{")) country.add(c.toLowerCase());
    if (first.size + last.size + place.size > before) used.push(name);
  }
  const sorted = (s: Set<string>) => [...s].sort();
  return { first: sorted(first), last: sorted(last), place: sorted(place), country: sorted(country), source: `@faker-js/faker ${version}, locales ${used.join(" ")}` };
}
