import type { DuckDBConnection } from '@duckdb/node-api';
import { SluiceError } from '../../lib/errors.js';
import { onAbandon } from '../../lib/shutdown.js';

/** Options for {@link runWithProgress}. */
export interface RunWithProgressOptions {
  /** Called with DuckDB's own progress (0..1) while the statement runs; at most every `intervalMs`. */
  onProgress?: (fraction: number) => void;
  /** Polled every `intervalMs`; when it resolves true the statement is interrupted. */
  isCancelled?: () => Promise<boolean> | boolean;
  /** Poll interval in ms; default 500. */
  intervalMs?: number;
}

/**
 * Runs one statement, reporting DuckDB's query progress and interrupting it
 * when the run is cancelled. DuckDB's error text can quote data (a value that
 * failed a cast), so it is never passed on: the error keeps only DuckDB's error
 * class (e.g. "Conversion Error") and the statement's role. Returns the
 * statement's count when it reports one (COPY's rows written, an INSERT's rows), else 0.
 */
export async function runWithProgress(conn: DuckDBConnection, sql: string, role: string, options: RunWithProgressOptions = {}): Promise<number> {
  let cancelled = false;
  const timer = setInterval(() => {
    void (async () => {
      try {
        if (options.isCancelled && (await options.isCancelled())) {
          cancelled = true;
          conn.interrupt();
          return;
        }
        const p = conn.progress;
        if (options.onProgress && p.percentage >= 0) options.onProgress(Math.min(1, p.percentage / 100));
      } catch {
        // Progress is best effort; a failed poll must not fail the statement.
      }
    })();
  }, options.intervalMs ?? 500);
  const stopListening = onAbandon(() => conn.interrupt());
  try {
    const result = await conn.run(sql);
    if (result.columnCount !== 1 || result.columnName(0) !== 'Count') return 0;
    const rows = await result.getRows();
    return Number(rows[0]?.[0] ?? 0);
  } catch (e) {
    if (cancelled) throw new SluiceError('SLUICE_ERR_RUN_CANCELLED', `${role}: the run was cancelled`);
    throw duckError(e, role);
  } finally {
    clearInterval(timer);
    stopListening();
  }
}

/** Turns a DuckDB error into a SluiceError that keeps the error class and drops the text. */
export function duckError(e: unknown, role: string): SluiceError {
  if (e instanceof SluiceError) return e;
  const text = e instanceof Error ? e.message : String(e);
  const m = /^([A-Za-z ]{3,40} Error):/.exec(text);
  const kind = m?.[1] ?? 'Error';
  const ioLike = /Out of Memory|IO Error|Interrupt/i.test(kind);
  // Parser, binder and catalog errors speak of the operator's own SQL text and
  // column names, which the operator needs to fix the query; they never quote rows.
  if (/^(Parser|Binder|Catalog) Error$/.test(kind)) {
    return new SluiceError('SLUICE_ERR_SQL_FAILED', `${role}: ${text.split('\n')[0]!.slice(0, 300)}`, { details: { duckdbErrorClass: kind }, cause: e });
  }
  // The cause stays in this process (a step's guard reads a memory or spill limit from it); it never crosses a wire.
  return new SluiceError(ioLike ? 'SLUICE_ERR_STORE_IO' : 'SLUICE_ERR_SQL_FAILED', `${role}: DuckDB reported a ${kind}; the message is withheld because it may quote data`, {
    details: { duckdbErrorClass: kind },
    cause: e,
  });
}
