/** `kanonymize`: optimal full-domain generalization or Mondrian, with k, ℓ, t and a suppression limit. */
import { z } from 'zod';
import { anonymizeConfigSchema, type AnonymizeConfig } from '../../transforms/anonymize-config.js';
import { STEP_ID, describeFound, isUnsafeName } from '../spec/fields.js';
import type { StepDefinition } from './definition.js';
import { atLeastAsStrong, col, stepTag, treatOrigins } from './plan-helpers.js';

const schema = z.strictObject({
  id: STEP_ID,
  kind: z.literal('kanonymize'),
  from: STEP_ID,
  config: anonymizeConfigSchema,
});

/** A kanonymize step as the spec gives it. */
export type KAnonymizeSpecStep = z.output<typeof schema>;

/** Planned parameters of a kanonymize step. */
export interface KAnonymizeParams {
  config: AnonymizeConfig;
}

/**
 * `kanonymize`: what it suppressed and generalized is reported, never silent.
 * The engine is loaded on first use: it is heavy, and most runs never call it.
 */
export const kanonymize: StepDefinition<KAnonymizeSpecStep, KAnonymizeParams> = {
  kind: 'kanonymize',
  schema,
  needs: (s) => [s.from],
  plan(step, ctx) {
    const qis = step.config.quasiIdentifiers.map((q) => q.column);
    qis.forEach((q, k) => ctx.needColumn(ctx.at('config', 'quasiIdentifiers', k, 'column'), q, step.from));
    step.config.sensitive?.forEach((c, k) => ctx.needColumn(ctx.at('config', 'sensitive', k), c, step.from));
    const columns = ctx.upstream.map((c) =>
      qis.includes(c.name)
        ? col(c, { type: 'VARCHAR', label: atLeastAsStrong(c.label, 'generalized') ? c.label : 'generalized', lineage: treatOrigins(c.lineage, 'generalized', { name: 'generalize', at: stepTag(step), by: 'operator' }) })
        : col(c),
    );
    return { columns, params: { config: structuredClone(step.config) } };
  },
  checkRaw(s, add) {
    // A hierarchy file name is joined to a folder: a path-like one is refused before anything reads it.
    const qis = s['config'] && typeof s['config'] === 'object' ? (s['config'] as Record<string, unknown>)['quasiIdentifiers'] : undefined;
    if (!Array.isArray(qis)) return;
    qis.forEach((q, k) => {
      const arx = (q as { hierarchy?: { arx?: unknown } } | null)?.hierarchy?.arx;
      if (typeof arx === 'string' && isUnsafeName(arx)) {
        add(['config', 'quasiIdentifiers', k, 'hierarchy', 'arx'], 'a hierarchy file name (no path separators, "..", NUL or control characters)', describeFound(arx));
      }
    });
  },
  summarize: (p) => `k = ${String(p.config.k)}`,
  async execute(ctx) {
    const { anonymizeFile } = await import('../../transforms/anonymize-file.js');
    const input = ctx.inputs[0]!;
    ctx.onProgress(0.05);
    const result = await anonymizeFile(input.path, ctx.step.params.config, { outputPath: ctx.outPath });
    ctx.onProgress(1);
    return {
      rows: result.after.records,
      evidence: false,
      removed: { suppressed: result.suppressed },
      facts: { method: result.method, levels: result.levels ?? null, generalized: result.generalizedColumns },
    };
  },
};
