import { spawn } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { openDuck, quoteLiteral } from '../../lib/duck.js';
import { unexpectedOutcomes, type DemoResult } from '../../service/cli/demo.js';
import { findRawCopies, TEST_REDIS_URL } from '../helpers/raw-scan.js';

const BIN = new URL('../../bin/sluice.js', import.meta.url).pathname;
// The bound a user would wait before calling it hung. The demo takes about a
// minute here alone; with the rest of the suite on two cores it takes longer.
const KILL_AFTER_MS = 240_000;

describe('`sluice demo` as a user runs it', () => {
  const home = mkdtempSync(join(tmpdir(), 'sluice-demo-exit-'));
  const root = join(home, 'demo');
  afterAll(() => rmSync(home, { recursive: true, force: true }));

  let exit: { code: number | null; signal: NodeJS.Signals | null; killed: boolean; stdout: string; stderr: string } | null = null;

  it('exits by itself with code 0 once it is done', async () => {
    const env: NodeJS.ProcessEnv = { ...process.env, SLUICE_DATA_ROOT: home, REDIS_URL: TEST_REDIS_URL, SLUICE_LOG_LEVEL: 'warn' };
    delete env['DATABASE_URL'];
    const child = spawn(process.execPath, [BIN, 'demo', '--rows', '20000', '--seed', '7'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (b: Buffer) => (stdout += b.toString()));
    child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
    let killed = false;
    const timer = setTimeout(() => {
      killed = true;
      child.kill('SIGKILL');
    }, KILL_AFTER_MS);
    exit = await new Promise((res) => child.once('exit', (code, signal) => res({ code, signal, killed, stdout, stderr })));
    clearTimeout(timer);
    expect(exit!.killed, `the demo did not exit within ${KILL_AFTER_MS / 1000} s`).toBe(false);
    expect(exit!.code, exit!.stderr.slice(-2000)).toBe(0);
    expect(exit!.stdout).toContain('demo: OK — one output released, one blocked.');
    // The shutdown said what it closed, and nothing was left holding the process.
    expect(exit!.stderr).toContain('sluice: shutdown: done');
    expect(exit!.stderr).not.toContain('not every resource closed cleanly');
    expect(exit!.stderr).not.toContain('shutdown.lingering');
  }, KILL_AFTER_MS + 30_000);

  it('leaves no provider file and no whole raw row outside raw/', async () => {
    expect(exit?.code).toBe(0);
    expect(existsSync(join(root, 'providers'))).toBe(false);
    // raw/ holds the five registered tables, each under its hash, and nothing else.
    const raw = readdirSync(join(root, 'raw'));
    expect(raw).toHaveLength(5);
    for (const f of raw) expect(f).toMatch(/^[0-9a-f]{64}\.parquet$/);
    expect(readdirSync(join(root, 'tmp'))).toEqual([]);
    // Every Parquet and CSV file elsewhere (work/, staging/, release/, downloads/) holds no whole raw row.
    expect(await findRawCopies(root)).toEqual([]);

    // Positive controls: a provider's file left beside the zones, a CSV copy and a copy with renamed headers are found.
    const population = join(root, 'raw', raw[0]!);
    mkdirSync(join(root, 'providers'));
    copyFileSync(population, join(root, 'providers', 'population.parquet'));
    const duck = await openDuck();
    try {
      await duck.conn.run(`COPY (SELECT * FROM read_parquet(${quoteLiteral(population)}) LIMIT 50) TO ${quoteLiteral(join(root, 'tmp', 'leak.csv'))} (FORMAT csv, HEADER true)`);
      const cols = (await duck.conn.runAndReadAll(`DESCRIBE SELECT * FROM read_parquet(${quoteLiteral(population)})`)).getRowObjects().map((r) => String(r['column_name']));
      const renamed = cols.map((c, i) => `"${c}" AS c${i}`).join(', ');
      await duck.conn.run(`COPY (SELECT ${renamed} FROM read_parquet(${quoteLiteral(population)}) LIMIT 3) TO ${quoteLiteral(join(root, 'work', 'renamed.bin'))} (FORMAT parquet)`);
    } finally {
      duck.close();
    }
    const found = await findRawCopies(root);
    expect(found.map((f) => [f.file, f.match]).sort()).toEqual([
      ['providers/population.parquet', 'name'],
      ['tmp/leak.csv', 'name'],
      ['work/renamed.bin', 'position'],
    ]);
    expect(found.find((f) => f.file === 'tmp/leak.csv')!.rows).toBe(50);
  }, 120_000);
});

describe('the demo says which outcome was unexpected and why', () => {
  const ok: DemoResult = {
    dataRoot: '/x',
    rawFiles: {},
    released: [{ runId: 'r1', outputId: 'care_demand', releaseId: 'rel1', file: '/x/a.csv', rows: 10 }],
    blocked: [{ runId: 'r2', outputId: 'contact_list', reportId: 'p2', failedChecks: ['B1', 'B3'], htmlReport: '/x/b.html' }],
    runs: [
      { spec: 'care-demand.yaml', runId: 'r1', status: 'released', errorCode: null },
      { spec: 'contact-list.yaml', runId: 'r2', status: 'blocked', errorCode: null },
    ],
    audits: [
      { runId: 'r1', outputId: 'care_demand', status: 'pass', failedChecks: [] },
      { runId: 'r2', outputId: 'contact_list', status: 'fail', failedChecks: ['B1', 'B3'] },
    ],
    auditLogOk: true,
    queuePrefix: 'p',
  };

  it('finds nothing wrong in the promised outcome', () => {
    expect(unexpectedOutcomes(ok)).toEqual([]);
  });

  it('names a table that was blocked instead of released, with its failed checks', () => {
    const r: DemoResult = { ...ok, released: [], blocked: [...ok.blocked, { runId: 'r1', outputId: 'care_demand', reportId: 'p1', failedChecks: ['A6'], htmlReport: '/x/c.html' }], audits: [{ ...ok.audits[0]!, status: 'fail', failedChecks: ['A6'] }, ok.audits[1]!] };
    const problems = unexpectedOutcomes(r);
    expect(problems).toContain('care_demand was expected to be released but was not: its audit is FAIL (failed A6)');
    expect(problems.some((p) => p.startsWith('care_demand was blocked'))).toBe(true);
  });

  it('names a run that failed before any audit, with its error code', () => {
    const r: DemoResult = { ...ok, blocked: [], audits: [ok.audits[0]!], runs: [ok.runs[0]!, { ...ok.runs[1]!, status: 'failed', errorCode: 'SLUICE_ERR_SQL_FAILED' }] };
    expect(unexpectedOutcomes(r)).toEqual(['contact_list was expected to be blocked but was not: its run ended failed (SLUICE_ERR_SQL_FAILED) with no audit report']);
  });

  it('notices a block by other checks than B1, an extra release and a broken audit log', () => {
    const r: DemoResult = {
      ...ok,
      released: [...ok.released, { runId: 'r2', outputId: 'contact_list', releaseId: 'rel2', file: '/x/d.csv', rows: 5 }],
      blocked: [{ ...ok.blocked[0]!, failedChecks: ['B3'] }],
      auditLogOk: false,
    };
    expect(unexpectedOutcomes(r)).toEqual([
      'contact_list was released but the demo expects only care_demand to be',
      'contact_list was blocked, but not by B1 (the mobile numbers): failed B3',
      "the audit log's hash chain does not verify",
    ]);
  });
});
