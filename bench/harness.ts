/**
 * The benchmark harness. A suite is a file `bench/<name>.bench.ts` whose default
 * export is a {@link BenchSuite}. `npm run bench` runs every suite (or those
 * named with `--only a,b`) and writes `bench/results/<suite>.json` plus
 * `bench/results/summary.json`. Data is built outside the timed part; results
 * are medians and ratios against a baseline run in the same process, never
 * assertions. Timing is tinybench's (a fixed number of runs per case, see
 * {@link timeMedian}); the JSON format is ours (BenchCase).
 */
import { Bench } from 'tinybench';

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

/** Options of {@link timeMedian} and {@link compare}. */
export interface TimeOptions {
  /** Timed runs. Default 5. */
  iterations?: number;
  /** Untimed runs first. Default 1. */
  warmup?: number;
  /** Runs before every run (warmup and timed), outside the timed part: fresh data for a "first call" case. */
  beforeEach?: () => unknown | Promise<unknown>;
}

/** What {@link timeMedian} measured: the median and every sample (sorted), in ms. */
export interface Timing {
  medianMs: number;
  samplesMs: number[];
}

/**
 * A tinybench Bench that runs exactly `iterations` times after exactly
 * `warmup` untimed runs: our cases take milliseconds to seconds, so tinybench's
 * time budget (which would repeat a case for a second) is off, and so is its
 * timer-overhead correction (microseconds, far below the noise of a shared machine).
 */
function newBench(iterations: number, warmup: number): Bench {
  return new Bench({
    iterations,
    time: 0,
    warmup: warmup > 0,
    warmupIterations: warmup,
    warmupTime: 0,
    retainSamples: true,
    throws: true,
    subtractTimerOverhead: false,
  });
}

function timingOf(bench: Bench, name: string): Timing {
  const task = bench.getTask(name);
  const r = task?.result;
  if (r === undefined || (r.state !== 'completed' && r.state !== 'aborted-with-statistics')) {
    throw new Error(`bench case ${name}: tinybench reports ${r?.state ?? 'no task'}`);
  }
  return { medianMs: r.latency.p50, samplesMs: [...(r.latency.samples ?? [])] };
}

/**
 * Times `fn` `iterations` times after `warmup` runs, with tinybench; returns
 * the median and all samples in ms. Defaults: 5 iterations, 1 warmup.
 */
export async function timeMedian(fn: () => unknown | Promise<unknown>, options: TimeOptions = {}): Promise<Timing> {
  const bench = newBench(options.iterations ?? 5, options.warmup ?? 1);
  bench.add('case', async () => {
    await fn();
  }, options.beforeEach ? { beforeEach: async () => void (await options.beforeEach!()) } : {});
  await bench.run();
  return timingOf(bench, 'case');
}

/**
 * Times a baseline and a candidate in the same process and the same Bench (the
 * baseline first), and reports the candidate as a case with its ratio:
 * candidate median / baseline median, how many times slower than the baseline.
 */
export async function compare(
  baseline: { name: string; fn: () => unknown | Promise<unknown> },
  candidate: { name: string; fn: () => unknown | Promise<unknown> },
  options: TimeOptions & { target?: { text: string; maxRatio: number } } = {},
): Promise<{ baseline: BenchCase; candidate: BenchCase }> {
  const bench = newBench(options.iterations ?? 5, options.warmup ?? 1);
  const hooks = options.beforeEach ? { beforeEach: async () => void (await options.beforeEach!()) } : {};
  bench.add(baseline.name, async () => void (await baseline.fn()), hooks);
  bench.add(candidate.name, async () => void (await candidate.fn()), hooks);
  await bench.run();
  const b = timingOf(bench, baseline.name);
  const c = timingOf(bench, candidate.name);
  const ratio = c.medianMs / b.medianMs;
  const samples = (t: Timing): string => `samples ${t.samplesMs.map((x) => x.toFixed(0)).join(', ')} ms`;
  return {
    baseline: { name: baseline.name, metric: 'median ms', value: b.medianMs, notes: samples(b) },
    candidate: {
      name: candidate.name,
      metric: 'median ms',
      value: c.medianMs,
      baseline: { name: baseline.name, value: b.medianMs },
      ratio,
      ...(options.target ? { target: options.target.text, meetsTarget: ratio <= options.target.maxRatio } : {}),
      notes: samples(c),
    },
  };
}

/** Peak resident set size of this process so far, in MiB. */
export function peakRssMiB(): number {
  return process.resourceUsage().maxRSS / 1024;
}
