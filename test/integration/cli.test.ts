import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { configureLog } from '../../lib/log.js';
import { Engine } from '../../pipeline/engine.js';
import { startWorkers, type Workers } from '../../workers/start-workers.js';
import { buildApp } from '../../service/app.js';
import { countRawHits, loadRawIdentifiers, TEST_REDIS_URL } from '../helpers/raw-scan.js';
import { registerPopulation, shutdown } from '../helpers/domain-harness.js';
import { syntheticResidentId } from '../../synthetic/person-ids.js';

const ROOT = new URL('../../', import.meta.url).pathname;
const OPERATOR_ORG = '台州数智科技有限公司';

interface Result {
  code: number | null;
  out: string;
  err: string;
}

/** Runs `node bin/sluice.js …` (or a shell line) with its own environment; never inherits a cli.json. */
function sluice(args: string[] | string, env: Record<string, string>): Promise<Result> {
  const base = { ...process.env, DATABASE_URL: '', SLUICE_URL: '', SLUICE_TOKEN: '', ...env };
  const child = typeof args === 'string'
    ? spawn('bash', ['-o', 'pipefail', '-c', args], { cwd: ROOT, env: base })
    : spawn(process.execPath, ['bin/sluice.js', ...args], { cwd: ROOT, env: base });
  let out = '';
  let err = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  return new Promise((resolve) => child.on('close', (code) => resolve({ code, out, err })));
}

async function closedPort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', () => r()));
  const port = (srv.address() as AddressInfo).port;
  await new Promise<void>((r) => srv.close(() => r()));
  return port;
}

describe('the CLI against a running service', () => {
  const root = mkdtempSync(join(tmpdir(), 'sluice-cli-'));
  // The children's data root: empty, so no cli.json decides for them.
  const childRoot = mkdtempSync(join(tmpdir(), 'sluice-cli-child-'));
  let engine: Engine;
  let workers: Workers;
  let app: FastifyInstance;
  let url = '';
  const tokens: Record<string, string> = {};
  let blockedHash = '';
  const as = (who: string) => ({ SLUICE_URL: url, SLUICE_TOKEN: tokens[who]!, SLUICE_DATA_ROOT: childRoot });

  beforeAll(async () => {
    configureLog({ level: 'silent' });
    engine = await Engine.open({ dataRoot: root, databaseUrl: '', queuePrefix: `sluice-cli-${process.pid}`, redisUrl: TEST_REDIS_URL });
    workers = startWorkers(engine, { concurrency: 1 });
    app = await buildApp(engine);
    await app.listen({ port: 0, host: '127.0.0.1' });
    url = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
    for (const [i, [name, role, org]] of ([['admin', 'admin', 'authority'], ['operator', 'operator', OPERATOR_ORG], ['rev1', 'reviewer', 'experts'], ['rev2', 'reviewer', 'experts']] as const).entries()) {
      tokens[name] = (await engine.cp.createUser({ name, role, organization: org, personId: syntheticResidentId(i + 1) })).token;
    }
    // As in the demo, the provider classed mobile `other` (misclassified): examples/agreement.json grants it
    // untreated and examples/contact-list.yaml is blocked by the audit (B1), which lineage cannot be.
    await registerPopulation(engine, root, 2000, 5, { mobile: 'other' });
  });

  afterAll(async () => {
    await shutdown({ app, workers, engine, root });
    rmSync(childRoot, { recursive: true, force: true });
  });

  it('creates, lists and shows an agreement from the example file (admin)', async () => {
    const created = await sluice(['agreement', 'create', 'examples/agreement.json', '--valid-from', '2026-01-01', '--valid-to', '2028-12-31'], as('admin'));
    expect(created.err).toBe('');
    expect(created.code).toBe(0);
    expect(created.out).toContain('agreement AGR-2026-TZ-001 created');
    const list = await sluice(['agreement', 'list', '--json'], as('admin'));
    expect((JSON.parse(list.out) as { agreements: { id: string }[] }).agreements.map((a) => a.id)).toEqual(['AGR-2026-TZ-001']);
    const show = await sluice(['agreement', 'show', 'AGR-2026-TZ-001'], as('operator'));
    expect(show.code).toBe(0);
    expect(show.out).toContain('population: id_number (tokenize)');
    const missing = await sluice(['agreement', 'show', 'AGR-NOPE'], as('admin'));
    expect(missing.code).toBe(1);
    expect(missing.err).toContain('SLUICE_ERR_NOT_FOUND');
    // A second create of the same id is refused.
    expect((await sluice(['agreement', 'create', 'examples/agreement.json'], as('admin'))).code).toBe(1);
  });

  it('tells an admin who submits which role is needed and how to make one', async () => {
    const r = await sluice(['submit', 'examples/contact-list.yaml'], as('admin'));
    expect(r.code).toBe(1);
    expect(r.err).toContain('SLUICE_ERR_AUTH_FORBIDDEN');
    expect(r.err).toContain('submit needs the operator role');
    expect(r.err).toContain('sluice user create --role operator --name N --org ORG');
  });

  it('creates and lists users with roles', async () => {
    const r = await sluice(['user', 'create', '--name', 'auditor', '--role', 'reviewer', '--org', 'experts', '--id-number', syntheticResidentId(9), '--json'], as('admin'));
    expect(r.code).toBe(0);
    const made = JSON.parse(r.out) as { user: { id: string; role: string }; token: string };
    expect(made.user.role).toBe('reviewer');
    const list = await sluice(['user', 'list'], as('admin'));
    expect(list.out).toContain(made.user.id);
    expect(list.out).toMatch(/operator/);
    expect(list.out).not.toContain(made.token);
    expect((await sluice(['user', 'list'], as('operator'))).code).toBe(1);
  });

  it('`submit --wait` on a blocked output exits 3 and prints the failing checks, never a value', async () => {
    const r = await sluice(['submit', 'examples/contact-list.yaml', '--wait'], as('operator'));
    expect(r.code).toBe(3);
    expect(r.out).toContain('BLOCKED output contact_list');
    expect(r.out).toMatch(/^ {2}B1 .*\[[^\]]*mobile/m);
    const raw = await loadRawIdentifiers(join(root, 'providers', 'population.parquet'));
    // Positive control for the scan, then the output itself.
    expect(countRawHits(`${[...raw.mobiles][0]}`, raw)).toBe(1);
    expect(countRawHits(r.out + r.err, raw)).toBe(0);
    const runId = r.out.split('\n')[0]!.trim();
    const reports = await engine.cp.listReportsForRun(runId);
    expect(reports.map((x) => x.status)).toEqual(['fail']);
    blockedHash = reports[0]!.artifactHash;
    // The same through --json, and `status` agrees.
    const status = await sluice(['status', runId, '--json'], as('operator'));
    expect(status.code).toBe(3);
    const o = JSON.parse(status.out) as { blocked: { failedChecks: { id: string }[] }[] };
    expect(o.blocked[0]!.failedChecks.map((c) => c.id)).toContain('B1');
  });

  it('lists pending reviews and reviews by a unique hash prefix; refuses an unknown or ambiguous one', async () => {
    expect(blockedHash).toMatch(/^[0-9a-f]{64}$/);
    const pending = await sluice(['review', 'pending'], as('rev1'));
    expect(pending.code).toBe(0);
    expect(pending.out).toContain(`${blockedHash.slice(0, 12)}  fail`);
    expect(pending.out).not.toContain(blockedHash.slice(0, 13));

    const ok = await sluice(['review', 'approve', blockedHash.slice(0, 8), '--exception', '--reason', 'hotline contract covers every person'], as('rev1'));
    expect(ok.err).toBe('');
    expect(ok.code).toBe(0);
    expect(ok.out).toContain(`of ${blockedHash.slice(0, 12)} recorded`);
    const reviews = await engine.cp.listReviews(blockedHash);
    expect(reviews).toHaveLength(1);

    // Unknown: a prefix no audited artifact has.
    let unknown = '';
    do unknown = randomBytes(5).toString('hex'); while (blockedHash.startsWith(unknown.slice(0, 8)));
    const none = await sluice(['review', 'reject', unknown, '--reason', 'no such thing'], as('rev2'));
    expect(none.code).toBe(1);
    expect(none.err).toContain('SLUICE_ERR_NOT_FOUND');

    // Ambiguous: two audited artifacts share the prefix; the error gives the count, never the hashes.
    const shared = 'abcdef01';
    const fakes = [shared + randomBytes(28).toString('hex'), shared + randomBytes(28).toString('hex')];
    for (const h of fakes) await engine.cp.saveReport({ artifactHash: h, runId: null, outputId: null, status: 'fail', report: { checks: [] }, signature: 'x' });
    const amb = await sluice(['review', 'reject', shared, '--reason', 'which one?'], as('rev2'));
    expect(amb.code).toBe(1);
    expect(amb.err).toContain('ambiguous, 2 audited artifacts match');
    for (const h of fakes) expect(amb.err).not.toContain(h.slice(0, 9));
    // A longer prefix that is unique is accepted as far as the lookup goes (the review itself is refused: no run).
    const longer = await sluice(['review', 'reject', fakes[0]!.slice(0, 12), '--reason', 'that one'], as('rev2'));
    expect(longer.err).not.toContain('ambiguous');
    expect(await engine.cp.listReviews(fakes[1]!)).toHaveLength(0);
  });

  it('`sluice runs | head -1` ends quietly, and so does a reader that leaves at once', async () => {
    const env = as('operator');
    const head = await sluice('node bin/sluice.js runs | head -1', env);
    expect(head.err).toBe('');
    expect(head.code).toBe(0);
    expect(head.out.trim().split('\n')).toHaveLength(1);
    // `true` reads nothing and exits before the CLI has started: every write meets EPIPE.
    const gone = await sluice('node bin/sluice.js runs --json | true', env);
    expect(gone.err).toBe('');
    expect(gone.code).toBe(0);
  });

  it('says a stale cli.json points at a stopped service, and how to start one', async () => {
    const stale = mkdtempSync(join(tmpdir(), 'sluice-cli-stale-'));
    try {
      const port = await closedPort();
      writeFileSync(join(stale, 'cli.json'), JSON.stringify({ url: `http://127.0.0.1:${port}`, token: tokens['operator'] }));
      const r = await sluice(['runs'], { SLUICE_DATA_ROOT: stale });
      expect(r.code).toBe(1);
      expect(r.err).toContain('SLUICE_ERR_SERVICE_UNREACHABLE');
      expect(r.err).toContain(`http://127.0.0.1:${port} is unreachable`);
      expect(r.err).toContain(join(stale, 'cli.json'));
      expect(r.err).toContain('sluice serve');
      expect(r.err).not.toContain('QUEUE');
      // Negative control: the same cli.json pointing at the live service works.
      writeFileSync(join(stale, 'cli.json'), JSON.stringify({ url, token: tokens['operator'] }));
      expect((await sluice(['runs'], { SLUICE_DATA_ROOT: stale })).code).toBe(0);
    } finally {
      rmSync(stale, { recursive: true, force: true });
    }
  });
});

describe('sluice init', () => {
  it('refuses to run twice unless --force', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sluice-init-'));
    try {
      const env = { SLUICE_DATA_ROOT: dir };
      const first = await sluice(['init', '--admin', 'first', '--admin-id-number', syntheticResidentId(1)], env);
      expect(first.err).toBe('');
      expect(first.code).toBe(0);
      const cfg = readFileSync(join(dir, 'cli.json'), 'utf8');
      const again = await sluice(['init', '--admin-id-number', syntheticResidentId(2)], env);
      expect(again.code).toBe(1);
      expect(again.err).toContain('SLUICE_ERR_CONFLICT');
      expect(again.err).toContain('--force');
      expect(readFileSync(join(dir, 'cli.json'), 'utf8')).toBe(cfg);
      // Without cli.json, the existing admin still counts.
      rmSync(join(dir, 'cli.json'));
      const noCfg = await sluice(['init', '--admin-id-number', syntheticResidentId(2)], env);
      expect(noCfg.code).toBe(1);
      expect(noCfg.err).toContain('admin(s) exist');
      expect(existsSync(join(dir, 'cli.json'))).toBe(false);
      const forced = await sluice(['init', '--force', '--admin-id-number', syntheticResidentId(2), '--json'], env);
      expect(forced.code).toBe(0);
      expect((JSON.parse(forced.out) as { user: { role: string } }).user.role).toBe('admin');
      expect(readFileSync(join(dir, 'cli.json'), 'utf8')).not.toBe(cfg);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
