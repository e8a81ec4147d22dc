import { existsSync } from 'node:fs';
import { rm, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { loadConfig } from '../../lib/config.js';
import { SluiceError } from '../../lib/errors.js';
import { resolveLimits } from '../../lib/limits.js';
import { log } from '../../lib/log.js';
import { requireInForce } from '../../domain/in-force.js';
import { deriveAgreementKey } from '../../transforms/tokenize.js';
import type { Engine } from '../engine.js';
import { codeVersion } from '../engine.js';
import type { PlannedColumn, PlannedStep } from '../plan/plan.js';
import { openStepDuck } from './step-duck.js';
import { unitColumnOf } from '../gate/structure.js';
import { finishSteps, reportProgress, startSteps } from './lifecycle.js';
import { StepGuard } from './step-guard.js';
import { stepDefinition } from '../steps/index.js';
import type { StepContext, StepInput } from '../steps/step-context.js';

/** What the runner reports for one step. */
export interface StepRunResult {
  skipped: boolean;
  artifactHash: string;
  rows: number;
}

/** Progress sink: the BullMQ job's updateProgress, or nothing in tests. */
export type ProgressSink = (fraction: number) => Promise<void> | void;

/**
 * Loads a run, its plan and its agreement when a job of it starts, refusing
 * cancelled or finished runs and an agreement no longer in force
 * (SLUICE_ERR_AGREEMENT_NOT_IN_FORCE, logged as `operation`): a run in flight
 * stops at its next step.
 */
export async function loadActiveRun(engine: Engine, runId: string, operation: 'step' | 'gate' = 'step') {
  const run = await engine.cp.getRun(runId);
  if (!run) throw new SluiceError('SLUICE_ERR_NOT_FOUND', `run ${runId} does not exist`);
  if (run.status === 'cancelled') throw new SluiceError('SLUICE_ERR_RUN_CANCELLED', `run ${runId} was cancelled`);
  if (run.status === 'failed') throw new SluiceError('SLUICE_ERR_RUN_CANCELLED', `run ${runId} has already failed`);
  const agreement = await requireInForce(engine.cp, run.agreementId, { actor: 'worker', operation, target: runId });
  return { run, plan: run.plan, agreement };
}

/** Finds the input column that identifies persons or entities (through its lineage to a dataset's unit column; see unitColumnOf). */
async function findUnitColumn(engine: Engine, columns: PlannedColumn[]): Promise<string | null> {
  const datasets = new Map<string, { unitColumn: string | null }>();
  for (const c of columns) {
    if (c.source && !datasets.has(c.source.dataset)) datasets.set(c.source.dataset, { unitColumn: (await engine.cp.getDataset(c.source.dataset))?.unitColumn ?? null });
  }
  return unitColumnOf(columns, datasets);
}

/**
 * Runs one step of a run, idempotently: a step whose output is already recorded
 * and present in work/ is skipped, so a retried or re-delivered job (after a
 * worker died) does not redo or duplicate work. Outputs are written to a
 * temporary file and committed (hashed, renamed) only when complete.
 */
export async function runStep(engine: Engine, runId: string, stepId: string, progress: ProgressSink = () => undefined): Promise<StepRunResult> {
  const { run, plan, agreement } = await loadActiveRun(engine, runId);
  const planned = plan.steps.find((s) => s.id === stepId);
  const state = run.steps.find((s) => s.stepId === stepId);
  if (!planned || !state) throw new SluiceError('SLUICE_ERR_NOT_FOUND', `run ${runId} has no step ${stepId}`);
  const def = stepDefinition(planned.kind);
  const ext = def.produces === 'model' ? 'json' : 'parquet';
  if (state.status === 'done' && state.artifactHash && engine.store.has('work', state.artifactHash, ext)) {
    log.info('step.skipped', { runId, stepId, reason: 'output-present' });
    return { skipped: true, artifactHash: state.artifactHash, rows: state.rows ?? 0 };
  }
  if (planned.fusedInto) throw new SluiceError('SLUICE_ERR_INTERNAL', `run ${runId}: step ${stepId} runs inside step ${planned.fusedInto}, not on its own`);
  await startSteps(engine, runId, run.status, [stepId]);
  log.info('step.start', { runId, stepId, kind: planned.kind });

  const tokenKey = deriveAgreementKey(engine.store.secret('tokenization'), agreement.id);
  const asOf = new Date(run.createdAt).toISOString().slice(0, 10);
  const fused = plan.steps.filter((s) => s.fusedInto === stepId);
  const fusedFacts: { step: string; kind: string; parameters: PlannedStep['params']; facts: Record<string, unknown> }[] = [];
  /** The raw file a kind that reads raw/ (extract) reads, as its input, with its registered dataset. */
  const rawInput = async (step: PlannedStep, { dataset, input }: { dataset: string; input: string }) => {
    const ds = await engine.cp.getDataset(dataset);
    if (!ds) throw new SluiceError('SLUICE_ERR_NOT_FOUND', `step ${step.id}: dataset ${dataset} is not registered`);
    const path = join(engine.dataRoot.root, ds.path);
    if (!existsSync(path)) throw new SluiceError('SLUICE_ERR_STORE_CORRUPT', `dataset ${dataset}: its raw file is missing`);
    return { ds, input: { name: input, path, hash: ds.artifactHash, columns: step.columns } satisfies StepInput };
  };
  /** What a step reads: its raw file, or the outputs of the steps it needs. */
  const inputsOf = async (step: PlannedStep) => {
    const raw = stepDefinition(step.kind).readsRaw?.(step.params);
    if (raw !== undefined) {
      const r = await rawInput(step, raw);
      return { dataset: r.ds, inputs: [r.input] };
    }
    const inputs: StepInput[] = [];
    for (const need of step.needs) inputs.push(await inputFrom(step.id, need));
    return { inputs };
  };
  /** The input `reader` reads from `need`: the file it wrote, or, when it is fused into this job, its SELECT. */
  const inputFrom = async (reader: string, need: string): Promise<StepInput> => {
    const depPlan = plan.steps.find((s) => s.id === need);
    if (!depPlan) throw new SluiceError('SLUICE_ERR_INTERNAL', `step ${reader}: input ${need} is not in the plan`);
    if (depPlan.fusedInto === stepId) {
      const compile = stepDefinition(depPlan.kind).fusion?.compile;
      if (!compile) throw new SluiceError('SLUICE_ERR_INTERNAL', `step ${need}: a ${depPlan.kind} step cannot be fused`);
      const { dataset, inputs: [inner] } = await inputsOf(depPlan);
      const compiled = compile({ step: depPlan, agreement, tokenKey, asOf, input: inner!, ...(dataset ? { dataset } : {}) });
      fusedFacts.push({ step: depPlan.id, kind: depPlan.kind, parameters: depPlan.params, facts: compiled.facts });
      return { name: need, path: '', hash: inner!.hash, columns: depPlan.columns, sql: compiled.sql };
    }
    const dep = run.steps.find((s) => s.stepId === need);
    if (!dep?.artifactHash) throw new SluiceError('SLUICE_ERR_INTERNAL', `step ${reader}: input ${need} has no output yet`);
    return { name: need, path: engine.store.pathOf('work', dep.artifactHash), hash: dep.artifactHash, columns: depPlan.columns };
  };
  const { dataset, inputs } = await inputsOf(planned);
  await startSteps(engine, runId, 'running', fused.map((f) => f.id));
  const unitColumn = dataset ? null : await findUnitColumn(engine, inputs[0]?.columns ?? []);
  const outPath = engine.store.tmpPath(ext);
  const evidencePath = engine.store.tmpPath('parquet');
  const tempDir = join(engine.dataRoot.tmp, `duck-${runId}-${stepId}-${process.pid}`);
  let lastReported = 0;
  const isCancelled = async () => (await engine.cp.getRun(runId))?.status === 'cancelled';
  // Every DuckDB statement of the step runs under its agreement's limits (else the configured ones).
  const guard = new StepGuard({ subject: `run ${runId} step ${stepId}`, runId, limits: resolveLimits(loadConfig(), agreement.resourceLimits), isCancelled });
  const ctx: StepContext<PlannedStep['params']> = {
    runId,
    step: planned,
    agreement,
    inputs,
    ...(dataset ? { dataset } : {}),
    unitColumn,
    outPath,
    evidencePath,
    openDuck: () => openStepDuck(engine, guard.limits),
    tempDir,
    tokenKey,
    asOf,
    onProgress: (f) => {
      // Coarse steps (5%) keep control-plane writes and Redis events few.
      if (f - lastReported < 0.05 && f < 1) return;
      lastReported = f;
      void Promise.resolve(progress(f)).catch(() => undefined);
      // The steps fused into this one advance with it.
      reportProgress(engine, runId, [stepId, ...fused.map((x) => x.id)], f);
    },
    isCancelled,
    limits: guard.limits,
    watch: (conn) => guard.watch(conn),
  };
  const t0 = performance.now();
  guard.start();
  try {
    let outcome: Awaited<ReturnType<typeof def.execute>>;
    try {
      outcome = await def.execute(ctx);
    } catch (e) {
      throw guard.explain(e);
    } finally {
      guard.dispose();
    }
    let evidenceHash: string | null = null;
    if (outcome.evidence) {
      const ev = await engine.store.commit(evidencePath, 'work');
      evidenceHash = ev.hash;
      await engine.cp.recordArtifact({
        hash: ev.hash, zone: 'work', path: ev.relPath, kind: 'evidence', rows: null, columns: [], runId, stepId,
        lineage: { inputs: inputs.map((i) => i.hash), step: `${planned.kind}:evidence`, parameters: {}, codeVersion: codeVersion() },
      });
    }
    const out = await engine.store.commit(outPath, 'work', outcome.ext ?? 'parquet');
    await engine.cp.recordArtifact({
      hash: out.hash,
      zone: 'work',
      path: out.relPath,
      kind: outcome.ext === 'json' ? 'model' : 'table',
      rows: outcome.rows,
      columns: planned.columns,
      runId,
      stepId,
      lineage: {
        inputs: inputs.map((i) => i.hash),
        step: planned.kind,
        parameters: {
          ...planned.params,
          ...(evidenceHash ? { evidence: evidenceHash } : {}),
          ...(outcome.removed ? { removed: outcome.removed } : {}),
          ...(outcome.facts ? { facts: outcome.facts } : {}),
          // The steps computed inside this one's statement, in order from the raw input: the lineage stays complete.
          ...(fusedFacts.length > 0 ? { fused: fusedFacts } : {}),
        },
        codeVersion: codeVersion(),
      },
    });
    await finishSteps(engine, runId, { id: stepId, artifactHash: out.hash, rows: outcome.rows }, { ids: fused.map((f) => f.id), ...(outcome.inputRows !== undefined ? { rows: outcome.inputRows } : {}) });
    await progress(1);
    log.info('step.done', { runId, stepId, kind: planned.kind, rows: outcome.rows, ms: Math.round(performance.now() - t0), artifact: out.hash.slice(0, 12), ...(outcome.removed ? { removed: JSON.stringify(outcome.removed) } : {}) });
    return { skipped: false, artifactHash: out.hash, rows: outcome.rows };
  } finally {
    for (const p of [outPath, evidencePath]) if (existsSync(p)) await unlink(p).catch(() => undefined);
    await rm(tempDir, { recursive: true, force: true }).catch(() => undefined);
  }
}
