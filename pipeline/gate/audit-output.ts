import { randomBytes } from 'node:crypto';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api';
import { quoteIdent, quoteLiteral } from '../../lib/duck.js';
import { SluiceError } from '../../lib/errors.js';
import type { CheckResult } from '../../audit/types.js';
import { auditTable } from '../../audit/table-checks.js';
import { auditExtract } from '../../audit/extract-checks.js';
import { sqlStringLiterals } from '../../audit/content-checks.js';
import type { resolveThresholds } from '../../audit/thresholds.js';
import type { Engine } from '../engine.js';
import type { Plan, PlannedStep } from '../plan/plan.js';
import { stepDefinition } from '../steps/index.js';
import { evidenceProblem } from './structure.js';
import { holdoutKeys, holdoutPredicate } from '../steps/extract.js';
import { extOf } from '../store/store.js';
import { loadConfig } from '../../lib/config.js';

/** One staged output to audit. */
export interface StagedOutput {
  outputId: string;
  runId: string;
  kind: 'table' | 'extract' | 'file' | 'model';
  format: 'parquet' | 'csv' | 'json';
  /** Absolute path of the frozen staged file. */
  path: string;
  bytes: number;
  rows: number;
  /** The step that produced it. */
  step: PlannedStep;
  /** Lineage parameters of the work artifact (holds the evidence hash for aggregates). */
  lineageParameters: Record<string, unknown>;
  /** Declared synthetic by the spec (B6 runs). */
  synthetic?: boolean;
}

/** True when a step on the output's lineage perturbs its rows (noise): the output is then audited as synthetic. */
function perturbedLineage(plan: Plan, step: PlannedStep): boolean {
  const byId = new Map(plan.steps.map((s) => [s.id, s]));
  const seen = new Set<string>();
  const pending = [step.id];
  while (pending.length > 0) {
    const s = byId.get(pending.pop()!);
    if (!s || seen.has(s.id)) continue;
    seen.add(s.id);
    if (stepDefinition(s.kind).perturbs?.(s.params) === true) return true;
    pending.push(...s.needs);
  }
  return false;
}

function reader(path: string, format: 'parquet' | 'csv' | 'json'): string {
  return format === 'csv' ? `read_csv(${quoteLiteral(path)}, header = true, all_varchar = false)` : `read_parquet(${quoteLiteral(path)})`;
}

/** Strings and numbers of a step's settings, and the literals of any SQL among them (salts for B2). */
function jobLiterals(value: unknown): string[] {
  if (typeof value === 'string') return [value, ...sqlStringLiterals(value)];
  if (typeof value === 'number') return [String(value)];
  if (Array.isArray(value)) return value.flatMap(jobLiterals);
  if (value !== null && typeof value === 'object') return Object.entries(value).flatMap(([k, v]) => [k, ...jobLiterals(v)]);
  return [];
}

/** The unit-key scheme an aggregate recorded for its evidence (see unitKeyScheme), or null. */
function unitKeyOf(parameters: Record<string, unknown> | undefined): string | null {
  const facts = parameters?.['facts'] as { unitKey?: unknown } | undefined;
  return typeof facts?.unitKey === 'string' ? facts.unitKey : null;
}

/**
 * The registry for A9 (differencing): every table released earlier under the
 * same agreement, with the contribution evidence it was audited on, opened as
 * views. The audit decides which of them overlap in population and variables.
 * An earlier release whose evidence keys units differently (another unit-key
 * scheme) cannot be compared unit by unit; it is counted, and A9 asks for review.
 */
async function earlierTableReleases(
  engine: Engine,
  conn: DuckDBConnection,
  runId: string,
  ownEvidence: string,
  ownUnitKey: string | null,
): Promise<{ comparable: { table: string; groupBy: string[]; evidence: string }[]; incomparable: number }> {
  const run = await engine.cp.getRun(runId);
  if (!run) return { comparable: [], incomparable: 0 };
  const out: { table: string; groupBy: string[]; evidence: string }[] = [];
  let incomparable = 0;
  // The same evidence released before (a job run again) differs from this output
  // in no unit, so it cannot isolate anyone; each distinct evidence is compared once.
  const seen = new Set<string>([ownEvidence]);
  for (const rel of await engine.cp.listAggregateTableReleases(run.agreementId)) {
    if (rel.runId === runId) continue;
    const evidenceHash = rel.parameters['evidence'];
    if (typeof evidenceHash !== 'string' || seen.has(evidenceHash) || !engine.store.has('work', evidenceHash)) continue;
    seen.add(evidenceHash);
    if (unitKeyOf(rel.parameters) !== ownUnitKey) {
      incomparable++;
      continue;
    }
    const i = out.length;
    const ext = extOf(rel.path);
    await conn.run(`CREATE TEMP VIEW __earlier_${i} AS SELECT * FROM ${reader(engine.store.pathOf('release', rel.artifactHash, ext), ext)}`);
    await conn.run(`CREATE TEMP VIEW __earlier_evidence_${i} AS SELECT * FROM read_parquet(${quoteLiteral(engine.store.pathOf('work', evidenceHash))})`);
    out.push({ table: `__earlier_${i}`, groupBy: rel.groupBy, evidence: `__earlier_evidence_${i}` });
  }
  return { comparable: out, incomparable };
}

/**
 * Audits share one in-memory DuckDB instance per engine, each with a
 * connection of its own: creating an instance costs about 10 ms, a connection
 * next to nothing, and everything an audit creates is a temporary view or
 * table, private to its connection and gone when it closes. The instance is
 * closed with the engine.
 */
const auditInstances = new WeakMap<Engine, Promise<DuckDBInstance>>();

async function openAuditConnection(engine: Engine): Promise<{ conn: DuckDBConnection; close(): void }> {
  let instance = auditInstances.get(engine);
  if (!instance) {
    // Spill files go to a folder of this process (the sweeper keeps it while the process lives).
    const dir = join(engine.dataRoot.tmp, `duck-audit-${randomBytes(4).toString('hex')}-${process.pid}`);
    const created = DuckDBInstance.create(':memory:', { memory_limit: loadConfig().duckdbMemory, temp_directory: dir });
    instance = created;
    auditInstances.set(engine, created);
    created.catch(() => auditInstances.delete(engine));
    engine.onClose(async () => {
      auditInstances.delete(engine);
      (await created.catch(() => null))?.closeSync();
      await rm(dir, { recursive: true, force: true });
    });
  }
  const conn = await (await instance).connect();
  return { conn, close: () => conn.closeSync() };
}

/**
 * Runs the non-restoration audit on one staged output, inside the domain: the
 * output, its evidence and the raw tables it descends from are opened as DuckDB
 * views in a private in-memory database. Tables get the A checks; row-level
 * extracts and files get the B checks against every raw dataset of the run.
 */
export async function auditOutput(
  engine: Engine,
  plan: Plan,
  staged: StagedOutput,
  thresholds: ReturnType<typeof resolveThresholds>,
): Promise<CheckResult[]> {
  if (staged.kind === 'model') return auditModelOutput(engine, staged, thresholds);
  const duck = await openAuditConnection(engine);
  try {
    const conn = duck.conn;
    // Row-level outputs are read exactly as written (a CSV's columns all VARCHAR, no type sniffing: a long
    // hex string must not become a DOUBLE); tables keep typed counts for the A checks.
    await conn.run(`CREATE TEMP VIEW __output AS SELECT * FROM ${staged.kind !== 'table' && staged.format === 'csv' ? `read_csv(${quoteLiteral(staged.path)}, header = true, all_varchar = true)` : reader(staged.path, staged.format)}`);
    const columns = staged.step.columns.map((c) => ({ name: c.name, class: c.class, label: c.label }));
    if (staged.kind === 'table') {
      const evidenceHash = staged.lineageParameters['evidence'];
      // The same predicate the planner refuses such an output with (pipeline/gate/structure.ts).
      const unfit = evidenceProblem({ id: staged.outputId, from: staged.step.id, kind: staged.kind, format: staged.format }, staged.step);
      const evidence = stepDefinition(staged.step.kind).evidence?.table?.(staged.step.params);
      if (unfit || !evidence || typeof evidenceHash !== 'string') {
        throw new SluiceError('SLUICE_ERR_AUDIT_FAILED', `output ${staged.outputId}: ${unfit?.reason ?? 'a table must come from an aggregate step, which records each unit\'s contributions for the audit'}`);
      }
      await conn.run(`CREATE TEMP VIEW __evidence AS ${evidence.select(`read_parquet(${quoteLiteral(engine.store.pathOf('work', evidenceHash))})`)}`);
      const earlier = await earlierTableReleases(engine, conn, staged.runId, evidenceHash, unitKeyOf(staged.lineageParameters));
      return await auditTable(
        conn,
        {
          ...(earlier.comparable.length ? { earlierReleases: earlier.comparable } : {}),
          ...(earlier.incomparable > 0 ? { incomparableEarlierReleases: earlier.incomparable } : {}),
          table: '__output',
          groupBy: evidence.groupBy,
          counts: evidence.counts,
          measures: evidence.measures,
          evidence: '__evidence',
          unitColumn: '__unit',
          // The aggregate step writes one row per (cell, unit) (it groups by both).
          evidenceUnique: true,
          file: { type: staged.format, bytes: staged.bytes, rows: staged.rows, columns },
        },
        thresholds,
      );
    }
    // Row-level: compare against every raw dataset the run extracted from.
    const raws: { table: string; directIdentifiers: string[]; quasiIdentifiers: string[]; sensitive: string[] }[] = [];
    const synthetic = staged.synthetic === true || perturbedLineage(plan, staged.step);
    // B6's control: the units the first extract held out, which the job never saw (without one B6 asks for review).
    let control: string | undefined;
    // Every name and literal of the job, as salts and keys B2 tries (never reported, only counted).
    const literals = [plan.specName, plan.agreementId, staged.outputId, ...plan.steps.flatMap((s) => [s.id, ...jobLiterals(s.params)])];
    for (const s of plan.steps) {
      const raw = stepDefinition(s.kind).readsRaw?.(s.params);
      if (!raw) continue;
      const ds = await engine.cp.getDataset(raw.dataset);
      if (!ds) continue;
      const view: string = `__raw_${raws.length}`;
      const rawFile = `read_parquet(${quoteLiteral(join(engine.dataRoot.root, ds.path))})`;
      if (synthetic && raws.length === 0 && raw.holdout !== undefined) {
        // The generation input is the raw rows the extract kept; the held-out units are the control.
        const held = holdoutPredicate(holdoutKeys(ds), raw.holdout);
        await conn.run(`CREATE TEMP VIEW ${view} AS SELECT * FROM ${rawFile} WHERE NOT ${held}`);
        await conn.run(`CREATE TEMP VIEW __control AS SELECT * FROM ${rawFile} WHERE ${held}`);
        control = '__control';
      } else {
        await conn.run(`CREATE TEMP VIEW ${view} AS SELECT * FROM ${rawFile}`);
      }
      literals.push(ds.name);
      raws.push({
        table: view,
        directIdentifiers: ds.columns.filter((c) => c.class === 'direct-identifier').map((c) => c.name),
        quasiIdentifiers: ds.columns.filter((c) => c.class === 'quasi-identifier').map((c) => c.name),
        sensitive: ds.columns.filter((c) => c.class === 'sensitive').map((c) => c.name),
      });
    }
    return await auditExtract(
      conn,
      {
        output: '__output',
        outputColumns: columns,
        raw: raws,
        declaredQuasiIdentifiers: columns.filter((c) => c.class === 'quasi-identifier').map((c) => c.name),
        sensitive: columns.filter((c) => c.class === 'sensitive').map((c) => c.name),
        context: { literals },
        ...(synthetic ? { synthetic: true } : {}),
        ...(control !== undefined ? { control } : {}),
      },
      thresholds,
    );
  } finally {
    duck.close();
  }
}

/**
 * The model checks (C1–C6) on a staged model artifact. The members and
 * non-members are rebuilt exactly: the train step's input is re-read, encoded
 * with the artifact's own feature schema and split with its recorded seed and
 * fraction, and the split is checked against the artifact's hash of the
 * training rows before anything is attacked.
 */
async function auditModelOutput(engine: Engine, staged: StagedOutput, thresholds: ReturnType<typeof resolveThresholds>): Promise<CheckResult[]> {
  const { readFileSync } = await import('node:fs');
  const { encode } = await import('../../models/encode.js');
  const { trainTestSplit } = await import('../../models/dataset.js');
  const { loadModel, rowsHash, verifyArtifact } = await import('../../models/artifact.js');
  const { auditModel } = await import('../../audit/model-checks.js');
  const { readTrainingColumns } = await import('../steps/train.js');
  const artifact = JSON.parse(readFileSync(staged.path, 'utf8')) as import('../../models/artifact.js').ModelArtifact;
  const evidence = stepDefinition(staged.step.kind).evidence?.model?.(staged.step.params);
  if (!evidence) throw new SluiceError('SLUICE_ERR_AUDIT_FAILED', `output ${staged.outputId}: a model must come from a step that trains one`);
  const run = await engine.cp.getRun(staged.runId);
  const inputStep = staged.step.needs[0];
  const inputHash = run?.steps.find((s) => s.stepId === inputStep)?.artifactHash;
  if (!inputHash || !verifyArtifact(artifact)) {
    // A tampered artifact or a lost training input cannot be attacked: blocked, not waved through.
    throw new SluiceError('SLUICE_ERR_AUDIT_FAILED', `output ${staged.outputId}: the model artifact does not verify or its training input is gone`);
  }
  const table = await readTrainingColumns(engine.store.pathOf('work', inputHash), evidence.columns);
  const dataset = encode(table, artifact.featureSchema);
  const split = trainTestSplit(dataset, artifact.training.testFraction, artifact.training.splitSeed, true);
  if (rowsHash(split.trainRows) !== artifact.training.trainRowsHash) {
    throw new SluiceError('SLUICE_ERR_AUDIT_FAILED', `output ${staged.outputId}: the recorded training split cannot be rebuilt from the step's input`);
  }
  return auditModel(
    { artifact, model: loadModel(artifact), train: split.train, test: split.test, sensitive: evidence.sensitive, recipe: evidence.recipe, seed: evidence.seed },
    thresholds,
  );
}
