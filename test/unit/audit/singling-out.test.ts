import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDuck, type Duck } from '../../../lib/duck.js';
import { checkSyntheticRisk, residualRisk, type SyntheticRiskInput } from '../../../audit/singling-out.js';
import { DEFAULT_THRESHOLDS } from '../../../audit/thresholds.js';
import { wilson } from '../../../lib/stats.js';
import { loadPeople, makePeople } from '../../fixtures/red-team/people.js';

const COLS = ['birth_date', 'sex', 'area_code', 'education', 'income', 'diagnosis'];
let duck: Duck;
beforeAll(async () => {
  duck = await openDuck({ threads: 2 });
  const all = makePeople(3000, 99);
  await loadPeople(duck.conn, 'train', all.slice(0, 1500));
  await loadPeople(duck.conn, 'ctrl', all.slice(1500));
  // Independent marginals: each column shuffled on its own (seeded), no row survives.
  const shuffled = COLS.map((c, i) => `(SELECT ${c}, row_number() OVER (ORDER BY hash(id_number, ${i + 10})) AS rn FROM train) t${i}`);
  const marginals = `SELECT ${COLS.map((c, i) => `t${i}.${c}`).join(', ')} FROM ${shuffled[0]} ${shuffled.slice(1).map((s, i) => `JOIN ${s} ON t${i + 1}.rn = t0.rn`).join(' ')}`;
  await duck.conn.run(`CREATE TABLE syn_marginals AS ${marginals}`);
  await duck.conn.run(`CREATE TABLE syn_copied AS SELECT ${COLS.join(', ')} FROM train ORDER BY hash(id_number, 1) LIMIT 300`);
  await duck.conn.run(`INSERT INTO syn_copied SELECT * FROM syn_marginals LIMIT 1200`);
  await duck.conn.run(`CREATE TABLE syn_all_copied AS SELECT ${COLS.join(', ')} FROM train`);
});
afterAll(() => duck?.close());

const input = (synthetic: string, control: string | null = 'ctrl'): SyntheticRiskInput => ({
  synthetic, original: 'train', control, columns: COLS, knownColumns: ['birth_date', 'sex', 'area_code'], secrets: ['diagnosis'],
});

describe('residualRisk', () => {
  it('is zero when the attack does no better than the control', () => {
    const r = residualRisk(120, 1000, 120, 1000);
    expect(r.risk).toBeCloseTo(0, 12);
    expect(r.low).toBe(0);
    expect(r.high).toBeGreaterThan(0);
  });

  it('is (a − c)/(1 − c) on the Wilson centres, with the propagated half-widths', () => {
    const a = wilson(300, 1000), c = wilson(100, 1000);
    const r = residualRisk(300, 1000, 100, 1000);
    expect(r.risk).toBeCloseTo((a.centre - c.centre) / (1 - c.centre), 12);
    const err = Math.sqrt((a.halfWidth / (1 - c.centre)) ** 2 + ((c.halfWidth * (1 - a.centre)) / (1 - c.centre) ** 2) ** 2);
    expect(r.high - r.risk).toBeCloseTo(err, 12);
    // Wider at 99% than at 95%.
    expect(residualRisk(300, 1000, 100, 1000, 0.99).high).toBeGreaterThan(r.high);
  });
});

describe('B6 singling out and inference', () => {
  it('fails a synthetic set that copies 20% of the training rows', async () => {
    const r = await checkSyntheticRisk(duck.conn, input('syn_copied'), DEFAULT_THRESHOLDS);
    expect(r.status).toBe('fail');
    expect(Number(r.metrics['singlingOut|risk'])).toBeGreaterThan(0.1);
    expect(r.parameters['failRisk']).toBe(0.1);
  });

  it('fails a verbatim copy with a risk near 1', async () => {
    const r = await checkSyntheticRisk(duck.conn, input('syn_all_copied'), DEFAULT_THRESHOLDS);
    expect(r.status).toBe('fail');
    expect(Number(r.metrics['singlingOut|risk'])).toBeGreaterThan(0.7);
    expect(Number(r.metrics['inference:diagnosis|risk'])).toBeGreaterThan(0.7);
  });

  it('does not fail independent marginals, and measures a small risk', async () => {
    const r = await checkSyntheticRisk(duck.conn, input('syn_marginals'), DEFAULT_THRESHOLDS);
    expect(r.status).not.toBe('fail');
    expect(Number(r.metrics['risk'])).toBeLessThan(0.05);
  });

  it('is reproducible with its seed', async () => {
    const a = await checkSyntheticRisk(duck.conn, input('syn_copied'), DEFAULT_THRESHOLDS);
    const b = await checkSyntheticRisk(duck.conn, input('syn_copied'), DEFAULT_THRESHOLDS);
    expect(b.metrics).toEqual(a.metrics);
  });

  it('asks for review when no control set was kept', async () => {
    const r = await checkSyntheticRisk(duck.conn, input('syn_marginals', null), DEFAULT_THRESHOLDS);
    expect(r.status).toBe('review');
    expect(r.summary).toContain('control');
  });
});
