/**
 * The gazetteer's data shape and lookup table, used by the tagger at detection time. No package or
 * file access, so detection also runs in a browser (`tandem/browser`); building the lists from
 * `@faker-js/faker` (training time only) is `gazetteer.ts`'s.
 */

/** Word lists of a gazetteer (lower-cased single words, sorted, deduplicated). */
export interface Gazetteer {
  first: string[];
  last: string[];
  place: string[];
  /**
   * Country and continent names (lower-cased, whole names such as "united states"): places too
   * coarse to identify anyone, which the detector does not report by default. Not a feature.
   */
  country?: string[];
  /** Where the lists came from (package, version, locales). */
  source: string;
}

/** Lookup table: lower-cased word → tag letters ("F", "L", "P", "FL", …). */
export function gazetteerIndex(g: Gazetteer): Map<string, string> {
  const m = new Map<string, string>();
  const add = (words: readonly string[], tag: string) => {
    for (const w of words) {
      const cur = m.get(w) ?? "";
      if (!cur.includes(tag)) m.set(w, cur + tag);
    }
  };
  add(g.first, "F");
  add(g.last, "L");
  add(g.place, "P");
  return m;
}
