import { spawnSync } from 'node:child_process';
import { readdir, readFile, writeFile, mkdir } from 'node:fs/promises';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { join } from 'node:path';
import type { BenchCase, BenchSuite } from './harness.js';

const here = fileURLToPath(new URL('.', import.meta.url));
const args = process.argv.slice(2);
const onlyArg = args.find((a) => a.startsWith('--only='))?.slice('--only='.length)
  ?? (args.includes('--only') ? args[args.indexOf('--only') + 1] : undefined);
const only = onlyArg ? new Set(onlyArg.split(',')) : null;
const quick = args.includes('--quick');

const files = (await readdir(here)).filter((f) => f.endsWith('.bench.ts')).sort();
const outDir = join(here, 'results');
await mkdir(outDir, { recursive: true });
const names = files.map((f) => f.replace(/\.bench\.ts$/, '')).filter((n) => !only || only.has(n));

/** Prints a suite's cases, one line each. */
function report(name: string, cases: BenchCase[]): void {
  for (const c of cases) {
    const extra = c.ratio !== undefined ? ` (ratio ${c.ratio.toFixed(3)} vs ${c.baseline?.name ?? 'baseline'})` : '';
    const target = c.target ? ` target ${c.target}: ${c.meetsTarget ? 'met' : 'NOT met'}` : '';
    process.stdout.write(`${name} | ${c.name}: ${c.value.toFixed(2)} ${c.metric}${extra}${target}\n`);
  }
}

/** Runs one suite in this process and writes its JSON; returns its cases or its error. */
async function runSuite(name: string): Promise<BenchCase[] | { error: string }> {
  const mod = (await import(pathToFileURL(join(here, `${name}.bench.ts`)).href)) as { default: BenchSuite };
  process.stderr.write(`bench ${name} …\n`);
  try {
    const cases = await mod.default.run({ quick });
    report(name, cases);
    await writeFile(join(outDir, `${name}.json`), JSON.stringify({ suite: name, at: new Date().toISOString(), quick, cases }, null, 2));
    return cases;
  } catch (e) {
    const code = (e as { code?: string }).code ?? 'error';
    process.stdout.write(`${name} | FAILED: ${code}\n`);
    return { error: `${code}: ${(e as Error).message}` };
  }
}

const summary: Record<string, BenchCase[] | { error: string }> = {};
if (names.length === 1) {
  const r = await runSuite(names[0]!);
  if ('error' in r) process.exitCode = 1;
  process.exit(process.exitCode ?? 0);
}
// Several suites: each in a fresh process, so one suite's heap, worker pools and
// DuckDB instances cannot slow the next (each suite's baseline still runs in its own process).
for (const name of names) {
  const child = spawnSync(process.execPath, [...process.execArgv, fileURLToPath(import.meta.url), '--only', name, ...(quick ? ['--quick'] : [])], {
    stdio: 'inherit',
    env: process.env,
  });
  try {
    summary[name] = child.status === 0 ? (JSON.parse(await readFile(join(outDir, `${name}.json`), 'utf8')) as { cases: BenchCase[] }).cases : { error: `exit ${child.status ?? child.signal}` };
  } catch {
    summary[name] = { error: `exit ${child.status ?? child.signal}; no results written` };
  }
  if ('error' in summary[name]!) process.exitCode = 1;
}
await writeFile(join(outDir, 'summary.json'), JSON.stringify({ at: new Date().toISOString(), quick, node: process.version, suites: summary }, null, 2));
process.exit(process.exitCode ?? 0);
