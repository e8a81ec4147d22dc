import { createHash } from 'node:crypto';
import { mkdtempSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isSluiceError } from '../../../lib/errors.js';
import { AGREEMENTS, population } from '../../helpers/plan-fixtures.js';
import { parseSpec } from '../../../pipeline/spec/spec.js';
import { planJob, type PlanContext } from '../../../pipeline/plan/plan.js';

const FIXTURES = new URL('../../fixtures/specs/', import.meta.url).pathname;

function contextFor(agreementId: string): PlanContext {
  return {
    agreement: AGREEMENTS.get(agreementId) ?? AGREEMENTS.get('AGR-2026-001')!,
    // mobile-extract.yaml leaks mobile numbers on purpose, for the audit: its provider classed mobile `other`.
    datasets: new Map([['population', population({ mobile: 'other' })]]),
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
