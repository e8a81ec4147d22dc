import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isSluiceError, type SluiceError } from '../../lib/errors.js';
import { ControlPlane } from '../../domain/control-plane.js';
import type { Agreement, DatasetInfo } from '../../domain/types.js';

const hash = (s: string) => createHash('sha256').update(s).digest('hex');

async function refusal(p: Promise<unknown>): Promise<SluiceError> {
  try {
    await p;
  } catch (e) {
    if (isSluiceError(e)) return e;
    throw e;
  }
  throw new Error('expected a refusal, but the call succeeded');
}

const people = (classes: Record<string, DatasetInfo['columns'][number]['class']> = {}): DatasetInfo => ({
  name: 'people', provider: 'civil-affairs', origin: 'public', artifactHash: hash('people'), path: `raw/${hash('people')}.parquet`, rows: 10, unitColumn: 'id_number',
  columns: [
    { name: 'id_number', type: 'VARCHAR', class: classes['id_number'] ?? 'direct-identifier' },
    { name: 'mobile', type: 'VARCHAR', class: classes['mobile'] ?? 'direct-identifier' },
    { name: 'sex', type: 'VARCHAR', class: classes['sex'] ?? 'quasi-identifier' },
  ],
});

const agreement = (id: string, mobile: 'none' | 'mask' | 'tokenize' | 'drop', dataset = 'people'): Agreement => ({
  id, scenario: 'grants', operator: 'op', purpose: 'test', useClass: 'public-interest', status: 'active', validFrom: '2026-01-01', validTo: '2027-12-31',
  grants: [{ dataset, columns: [{ name: 'id_number', treatment: 'tokenize' }, { name: 'mobile', treatment: mobile }, { name: 'sex', treatment: 'none' }] }],
});

describe('an agreement may not grant a direct identifier untreated', () => {
  const dir = mkdtempSync(join(tmpdir(), 'sluice-grants-'));
  let cp: ControlPlane;

  beforeAll(async () => {
    cp = await ControlPlane.open({ dataRoot: dir });
    await cp.registerDataset(people(), 'provider');
  });
  afterAll(async () => {
    await cp?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('refuses creating one that grants a direct identifier with treatment none, naming dataset and column, and logs it', async () => {
    const e = await refusal(cp.createAgreement(agreement('AGR-NONE', 'none'), 'admin-1'));
    expect(e.code).toBe('SLUICE_ERR_AGREEMENT_GRANT');
    expect(e.message).toContain('dataset people column mobile');
    expect(e.message).toContain('treatment none');
    expect(await cp.getAgreement('AGR-NONE')).toBeNull();
    const logged = await cp.listAuditLog({ subject: 'AGR-NONE', action: 'agreement.create.refused' });
    expect(logged).toHaveLength(1);
  });

  it('accepts tokenize, mask and drop for a direct identifier, and none for a quasi-identifier (negative controls)', async () => {
    for (const t of ['tokenize', 'mask', 'drop'] as const) {
      await expect(cp.createAgreement(agreement(`AGR-${t.toUpperCase()}`, t))).resolves.toMatchObject({ id: `AGR-${t.toUpperCase()}` });
    }
  });

  it('refuses re-registering a dataset so that an active agreement would grant a direct identifier untreated', async () => {
    // Granted `none` while sex is a quasi-identifier: fine; reclassified a direct identifier, the agreement would let it out.
    const e = await refusal(cp.registerDataset(people({ sex: 'direct-identifier' }), 'provider'));
    expect(e.code).toBe('SLUICE_ERR_AGREEMENT_GRANT');
    expect(e.message).toContain('dataset people column sex');
    expect((await cp.getDataset('people'))!.columns.find((c) => c.name === 'sex')!.class).toBe('quasi-identifier');
    // Negative control: re-registering with the same classes is fine.
    await expect(cp.registerDataset({ ...people(), rows: 11 }, 'provider')).resolves.toMatchObject({ rows: 11 });
  });

  it('checks an agreement granting a dataset not registered yet when that dataset is registered', async () => {
    await cp.createAgreement(agreement('AGR-LATER', 'none', 'later'));
    const e = await refusal(cp.registerDataset({ ...people(), name: 'later' }, 'provider'));
    expect(e.code).toBe('SLUICE_ERR_AGREEMENT_GRANT');
    expect(e.message).toContain('agreement AGR-LATER: dataset later column mobile');
    // Misclassified by its provider (mobile as `other`), it registers: lineage cannot see that, the audit's content checks must.
    await expect(cp.registerDataset({ ...people({ mobile: 'other' }), name: 'later' }, 'provider')).resolves.toMatchObject({ name: 'later' });
  });
});
