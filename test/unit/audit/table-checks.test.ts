import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDuck, queryJson, type Duck } from '../../../lib/duck.js';
import { auditTable, roundTable, type TableAuditInput } from '../../../audit/table-checks.js';
import { DEFAULT_THRESHOLDS, resolveThresholds, type Thresholds } from '../../../audit/thresholds.js';
import { assertNoRawValues } from '../../../audit/report.js';
import type { CheckResult } from '../../../audit/types.js';

let duck: Duck;
beforeAll(async () => {
  duck = await openDuck({ threads: 1 });
});
afterAll(() => duck.close());

let seq = 0;
/** Fresh names per test so that tests never see each other's tables. */
function names(): { t: string; e: string } {
  seq++;
  return { t: `pub_${seq}`, e: `ev_${seq}` };
}

function byId(results: CheckResult[], id: string): CheckResult {
  const r = results.find((x) => x.id === id);
  if (!r) throw new Error(`no result ${id}`);
  return r;
}

const T0 = DEFAULT_THRESHOLDS as Thresholds;

/**
 * A safe table: 80 units in 4 cells (area × sex) of 20, incomes 1000 + a few
 * hundred per unit, counts multiples of 5, every row has both categories.
 */
async function safeTable(): Promise<TableAuditInput> {
  const { t, e } = names();
  await duck.conn.run(
    `CREATE TABLE ${e} AS SELECT 'area-' || (u % 2) AS area, CASE WHEN (u // 2) % 2 = 0 THEN 'F' ELSE 'M' END AS sex, ` +
      `'P' || lpad(u::VARCHAR, 4, '0') AS pid, 1000.25 + (u * 37) % 300 AS income FROM range(80) r(u)`,
  );
  await duck.conn.run(`CREATE TABLE ${t} AS SELECT area, sex, count(DISTINCT pid) AS n, sum(income) AS income FROM ${e} GROUP BY ALL`);
  return {
    table: t,
    groupBy: ['area', 'sex'],
    counts: ['n'],
    measures: [{ column: 'income', fn: 'sum' }],
    evidence: e,
    unitColumn: 'pid',
    file: {
      type: 'csv',
      bytes: 2048,
      rows: 4,
      columns: [
        { name: 'area', class: 'quasi-identifier', label: 'generalized' },
        { name: 'sex', class: 'quasi-identifier', label: 'generalized' },
        { name: 'n', class: 'other', label: 'aggregate' },
        { name: 'income', class: 'sensitive', label: 'aggregate' },
      ],
    },
  };
}

/** One cell (g = 'c1') whose units contribute the given amounts. */
async function oneCell(contributions: number[]): Promise<TableAuditInput> {
  const { t, e } = names();
  const rows = contributions.map((x, i) => `('c1', 'u${i}', ${x})`).join(', ');
  await duck.conn.run(`CREATE TABLE ${e} (g VARCHAR, pid VARCHAR, amount DOUBLE)`);
  await duck.conn.run(`INSERT INTO ${e} VALUES ${rows}`);
  await duck.conn.run(`CREATE TABLE ${t} AS SELECT g, sum(amount) AS amount FROM ${e} GROUP BY g`);
  return { table: t, groupBy: ['g'], counts: [], measures: [{ column: 'amount', fn: 'sum' }], evidence: e, unitColumn: 'pid' };
}

describe('auditTable: negative control', () => {
  it('passes every check on a safe, rounded, complete table', async () => {
    const input = await safeTable();
    const results = await auditTable(duck.conn, input, T0);
    expect(results.map((r) => r.id)).toEqual(['A1', 'A2', 'A3', 'A4', 'A5', 'A6', 'A7', 'A8', 'A9', 'A10']);
    for (const r of results) expect({ id: r.id, status: r.status }).toEqual({ id: r.id, status: 'pass' });
    expect(byId(results, 'A1').metrics['cells']).toBe(4);
    expect(byId(results, 'A1').metrics['smallestOccupiedCount']).toBe(20);
  });

  it('leaves no temporary table behind', async () => {
    const input = await safeTable();
    await auditTable(duck.conn, input, T0);
    const left = await queryJson(duck.conn, `SELECT table_name FROM duckdb_tables() WHERE table_name LIKE '__sluice_audit_%'`);
    expect(left).toEqual([]);
  });
});

describe('A1 threshold', () => {
  async function cells(sizes: number[], rowsPerUnit = 1): Promise<TableAuditInput> {
    const { t, e } = names();
    const parts = sizes.map(
      (n, c) => `SELECT 'cell${c}' AS g, 'u' || ${c} || '_' || (i // ${rowsPerUnit}) AS pid FROM range(${n * rowsPerUnit}) r(i)`,
    );
    await duck.conn.run(`CREATE TABLE ${e} AS ${parts.join(' UNION ALL ')}`);
    // Published counts are rows, as a naive COUNT(*) would give: the audit must count distinct units instead.
    await duck.conn.run(`CREATE TABLE ${t} AS SELECT g, count(*) AS n FROM ${e} GROUP BY g`);
    return { table: t, groupBy: ['g'], counts: ['n'], measures: [], evidence: e, unitColumn: 'pid' };
  }

  it('fails a cell of 9 units and reports the smallest count', async () => {
    const a1 = byId(await auditTable(duck.conn, await cells([9, 30]), T0), 'A1');
    expect(a1.status).toBe('fail');
    expect(a1.metrics['cellsFailing']).toBe(1);
    expect(a1.metrics['smallestCount']).toBe(9);
  });

  it('passes a cell of exactly 10 units', async () => {
    const a1 = byId(await auditTable(duck.conn, await cells([10, 30]), T0), 'A1');
    expect(a1.status).toBe('pass');
    expect(a1.metrics['cellsFailing']).toBe(0);
  });

  it('counts distinct units, not evidence rows', async () => {
    // 3 units × 5 rows each = 15 rows: a row count would pass, the unit count must not.
    const a1 = byId(await auditTable(duck.conn, await cells([3, 30], 5), T0), 'A1');
    expect(a1.status).toBe('fail');
    expect(a1.metrics['smallestCount']).toBe(3);
  });

  it('skips a suppressed cell (every published value NULL), which discloses nothing', async () => {
    const input = await cells([3, 30]);
    await duck.conn.run(`UPDATE ${input.table} SET n = NULL WHERE g = 'cell0'`);
    const a1 = byId(await auditTable(duck.conn, input, T0), 'A1');
    expect(a1.status).toBe('pass');
    expect(a1.metrics['cellsSuppressed']).toBe(1);
  });

  it('honours a tighter threshold from the spec', async () => {
    const t = resolveThresholds(undefined, { A1: { threshold: 40 } });
    const a1 = byId(await auditTable(duck.conn, await cells([30, 50]), t), 'A1');
    expect(a1.status).toBe('fail');
    expect(a1.parameters['threshold']).toBe(40);
  });

  it('draws a cell-size histogram with the small cells in their own bins', async () => {
    const a1 = byId(await auditTable(duck.conn, await cells([3, 3, 12, 40]), T0), 'A1');
    const h = new Map(a1.series?.['cellSizeHistogram'] ?? []);
    expect(h.get(3)).toBe(2);
    expect([...h.values()].reduce((a, b) => a + b, 0)).toBe(4);
  });
});

describe('A2 rounding', () => {
  it('fails counts that are not multiples of 5 and roundTable fixes them', async () => {
    const { t } = names();
    await duck.conn.run(`CREATE TABLE ${t} AS SELECT * FROM (VALUES ('a', 10), ('b', 12), ('c', 13), ('d', NULL)) v(g, n)`);
    const { e } = names();
    await duck.conn.run(`CREATE TABLE ${e} AS SELECT g, 'u' || g || i AS pid FROM (VALUES ('a'), ('b'), ('c'), ('d')) v(g), range(20) r(i)`);
    const input: TableAuditInput = { table: t, groupBy: ['g'], counts: ['n'], measures: [], evidence: e, unitColumn: 'pid' };
    const before = byId(await auditTable(duck.conn, input, T0), 'A2');
    expect(before.status).toBe('fail');
    expect(before.metrics['unroundedCells']).toBe(2);
    expect(before.columns).toEqual(['n']);

    await roundTable(duck.conn, { source: t, target: `${t}_r`, counts: ['n'], base: 5 });
    const rounded = await queryJson<{ g: string; n: unknown }>(duck.conn, `SELECT g, n FROM ${t}_r ORDER BY g`);
    expect(rounded.map((r) => (r.n === null ? null : Number(r.n)))).toEqual([10, 10, 15, null]);
    const after = byId(await auditTable(duck.conn, { ...input, table: `${t}_r` }, T0), 'A2');
    expect(after.status).toBe('pass');
  });

  it('a spec may demand base 10, under which 15 fails', async () => {
    const input = await safeTable();
    await duck.conn.run(`UPDATE ${input.table} SET n = 15 WHERE area = 'area-0' AND sex = 'F'`);
    const t = resolveThresholds(undefined, { A2: { base: 10 } });
    expect(byId(await auditTable(duck.conn, input, T0), 'A2').status).toBe('pass');
    expect(byId(await auditTable(duck.conn, input, t), 'A2').status).toBe('fail');
  });
});

describe('A3 (n,k) dominance and A4 p% rule: rule edges', () => {
  const k95 = resolveThresholds({ A3: { k: 0.95 } });

  it('[50, 45, 3, 2]: fails (n,k) at k = 0.95 (top two hold exactly 0.95)', async () => {
    const r = await auditTable(duck.conn, await oneCell([50, 45, 3, 2]), k95);
    expect(byId(r, 'A3').status).toBe('fail');
    expect(byId(r, 'A3').metrics['cellsFailing']).toBe(1);
  });

  it('[50, 45, 3, 2]: passes p% at exactly p = 0.10 ((100 − 50 − 45) / 50 = 0.1)', async () => {
    const r = await auditTable(duck.conn, await oneCell([50, 45, 3, 2]), k95);
    expect(byId(r, 'A4').status).toBe('pass');
    expect(byId(r, 'A4').parameters['p']).toBe(0.1);
  });

  it('the p% edge holds at scales where 0.1 × x1 is inexact in binary', async () => {
    // 0.1 × 0.7 and friends are not representable exactly; the tolerance keeps equality on the pass side.
    for (const scale of [0.7, 3, 1e-3, 123456.789]) {
      const r = await auditTable(duck.conn, await oneCell([50 * scale, 45 * scale, 3 * scale, 2 * scale]), k95);
      expect({ scale, status: byId(r, 'A4').status }).toEqual({ scale, status: 'pass' });
      expect({ scale, status: byId(r, 'A3').status }).toEqual({ scale, status: 'fail' });
    }
  });

  it('[60, 30, 5, 5]: fails (n,k) at exactly k = 0.90 (≥, not >)', async () => {
    const r = await auditTable(duck.conn, await oneCell([60, 30, 5, 5]), T0);
    expect(byId(r, 'A3').status).toBe('fail');
  });

  it('p% fails just under the edge: [50, 46, 3, 1] leaves 4 / 50 = 0.08', async () => {
    const r = await auditTable(duck.conn, await oneCell([50, 46, 3, 1]), T0);
    expect(byId(r, 'A4').status).toBe('fail');
  });

  it('a single contributor fails both', async () => {
    const r = await auditTable(duck.conn, await oneCell([500]), T0);
    expect(byId(r, 'A3').status).toBe('fail');
    expect(byId(r, 'A4').status).toBe('fail');
  });

  it('an even spread passes both (negative control)', async () => {
    const r = await auditTable(duck.conn, await oneCell([30, 30, 20, 20, 20, 20, 10, 10, 10, 10]), T0);
    expect(byId(r, 'A3').status).toBe('pass');
    expect(byId(r, 'A4').status).toBe('pass');
  });

  it('sums a unit’s rows before ranking: two rows of 25 are one contribution of 50', async () => {
    // Per row the largest is 45 and the top two 45 + 25 = 70 (< 90); per unit it is 50 + 45 = 95.
    const { t, e } = names();
    await duck.conn.run(
      `CREATE TABLE ${e} AS SELECT * FROM (VALUES ('c1','u0',25.0),('c1','u0',25.0),('c1','u1',45.0),('c1','u2',3.0),('c1','u3',2.0)) v(g, pid, amount)`,
    );
    await duck.conn.run(`CREATE TABLE ${t} AS SELECT g, sum(amount) AS amount FROM ${e} GROUP BY g`);
    const r = await auditTable(
      duck.conn,
      { table: t, groupBy: ['g'], counts: [], measures: [{ column: 'amount', fn: 'sum' }], evidence: e, unitColumn: 'pid' },
      T0,
    );
    expect(byId(r, 'A3').status).toBe('fail');
  });
});

describe('A5 negative or missing contributions', () => {
  it('sends a negative contribution to review', async () => {
    const r = byId(await auditTable(duck.conn, await oneCell([30, 30, -5, 20, 20, 20, 10, 10, 10, 10]), T0), 'A5');
    expect(r.status).toBe('review');
    expect(r.metrics['negativeContributions']).toBe(1);
    expect(r.columns).toEqual(['amount']);
  });

  it('sends a missing contribution to review, and fails it when the agreement says so', async () => {
    const { t, e } = names();
    await duck.conn.run(`CREATE TABLE ${e} AS SELECT 'c1' AS g, 'u' || i AS pid, CASE WHEN i = 3 THEN NULL ELSE 10.0 END AS amount FROM range(12) r(i)`);
    await duck.conn.run(`CREATE TABLE ${t} AS SELECT g, sum(amount) AS amount FROM ${e} GROUP BY g`);
    const input: TableAuditInput = { table: t, groupBy: ['g'], counts: [], measures: [{ column: 'amount', fn: 'sum' }], evidence: e, unitColumn: 'pid' };
    const r = byId(await auditTable(duck.conn, input, T0), 'A5');
    expect(r.status).toBe('review');
    expect(r.metrics['missingContributions']).toBe(1);
    const strict = byId(await auditTable(duck.conn, input, resolveThresholds({ A5: { status: 'fail' } })), 'A5');
    expect(strict.status).toBe('fail');
  });

  it('passes contributions that are all present and non-negative', async () => {
    const r = byId(await auditTable(duck.conn, await oneCell([30, 30, 20, 20, 20, 20, 10, 10, 10, 10]), T0), 'A5');
    expect(r.status).toBe('pass');
  });
});

describe('A6 class disclosure', () => {
  it('fails a published zero cell, and passes it when zeros are declared structural', async () => {
    const input = await safeTable();
    await duck.conn.run(`INSERT INTO ${input.table} VALUES ('area-2', 'F', 0, 0), ('area-2', 'M', 20, 1000)`);
    const r = byId(await auditTable(duck.conn, input, T0), 'A6');
    expect(r.status).toBe('fail');
    expect(r.metrics['zeroCells']).toBe(1);
    const s = byId(await auditTable(duck.conn, { ...input, structuralZeros: true }, T0), 'A6');
    expect(s.status).toBe('pass');
    expect(s.parameters['structuralZeros']).toBe(true);
  });

  it('fails a row whose units all fall in one category (the other cell absent)', async () => {
    const input = await safeTable();
    // Everyone of area-1 published is F: the reader learns that nobody in area-1 is M.
    await duck.conn.run(`DELETE FROM ${input.table} WHERE area = 'area-1' AND sex = 'M'`);
    const r = byId(await auditTable(duck.conn, input, T0), 'A6');
    expect(r.status).toBe('fail');
    expect(r.metrics['singleCategoryRows']).toBe(1);
    expect(r.metrics['impliedZeroCells']).toBe(1);
  });

  it('passes a complete table with no zeros (negative control)', async () => {
    const r = byId(await auditTable(duck.conn, await safeTable(), T0), 'A6');
    expect(r.status).toBe('pass');
    expect(r.metrics['zeroCells']).toBe(0);
    expect(r.metrics['singleCategoryRows']).toBe(0);
  });
});

describe('A7 extremes', () => {
  async function extremes(perturb: boolean): Promise<TableAuditInput> {
    const { t, e } = names();
    await duck.conn.run(`CREATE TABLE ${e} AS SELECT 'g' || (i % 2) AS g, 'u' || i AS pid, 1000.5 + i * 13.25 AS wage FROM range(40) r(i)`);
    await duck.conn.run(
      `CREATE TABLE ${t} AS SELECT g, count(*) AS n, ${perturb ? 'round(max(wage) / 1000) * 1000 + 0.125' : 'max(wage)'} AS wage FROM ${e} GROUP BY g`,
    );
    return { table: t, groupBy: ['g'], counts: [], measures: [{ column: 'wage', fn: 'max' }], evidence: e, unitColumn: 'pid' };
  }

  it('fails a published max that equals one unit’s value', async () => {
    const r = byId(await auditTable(duck.conn, await extremes(false), T0), 'A7');
    expect(r.status).toBe('fail');
    expect(r.metrics['cellsFailing']).toBe(2);
    expect(r.columns).toEqual(['wage']);
  });

  it('passes a max that no unit holds', async () => {
    const r = byId(await auditTable(duck.conn, await extremes(true), T0), 'A7');
    expect(r.status).toBe('pass');
    expect(r.metrics['cellsChecked']).toBe(2);
  });
});

describe('A8 degrees of freedom', () => {
  it('fails 9, passes 10, passes a table that is no fitted statistic', async () => {
    const input = await safeTable();
    expect(byId(await auditTable(duck.conn, { ...input, fittedDof: 9 }, T0), 'A8').status).toBe('fail');
    expect(byId(await auditTable(duck.conn, { ...input, fittedDof: 10 }, T0), 'A8').status).toBe('pass');
    expect(byId(await auditTable(duck.conn, { ...input, fittedDof: null }, T0), 'A8').status).toBe('pass');
  });
});

describe('A9 differencing', () => {
  async function populations(currentDrop: number, extra = ''): Promise<TableAuditInput> {
    const { e } = names();
    const cur = `${e}_cur`;
    await duck.conn.run(`CREATE TABLE ${e} AS SELECT 'area-' || (u % 2) AS area, 'P' || u AS pid FROM range(200) r(u)`);
    // The current release covers the same areas minus a few people (e.g. "adults only").
    await duck.conn.run(`CREATE TABLE ${cur} AS SELECT * FROM ${e} WHERE NOT (area = 'area-0' AND pid IN (SELECT 'P' || (2 * i) FROM range(${currentDrop}) r(i)))${extra}`);
    await duck.conn.run(`CREATE TABLE ${cur}_t AS SELECT area, count(*) AS n FROM ${cur} GROUP BY area`);
    return {
      table: `${cur}_t`,
      groupBy: ['area'],
      counts: ['n'],
      measures: [],
      evidence: cur,
      unitColumn: 'pid',
      earlierReleases: [{ table: 'earlier', groupBy: ['area'], evidence: e }],
    };
  }

  it('flags a release whose difference from an earlier one isolates 3 people', async () => {
    const r = byId(await auditTable(duck.conn, await populations(3), T0), 'A9');
    expect(r.status).toBe('review');
    expect(r.metrics['differencesIsolating']).toBe(1);
    expect(r.metrics['smallestIsolated']).toBe(3);
    expect(r.columns).toEqual(['area']);
    const left = await queryJson(duck.conn, `SELECT table_name FROM duckdb_tables() WHERE table_name LIKE '__sluice_audit_%'`);
    expect(left).toEqual([]);
  });

  it('catches the difference through a finer table (area × sex against area)', async () => {
    const input = await populations(3);
    await duck.conn.run(`CREATE TABLE ${input.evidence}_fine AS SELECT *, CASE WHEN hash(pid) % 2 = 0 THEN 'F' ELSE 'M' END AS sex FROM ${input.evidence}`);
    await duck.conn.run(`CREATE TABLE ${input.evidence}_fine_t AS SELECT area, sex, count(*) AS n FROM ${input.evidence}_fine GROUP BY ALL`);
    const r = byId(
      await auditTable(
        duck.conn,
        { ...input, table: `${input.evidence}_fine_t`, evidence: `${input.evidence}_fine`, groupBy: ['area', 'sex'] },
        T0,
      ),
      'A9',
    );
    expect(r.status).toBe('review');
  });

  it('passes when the populations are the same or differ by at least T', async () => {
    expect(byId(await auditTable(duck.conn, await populations(0), T0), 'A9').status).toBe('pass');
    expect(byId(await auditTable(duck.conn, await populations(10), T0), 'A9').status).toBe('pass');
  });

  it('recognizes the same cells of the same units (a job run again) and still catches one unit swapped between cells', async () => {
    const same = byId(await auditTable(duck.conn, { ...(await populations(0)), evidenceUnique: true }, T0), 'A9');
    expect(same.status).toBe('pass');
    expect(same.metrics['identicalEarlierReleases']).toBe(1);
    // Same counts per cell, but two people trade areas: the fingerprint differs and the comparison runs in full.
    const swapped = await populations(0, ` UNION ALL SELECT 'area-1', 'P0' UNION ALL SELECT 'area-0', 'P1'`);
    await duck.conn.run(`DELETE FROM ${swapped.evidence} WHERE pid IN ('P0', 'P1') AND rowid IN (SELECT min(rowid) FROM ${swapped.evidence} WHERE pid IN ('P0', 'P1') GROUP BY pid)`);
    const r = byId(await auditTable(duck.conn, { ...swapped, evidenceUnique: true }, T0), 'A9');
    expect(r.metrics['identicalEarlierReleases']).toBe(0);
    expect(r.metrics['earlierReleasesCompared']).toBe(1);
  });

  it('asks for review when an earlier release cannot be compared unit by unit', async () => {
    const input = await populations(10);
    expect(byId(await auditTable(duck.conn, input, T0), 'A9').status).toBe('pass');
    const r = byId(await auditTable(duck.conn, { ...input, incomparableEarlierReleases: 1 }, T0), 'A9');
    expect(r.status).toBe('review');
    expect(r.summary).toMatch(/1 earlier release could not be compared/);
    expect(r.metrics['incomparableEarlierReleases']).toBe(1);
  });

  it('reads unique evidence without regrouping and gets the same results as regrouping it', async () => {
    const input = await populations(3);
    const a = await auditTable(duck.conn, input, T0);
    const b = await auditTable(duck.conn, { ...input, evidenceUnique: true }, T0);
    expect(b.map((x) => [x.id, x.status, x.metrics])).toEqual(a.map((x) => [x.id, x.status, x.metrics]));
  });

  it('ignores an earlier release that shares no group-by column', async () => {
    const input = await populations(3);
    const r = byId(await auditTable(duck.conn, { ...input, earlierReleases: [{ table: 'x', groupBy: ['pid'], evidence: input.earlierReleases![0]!.evidence }] }, T0), 'A9');
    expect(r.status).toBe('pass');
    expect(r.metrics['earlierReleasesCompared']).toBe(0);
  });
});

describe('A10 package gates', () => {
  it('fails a disallowed file type, an oversized file, and an identifier column', async () => {
    const input = await safeTable();
    const file = input.file!;
    expect(byId(await auditTable(duck.conn, { ...input, file: { ...file, type: 'xlsx' } }, T0), 'A10').status).toBe('fail');
    expect(byId(await auditTable(duck.conn, { ...input, file: { ...file, bytes: 16 * 1024 * 1024 + 1 } }, T0), 'A10').status).toBe('fail');
    const idCol = byId(
      await auditTable(duck.conn, { ...input, file: { ...file, columns: [...file.columns, { name: 'id_number', class: 'direct-identifier', label: 'raw' }] } }, T0),
      'A10',
    );
    expect(idCol.status).toBe('fail');
    expect(idCol.columns).toEqual(['id_number']);
  });

  it('fails more rows than allowed (a spec may lower the limit)', async () => {
    const input = await safeTable();
    const t = resolveThresholds(undefined, { A10: { maxRows: 3 } });
    const r = byId(await auditTable(duck.conn, input, t), 'A10');
    expect(r.status).toBe('fail');
    expect(r.metrics['rows']).toBe(4);
  });

  it('fails a table that publishes the unit id column', async () => {
    const input = await safeTable();
    await duck.conn.run(`CREATE TABLE ${input.table}_pid AS SELECT *, 'P0001' AS pid FROM ${input.table}`);
    const r = byId(await auditTable(duck.conn, { ...input, table: `${input.table}_pid` }, T0), 'A10');
    expect(r.status).toBe('fail');
    expect(r.columns).toContain('pid');
  });
});

describe('privacy of the results', () => {
  it('never carries a group-by value or a contribution value', async () => {
    const { t, e } = names();
    const labels = ['Xianju-Huangyan-77', 'Linhai-Duqiao-31', 'Wenling-Zeguo-59'];
    await duck.conn.run(
      `CREATE TABLE ${e} AS SELECT ['${labels.join("','")}'][1 + (i % 3)] AS town, 'ID' || (330000000 + i) AS pid, ` +
        `CASE WHEN i = 0 THEN 987654.321 ELSE 1111.7 + i * 3.3 END AS income, -(i = 5)::INT * 4242.42 + 3333.3 AS tax FROM range(31) r(i)`,
    );
    await duck.conn.run(`CREATE TABLE ${t} AS SELECT town, count(*) AS n, sum(income) AS income, max(tax) AS tax FROM ${e} GROUP BY town`);
    const results = await auditTable(
      duck.conn,
      {
        table: t,
        groupBy: ['town'],
        counts: ['n'],
        measures: [
          { column: 'income', fn: 'sum' },
          { column: 'tax', fn: 'max' },
        ],
        evidence: e,
        unitColumn: 'pid',
      },
      T0,
    );
    // The output is leaky on purpose (dominance, extremes, a negative, unrounded counts) so that every check has a finding to describe.
    expect(results.filter((r) => r.status !== 'pass').map((r) => r.id)).toEqual(expect.arrayContaining(['A2', 'A3', 'A5', 'A7']));
    const raw = await queryJson<{ v: string }>(
      duck.conn,
      `SELECT DISTINCT town AS v FROM ${e} UNION SELECT DISTINCT pid FROM ${e} UNION SELECT DISTINCT income::VARCHAR FROM ${e} ` +
        `UNION SELECT DISTINCT tax::VARCHAR FROM ${e} UNION SELECT DISTINCT income::VARCHAR FROM ${t}`,
    );
    expect(raw.length).toBeGreaterThan(60);
    expect(assertNoRawValues(JSON.stringify(results), raw.map((r) => r.v))).toBe(0);
  });
});

describe('input validation', () => {
  it('names a missing evidence column without echoing data', async () => {
    const input = await safeTable();
    await expect(auditTable(duck.conn, { ...input, unitColumn: 'person_id' }, T0)).rejects.toMatchObject({
      code: 'SLUICE_ERR_INPUT_INVALID',
      message: expect.stringContaining('person_id'),
    });
  });
});

describe('scale', () => {
  it('audits 300,000 evidence rows in 1,000 cells inside DuckDB', async () => {
    const { t, e } = names();
    await duck.conn.run(
      `CREATE TABLE ${e} AS SELECT (i % 1000) AS g, 'u' || (i // 3) AS pid, (hash(i) % 1000)::DOUBLE AS amount FROM range(300000) r(i)`,
    );
    await duck.conn.run(`CREATE TABLE ${t} AS SELECT g, count(DISTINCT pid) AS n, sum(amount) AS amount FROM ${e} GROUP BY g`);
    const results = await auditTable(
      duck.conn,
      { table: t, groupBy: ['g'], counts: ['n'], measures: [{ column: 'amount', fn: 'sum' }], evidence: e, unitColumn: 'pid' },
      T0,
    );
    expect(byId(results, 'A1').metrics['cells']).toBe(1000);
    expect(byId(results, 'A1').status).toBe('pass');
  });
});
