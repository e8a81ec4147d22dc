import { mkdirSync, readFileSync, writeFileSync, createWriteStream } from 'node:fs';
import { dirname, resolve, join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { parseArgs } from 'node:util';
import { parse as parseYaml } from 'yaml';
import { isSluiceError, SluiceError } from '../../lib/errors.js';
import { configureLog } from '../../lib/log.js';
import { summarizeReport } from '../../audit/report.js';
import type { AuditReport } from '../../audit/types.js';
import { clientConfig, SluiceClient } from './client.js';
import { followRun } from './progress.js';

const USAGE = `sluice — the processing pipeline of a public-data authorized operation domain

Usage: sluice <command> [options]

In the domain (local):
  demo                         generate data, start everything, run the two demo jobs
  generate --rows N --seed S [--out DIR]   synthetic Taizhou public data (Parquet)
  init [--admin NAME]          create the first admin and write <data root>/cli.json
  serve [--port 8700] [--host 127.0.0.1] [--workers N]   the HTTP API (+ workers when embedded)
  worker [--concurrency N]     a worker process (needs DATABASE_URL: PostgreSQL)
  anonymize --input FILE --config FILE [--output FILE]   try k-anonymity settings on a file
  audit-log verify             check the hash chain of the audit log (embedded mode: service stopped)

Against the service (SLUICE_URL, SLUICE_TOKEN or <data root>/cli.json):
  plan SPEC.yaml               validate a spec and its scope; print the flow; run nothing
  submit SPEC.yaml [--wait]    submit a job; --wait follows it with a progress bar
  status RUN                   follow a run's progress
  cancel RUN                   cancel a run
  report RUN [--html FILE]     the audit reports of a run's outputs
  review approve|reject HASH --reason TEXT [--exception]
  download RELEASE_ID [--out FILE]
  runs | releases | datasets   list
  user create --name N --role operator|reviewer|admin --org ORG
  register --file F --name N --provider P [--origin public|social] [--unit COL] --classes col=class,...

Environment: SLUICE_DATA_ROOT (default ./.sluice), DATABASE_URL (PostgreSQL; default embedded PGlite),
REDIS_URL (default 127.0.0.1:6379, else a private redis-server), SLUICE_URL, SLUICE_TOKEN.`;

function fail(code: ConstructorParameters<typeof SluiceError>[0], message: string): never {
  throw new SluiceError(code, message);
}

function need(v: string | undefined, flag: string): string {
  if (v === undefined || v === '') fail('SLUICE_ERR_INPUT_INVALID', `${flag}: expected a value, found nothing`);
  return v;
}

function intFlag(v: string | undefined, flag: string, dflt: number, min = 0): number {
  if (v === undefined) return dflt;
  const n = Number(v);
  if (!Number.isInteger(n) || n < min) fail('SLUICE_ERR_INPUT_INVALID', `${flag}: expected a whole number ≥ ${min}, found "${v.slice(0, 20)}"`);
  return n;
}

/** Runs the CLI; returns the exit code. */
export async function main(argv: string[]): Promise<number> {
  const [cmd, ...rest] = argv;
  try {
    switch (cmd) {
      case undefined:
      case 'help':
      case '--help':
      case '-h':
        process.stdout.write(USAGE + '\n');
        return 0;
      case 'demo': {
        const { runDemo } = await import('./demo.js');
        return await runDemo(rest);
      }
      case 'generate': {
        const { values } = parseArgs({ args: rest, options: { rows: { type: 'string' }, seed: { type: 'string' }, out: { type: 'string' } } });
        const rows = intFlag(values.rows, '--rows', 10_000, 1);
        const seed = intFlag(values.seed, '--seed', 1);
        const out = resolve(values.out ?? 'synthetic-data');
        const { generate } = await import('../../synthetic/generate.js');
        const cliProgress = (await import('cli-progress')).default;
        const bar = process.stderr.isTTY ? new cliProgress.SingleBar({ format: ' {bar} {percentage}% | {dataset}' }, cliProgress.Presets.shades_classic) : null;
        bar?.start(100, 0, { dataset: '' });
        const t0 = performance.now();
        const manifest = await generate({
          outDir: out, rows, seed,
          onProgress: (p) => bar?.update(Math.round((p.done / Math.max(1, p.total)) * 100), { dataset: p.dataset }),
        });
        bar?.stop();
        writeFileSync(join(out, 'manifest.json'), JSON.stringify(manifest, null, 2));
        for (const d of manifest.datasets) process.stdout.write(`${d.name.padEnd(20)} ${String(d.rows).padStart(10)} rows  ${d.file}\n`);
        process.stdout.write(`generated in ${((performance.now() - t0) / 1000).toFixed(1)} s into ${out} (manifest.json lists column classes)\n`);
        return 0;
      }
      case 'init': {
        const { values } = parseArgs({ args: rest, options: { admin: { type: 'string' }, url: { type: 'string' } } });
        const { openControlPlane } = await import('../../pipeline/engine.js');
        const opened = await openControlPlane();
        try {
          const { user, token } = await opened.cp.createUser({ name: values.admin ?? 'admin', role: 'admin', organization: 'the authority' });
          const cfg = join(opened.dataRoot.root, 'cli.json');
          writeFileSync(cfg, JSON.stringify({ url: values.url ?? 'http://127.0.0.1:8700', token }, null, 2), { mode: 0o600 });
          process.stdout.write(`admin ${user.id} created; its token is in ${cfg} (shown once: ${token})\n`);
        } finally {
          await opened.close();
        }
        return 0;
      }
      case 'serve': {
        const { values } = parseArgs({ args: rest, options: { port: { type: 'string' }, host: { type: 'string' }, workers: { type: 'string' } } });
        const { serve } = await import('../serve.js');
        return await serve({ port: intFlag(values.port, '--port', 8700), host: values.host ?? '127.0.0.1', ...(values.workers !== undefined ? { workers: intFlag(values.workers, '--workers', 1) } : {}) });
      }
      case 'worker': {
        const { values } = parseArgs({ args: rest, options: { concurrency: { type: 'string' } } });
        const { runWorker } = await import('../serve.js');
        return await runWorker({ concurrency: intFlag(values.concurrency, '--concurrency', 1, 1) });
      }
      case 'anonymize': {
        const { values } = parseArgs({ args: rest, options: { input: { type: 'string' }, config: { type: 'string' }, output: { type: 'string' } } });
        const input = resolve(need(values.input, '--input'));
        const configPath = resolve(need(values.config, '--config'));
        const { anonymizeFile } = await import('../../transforms/anonymize-file.js');
        const config = parseYaml(readFileSync(configPath, 'utf8')) as Parameters<typeof anonymizeFile>[1];
        const result = await anonymizeFile(input, config, { ...(values.output ? { outputPath: resolve(values.output) } : {}), baseDir: dirname(configPath) });
        process.stdout.write(formatAnonymizeResult(result));
        return 0;
      }
      case 'audit-log': {
        if (rest[0] !== 'verify') fail('SLUICE_ERR_INPUT_INVALID', 'audit-log: expected the subcommand verify');
        const cfg = clientConfig();
        if (cfg.token && !process.env['DATABASE_URL']) {
          // Embedded mode while the service runs: ask the service.
          try {
            const r = await new SluiceClient(cfg).request<{ ok: boolean; rows: number; firstBadSeq: number | null }>('GET', '/v1/audit-log/verify');
            process.stdout.write(`audit log: ${r.ok ? 'verified' : 'BROKEN'} (${r.rows} rows${r.firstBadSeq !== null ? `, first bad row ${r.firstBadSeq}` : ''})\n`);
            return r.ok ? 0 : 1;
          } catch (e) {
            if (!isSluiceError(e) || (e as SluiceError).code !== 'SLUICE_ERR_QUEUE_UNAVAILABLE') throw e;
          }
        }
        const { openControlPlane } = await import('../../pipeline/engine.js');
        const opened = await openControlPlane();
        try {
          const r = await opened.cp.verifyAuditLog();
          process.stdout.write(`audit log: ${r.ok ? 'verified' : 'BROKEN'} (${r.rows} rows${r.firstBadSeq !== null ? `, first bad row ${r.firstBadSeq}` : ''})\n`);
          return r.ok ? 0 : 1;
        } finally {
          await opened.close();
        }
      }
      default:
        return await clientCommand(cmd, rest);
    }
  } catch (e) {
    configureLog({ level: 'silent' });
    if (isSluiceError(e)) {
      const err = e as SluiceError;
      process.stderr.write(`error ${err.code}: ${err.message}\n`);
    } else {
      process.stderr.write(`error: ${(e as Error).message ?? String(e)}\n`);
    }
    return 1;
  }
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
  return lines.join('\n') + '\n';
}

async function clientCommand(cmd: string, rest: string[]): Promise<number> {
  const client = new SluiceClient(clientConfig());
  const out = (s: string) => process.stdout.write(s + '\n');
  switch (cmd) {
    case 'plan': {
      const file = need(rest[0], 'plan SPEC');
      const r = await client.request<{ text: string }>('POST', '/v1/plan', { spec: readFileSync(resolve(file), 'utf8') });
      out(r.text);
      return 0;
    }
    case 'submit': {
      const { values, positionals } = parseArgs({ args: rest, allowPositionals: true, options: { wait: { type: 'boolean' } } });
      const file = need(positionals[0], 'submit SPEC');
      const r = await client.request<{ runId: string }>('POST', '/v1/runs', { spec: readFileSync(resolve(file), 'utf8') });
      out(r.runId);
      if (values.wait) {
        const view = await followRun(client, r.runId);
        out(`run ${view.id}: ${view.status}${view.errorCode ? ` (${view.errorCode}: ${view.errorMessage})` : ''}`);
        return view.status === 'failed' || view.status === 'cancelled' ? 1 : 0;
      }
      return 0;
    }
    case 'status': {
      const id = need(rest[0], 'status RUN');
      const view = await followRun(client, id);
      out(`run ${view.id}: ${view.status}${view.errorCode ? ` (${view.errorCode}: ${view.errorMessage})` : ''}`);
      return 0;
    }
    case 'cancel': {
      const id = need(rest[0], 'cancel RUN');
      const r = await client.request<{ cancelled: boolean }>('POST', `/v1/runs/${encodeURIComponent(id)}/cancel`);
      out(r.cancelled ? `run ${id} cancelled` : `run ${id} had already finished`);
      return 0;
    }
    case 'report': {
      const { values, positionals } = parseArgs({ args: rest, allowPositionals: true, options: { html: { type: 'string' } } });
      const id = need(positionals[0], 'report RUN');
      const list = await client.request<{ reports: { id: string; outputId: string }[] }>('GET', `/v1/runs/${encodeURIComponent(id)}/reports`);
      if (list.reports.length === 0) out(`run ${id} has no reports yet`);
      for (const r of list.reports) {
        const full = await client.request<{ report: AuditReport; verified: boolean }>('GET', `/v1/reports/${r.id}`);
        out(`output ${r.outputId} — report ${r.id} (signature ${full.verified ? 'verified' : 'INVALID'})`);
        out(summarizeReport(full.report));
        if (values.html) {
          const res = await client.raw('GET', `/v1/reports/${r.id}/html`);
          const file = list.reports.length > 1 ? values.html.replace(/(\.html)?$/, `-${r.outputId}.html`) : values.html;
          writeFileSync(file, await res.text());
          out(`  HTML: ${file}`);
        }
      }
      return 0;
    }
    case 'review': {
      const { values, positionals } = parseArgs({ args: rest, allowPositionals: true, options: { reason: { type: 'string' }, exception: { type: 'boolean' } } });
      const decision = positionals[0];
      if (decision !== 'approve' && decision !== 'reject') fail('SLUICE_ERR_INPUT_INVALID', 'review: expected approve or reject');
      const hash = need(positionals[1], 'review HASH');
      const r = await client.request<{ reviewId: string; releaseQueued: boolean }>('POST', '/v1/reviews', {
        artifactHash: hash, decision, reason: need(values.reason, '--reason'), ...(values.exception ? { exception: true } : {}),
      });
      out(`review ${r.reviewId} recorded${r.releaseQueued ? '; release queued' : ''}`);
      return 0;
    }
    case 'download': {
      const { values, positionals } = parseArgs({ args: rest, allowPositionals: true, options: { out: { type: 'string' } } });
      const id = need(positionals[0], 'download RELEASE_ID');
      const res = await client.raw('GET', `/v1/releases/${encodeURIComponent(id)}/download`);
      if (!res.ok || !res.body) {
        const err = (JSON.parse((await res.text()) || '{}') as { error?: { code?: string; message?: string } }).error;
        fail((err?.code as ConstructorParameters<typeof SluiceError>[0]) ?? 'SLUICE_ERR_INTERNAL', err?.message ?? `HTTP ${res.status}`);
      }
      const name = /filename="([^"]+)"/.exec(res.headers.get('content-disposition') ?? '')?.[1] ?? `${id}.bin`;
      const file = resolve(values.out ?? name);
      mkdirSync(dirname(file), { recursive: true });
      await pipeline(Readable.fromWeb(res.body as never), createWriteStream(file));
      out(`${file} (sha256 ${res.headers.get('x-sluice-artifact-hash')})`);
      return 0;
    }
    case 'runs': {
      const r = await client.request<{ runs: { id: string; specName: string; status: string; createdAt: string }[] }>('GET', '/v1/runs');
      for (const x of r.runs) out(`${x.id}  ${x.status.padEnd(16)} ${x.specName}  ${x.createdAt}`);
      return 0;
    }
    case 'releases': {
      const r = await client.request<{ releases: { id: string; runId: string; outputId: string; artifactHash: string }[] }>('GET', '/v1/releases');
      for (const x of r.releases) out(`${x.id}  ${x.runId}  ${x.outputId}  ${x.artifactHash.slice(0, 16)}`);
      return 0;
    }
    case 'datasets': {
      const r = await client.request<{ datasets: { name: string; rows: number; origin: string; provider: string }[] }>('GET', '/v1/datasets');
      for (const x of r.datasets) out(`${x.name.padEnd(22)} ${String(x.rows).padStart(10)} rows  ${x.origin}  ${x.provider}`);
      return 0;
    }
    case 'user': {
      const { values, positionals } = parseArgs({ args: rest, allowPositionals: true, options: { name: { type: 'string' }, role: { type: 'string' }, org: { type: 'string' } } });
      if (positionals[0] !== 'create') fail('SLUICE_ERR_INPUT_INVALID', 'user: expected the subcommand create');
      const r = await client.request<{ user: { id: string }; token: string }>('POST', '/v1/users', { name: need(values.name, '--name'), role: need(values.role, '--role'), organization: need(values.org, '--org') });
      out(`user ${r.user.id} created; token (shown once): ${r.token}`);
      return 0;
    }
    case 'register': {
      const { values } = parseArgs({ args: rest, options: { file: { type: 'string' }, name: { type: 'string' }, provider: { type: 'string' }, origin: { type: 'string' }, unit: { type: 'string' }, classes: { type: 'string' } } });
      const classes: Record<string, string> = {};
      for (const pair of need(values.classes, '--classes').split(',')) {
        const [k, v] = pair.split('=');
        if (!k || !v) fail('SLUICE_ERR_INPUT_INVALID', '--classes: expected col=class pairs separated by commas');
        classes[k.trim()] = v.trim();
      }
      const r = await client.request<{ dataset: { name: string; rows: number } }>('POST', '/v1/datasets', {
        name: need(values.name, '--name'), file: resolve(need(values.file, '--file')), provider: need(values.provider, '--provider'),
        origin: values.origin ?? 'public', classes, unitColumn: values.unit ?? null,
      });
      out(`dataset ${r.dataset.name} registered (${r.dataset.rows} rows)`);
      return 0;
    }
    default:
      process.stderr.write(`unknown command "${cmd.slice(0, 40)}"\n\n${USAGE}\n`);
      return 2;
  }
}
