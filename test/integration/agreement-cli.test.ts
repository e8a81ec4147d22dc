import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { configureLog } from '../../lib/log.js';
import { Engine } from '../../pipeline/engine.js';
import { buildApp } from '../../service/app.js';
import { shutdown } from '../helpers/domain-harness.js';
import { TEST_REDIS_URL } from '../helpers/raw-scan.js';
import { syntheticResidentId } from '../../synthetic/person-ids.js';

const ROOT = new URL('../../', import.meta.url).pathname;

/** Runs `node bin/sluice.js …` with its own environment (never a cli.json). */
function sluice(args: string[], env: Record<string, string>): Promise<{ code: number | null; out: string; err: string }> {
  const child = spawn(process.execPath, ['bin/sluice.js', ...args], { cwd: ROOT, env: { ...process.env, DATABASE_URL: '', ...env } });
  let out = '';
  let err = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  return new Promise((resolve) => child.on('close', (code) => resolve({ code, out, err })));
}

describe('sluice agreement suspend | resume | terminate', () => {
  const root = mkdtempSync(join(tmpdir(), 'sluice-agcli-'));
  const childRoot = mkdtempSync(join(tmpdir(), 'sluice-agcli-child-'));
  let engine: Engine;
  let app: FastifyInstance;
  const tokens: Record<string, string> = {};
  let url = '';
  const as = (who: string) => ({ SLUICE_URL: url, SLUICE_TOKEN: tokens[who]!, SLUICE_DATA_ROOT: childRoot });

  beforeAll(async () => {
    configureLog({ level: 'silent' });
    engine = await Engine.open({ dataRoot: root, databaseUrl: '', queuePrefix: `sluice-agcli-${process.pid}`, redisUrl: TEST_REDIS_URL });
    app = await buildApp(engine);
    await app.listen({ port: 0, host: '127.0.0.1' });
    url = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
    for (const [n, [name, role, org]] of ([['admin', 'admin', 'authority'], ['operator', 'operator', 'ops']] as const).entries()) tokens[name] = (await engine.cp.createUser({ name, role, organization: org, personId: syntheticResidentId(200 + n) })).token;
    await engine.cp.createAgreement({
      id: 'AGR-CLI-1', scenario: 's', operator: 'ops', purpose: 'p', useClass: 'industry', status: 'active', validFrom: '2026-01-01', validTo: '2028-12-31',
      grants: [{ dataset: 'population', columns: [{ name: 'sex', treatment: 'none' }] }],
    });
  }, 600_000);
  afterAll(async () => {
    await shutdown({ app, engine, root });
    rmSync(childRoot, { recursive: true, force: true });
  });

  it('suspends, shows, resumes and terminates with a reason; termination is final', async () => {
    const s = await sluice(['agreement', 'suspend', 'AGR-CLI-1', '--reason', 'pending an inspection'], as('admin'));
    expect(s.err).toBe('');
    expect([s.code, s.out.trim()]).toEqual([0, 'agreement AGR-CLI-1 is suspended']);
    const show = await sluice(['agreement', 'show', 'AGR-CLI-1'], as('admin'));
    expect(show.out).toContain('agreement AGR-CLI-1 (suspended)');
    expect(show.out).toContain('suspended: since');
    expect((await sluice(['agreement', 'resume', 'AGR-CLI-1', '--reason', 'inspection done'], as('admin'))).out.trim()).toBe('agreement AGR-CLI-1 is active');
    const t = await sluice(['agreement', 'terminate', 'AGR-CLI-1', '--reason', 'contract ended early', '--json'], as('admin'));
    expect(JSON.parse(t.out).agreement).toMatchObject({ id: 'AGR-CLI-1', status: 'terminated', terminationReason: 'contract ended early' });
    const again = await sluice(['agreement', 'resume', 'AGR-CLI-1', '--reason', 'try anyway'], as('admin'));
    expect(again.code).toBe(1);
    expect(again.err).toContain('SLUICE_ERR_CONFLICT');
    const actions = (await engine.cp.listAuditLog({ subject: 'AGR-CLI-1', limit: 1000 })).map((e) => [e.action, e.details['reason']]);
    expect(actions).toEqual([
      ['agreement.create', undefined], ['agreement.suspend', 'pending an inspection'], ['agreement.resume', 'inspection done'], ['agreement.terminate', 'contract ended early'],
    ]);
  }, 600_000);

  it('needs --reason and the admin role', async () => {
    const noReason = await sluice(['agreement', 'suspend', 'AGR-CLI-1'], as('admin'));
    expect(noReason.code).toBe(2);
    expect(noReason.err).toContain('--reason');
    const operator = await sluice(['agreement', 'terminate', 'AGR-CLI-1', '--reason', 'i want out'], as('operator'));
    expect(operator.code).toBe(1);
    expect(operator.err).toContain('SLUICE_ERR_AUTH_FORBIDDEN');
  }, 600_000);
});
