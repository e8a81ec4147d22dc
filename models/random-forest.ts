/**
 * Random forests (scikit-learn's RandomForestClassifier): n_estimators CART
 * trees ({@link growTree}), each on a bootstrap sample with max_features
 * features drawn per split, predicting the mean of the trees' class shares.
 *
 * Tree t draws everything from a generator seeded by `deriveSeed(seed, t)`,
 * so a forest depends on the seed only, never on the thread count. With
 * `threads > 1` the features are binned once, into a SharedArrayBuffer, and
 * trees are grown in a piscina pool in chunks: each task carries the shared
 * bins and labels by reference (no copy) and moves its trees' own buffers
 * back. See {@link closeForestPool}.
 */
import { availableParallelism } from 'node:os';
import { Piscina } from 'piscina';
import { poolCache, runTask, taskFile } from '../lib/pool.js';
import { SluiceError } from '../lib/errors.js';
import { SeededRandom, deriveSeed } from './dataset.js';
import { DecisionTreeModel, TREE_DEFAULTS, binFeatures, growParams, growTree, resolveTreeParams, treeFromGrown } from './decision-tree.js';
import type { DecisionTreeJSON, GrowParams, GrownTree, TreeParams } from './decision-tree.js';

/** Hyperparameters of a forest: the tree's plus these (names as in scikit-learn). */
export interface ForestParams extends TreeParams {
  /** Trees. Default 100. */
  n_estimators: number;
  /** Train each tree on a bootstrap sample (n draws with replacement). Default true. */
  bootstrap: boolean;
}

/** The defaults of {@link ForestParams}: a tree's, with max_features 'sqrt'. */
export const FOREST_DEFAULTS: Readonly<ForestParams> = Object.freeze({ ...TREE_DEFAULTS, max_features: 'sqrt', n_estimators: 100, bootstrap: true });

/** The JSON form of a fitted forest. */
export interface RandomForestJSON {
  params: ForestParams;
  nFeatures: number;
  nClasses: number;
  trees: DecisionTreeJSON[];
}

/** One pool task: grow the trees with these seeds. Bins and labels are views of SharedArrayBuffers. */
export interface ForestTask {
  bins: Uint16Array;
  y: Int32Array;
  n: number;
  d: number;
  k: number;
  nBins: Int32Array;
  grow: GrowParams;
  bootstrap: boolean;
  seeds: number[];
}

function invalid(message: string): SluiceError {
  return new SluiceError('SLUICE_ERR_MODEL_INVALID', message);
}

/** Grows the task's trees in order; used both in the calling thread and in pool workers. */
export function growForestTrees(task: ForestTask): GrownTree[] {
  const { n, y, k, grow, bootstrap, seeds } = task;
  const data = { bins: task.bins, n, d: task.d, nBins: task.nBins };
  return seeds.map((seed) => {
    const rng = new SeededRandom(seed);
    const weights = new Float64Array(n);
    if (bootstrap) {
      for (let i = 0; i < n; i++) {
        const r = rng.int(n);
        weights[r] = weights[r]! + 1;
      }
    }
    else weights.fill(1);
    return growTree(data, y, k, weights, grow, rng);
  });
}

/** The typed arrays of grown trees, for transfer lists. */
export function grownBuffers(trees: GrownTree[]): ArrayBuffer[] {
  return trees.flatMap((t) =>
    [t.feature, t.leftBin, t.rightBin, t.left, t.right, t.samples, t.counts].map((a) => {
      // Moving a view of a larger buffer would detach memory the worker still uses.
      if (a.byteOffset !== 0 || a.byteLength !== a.buffer.byteLength || !(a.buffer instanceof ArrayBuffer)) {
        throw new SluiceError('SLUICE_ERR_INTERNAL', 'forest: refusing to transfer a view of a larger or shared buffer');
      }
      return a.buffer;
    }),
  );
}

/** A fitted random forest. */
export class RandomForestModel {
  constructor(
    readonly params: ForestParams,
    readonly d: number,
    readonly k: number,
    readonly trees: DecisionTreeModel[],
  ) {}

  /** Class probabilities: the mean over trees of each tree's leaf class shares, n×k row-major. */
  predictProba(X: Float64Array, n: number): Float64Array {
    const out = new Float64Array(n * this.k);
    for (const t of this.trees) {
      const p = t.predictProba(X, n);
      for (let i = 0; i < out.length; i++) out[i] = out[i]! + (p[i]!);
    }
    const inv = 1 / this.trees.length;
    for (let i = 0; i < out.length; i++) out[i] = out[i]! * inv;
    return out;
  }

  /** The JSON form (see {@link RandomForestJSON}). */
  toJSON(): RandomForestJSON {
    return { params: { ...this.params }, nFeatures: this.d, nClasses: this.k, trees: this.trees.map((t) => t.toJSON()) };
  }

  /** Rebuilds a forest from {@link RandomForestModel.toJSON}; throws SLUICE_ERR_MODEL_INVALID when malformed. */
  static fromJSON(json: RandomForestJSON): RandomForestModel {
    if (!Array.isArray(json.trees) || json.trees.length < 1) throw invalid('forest model: trees must be a non-empty array');
    const trees = json.trees.map((t) => DecisionTreeModel.fromJSON(t));
    for (const t of trees) {
      if (t.d !== json.nFeatures || t.k !== json.nClasses) throw invalid('forest model: every tree must have the forest\'s nFeatures and nClasses');
    }
    return new RandomForestModel(resolveForestParams(json.params ?? {}), json.nFeatures, json.nClasses, trees);
  }
}

/** Checks forest hyperparameters; returns the defaults-filled values. */
export function resolveForestParams(given: Partial<ForestParams>): ForestParams {
  const p: ForestParams = { ...FOREST_DEFAULTS, ...given };
  resolveTreeParams(p, FOREST_DEFAULTS);
  if (!Number.isInteger(p.n_estimators) || p.n_estimators < 1) throw invalid('forest: hyperparameter n_estimators must be an integer ≥ 1');
  if (typeof p.bootstrap !== 'boolean') throw invalid('forest: hyperparameter bootstrap must be a boolean');
  return p;
}

const pools = poolCache(taskFile('forest-task'));

/**
 * The forest's worker pools are module-level and created lazily, one per
 * thread count, because starting a worker with the TypeScript loader costs
 * hundreds of milliseconds. Idle workers do not keep the process alive. Call
 * this at shutdown or after tests; a later fit creates a fresh pool. Must not
 * be called while a fit is in flight.
 */
export async function closeForestPool(): Promise<void> {
  await pools.closeAll();
}

function poolFor(threads: number): Piscina {
  return pools.get(threads);
}

/**
 * Fits a random forest to n rows of X (row-major n×d) with class indices y in
 * 0..k-1. Missing hyperparameters take {@link FOREST_DEFAULTS}. `threads`
 * (default: available parallelism) > 1 grows trees in a worker pool; the
 * result is identical for every thread count.
 */
export async function fitRandomForest(
  X: Float64Array,
  n: number,
  d: number,
  y: Int32Array,
  k: number,
  params: Partial<ForestParams> = {},
  seed = 0,
  threads: number = availableParallelism(),
): Promise<RandomForestModel> {
  const p = resolveForestParams(params);
  if (!Number.isInteger(threads) || threads < 1) throw invalid('forest: option threads must be an integer ≥ 1');
  if (y.length !== n) throw invalid(`forest: y has ${y.length} entries; expected n = ${n}`);
  if (n < 1) throw invalid('forest: at least one training row is needed');
  if (!Number.isInteger(k) || k < 2) throw invalid('forest: at least 2 classes are needed');
  for (let i = 0; i < n; i++) if (!(y[i]! >= 0 && y[i]! < k)) throw invalid(`forest: y[${i}] is not a class index in 0..${k - 1}`);
  const T = p.n_estimators;
  const seeds = Array.from({ length: T }, (_, t) => deriveSeed(seed, t));
  const grow = growParams(p, d);
  const useThreads = Math.min(threads, T);
  const binned = binFeatures(X, n, d, p.max_bins, useThreads > 1);
  let grown: GrownTree[];
  if (useThreads === 1) {
    grown = growForestTrees({ bins: binned.bins, y, n, d, k, nBins: binned.nBins, grow, bootstrap: p.bootstrap, seeds });
  } else {
    const ys = new Int32Array(new SharedArrayBuffer(n * 4));
    ys.set(y);
    const pool = poolFor(useThreads);
    // Several chunks per thread so a thread that finishes early takes more work.
    const chunks = Math.min(T, useThreads * 4);
    const size = Math.ceil(T / chunks);
    const runs: Promise<GrownTree[]>[] = [];
    for (let c = 0; c * size < T; c++) {
      const task: ForestTask = { bins: binned.bins, y: ys, n, d, k, nBins: binned.nBins, grow, bootstrap: p.bootstrap, seeds: seeds.slice(c * size, (c + 1) * size) };
      runs.push(
        runTask<GrownTree[]>(pool, task, 'forest: a tree-growing worker'),
      );
    }
    grown = (await Promise.all(runs)).flat();
  }
  const trees = grown.map((g) => treeFromGrown(g, binned, p, d, k));
  return new RandomForestModel(p, d, k, trees);
}

/** Wraps grown trees so piscina transfers (moves) their buffers instead of copying them. */
export function moveTrees(trees: GrownTree[]): GrownTree[] {
  const buffers = grownBuffers(trees);
  const bundle = {
    get [Piscina.transferableSymbol]() {
      return buffers;
    },
    get [Piscina.valueSymbol]() {
      return trees;
    },
  };
  return Piscina.move(bundle as never) as unknown as GrownTree[];
}
