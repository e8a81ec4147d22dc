/**
 * The trained-model audit (AUDIT.md C1–C6) of a random forest on UCI Adult
 * (target salary-class, seeded stratified 80/20 split: 24,129 training and
 * 6,033 held-out rows, 93 encoded features; 100 trees, min_samples_leaf 10),
 * with race and marital-status declared sensitive. The baseline is training
 * the audited forest itself, in the same process. Target: the full suite in
 * under 60 s. Quick mode runs C4 with 3 repetitions instead of 10 (the report
 * records `repetitionsRun`), everything else as in a full run.
 */
import { adultDataset } from '../models/load-adult.js';
import { adultDataMissing } from '../lib/shared-data.js';
import { trainTestSplit } from '../models/dataset.js';
import { train, type TrainRecipe } from '../models/train.js';
import { accuracy, buildArtifact, datasetHash, rowsHash } from '../models/artifact.js';
import { closeForestPool } from '../models/random-forest.js';
import { auditModel } from '../audit/model-checks.js';
import { DEFAULT_THRESHOLDS } from '../audit/thresholds.js';
import { peakRssMiB, type BenchCase, type BenchSuite } from './harness.js';

const suite: BenchSuite = {
  name: 'model-audit',
  async run({ quick }) {
    const noAdult = adultDataMissing();
    if (noAdult) {
      process.stderr.write(`model-audit bench: skipped: ${noAdult}\n`);
      return [];
    }
    const { dataset, schema } = await adultDataset({ target: 'salary-class' });
    const split = trainTestSplit(dataset, 0.2, 1, true);
    const recipe: TrainRecipe = { kind: 'forest', hyperparameters: { n_estimators: 100, min_samples_leaf: 10 }, seed: 1 };
    const threads = 2;
    try {
      const t0 = performance.now();
      const model = await train(recipe, split.train, { threads });
      const trainMs = performance.now() - t0;
      const artifact = buildArtifact({
        model,
        featureSchema: schema,
        training: { datasetHash: datasetHash(dataset), rows: dataset.n, testFraction: 0.2, splitSeed: 1, trainRowsHash: rowsHash(split.trainRows) },
        metrics: { trainAccuracy: accuracy(model, split.train), testAccuracy: accuracy(model, split.test) },
      });
      const repetitions = quick ? 3 : DEFAULT_THRESHOLDS.C4.repetitions;
      // One measured run: the audit takes seconds and is deterministic for its seed.
      const t1 = performance.now();
      const checks = await auditModel(
        { artifact, model, train: split.train, test: split.test, sensitive: ['race', 'marital-status'], recipe, seed: 7 },
        DEFAULT_THRESHOLDS,
        { repetitions, threads },
      );
      const auditMs = performance.now() - t1;
      const statuses = checks.map((c) => `${c.id}=${c.status}`).join(' ');
      const name = `model audit C1–C6 adult forest 100 trees ${split.train.n}+${split.test.n} rows, C4 ${repetitions} repetitions`;
      const cases: BenchCase[] = [
        {
          name,
          metric: 'ms',
          value: auditMs,
          baseline: { name: 'train the audited forest (100 trees, 2 threads)', value: trainMs },
          ratio: auditMs / trainMs,
          target: '< 60000 ms',
          meetsTarget: auditMs < 60_000,
          notes: `${quick ? 'quick mode: 3 C4 repetitions instead of 10; ' : ''}single run; statuses ${statuses}; C5 retrains 2 reference forests`,
        },
        { name: 'model audit peak RSS', metric: 'MiB', value: peakRssMiB() },
      ];
      return cases;
    } finally {
      await closeForestPool();
    }
  },
};

export default suite;
