/**
 * Trainer benchmarks against scikit-learn on the same matrices in the same
 * run: logistic regression (C = 1), a decision tree (max_depth 10,
 * min_samples_leaf 5) and a 100-tree random forest (min_samples_leaf 10) on
 * Adult (30,162 rows, 70/30 stratified split, seed 42; 93 encoded features)
 * and on synthetic rows (8 source features — 4 numeric, 4 categorical
 * one-hot encoded into 34 columns — with a planted logistic signal, built
 * from a fixed seed outside the timed part): 1,000,000 rows, or 100,000 in
 * quick mode. The forest is also timed with 2 threads against 1 (target
 * speed-up ≥ 1.6). scikit-learn runs in /usr/bin/python3
 * (bench/sklearn_models.py times its own fit); its cases are left out, with
 * a note, when scikit-learn is missing. Times are medians of wall-clock ms on
 * a shared machine: ratios are what to read.
 */
import { execFile, spawnSync } from 'node:child_process';
import { Worker } from 'node:worker_threads';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import type { BenchCase, BenchSuite } from './harness.js';
import { median, timeMedian } from './harness.js';
import type { Dataset } from '../models/dataset.js';
import { SeededRandom, trainTestSplit } from '../models/dataset.js';
import { adultDataset } from '../models/load-adult.js';
import { adultDataMissing } from '../lib/shared-data.js';
import { train } from '../models/train.js';
import type { TrainRecipe, TrainedModel } from '../models/train.js';
import { closeForestPool } from '../models/random-forest.js';

const PYTHON = process.env['SLUICE_PYTHON'] ?? '/usr/bin/python3';
const SCRIPT = fileURLToPath(new URL('./sklearn_models.py', import.meta.url));

/** One scikit-learn fit asked of bench/sklearn_models.py. */
export interface SklearnSpec {
  name: string;
  kind: 'logistic' | 'tree' | 'forest' | 'knn';
  /** scikit-learn keyword arguments. */
  params: Record<string, unknown>;
  /** Fits to time (median reported). Default 1. */
  repeat?: number;
  /** Return the test rows' predict_proba. Default false. */
  proba?: boolean;
  /** Compute train/test accuracy. Default true. */
  score?: boolean;
}

/** One result of bench/sklearn_models.py. */
export interface SklearnResult {
  name: string;
  kind: string;
  fit_ms: number;
  fit_ms_all: number[];
  train_accuracy?: number | null;
  test_accuracy?: number | null;
  proba_test?: number[];
  n_iter?: number;
  coef?: number[][];
  intercept?: number[];
}

/** Why scikit-learn cannot be used here, or null when `/usr/bin/python3 -c 'import sklearn'` works. */
export function sklearnMissing(): string | null {
  const r = spawnSync(PYTHON, ['-c', 'import sklearn, numpy'], { encoding: 'utf8', timeout: 60_000 });
  if (r.error) return `${PYTHON} cannot be run (${(r.error as NodeJS.ErrnoException).code ?? 'error'})`;
  return r.status === 0 ? null : `${PYTHON} has no scikit-learn/numpy (import failed)`;
}

function bytes(a: Float64Array | Int32Array): Uint8Array {
  return new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
}

/**
 * Writes the encoded matrices to a temporary folder, runs
 * bench/sklearn_models.py on them and returns its results. The folder is
 * removed afterwards.
 */
export async function runSklearn(trainSet: Dataset, testSet: Dataset | null, models: SklearnSpec[]): Promise<{ sklearn: string; results: SklearnResult[] }> {
  const dir = await mkdtemp(join(tmpdir(), 'sluice-sklearn-'));
  try {
    await writeFile(join(dir, 'X_train.f64'), bytes(trainSet.X));
    await writeFile(join(dir, 'y_train.i32'), bytes(trainSet.y));
    if (testSet) {
      await writeFile(join(dir, 'X_test.f64'), bytes(testSet.X));
      await writeFile(join(dir, 'y_test.i32'), bytes(testSet.y));
    }
    await writeFile(join(dir, 'meta.json'), JSON.stringify({ n_train: trainSet.n, n_test: testSet?.n ?? 0, d: trainSet.d, models }));
    const { stdout } = await promisify(execFile)(PYTHON, [SCRIPT, dir], { encoding: 'utf8', maxBuffer: 1 << 30 });
    return JSON.parse(stdout) as { sklearn: string; results: SklearnResult[] };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/**
 * Synthetic encoded rows with a planted signal: 4 standard-normal numeric
 * features and 4 categorical ones (4, 6, 8 and 12 levels, one-hot), class 1
 * with probability sigmoid(1.2·x0 − 0.8·x1 + 0.6·x2·x3 + level effects).
 */
export function syntheticDataset(n: number, seed: number): Dataset {
  const rng = new SeededRandom(seed);
  const gauss = (): number => Math.sqrt(-2 * Math.log(1 - rng.next())) * Math.cos(2 * Math.PI * rng.next());
  const levels = [4, 6, 8, 12];
  const effects = levels.map((l) => Array.from({ length: l }, () => gauss() * 0.7));
  const d = 4 + levels.reduce((a, b) => a + b, 0);
  const X = new Float64Array(n * d);
  const y = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const o = i * d;
    for (let j = 0; j < 4; j++) X[o + j] = gauss();
    let logit = 1.2 * X[o]! - 0.8 * X[o + 1]! + 0.6 * X[o + 2]! * X[o + 3]!;
    let off = 4;
    levels.forEach((l, c) => {
      const v = rng.int(l);
      X[o + off + v] = 1;
      logit += effects[c]![v]!;
      off += l;
    });
    y[i] = rng.next() < 1 / (1 + Math.exp(-logit)) ? 1 : 0;
  }
  const features = [
    ...[0, 1, 2, 3].map((j) => ({ name: `x${j}`, source: `x${j}`, kind: 'numeric' as const })),
    ...levels.flatMap((l, c) => Array.from({ length: l }, (_, v) => ({ name: `c${c}=${v}`, source: `c${c}`, kind: 'one-hot' as const, category: String(v) }))),
  ];
  return { n, d, X, y, classes: ['0', '1'], features };
}

function accuracy(m: TrainedModel, ds: Dataset): number {
  const p = m.predict(ds.X, ds.n);
  let ok = 0;
  for (let i = 0; i < ds.n; i++) if (p[i] === ds.y[i]) ok++;
  return ok / ds.n;
}


const LOAD_NOTE = 'shared 2-core machine under load from other engineers; absolute times are inflated, ratios within one run are what to read';

/** The three recipes compared, with scikit-learn's equivalents. */
const RECIPES: { label: string; recipe: TrainRecipe; sk: Omit<SklearnSpec, 'name' | 'repeat'> }[] = [
  { label: 'logistic C=1', recipe: { kind: 'logistic', hyperparameters: { C: 1 }, seed: 0 }, sk: { kind: 'logistic', params: { C: 1.0 } } },
  {
    label: 'tree max_depth=10 min_samples_leaf=5',
    recipe: { kind: 'tree', hyperparameters: { max_depth: 10, min_samples_leaf: 5 }, seed: 0 },
    sk: { kind: 'tree', params: { max_depth: 10, min_samples_leaf: 5, random_state: 0 } },
  },
];
const FOREST: TrainRecipe = { kind: 'forest', hyperparameters: { n_estimators: 100, min_samples_leaf: 10 }, seed: 0 };

async function benchData(label: string, split: { train: Dataset; test: Dataset }, quick: boolean, big: boolean, sk: boolean): Promise<BenchCase[]> {
  const cases: BenchCase[] = [];
  const { train: tr, test: te } = split;
  const size = `${label} ${tr.n} train rows d=${tr.d}`;
  const iters = big ? 1 : quick ? 3 : 5;
  const skResults = new Map<string, SklearnResult>();
  if (sk) {
    const specs: SklearnSpec[] = [
      ...RECIPES.map((r) => ({ ...r.sk, name: r.label, repeat: iters })),
      { name: 'forest', kind: 'forest', params: { n_estimators: 100, min_samples_leaf: 10, n_jobs: 1, random_state: 0 }, repeat: 1 },
    ];
    for (const r of (await runSklearn(tr, te, specs)).results) skResults.set(r.name, r);
  }
  for (const { label: what, recipe } of RECIPES) {
    let model: TrainedModel | null = null;
    const t = await timeMedian(async () => {
      model = await train(recipe, tr);
    }, { iterations: iters, warmup: big ? 0 : 1 });
    const ours = t.medianMs;
    const s = skResults.get(what);
    const acc = `test accuracy ours ${accuracy(model!, te).toFixed(4)}${s ? ` sklearn ${s.test_accuracy?.toFixed(4)}` : ''}`;
    cases.push({
      name: `${what} ${size}`,
      metric: 'median ms',
      value: ours,
      ...(s ? { baseline: { name: `scikit-learn ${what}`, value: s.fit_ms }, ratio: ours / s.fit_ms } : {}),
      notes: `${acc}; samples ${t.samplesMs.map((x) => x.toFixed(0)).join(', ')}${s ? `; sklearn samples ${s.fit_ms_all.map((x) => x.toFixed(0)).join(', ')}` : '; scikit-learn unavailable'}`,
    });
  }

  // Forest: warm both paths (JIT here, worker start-up and JIT in the pool), then interleave 1 and 2 threads.
  const forestIters = big ? 1 : quick ? 2 : 3;
  if (!big) {
    await train({ ...FOREST, hyperparameters: { ...FOREST.hyperparameters, n_estimators: 10 } }, tr, { threads: 1 });
    await train({ ...FOREST, hyperparameters: { ...FOREST.hyperparameters, n_estimators: 10 } }, tr, { threads: 2 });
  }
  const one: number[] = [];
  const two: number[] = [];
  let forest: TrainedModel | null = null;
  for (let i = 0; i < forestIters; i++) {
    let t0 = performance.now();
    forest = await train(FOREST, tr, { threads: 1 });
    one.push(performance.now() - t0);
    t0 = performance.now();
    await train(FOREST, tr, { threads: 2 });
    two.push(performance.now() - t0);
  }
  const m1 = median(one);
  const m2 = median(two);
  const sf = skResults.get('forest');
  const base = `forest 100 trees min_samples_leaf=10 ${size}`;
  cases.push({
    name: `${base} threads=1`,
    metric: 'median ms',
    value: m1,
    ...(sf ? { baseline: { name: 'scikit-learn forest n_jobs=1', value: sf.fit_ms }, ratio: m1 / sf.fit_ms } : {}),
    notes: `test accuracy ours ${accuracy(forest!, te).toFixed(4)}${sf ? ` sklearn ${sf.test_accuracy?.toFixed(4)}` : ''}; samples ${one.map((x) => x.toFixed(0)).join(', ')}`,
  });
  cases.push({
    name: `${base} pool threads=2`,
    metric: 'median ms',
    value: m2,
    ...(sf ? { baseline: { name: 'scikit-learn forest n_jobs=1', value: sf.fit_ms }, ratio: m2 / sf.fit_ms } : {}),
    notes: `samples ${two.map((x) => x.toFixed(0)).join(', ')}`,
  });
  cases.push({
    name: `${base} speed-up threads=2 vs threads=1`,
    metric: 'ratio (threads=1 median ms / threads=2 median ms)',
    value: m1 / m2,
    target: '≥ 1.6',
    meetsTarget: m1 / m2 >= 1.6,
    notes: 'other processes compete for the same 2 cores, which depresses the speed-up',
  });
  return cases;
}

/**
 * What 2 threads can give on this machine right now: the same pure-CPU loop
 * run twice on one worker thread, then once on each of two, interleaved.
 * Returns serial ms / parallel ms (2.0 on two idle cores).
 */
async function parallelCeiling(rounds: number): Promise<{ speedup: number; samples: string }> {
  const code = `const { parentPort } = require('node:worker_threads');
parentPort.on('message', (n) => { let s = 0; for (let i = 0; i < n; i++) s += Math.sqrt(i); parentPort.postMessage(s); });`;
  const workers = [new Worker(code, { eval: true }), new Worker(code, { eval: true })] as const;
  const run = (w: Worker, n: number): Promise<unknown> =>
    new Promise((resolve) => {
      w.once('message', resolve);
      w.postMessage(n);
    });
  const N = 1e8;
  const ratios: number[] = [];
  try {
    await Promise.all([run(workers[0], N / 10), run(workers[1], N / 10)]);
    for (let r = 0; r < rounds; r++) {
      let t0 = performance.now();
      await run(workers[0], N);
      await run(workers[0], N);
      const serial = performance.now() - t0;
      t0 = performance.now();
      await Promise.all([run(workers[0], N), run(workers[1], N)]);
      ratios.push(serial / (performance.now() - t0));
    }
  } finally {
    await Promise.all(workers.map((w) => w.terminate()));
  }
  return { speedup: median(ratios), samples: ratios.map((x) => x.toFixed(2)).join(', ') };
}

const suite: BenchSuite = {
  name: 'models',
  async run({ quick }) {
    const missing = sklearnMissing();
    if (missing) process.stderr.write(`models bench: scikit-learn comparison skipped: ${missing}\n`);
    const cases: BenchCase[] = [];
    const ceiling = await parallelCeiling(3);
    cases.push({
      name: 'calibration: pure-CPU loop on 2 worker threads vs 1 (the speed-up this machine allows now)',
      metric: 'ratio (serial ms / parallel ms)',
      value: ceiling.speedup,
      notes: `samples ${ceiling.samples}; 2.0 on two idle cores`,
    });
    try {
      const noAdult = adultDataMissing();
      if (noAdult) process.stderr.write(`models bench: Adult cases skipped: ${noAdult}\n`);
      else {
        const { dataset } = await adultDataset({ target: 'salary-class' });
        const adultSplit = trainTestSplit(dataset, 0.3, 42, true);
        cases.push(...(await benchData('adult', adultSplit, quick, false, missing === null)));
      }

      const n = quick ? 100_000 : 1_000_000;
      const synth = syntheticDataset(Math.round(n / 0.8), 20240501);
      const synthSplit = trainTestSplit(synth, 0.2, 7, false);
      cases.push(...(await benchData('synthetic', synthSplit, quick, !quick, missing === null)));
    } finally {
      await closeForestPool();
    }
    for (const c of cases) c.notes = c.notes ? `${c.notes}; ${LOAD_NOTE}` : LOAD_NOTE;
    return cases;
  },
};

export default suite;
