import { readFileSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { loadConfig } from '../../lib/config.js';
import { SluiceError } from '../../lib/errors.js';
import { configureLog } from '../../lib/log.js';
import type { ColumnClass } from '../../lib/vocabulary.js';
import { exitWhenIdle, Shutdown, signalExitCode, trapSignals } from '../../lib/shutdown.js';
import { openDuck, queryJson, quoteLiteral } from '../../lib/duck.js';
import { generate, type GeneratedManifest } from '../../synthetic/generate.js';
import { syntheticResidentId } from '../../synthetic/person-ids.js';
import { summarizeReport } from '../../audit/report.js';
import type { AuditReport } from '../../audit/types.js';
import { Engine } from '../../pipeline/engine.js';
import { startWorkers } from '../../workers/start-workers.js';
import { buildApp } from '../app.js';
import { SluiceClient, type ResponseTap } from './client.js';
import { followRun } from './progress.js';

const EXAMPLES = new URL('../../examples/', import.meta.url).pathname;

/** Options of {@link demo}; the CLI fills them from flags. */
export interface DemoOptions {
  /** Residents to generate; default 200,000. */
  rows: number;
  seed: number;
  /** Data root of the demo (wiped first); default `<SLUICE_DATA_ROOT or .sluice>/demo`. */
  dataRoot: string;
  /** Where progress and results are written; default stdout/stderr. */
  out?: (line: string) => void;
  /** Sees every HTTP response body (tests scan them). */
  tap?: ResponseTap;
  /** Redis URL; default as everywhere (REDIS_URL, 127.0.0.1:6379, or a private server). */
  redisUrl?: string;
  /** PostgreSQL URL and schema for the control plane; default: embedded PGlite (DATABASE_URL is ignored). */
  databaseUrl?: string;
  schema?: string;
  /** Leave the demo's queues in Redis (tests inspect them); default false. */
  keepQueues?: boolean;
  /**
   * Where the demo registers what it opens, to be closed in reverse order when
   * it ends (the CLI runs the same shutdown on Ctrl-C); default a private one.
   */
  shutdown?: Shutdown;
}

/** What the demo did, for the CLI's exit code and for tests. */
export interface DemoResult {
  dataRoot: string;
  released: { runId: string; outputId: string; releaseId: string; file: string; rows: number }[];
  blocked: { runId: string; outputId: string; reportId: string; failedChecks: string[]; htmlReport: string }[];
  /** How each job's run ended. */
  runs: { spec: string; runId: string; status: string; errorCode: string | null }[];
  /** Every output's audit: status and the checks that failed. */
  audits: { runId: string; outputId: string; status: string; failedChecks: string[] }[];
  auditLogOk: boolean;
  queuePrefix: string;
  /** Each registered dataset's file in raw/ (for the tests' raw-value scans; never printed). */
  rawFiles: Record<string, string>;
}

/**
 * The provider's mistake the demo's second job shows: the population provider
 * classed `mobile` as `other`. Classed as the direct identifier it is, the
 * agreement could not grant it untreated and the planner would refuse the
 * call list (lineage); misclassified, only the audit's content checks (B1)
 * can find the mobile numbers, and they do.
 */
const MISCLASSIFIED: Readonly<Record<string, Readonly<Record<string, ColumnClass>>>> = { population: { mobile: 'other' } };

/**
 * The demo: generate synthetic Taizhou data, start the domain in this process
 * (embedded PGlite, the service on a free port, workers), register the data as
 * its providers would, create an agreement for "elderly-care demand by area",
 * and run two jobs through the whole pipeline as an operator — one table that
 * passes and is released, one extract that leaks mobile numbers and is blocked.
 */
export async function demo(options: DemoOptions): Promise<DemoResult> {
  const say = options.out ?? ((l: string) => process.stdout.write(l + '\n'));
  const root = resolve(options.dataRoot);
  rmSync(root, { recursive: true, force: true });
  mkdirSync(root, { recursive: true });
  say(`Sluice demo — data root ${root}`);

  const shutdown = options.shutdown ?? new Shutdown({ say: null });
  // The providers' files hold every raw row: they are written inside raw/, each
  // is removed as soon as registration has copied it under its hash, and the
  // folder goes when the demo ends (however it ends).
  const incoming = join(root, 'raw', 'incoming');
  shutdown.add('providers\' files in raw/incoming', () => rmSync(incoming, { recursive: true, force: true }));
  try {
    return await runDemoIn(root, incoming, shutdown, options, say);
  } finally {
    await shutdown.run('demo finished');
  }
}

async function runDemoIn(root: string, incoming: string, shutdown: Shutdown, options: DemoOptions, say: (line: string) => void): Promise<DemoResult> {
  say(`\n1. Generating synthetic Taizhou public data: ${options.rows.toLocaleString('en')} residents (seed ${options.seed}) …`);
  const t0 = performance.now();
  const manifest: GeneratedManifest = await generate({ outDir: incoming, rows: options.rows, seed: options.seed });
  for (const d of manifest.datasets) say(`   ${d.name.padEnd(20)} ${String(d.rows).padStart(9)} rows  (${d.origin}, ${d.provider})`);
  say(`   done in ${((performance.now() - t0) / 1000).toFixed(1)} s`);

  // The demo owns its control plane: a PostgreSQL in DATABASE_URL is not touched.
  const queuePrefix = `sluice-demo-${process.pid}-${Date.now().toString(36)}`;
  const engine = await Engine.open({
    dataRoot: root,
    databaseUrl: options.databaseUrl ?? '',
    queuePrefix,
    ...(options.schema ? { schema: options.schema } : {}),
    ...(options.redisUrl ? { redisUrl: options.redisUrl } : {}),
  });
  shutdown.add('queues, Redis, DuckDB and the control plane', async () => {
    if (!options.keepQueues) {
      await engine.stepsQueue.obliterate({ force: true }).catch(() => undefined);
      await engine.releaseQueue.obliterate({ force: true }).catch(() => undefined);
    }
    await engine.close();
  });
  configureLog({ level: 'warn' });
  const workers = startWorkers(engine, { concurrency: 1 });
  shutdown.add('workers', async () => {
    await workers.close();
  });
  const app = await buildApp(engine);
  shutdown.add('HTTP server', () => app.close());
  await app.listen({ port: 0, host: '127.0.0.1' });
  const url = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
  {
    say(`\n2. The domain is up: API ${url}, control plane ${engine.cp.db.kind}, queue ${engine.redis.private ? 'a private redis-server' : engine.redis.url}`);
    const admin = await engine.cp.createUser({ name: '数据局管理员', role: 'admin', organization: '台州市数据局', personId: syntheticResidentId(0) });
    const base = new SluiceClient({ url, token: null }, options.tap);
    const asAdmin = base.as(admin.token);
    const mk = async (name: string, role: string, organization: string, person: number) =>
      (await asAdmin.request<{ user: { id: string }; token: string }>('POST', '/v1/users', { name, role, organization, personId: syntheticResidentId(person) })).token;
    const operatorToken = await mk('张工', 'operator', '台州数智科技有限公司', 1);
    await mk('李审核', 'reviewer', '台州市公共数据授权运营专家组', 2);
    writeFileSync(join(root, 'cli.json'), JSON.stringify({ url, token: operatorToken }, null, 2), { mode: 0o600 });

    const rawFiles: Record<string, string> = {};
    say('\n3. Providers register their datasets (every column classified):');
    for (const d of manifest.datasets) {
      const classes = Object.fromEntries(d.columns.map((c) => [c.name, MISCLASSIFIED[d.name]?.[c.name] ?? c.class]));
      const registered = (await asAdmin.request('POST', '/v1/datasets', { name: d.name, file: d.file, provider: d.provider, origin: d.origin, classes, unitColumn: d.unitColumn })) as { dataset: { path: string } };
      rawFiles[d.name] = join(root, registered.dataset.path);
      rmSync(d.file, { force: true });
      const counts = d.columns.reduce<Record<string, number>>((acc, c) => ({ ...acc, [c.class]: (acc[c.class] ?? 0) + 1 }), {});
      say(`   ${d.name.padEnd(20)} ${Object.entries(counts).map(([k, v]) => `${v} ${k}`).join(', ')}`);
      for (const [col, cls] of Object.entries(MISCLASSIFIED[d.name] ?? {})) {
        say(`   ${''.padEnd(20)} (the provider classed ${col} as ${cls}, a mistake: the planner cannot see it, the audit must)`);
      }
    }

    const agreement = JSON.parse(readFileSync(join(EXAMPLES, 'agreement.json'), 'utf8')) as Record<string, unknown>;
    const today = new Date();
    const until = new Date(today);
    until.setUTCFullYear(until.getUTCFullYear() + 3);
    until.setUTCDate(until.getUTCDate() - 1);
    agreement['validFrom'] = today.toISOString().slice(0, 10);
    agreement['validTo'] = until.toISOString().slice(0, 10);
    await asAdmin.request('POST', '/v1/agreements', agreement);
    say(`\n4. Agreement ${String(agreement['id'])}: scenario "${String(agreement['scenario'])}", operator ${String(agreement['operator'])}`);

    const operator = base.as(operatorToken);
    rmSync(incoming, { recursive: true, force: true });
    const result: DemoResult = { dataRoot: root, released: [], blocked: [], runs: [], audits: [], auditLogOk: false, queuePrefix, rawFiles };
    const jobs = ['care-demand.yaml', 'contact-list.yaml'];
    for (const [i, file] of jobs.entries()) {
      const spec = readFileSync(join(EXAMPLES, file), 'utf8');
      const plan = await operator.request<{ text: string }>('POST', '/v1/plan', { spec });
      say(`\n${5 + i}. Job examples/${file} — the plan:`);
      for (const line of plan.text.split('\n')) say(`   ${line}`);
      const { runId } = await operator.request<{ runId: string }>('POST', '/v1/runs', { spec });
      say(`   submitted as ${runId}; progress:`);
      const view = await followRun(operator, runId, process.stderr);
      say(`   run ${runId}: ${view.status}${view.errorCode ? ` (${view.errorCode}: ${view.errorMessage})` : ''}`);
      result.runs.push({ spec: file, runId, status: view.status, errorCode: view.errorCode ?? null });
      const reports = await operator.request<{ reports: { id: string; outputId: string; artifactHash: string; status: string }[] }>('GET', `/v1/runs/${runId}/reports`);
      for (const r of reports.reports) {
        const full = await operator.request<{ report: AuditReport; verified: boolean }>('GET', `/v1/reports/${r.id}`);
        const html = await (await operator.raw('GET', `/v1/reports/${r.id}/html`)).text();
        const htmlFile = join(root, 'reports', `${runId}-${r.outputId}.html`);
        mkdirSync(join(root, 'reports'), { recursive: true });
        writeFileSync(htmlFile, html);
        options.tap?.('GET report html', html);
        say(`   audit of output ${r.outputId}: ${full.report.status.toUpperCase()} (signature ${full.verified ? 'verified' : 'INVALID'})`);
        for (const line of summarizeReport(full.report).split('\n')) say(`     ${line}`);
        say(`     report page: ${htmlFile}`);
        result.audits.push({ runId, outputId: r.outputId, status: full.report.status, failedChecks: full.report.checks.filter((c) => c.status === 'fail').map((c) => c.id) });
        if (full.report.status === 'fail') {
          result.blocked.push({ runId, outputId: r.outputId, reportId: r.id, failedChecks: full.report.checks.filter((c) => c.status === 'fail').map((c) => c.id), htmlReport: htmlFile });
        }
      }
      const releases = await operator.request<{ releases: { id: string; outputId: string; artifactHash: string }[] }>('GET', `/v1/releases?run=${runId}`);
      for (const rel of releases.releases) {
        const res = await operator.raw('GET', `/v1/releases/${rel.id}/download`);
        const name = /filename="([^"]+)"/.exec(res.headers.get('content-disposition') ?? '')?.[1] ?? `${rel.outputId}.bin`;
        const file = join(root, 'downloads', name);
        mkdirSync(join(root, 'downloads'), { recursive: true });
        writeFileSync(file, Buffer.from(await res.arrayBuffer()));
        const duck = await openDuck();
        let rows = 0;
        try {
          const src = file.endsWith('.csv') ? `read_csv(${quoteLiteral(file)})` : `read_parquet(${quoteLiteral(file)})`;
          rows = Number((await queryJson<{ n: number }>(duck.conn, `SELECT count(*)::INTEGER AS n FROM ${src}`))[0]?.n ?? 0);
          const preview = await queryJson(duck.conn, `SELECT * FROM ${src} LIMIT 6`);
          say(`   RELEASED ${rel.outputId} (release ${rel.id}, ${rows} rows) → downloaded to ${file}; first rows:`);
          for (const row of preview) say(`     ${Object.values(row).join('  ')}`);
        } finally {
          duck.close();
        }
        result.released.push({ runId, outputId: rel.outputId, releaseId: rel.id, file, rows });
      }
    }

    const verify = await asAdmin.request<{ ok: boolean; rows: number }>('GET', '/v1/audit-log/verify');
    result.auditLogOk = verify.ok;
    say(`\nSummary`);
    say(`   released: ${result.released.map((r) => `${r.outputId} (${r.rows} rows, ${r.file})`).join('; ') || 'nothing'}`);
    say(`   blocked:  ${result.blocked.map((b) => `${b.outputId} — failed ${b.failedChecks.join(', ')}; report ${b.htmlReport}`).join('; ') || 'nothing'}`);
    say(`   audit log: ${verify.rows} rows, hash chain ${verify.ok ? 'verified' : 'BROKEN'}`);
    say(`   where to look: ${root} (raw/, work/, staging/, release/, logs/sluice.log, reports/, downloads/)`);
    return result;
  }
}

/** The example spec each of the demo's outputs comes from. */
const SPEC_OF: Record<string, string> = { care_demand: 'care-demand.yaml', contact_list: 'contact-list.yaml' };

/**
 * What was not as the demo promises, each with why; empty when the care-demand
 * table was released, the contact list blocked by B1, and the audit log verified.
 */
export function unexpectedOutcomes(r: DemoResult): string[] {
  const problems: string[] = [];
  const why = (outputId: string): string => {
    const audit = r.audits.find((a) => a.outputId === outputId);
    if (audit) return `its audit is ${audit.status.toUpperCase()}${audit.failedChecks.length ? ` (failed ${audit.failedChecks.join(', ')})` : ''}`;
    const run = r.runs.find((x) => x.spec === SPEC_OF[outputId]);
    return run ? `its run ended ${run.status}${run.errorCode ? ` (${run.errorCode})` : ''} with no audit report` : 'its job did not run';
  };
  const released = r.released.map((x) => x.outputId);
  const blocked = r.blocked.map((x) => x.outputId);
  if (!released.includes('care_demand')) problems.push(`care_demand was expected to be released but was not: ${why('care_demand')}`);
  for (const id of released.filter((x) => x !== 'care_demand')) problems.push(`${id} was released but the demo expects only care_demand to be`);
  const contact = r.blocked.find((b) => b.outputId === 'contact_list');
  if (!contact) problems.push(`contact_list was expected to be blocked but was not: ${why('contact_list')}`);
  else if (!contact.failedChecks.includes('B1')) problems.push(`contact_list was blocked, but not by B1 (the mobile numbers): failed ${contact.failedChecks.join(', ')}`);
  for (const id of blocked.filter((x) => x !== 'contact_list')) problems.push(`${id} was blocked: ${why(id)}`);
  if (!r.auditLogOk) problems.push('the audit log\'s hash chain does not verify');
  return problems;
}

/** `sluice demo [--rows N] [--seed S] [--data-root DIR]`: exit 0 when care_demand was released and contact_list blocked; 1 saying what was not. */
export async function runDemo(args: string[]): Promise<number> {
  const { values } = parseArgs({ args, options: { rows: { type: 'string' }, seed: { type: 'string' }, 'data-root': { type: 'string' } } });
  const rows = values.rows === undefined ? 200_000 : Number(values.rows);
  const seed = values.seed === undefined ? 2024 : Number(values.seed);
  if (!Number.isInteger(rows) || rows < 1000) throw new SluiceError('SLUICE_ERR_INPUT_INVALID', `--rows: expected a whole number of at least 1000, found "${String(values.rows).slice(0, 20)}"`);
  if (!Number.isInteger(seed)) throw new SluiceError('SLUICE_ERR_INPUT_INVALID', `--seed: expected a whole number, found "${String(values.seed).slice(0, 20)}"`);
  const dataRoot = values['data-root'] ?? join(resolve(loadConfig().dataRoot), 'demo');
  // Ctrl-C closes what the demo opened, as its end does; a second Ctrl-C exits at once.
  const signals = trapSignals();
  const shutdown = new Shutdown();
  void signals.first.then(async (signal) => {
    await shutdown.run(`${signal} received`);
    process.exit(signalExitCode(signal));
  });
  let code: number;
  try {
    const problems = unexpectedOutcomes(await demo({ rows, seed, dataRoot, shutdown }));
    if (problems.length === 0) process.stdout.write('\ndemo: OK — one output released, one blocked.\n');
    else process.stdout.write(`\ndemo: UNEXPECTED outcome:\n${problems.map((p) => `  - ${p}`).join('\n')}\n`);
    code = problems.length === 0 ? 0 : 1;
  } finally {
    signals.dispose();
  }
  exitWhenIdle(code);
  return code;
}
