import { describe, expect, it } from 'vitest';
import {
  aucNullSigma,
  binomialCdf,
  binomialPmf,
  binomialSf,
  clopperPearson,
  erfc,
  inverseRegularizedBeta,
  logGamma,
  normalCdf,
  normalQuantile,
  normalSf,
  regularizedBeta,
  wilson,
} from '../../../lib/stats.js';

/** Relative closeness: |a − b| ≤ tol · max(|b|, tiny). */
function rel(a: number, b: number, tol: number): void {
  expect(Math.abs(a - b)).toBeLessThanOrEqual(tol * Math.max(Math.abs(b), 1e-300));
}

/** Binomial tail by direct summation of a pmf computed by recurrence: independent of the beta code. */
function directSf(k: number, n: number, p: number): number {
  let pmf = (1 - p) ** n;
  let sf = 0;
  for (let i = 0; i <= n; i++) {
    if (i >= k) sf += pmf;
    pmf *= ((n - i) / (i + 1)) * (p / (1 - p));
  }
  return sf;
}

describe('wilson', () => {
  it('matches the AUDIT vectors at n = 1000, 95% (centre ± half-width to 3 decimals)', () => {
    const r3 = (x: number): number => Math.round(x * 1000) / 1000;
    const a = wilson(850, 1000);
    expect([r3(a.centre), r3(a.halfWidth)]).toEqual([0.849, 0.022]);
    const b = wilson(0, 1000);
    expect([r3(b.centre), r3(b.halfWidth)]).toEqual([0.002, 0.002]);
    const c = wilson(1000, 1000);
    expect([r3(c.centre), r3(c.halfWidth)]).toEqual([0.998, 0.002]);
  });

  it('has low/high = centre ∓ half-width, inside [0, 1], and widens with confidence', () => {
    const w = wilson(7, 40, 0.95);
    expect(w.high - w.low).toBeCloseTo(2 * w.halfWidth, 12);
    const w99 = wilson(7, 40, 0.99);
    expect(w99.halfWidth).toBeGreaterThan(w.halfWidth);
    expect(wilson(0, 5).low).toBe(0);
    expect(wilson(5, 5).high).toBe(1);
  });

  it('refuses impossible counts', () => {
    expect(() => wilson(11, 10)).toThrow(/successes/);
    expect(() => wilson(1, 0)).toThrow(/n ≥ 1/);
  });
});

describe('normal distribution', () => {
  it('quantile matches reference values (SciPy 1.17 norm.ppf)', () => {
    rel(normalQuantile(0.975), 1.959963984540054, 1e-14);
    rel(normalQuantile(0.995), 2.5758293035489004, 1e-14);
    rel(normalQuantile(1e-10), -6.361340902404056, 1e-13);
    rel(normalQuantile(0.3), -0.5244005127080409, 1e-14);
    expect(normalQuantile(0.5)).toBe(0);
    expect(normalQuantile(0)).toBe(-Infinity);
  });

  it('CDF and upper tail match reference values, far into the tail', () => {
    rel(normalCdf(-10), 7.61985302416047e-24, 1e-12);
    rel(normalCdf(-3), 0.0013498980316300933, 1e-13);
    rel(normalCdf(0.5), 0.6914624612740131, 1e-14);
    rel(normalSf(8), 6.22096057427174e-16, 1e-12);
    rel(normalSf(20), 2.7536241186061556e-89, 1e-11);
  });

  it('quantile inverts the CDF across the range', () => {
    for (const p of [1e-12, 1e-6, 0.01, 0.2, 0.5, 0.8, 0.99, 1 - 1e-9]) rel(normalCdf(normalQuantile(p)), p, 1e-9);
  });

  it('erfc is 2 − erfc(−x) and erfc(0) = 1', () => {
    expect(erfc(0)).toBe(1);
    rel(erfc(-1.3) + erfc(1.3), 2, 1e-15);
  });
});

describe('gamma and beta', () => {
  it('logGamma matches factorials and Γ(1/2) = √π', () => {
    rel(logGamma(0.5), 0.5 * Math.log(Math.PI), 1e-14);
    rel(logGamma(11), Math.log(3628800), 1e-14);
    rel(logGamma(1e6), 12815504.569147611, 1e-14);
  });

  it('regularizedBeta matches closed forms and reference values', () => {
    // I_x(1, b) = 1 − (1 − x)^b and I_x(a, 1) = x^a.
    rel(regularizedBeta(0.3, 1, 7), 1 - 0.7 ** 7, 1e-13);
    rel(regularizedBeta(0.6, 4, 1), 0.6 ** 4, 1e-13);
    rel(regularizedBeta(0.3, 2, 5), 0.5798250000000003, 1e-12);
    rel(regularizedBeta(0.001, 0.5, 0.5), 0.020135041633377492, 1e-12);
    rel(regularizedBeta(0.6, 850, 151), 9.968109436174203e-67, 1e-9);
  });

  it('inverseRegularizedBeta inverts I_x(a, b), including far tails', () => {
    for (const [p, a, b] of [
      [0.025, 5, 3],
      [0.975, 851, 150],
      [1e-12, 3, 7],
      [0.5, 0.5, 0.5],
      [0.999999, 2, 200],
    ] as const) {
      const x = inverseRegularizedBeta(p, a, b);
      rel(regularizedBeta(x, a, b), p, 1e-10);
    }
    rel(inverseRegularizedBeta(1e-12, 3, 7), 2.283433912144988e-5, 1e-10);
  });
});

describe('clopperPearson', () => {
  it('matches the closed forms at k = 0 and k = n', () => {
    const z = clopperPearson(0, 10, 0.05);
    expect(z.low).toBe(0);
    rel(z.high, 1 - 0.025 ** (1 / 10), 1e-12);
    const f = clopperPearson(20, 20, 0.05);
    expect(f.high).toBe(1);
    rel(f.low, 0.025 ** (1 / 20), 1e-12);
  });

  it('matches reference values (SciPy 1.17 betaincinv)', () => {
    const a = clopperPearson(850, 1000);
    rel(a.low, 0.826341871432964, 1e-11);
    rel(a.high, 0.8715751888838272, 1e-11);
    const b = clopperPearson(5, 7);
    rel(b.low, 0.2904208637373427, 1e-11);
    rel(b.high, 0.9633074338239145, 1e-11);
    const c = clopperPearson(3, 1_000_000);
    rel(c.low, 6.186725501906401e-7, 1e-9);
    rel(c.high, 8.767247788067677e-6, 1e-9);
  });

  it('bounds solve the binomial tail equations (checked by direct summation)', () => {
    for (const [k, n] of [
      [1, 30],
      [12, 50],
      [49, 60],
    ] as const) {
      const { low, high } = clopperPearson(k, n, 0.1);
      rel(directSf(k, n, low), 0.05, 1e-9);
      rel(1 - directSf(k + 1, n, high), 0.05, 1e-9);
    }
  });

  it('is wider than Wilson for the same counts (it is conservative)', () => {
    const cp = clopperPearson(30, 200);
    const w = wilson(30, 200);
    expect(cp.high - cp.low).toBeGreaterThan(w.high - w.low);
  });
});

describe('binomial tails', () => {
  it('match direct summation', () => {
    rel(binomialSf(10, 20, 0.3), directSf(10, 20, 0.3), 1e-12);
    rel(binomialCdf(3, 20, 0.3), 1 - directSf(4, 20, 0.3), 1e-12);
    rel(binomialSf(10, 20, 0.3), 0.04796189733134342, 1e-12);
    rel(binomialPmf(4, 10, 0.25), 210 * 0.25 ** 4 * 0.75 ** 6, 1e-12);
  });

  it('handle the edges', () => {
    expect(binomialSf(0, 10, 0.3)).toBe(1);
    expect(binomialSf(11, 10, 0.3)).toBe(0);
    expect(binomialCdf(10, 10, 0.3)).toBe(1);
    expect(binomialCdf(-1, 10, 0.3)).toBe(0);
  });
});

describe('aucNullSigma', () => {
  it('gives σ0 = 0.03732 for 199 members and 86 non-members, a 3σ range of 0.388–0.612', () => {
    const s = aucNullSigma(199, 86);
    expect(Math.round(s * 1e5) / 1e5).toBe(0.03732);
    expect(Math.round((0.5 - 3 * s) * 1000) / 1000).toBe(0.388);
    expect(Math.round((0.5 + 3 * s) * 1000) / 1000).toBe(0.612);
  });
});
