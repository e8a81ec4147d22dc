/**
 * The one entry point of Sluice's trainers: a {@link TrainRecipe} (model kind,
 * hyperparameters, seed) and an encoded {@link Dataset} in, a
 * {@link TrainedModel} out. Hyperparameters are validated with zod (unknown
 * names are refused) and keep scikit-learn's names and defaults:
 *
 * - `logistic`: C = 1.0, max_iter = 100, tol = 1e-4, fit_intercept = true
 *   (binary logistic for 2 classes, multinomial for more; L-BFGS).
 * - `tree`: criterion = 'gini' | 'entropy' (gini), max_depth (none),
 *   min_samples_split = 2, min_samples_leaf = 1, max_features = 'all'
 *   ('sqrt' | 'log2' | 'all' | integer | fraction), max_bins = 255.
 * - `forest`: the tree's with max_features = 'sqrt', plus n_estimators = 100
 *   and bootstrap = true.
 * - `knn`: n_neighbors = 5 (stores the training rows).
 */
import { z } from 'zod';
import { SluiceError } from '../lib/errors.js';
import type { Dataset } from './dataset.js';
import { LogisticRegressionModel, fitLogisticRegression } from './logistic-regression.js';
import type { LogisticJSON, LogisticParams } from './logistic-regression.js';
import { DecisionTreeModel, fitDecisionTree } from './decision-tree.js';
import type { DecisionTreeJSON, TreeParams } from './decision-tree.js';
import { RandomForestModel, fitRandomForest } from './random-forest.js';
import type { ForestParams, RandomForestJSON } from './random-forest.js';
import { KnnModel, fitKnn } from './knn.js';
import type { KnnJSON, KnnParams } from './knn.js';

/** The model families Sluice trains. */
export type ModelKind = 'logistic' | 'tree' | 'forest' | 'knn';

/** What to train: the family, its hyperparameters (scikit-learn names; omitted = default) and the seed. */
export interface TrainRecipe {
  kind: ModelKind;
  hyperparameters: Record<string, number | string | boolean>;
  seed: number;
}

/** A trained model: predicts on encoded rows and serializes to the artifact's `model` part. */
export interface TrainedModel {
  kind: ModelKind;
  recipe: TrainRecipe;
  /** Class labels; column c of predictProba is `classes[c]`. */
  classes: string[];
  /** Class probabilities for n encoded rows (row-major n×d), n×k row-major. */
  predictProba(X: Float64Array, n: number): Float64Array;
  /** The most probable class index per row (the first on ties). */
  predict(X: Float64Array, n: number): Int32Array;
  /** The model part of the artifact: plain JSON. */
  toJSON(): object;
}

/** Options of {@link train}. */
export interface TrainOptions {
  /** Worker threads for forests (1 = in the calling thread). Default: the machine's available parallelism. Other kinds ignore it. */
  threads?: number;
}

const int = (min: number) => z.number().int().min(min);
const maxFeatures = z.union([z.enum(['sqrt', 'log2', 'all']), z.number().positive()]);
const treeShape = {
  criterion: z.enum(['gini', 'entropy']).optional(),
  max_depth: int(1).optional(),
  min_samples_split: int(2).optional(),
  min_samples_leaf: int(1).optional(),
  max_features: maxFeatures.optional(),
  max_bins: int(2).max(65535).optional(),
};
const schemas = {
  logistic: z
    .object({ C: z.number().positive(), max_iter: int(0), tol: z.number().min(0), fit_intercept: z.boolean() })
    .partial()
    .strict(),
  tree: z.object(treeShape).strict(),
  forest: z.object({ ...treeShape, n_estimators: int(1).optional(), bootstrap: z.boolean().optional() }).strict(),
  knn: z.object({ n_neighbors: int(1).optional() }).strict(),
} as const;

function invalid(message: string, details?: Record<string, unknown>): SluiceError {
  return new SluiceError('SLUICE_ERR_MODEL_INVALID', message, details ? { details } : {});
}

/** Checks a recipe; returns its hyperparameters as given (validated). Errors name the field, what was expected and what was found (a type). */
export function validateRecipe(recipe: TrainRecipe): Record<string, unknown> {
  if (recipe === null || typeof recipe !== 'object') throw invalid('recipe: expected an object');
  if (!(recipe.kind in schemas)) throw invalid(`recipe.kind: expected one of ${Object.keys(schemas).join(', ')}, found ${typeof recipe.kind === 'string' ? 'an unknown kind' : typeof recipe.kind}`);
  if (typeof recipe.seed !== 'number' || !Number.isFinite(recipe.seed)) throw invalid(`recipe.seed: expected a finite number, found ${typeof recipe.seed}`);
  const r = schemas[recipe.kind].safeParse(recipe.hyperparameters ?? {});
  if (!r.success) {
    const issue = r.error.issues[0]!;
    const path = ['recipe', 'hyperparameters', ...issue.path.map(String)].join('.');
    const what = issue.code === 'unrecognized_keys' ? `unknown hyperparameter(s) ${issue.keys.join(', ')} for kind ${recipe.kind}` : issue.message;
    throw invalid(`${path}: ${what}`, { path, code: issue.code });
  }
  return r.data as Record<string, unknown>;
}

function checkDataset(data: Dataset): void {
  if (data === null || typeof data !== 'object') throw invalid('dataset: expected an object');
  const { n, d, X, y, classes } = data;
  if (!Number.isInteger(n) || n < 1 || !Number.isInteger(d) || d < 0) throw invalid('dataset: n must be an integer ≥ 1 and d an integer ≥ 0');
  if (!(X instanceof Float64Array) || X.length !== n * d) throw invalid(`dataset.X: expected a Float64Array of n·d = ${n * d} values, found ${X?.length ?? typeof X}`);
  if (!(y instanceof Int32Array) || y.length !== n) throw invalid(`dataset.y: expected an Int32Array of n = ${n} labels`);
  if (!Array.isArray(classes) || classes.length < 2) throw invalid('dataset.classes: expected at least 2 classes');
  const k = classes.length;
  for (let i = 0; i < n; i++) {
    const c = y[i]!;
    if (c < 0 || c >= k) throw invalid(`dataset.y[${i}]: expected a class index in 0..${k - 1}`, { row: i });
  }
  for (let i = 0; i < X.length; i++) {
    if (!Number.isFinite(X[i]!)) throw invalid(`dataset.X: row ${Math.floor(i / d)} feature ${i % d} is not a finite number`, { row: Math.floor(i / d) });
  }
}

interface Predictor {
  predictProba(X: Float64Array, n: number): Float64Array;
  toJSON(): object;
}

function argmax(p: Float64Array, n: number, k: number): Int32Array {
  const out = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    let best = 0;
    for (let c = 1; c < k; c++) if (p[i * k + c]! > p[i * k + best]!) best = c;
    out[i] = best;
  }
  return out;
}

function wrap(kind: ModelKind, recipe: TrainRecipe, classes: string[], inner: Predictor): TrainedModel {
  const k = classes.length;
  return {
    kind,
    recipe: { kind: recipe.kind, hyperparameters: { ...recipe.hyperparameters }, seed: recipe.seed },
    classes: [...classes],
    predictProba: (X, n) => inner.predictProba(X, n),
    predict: (X, n) => argmax(inner.predictProba(X, n), n, k),
    toJSON: () => inner.toJSON(),
  };
}

/**
 * Trains the recipe's model on an encoded dataset. Deterministic for a given
 * recipe (seed included) and dataset, whatever `options.threads`. Throws
 * SLUICE_ERR_MODEL_INVALID for a bad recipe (unknown kind or hyperparameter,
 * value of the wrong type or range) or a malformed dataset.
 */
export async function train(recipe: TrainRecipe, data: Dataset, options: TrainOptions = {}): Promise<TrainedModel> {
  const hp = validateRecipe(recipe);
  checkDataset(data);
  const { n, d, X, y, classes } = data;
  const k = classes.length;
  let inner: Predictor;
  switch (recipe.kind) {
    case 'logistic':
      inner = fitLogisticRegression(X, n, d, y, k, hp as Partial<LogisticParams>);
      break;
    case 'tree':
      inner = fitDecisionTree(X, n, d, y, k, hp as Partial<TreeParams>, recipe.seed);
      break;
    case 'forest': {
      const threads = options.threads;
      if (threads !== undefined && (!Number.isInteger(threads) || threads < 1)) throw invalid('options.threads: expected an integer ≥ 1');
      inner = await fitRandomForest(X, n, d, y, k, hp as Partial<ForestParams>, recipe.seed, ...(threads === undefined ? [] : [threads]));
      break;
    }
    case 'knn':
      inner = fitKnn(X, n, d, y, k, hp as Partial<KnnParams>);
      break;
  }
  return wrap(recipe.kind, recipe, classes, inner);
}

/**
 * Rebuilds a trained model from its JSON form (the artifact's `model` part).
 * The recipe is read back from the JSON's resolved parameters (seed 0: the
 * artifact keeps the training seed). Throws SLUICE_ERR_MODEL_INVALID when the
 * JSON is malformed or its class count differs from `classes`.
 */
export function modelFromJSON(kind: ModelKind, json: object, classes: string[]): TrainedModel {
  if (json === null || typeof json !== 'object') throw invalid('model: expected a JSON object');
  let inner: LogisticRegressionModel | DecisionTreeModel | RandomForestModel | KnnModel;
  switch (kind) {
    case 'logistic':
      inner = LogisticRegressionModel.fromJSON(json as LogisticJSON);
      break;
    case 'tree':
      inner = DecisionTreeModel.fromJSON(json as DecisionTreeJSON);
      break;
    case 'forest':
      inner = RandomForestModel.fromJSON(json as RandomForestJSON);
      break;
    case 'knn':
      inner = KnnModel.fromJSON(json as KnnJSON);
      break;
    default:
      throw invalid(`model kind: expected one of ${Object.keys(schemas).join(', ')}, found an unknown kind`);
  }
  if (!Array.isArray(classes) || inner.k !== classes.length) {
    throw invalid(`model: it predicts ${inner.k} classes but ${Array.isArray(classes) ? classes.length : 0} class labels were given`);
  }
  const hyperparameters: Record<string, number | string | boolean> = {};
  for (const [key, v] of Object.entries(inner.params)) if (typeof v === 'number' || typeof v === 'string' || typeof v === 'boolean') hyperparameters[key] = v;
  return wrap(kind, { kind, hyperparameters, seed: 0 }, classes, inner);
}
