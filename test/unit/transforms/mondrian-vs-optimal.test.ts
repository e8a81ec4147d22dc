import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { closeMondrianPool, mondrian, recodeMondrian } from '../../../transforms/mondrian.js';
import type { MondrianInput } from '../../../transforms/mondrian.js';
import { leafOrder, parseArxHierarchy } from '../../../transforms/hierarchy.js';
import type { Hierarchy } from '../../../transforms/hierarchy.js';
import { encodeData, optimalKAnonymize } from '../../../transforms/k-anonymize-optimal.js';
import type { AnonymizationData } from '../../../transforms/k-anonymize-optimal.js';
import { discernibility } from '../../../transforms/metrics.js';
import { ADULT_LIKE_DEFAULT_ROWS, adultLikeHierarchyCsv, generateAdultLike } from '../../../synthetic/adult-like.js';

interface Adult {
  n: number;
  optimalData: AnonymizationData;
  mondrianInput: MondrianInput;
  labels: string[][];
}

/** Generated Adult-like data with all 9 quasi-identifiers; Mondrian codes follow each hierarchy's leaf order (age numerically). */
function loadAdultLike(): Adult {
  const t = generateAdultLike();
  const columns: Record<string, string[]> = t.columns;
  const qis: { column: string; hierarchy: Hierarchy }[] = t.header.map((column) => ({
    column,
    hierarchy: parseArxHierarchy(adultLikeHierarchyCsv(column)),
  }));
  const labels = qis.map((q) => leafOrder(q.hierarchy));
  const mondrianInput: MondrianInput = {
    n: t.n,
    columns: qis.map((q, c) => {
      const index = new Map(labels[c]!.map((v, i) => [v, i]));
      return { name: q.column, codes: Int32Array.from(columns[q.column]!, (v) => index.get(v)!), cardinality: labels[c]!.length };
    }),
  };
  return { n: t.n, optimalData: encodeData(columns, { quasiIdentifiers: qis }), mondrianInput, labels };
}

let adult: Adult;
beforeAll(() => {
  adult = loadAdultLike();
});
afterAll(async () => {
  await closeMondrianPool();
});

describe('Mondrian vs the optimal full-domain generalization on Adult-like data (9 QIs, 0% suppression)', () => {
  it('reads the whole data set with every value in its hierarchy', () => {
    expect(adult.n).toBe(ADULT_LIKE_DEFAULT_ROWS);
    expect(adult.mondrianInput.columns).toHaveLength(9);
    for (const col of adult.mondrianInput.columns) expect(col.codes.every((v) => v >= 0 && v < col.cardinality)).toBe(true);
  });

  for (const k of [5, 10, 50]) {
    it(`k = ${k}: Mondrian (strict and relaxed) has a lower discernibility than the optimum, and its released rows are k-anonymous`, async () => {
      const { n } = adult;
      const optimal = optimalKAnonymize(adult.optimalData, { k, suppressionLimit: 0, metric: 'discernibility' });
      expect(optimal.suppressed).toBe(0);
      expect(Math.min(...optimal.classes.sizes)).toBeGreaterThanOrEqual(k);

      // Positive control: lumping every row into one class is k-anonymous but must lose this comparison.
      expect(discernibility({ n, sizes: [n], suppressed: 0 })).toBeGreaterThan(optimal.discernibility);

      for (const relaxed of [false, true]) {
        const r = await mondrian(adult.mondrianInput, { k, relaxed, threads: 2 });
        const sizes = r.classes.map((c) => c.size);
        expect(Math.min(...sizes)).toBeGreaterThanOrEqual(k);
        expect(sizes.reduce((a, b) => a + b, 0)).toBe(n);
        const dm = discernibility({ n, sizes, suppressed: 0 });
        expect(dm).toBeLessThan(optimal.discernibility);

        // What is released is the recoded table: every distinct generalized row must occur ≥ k times.
        const recoded = recodeMondrian(r, adult.labels);
        const counts = new Map<string, number>();
        for (let i = 0; i < n; i++) {
          const key = recoded.map((col) => col[i]).join('\u0000');
          counts.set(key, (counts.get(key) ?? 0) + 1);
        }
        expect(Math.min(...counts.values())).toBeGreaterThanOrEqual(k);
      }
    });
  }
});
