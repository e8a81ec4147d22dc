/**
 * The benchmark harness. A suite is a file `bench/<name>.bench.ts` whose default
 * export is a {@link BenchSuite}. `npm run bench` runs every suite (or those
 * named with `--only a,b`) and writes `bench/results/<suite>.json` plus
 * `bench/results/summary.json`. Data is built outside the timed part; results
 * are medians and ratios against a baseline run in the same process, never
 * assertions.
 */

/** One measured case. Its name carries the data size, e.g. `mondrian adult 30162 rows k=5`. */
export interface BenchCase {
  name: string;
  /** What `value` is: `median ms`, `rows/s`, `ratio`, `MiB`. */
  metric: string;
  value: number;
  /** The baseline run in the same process, when the case is a comparison. */
  baseline?: { name: string; value: number };
  /** value / baseline.value for times (how many times slower than the baseline); or as stated in `metric`. */
  ratio?: number;
  /** The target from the issue, in words, e.g. `ratio ≤ 1.2`. */
  target?: string;
  /** Whether the target was met on this run. */
  meetsTarget?: boolean;
  notes?: string;
}

/** Options every suite receives. */
export interface BenchOptions {
  /** Smaller data and fewer iterations (for a smoke run); default false. */
  quick: boolean;
}

/** A benchmark suite. */
export interface BenchSuite {
  name: string;
  run(options: BenchOptions): Promise<BenchCase[]>;
}

/** The median of a non-empty list (the mean of the two middle values for an even count). */
export function median(xs: readonly number[]): number {
  const sorted = [...xs].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** Times `fn` `iterations` times after `warmup` runs; returns the median and all samples in ms. */
export async function timeMedian(
  fn: () => unknown | Promise<unknown>,
  options: { iterations?: number; warmup?: number } = {},
): Promise<{ medianMs: number; samplesMs: number[] }> {
  const iterations = options.iterations ?? 5;
  const warmup = options.warmup ?? 1;
  for (let i = 0; i < warmup; i++) await fn();
  const samples: number[] = [];
  for (let i = 0; i < iterations; i++) {
    const t0 = performance.now();
    await fn();
    samples.push(performance.now() - t0);
  }
  return { medianMs: median(samples), samplesMs: samples };
}

/** Peak resident set size of this process so far, in MiB. */
export function peakRssMiB(): number {
  return process.resourceUsage().maxRSS / 1024;
}
