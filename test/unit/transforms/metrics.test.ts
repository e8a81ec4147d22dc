import { describe, expect, it } from 'vitest';
import {
  arxLoss,
  averageClassSize,
  classCount,
  discernibility,
  prosecutorRisk,
  riskAndMetrics,
  type ClassPartition,
} from '../../../transforms/metrics.js';

// Six records: a class of 3, a class of 2 and one suppressed record.
const P: ClassPartition = { n: 6, sizes: [3, 2], suppressed: 1 };

describe('ARX metrics on a hand-computed example', () => {
  it('discernibility = 3² + 2² + 1·6 = 19', () => {
    expect(discernibility(P)).toBe(19);
    expect(discernibility({ n: 6, sizes: [3, 2, 1], suppressed: 0 })).toBe(14);
  });

  it('classes count the suppressed records as one more class; average class size = 6 / 3', () => {
    expect(classCount(P)).toBe(3);
    expect(averageClassSize(P)).toBe(2);
    expect(averageClassSize({ n: 6, sizes: [3, 3], suppressed: 0 })).toBe(3);
  });

  it('Loss: one attribute, |D| = 4, released groups of 2 rows each and one suppressed record', () => {
    // S = 3·(2/4) + 2·(2/4) + 1 = 3.5; N/|D| = 1.5; L = (3.5 − 1.5) / (6 − 1.5) = 4/9
    expect(arxLoss(6, [{ domainSize: 4, shareNumerator: 3 * 2 + 2 * 2 + 4 }])).toBeCloseTo(4 / 9, 12);
    // a second attribute released raw adds L = 0: Loss = (1 + 4/9)^(1/2) · 1 − 1
    expect(arxLoss(6, [{ domainSize: 4, shareNumerator: 14 }, { domainSize: 3, shareNumerator: 6 }])).toBeCloseTo(Math.sqrt(13 / 9) - 1, 12);
  });

  it('Loss is 0 for the raw table and 1 when everything is *', () => {
    expect(arxLoss(6, [{ domainSize: 4, shareNumerator: 6 }])).toBe(0);
    expect(arxLoss(6, [{ domainSize: 4, shareNumerator: 24 }, { domainSize: 2, shareNumerator: 12 }])).toBeCloseTo(1, 12);
  });
});

describe('prosecutor risk', () => {
  it('max, average, above threshold and sample uniques (suppressed records are one class)', () => {
    const r = prosecutorRisk(P, 0.4);
    expect(r.max).toBe(1);
    expect(r.average).toBe(3 / 6);
    // risks 1/3, 1/2, 1: records of the classes of size 2 and 1 exceed 0.4
    expect(r.aboveThreshold).toBe(3 / 6);
    expect(r.sampleUniques).toBe(1);
    expect(r.sampleUniquesShare).toBe(1 / 6);
  });

  it('a 5-anonymous table has no record above 0.2 and no unique (negative control)', () => {
    const r = prosecutorRisk({ n: 15, sizes: [5, 10], suppressed: 0 });
    expect(r.max).toBe(0.2);
    expect(r.aboveThreshold).toBe(0);
    expect(r.sampleUniques).toBe(0);
  });

  it('a table with a unique record is caught (positive control)', () => {
    const r = prosecutorRisk({ n: 11, sizes: [10, 1], suppressed: 0 });
    expect(r.max).toBe(1);
    expect(r.sampleUniques).toBe(1);
    expect(r.aboveThreshold).toBeCloseTo(1 / 11, 12);
  });

  it('riskAndMetrics gathers everything', () => {
    const m = riskAndMetrics(P, 0.25);
    expect(m).toMatchObject({ records: 6, classes: 3, suppressed: 1, smallestClass: 1, averageClassSize: 2, discernibility: 19, loss: 0.25 });
  });
});
