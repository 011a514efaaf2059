/**
 * Incremental stop-sequence matching for streamed text: feeds text as it is generated, releases
 * only what can no longer be the start of a stop sequence, and reports when one is matched (the
 * stop sequence itself is never released, as in OpenAI's API).
 */
export class StopMatcher {
  private pending = "";
  private stopped = false;
  private hit: string | undefined;

  constructor(private readonly stops: readonly string[]) {}

  /** True once a stop sequence has been seen. */
  get done(): boolean {
    return this.stopped;
  }

  /**
   * The stop sequence that matched (the earliest in the text; of those starting there, the first
   * in the constructor's list), or undefined while none has. Lets a protocol report which one
   * ended the generation (Anthropic's `stop_sequence`).
   */
  get matched(): string | undefined {
    return this.hit;
  }

  /**
   * Adds generated text. Returns the text safe to emit now, and whether a stop sequence matched
   * (after which nothing more should be generated).
   */
  push(text: string): { emit: string; stopped: boolean } {
    if (this.stopped) return { emit: "", stopped: true };
    this.pending += text;
    let cut = -1;
    for (const s of this.stops) {
      if (!s) continue;
      const i = this.pending.indexOf(s);
      if (i >= 0 && (cut < 0 || i < cut)) {
        cut = i;
        this.hit = s;
      }
    }
    if (cut >= 0) {
      const emit = this.pending.slice(0, cut);
      this.pending = "";
      this.stopped = true;
      return { emit, stopped: true };
    }
    // hold back the longest suffix that is a proper prefix of a stop sequence
    let hold = 0;
    for (const s of this.stops) {
      for (let k = Math.min(s.length - 1, this.pending.length); k > hold; k--) {
        if (this.pending.endsWith(s.slice(0, k))) {
          hold = k;
          break;
        }
      }
    }
    const emit = this.pending.slice(0, this.pending.length - hold);
    this.pending = this.pending.slice(this.pending.length - hold);
    return { emit, stopped: false };
  }

  /** Releases whatever is held back at the end of generation. */
  flush(): string {
    const rest = this.stopped ? "" : this.pending;
    this.pending = "";
    return rest;
  }
}
