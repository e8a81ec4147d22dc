import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  classPredicate,
  distinctLDiverse,
  entropyLDiverse,
  equalDistanceEmd,
  kAnonymous,
  monotoneWithSuppression,
  orderedDistanceEmd,
  recursiveCLDiverse,
  tClose,
} from '../../../transforms/privacy-models.js';

describe('privacy models on hand-computed classes', () => {
  it('k-anonymity', () => {
    expect(kAnonymous(5, 5)).toBe(true);
    expect(kAnonymous(4, 5)).toBe(false);
  });

  it('distinct ℓ-diversity counts distinct values', () => {
    expect(distinctLDiverse([2, 0, 1], 2)).toBe(true);
    expect(distinctLDiverse([2, 0, 1], 3)).toBe(false);
  });

  it('entropy ℓ-diversity: a uniform pair passes ℓ=2, a 3:1 split does not', () => {
    expect(entropyLDiverse([1, 1], 2)).toBe(true);
    // −(¾ ln ¾ + ¼ ln ¼) ≈ 0.562 < ln 2
    expect(entropyLDiverse([3, 1], 2)).toBe(false);
  });

  it('recursive (c,ℓ): counts 5,3,2', () => {
    expect(recursiveCLDiverse([5, 3, 2], 1, 2)).toBe(false); // 5 < 1·(3+2) fails
    expect(recursiveCLDiverse([2, 5, 3], 2, 2)).toBe(true); // 5 < 2·5
    expect(recursiveCLDiverse([5, 3, 2], 2, 3)).toBe(false); // 5 < 2·2 fails
    expect(recursiveCLDiverse([5, 0, 0], 9, 2)).toBe(false); // fewer than ℓ values
  });

  it('EMD: class [1,1,0] against global [1,1,2]', () => {
    expect(equalDistanceEmd([1, 1, 0], [1, 1, 2])).toBeCloseTo(0.5, 12);
    // cumulative differences .25 and .5, over m − 1 = 2
    expect(orderedDistanceEmd([1, 1, 0], [1, 1, 2])).toBeCloseTo(0.375, 12);
    expect(tClose([1, 1, 0], [1, 1, 2], 0.4, 'ordered')).toBe(true);
    expect(tClose([1, 1, 0], [1, 1, 2], 0.4, 'equal')).toBe(false);
    expect(tClose([2, 2, 4], [1, 1, 2], 0, 'equal')).toBe(true);
  });

  it('classPredicate reads the class at its offset and each sensitive attribute at its own offset', () => {
    // two classes × (2 values of attribute A + 3 of attribute B)
    const hist = [1, 1, 0, 1, 1, /* class 1 */ 2, 0, 1, 1, 0];
    const p = classPredicate({ k: 2, l: { variant: 'distinct', l: 2 } }, [[3, 1], [1, 2, 1]], [0, 2]);
    expect(p(2, hist, 0)).toBe(true);
    expect(p(2, hist, 5)).toBe(false); // attribute A has one value in class 1
    expect(p(1, hist, 0)).toBe(false); // k fails
  });

  it('reports which models are monotone with suppression', () => {
    expect(monotoneWithSuppression({ k: 5 })).toBe(true);
    expect(monotoneWithSuppression({ k: 5, l: { variant: 'distinct', l: 2 } })).toBe(true);
    expect(monotoneWithSuppression({ k: 5, l: { variant: 'entropy', l: 2 } })).toBe(false);
    expect(monotoneWithSuppression({ k: 5, t: { variant: 'equal', t: 0.2 } })).toBe(false);
  });
});

describe('monotonicity (the facts the optimal search relies on)', () => {
  const hist = fc.array(fc.integer({ min: 0, max: 6 }), { minLength: 4, maxLength: 4 });
  const add = (a: number[], b: number[]) => a.map((x, i) => x + b[i]!);
  const global = [5, 3, 7, 2];

  it('merging two passing classes passes, for every model (property, no suppression)', () => {
    fc.assert(
      fc.property(hist, hist, (a, b) => {
        const m = add(a, b);
        const checks: [(h: number[]) => boolean, string][] = [
          [(h) => distinctLDiverse(h, 2), 'distinct'],
          [(h) => entropyLDiverse(h, 2), 'entropy'],
          [(h) => recursiveCLDiverse(h, 2, 2), 'recursive'],
          [(h) => h.some((x) => x > 0) && tClose(h, global, 0.3, 'equal'), 'equal t'],
          [(h) => h.some((x) => x > 0) && tClose(h, global, 0.3, 'ordered'), 'ordered t'],
        ];
        for (const [ok] of checks) if (ok(a) && ok(b) && !ok(m)) return false;
        return true;
      }),
      { seed: 7, numRuns: 2000 },
    );
  });

  it('with suppression entropy ℓ is not monotone: a passing class merged with a failing one fails', () => {
    const passing = [1, 1, 0, 0];
    const failing = [0, 0, 9, 0];
    expect(entropyLDiverse(passing, 2)).toBe(true);
    expect(entropyLDiverse(failing, 2)).toBe(false);
    // before: 9 records to suppress; after merging: all 11
    expect(entropyLDiverse(add(passing, failing), 2)).toBe(false);
    // distinct ℓ has no such case: the merge has ≥ the distinct values of each part
    expect(distinctLDiverse(add(passing, failing), 2)).toBe(true);
  });
});
