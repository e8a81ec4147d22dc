import { ADULT_DIR, adultDataMissing } from '../lib/shared-data.js';
/**
 * The optimal full-domain k-anonymity search on Adult (30,162 rows, all 9
 * columns as quasi-identifiers, ARX's hierarchies; 12,960 level vectors),
 * data loaded and encoded outside the timed part. Targets from the issue:
 * k = 5 in ≤ 100 ms with 0% suppression and ≤ 1,500 ms with 5% (Loss metric).
 * The exhaustive search is the baseline (one run; it is slow). Repeated
 * searches reuse what is derived from the data alone (cached on the encoded
 * data object); a separate case times the first search on fresh data. Quick
 * mode: fewer iterations and no exhaustive baseline.
 */
import { readFileSync } from 'node:fs';
import { parseArxHierarchy } from '../transforms/hierarchy.js';
import { encodeData, exhaustiveKAnonymize, optimalKAnonymize, type KAnonymizeConfig } from '../transforms/k-anonymize-optimal.js';
import { timeMedian, type BenchCase, type BenchSuite } from './harness.js';

const DIR = ADULT_DIR;

function loadAdult() {
  const lines = readFileSync(`${DIR}adult.csv`, 'utf8').split(/\r?\n/).filter((l) => l.length > 0);
  const header = lines[0]!.split(';');
  const columns: Record<string, string[]> = Object.fromEntries(header.map((h) => [h, [] as string[]]));
  for (const line of lines.slice(1)) line.split(';').forEach((v, i) => columns[header[i]!]!.push(v));
  const quasiIdentifiers = header.map((c) => ({ column: c, hierarchy: parseArxHierarchy(readFileSync(`${DIR}adult_hierarchy_${c}.csv`, 'utf8')) }));
  return { n: lines.length - 1, data: encodeData(columns, { quasiIdentifiers }) };
}

/** The first search on freshly encoded data (encoding outside the timed part), median of a few runs. */
async function coldCase(n: number, config: KAnonymizeConfig, quick: boolean): Promise<BenchCase> {
  let fresh: ReturnType<typeof loadAdult>['data'] | undefined;
  const { medianMs: value } = await timeMedian(
    () => optimalKAnonymize(fresh!, config),
    {
      iterations: quick ? 2 : 5,
      warmup: 0,
      beforeEach: () => {
        fresh = loadAdult().data;
      },
    },
  );
  return {
    name: `optimal k-anonymity adult ${n} rows 9 QIs k=5 0% suppression loss, first search on fresh data (no cache)`,
    metric: 'median ms',
    value,
    target: '≤ 100 ms',
    meetsTarget: value <= 100,
    notes: 'includes grouping the distinct records, level tables, pair projections and the Loss order',
  };
}

const suite: BenchSuite = {
  name: 'kanon',
  async run({ quick }) {
    const noAdult = adultDataMissing();
    if (noAdult) {
      process.stderr.write(`kanon bench: skipped: ${noAdult}\n`);
      return [];
    }
    const { n, data } = loadAdult();
    const cases: BenchCase[] = [];
    const settings: { label: string; config: KAnonymizeConfig; targetMs: number }[] = [
      { label: '0% suppression', config: { k: 5, suppressionLimit: 0, metric: 'loss' }, targetMs: 100 },
      { label: '5% suppression', config: { k: 5, suppressionLimit: 0.05, metric: 'loss' }, targetMs: 1500 },
    ];
    for (const s of settings) {
      let checked = 0;
      const { medianMs } = await timeMedian(
        () => {
          checked = optimalKAnonymize(data, s.config).stats.checked;
        },
        { iterations: quick ? 3 : 9, warmup: quick ? 1 : 2 },
      );
      const c: BenchCase = {
        name: `optimal k-anonymity adult ${n} rows 9 QIs k=5 ${s.label} loss`,
        metric: 'median ms',
        value: medianMs,
        target: `≤ ${s.targetMs} ms`,
        meetsTarget: medianMs <= s.targetMs,
        notes: `${checked} of 12960 level vectors checked`,
      };
      if (!quick) {
        const t0 = performance.now();
        exhaustiveKAnonymize(data, s.config);
        const exMs = performance.now() - t0;
        c.baseline = { name: `exhaustive adult ${n} rows k=5 ${s.label} (1 run)`, value: exMs };
        c.ratio = medianMs / exMs;
      }
      cases.push(c);
    }
    // The search caches what it derives from the data alone (distinct records, level
    // tables, the Loss order) on the encoded data object; a first search pays for it.
    cases.push(await coldCase(n, settings[0]!.config, quick));
    return cases;
  },
};

export default suite;
