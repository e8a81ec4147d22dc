/**
 * Failures per key in a sliding window, in this process's memory: the access
 * layer's limit on repeated refusals per token and per client address. Keys
 * are opaque (the layer passes `addr:<ip>` and `token:<sha256 prefix>`, never
 * a token). At most `maxKeys` keys are kept; the oldest is dropped first.
 */
export class FailureLimiter {
  readonly #hits = new Map<string, number[]>();

  /**
   * @param limit failures a key may have within `windowMs` before {@link blocked} is true (≥ 1)
   * @param windowMs the window, in milliseconds
   * @param maxKeys keys kept at most (default 10,000)
   * @param now the clock (tests)
   */
  constructor(
    readonly limit: number,
    readonly windowMs: number,
    private readonly maxKeys = 10_000,
    private readonly now: () => number = Date.now,
  ) {}

  /** The failures of `key` still in the window. */
  #recent(key: string): number[] {
    const since = this.now() - this.windowMs;
    const hits = (this.#hits.get(key) ?? []).filter((t) => t > since);
    if (hits.length) this.#hits.set(key, hits);
    else this.#hits.delete(key);
    return hits;
  }

  /** The first of `keys` that has reached the limit, or null. */
  blocked(keys: readonly string[]): string | null {
    return keys.find((k) => this.#recent(k).length >= this.limit) ?? null;
  }

  /** Counts one failure for each of `keys`. */
  note(keys: readonly string[]): void {
    for (const k of keys) {
      const hits = this.#recent(k);
      hits.push(this.now());
      this.#hits.delete(k);
      this.#hits.set(k, hits);
      if (this.#hits.size > this.maxKeys) this.#hits.delete(this.#hits.keys().next().value as string);
    }
  }
}
