import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { SeededRandom } from '../../../models/dataset.js';
import {
  aucNullSd,
  aucPValue,
  curveArea,
  downsampleCurve,
  evaluateAttack,
  maxAdvantage,
  rocAuc,
  rocCurve,
  tprAtFpr,
} from '../../../models/roc.js';

/** Mann–Whitney U / (n⁺ n⁻) by comparing every member with every non-member (ties ½): independent of the sort. */
function pairwiseAuc(scores: number[], labels: number[]): number {
  let u = 0;
  let np = 0;
  let nn = 0;
  for (let i = 0; i < scores.length; i++) {
    if (!labels[i]) continue;
    np++;
    for (let j = 0; j < scores.length; j++) {
      if (labels[j]) continue;
      u += scores[i]! > scores[j]! ? 1 : scores[i] === scores[j] ? 0.5 : 0;
    }
  }
  for (const l of labels) if (!l) nn++;
  return u / (np * nn);
}

describe('AUC null distribution (AUDIT.md C)', () => {
  it('gives σ0 = 0.03732 and the 3σ range 0.388–0.612 for 199 members and 86 non-members', () => {
    const s = aucNullSd(199, 86);
    expect(s.toFixed(5)).toBe('0.03732');
    expect((0.5 - 3 * s).toFixed(3)).toBe('0.388');
    expect((0.5 + 3 * s).toFixed(3)).toBe('0.612');
  });

  it('gives the one-sided p-value 0.032046 for AUC 0.56909548 at 199/86', () => {
    expect(aucPValue(0.56909548, 199, 86).toFixed(6)).toBe('0.032046');
    expect(aucPValue(0.5, 199, 86)).toBeCloseTo(0.5, 12);
    expect(aucPValue(0.45, 199, 86)).toBeGreaterThan(0.5);
  });
});

describe('tie-aware ROC', () => {
  it('AUC equals the pairwise Mann–Whitney statistic with ties counted ½, and the area under the curve', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.integer({ min: 0, max: 5 }), fc.boolean()), { minLength: 2, maxLength: 80 }),
        (rows) => {
          const labels = rows.map((r) => (r[1] ? 1 : 0));
          fc.pre(labels.includes(1) && labels.includes(0));
          const scores = rows.map((r) => r[0] / 5);
          const auc = rocAuc(scores, labels);
          expect(Math.abs(auc - pairwiseAuc(scores, labels))).toBeLessThan(1e-12);
          expect(Math.abs(curveArea(rocCurve(scores, labels)) - auc)).toBeLessThan(1e-12);
        },
      ),
      { seed: 42, numRuns: 300 },
    );
  });

  it('goes diagonally through a tie: all members and non-members at confidence 1.0 give chance, not a step', () => {
    const scores = new Array(50).fill(1);
    const labels = scores.map((_, i) => (i < 30 ? 1 : 0));
    const c = rocCurve(scores, labels);
    expect(Array.from(c.fpr)).toEqual([0, 1]);
    expect(Array.from(c.tpr)).toEqual([0, 1]);
    expect(rocAuc(scores, labels)).toBe(0.5);
    expect(tprAtFpr(c, 0.01)).toBeCloseTo(0.01, 12);
    expect(maxAdvantage(c)).toBe(0);
  });

  it('reads TPR at FPR by interpolation, the highest TPR at a vertex, never below the step value', () => {
    // Two members above everything, then a tie of 1 member and 2 non-members, then the rest.
    const scores = [0.9, 0.9, 0.5, 0.5, 0.5, 0.1, 0.1];
    const labels = [1, 1, 1, 0, 0, 0, 1];
    const c = rocCurve(scores, labels);
    expect(Array.from(c.fpr)).toEqual([0, 0, 2 / 3, 1]);
    expect(Array.from(c.tpr)).toEqual([0, 0.5, 0.75, 1]);
    expect(tprAtFpr(c, 0)).toBe(0.5);
    expect(tprAtFpr(c, 1 / 3)).toBeCloseTo(0.625, 12);
    expect(tprAtFpr(c, 1)).toBe(1);
    const r = new SeededRandom(3);
    for (let i = 0; i < 200; i++) {
      const f = r.next();
      let step = 0;
      for (let j = 0; j < c.fpr.length; j++) if (c.fpr[j]! <= f) step = Math.max(step, c.tpr[j]!);
      expect(tprAtFpr(c, f)).toBeGreaterThanOrEqual(step - 1e-15);
    }
  });

  it('scores a perfect attack AUC 1 and TPR 1 at 0.1% FPR, and its mirror AUC 0', () => {
    const scores = [5, 4, 3, 2, 1, 0];
    const e = evaluateAttack(scores, [1, 1, 1, 0, 0, 0]);
    expect(e.auc).toBe(1);
    expect(e.tprAtFpr).toEqual([1, 1]);
    expect(e.advantage).toBe(1);
    expect(rocAuc(scores, [0, 0, 0, 1, 1, 1])).toBe(0);
  });

  it('keeps random (null) scores within 3σ0 of 0.5 and their p-values non-significant most of the time', () => {
    const r = new SeededRandom(11);
    let significant = 0;
    for (let rep = 0; rep < 40; rep++) {
      const n = 400;
      const scores = Array.from({ length: n }, () => Math.floor(r.next() * 10));
      const labels = Array.from({ length: n }, () => (r.next() < 0.7 ? 1 : 0));
      const e = evaluateAttack(scores, labels);
      expect(Math.abs(e.auc - 0.5)).toBeLessThan(3 * e.sigma0 + 1e-9);
      if (e.pValue < 0.05) significant++;
    }
    expect(significant).toBeLessThanOrEqual(6);
  });

  it('downsamples a long curve to at most 200 points, keeping both ends', () => {
    const r = new SeededRandom(5);
    const scores = Array.from({ length: 5000 }, () => r.next());
    const labels = scores.map((s) => (r.next() < s ? 1 : 0));
    const c = rocCurve(scores, labels);
    const pts = downsampleCurve(c);
    expect(c.fpr.length).toBeGreaterThan(1000);
    expect(pts.length).toBeLessThanOrEqual(200);
    expect(pts[0]).toEqual([0, 0]);
    expect(pts[pts.length - 1]).toEqual([1, 1]);
    for (let i = 1; i < pts.length; i++) expect(pts[i]![0]).toBeGreaterThanOrEqual(pts[i - 1]![0]);
  });

  it('refuses a single class, NaN scores and mismatched lengths', () => {
    expect(() => rocCurve([1, 2], [1, 1])).toThrow(/at least one member and one non-member/);
    expect(() => rocAuc([1, Number.NaN], [1, 0])).toThrow(/NaN/);
    expect(() => rocCurve([1, 2, 3], [1, 0])).toThrow(/differ in length/);
  });
});
