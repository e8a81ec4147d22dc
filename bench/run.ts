import { readdir, writeFile, mkdir } from 'node:fs/promises';
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
const summary: Record<string, BenchCase[] | { error: string }> = {};
for (const file of files) {
  const name = file.replace(/\.bench\.ts$/, '');
  if (only && !only.has(name)) continue;
  const mod = (await import(pathToFileURL(join(here, file)).href)) as { default: BenchSuite };
  process.stderr.write(`bench ${name} …\n`);
  try {
    const cases = await mod.default.run({ quick });
    summary[name] = cases;
    for (const c of cases) {
      const extra = c.ratio !== undefined ? ` (ratio ${c.ratio.toFixed(3)} vs ${c.baseline?.name ?? 'baseline'})` : '';
      const target = c.target ? ` target ${c.target}: ${c.meetsTarget ? 'met' : 'NOT met'}` : '';
      process.stdout.write(`${name} | ${c.name}: ${c.value.toFixed(2)} ${c.metric}${extra}${target}\n`);
    }
    await writeFile(join(outDir, `${name}.json`), JSON.stringify({ suite: name, at: new Date().toISOString(), quick, cases }, null, 2));
  } catch (e) {
    const code = (e as { code?: string }).code ?? 'error';
    summary[name] = { error: `${code}: ${(e as Error).message}` };
    process.stdout.write(`${name} | FAILED: ${code}\n`);
    process.exitCode = 1;
  }
}
await writeFile(join(outDir, 'summary.json'), JSON.stringify({ at: new Date().toISOString(), quick, node: process.version, suites: summary }, null, 2));
process.exit(process.exitCode ?? 0);
