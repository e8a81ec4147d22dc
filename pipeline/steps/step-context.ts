import type { Duck } from '../../lib/duck.js';
import type { Agreement, DatasetInfo } from '../../domain/types.js';
import type { StepLimits } from '../../lib/limits.js';
import type { PlannedColumn, StepRef } from './definition.js';

/** One input of a step as the executor sees it: a Parquet file and its planned columns. */
export interface StepInput {
  /** The name the step's SQL sees (the producing step's id, or the spec input's name for extract). */
  name: string;
  /** The Parquet file; empty when the input is a fused step's `sql`. */
  path: string;
  /** The file's hash; for a fused input, the hash of the file its chain starts from. */
  hash: string;
  columns: PlannedColumn[];
  /** A fused input: the SELECT that computes it (it may embed key material: never log or store it). */
  sql?: string;
}

/** What compiling a row-level step to SQL gives: its SELECT and value-free facts for the lineage. */
export interface CompiledRelation {
  sql: string;
  facts: Record<string, unknown>;
}

/** Everything a step executor needs; no queue, no HTTP. `P` is the kind's planned parameters. */
export interface StepContext<P = unknown> {
  runId: string;
  step: StepRef<P>;
  agreement: Agreement;
  inputs: StepInput[];
  /** For a kind that reads raw/ (`extract`): the registered dataset it reads. */
  dataset?: DatasetInfo;
  /** The input column that identifies the person or entity a row is about, if known. */
  unitColumn: string | null;
  /** Where to write the step's output (a temporary path; the runner commits it). */
  outPath: string;
  /** A second temporary path for the step's evidence (aggregate contributions), if it makes one. */
  evidencePath: string;
  /**
   * A DuckDB for this step alone (a pooled instance under the step's memory and
   * spill limits, threads from the configuration, spill files under tmp/);
   * whatever it creates must be TEMP. `close()` hands it back.
   */
  openDuck(): Promise<Duck>;
  /** Scratch folder of this step alone under tmp/ (a DuckDB of its own spills there), removed when the step ends. */
  tempDir: string;
  /** The agreement's tokenization key (derived; never leaves the domain). */
  tokenKey: Buffer;
  /** Reference date for ages (ISO), fixed per run so retries agree. */
  asOf: string;
  onProgress(fraction: number): void;
  isCancelled(): Promise<boolean>;
  /** The limits this step's DuckDB work runs under (the agreement's own, else the configured defaults). */
  limits: StepLimits;
  /**
   * Every DuckDB connection the step opens is watched until the returned
   * function is called: at the time limit or on cancellation its statements
   * are interrupted. Throws once the step was stopped.
   */
  watch(conn: { interrupt(): void }): () => void;
}

/** What an executor reports back; the runner hashes and records the files. */
export interface StepOutcome {
  rows: number;
  /** True when the executor wrote `evidencePath` too. */
  evidence: boolean;
  /** Counts a step that filters or suppresses must report (no silent removal). */
  removed?: Record<string, number>;
  /** Extension of the output file: `parquet` (default) or `json` (a model artifact). */
  ext?: 'parquet' | 'json';
  /** Small, value-free facts for the lineage record (e.g. chosen generalization levels). */
  facts?: Record<string, unknown>;
  /** Rows the step read (known to an aggregate): the row count of steps fused into it. */
  inputRows?: number;
}
