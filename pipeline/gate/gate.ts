import { openDuck, quoteLiteral } from '../../lib/duck.js';
import { SluiceError } from '../../lib/errors.js';
import { log } from '../../lib/log.js';
import { worstStatus, type Status } from '../../lib/vocabulary.js';
import { buildReport } from '../../audit/report.js';
import { loadOrCreateDomainKey, signReport } from '../../audit/sign.js';
import { resolveThresholds } from '../../audit/thresholds.js';
import { releaseDecision } from '../../audit/gate-policy.js';
import type { CheckResult } from '../../audit/types.js';
import type { Engine } from '../engine.js';
import { codeVersion } from '../engine.js';
import { auditOutput } from './audit-output.js';
import { loadActiveRun } from '../run/run-step.js';
import { recordGateDecision, requestRelease, type OutputState } from '../run/lifecycle.js';

/** What the gate decided for one output. */
export interface GateOutcome {
  outputId: string;
  artifactHash: string;
  reportId: string;
  status: Status;
  /** `released`: releasable, and its release is queued (the release queue releases it and, with the last output, the run). */
  state: OutputState;
}

/**
 * The gate: every output is copied into staging/ (frozen, content-addressed),
 * audited there, and its signed report stored with the artifact's hash. A pass
 * on an aggregate table is released at once; a row-level product, a model or a
 * `review` waits for a reviewer who is not the submitter; a fail is blocked and
 * its report names checks, columns and counts, never a value.
 */
export async function runGate(engine: Engine, runId: string): Promise<GateOutcome[]> {
  const { run, plan, agreement } = await loadActiveRun(engine, runId, 'gate');
  const outcomes: GateOutcome[] = [];
  const key = loadOrCreateDomainKey(engine.dataRoot.keys);
  const thresholds = resolveThresholds(agreement.auditThresholds, run.spec.audit?.thresholds);
  for (const out of plan.outputs) {
    const t0 = performance.now();
    const state = run.steps.find((s) => s.stepId === out.from);
    const step = plan.steps.find((s) => s.id === out.from);
    if (!state?.artifactHash || !step) throw new SluiceError('SLUICE_ERR_INTERNAL', `output ${out.id}: step ${out.from} has no output`);
    const work = await engine.cp.getArtifact(state.artifactHash, 'work');
    const lineage = await engine.cp.getLineage(state.artifactHash);
    // Stage a frozen copy in the output's final format: what is audited is byte for byte what may be released.
    let staged;
    if (out.kind === 'model') {
      staged = await engine.store.copy('work', state.artifactHash, 'staging', 'json');
    } else if (out.format === 'csv') {
      const tmp = engine.store.tmpPath('csv');
      const duck = await openDuck();
      try {
        await duck.conn.run(`COPY (SELECT * FROM read_parquet(${quoteLiteral(engine.store.pathOf('work', state.artifactHash))})) TO ${quoteLiteral(tmp)} (FORMAT csv, HEADER true)`);
      } finally {
        duck.close();
      }
      staged = await engine.store.commit(tmp, 'staging', 'csv');
    } else {
      staged = await engine.store.copy('work', state.artifactHash, 'staging');
    }
    const rows = state.rows ?? work?.rows ?? 0;
    await engine.cp.recordArtifact({
      hash: staged.hash, zone: 'staging', path: staged.relPath, kind: out.kind, rows, columns: step.columns, runId, stepId: step.id, frozen: true,
      lineage: { inputs: [state.artifactHash], step: 'stage', parameters: { outputId: out.id, format: out.format }, codeVersion: codeVersion() },
    });
    const tStaged = performance.now();
    let checks: CheckResult[];
    try {
      checks = await auditOutput(engine, plan, {
        outputId: out.id, runId, kind: out.kind, format: out.format, path: staged.path, bytes: staged.bytes, rows, step, synthetic: out.synthetic === true,
        lineageParameters: (lineage?.parameters ?? {}) as Record<string, unknown>,
      }, thresholds);
    } catch (e) {
      if (!(e instanceof SluiceError) || e.code !== 'SLUICE_ERR_AUDIT_FAILED') throw e;
      // An output the audit cannot assess is blocked, not waved through.
      checks = [{ id: 'D0', name: 'auditable', status: 'fail', summary: e.message, columns: [], metrics: {}, parameters: {} }];
    }
    const tAudited = performance.now();
    const report = buildReport({
      subject: { kind: out.kind, artifactHash: staged.hash, recipeHash: plan.specHash, runId, outputId: out.id, inputs: [state.artifactHash] },
      thresholds,
      checks,
      createdAt: new Date().toISOString(),
      auditLogHead: await engine.cp.auditLogHead(),
    });
    const signature = signReport(report, key);
    const reportId = await engine.cp.saveReport({ artifactHash: staged.hash, runId, outputId: out.id, status: report.status, report, signature });
    const decision = releaseDecision({ kind: out.kind, reportStatus: report.status, reviews: [], submitterId: run.submittedBy });
    let outcomeState: GateOutcome['state'];
    if (decision.releasable) {
      await requestRelease(engine, { runId, outputId: out.id, artifactHash: staged.hash, approvedBy: 'gate' });
      outcomeState = 'released';
    } else {
      outcomeState = report.status === 'fail' ? 'blocked' : 'awaiting-review';
    }
    log.info('gate.decided', {
      runId, outputId: out.id, status: report.status, state: outcomeState, artifact: staged.hash.slice(0, 12),
      stageMs: Math.round(tStaged - t0), auditMs: Math.round(tAudited - tStaged), ms: Math.round(performance.now() - t0),
    });
    outcomes.push({ outputId: out.id, artifactHash: staged.hash, reportId, status: report.status, state: outcomeState });
  }
  await recordGateDecision(engine, runId, outcomes.map((o) => o.state), worstStatus(outcomes.map((o) => o.status)));
  return outcomes;
}
