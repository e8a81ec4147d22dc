// Over 500 lines because this is the one command table (every command, its flags and handler), so help and parsing cannot drift.
import { createWriteStream, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { parse as parseYaml } from 'yaml';
import { loadConfig } from '../../lib/config.js';
import { SluiceError, type SluiceErrorCode } from '../../lib/errors.js';
import { summarizeReport } from '../../audit/report.js';
import type { AuditReport } from '../../audit/types.js';
import { ROLES } from '../../domain/types.js';
import { clientConfig, dataRootDir, SluiceClient, type RunView } from './client.js';
import { followRun } from './progress.js';
import { EXIT, UsageError, type CommandContext, type CommandSpec } from './table.js';

/** How many characters of a hash the CLI shows (any unique prefix of ≥ 8 is accepted back). */
export const SHOWN_HASH = 12;
const MIN_PREFIX = 8;

const short = (hash: string | null | undefined): string => (hash ? hash.slice(0, SHOWN_HASH) : '-');
const str = (ctx: CommandContext, name: string): string | undefined => ctx.flags[name] as string | undefined;
const int = (ctx: CommandContext, name: string): number => ctx.flags[name] as number;
const bool = (ctx: CommandContext, name: string): boolean => ctx.flags[name] === true;
const arg = (ctx: CommandContext, name: string): string => ctx.args[name] as string;

function readTextFile(path: string, what: string): string {
  const p = resolve(path);
  if (!existsSync(p)) throw new SluiceError('SLUICE_ERR_INPUT_INVALID', `${what}: expected a readable file, found no file at ${p}`);
  return readFileSync(p, 'utf8');
}

/**
 * A full artifact hash from what the user typed: 64 hex characters as they are,
 * a shorter prefix (≥ 8) resolved by the service among audited artifacts.
 */
async function resolveHash(client: SluiceClient, typed: string, command: string): Promise<string> {
  const h = typed.toLowerCase();
  if (!/^[0-9a-f]+$/.test(h) || h.length < MIN_PREFIX || h.length > 64) {
    throw new UsageError(command, `HASH: expected ${MIN_PREFIX} to 64 hex characters (a unique prefix of an artifact hash), found ${typed.length} characters`);
  }
  if (h.length === 64) return h;
  return (await client.request<{ artifactHash: string }>('GET', `/v1/reviews/resolve?prefix=${h}`)).artifactHash;
}

interface ReportListItem {
  id: string;
  outputId: string;
  artifactHash: string;
  status: string;
}

/** What a settled run came to, for printing and for the exit code. */
interface Outcome {
  run: { id: string; status: string; errorCode: string | null; errorMessage: string | null };
  blocked: { outputId: string; reportId: string; artifactHash: string; failedChecks: { id: string; name: string; columns: string[]; summary: string }[] }[];
  awaitingReview: { outputId: string; reportId: string; artifactHash: string; status: string }[];
  releases: { id: string; outputId: string; artifactHash: string }[];
}

async function outcomeOf(client: SluiceClient, view: RunView): Promise<Outcome> {
  const outcome: Outcome = {
    run: { id: view.id, status: view.status, errorCode: view.errorCode, errorMessage: view.errorMessage },
    blocked: [], awaitingReview: [], releases: [],
  };
  if (view.status === 'blocked' || view.status === 'awaiting-review') {
    const { reports } = await client.request<{ reports: ReportListItem[] }>('GET', `/v1/runs/${encodeURIComponent(view.id)}/reports`);
    for (const r of reports) {
      if (r.status === 'fail') {
        const full = await client.request<{ report: AuditReport }>('GET', `/v1/reports/${encodeURIComponent(r.id)}`);
        // Summaries name checks, columns and counts — never a value (audit/types.ts).
        const failedChecks = full.report.checks.filter((c) => c.status === 'fail').map((c) => ({ id: c.id, name: c.name, columns: c.columns, summary: c.summary }));
        outcome.blocked.push({ outputId: r.outputId, reportId: r.id, artifactHash: r.artifactHash, failedChecks });
      } else if (view.status === 'awaiting-review') {
        outcome.awaitingReview.push({ outputId: r.outputId, reportId: r.id, artifactHash: r.artifactHash, status: r.status });
      }
    }
  }
  if (view.status === 'released') {
    const { releases } = await client.request<{ releases: { id: string; outputId: string; artifactHash: string }[] }>('GET', `/v1/releases?run=${encodeURIComponent(view.id)}`);
    outcome.releases = releases.map((r) => ({ id: r.id, outputId: r.outputId, artifactHash: r.artifactHash }));
  }
  return outcome;
}

function printOutcome(ctx: CommandContext, o: Outcome): number {
  const code = o.run.status === 'blocked' ? EXIT.blocked : o.run.status === 'failed' || o.run.status === 'cancelled' ? EXIT.error : EXIT.ok;
  if (ctx.json) {
    ctx.printJson(o);
    return code;
  }
  ctx.out(`run ${o.run.id}: ${o.run.status}${o.run.errorCode ? ` (${o.run.errorCode}: ${o.run.errorMessage})` : ''}`);
  for (const b of o.blocked) {
    ctx.out(`BLOCKED output ${b.outputId} (artifact ${short(b.artifactHash)}, report ${b.reportId}); failing checks:`);
    for (const c of b.failedChecks) ctx.out(`  ${c.id} ${c.name}${c.columns.length ? ` [${c.columns.join(', ')}]` : ''}: ${c.summary}`);
  }
  if (o.blocked.length) ctx.out(`the full reports: \`sluice report ${o.run.id}\`; only two reviewers granting an exception can release a blocked output`);
  for (const a of o.awaitingReview) {
    ctx.out(`awaiting review: output ${a.outputId} (audit ${a.status}, artifact ${short(a.artifactHash)}); a reviewer runs \`sluice review approve ${short(a.artifactHash)} --reason TEXT\``);
  }
  for (const r of o.releases) ctx.out(`released: output ${r.outputId} as release ${r.id} (artifact ${short(r.artifactHash)}); \`sluice download ${r.id}\``);
  return code;
}

function printAuditLog(ctx: CommandContext, r: { ok: boolean; rows: number; firstBadSeq: number | null }): number {
  if (ctx.json) ctx.printJson(r);
  else ctx.out(`audit log: ${r.ok ? 'verified' : 'BROKEN'} (${r.rows} rows${r.firstBadSeq !== null ? `, first bad row ${r.firstBadSeq}` : ''})`);
  return r.ok ? EXIT.ok : EXIT.error;
}

function flatten(prefix: string, v: unknown, out: Map<string, unknown>): void {
  if (v !== null && typeof v === 'object' && !Array.isArray(v)) {
    for (const [k, x] of Object.entries(v as Record<string, unknown>)) flatten(prefix ? `${prefix}.${k}` : k, x, out);
  } else out.set(prefix, v);
}

/** Metrics and risk before and after, side by side. */
function formatAnonymizeResult(result: { method: string; suppressed: number; before: unknown; after: unknown; levels?: Record<string, number> | undefined; generalizedColumns?: Record<string, string> }): string {
  const lines = [`method: ${result.method}`, `suppressed records: ${result.suppressed}`];
  if (result.levels) lines.push(`levels: ${Object.entries(result.levels).map(([k, v]) => `${k}=${v}`).join(', ')}`);
  for (const [col, how] of Object.entries(result.generalizedColumns ?? {})) lines.push(`  ${col}: ${how}`);
  const before = new Map<string, unknown>();
  const after = new Map<string, unknown>();
  flatten('', result.before, before);
  flatten('', result.after, after);
  const fmt = (v: unknown) => (typeof v === 'number' ? (Number.isInteger(v) ? String(v) : v.toFixed(4)) : String(v));
  lines.push('', `${'metric'.padEnd(28)} ${'before'.padStart(14)} ${'after'.padStart(14)}`);
  for (const [k, v] of before) lines.push(`${k.padEnd(28)} ${fmt(v).padStart(14)} ${fmt(after.get(k)).padStart(14)}`);
  return lines.join('\n');
}


/**
 * THE command table. Parsing, `sluice --help`, `sluice <command> --help`, the
 * README's CLI table and dispatch all read it, so they cannot drift.
 */
export const COMMANDS: readonly CommandSpec[] = [
  // ------------------------------------------------------------ in the domain
  {
    name: 'demo', group: 'local',
    summary: 'generate data, start everything in this process, run the two demo jobs',
    flags: {
      rows: { type: 'integer', value: 'N', description: 'residents to generate', default: 200_000, min: 1000 },
      seed: { type: 'integer', value: 'S', description: 'random seed', default: 2024 },
      'data-root': { type: 'string', value: 'DIR', description: 'data root of the demo (wiped first)', defaultText: '<data root>/demo' },
    },
    async run(ctx) {
      const { runDemo } = await import('./demo.js');
      return runDemo(ctx.rawArgs);
    },
  },
  {
    name: 'generate', group: 'local', json: true,
    summary: 'synthetic Taizhou public data as Parquet (same seed ⇒ same bytes)',
    flags: {
      rows: { type: 'integer', value: 'N', description: 'residents to generate', default: 10_000, min: 1 },
      seed: { type: 'integer', value: 'S', description: 'random seed', default: 1 },
      out: { type: 'string', value: 'DIR', description: 'output directory', default: 'synthetic-data' },
    },
    async run(ctx) {
      const out = resolve(str(ctx, 'out')!);
      const { generate } = await import('../../synthetic/generate.js');
      const cliProgress = (await import('cli-progress')).default;
      const bar = process.stderr.isTTY && !ctx.json ? new cliProgress.SingleBar({ format: ' {bar} {percentage}% | {dataset}' }, cliProgress.Presets.shades_classic) : null;
      bar?.start(100, 0, { dataset: '' });
      const t0 = performance.now();
      const manifest = await generate({
        outDir: out, rows: int(ctx, 'rows'), seed: int(ctx, 'seed'),
        onProgress: (p) => bar?.update(Math.round((p.done / Math.max(1, p.total)) * 100), { dataset: p.dataset }),
      });
      bar?.stop();
      writeFileSync(join(out, 'manifest.json'), JSON.stringify(manifest, null, 2));
      if (ctx.json) {
        ctx.printJson({ out, manifest: join(out, 'manifest.json'), datasets: manifest.datasets.map((d) => ({ name: d.name, rows: d.rows, file: d.file })) });
        return EXIT.ok;
      }
      for (const d of manifest.datasets) ctx.out(`${d.name.padEnd(20)} ${String(d.rows).padStart(10)} rows  ${d.file}`);
      ctx.out(`generated in ${((performance.now() - t0) / 1000).toFixed(1)} s into ${out} (manifest.json lists column classes)`);
      return EXIT.ok;
    },
  },
  {
    name: 'init', group: 'local', json: true,
    summary: 'create the first admin and write <data root>/cli.json (refuses a second time without --force)',
    details: 'Run once per data root, with the service stopped (embedded PGlite belongs to one process).',
    flags: {
      admin: { type: 'string', value: 'NAME', description: "the admin's name", default: 'admin' },
      'admin-id-number': { type: 'string', value: 'ID', description: "the admin's resident ID number (only a keyed token of it is kept)", required: true },
      url: { type: 'string', value: 'URL', description: 'where the service will listen, written to cli.json', default: 'http://127.0.0.1:8700' },
      force: { type: 'boolean', description: 'create another admin and overwrite cli.json even though init has run' },
    },
    async run(ctx) {
      const cfgPath = join(dataRootDir(), 'cli.json');
      if (existsSync(cfgPath) && !bool(ctx, 'force')) {
        throw new SluiceError('SLUICE_ERR_CONFLICT', `init has already run here: ${cfgPath} exists; use its token, or run \`sluice init --force\` to make another admin and overwrite it`);
      }
      const { openControlPlane } = await import('../../pipeline/engine.js');
      const opened = await openControlPlane();
      try {
        const admins = (await opened.cp.listUsers()).filter((u) => u.role === 'admin' && !u.disabled);
        if (admins.length > 0 && !bool(ctx, 'force')) {
          throw new SluiceError('SLUICE_ERR_CONFLICT', `init has already run here: ${admins.length} admin(s) exist (first ${admins[0]!.id}); an admin creates people with \`sluice user create\`, or run \`sluice init --force\` to make another admin`);
        }
        const { user, token } = await opened.cp.createUser({ name: str(ctx, 'admin')!, role: 'admin', organization: 'the authority', personId: str(ctx, 'admin-id-number')! });
        const cfg = join(opened.dataRoot.root, 'cli.json');
        writeFileSync(cfg, JSON.stringify({ url: str(ctx, 'url'), token }, null, 2), { mode: 0o600 });
        if (ctx.json) ctx.printJson({ user, token, cliConfig: cfg });
        else ctx.out(`admin ${user.id} created; its token is in ${cfg} (shown once: ${token})`);
      } finally {
        await opened.close();
      }
      return EXIT.ok;
    },
  },
  {
    name: 'serve', group: 'local',
    summary: 'the HTTP API; with embedded PGlite it runs the workers too',
    details: 'Prints the URL it listens on and what it started. Stops on SIGINT (Ctrl-C) or SIGTERM.',
    flags: {
      port: { type: 'integer', value: 'PORT', description: 'TCP port', default: 8700 },
      host: { type: 'string', value: 'HOST', description: 'address to listen on', default: '127.0.0.1' },
      workers: { type: 'integer', value: 'N', description: 'workers in this process', defaultText: '1 with embedded PGlite, 0 with PostgreSQL' },
    },
    async run(ctx) {
      const { serve } = await import('../serve.js');
      const host = str(ctx, 'host')!;
      const port = int(ctx, 'port');
      const workers = ctx.flags['workers'] as number | undefined;
      const running = serve({ port, host, ...(workers !== undefined ? { workers } : {}) });
      const { announceWhenListening } = await import('./announce.js');
      const announced = announceWhenListening({ host, port, workers: workers ?? (loadConfig().databaseUrl ? 0 : 1), out: ctx.out }, running);
      const code = await running;
      await announced;
      return code;
    },
  },
  {
    name: 'worker', group: 'local',
    summary: 'a worker process (needs DATABASE_URL: the shared PostgreSQL control plane)',
    flags: { concurrency: { type: 'integer', value: 'N', description: 'jobs run at once', default: 1, min: 1 } },
    async run(ctx) {
      const { runWorker } = await import('../serve.js');
      return await runWorker({ concurrency: int(ctx, 'concurrency') });
    },
  },
  {
    name: 'anonymize', group: 'local', json: true,
    summary: 'try k-anonymity settings on a sandbox file; metrics and risk before and after',
    flags: {
      input: { type: 'string', value: 'FILE', description: 'the table to anonymize (Parquet or CSV)', required: true },
      config: { type: 'string', value: 'FILE', description: 'the settings (YAML or JSON)', required: true },
      output: { type: 'string', value: 'FILE', description: 'where to write the anonymized table' },
    },
    async run(ctx) {
      const input = resolve(str(ctx, 'input')!);
      const configPath = resolve(str(ctx, 'config')!);
      const { anonymizeFile } = await import('../../transforms/anonymize-file.js');
      const config = parseYaml(readTextFile(configPath, '--config')) as Parameters<typeof anonymizeFile>[1];
      const output = str(ctx, 'output');
      const result = await anonymizeFile(input, config, { ...(output ? { outputPath: resolve(output) } : {}), baseDir: dirname(configPath) });
      if (ctx.json) ctx.printJson(result);
      else ctx.out(formatAnonymizeResult(result));
      return EXIT.ok;
    },
  },
  {
    name: 'audit-log verify', group: 'local', json: true,
    summary: "recompute the audit log's hash chain (asks the service when one runs, else opens the control plane)",
    async run(ctx) {
      const cfg = clientConfig();
      if (cfg.token && !loadConfig().databaseUrl) {
        // Embedded mode while the service runs: the service holds PGlite, so ask it.
        try {
          return printAuditLog(ctx, await new SluiceClient(cfg).request<{ ok: boolean; rows: number; firstBadSeq: number | null }>('GET', '/v1/audit-log/verify'));
        } catch (e) {
          if (!(e instanceof SluiceError) || e.code !== 'SLUICE_ERR_SERVICE_UNREACHABLE') throw e;
        }
      }
      const { openControlPlane } = await import('../../pipeline/engine.js');
      const opened = await openControlPlane();
      try {
        return printAuditLog(ctx, await opened.cp.verifyAuditLog());
      } finally {
        await opened.close();
      }
    },
  },

  // ------------------------------------------------------------ against the service
  {
    name: 'plan', group: 'service', json: true, roles: ['operator', 'admin'],
    summary: 'validate a spec and its scope; print the flow; run nothing',
    args: [{ name: 'SPEC', description: 'a job spec file (YAML)' }],
    async run(ctx) {
      const r = await ctx.client().request<{ plan: unknown; text: string }>('POST', '/v1/plan', { spec: readTextFile(arg(ctx, 'SPEC'), 'SPEC') });
      if (ctx.json) ctx.printJson(r.plan);
      else ctx.out(r.text);
      return EXIT.ok;
    },
  },
  {
    name: 'submit', group: 'service', json: true, roles: ['operator'],
    summary: 'submit a job; --wait follows it and exits 3 when an output is blocked',
    details: 'With --wait: prints the failing checks of a blocked output (ids, columns, counts), the release id of a released one, the hash to review of one awaiting review.',
    args: [{ name: 'SPEC', description: 'a job spec file (YAML)' }],
    flags: { wait: { type: 'boolean', description: 'follow the run with a progress bar until it settles' } },
    async run(ctx) {
      const client = ctx.client();
      const r = await client.request<{ runId: string }>('POST', '/v1/runs', { spec: readTextFile(arg(ctx, 'SPEC'), 'SPEC') });
      if (!bool(ctx, 'wait')) {
        if (ctx.json) ctx.printJson({ runId: r.runId });
        else ctx.out(r.runId);
        return EXIT.ok;
      }
      if (!ctx.json) ctx.out(r.runId);
      return printOutcome(ctx, await outcomeOf(client, await followRun(client, r.runId)));
    },
  },
  {
    name: 'status', group: 'service', json: true,
    summary: "follow a run's progress until it settles (exit 3 when blocked)",
    args: [{ name: 'RUN', description: 'a run id' }],
    async run(ctx) {
      const client = ctx.client();
      return printOutcome(ctx, await outcomeOf(client, await followRun(client, arg(ctx, 'RUN'))));
    },
  },
  {
    name: 'cancel', group: 'service', json: true, roles: ['operator', 'admin'],
    summary: 'cancel a run: remaining steps stop, a running DuckDB statement is interrupted',
    args: [{ name: 'RUN', description: 'a run id' }],
    async run(ctx) {
      const id = arg(ctx, 'RUN');
      const r = await ctx.client().request<{ cancelled: boolean }>('POST', `/v1/runs/${encodeURIComponent(id)}/cancel`);
      if (ctx.json) ctx.printJson({ runId: id, cancelled: r.cancelled });
      else ctx.out(r.cancelled ? `run ${id} cancelled` : `run ${id} had already finished`);
      return EXIT.ok;
    },
  },
  {
    name: 'report', group: 'service', json: true,
    summary: 'the audit reports of a run, summarized; signature checked',
    args: [{ name: 'RUN', description: 'a run id' }],
    flags: { html: { type: 'string', value: 'FILE', description: "write the reviewer's HTML page here (one file per output)" } },
    async run(ctx) {
      const client = ctx.client();
      const id = arg(ctx, 'RUN');
      const html = str(ctx, 'html');
      const list = await client.request<{ reports: ReportListItem[] }>('GET', `/v1/runs/${encodeURIComponent(id)}/reports`);
      const all: unknown[] = [];
      if (list.reports.length === 0 && !ctx.json) ctx.out(`run ${id} has no reports yet`);
      for (const r of list.reports) {
        const full = await client.request<{ report: AuditReport; verified: boolean }>('GET', `/v1/reports/${r.id}`);
        let htmlFile: string | null = null;
        if (html) {
          const res = await client.raw('GET', `/v1/reports/${r.id}/html`);
          htmlFile = list.reports.length > 1 ? html.replace(/(\.html)?$/, `-${r.outputId}.html`) : html;
          writeFileSync(htmlFile, await res.text());
        }
        if (ctx.json) {
          all.push({ id: r.id, outputId: r.outputId, verified: full.verified, report: full.report, html: htmlFile });
          continue;
        }
        ctx.out(`output ${r.outputId} — report ${r.id} (signature ${full.verified ? 'verified' : 'INVALID'})`);
        ctx.out(summarizeReport(full.report));
        if (htmlFile) ctx.out(`  HTML: ${htmlFile}`);
      }
      if (ctx.json) ctx.printJson({ runId: id, reports: all });
      return EXIT.ok;
    },
  },
  {
    name: 'review pending', group: 'service', json: true, roles: ['reviewer', 'admin'],
    summary: 'outputs awaiting review or blocked, with their audit status',
    async run(ctx) {
      const r = await ctx.client().request<{ pending: { runId: string; reportId: string; outputId: string; artifactHash: string; status: string }[] }>('GET', '/v1/reviews/pending');
      if (ctx.json) {
        ctx.printJson(r);
        return EXIT.ok;
      }
      if (r.pending.length === 0) ctx.out('nothing awaits review');
      for (const p of r.pending) ctx.out(`${short(p.artifactHash)}  ${p.status.padEnd(6)} ${p.outputId.padEnd(24)} run ${p.runId}  report ${p.reportId}`);
      return EXIT.ok;
    },
  },
  ...(['approve', 'reject'] as const).map((decision): CommandSpec => ({
    name: `review ${decision}`, group: 'service', json: true, roles: ['reviewer'],
    summary: decision === 'approve' ? 'approve a staged artifact for release (by a unique hash prefix)' : 'reject a staged artifact: it is never released',
    details: 'HASH may be any unique prefix (8 or more hex characters) of the artifact hash, as git accepts short hashes; `sluice review pending` lists them.',
    args: [{ name: 'HASH', description: 'an artifact hash or a unique prefix of it (≥ 8 hex characters)' }],
    flags: {
      reason: { type: 'string', value: 'TEXT', description: 'why (kept in the audit log)', required: true },
      ...(decision === 'approve' ? { exception: { type: 'boolean' as const, description: 'grant an exception for a blocked output (needs two reviewers)' } } : {}),
    },
    async run(ctx) {
      const client = ctx.client();
      const hash = await resolveHash(client, arg(ctx, 'HASH'), `review ${decision}`);
      const r = await client.request<{ reviewId: string; releaseQueued: boolean }>('POST', '/v1/reviews', {
        artifactHash: hash, decision, reason: str(ctx, 'reason'), ...(bool(ctx, 'exception') ? { exception: true } : {}),
      });
      if (ctx.json) ctx.printJson({ artifactHash: hash, ...r });
      else ctx.out(`review ${r.reviewId} of ${short(hash)} recorded${r.releaseQueued ? '; release queued' : ''}`);
      return EXIT.ok;
    },
  })),
  {
    name: 'download', group: 'service', json: true,
    summary: 'download a release (only release/ is ever served)',
    args: [{ name: 'RELEASE_ID', description: 'a release id (`sluice releases`)' }],
    flags: { out: { type: 'string', value: 'FILE', description: 'where to write it', defaultText: '<output id>.<format> here' } },
    async run(ctx) {
      const id = arg(ctx, 'RELEASE_ID');
      const res = await ctx.client().raw('GET', `/v1/releases/${encodeURIComponent(id)}/download`);
      if (!res.ok || !res.body) {
        const err = (JSON.parse((await res.text()) || '{}') as { error?: { code?: string; message?: string } }).error;
        throw new SluiceError((err?.code as SluiceErrorCode) ?? 'SLUICE_ERR_INTERNAL', err?.message ?? `HTTP ${res.status}`);
      }
      const name = /filename="([^"]+)"/.exec(res.headers.get('content-disposition') ?? '')?.[1] ?? `${id}.bin`;
      const file = resolve(str(ctx, 'out') ?? name);
      mkdirSync(dirname(file), { recursive: true });
      await pipeline(Readable.fromWeb(res.body as never), createWriteStream(file));
      const hash = res.headers.get('x-sluice-artifact-hash');
      if (ctx.json) ctx.printJson({ releaseId: id, file, artifactHash: hash });
      else ctx.out(`${file} (sha256 ${hash})`);
      return EXIT.ok;
    },
  },
  {
    name: 'runs', group: 'service', json: true,
    summary: 'list runs (an operator sees those of their organisation)',
    async run(ctx) {
      const r = await ctx.client().request<{ runs: { id: string; specName: string; status: string; createdAt: string }[] }>('GET', '/v1/runs');
      if (ctx.json) ctx.printJson(r);
      else for (const x of r.runs) ctx.out(`${x.id}  ${x.status.padEnd(16)} ${x.specName}  ${x.createdAt}`);
      return EXIT.ok;
    },
  },
  {
    name: 'releases', group: 'service', json: true,
    summary: 'list releases',
    flags: { run: { type: 'string', value: 'RUN', description: 'only the releases of this run' } },
    async run(ctx) {
      const run = str(ctx, 'run');
      const r = await ctx.client().request<{ releases: { id: string; runId: string; outputId: string; artifactHash: string }[] }>('GET', `/v1/releases${run ? `?run=${encodeURIComponent(run)}` : ''}`);
      if (ctx.json) ctx.printJson(r);
      else for (const x of r.releases) ctx.out(`${x.id}  ${x.runId}  ${x.outputId}  ${short(x.artifactHash)}`);
      return EXIT.ok;
    },
  },
  {
    name: 'datasets', group: 'service', json: true,
    summary: 'list registered datasets',
    async run(ctx) {
      const r = await ctx.client().request<{ datasets: { name: string; rows: number; origin: string; provider: string }[] }>('GET', '/v1/datasets');
      if (ctx.json) ctx.printJson(r);
      else for (const x of r.datasets) ctx.out(`${x.name.padEnd(22)} ${String(x.rows).padStart(10)} rows  ${x.origin}  ${x.provider}`);
      return EXIT.ok;
    },
  },
  {
    name: 'register', group: 'service', json: true, roles: ['admin'],
    summary: 'register a provider\'s dataset, every column classified',
    flags: {
      file: { type: 'string', value: 'FILE', description: 'the table (Parquet or CSV) on the domain host', required: true },
      name: { type: 'string', value: 'NAME', description: 'dataset name', required: true },
      provider: { type: 'string', value: 'P', description: 'the providing body', required: true },
      origin: { type: 'string', value: 'ORIGIN', description: 'public data, or social data imported for fusion', default: 'public', choices: ['public', 'social'] },
      unit: { type: 'string', value: 'COL', description: 'the column naming the person or entity a row is about' },
      classes: { type: 'string', value: 'col=class,…', description: 'the class of every column, e.g. id_number=direct-identifier', required: true },
    },
    async run(ctx) {
      const classes: Record<string, string> = {};
      for (const pair of str(ctx, 'classes')!.split(',')) {
        const [k, v] = pair.split('=');
        if (!k || !v) throw new UsageError('register', '--classes: expected col=class pairs separated by commas');
        classes[k.trim()] = v.trim();
      }
      const r = await ctx.client().request<{ dataset: { name: string; rows: number } }>('POST', '/v1/datasets', {
        name: str(ctx, 'name'), file: resolve(str(ctx, 'file')!), provider: str(ctx, 'provider'),
        origin: str(ctx, 'origin'), classes, unitColumn: str(ctx, 'unit') ?? null,
      });
      if (ctx.json) ctx.printJson(r);
      else ctx.out(`dataset ${r.dataset.name} registered (${r.dataset.rows} rows)`);
      return EXIT.ok;
    },
  },
  {
    name: 'user create', group: 'service', json: true, roles: ['admin'],
    summary: 'create an account of a person (their resident ID number, kept only as a keyed token) with a role; prints their token once',
    flags: {
      name: { type: 'string', value: 'N', description: "the person's name", required: true },
      role: { type: 'string', value: 'ROLE', description: 'what they may do', required: true, choices: ROLES },
      org: { type: 'string', value: 'ORG', description: 'their organization (an operator must match the agreement\'s operator)', required: true },
      'id-number': { type: 'string', value: 'ID', description: "the person's resident ID number: accounts of one person count as one reviewer (only a keyed token of it is kept)", required: true },
    },
    async run(ctx) {
      const body = { name: str(ctx, 'name'), role: str(ctx, 'role'), organization: str(ctx, 'org'), personId: str(ctx, 'id-number') };
      const r = await ctx.client().request<{ user: { id: string; role: string }; token: string }>('POST', '/v1/users', body);
      if (ctx.json) ctx.printJson(r);
      else ctx.out(`${r.user.role} ${r.user.id} created; token (shown once): ${r.token}\nuse it with SLUICE_TOKEN=<token> sluice …`);
      return EXIT.ok;
    },
  },
  {
    name: 'user list', group: 'service', json: true, roles: ['admin'],
    summary: 'list people and their roles',
    async run(ctx) {
      const r = await ctx.client().request<{ users: { id: string; name: string; role: string; organization: string; disabled: boolean }[] }>('GET', '/v1/users');
      if (ctx.json) ctx.printJson(r);
      else for (const u of r.users) ctx.out(`${u.id}  ${u.role.padEnd(8)} ${u.name}  (${u.organization})${u.disabled ? '  disabled' : ''}`);
      return EXIT.ok;
    },
  },
  {
    name: 'access-log', group: 'service', json: true, roles: ['admin', 'auditor'],
    summary: 'refused requests: who, route, status, reason code, address (never a value from a body)',
    flags: {
      code: { type: 'string', value: 'CODE', description: 'only refusals with this error code, e.g. SLUICE_ERR_NOT_FOUND' },
      user: { type: 'string', value: 'USER', description: 'only refusals of this user id' },
      after: { type: 'integer', value: 'ID', description: 'only entries after this id (paging)' },
      limit: { type: 'integer', value: 'N', description: 'at most N entries', default: 100, min: 1 },
    },
    async run(ctx) {
      const q = new URLSearchParams({ limit: String(int(ctx, 'limit')) });
      for (const k of ['code', 'user'] as const) if (str(ctx, k)) q.set(k, str(ctx, k)!);
      if (ctx.flags['after'] !== undefined) q.set('after', String(int(ctx, 'after')));
      const r = await ctx.client().request<{ entries: { id: number; at: string; userId: string | null; method: string; route: string; status: number; code: string; reason: string; clientAddress: string | null }[] }>('GET', `/v1/access-log?${q}`);
      if (ctx.json) ctx.printJson(r);
      else for (const e of r.entries) ctx.out(`${e.id}  ${e.at}  ${e.status} ${e.code}  ${e.reason.padEnd(18)} ${e.method} ${e.route}  ${e.userId ?? 'anonymous'}  ${e.clientAddress ?? '-'}`);
      return EXIT.ok;
    },
  },
  {
    name: 'agreement create', group: 'service', json: true, roles: ['admin'],
    summary: 'create an authorized-operation agreement from a YAML or JSON file (like examples/agreement.json)',
    details: 'The file holds id, scenario, operator, purpose, useClass, grants, validFrom, validTo and optionally auditThresholds; a term is at most 3 years.',
    args: [{ name: 'FILE', description: 'the agreement (YAML or JSON)' }],
    flags: {
      'valid-from': { type: 'string', value: 'DATE', description: "override the file's validFrom (YYYY-MM-DD)" },
      'valid-to': { type: 'string', value: 'DATE', description: "override the file's validTo (YYYY-MM-DD)" },
    },
    async run(ctx) {
      const file = arg(ctx, 'FILE');
      let body: unknown;
      try {
        body = parseYaml(readTextFile(file, 'FILE'));
      } catch (e) {
        if (e instanceof SluiceError) throw e;
        throw new SluiceError('SLUICE_ERR_INPUT_INVALID', `FILE: expected YAML or JSON, found a file that does not parse (${(e as Error).name})`);
      }
      if (body === null || typeof body !== 'object' || Array.isArray(body)) throw new SluiceError('SLUICE_ERR_INPUT_INVALID', 'FILE: expected a mapping of agreement fields');
      const a = body as Record<string, unknown>;
      if (str(ctx, 'valid-from')) a['validFrom'] = str(ctx, 'valid-from');
      if (str(ctx, 'valid-to')) a['validTo'] = str(ctx, 'valid-to');
      const r = await ctx.client().request<{ agreement: { id: string; operator: string; validFrom: string; validTo: string } }>('POST', '/v1/agreements', a);
      if (ctx.json) ctx.printJson(r);
      else ctx.out(`agreement ${r.agreement.id} created for ${r.agreement.operator}, valid ${r.agreement.validFrom} to ${r.agreement.validTo}`);
      return EXIT.ok;
    },
  },
  {
    name: 'agreement list', group: 'service', json: true,
    summary: 'list agreements',
    async run(ctx) {
      const r = await ctx.client().request<{ agreements: { id: string; status: string; operator: string; scenario: string; validFrom: string; validTo: string }[] }>('GET', '/v1/agreements');
      if (ctx.json) ctx.printJson(r);
      else for (const a of r.agreements) ctx.out(`${a.id}  ${a.status.padEnd(10)} ${a.validFrom}…${a.validTo}  ${a.operator}  ${a.scenario}`);
      return EXIT.ok;
    },
  },
  {
    name: 'agreement show', group: 'service', json: true,
    summary: 'one agreement: its scope, grants and term',
    args: [{ name: 'ID', description: 'an agreement id' }],
    async run(ctx) {
      const { agreement: a } = await ctx.client().request<{ agreement: { id: string; status: string; scenario: string; operator: string; purpose: string; useClass: string; validFrom: string; validTo: string; suspendedAt?: string | null; suspendedBy?: string | null; terminatedAt?: string | null; terminatedBy?: string | null; grants: { dataset: string; columns: { name: string; treatment: string; level?: string }[] }[]; auditThresholds?: Record<string, unknown> } }>('GET', `/v1/agreements/${encodeURIComponent(arg(ctx, 'ID'))}`);
      if (ctx.json) {
        ctx.printJson({ agreement: a });
        return EXIT.ok;
      }
      ctx.out(`agreement ${a.id} (${a.status})`);
      ctx.out(`  scenario:  ${a.scenario}`);
      ctx.out(`  operator:  ${a.operator}`);
      ctx.out(`  purpose:   ${a.purpose}`);
      ctx.out(`  use class: ${a.useClass}`);
      ctx.out(`  valid:     ${a.validFrom} to ${a.validTo}`);
      if (a.suspendedAt) ctx.out(`  suspended: since ${a.suspendedAt} by ${a.suspendedBy ?? '?'}`);
      if (a.terminatedAt) ctx.out(`  terminated: ${a.terminatedAt} by ${a.terminatedBy ?? '?'}`);
      for (const g of a.grants) ctx.out(`  ${g.dataset}: ${g.columns.map((c) => `${c.name} (${c.treatment}${c.level ? ` ${c.level}` : ''})`).join(', ')}`);
      const t = Object.keys(a.auditThresholds ?? {});
      if (t.length) ctx.out(`  audit thresholds set: ${t.join(', ')}`);
      return EXIT.ok;
    },
  },
  agreementAction('suspend', 'suspend an agreement until it is resumed: nothing runs, is reviewed, released, downloaded or served under it', (id) => `/v1/agreements/${id}/suspend`),
  agreementAction('resume', 'resume a suspended agreement (in force again within its term)', (id) => `/v1/agreements/${id}/resume`),
  agreementAction('terminate', 'terminate an agreement for good: every use of it is refused from then on', (id) => `/v1/agreements/${id}/terminate`),
];

/** `sluice agreement suspend|resume|terminate ID --reason TEXT`: one admin action, its reason kept in the audit log. */
function agreementAction(verb: 'suspend' | 'resume' | 'terminate', summary: string, path: (id: string) => string): CommandSpec {
  return {
    name: `agreement ${verb}`, group: 'service', json: true, roles: ['admin'],
    summary,
    args: [{ name: 'ID', description: 'an agreement id' }],
    flags: { reason: { type: 'string', value: 'TEXT', description: 'why (kept with the agreement and in the audit log)', required: true } },
    async run(ctx) {
      const r = await ctx.client().request<{ agreement: { id: string; status: string } }>('POST', path(encodeURIComponent(arg(ctx, 'ID'))), { reason: str(ctx, 'reason') });
      if (ctx.json) ctx.printJson(r);
      else ctx.out(`agreement ${r.agreement.id} is ${r.agreement.status}`);
      return EXIT.ok;
    },
  };
}
