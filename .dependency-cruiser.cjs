/**
 * The direction of imports (docs: STYLE.md "Layout that shows the architecture"):
 * lib at the bottom; transforms and models know nothing of the audit, queues or
 * HTTP; the audit uses them; pipeline uses all three; workers and service sit on
 * top. Checked by test/unit/dependency-rules.test.ts inside `npm test`; also
 * usable by hand: `npx depcruise --config .dependency-cruiser.cjs lib pipeline
 * workers transforms models audit domain service synthetic bench`.
 * Type-only imports are cruised (tsPreCompilationDeps) and obey the layer rules, with
 * one named exception (domain/types.ts types a stored run by the planner's Plan); a cycle
 * that closes only through type-only imports loads nothing at run time and is allowed.
 */
/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: 'lib-imports-nothing-of-ours',
      comment: 'lib/ is the bottom layer: it may import only lib/, packages and Node built-ins.',
      severity: 'error',
      from: { path: '^lib/' },
      to: { pathNot: '^(lib|node_modules)/', dependencyTypesNot: ['core'] },
    },
    {
      name: 'transforms-models-stay-below',
      comment: 'transforms/ and models/ are pure: no audit, pipeline, workers or service.',
      severity: 'error',
      from: { path: '^(transforms|models)/' },
      to: { path: '^(audit|pipeline|workers|service)/' },
    },
    {
      name: 'audit-stays-below-pipeline',
      comment: 'audit/ checks outputs; it does not run jobs or serve HTTP.',
      severity: 'error',
      from: { path: '^audit/' },
      to: { path: '^(pipeline|workers|service)/' },
    },
    {
      name: 'domain-stays-below-pipeline',
      comment: 'domain/ is governance state and the control plane; the pipeline uses it, not the reverse.',
      severity: 'error',
      from: { path: '^domain/' },
      // One exception, type-only: domain/types.ts names the planner's Plan and the parsed
      // JobSpec so a stored run is typed end to end; the import vanishes at run time.
      to: { path: '^(pipeline|workers|service)/', pathNot: '^pipeline/(plan/plan|spec/spec)\\.ts$' },
    },
    {
      name: 'thread-entries-not-imported',
      comment: 'Piscina task files (workers/tasks/) are thread entry points, named by URL in lib/pool.ts, never imported.',
      severity: 'error',
      from: { pathNot: '^workers/tasks/' },
      to: { path: '^workers/tasks/' },
    },
    {
      name: 'no-module-cycles',
      comment: 'No import cycle between modules.',
      severity: 'error',
      from: {},
      // A cycle that closes only through a type-only import (domain/types.ts naming the
      // Plan) loads nothing at run time; a cycle of runtime imports fails.
      to: { circular: true, viaOnly: { dependencyTypesNot: ['type-only'] } },
    },
    {
      name: 'no-unresolvable',
      comment: 'Every relative import resolves to a file (catches a path left behind by a move).',
      severity: 'error',
      from: {},
      to: { couldNotResolve: true },
    },
  ],
  options: {
    tsPreCompilationDeps: true,
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '(^|/)node_modules/' },
  },
};
