import { createHash } from 'node:crypto';
import { mkdtempSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isSluiceError } from '../../../lib/errors.js';
import type { Agreement, DatasetInfo } from '../../../domain/types.js';
import { parseSpec } from '../../../pipeline/spec.js';
import { planJob, type PlanContext } from '../../../pipeline/plan.js';

const FIXTURES = new URL('../../fixtures/specs/', import.meta.url).pathname;

/** The population dataset as a provider registers it (types and classes). */
function population(): DatasetInfo {
  const cols: [string, string, DatasetInfo['columns'][number]['class']][] = [
    ['id_number', 'VARCHAR', 'direct-identifier'], ['name', 'VARCHAR', 'direct-identifier'], ['sex', 'VARCHAR', 'quasi-identifier'],
    ['birth_date', 'DATE', 'quasi-identifier'], ['mobile', 'VARCHAR', 'direct-identifier'], ['area_code', 'VARCHAR', 'quasi-identifier'],
    ['area_name', 'VARCHAR', 'quasi-identifier'], ['street', 'VARCHAR', 'quasi-identifier'], ['community', 'VARCHAR', 'quasi-identifier'],
    ['house_number', 'VARCHAR', 'direct-identifier'], ['address', 'VARCHAR', 'direct-identifier'], ['education', 'VARCHAR', 'other'],
    ['occupation', 'VARCHAR', 'other'], ['marital_status', 'VARCHAR', 'sensitive'], ['income_band', 'VARCHAR', 'sensitive'],
  ];
  return {
    name: 'population', provider: 'civil-affairs', origin: 'public', artifactHash: 'a'.repeat(64), path: `raw/${'a'.repeat(64)}.parquet`,
    rows: 1000, columns: cols.map(([name, type, cls]) => ({ name, type, class: cls })), unitColumn: 'id_number',
  };
}

function agreement(id: string, operator: string, validFrom: string, validTo: string): Agreement {
  return {
    id, scenario: 'elderly care planning', operator, purpose: 'care demand', useClass: 'public-interest', validFrom, validTo, status: 'active',
    grants: [{
      dataset: 'population',
      columns: [
        { name: 'id_number', treatment: 'tokenize' }, { name: 'name', treatment: 'drop' }, { name: 'sex', treatment: 'none' },
        { name: 'birth_date', treatment: 'generalize', level: 'band10' }, { name: 'mobile', treatment: 'none' },
        { name: 'area_code', treatment: 'none' }, { name: 'area_name', treatment: 'none' }, { name: 'education', treatment: 'none' },
        { name: 'occupation', treatment: 'none' }, { name: 'marital_status', treatment: 'none' }, { name: 'income_band', treatment: 'none' },
        { name: 'blood_type', treatment: 'none' },
      ],
    }],
  };
}

const AGREEMENTS = new Map([
  ['AGR-2026-001', agreement('AGR-2026-001', 'op-a', '2026-01-01', '2028-12-31')],
  ['AGR-2020-001', agreement('AGR-2020-001', 'op-a', '2020-01-01', '2022-12-31')],
  ['AGR-2026-009', agreement('AGR-2026-009', 'op-b', '2026-01-01', '2028-12-31')],
]);

function contextFor(agreementId: string): PlanContext {
  return {
    agreement: AGREEMENTS.get(agreementId) ?? AGREEMENTS.get('AGR-2026-001')!,
    datasets: new Map([['population', population()]]),
    user: { id: 'u-1', organization: 'op-a' },
    today: '2026-06-01',
  };
}

async function parseAndPlan(text: string, file: string): Promise<void> {
  const spec = parseSpec(text, file);
  await planJob(spec, contextFor(spec.agreement));
}

const badFiles = readdirSync(join(FIXTURES, 'bad')).filter((f) => f.endsWith('.yaml')).sort();
const goodFiles = readdirSync(join(FIXTURES, 'good')).filter((f) => f.endsWith('.yaml')).sort();

describe('the bad-spec corpus', () => {
  it('has at least 20 specs, each declaring the error it expects', () => {
    expect(badFiles.length).toBeGreaterThanOrEqual(20);
    for (const f of badFiles) expect(readFileSync(join(FIXTURES, 'bad', f), 'utf8').split('\n')[0]).toMatch(/^# expect: SLUICE_ERR_[A-Z_]+ \S/);
  });

  for (const file of badFiles) {
    it(`refuses ${file} with the expected code and a message naming the path`, async () => {
      const text = readFileSync(join(FIXTURES, 'bad', file), 'utf8');
      const m = /^# expect: (SLUICE_ERR_[A-Z_]+) (.+)$/.exec(text.split('\n')[0]!)!;
      const [, code, fragment] = m;
      let caught: unknown;
      try {
        await parseAndPlan(text, file);
      } catch (e) {
        caught = e;
      }
      expect(isSluiceError(caught), `${file} was accepted`).toBe(true);
      const err = caught as { code: string; message: string };
      expect(err.code).toBe(code);
      expect(err.message).toContain(fragment!.trim());
      // Privacy: an SQL literal or a path from the spec never appears in the message.
      for (const secret of ['/etc/passwd', '/tmp/leak.csv', '/tmp/other.duckdb', "'HOME'"]) expect(err.message).not.toContain(secret);
    });
  }
});

describe('planning changes nothing', () => {
  let root: string;
  let cwd: string;
  const snapshot = (dir: string): Record<string, string> => {
    const out: Record<string, string> = {};
    const walk = (d: string) => {
      for (const e of readdirSync(d)) {
        const p = join(d, e);
        if (statSync(p).isDirectory()) walk(p);
        else out[p.slice(dir.length)] = createHash('sha256').update(readFileSync(p)).digest('hex');
      }
    };
    walk(dir);
    return out;
  };
  beforeAll(() => {
    root = mkdtempSync(join(tmpdir(), 'sluice-plan-root-'));
    mkdirSync(join(root, 'raw'));
    writeFileSync(join(root, population().path), 'not really parquet: planning must never open it');
    cwd = process.cwd();
  });
  afterAll(() => {
    process.chdir(cwd);
    rmSync(root, { recursive: true, force: true });
  });

  it('creates no file under the data root and leaves spec, agreement and datasets unchanged', async () => {
    const before = snapshot(root);
    // Relative writes (DuckDB's default spill directory `.tmp`, say) would land in the data root.
    process.chdir(root);
    try {
      for (const file of [...goodFiles.map((f) => ['good', f]), ...badFiles.map((f) => ['bad', f])]) {
        const text = readFileSync(join(FIXTURES, file[0]!, file[1]!), 'utf8');
        let spec;
        try {
          spec = parseSpec(text, file[1]);
        } catch {
          continue;
        }
        const ctx = contextFor(spec.agreement);
        const frozen = JSON.stringify({ spec, agreement: ctx.agreement, datasets: [...ctx.datasets] });
        await planJob(spec, ctx).catch(() => undefined);
        expect(JSON.stringify({ spec, agreement: ctx.agreement, datasets: [...ctx.datasets] })).toBe(frozen);
      }
    } finally {
      process.chdir(cwd);
    }
    expect(snapshot(root)).toEqual(before);
    expect(Object.keys(before)).toHaveLength(1);
  });
});

describe('the good specs', () => {
  for (const file of goodFiles) {
    it(`plans ${file}`, async () => {
      const text = readFileSync(join(FIXTURES, 'good', file), 'utf8');
      const spec = parseSpec(text, file);
      const plan = await planJob(spec, contextFor(spec.agreement));
      expect(plan.steps.length).toBe(spec.steps.length);
      expect(plan.outputs.length).toBe(spec.outputs.length);
    });
  }
});
