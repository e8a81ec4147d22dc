import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { checkDependencies } from '../helpers/dependency-rules.js';

/** A small tree with one planted violation per rule, next to imports every rule allows. */
const PLANTED: Record<string, string> = {
  // Allowed: lib importing lib and a Node built-in.
  'lib/ok.ts': "import { readFileSync } from 'node:fs';\nimport { other } from './other.js';\nexport const ok = [readFileSync, other];\n",
  'lib/other.ts': 'export const other = 1;\n',
  // Planted: lib importing the audit.
  'lib/bad.ts': "import { a } from '../audit/a.js';\nexport const bad = a;\n",
  // Planted: the audit importing workers. (audit -> models is allowed, but here
  // it would close a folder cycle with the planted models -> audit below.)
  'audit/a.ts': "import { w } from '../workers/w.js';\nexport const a = w;\n",
  // Planted: a type-only import from models into the audit still counts.
  'models/m.ts': "import type { A } from '../audit/types.js';\nexport const m: A | 1 = 1;\n",
  'audit/types.ts': 'export type A = 0;\n',
  // Planted: transforms importing the pipeline.
  'transforms/t.ts': "import { p } from '../pipeline/p.js';\nexport const t = p;\n",
  // Planted: an import of a thread entry point, and an import left behind by a move.
  'pipeline/p.ts': "import task from '../workers/tasks/task.js';\nimport { gone } from './gone.js';\nexport const p = [task, gone];\n",
  'workers/tasks/task.ts': 'export default function task(): number {\n  return 1;\n}\n',
  'workers/w.ts': 'export const w = 1;\n',
  // Planted: a module cycle inside one folder.
  'pipeline/c1.ts': "import { c2 } from './c2.js';\nexport const c1 = () => c2;\n",
  'pipeline/c2.ts': "import { c1 } from './c1.js';\nexport const c2 = () => c1;\n",
  // Planted: domain importing service, while service imports another domain file:
  // no module cycle, but a cycle between the two folders.
  'domain/d.ts': "import { s } from '../service/s.js';\nexport const d = s;\n",
  'domain/d2.ts': 'export const d2 = 1;\n',
  'service/s.ts': "import { d2 } from '../domain/d2.js';\nexport const s = d2;\n",
};

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

function plant(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'sluice-deps-'));
  dirs.push(dir);
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, path)), { recursive: true });
    writeFileSync(join(dir, path), text);
  }
  return dir;
}

describe('the direction of imports', () => {
  it('holds in the repository', async () => {
    const { violations, modulesCruised } = await checkDependencies();
    // A cruise that read nothing would pass vacuously.
    expect(modulesCruised).toBeGreaterThan(100);
    expect(violations).toEqual([]);
  });

  it('reports each planted violation under its rule, and nothing the rules allow', async () => {
    const { violations } = await checkDependencies(plant(PLANTED));
    expect(violations).toEqual([
      { rule: 'audit-stays-below-pipeline', from: 'audit/a.ts', to: 'workers/w.ts' },
      { rule: 'domain-stays-below-pipeline', from: 'domain/d.ts', to: 'service/s.ts' },
      { rule: 'lib-imports-nothing-of-ours', from: 'lib/bad.ts', to: 'audit/a.ts' },
      { rule: 'no-folder-cycles', from: 'domain', to: 'service' },
      { rule: 'no-folder-cycles', from: 'service', to: 'domain' },
      { rule: 'no-module-cycles', from: 'pipeline/c1.ts', to: 'pipeline/c2.ts' },
      { rule: 'no-unresolvable', from: 'pipeline/p.ts', to: './gone.js' },
      { rule: 'thread-entries-not-imported', from: 'pipeline/p.ts', to: 'workers/tasks/task.ts' },
      { rule: 'transforms-models-stay-below', from: 'models/m.ts', to: 'audit/types.ts' },
      { rule: 'transforms-models-stay-below', from: 'transforms/t.ts', to: 'pipeline/p.ts' },
    ]);
  });

  it('passes a tree that follows the rules', async () => {
    const { violations, modulesCruised } = await checkDependencies(
      plant({
        'lib/ok.ts': "import { readFileSync } from 'node:fs';\nexport const ok = readFileSync;\n",
        'models/m.ts': "import { ok } from '../lib/ok.js';\nexport const m = ok;\n",
        'audit/a.ts': "import { m } from '../models/m.js';\nexport const a = m;\n",
        'pipeline/p.ts': "import { a } from '../audit/a.js';\nimport { d } from '../domain/d.js';\nexport const p = [a, d];\n",
        'domain/d.ts': "import { ok } from '../lib/ok.js';\nexport const d = ok;\n",
        'service/s.ts': "import { p } from '../pipeline/p.js';\nexport const s = p;\n",
      }),
    );
    // Six files and node:fs.
    expect(modulesCruised).toBe(7);
    expect(violations).toEqual([]);
  });
});
