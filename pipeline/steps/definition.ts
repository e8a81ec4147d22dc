/**
 * What a step kind is: the one interface every module under pipeline/steps/
 * implements. The spec schema, the planner, fusion, the runner and the audit
 * read a kind only through its definition, so a new kind is one file plus one
 * line in the registry (steps/index.ts).
 */
import type { z } from 'zod';
import type { Agreement, DatasetInfo } from '../../domain/types.js';
import type { ColumnClass, Label } from '../../lib/vocabulary.js';
import type { ModelKind } from '../../models/train.js';
import type { CompiledRelation, StepContext, StepInput, StepOutcome } from './step-context.js';

/** A treatment that protects a dataset column's values, and where it was applied. */
export interface OriginTreatment {
  /** The treatment (tokenize, mask, redact, truncate, generalize, noise, shift-date; kanonymize generalizes). */
  name: string;
  /** The step that applied it, `kind:id`. */
  at: string;
  /** `agreement`: the agreement's own grant, applied by the extract; `operator`: a step of the spec. */
  by: 'agreement' | 'operator';
  /** For a mask or truncate: how many characters it keeps at the start and at the end. */
  keeps?: { start: number; end: number };
}

/**
 * One dataset column a planned column's values come from, and what they have
 * become on the way (its provenance). A column computed from several inputs
 * has one origin per dataset column it reads; a constant has none.
 */
export interface ColumnOrigin {
  dataset: string;
  column: string;
  /** The class its provider gave it. */
  class: ColumnClass;
  /**
   * What its values have become here: `raw` (as registered, or derived from it
   * without a key: a hash, substring, concatenation or digit substitution is
   * still raw), `token`, `masked`, `generalized`, `derived`, `aggregate`
   * (counted), or `unknown` (the planner could not follow it: treated as deny).
   */
  label: Label;
  /** The steps it passed through, each `kind:id`, the extract first. */
  path: string[];
  /** The treatment that protects it, when one does. */
  treatment?: OriginTreatment;
}

/** One column of a step's output. */
export interface PlannedColumn {
  name: string;
  /** DuckDB type name. */
  type: string;
  class: ColumnClass;
  label: Label;
  /** The dataset column it comes from unchanged in identity (through renames-free steps), if any. */
  source?: { dataset: string; column: string };
  /** Every dataset column its values derive from, through which steps (see {@link ColumnOrigin}). */
  lineage: ColumnOrigin[];
}

/** A planned step of kind `Kind` with parameters `P` (see PlannedStep in steps/index.ts for the union). */
export interface StepRef<P = unknown, Kind extends string = string> {
  id: string;
  kind: Kind;
  /** Ids of the steps whose outputs it reads (empty for extract). */
  needs: string[];
  /** What the step executor needs: names and settings, never data values. */
  params: P;
  columns: PlannedColumn[];
  /**
   * Set when the step runs inside the job of a later step (see fuseRowLevelSteps):
   * the id of that step. Its output is never written; the later step reads it as SQL.
   */
  fusedInto?: string;
}

/** A spec step as every kind's schema gives it: an id and a kind. */
export interface SpecStepBase {
  id: string;
  kind: string;
}

/** What a kind's planner is given: where it is in the spec, what it reads, and where to report problems. */
export interface StepPlanContext {
  /** Path segments of this step in the spec, followed by `rest` (for issue paths). */
  at(...rest: PropertyKey[]): PropertyKey[];
  /** Columns of each step it reads, by step id. */
  inputs: ReadonlyMap<string, PlannedColumn[]>;
  /** Columns of its first input (most kinds read one); empty for a kind that reads raw/. */
  upstream: PlannedColumn[];
  /** The upstream column named `name`, if any. */
  has(name: string): PlannedColumn | undefined;
  /** The upstream column named `name`; records an invalid-column issue at `segs` when there is none. */
  needColumn(segs: PropertyKey[], name: string, from: string): PlannedColumn | undefined;
  /** Records a SLUICE_ERR_SPEC_INVALID issue. */
  addInvalid(segs: PropertyKey[], expected: string, found: string): void;
  /** Records a SLUICE_ERR_SPEC_SCOPE issue (the agreement or the labels forbid it). */
  addPolicy(segs: PropertyKey[], expected: string, found: string): void;
  /** The spec's inputs (name → dataset and columns). */
  specInputs: Readonly<Record<string, { dataset: string; columns: string[] }>>;
  agreement: Agreement;
  /** Registered datasets by name. */
  datasets: ReadonlyMap<string, DatasetInfo>;
  /** Reference date (ISO) for ages. */
  today: string;
}

/** A kind's planning result: its output columns and its executor's parameters. */
export interface PlanResult<P> {
  columns: PlannedColumn[];
  params: P;
}

/** What compiling a fused step needs: the step, its (file, raw or fused) input and the run's key material. */
export interface FuseSource<P> {
  step: StepRef<P>;
  agreement: Agreement;
  tokenKey: Buffer;
  asOf: string;
  input: StepInput;
  /** For a kind that reads raw/: its dataset. */
  dataset?: DatasetInfo;
}

/** How the audit reads a table output's per-unit contributions (the A checks of AUDIT.md). */
export interface TableEvidence {
  /** A SELECT over `source` (the evidence relation) giving group-by columns, `__unit`, and one contribution per measure. */
  select(source: string): string;
  groupBy: string[];
  counts: string[];
  /** Published measures; min, max, median and percentile evidence holds the unit's min, max or list of values (A7). */
  measures: { column: string; fn: 'sum' | 'mean' | 'min' | 'max' | 'median' | 'percentile' }[];
}

/** What the model checks (C1–C6) need from the step that trained a model. */
export interface ModelEvidence {
  recipe: { kind: ModelKind; hyperparameters: Record<string, number | string | boolean>; seed: number };
  sensitive: string[];
  seed: number;
  /** The columns the model was trained on, to rebuild its split. */
  columns: { target: string; features: { numeric: string[]; categorical: string[] } };
}

/**
 * One step kind. Methods (not function properties) on purpose: a definition of
 * one kind is then usable where any kind's is expected.
 */
export interface StepDefinition<S extends SpecStepBase, P> {
  readonly kind: S['kind'];
  /** Its schema fragment in the job spec: a strict object with `id` and a literal `kind`. */
  readonly schema: z.ZodObject;
  /** What it produces: rows (a table, the default) or a model. */
  readonly produces?: 'rows' | 'model';
  /** The ids of the steps it reads, in order (none for a kind that reads raw/). */
  needs(step: S): string[];
  /** Output columns and labels from its inputs'; problems go to the context. */
  plan(step: S, ctx: StepPlanContext): PlanResult<P> | Promise<PlanResult<P>>;
  /** A short, value-free summary of its parameters for `sluice plan`. */
  summarize(params: P): string;
  /**
   * Extra reference checks on the step as written (before or despite schema
   * errors, so every problem is listed at once); `add` takes paths relative to the step.
   */
  checkRaw?(step: Record<string, unknown>, add: (segs: PropertyKey[], expected: string, found: string) => void): void;
  /**
   * For a kind whose product has no columns of its own (a model): the columns
   * of its input whose values the product is fitted on, for the lineage policy.
   */
  carries?(params: P): string[];
  /** For a kind that reads raw/ (extract): the dataset it reads, and the spec input name its SQL sees. */
  readsRaw?(params: P): { dataset: string; input: string; holdout?: number };
  /** Fusion (see fuseRowLevelSteps). */
  readonly fusion?: {
    /** Its output is one SELECT over its input: it may run inside its only reader's job. */
    compile?(src: FuseSource<P>): CompiledRelation;
    /** It can read its single input as SQL instead of a file. */
    readsSql?: boolean;
  };
  /** True when its output perturbs the rows it reads (noise): an output it feeds is audited as synthetic (B6). */
  perturbs?(params: P): boolean;
  /** Runs it; the runner hashes and records what it wrote. */
  execute(ctx: StepContext<P>): Promise<StepOutcome>;
  /** What it leaves for the audit of an output it produces. */
  readonly evidence?: {
    table?(params: P): TableEvidence;
    model?(params: P): ModelEvidence;
  };
}
