/**
 * Runs the import-direction rules of `.dependency-cruiser.cjs` with
 * dependency-cruiser's API, plus one rule the tool cannot say by itself: no
 * cycle between top-level folders (a file-level graph can be acyclic while
 * `pipeline/` and `domain/` still depend on each other through different files).
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { cruise } from 'dependency-cruiser';
import type { IConfiguration, ICruiseResult } from 'dependency-cruiser';

/** The repository root (where `.dependency-cruiser.cjs` lives). */
export const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** The source folders the rules run over (tests import everything and are no layer). */
export const SOURCE_ROOTS = ['lib', 'pipeline', 'workers', 'transforms', 'models', 'audit', 'domain', 'service', 'synthetic', 'bench'] as const;

/** One broken rule: its name and the two ends (a module path, or a folder for folder cycles). */
export interface DependencyViolation {
  rule: string;
  from: string;
  to: string;
}

/** The rule set, read from the one config file (the CLI reads the same file). */
export function loadDependencyConfig(): IConfiguration {
  const require = createRequire(import.meta.url);
  return require(join(REPO_ROOT, '.dependency-cruiser.cjs')) as IConfiguration;
}

/** What {@link checkDependencies} found: the violations, sorted, and how many modules it read. */
export interface DependencyCheck {
  violations: DependencyViolation[];
  modulesCruised: number;
}

/**
 * Cruises the source folders under `baseDir` (default: the repository) and
 * returns every violation. Folders missing under `baseDir` are skipped
 * (fixture trees hold only a few).
 */
export async function checkDependencies(baseDir: string = REPO_ROOT): Promise<DependencyCheck> {
  const config = loadDependencyConfig();
  const roots = SOURCE_ROOTS.filter((r) => existsSync(join(baseDir, r)));
  const reported = await cruise(roots, {
    ...config.options,
    baseDir,
    validate: true,
    ruleSet: { forbidden: config.forbidden ?? [] },
  });
  const result = reported.output as ICruiseResult;
  const out: DependencyViolation[] = result.summary.violations.map((v) => ({ rule: v.rule.name, from: v.from, to: v.to }));
  out.push(...folderCycles(result));
  out.sort((a, b) => `${a.rule} ${a.from} ${a.to}`.localeCompare(`${b.rule} ${b.from} ${b.to}`));
  return { violations: out, modulesCruised: result.summary.totalCruised };
}

function topFolder(path: string): string | undefined {
  const i = path.indexOf('/');
  return i > 0 && !path.startsWith('node_modules/') ? path.slice(0, i) : undefined;
}

/** Every edge between two top-level folders that lies on a cycle of the folder graph (strongly connected components). */
function folderCycles(result: ICruiseResult): DependencyViolation[] {
  const edges = new Map<string, Set<string>>();
  for (const m of result.modules) {
    const from = topFolder(m.source);
    if (from === undefined) continue;
    for (const d of m.dependencies) {
      // A type-only import loads nothing at run time (domain/types.ts naming the Plan), as in the config's cycle rule.
      if (d.dependencyTypes.includes('type-only')) continue;
      const to = d.coreModule || d.couldNotResolve ? undefined : topFolder(d.resolved);
      if (to === undefined || to === from) continue;
      let set = edges.get(from);
      if (set === undefined) edges.set(from, (set = new Set()));
      set.add(to);
    }
  }
  // Tarjan's algorithm; the graph has a dozen nodes, so recursion depth is no concern.
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const onStack = new Set<string>();
  const stack: string[] = [];
  const component = new Map<string, number>();
  let next = 0;
  let components = 0;
  const visit = (v: string): void => {
    index.set(v, next);
    low.set(v, next);
    next++;
    stack.push(v);
    onStack.add(v);
    for (const w of edges.get(v) ?? []) {
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) {
        low.set(v, Math.min(low.get(v)!, index.get(w)!));
      }
    }
    if (low.get(v) === index.get(v)) {
      for (;;) {
        const w = stack.pop()!;
        onStack.delete(w);
        component.set(w, components);
        if (w === v) break;
      }
      components++;
    }
  };
  for (const v of edges.keys()) if (!index.has(v)) visit(v);
  const out: DependencyViolation[] = [];
  for (const [from, tos] of edges) {
    for (const to of tos) if (component.get(from) === component.get(to)) out.push({ rule: 'no-folder-cycles', from, to });
  }
  return out;
}
