import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  DEFAULT_THRESHOLDS,
  TIGHTER,
  flattenThresholds,
  resolveThresholds,
  thresholdOverridesSchema,
} from '../../../audit/thresholds.js';
import { SluiceError } from '../../../lib/errors.js';

function caught(fn: () => unknown): SluiceError {
  try {
    fn();
  } catch (e) {
    if (e instanceof SluiceError) return e;
    throw e;
  }
  throw new Error('expected a SluiceError');
}

describe('DEFAULT_THRESHOLDS', () => {
  it('carries the defaults of AUDIT.md', () => {
    const d = DEFAULT_THRESHOLDS;
    expect([d.A1.threshold, d.A2.base, d.A3.n, d.A3.k, d.A4.p, d.A8.minDof]).toEqual([10, 5, 2, 0.9, 0.1, 10]);
    expect([d.A5.status, d.A6.status, d.A7.status, d.A9.status]).toEqual(['review', 'fail', 'fail', 'review']);
    expect([d.A10.maxRows, d.A10.maxBytes, d.A10.allowedFileTypes]).toEqual([5000, 16 * 1024 * 1024, ['csv', 'parquet', 'json']]);
    expect([d.B3.failBelow, d.B3.reviewBelow, d.B4.failBelow, d.B4.reviewBelow, d.B5.maxShare]).toEqual([5, 10, 2, 3, 0.05]);
    expect([d.B6.failRisk, d.B6.failUpper, d.B6.reviewUpper, d.quasiIdentifiers.uniqueShare]).toEqual([0.1, 0.2, 0.05, 0.5]);
    expect([d.C4.aucFail, d.C4.tprFail, d.C5.epsilonFail, d.C6.ratioFail, d.C6.ratioReview]).toEqual([0.65, 0.05, 2, 1.5, 1.1]);
  });

  it('is frozen all the way down, and resolving never changes it', () => {
    expect(Object.isFrozen(DEFAULT_THRESHOLDS.A1)).toBe(true);
    const t = resolveThresholds({ A1: { threshold: 5 } }, { A10: { allowedFileTypes: ['csv'] } });
    t.A10.allowedFileTypes.push('xlsx');
    expect(DEFAULT_THRESHOLDS.A1.threshold).toBe(10);
    expect(DEFAULT_THRESHOLDS.A10.allowedFileTypes).toEqual(['csv', 'parquet', 'json']);
  });

  it('has a tightening direction for every field, and the schema accepts every default', () => {
    expect(Object.keys(flattenThresholds(DEFAULT_THRESHOLDS)).sort()).toEqual(Object.keys(TIGHTER).sort());
    expect(thresholdOverridesSchema.safeParse(structuredClone(DEFAULT_THRESHOLDS)).success).toBe(true);
  });
});

describe('resolveThresholds', () => {
  it('returns the defaults without overrides', () => {
    expect(resolveThresholds()).toEqual(DEFAULT_THRESHOLDS);
  });

  it('lets the agreement move a value either way', () => {
    expect(resolveThresholds({ A1: { threshold: 5 } }).A1.threshold).toBe(5);
    expect(resolveThresholds({ B5: { maxShare: 0.1 } }).B5.maxShare).toBe(0.1);
  });

  it('lets a spec tighten: raise A1, lower B5, narrow the file types, fail instead of review', () => {
    const t = resolveThresholds(undefined, {
      A1: { threshold: 20 },
      B5: { maxShare: 0.01 },
      A2: { base: 10 },
      A3: { k: 0.8 },
      A5: { status: 'fail' },
      A10: { allowedFileTypes: ['csv'] },
    });
    expect([t.A1.threshold, t.B5.maxShare, t.A2.base, t.A3.k, t.A5.status, t.A10.allowedFileTypes]).toEqual([20, 0.01, 10, 0.8, 'fail', ['csv']]);
  });

  it('refuses a spec that loosens, naming the field, the value in force and the value asked', () => {
    const e = caught(() => resolveThresholds(undefined, { A1: { threshold: 5 } }));
    expect(e.code).toBe('SLUICE_ERR_SPEC_SCOPE');
    expect(e.message).toContain('A1.threshold');
    expect(e.message).toContain('in force 10');
    expect(e.message).toContain('asked 5');
  });

  it('measures "tighter" against the agreement’s value, not the default', () => {
    expect(resolveThresholds({ A1: { threshold: 5 } }, { A1: { threshold: 7 } }).A1.threshold).toBe(7);
    const e = caught(() => resolveThresholds({ A1: { threshold: 20 } }, { A1: { threshold: 12 } }));
    expect(e.code).toBe('SLUICE_ERR_SPEC_SCOPE');
    expect(e.message).toContain('in force 20');
  });

  it.each([
    [{ B5: { maxShare: 0.1 } }, 'B5.maxShare'],
    [{ A3: { k: 0.95 } }, 'A3.k'],
    [{ A3: { n: 1 } }, 'A3.n'],
    [{ A2: { enabled: false } }, 'A2.enabled'],
    [{ A2: { base: 7 } }, 'A2.base'],
    [{ A6: { status: 'review' as const } }, 'A6.status'],
    [{ A10: { allowedFileTypes: ['csv', 'xlsx'] } }, 'A10.allowedFileTypes'],
    [{ A10: { maxRows: 10000 } }, 'A10.maxRows'],
    [{ C4: { fpr: 0.001 } }, 'C4.fpr'],
    [{ B6: { confidence: 0.9 } }, 'B6.confidence'],
  ])('refuses the loosening %j', (spec, field) => {
    const e = caught(() => resolveThresholds(undefined, spec));
    expect(e.code).toBe('SLUICE_ERR_SPEC_SCOPE');
    expect(e.message).toContain(field);
  });

  it('rejects unknown fields and wrong types with the path', () => {
    const e = caught(() => resolveThresholds(undefined, { A1: { treshold: 20 } }));
    expect(e.code).toBe('SLUICE_ERR_SPEC_INVALID');
    expect(e.message).toContain('spec.thresholds.A1');
    const f = caught(() => resolveThresholds({ A3: { k: 'high' } }));
    expect(f.code).toBe('SLUICE_ERR_SPEC_INVALID');
    expect(f.message).toContain('agreement.thresholds.A3.k');
  });

  it('rejects an inconsistent pair (fail bar above the review bar)', () => {
    const e = caught(() => resolveThresholds(undefined, { B3: { failBelow: 12 } }));
    expect(e.code).toBe('SLUICE_ERR_SPEC_INVALID');
    expect(e.message).toContain('B3.failBelow');
  });

  it('property: any raise of a "higher" count and any cut of a "lower" share is accepted; the reverse is refused', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 1000 }), fc.double({ min: 0.001, max: 0.049, noNaN: true }), (extra, share) => {
        const ok = resolveThresholds(undefined, { A8: { minDof: 10 + extra }, B5: { maxShare: share } });
        expect(ok.A8.minDof).toBe(10 + extra);
        expect(ok.B5.maxShare).toBe(share);
        expect(() => resolveThresholds(undefined, { B5: { maxShare: 0.05 + share } })).toThrow(SluiceError);
        if (extra > 0) expect(() => resolveThresholds({ A8: { minDof: 10 + extra } }, { A8: { minDof: 10 } })).toThrow(SluiceError);
      }),
      { seed: 20250201, numRuns: 100 },
    );
  });
});

describe('flattenThresholds', () => {
  it('flattens to dotted keys with lists joined', () => {
    const flat = flattenThresholds(resolveThresholds(undefined, { A1: { threshold: 11 } }));
    expect(flat['A1.threshold']).toBe(11);
    expect(flat['A10.allowedFileTypes']).toBe('csv,parquet,json');
    expect(flat['A2.enabled']).toBe(true);
    expect(flat['quasiIdentifiers.uniqueShare']).toBe(0.5);
  });
});
