import { describe, expect, it } from 'vitest';
import { SeededRandom, subset, type Dataset, type FeatureInfo } from '../../../models/dataset.js';
import { clopperPearson } from '../../../lib/stats.js';
import { ruleBasedAttack } from '../../../models/attacks/rule-based.js';
import { lossScores, lossThresholdAttack, modelOutputs, type QueryableModel } from '../../../models/attacks/loss-threshold.js';
import { attackFeatures, fitLogisticAttack, repeatedMembershipAttacks, scoreLogisticAttack } from '../../../models/attacks/learned.js';
import { empiricalEpsilonLowerBound, rmiaAttack } from '../../../models/attacks/rmia.js';
import { attributeInference } from '../../../models/attacks/attribute-inference.js';
import { rocCurve } from '../../../models/roc.js';

const FEATURES: FeatureInfo[] = [
  { name: 'x', source: 'x', kind: 'numeric' },
  { name: 'colour=red', source: 'colour', kind: 'one-hot', category: 'red' },
  { name: 'colour=green', source: 'colour', kind: 'one-hot', category: 'green' },
  { name: 'colour=blue', source: 'colour', kind: 'one-hot', category: 'blue' },
  { name: 'group=a', source: 'group', kind: 'one-hot', category: 'a' },
  { name: 'group=b', source: 'group', kind: 'one-hot', category: 'b' },
];

/** Synthetic people: x uniform, colour and group uniform; P(y = 1) = 0.3 + 0.4·[group = a]. Rows are unique (x is continuous). */
function people(n: number, seed: number): Dataset {
  const r = new SeededRandom(seed);
  const d = FEATURES.length;
  const X = new Float64Array(n * d);
  const y = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    X[i * d] = -2 + 4 * r.next();
    X[i * d + 1 + r.int(3)] = 1;
    const a = r.next() < 0.5;
    X[i * d + (a ? 4 : 5)] = 1;
    y[i] = r.next() < (a ? 0.7 : 0.3) ? 1 : 0;
  }
  return { n, d, X, y, classes: ['no', 'yes'], features: FEATURES };
}

function key(X: Float64Array, i: number, d: number): string {
  return Array.from(X.subarray(i * d, i * d + d)).join(',');
}

/** The generalizing part: P(y = 1) = 0.3 + 0.4·[group = a], which is the truth. */
function ruleProba(X: Float64Array, i: number, d: number): number {
  return X[i * d + 4] === 1 ? 0.7 : 0.3;
}

function fromP1(p1: (i: number) => number, n: number): Float64Array {
  const out = new Float64Array(2 * n);
  for (let i = 0; i < n; i++) {
    out[2 * i + 1] = p1(i);
    out[2 * i] = 1 - out[2 * i + 1]!;
  }
  return out;
}

function argmaxModel(proba: (X: Float64Array, n: number) => Float64Array): QueryableModel {
  return {
    predictProba: proba,
    predict: (X, n) => {
      const p = proba(X, n);
      return Int32Array.from({ length: n }, (_, i) => (p[2 * i + 1]! > p[2 * i]! ? 1 : 0));
    },
  };
}

/** A lookup table: a training row gets its own label with probability 0.95; any other row the rule. */
function memorizer(train: Dataset): QueryableModel {
  const table = new Map<string, number>();
  for (let i = 0; i < train.n; i++) table.set(key(train.X, i, train.d), train.y[i]!);
  return argmaxModel((X, n) =>
    fromP1((i) => {
      const hit = table.get(key(X, i, FEATURES.length));
      return hit === undefined ? ruleProba(X, i, FEATURES.length) : hit === 1 ? 0.95 : 0.05;
    }, n),
  );
}

/** A model that learned only the group shares from its data: nothing about any one row. */
function groupShares(train: Dataset): QueryableModel {
  const c = [0, 0, 0, 0];
  for (let i = 0; i < train.n; i++) {
    const g = train.X[i * train.d + 4] === 1 ? 0 : 1;
    c[2 * g]!++;
    c[2 * g + 1]! += train.y[i]!;
  }
  return argmaxModel((X, n) => fromP1((i) => (X[i * FEATURES.length + 4] === 1 ? c[1]! / c[0]! : c[3]! / c[2]!), n));
}

const members = people(1500, 1);
const nonMembers = people(1000, 2);

describe('rule-based attack (Yeom et al. 2018)', () => {
  it('has advantage exactly train accuracy − test accuracy', () => {
    for (const model of [memorizer(members), groupShares(members)]) {
      const acc = (ds: Dataset): number => {
        const p = model.predict(ds.X, ds.n);
        let ok = 0;
        for (let i = 0; i < ds.n; i++) if (p[i] === ds.y[i]) ok++;
        return ok / ds.n;
      };
      const r = ruleBasedAttack(model, members, nonMembers);
      expect(r.advantage).toBe(acc(members) - acc(nonMembers));
      expect(r.tpr).toBe(acc(members));
    }
  });
});

describe('loss-threshold attack', () => {
  it('separates the members of a lookup table (positive control) and not those of a group-share model (negative control)', () => {
    const leak = lossThresholdAttack(modelOutputs(memorizer(members), members), modelOutputs(memorizer(members), nonMembers));
    expect(leak.auc).toBeGreaterThan(0.9);
    expect(leak.tprAtFpr[0]).toBeGreaterThan(0.5);
    const safe = lossThresholdAttack(modelOutputs(groupShares(members), members), modelOutputs(groupShares(members), nonMembers));
    expect(Math.abs(safe.auc - 0.5)).toBeLessThan(3 * safe.sigma0);
  });

  it('scores ln p(true label), 0 for a certain right answer and finite for a certain wrong one', () => {
    const s = lossScores({ n: 2, k: 2, proba: Float64Array.from([0, 1, 1, 0]), y: Int32Array.from([1, 1]) });
    expect(s[0]).toBe(0);
    expect(Number.isFinite(s[1]!)).toBe(true);
    expect(s[1]!).toBeLessThan(-20);
  });
});

describe('learned attack and the C4 repetitions', () => {
  it('uses the sorted probabilities and the loss as features', () => {
    const f = attackFeatures({ n: 1, k: 3, proba: Float64Array.from([0.2, 0.5, 0.3]), y: Int32Array.from([2]) });
    expect(Array.from(f.X.subarray(0, 3))).toEqual([0.5, 0.3, 0.2]);
    expect(f.X[3]).toBeCloseTo(-Math.log(0.3), 12);
  });

  it('fits a logistic attack model that ranks a planted signal', () => {
    const n = 400;
    const r = new SeededRandom(8);
    const X = new Float64Array(n * 2);
    const isMember = new Uint8Array(n);
    for (let i = 0; i < n; i++) {
      isMember[i] = i % 2;
      X[2 * i] = r.next() + (isMember[i] ? 0.8 : 0);
      X[2 * i + 1] = r.next();
    }
    const rows = Int32Array.from({ length: n }, (_, i) => i);
    const m = fitLogisticAttack({ n, d: 2, X }, isMember, rows);
    expect(m.w[0]!).toBeGreaterThan(1);
    expect(Math.abs(m.w[1]!)).toBeLessThan(Math.abs(m.w[0]!) / 4);
    const s = scoreLogisticAttack(m, { n, d: 2, X });
    let above = 0;
    for (let i = 0; i < n; i += 2) if (s[i + 1]! > s[i]!) above++;
    expect(above / (n / 2)).toBeGreaterThan(0.8);
  });

  it('reports 10 repetitions: a lookup table fails the AUC bar, a group-share model stays at chance', () => {
    const leak = memorizer(members);
    const r = repeatedMembershipAttacks(modelOutputs(leak, members), modelOutputs(leak, nonMembers), { repetitions: 10, seed: 1 });
    expect(r.learned.repetitions).toBe(10);
    expect(r.learned.perRepetition).toHaveLength(10);
    expect(r.learned.meanAuc).toBeGreaterThan(0.65);
    expect(r.loss.meanAuc).toBeGreaterThan(0.65);
    expect(r.learned.significantShare).toBe(1);
    expect(r.learned.medianTprAtFpr[0]).toBeGreaterThanOrEqual(0.05);
    const safe = groupShares(members);
    const s = repeatedMembershipAttacks(modelOutputs(safe, members), modelOutputs(safe, nonMembers), { repetitions: 10, seed: 1 });
    expect(s.learned.meanAuc).toBeLessThan(0.56);
    expect(s.loss.meanAuc).toBeLessThan(0.56);
    expect(s.learned.medianTprAtFpr[0]).toBeLessThan(0.05);
  });
});

describe('RMIA and the empirical ε bound', () => {
  it('computes ε from Clopper–Pearson bounds at the best threshold', () => {
    // 500 of 1000 members and 10 of 1000 non-members above the threshold.
    const scores = [...new Array(1000).fill(0).map((_, i) => (i < 500 ? 1 : 0)), ...new Array(1000).fill(0).map((_, i) => (i < 10 ? 1 : 0))];
    const labels = scores.map((_, i) => (i < 1000 ? 1 : 0));
    const e = empiricalEpsilonLowerBound(rocCurve(scores, labels));
    const expected = Math.log(clopperPearson(500, 1000).low / clopperPearson(10, 1000).high);
    expect(e.direction).toBe('tpr/fpr');
    expect(e.epsilon).toBeCloseTo(expected, 12);
    expect(e.epsilon).toBeLessThan(Math.log(0.5 / 0.01));
    expect(empiricalEpsilonLowerBound(rocCurve(new Array(100).fill(1), labels.slice(950, 1050))).epsilon).toBe(0);
  });

  it('catches a lookup table with 2 reference models retrained on the population (positive control)', async () => {
    const population = people(1200, 3);
    const res = await rmiaAttack({
      model: memorizer(members),
      members,
      nonMembers,
      population,
      trainReference: async (data) => memorizer(data),
    });
    expect(res.referenceModels).toBe(2);
    expect(res.referenceTrainingRows).toEqual([600, 600]);
    expect(res.evaluation.auc).toBeGreaterThan(0.9);
    expect(res.evaluation.tprAtFpr[0]).toBeGreaterThan(0.05);
    expect(res.epsilon.epsilon).toBeGreaterThan(2);
  });

  it('finds nothing in a group-share model, with the population being the held-out rows (negative control)', async () => {
    const res = await rmiaAttack(
      { model: groupShares(members), members, nonMembers, population: people(1000, 4), trainReference: async (data) => groupShares(data) },
      { referenceModels: 3, seed: 4 },
    );
    expect(res.referenceModels).toBe(4);
    expect(Math.abs(res.evaluation.auc - 0.5)).toBeLessThan(3 * res.evaluation.sigma0);
    expect(res.evaluation.tprAtFpr[0]).toBeLessThan(0.05);
    expect(res.epsilon.epsilon).toBeLessThan(1);
  });
});

describe('attribute inference', () => {
  it('infers the colour of a lookup table’s members, and of no non-member (positive control)', () => {
    const r = attributeInference(memorizer(members), members, nonMembers, 'colour');
    expect(r.candidates).toBe(3);
    expect(r.memberRate).toBe(1);
    expect(r.nonMemberRate).toBe(0);
    expect(r.ratio).toBe(Infinity);
    expect(r.gain).toBe(1);
  });

  it('infers the group of members and non-members alike from a generalizing model (negative control)', () => {
    const r = attributeInference(groupShares(members), members, nonMembers, 'group');
    expect(r.memberRate).toBeGreaterThan(0.5);
    expect(r.nonMemberRate).toBeGreaterThan(0.5);
    expect(r.ratio).toBeLessThan(1.1);
    expect(r.ratio).toBeGreaterThan(0.9);
  });

  it('abstains when every candidate value gives the same answer, and refuses a numeric column', () => {
    const r = attributeInference(groupShares(members), members, nonMembers, 'colour');
    expect(r.memberCorrect + r.nonMemberCorrect).toBe(0);
    expect(r.memberAbstained).toBe(members.n);
    expect(r.ratio).toBe(1);
    expect(() => attributeInference(groupShares(members), members, nonMembers, 'x')).toThrow(/no one-hot encoded feature/);
  });

  it('samples at most maxRows of each group', () => {
    const r = attributeInference(groupShares(members), members, subset(nonMembers, [0, 1, 2, 3, 4]), 'group', { maxRows: 100 });
    expect(r.nMembers).toBe(100);
    expect(r.nNonMembers).toBe(5);
  });
});
