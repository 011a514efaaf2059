/**
 * The placeholder vault of hide-and-seek (HaS, Chen et al. 2023, "Hide and Seek (HaS): A
 * Lightweight Framework for Prompt Privacy Protection"): private values are replaced by typed
 * placeholders before text leaves the device, and restored in the answer on the device.
 *
 * Placeholders look like `[PERSON_1]`: the entity type and a per-type counter. The same value
 * (after trimming) always gets the same placeholder within one vault, so the remote model sees a
 * consistent conversation. The vault lives only in memory for one request.
 */
import type { EntityType, PiiSpan } from "../../privacy/types.js";

/** Matches one placeholder; group 1 = type, group 2 = counter. */
export const PLACEHOLDER_RE = /\[([A-Z][A-Z_]*?)_(\d{1,4})\]/g;

/** Longest placeholder the stream restorer waits for, in characters. */
export const MAX_PLACEHOLDER_LENGTH = 32;

/** A value ↔ placeholder table for one conversation. */
export class PlaceholderVault {
  private readonly byValue = new Map<string, string>();
  private readonly byPlaceholder = new Map<string, { value: string; type: EntityType }>();
  private readonly counters = new Map<string, number>();

  /** The placeholder of `value`, created on first use. */
  placeholderFor(value: string, type: EntityType): string {
    const key = value.trim();
    const existing = this.byValue.get(key);
    if (existing) return existing;
    const n = (this.counters.get(type) ?? 0) + 1;
    this.counters.set(type, n);
    const placeholder = `[${type}_${n}]`;
    this.byValue.set(key, placeholder);
    this.byPlaceholder.set(placeholder, { value: key, type });
    return placeholder;
  }

  /** Number of distinct private values hidden. */
  get size(): number {
    return this.byValue.size;
  }

  /** Distinct values per entity type (counts only — never the values). */
  typeCounts(): Record<string, number> {
    return Object.fromEntries(this.counters);
  }

  /** The hidden values (for tests and leak checks on the device). */
  values(): string[] {
    return [...this.byValue.keys()];
  }

  /** The original value of `placeholder`, or undefined when unknown. */
  valueOf(placeholder: string): string | undefined {
    return this.byPlaceholder.get(placeholder)?.value;
  }

  /**
   * Replaces `spans` of `text` (non-overlapping, sorted) by placeholders, then every other
   * occurrence of any value already in the vault (so a value detected once is hidden everywhere).
   */
  hide(text: string, spans: readonly PiiSpan[]): string {
    let out = "";
    let last = 0;
    for (const s of spans) {
      if (s.start < last) continue;
      const value = text.slice(s.start, s.end);
      const lead = value.length - value.trimStart().length;
      const trail = value.length - value.trimEnd().length;
      if (value.trim().length === 0) continue;
      out += text.slice(last, s.start + lead) + this.placeholderFor(value, s.type);
      last = s.end - trail;
    }
    out += text.slice(last);
    return this.hideKnown(out);
  }

  /** Replaces every occurrence of a known value (longest first) by its placeholder. */
  hideKnown(text: string): string {
    const values = [...this.byValue.keys()].filter((v) => v.length >= 2).sort((a, b) => b.length - a.length);
    let out = text;
    for (const v of values) if (out.includes(v)) out = out.split(v).join(this.byValue.get(v)!);
    return out;
  }

  /**
   * Restores known placeholders in `text`. With `json: true` the values are inserted JSON-string
   * escaped (for tool-call arguments, where a placeholder can only sit inside a string literal).
   * Unknown placeholders are left as they are.
   */
  restore(text: string, options: { json?: boolean } = {}): string {
    return text.replace(PLACEHOLDER_RE, (m) => {
      const v = this.byPlaceholder.get(m)?.value;
      if (v === undefined) return m;
      return options.json ? JSON.stringify(v).slice(1, -1) : v;
    });
  }
}

/**
 * Restores placeholders in a stream of text fragments, holding back a suffix that could be the
 * start of a placeholder split across chunk boundaries (at most {@link MAX_PLACEHOLDER_LENGTH}
 * characters), so the caller never sees half a placeholder.
 */
export class StreamRestorer {
  private buffer = "";

  constructor(
    private readonly vault: PlaceholderVault,
    private readonly options: { json?: boolean } = {},
  ) {}

  /** Feeds a fragment; returns the text safe to emit now (possibly ""). */
  push(fragment: string): string {
    this.buffer += fragment;
    const restored = this.vault.restore(this.buffer, this.options);
    // Hold back from the last "[" if what follows could still grow into a placeholder.
    const open = restored.lastIndexOf("[");
    if (open >= 0) {
      const tail = restored.slice(open);
      if (tail.length < MAX_PLACEHOLDER_LENGTH && /^\[(?:[A-Z][A-Z_]*(?:_\d{0,4})?)?$/.test(tail)) {
        this.buffer = tail;
        return restored.slice(0, open);
      }
    }
    this.buffer = "";
    return restored;
  }

  /** Returns whatever is still held back (restored where possible). */
  flush(): string {
    const out = this.vault.restore(this.buffer, this.options);
    this.buffer = "";
    return out;
  }
}
