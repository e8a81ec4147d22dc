/**
 * Acceptance of the trained-model audit (AUDIT.md C1–C6) on generated
 * Adult-like data (synthetic/adult-like.ts: Adult's columns, domains and size,
 * a learnable salary class), target salary-class, with a seeded stratified
 * 80/20 train/test split. Forests use 40
 * trees here (100 in bench/model-audit.bench.ts) to keep the suite short.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adultLikeDataset } from '../../../models/load-adult.js';
import { SeededRandom, subset, trainTestSplit, type Dataset } from '../../../models/dataset.js';
import { train, type TrainRecipe, type TrainedModel } from '../../../models/train.js';
import { accuracy, artifactHash, buildArtifact, datasetHash, rowsHash, type ModelArtifact } from '../../../models/artifact.js';
import type { EncodingSchema } from '../../../models/encode.js';
import { closeForestPool } from '../../../models/random-forest.js';
import { ruleBasedAttack } from '../../../models/attacks/rule-based.js';
import { scanSerialized } from '../../../models/structure.js';
import { auditModel, type ModelAuditInput } from '../../../audit/model-checks.js';
import { DEFAULT_THRESHOLDS } from '../../../audit/thresholds.js';
import { buildReport } from '../../../audit/report.js';
import { renderReportHtml } from '../../../audit/report-html.js';
import type { CheckResult } from '../../../audit/types.js';

let dataset: Dataset;
let schema: EncodingSchema;
let rawRows: Record<string, string | number>[];
let split: { train: Dataset; test: Dataset; trainRows: Int32Array };
let small: { train: Dataset; test: Dataset; trainRows: Int32Array };

function seal(model: TrainedModel, tr: Dataset, te: Dataset, rows: Int32Array): ModelArtifact {
  return buildArtifact({
    model,
    featureSchema: schema,
    training: { datasetHash: datasetHash(dataset), rows: dataset.n, testFraction: 0.2, splitSeed: 1, trainRowsHash: rowsHash(rows) },
    metrics: { trainAccuracy: accuracy(model, tr), testAccuracy: accuracy(model, te) },
  });
}

async function trainAndAudit(
  recipe: TrainRecipe,
  data = split,
  extra: Partial<ModelAuditInput> = {},
): Promise<{ checks: CheckResult[]; model: TrainedModel; artifact: ModelArtifact }> {
  const model = await train(recipe, data.train, { threads: 2 });
  const artifact = seal(model, data.train, data.test, data.trainRows);
  const checks = await auditModel({ artifact, model, train: data.train, test: data.test, recipe, seed: 7, ...extra }, DEFAULT_THRESHOLDS, { threads: 2 });
  return { checks, model, artifact };
}

const byId = (checks: CheckResult[], id: string): CheckResult => checks.find((c) => c.id === id)!;
const statuses = (checks: CheckResult[]): Record<string, string> => Object.fromEntries(checks.map((c) => [c.id, c.status]));

beforeAll(async () => {
  const a = adultLikeDataset({ target: 'salary-class' });
  dataset = a.dataset;
  schema = a.schema;
  rawRows = a.rows;
  split = trainTestSplit(dataset, 0.2, 1, true);
  // kNN answers by scanning its stored rows, so its acceptance runs on a seeded 5,000-row sample.
  const r = new SeededRandom(5);
  const pick = Array.from({ length: dataset.n }, (_, i) => i);
  for (let i = 0; i < 5000; i++) {
    const j = i + r.int(pick.length - i);
    [pick[i], pick[j]] = [pick[j]!, pick[i]!];
  }
  small = trainTestSplit(subset(dataset, pick.slice(0, 5000).sort((x, y) => x - y)), 0.2, 1, true);
});

afterAll(async () => {
  await closeForestPool();
});

describe('model audit on Adult-like data (salary-class)', () => {
  it('fails a 1-NN model on C1 (instance-based, every training row stored)', async () => {
    const { checks } = await trainAndAudit({ kind: 'knn', hyperparameters: { n_neighbors: 1 }, seed: 1 }, small);
    const c1 = byId(checks, 'C1');
    expect(c1.status).toBe('fail');
    expect(c1.metrics['instanceBased']).toBe(true);
    expect(c1.metrics['trainingRowsFound']).toBe(small.train.n);
    expect(byId(checks, 'C3').status).toBe('fail');
  });

  it('fails a decision tree grown to single-record leaves on C3', async () => {
    const { checks } = await trainAndAudit({ kind: 'tree', hyperparameters: {}, seed: 1 });
    const c3 = byId(checks, 'C3');
    expect(c3.status).toBe('fail');
    expect(c3.metrics['smallestLeaf']).toBe(1);
    expect(c3.metrics['leavesBelowFail'] as number).toBeGreaterThan(0);
    expect(byId(checks, 'C2').status).toBe('review');
    expect(c3.series?.['leafSizeHistogram']?.[0]).toEqual([1, expect.any(Number)]);
  });

  it('passes (or sends to review) a forest with min leaf 10 and a regularized logistic regression: no check fails', async () => {
    for (const recipe of [
      { kind: 'forest' as const, hyperparameters: { min_samples_leaf: 10, n_estimators: 40 }, seed: 1 },
      { kind: 'logistic' as const, hyperparameters: { C: 0.1 }, seed: 1 },
    ]) {
      const { checks } = await trainAndAudit(recipe, split, { sensitive: ['race', 'marital-status'] });
      expect(checks.map((c) => c.id)).toEqual(['C1', 'C2', 'C3', 'C4', 'C5', 'C6']);
      for (const c of checks) expect(c.status, `${recipe.kind} ${c.id}: ${c.summary}`).not.toBe('fail');
      const c4 = byId(checks, 'C4');
      expect(c4.metrics['repetitions']).toBe(10);
      expect(c4.metrics['meanAuc'] as number).toBeLessThan(0.65);
      expect(byId(checks, 'C6').metrics['ran']).toBe(true);
    }
  });

  /** Trains a forest (min leaf 5) with 20 rare canaries inserted `copies` times each and audits it, aiming C4/C5 at them too. */
  const canaryAudit = async (copies: number) => {
    const r = new SeededRandom(99);
    const d = dataset.d;
    const groups = new Map<string, number[]>();
    dataset.features.forEach((f, j) => f.kind === 'one-hot' && groups.set(f.source, [...(groups.get(f.source) ?? []), j]));
    const X = new Float64Array(40 * d);
    for (let i = 0; i < 40; i++) {
      dataset.features.forEach((f, j) => f.kind === 'numeric' && (X[i * d + j] = -1.5 + 4 * r.next()));
      for (const cols of groups.values()) X[i * d + cols[r.int(cols.length)]!] = 1;
    }
    const canaries: Dataset = { ...dataset, n: 40, X, y: new Int32Array(40).fill(dataset.classes.indexOf('>50K')) };
    const members = subset(canaries, Array.from({ length: 20 }, (_, i) => i));
    const twins = subset(canaries, Array.from({ length: 20 }, (_, i) => 20 + i));
    const withCanaries = subset(
      { ...dataset, n: split.train.n + 40, X: Float64Array.from([...split.train.X, ...X]), y: Int32Array.from([...split.train.y, ...canaries.y]) },
      [...Array.from({ length: split.train.n }, (_, i) => i), ...Array.from({ length: 20 * copies }, (_, i) => split.train.n + (i % 20))],
    );
    const data = { train: withCanaries, test: split.test, trainRows: split.trainRows };
    const recipe = { kind: 'forest' as const, hyperparameters: { min_samples_leaf: 5, n_estimators: 40 }, seed: 3 };
    return trainAndAudit(recipe, data, { canaries: { members, nonMembers: twins } });
  };

  it('catches 20 rare canaries, each inserted 5 times with a distinctive label, by aiming C4/C5 at them', async () => {
    // 40 synthetic records with each categorical value drawn uniformly (so mostly rare combinations), age spread
    // over the range, label >50K; the first 20 go into training 5 times each, the other 20 are held-out twins.
    const { checks } = await canaryAudit(5);
    const c4 = byId(checks, 'C4');
    const c5 = byId(checks, 'C5');
    expect(c4.status).toBe('fail');
    expect(c5.status).toBe('fail');
    expect(c5.metrics['canaries.auc'] as number).toBeGreaterThan(0.65);
    expect(c5.metrics['auc'] as number).toBeLessThan(0.65);
    expect(c4.metrics['worstAttack']).toMatch(/canaries/);
    // The hyperparameter and structure rules see nothing wrong: each canary's leaf holds its 5 copies.
    expect(byId(checks, 'C1').status).toBe('pass');
    expect(byId(checks, 'C2').status).toBe('pass');
    expect(byId(checks, 'C3').status).not.toBe('fail');
    // Aimed at all 24,000 members the same attacks stay under the bars: the canaries are too few to move them.
    expect(c4.metrics['lossThreshold.meanAuc'] as number).toBeLessThan(0.65);
    expect(c4.metrics['learned.medianTprAt1pctFpr'] as number).toBeLessThan(0.05);
    // Aimed at the canaries, the loss attack clears the fail bar by far: past halfway from the bar to a perfect attack.
    expect(c4.metrics['lossThresholdCanaries.meanAuc'] as number).toBeGreaterThan((1 + DEFAULT_THRESHOLDS.C4.aucFail) / 2);
  });

  it('catches the same 20 canaries merely duplicated (2 copies each) by C4 or C5', async () => {
    const { checks } = await canaryAudit(2);
    expect([byId(checks, 'C4').status, byId(checks, 'C5').status]).toContain('fail');
  });

  it('holds the Yeom identity on every trainer: rule-based advantage = train accuracy − test accuracy, exactly', async () => {
    for (const [recipe, data] of [
      [{ kind: 'logistic', hyperparameters: {}, seed: 1 }, split],
      [{ kind: 'tree', hyperparameters: { min_samples_leaf: 3 }, seed: 1 }, split],
      [{ kind: 'forest', hyperparameters: { n_estimators: 10 }, seed: 1 }, split],
      [{ kind: 'knn', hyperparameters: { n_neighbors: 3 }, seed: 1 }, small],
    ] as Array<[TrainRecipe, typeof split]>) {
      const model = await train(recipe, data.train, { threads: 2 });
      const r = ruleBasedAttack(model, data.train, data.test);
      expect(r.advantage, recipe.kind).toBe(accuracy(model, data.train) - accuracy(model, data.test));
      expect(r.tpr - r.fpr, recipe.kind).toBe(r.advantage);
    }
  });
});

describe('C6 attribute inference on Adult-like data', () => {
  it('fails a model that answers its training rows from a lookup table, and passes the plain model (controls)', async () => {
    const recipe: TrainRecipe = { kind: 'logistic', hyperparameters: { C: 0.1 }, seed: 1 };
    const plain = await train(recipe, split.train);
    const artifact = seal(plain, split.train, split.test, split.trainRows);
    const d = dataset.d;
    // The same logistic regression, except that a row seen in training gets its training label with probability 0.99.
    const memo = (data: Dataset, inner: TrainedModel): TrainedModel => {
      const seen = new Map<string, number>();
      for (let i = 0; i < data.n; i++) seen.set(data.X.subarray(i * d, (i + 1) * d).join(','), data.y[i]!);
      const predictProba = (X: Float64Array, n: number): Float64Array => {
        const p = inner.predictProba(X, n);
        for (let i = 0; i < n; i++) {
          const hit = seen.get(X.subarray(i * d, (i + 1) * d).join(','));
          if (hit !== undefined) for (let c = 0; c < 2; c++) p[2 * i + c] = c === hit ? 0.99 : 0.01;
        }
        return p;
      };
      const predict = (X: Float64Array, n: number): Int32Array => {
        const p = predictProba(X, n);
        return Int32Array.from({ length: n }, (_, i) => (p[2 * i + 1]! > p[2 * i]! ? 1 : 0));
      };
      return { ...inner, predictProba, predict };
    };
    const run = (model: TrainedModel, memorize: boolean): Promise<CheckResult[]> =>
      auditModel(
        { artifact, model, train: split.train, test: split.test, recipe, seed: 7, sensitive: ['race', 'marital-status'] },
        DEFAULT_THRESHOLDS,
        { repetitions: 2, trainReference: async (data, seed) => (memorize ? memo(data, await train({ ...recipe, seed }, data)) : train({ ...recipe, seed }, data)) },
      );
    const leaky = byId(await run(memo(split.train, plain), true), 'C6');
    expect(leaky.status).toBe('fail');
    expect(leaky.columns).toEqual(['race', 'marital-status']);
    const safe = byId(await run(plain, false), 'C6');
    expect(safe.status).toBe('pass');
    expect(safe.metrics['marital-status.ratio'] as number).toBeLessThan(1.1);
  });
});

describe('C2 and C1 on altered artifacts', () => {
  let model: TrainedModel;
  let artifact: ModelArtifact;
  const recipe: TrainRecipe = { kind: 'tree', hyperparameters: { min_samples_leaf: 10 }, seed: 1 };
  const c12 = async (art: unknown, declared: TrainRecipe = recipe): Promise<CheckResult[]> =>
    (await auditModel({ artifact: art, model, train: split.train, test: split.test, recipe: declared, seed: 7 }, DEFAULT_THRESHOLDS, { repetitions: 2 })).slice(0, 3);

  beforeAll(async () => {
    model = await train(recipe, split.train);
    artifact = seal(model, split.train, split.test, split.trainRows);
  });

  it('passes C1–C3 for the untouched tree with min leaf 10 (negative control)', async () => {
    expect(statuses(await c12(artifact))).toEqual({ C1: 'pass', C2: 'pass', C3: 'pass' });
  });

  it('fails C2 when the artifact is edited without resealing, or the declared recipe differs', async () => {
    const edited = structuredClone(artifact);
    (edited.recipe.hyperparameters as Record<string, unknown>)['min_samples_leaf'] = 20;
    const c2 = (await c12(edited))[1]!;
    expect(c2.status).toBe('fail');
    expect(c2.metrics['hashVerified']).toBe(false);
    const other = (await c12(artifact, { ...recipe, hyperparameters: { min_samples_leaf: 25 } }))[1]!;
    expect(other.status).toBe('fail');
    expect(other.metrics['recipeMatches']).toBe(false);
  });

  it('fails C2 when a resealed artifact claims min_samples_leaf 20 but its leaves hold fewer rows', async () => {
    const forged = structuredClone(artifact) as ModelArtifact & { model: { params: Record<string, unknown> } };
    (forged.recipe.hyperparameters as Record<string, unknown>)['min_samples_leaf'] = 20;
    forged.model.params['min_samples_leaf'] = 20;
    forged.hash = artifactHash(forged);
    const c2 = (await c12(forged, { ...recipe, hyperparameters: { min_samples_leaf: 20 } }))[1]!;
    expect(c2.metrics['hashVerified']).toBe(true);
    expect(c2.status).toBe('fail');
    expect(c2.summary).toMatch(/fewer than the recorded min_samples_leaf 20/);
  });

  it('sends a forest without bootstrap to review', async () => {
    const fr: TrainRecipe = { kind: 'forest', hyperparameters: { n_estimators: 5, min_samples_leaf: 10, bootstrap: false }, seed: 1 };
    const fm = await train(fr, split.train, { threads: 2 });
    const fa = seal(fm, split.train, split.test, split.trainRows);
    const checks = await auditModel({ artifact: fa, model: fm, train: split.train, test: split.test, recipe: fr, seed: 7 }, DEFAULT_THRESHOLDS, { repetitions: 2 });
    expect(byId(checks, 'C2').status).toBe('review');
    expect(byId(checks, 'C2').summary).toMatch(/without bootstrap/);
  });

  it('fails C1 when an identifier value or a training row is sealed into the artifact', async () => {
    const withId = structuredClone(artifact) as ModelArtifact & { notes?: string };
    withId.notes = 'contact 13912345678';
    withId.hash = artifactHash(withId);
    const c1 = (await c12(withId))[0]!;
    expect(c1.status).toBe('fail');
    expect(c1.metrics['mobilesFound']).toBe(1);
    const withRow = structuredClone(artifact) as ModelArtifact & { cache?: number[] };
    withRow.cache = Array.from(split.train.X.subarray(5 * dataset.d, 6 * dataset.d));
    withRow.hash = artifactHash(withRow);
    const c1b = (await c12(withRow))[0]!;
    expect(c1b.status).toBe('fail');
    expect(c1b.metrics['trainingRowsFound'] as number).toBeGreaterThanOrEqual(1);
  });
});

describe('model audit report', () => {
  it('draws ROC curves and score histograms, and carries no data value', async () => {
    const recipe: TrainRecipe = { kind: 'tree', hyperparameters: { min_samples_leaf: 2 }, seed: 1 };
    const { checks, artifact } = await trainAndAudit(recipe, split, { sensitive: ['marital-status'] });
    const c4 = byId(checks, 'C4');
    expect(c4.series?.['roc']?.length).toBeGreaterThan(2);
    expect(c4.series?.['roc']?.length).toBeLessThanOrEqual(200);
    expect(c4.series?.['scoreHistogramMembers']?.length).toBe(20);
    expect(byId(checks, 'C5').series?.['roc']?.length).toBeLessThanOrEqual(200);
    const report = buildReport({ subject: { kind: 'model', artifactHash: artifact.hash, inputs: [] }, thresholds: DEFAULT_THRESHOLDS, checks, createdAt: '2026-01-01T00:00:00Z' });
    const html = renderReportHtml(report);
    expect(html).toMatch(/C4 membership inference: ROC curve/);
    expect(html).toMatch(/C4 membership inference: attack scores/);
    expect(html).toMatch(/C3 structure: leaf size histogram/);
    const text = JSON.stringify(report);
    expect(scanSerialized(JSON.parse(text), split.train).trainingRowsFound).toBe(0);
    const categories = new Set<string>();
    for (const row of rawRows.slice(0, 2000)) for (const [k, v] of Object.entries(row)) if (k !== 'age' && typeof v === 'string' && v.length > 3) categories.add(v);
    for (const v of categories) expect(text.includes(`"${v}"`) || text.includes(` ${v} `), v).toBe(false);
  });
});
