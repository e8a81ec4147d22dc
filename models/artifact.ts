/**
 * The portable model artifact, `sluice-model/1`: one JSON document holding
 * the recipe, the encoding schema, the training provenance (which data, which
 * split), the fitted model and its accuracy, sealed by a SHA-256 hash of its
 * canonical JSON (keys sorted at every level, no whitespace) without the
 * `hash` field. Any edit — a coefficient, a threshold, a leaf count, a
 * category — changes the hash, so {@link verifyArtifact} detects tampering and
 * {@link loadModel} refuses a tampered artifact.
 */
import { createHash } from 'node:crypto';
import { SluiceError } from '../lib/errors.js';
import type { Dataset } from './dataset.js';
import { trainTestSplit } from './dataset.js';
import type { EncodingSchema } from './encode.js';
import { encodeFeatures } from './encode.js';
import { modelFromJSON, train } from './train.js';
import type { ModelKind, TrainOptions, TrainRecipe, TrainedModel } from './train.js';

/** The format tag of this artifact version. */
export const ARTIFACT_FORMAT = 'sluice-model/1';

/** Where the model's training data came from. */
export interface TrainingProvenance {
  /** SHA-256 (hex) of the full encoded dataset before the split ({@link datasetHash}). */
  datasetHash: string;
  /** Rows in that dataset (before the split). */
  rows: number;
  /** Share of rows held out for testing. */
  testFraction: number;
  /** Seed of the train/test split. */
  splitSeed: number;
  /** SHA-256 (hex) of the training row indices ({@link rowsHash}). */
  trainRowsHash: string;
}

/** A sealed model artifact. */
export interface ModelArtifact {
  format: typeof ARTIFACT_FORMAT;
  kind: ModelKind;
  /** The recipe: hyperparameters as given and the seed. */
  recipe: TrainRecipe;
  /** How raw rows become the model's input. */
  featureSchema: EncodingSchema;
  training: TrainingProvenance;
  /** The fitted model (TrainedModel.toJSON()). */
  model: object;
  metrics: { trainAccuracy: number; testAccuracy: number };
  /** ISO time of building; optional so artifacts can be built reproducibly. */
  createdAt?: string;
  /** SHA-256 (hex) of the canonical JSON of every other field. */
  hash: string;
}

function invalid(message: string): SluiceError {
  return new SluiceError('SLUICE_ERR_MODEL_INVALID', message);
}

/**
 * Canonical JSON: object keys sorted (by UTF-16 code units) at every level,
 * no whitespace, undefined members dropped. Throws for non-finite numbers,
 * which JSON cannot carry.
 */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value === 'boolean' || typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw invalid('artifact: a number is not finite and cannot be serialized');
    return JSON.stringify(value);
  }
  if (Array.isArray(value)) return `[${value.map((v) => (v === undefined ? 'null' : canonicalJson(v))).join(',')}]`;
  if (ArrayBuffer.isView(value)) return canonicalJson(Array.from(value as unknown as ArrayLike<number>));
  if (typeof value === 'object') {
    const obj = value as Record<string, unknown>;
    const keys = Object.keys(obj)
      .filter((k) => obj[k] !== undefined)
      .sort();
    return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalJson(obj[k])}`).join(',')}}`;
  }
  throw invalid(`artifact: a ${typeof value} cannot be serialized`);
}

function sha256(text: string | Uint8Array): string {
  return createHash('sha256').update(text).digest('hex');
}

/** SHA-256 (hex) of an encoded dataset: its shape, class labels, feature names, X bytes and y bytes. */
export function datasetHash(ds: Dataset): string {
  const h = createHash('sha256');
  h.update(canonicalJson({ n: ds.n, d: ds.d, classes: ds.classes, features: ds.features.map((f) => f.name) }));
  h.update(new Uint8Array(ds.X.buffer, ds.X.byteOffset, ds.X.byteLength));
  h.update(new Uint8Array(ds.y.buffer, ds.y.byteOffset, ds.y.byteLength));
  return h.digest('hex');
}

/** SHA-256 (hex) of a list of row indices (as little-endian int32). */
export function rowsHash(rows: Int32Array | number[]): string {
  const a = rows instanceof Int32Array ? rows : Int32Array.from(rows);
  return sha256(new Uint8Array(a.buffer, a.byteOffset, a.byteLength));
}

/** Share of rows of `ds` the model classifies correctly. */
export function accuracy(model: TrainedModel, ds: Dataset): number {
  if (ds.n === 0) return 0;
  const pred = model.predict(ds.X, ds.n);
  let ok = 0;
  for (let i = 0; i < ds.n; i++) if (pred[i] === ds.y[i]) ok++;
  return ok / ds.n;
}

/** The hash an artifact should carry: SHA-256 of the canonical JSON of everything but `hash`. */
export function artifactHash(a: Omit<ModelArtifact, 'hash'> | ModelArtifact): string {
  const { hash: _ignored, ...rest } = a as ModelArtifact;
  return sha256(canonicalJson(rest));
}

/** Inputs of {@link buildArtifact}. */
export interface BuildArtifactInput {
  model: TrainedModel;
  featureSchema: EncodingSchema;
  training: TrainingProvenance;
  metrics: { trainAccuracy: number; testAccuracy: number };
  /** ISO time; omitted = no createdAt field (reproducible hash). */
  createdAt?: string;
}

/**
 * Seals a trained model into an artifact. The model's class labels must be
 * the schema's target classes and its feature count the schema's. The JSON is
 * copied (later changes to the inputs do not reach the artifact).
 */
export function buildArtifact(input: BuildArtifactInput): ModelArtifact {
  const { model, featureSchema, training, metrics } = input;
  if (canonicalJson(model.classes) !== canonicalJson(featureSchema.target.classes)) {
    throw invalid('artifact: the model\'s classes differ from the feature schema\'s target classes');
  }
  const body = JSON.parse(
    canonicalJson({
      format: ARTIFACT_FORMAT,
      kind: model.kind,
      recipe: model.recipe,
      featureSchema,
      training,
      model: model.toJSON(),
      metrics,
      ...(input.createdAt === undefined ? {} : { createdAt: input.createdAt }),
    }),
  ) as Omit<ModelArtifact, 'hash'>;
  const nFeatures = (body.model as { nFeatures?: unknown }).nFeatures;
  if (nFeatures !== featureSchema.features.length) {
    throw invalid(`artifact: the model reads ${String(nFeatures)} features but the schema encodes ${featureSchema.features.length}`);
  }
  return { ...body, hash: artifactHash(body) };
}

/**
 * True when `a` is a `sluice-model/1` artifact whose hash matches its content.
 * Never throws; any malformed value is simply false.
 */
export function verifyArtifact(a: unknown): boolean {
  try {
    if (a === null || typeof a !== 'object') return false;
    const art = a as Partial<ModelArtifact>;
    if (art.format !== ARTIFACT_FORMAT || typeof art.hash !== 'string' || !/^[0-9a-f]{64}$/.test(art.hash)) return false;
    return artifactHash(art as ModelArtifact) === art.hash;
  } catch {
    return false;
  }
}

/** Rebuilds the model of a verified artifact. Throws SLUICE_ERR_MODEL_INVALID when the artifact fails {@link verifyArtifact} or its model is malformed. */
export function loadModel(a: ModelArtifact): TrainedModel {
  if (!verifyArtifact(a)) throw invalid('artifact: format tag or hash does not match its content (tampered or not a sluice-model/1 artifact)');
  const m = modelFromJSON(a.kind, a.model, a.featureSchema.target.classes);
  return { ...m, recipe: { kind: a.recipe.kind, hyperparameters: { ...a.recipe.hyperparameters }, seed: a.recipe.seed } };
}

/**
 * Predicts raw rows with an artifact: encodes them with its feature schema
 * (unseen categories → all-zero one-hot) and returns each row's most probable
 * label and the class probabilities (in featureSchema.target.classes order).
 */
export function infer(a: ModelArtifact, rows: Record<string, unknown>[]): { label: string; proba: number[] }[] {
  const model = loadModel(a);
  const { n, X } = encodeFeatures(rows, a.featureSchema);
  const k = model.classes.length;
  const p = model.predictProba(X, n);
  const out: { label: string; proba: number[] }[] = [];
  for (let i = 0; i < n; i++) {
    const proba = Array.from(p.subarray(i * k, (i + 1) * k));
    let best = 0;
    for (let c = 1; c < k; c++) if (proba[c]! > proba[best]!) best = c;
    out.push({ label: model.classes[best]!, proba });
  }
  return out;
}

/**
 * Convenience: splits an encoded dataset (seeded, stratified), trains the
 * recipe on the training part, measures accuracy on both parts and seals the
 * artifact. Returns the artifact, the model and the split's row indices.
 */
export async function trainArtifact(input: {
  recipe: TrainRecipe;
  dataset: Dataset;
  featureSchema: EncodingSchema;
  testFraction: number;
  splitSeed: number;
  createdAt?: string;
  options?: TrainOptions;
}): Promise<{ artifact: ModelArtifact; model: TrainedModel; trainRows: Int32Array; testRows: Int32Array }> {
  const { recipe, dataset, featureSchema, testFraction, splitSeed } = input;
  const split = trainTestSplit(dataset, testFraction, splitSeed, true);
  const model = await train(recipe, split.train, input.options ?? {});
  const artifact = buildArtifact({
    model,
    featureSchema,
    training: { datasetHash: datasetHash(dataset), rows: dataset.n, testFraction, splitSeed, trainRowsHash: rowsHash(split.trainRows) },
    metrics: { trainAccuracy: accuracy(model, split.train), testAccuracy: accuracy(model, split.test) },
    ...(input.createdAt === undefined ? {} : { createdAt: input.createdAt }),
  });
  return { artifact, model, trainRows: split.trainRows, testRows: split.testRows };
}
