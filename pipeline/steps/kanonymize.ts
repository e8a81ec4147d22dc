import type { StepExecutor } from './step-context.js';

/**
 * `kanonymize`: optimal full-domain generalization or Mondrian on the step's
 * input, with the config's k, ℓ, t and suppression limit. What it suppressed
 * and generalized is reported, never silent. The engine is loaded on first use:
 * it is heavy, and most runs never call it.
 */
export const kanonymize: StepExecutor = async (ctx) => {
  const { anonymizeFile } = await import('../../transforms/anonymize-file.js');
  const input = ctx.inputs[0]!;
  ctx.onProgress(0.05);
  const result = await anonymizeFile(input.path, ctx.step.params['config'] as Parameters<typeof anonymizeFile>[1], { outputPath: ctx.outPath });
  ctx.onProgress(1);
  return {
    rows: result.after.records,
    evidence: false,
    removed: { suppressed: result.suppressed },
    facts: { method: result.method, levels: result.levels ?? null, generalized: result.generalizedColumns },
  };
};
