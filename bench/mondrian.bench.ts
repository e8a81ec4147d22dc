import { ADULT_DIR, adultDataMissing } from '../lib/shared-data.js';
/**
 * Mondrian benchmarks: Adult (30,162 rows, all 9 quasi-identifiers, k = 5) and
 * 1,000,000 synthetic population-like rows with 4 quasi-identifiers (age 0–100,
 * sex 2, area 9, education 8), single thread against a 2-thread pool. Data is
 * built from a fixed seed outside the timed part. Quick mode: 200,000 rows and
 * fewer iterations.
 */
import { readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import type { BenchCase, BenchSuite } from './harness.js';
import { median, timeMedian } from './harness.js';
import { closeMondrianPool, mondrian } from '../transforms/mondrian.js';
import type { MondrianInput } from '../transforms/mondrian.js';
import { leafOrder, parseArxHierarchy } from '../transforms/hierarchy.js';
import { mulberry32 } from '../lib/random.js';

const ADULT = ADULT_DIR;

const rng = mulberry32;

/** Draws an index with the given (unnormalized) weights. */
function sampler(weights: number[], next: () => number): () => number {
  const total = weights.reduce((a, b) => a + b, 0);
  const cum: number[] = [];
  let acc = 0;
  for (const w of weights) cum.push((acc += w / total));
  return () => {
    const u = next();
    let i = 0;
    while (i < cum.length - 1 && u >= cum[i]!) i++;
    return i;
  };
}

/** Population-like rows: an ageing age pyramid, balanced sex, uneven areas, education depending on age. */
function population(n: number, seed: number): MondrianInput {
  const next = rng(seed);
  const ageW = Array.from({ length: 101 }, (_, a) => (a < 60 ? 1.0 + 0.004 * a : Math.max(0.02, 1.24 * Math.exp(-(a - 60) / 12))));
  const age = sampler(ageW, next);
  const area = sampler([30, 18, 14, 10, 9, 7, 5, 4, 3], next);
  const eduYoung = sampler([40, 30, 15, 8, 4, 2, 0.7, 0.3], next);
  const eduAdult = sampler([8, 14, 22, 20, 16, 12, 6, 2], next);
  const cols = [new Int32Array(n), new Int32Array(n), new Int32Array(n), new Int32Array(n)];
  for (let i = 0; i < n; i++) {
    const a = age();
    cols[0]![i] = a;
    cols[1]![i] = next() < 0.51 ? 0 : 1;
    cols[2]![i] = area();
    cols[3]![i] = a < 18 ? eduYoung() : eduAdult();
  }
  const cards = [101, 2, 9, 8];
  return { n, columns: ['age', 'sex', 'area', 'education'].map((name, c) => ({ name, codes: cols[c]!, cardinality: cards[c]! })) };
}

function adult(): MondrianInput {
  const lines = readFileSync(`${ADULT}adult.csv`, 'utf8').split(/\r?\n/).filter((l) => l.length > 0);
  const header = lines[0]!.split(';');
  const records = lines.slice(1).map((l) => l.split(';'));
  return {
    n: records.length,
    columns: header.map((name, c) => {
      const order = leafOrder(parseArxHierarchy(readFileSync(`${ADULT}adult_hierarchy_${name}.csv`, 'utf8')));
      const index = new Map(order.map((v, i) => [v, i]));
      return { name, codes: Int32Array.from(records, (r) => index.get(r[c]!)!), cardinality: order.length };
    }),
  };
}


const suite: BenchSuite = {
  name: 'mondrian',
  async run({ quick }) {
    const noAdult = adultDataMissing();
    if (noAdult) {
      process.stderr.write(`mondrian bench: skipped: ${noAdult}\n`);
      return [];
    }
    const cases: BenchCase[] = [];
    try {
      const a = adult();
      const t = await timeMedian(() => mondrian(a, { k: 5, threads: 1 }), { iterations: quick ? 3 : 7, warmup: 1 });
      cases.push({ name: `mondrian adult ${a.n} rows 9 QIs k=5 strict threads=1`, metric: 'median ms', value: t.medianMs });

      const n = quick ? 200_000 : 1_000_000;
      const pop = population(n, 20240501);
      const iterations = quick ? 3 : 7;
      // Warm both paths (JIT in this thread, worker start-up and JIT in the pool), then interleave
      // the 1- and 2-thread runs so that load from other processes hits both alike.
      await mondrian(pop, { k: 5, threads: 1 });
      await mondrian(pop, { k: 5, threads: 2 });
      await mondrian(pop, { k: 5, threads: 2 });
      const one: number[] = [];
      const two: number[] = [];
      // Process CPU time (all threads), to tell pool overhead apart from load by other processes.
      const cpuOne: number[] = [];
      const cpuTwo: number[] = [];
      const cpuMs = (u: NodeJS.CpuUsage): number => (u.user + u.system) / 1000;
      let classes = 0;
      for (let i = 0; i < iterations; i++) {
        let c0 = process.cpuUsage();
        let t0 = performance.now();
        const r1 = await mondrian(pop, { k: 5, threads: 1 });
        one.push(performance.now() - t0);
        cpuOne.push(cpuMs(process.cpuUsage(c0)));
        classes = r1.classes.length;
        c0 = process.cpuUsage();
        t0 = performance.now();
        await mondrian(pop, { k: 5, threads: 2 });
        two.push(performance.now() - t0);
        cpuTwo.push(cpuMs(process.cpuUsage(c0)));
      }
      const m1 = median(one);
      const m2 = median(two);
      const base = `mondrian synthetic ${n} rows 4 QIs k=5 strict`;
      cases.push({
        name: `${base} threads=1`,
        metric: 'median ms',
        value: m1,
        ...(quick ? {} : { target: '≤ 10000 ms', meetsTarget: m1 <= 10_000 }),
        notes: `${classes} classes; samples ${one.map((x) => x.toFixed(0)).join(', ')}; median CPU ${median(cpuOne).toFixed(0)} ms`,
      });
      cases.push({
        name: `${base} pool threads=2`,
        metric: 'median ms',
        value: m2,
        baseline: { name: `${base} threads=1`, value: m1 },
        ratio: m2 / m1,
        notes: `samples ${two.map((x) => x.toFixed(0)).join(', ')}; median CPU (all threads) ${median(cpuTwo).toFixed(0)} ms`,
      });
      cases.push({
        name: `${base} speed-up pool threads=2 vs threads=1`,
        metric: 'ratio (threads=1 median ms / threads=2 median ms)',
        value: m1 / m2,
        target: '≥ 1.6',
        meetsTarget: m1 / m2 >= 1.6,
        notes: `the machine has 2 cores shared with other processes (load average ${loadavg()[0]!.toFixed(1)} at the end); load depresses the speed-up`,
      });

      const tr = await timeMedian(() => mondrian(pop, { k: 5, relaxed: true, threads: 2 }), { iterations: quick ? 1 : 3, warmup: 1 });
      cases.push({ name: `mondrian synthetic ${n} rows 4 QIs k=5 relaxed pool threads=2`, metric: 'median ms', value: tr.medianMs });
    } finally {
      await closeMondrianPool();
    }
    return cases;
  },
};

export default suite;
