import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { curveArea, rocAuc, rocCurve, tprAtFpr } from '../../../models/roc.js';
import { PYTHON, skipWithoutSklearn } from '../../helpers/optional-data.js';

const hasSklearn = !skipWithoutSklearn('tie-aware ROC against scikit-learn');

/** Deterministic uniform generator (mulberry32). */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface Case {
  name: string;
  scores: number[];
  labels: number[];
}

/** Score vectors full of ties: few distinct levels, a mass at confidence 1.0, and member scores shifted up. */
function cases(): Case[] {
  const out: Case[] = [];
  for (let c = 0; c < 6; c++) {
    const r = rng(1000 + c);
    const n = 50 + Math.floor(r() * 900);
    const levels = 2 + Math.floor(r() * 25);
    const scores: number[] = [];
    const labels: number[] = [];
    for (let i = 0; i < n; i++) {
      const member = r() < 0.3 + 0.4 * r() ? 1 : 0;
      // A third of the records sit at exactly 1.0, as confident trained models put them.
      const s = r() < 0.33 ? 1 : Math.min(1, Math.floor((r() + member * 0.15) * levels) / levels);
      scores.push(s);
      labels.push(member);
    }
    out.push({ name: `random ${c} (n=${n}, ${levels} levels)`, scores, labels });
  }
  out.push({ name: 'all 1.0', scores: Array.from({ length: 40 }, () => 1), labels: Array.from({ length: 40 }, (_, i) => (i % 3 === 0 ? 1 : 0)) });
  out.push({ name: 'two levels', scores: [1, 1, 1, 0.5, 0.5, 1, 0.5, 1], labels: [1, 0, 1, 0, 1, 1, 0, 0] });
  const r = rng(77);
  const cont = Array.from({ length: 300 }, () => r());
  out.push({ name: 'continuous, no ties', scores: cont, labels: cont.map((s) => (r() < s ? 1 : 0)) });
  return out;
}

const PROBE_FPRS = [0.001, 0.01, 0.0137, 0.05, 0.1, 0.333, 0.5, 0.9];

function sklearnAnswers(all: Case[]): Array<{ auc: number; full: number[][]; dropped: number[][]; interp: number[] }> {
  const script = `
import json, sys
import numpy as np
from sklearn.metrics import roc_auc_score, roc_curve
out = []
for c in json.load(sys.stdin):
    y = np.array(c['labels']); s = np.array(c['scores'], dtype=float)
    f1, t1, _ = roc_curve(y, s, drop_intermediate=False)
    f2, t2, _ = roc_curve(y, s, drop_intermediate=True)
    probes = ${JSON.stringify(PROBE_FPRS)}
    out.append({'auc': float(roc_auc_score(y, s)), 'full': [f1.tolist(), t1.tolist()], 'dropped': [f2.tolist(), t2.tolist()],
                'interp': [float(np.interp(p, f1, t1)) for p in probes]})
print(json.dumps(out))
`;
  const res = spawnSync(PYTHON, ['-c', script], { input: JSON.stringify(all), encoding: 'utf8', maxBuffer: 64 << 20 });
  if (res.status !== 0) throw new Error(`python failed: ${res.stderr}`);
  return JSON.parse(res.stdout) as Array<{ auc: number; full: number[][]; dropped: number[][]; interp: number[] }>;
}

describe.skipIf(!hasSklearn)('tie-aware ROC against scikit-learn', () => {
  const all = cases();
  const answers = hasSklearn ? sklearnAnswers(all) : [];

  it('AUC equals roc_auc_score to 1e-9 on tie-heavy vectors, including all-1.0 confidences', () => {
    all.forEach((c, i) => {
      const ours = rocAuc(c.scores, c.labels);
      expect(Math.abs(ours - answers[i]!.auc), c.name).toBeLessThanOrEqual(1e-9);
      expect(Math.abs(curveArea(rocCurve(c.scores, c.labels)) - ours), c.name).toBeLessThanOrEqual(1e-12);
    });
  });

  it('ROC points equal roc_curve with drop_intermediate False and True', () => {
    all.forEach((c, i) => {
      for (const [drop, ref] of [
        [false, answers[i]!.full],
        [true, answers[i]!.dropped],
      ] as const) {
        const curve = rocCurve(c.scores, c.labels, { dropIntermediate: drop });
        expect(curve.fpr.length, `${c.name} drop=${drop}`).toBe(ref[0]!.length);
        for (let j = 0; j < curve.fpr.length; j++) {
          expect(Math.abs(curve.fpr[j]! - ref[0]![j]!)).toBeLessThanOrEqual(1e-9);
          expect(Math.abs(curve.tpr[j]! - ref[1]![j]!)).toBeLessThanOrEqual(1e-9);
        }
      }
    });
  });

  it('TPR at FPR equals np.interp on the sklearn curve where the FPR falls between vertices', () => {
    all.forEach((c, i) => {
      const curve = rocCurve(c.scores, c.labels);
      const vertices = new Set(Array.from(curve.fpr));
      PROBE_FPRS.forEach((f, k) => {
        if (vertices.has(f)) return;
        expect(Math.abs(tprAtFpr(curve, f) - answers[i]!.interp[k]!), `${c.name} fpr=${f}`).toBeLessThanOrEqual(1e-9);
      });
    });
  });
});
