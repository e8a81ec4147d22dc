/** `aggregate`: group-by counts, sums, means, extremes, percentiles and distinct counts, counted per person or entity, with the evidence the audit needs. */
import { z } from 'zod';
import { SluiceError } from '../../lib/errors.js';
import type { DuckDBConnection } from '@duckdb/node-api';
import { queryRows, quoteIdent } from '../../lib/duck.js';
import { resolveThresholds } from '../../audit/thresholds.js';
import { runWithProgress } from '../run/duck-run.js';
import { COLUMN, STEP_ID, positiveInt } from '../spec/fields.js';
import { copyToParquet, openStepDuck, parquet, relationOf } from './duck-step.js';
import type { PlannedColumn, StepDefinition } from './definition.js';
import { NUMERIC, col, stepTag, treatOrigins } from './plan-helpers.js';
import type { StepContext, StepOutcome } from './step-context.js';
import {
  MEASURE_FNS,
  cellStatsSql,
  evidenceColumn,
  evidenceSql,
  isCount,
  isExtreme,
  marginEvidenceSql,
  publishedSql,
  removedSql,
  unitKeySql,
  type AggregateMeasure,
  type CellOptions,
} from './aggregate-sql.js';

export { MEASURE_FNS, unitKeySql, type AggregateMeasure };

/** Functions that read no column. */
const COLUMNLESS = new Set<string>(['count', 'count_units']);

/** The schema of one measure. */
export const Measure = z
  .strictObject({
    fn: z.enum(MEASURE_FNS, { error: `one of ${MEASURE_FNS.join(', ')}` }),
    column: COLUMN.optional(),
    percentile: z.number({ error: 'a share strictly between 0 and 1, e.g. 0.9' }).gt(0, 'a share strictly between 0 and 1, e.g. 0.9').lt(1, 'a share strictly between 0 and 1, e.g. 0.9').optional(),
    as: COLUMN,
  })
  .superRefine((m, ctx) => {
    if (!COLUMNLESS.has(m.fn) && m.column === undefined) {
      ctx.addIssue({ code: 'custom', path: ['column'], message: `a column to ${m.fn}`, input: undefined });
    }
    if (COLUMNLESS.has(m.fn) && m.column !== undefined) {
      ctx.addIssue({ code: 'custom', path: ['column'], message: `no column (${m.fn} counts rows or units)`, input: m.column });
    }
    if (m.fn === 'percentile' && m.percentile === undefined) {
      ctx.addIssue({ code: 'custom', path: ['percentile'], message: 'the share below the percentile, strictly between 0 and 1 (e.g. 0.9)', input: undefined });
    }
    if (m.fn !== 'percentile' && m.percentile !== undefined) {
      ctx.addIssue({ code: 'custom', path: ['percentile'], message: `no percentile (only fn: percentile takes one; median is 0.5)`, input: m.percentile });
    }
  });

/** At most this many margin columns (2^n − 1 sets of totals). */
const MAX_MARGINS = 3;

const schema = z.strictObject({
  id: STEP_ID,
  kind: z.literal('aggregate'),
  from: STEP_ID,
  group_by: z.array(COLUMN, { error: 'a list of column names' }),
  measures: z.array(Measure, { error: 'a list of measures' }).min(1),
  round: positiveInt('a rounding base (a whole number of at least 1)').optional(),
  suppress_below: positiveInt('a minimum number of units per cell (a whole number of at least 1)').optional(),
  margins: z.array(COLUMN, { error: 'a list of group-by columns to total over' }).max(MAX_MARGINS, `at most ${MAX_MARGINS} margin columns`).optional(),
});

/** An aggregate step as the spec gives it. */
export type AggregateSpecStep = z.output<typeof schema>;

/**
 * Names the unit-key function of an evidence file: the scheme and the key DuckDB
 * gives a fixed canary string. Evidence written under another name (a DuckDB
 * upgrade that changed hash()) cannot be joined with this evidence by unit.
 */
export async function unitKeyScheme(conn: DuckDBConnection): Promise<string> {
  const [row] = await queryRows<{ k: bigint }>(conn, `SELECT hash('sluice/unit-key/v1') AS k`);
  return `duckdb-hash:${String(row?.k)}`;
}

/** Parameters of an aggregate step (validated by the spec schema). */
export interface AggregateParams {
  group_by: string[];
  measures: AggregateMeasure[];
  /** Round published counts to this base (A2); default 5; 1 turns rounding off. */
  round?: number;
  /** Drop cells with fewer than this many units, and say how many (never silently); default: keep all. */
  suppress_below?: number;
  /** Group-by columns to publish totals over (NULL in the column), recomputed from protected cells only. */
  margins?: string[];
}

/** The agreement's cell threshold (A1) less one: an extreme held by, or with on one side, that many units or fewer is withheld (A7). */
function extremeUnits(ctx: StepContext<AggregateParams>): number {
  return resolveThresholds(ctx.agreement.auditThresholds).A1.threshold - 1;
}

/** Refuses a margin over a column that holds missing values: its total row (NULL there) would read as that group. */
async function requireMarginKeys(ctx: StepContext<AggregateParams>, conn: DuckDBConnection, evidence: string, margins: readonly string[]): Promise<void> {
  for (const m of margins) {
    const [row] = await queryRows<{ n: bigint }>(conn, `SELECT count(*) AS n FROM ${evidence} WHERE ${quoteIdent(m)} IS NULL`);
    const n = Number(row?.n ?? 0);
    if (n > 0) throw SluiceError.of('SLUICE_ERR_MARGIN_AMBIGUOUS', { path: `steps.${ctx.step.id}.margins`, column: m, cells: n });
  }
}

/**
 * `aggregate`: group-by counts, sums, means, extremes, percentiles and distinct
 * counts. It first writes the evidence the audit needs — each unit's
 * contribution to each cell, one row per (cell, unit) — and then the published
 * table from that evidence, so contributions are counted per person or entity,
 * not per row. A published min, max or percentile that is one unit's own value
 * (held by, or with on one side, fewer units than the agreement's A1 threshold) is
 * withheld (NULL) and counted, as A7 would block it; margins are recomputed
 * from the protected cells only. The evidence stays in work/ and is never
 * released. Without suppression or margins the evidence streams from the input
 * (a file, or the fused SELECT of the steps before) straight into its file,
 * and the table is computed from that file, which is a fraction of the input.
 */
async function executeAggregate(ctx: StepContext<AggregateParams>): Promise<StepOutcome> {
  const input = ctx.inputs[0]!;
  const p = ctx.step.params;
  const unit = ctx.unitColumn;
  if (!unit) {
    throw new SluiceError('SLUICE_ERR_SPEC_INVALID', `steps.${ctx.step.id}: aggregate needs its input to keep the column that identifies persons or entities (tokenized is fine); none was found`);
  }
  const g = p.group_by.map(quoteIdent);
  const t = p.suppress_below ? Math.floor(p.suppress_below) : 0;
  const margins = p.margins ?? [];
  const o: CellOptions = { groupBy: p.group_by, measures: p.measures, base: Math.max(1, Math.floor(p.round ?? 5)), suppressBelow: t, extremeUnits: extremeUnits(ctx) };
  // The unit enters the evidence as a 64-bit key, not as its (tokenized) text: a quarter of the bytes to
  // write, hash and audit. DuckDB's hash() is stable within a DuckDB version; the key's scheme is recorded
  // (UNIT_KEY_SCHEME plus a canary) so the audit never compares keys made by two different hash functions.
  const ev = evidenceSql(relationOf(input), p.group_by, unit, p.measures);
  const role = `step ${ctx.step.id} (aggregate)`;
  const hasExtremes = p.measures.some((m) => isExtreme(m.fn));
  const duck = await openStepDuck(ctx);
  const removedOf = async (stats: string): Promise<Record<string, number>> => {
    const [r] = await queryRows<{ cells: bigint; units: bigint; extremes: bigint }>(duck.conn, removedSql(stats, p.measures));
    return {
      ...(t > 0 ? { cells: Number(r?.cells ?? 0), units: Number(r?.units ?? 0) } : {}),
      ...(hasExtremes ? { extremes: Number(r?.extremes ?? 0) } : {}),
    };
  };
  try {
    let evidence: string;
    if (t === 0 && margins.length === 0) {
      // Uncompressed: random 64-bit unit keys do not compress, and the keys of cells are dictionary-encoded anyway.
      await copyToParquet(duck, ev, ctx.evidencePath, ctx, role, (f) => f * 0.95, 'uncompressed');
      evidence = parquet(ctx.evidencePath);
      await duck.conn.run(`CREATE TEMP TABLE __stats AS ${cellStatsSql(evidence, o)}`);
    } else {
      await runWithProgress(duck.conn, `CREATE TEMP TABLE __evidence AS ${ev}`, role, {
        onProgress: (f) => ctx.onProgress(f * 0.8),
        isCancelled: () => ctx.isCancelled(),
      });
      await requireMarginKeys(ctx, duck.conn, '__evidence', margins);
      await duck.conn.run(`CREATE TEMP TABLE __base AS ${cellStatsSql('__evidence', o)}`);
      // The evidence describes exactly the published cells (and the margins made of them), so the audit sees what is released.
      const published = `SELECT * FROM __evidence${t > 0 ? ` QUALIFY count(*) OVER (${g.length > 0 ? `PARTITION BY ${g.join(', ')}` : ''}) >= ${t}` : ''}`;
      if (margins.length > 0) {
        await duck.conn.run(`CREATE TEMP TABLE __margins AS ${marginEvidenceSql('__evidence', '__base', o, margins)}`);
        await duck.conn.run(`CREATE TEMP VIEW __all AS SELECT * FROM __evidence UNION ALL BY NAME SELECT * FROM __margins`);
        await duck.conn.run(`CREATE TEMP TABLE __stats AS ${cellStatsSql('__all', o)}`);
      } else {
        await duck.conn.run(`CREATE TEMP VIEW __stats AS SELECT * FROM __base`);
      }
      await copyToParquet(duck, margins.length > 0 ? `${published} UNION ALL BY NAME SELECT * FROM __margins` : published, ctx.evidencePath, ctx, role, (f) => 0.8 + f * 0.15);
      evidence = '__evidence';
    }
    const [totals] = await queryRows<{ n: bigint | null }>(duck.conn, `SELECT sum(__rows) AS n FROM ${evidence}`);
    // A suppressed cell is published with NULL measures rather than left out:
    // an absent cell reads as a zero, and a zero next to a populated cell
    // discloses that everyone in the row is in that one category.
    const rows = await copyToParquet(duck, publishedSql('__stats', o), ctx.outPath, ctx, role, () => 1);
    const removed = await removedOf(t === 0 && margins.length === 0 ? '__stats' : '__base');
    return {
      rows,
      evidence: true,
      ...(Object.keys(removed).length > 0 ? { removed } : {}),
      facts: { roundBase: o.base, unitKey: await unitKeyScheme(duck.conn), ...(hasExtremes ? { extremeUnits: o.extremeUnits } : {}) },
      inputRows: Number(totals?.n ?? 0),
    };
  } finally {
    duck.close();
  }
}

/** A measure's planned output column. */
function measureColumn(m: AggregateSpecStep['measures'][number], k: number, step: AggregateSpecStep, ctx: Parameters<typeof aggregate.plan>[1]): PlannedColumn {
  // A count says how many rows, units or values, nothing of any column's values.
  if (m.fn === 'count' || m.fn === 'count_units') return { name: m.as, type: 'BIGINT', class: 'other', label: 'aggregate', lineage: [] };
  const c = ctx.needColumn(ctx.at('measures', k, 'column'), m.column!, step.from);
  if (m.fn === 'count_distinct') return { name: m.as, type: 'BIGINT', class: 'other', label: 'aggregate', lineage: [] };
  if (c && !NUMERIC.test(c.type)) ctx.addInvalid(ctx.at('measures', k, 'column'), `a numeric column to ${m.fn}`, `column ${c.name} of type ${c.type}`);
  return { name: m.as, type: 'DOUBLE', class: c?.class ?? 'other', label: 'aggregate', lineage: treatOrigins(c?.lineage, 'aggregate', { name: m.fn, at: stepTag(step), by: 'operator' }) };
}

/** The aggregate kind: plans group-by and measure columns, reads a fused input, records per-unit evidence. */
export const aggregate: StepDefinition<AggregateSpecStep, AggregateParams> = {
  kind: 'aggregate',
  schema,
  needs: (s) => [s.from],
  plan(step, ctx) {
    const columns: PlannedColumn[] = [];
    const names = new Set<string>();
    step.group_by.forEach((g, k) => {
      const c = ctx.needColumn(ctx.at('group_by', k), g, step.from);
      if (names.has(g)) ctx.addInvalid(ctx.at('group_by', k), 'each column once', `column ${g} twice`);
      names.add(g);
      if (c) columns.push(col(c));
    });
    const seenMargins = new Set<string>();
    (step.margins ?? []).forEach((m, k) => {
      if (!step.group_by.includes(m)) ctx.addInvalid(ctx.at('margins', k), 'a group-by column of this step', `column ${m}`);
      if (seenMargins.has(m)) ctx.addInvalid(ctx.at('margins', k), 'each column once', `column ${m} twice`);
      seenMargins.add(m);
    });
    step.measures.forEach((m, k) => {
      if (names.has(m.as)) ctx.addInvalid(ctx.at('measures', k, 'as'), 'an output name not used by a group-by column or another measure', `the name ${m.as} again`);
      names.add(m.as);
      columns.push(measureColumn(m, k, step, ctx));
    });
    const params: AggregateParams = {
      group_by: [...step.group_by],
      measures: step.measures.map((m) => ({ ...m })),
      ...(step.round === undefined ? {} : { round: step.round }),
      ...(step.suppress_below === undefined ? {} : { suppress_below: step.suppress_below }),
      ...(step.margins === undefined || step.margins.length === 0 ? {} : { margins: [...step.margins] }),
    };
    return { columns, params };
  },
  summarize: (p) => `group by ${p.group_by.join(', ') || '(all rows)'}${p.margins?.length ? `; margins over ${p.margins.join(', ')}` : ''}`,
  fusion: { readsSql: true },
  execute: executeAggregate,
  evidence: {
    table(p) {
      const contribution = (m: AggregateMeasure): string => {
        const ev = evidenceColumn(m);
        if (ev === null) return '1';
        return m.fn === 'count_distinct' ? `coalesce(len(${quoteIdent(ev)}), 0)` : quoteIdent(ev);
      };
      return {
        select: (source) => `SELECT ${p.group_by.map((g) => `${quoteIdent(g)}, `).join('')}__unit, ${p.measures.map((m) => `${contribution(m)} AS ${quoteIdent(m.as)}`).join(', ')} FROM ${source}`,
        groupBy: p.group_by,
        counts: p.measures.filter((m) => isCount(m.fn)).map((m) => m.as),
        measures: p.measures.filter((m) => !isCount(m.fn)).map((m) => ({ column: m.as, fn: m.fn as 'sum' | 'mean' | 'min' | 'max' | 'median' | 'percentile' })),
      };
    },
  },
};
