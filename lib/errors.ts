/**
 * The one catalogue of Sluice error codes. Every error a user can meet has a
 * code (`SLUICE_ERR_<AREA>_<WHAT>`), a message template, an HTTP status and
 * whether a retry may help (as Fastify's `createError(code, template, status)`).
 * Messages name fields, paths, counts and ids — never a data value: errors end
 * up in Redis (job failure reasons), logs and HTTP responses. A template's
 * `{name}` placeholders are filled by {@link SluiceError.of}.
 */
export const ERRORS = {
  SLUICE_ERR_INPUT_INVALID: { status: 400, retryable: false, template: '{path}: expected {expected}, found {found}' },
  SLUICE_ERR_SPEC_INVALID: { status: 400, retryable: false, template: 'spec {path}: expected {expected}, found {found}' },
  SLUICE_ERR_SPEC_SCOPE: { status: 403, retryable: false, template: 'spec {path}: outside the agreement ({reason})' },
  SLUICE_ERR_PLAN_LINEAGE: { status: 403, retryable: false, template: 'output {output} column {column}: {reason} (lineage {path})' },
  SLUICE_ERR_PLAN_GATE: { status: 400, retryable: false, template: 'output {output}: the gate would refuse it ({check}: {reason}); instead, {hint}' },
  SLUICE_ERR_AGREEMENT_GRANT: { status: 400, retryable: false, template: 'agreement {agreement}: dataset {dataset} column {column} is a direct identifier and cannot be granted with treatment {treatment} (grant tokenize, mask or drop)' },
  SLUICE_ERR_SQL_FORBIDDEN: { status: 400, retryable: false, template: '{path}: {construct} is not allowed' },
  SLUICE_ERR_SQL_FAILED: { status: 400, retryable: false, template: '{path}: the query failed ({kind})' },
  SLUICE_ERR_AUTH_MISSING: { status: 401, retryable: false, template: '{path}: expected {expected}' },
  SLUICE_ERR_AUTH_FORBIDDEN: { status: 403, retryable: false, template: '{action}: not allowed ({reason})' },
  SLUICE_ERR_RATE_LIMITED: { status: 429, retryable: true, template: 'too many refused requests from {who}: at most {limit} in {windowMs} ms; try again later' },
  SLUICE_ERR_NOT_FOUND: { status: 404, retryable: false, template: '{kind} {id} not found' },
  SLUICE_ERR_CONFLICT: { status: 409, retryable: false, template: '{kind} {id}: {reason}' },
  SLUICE_ERR_AGREEMENT_NOT_IN_FORCE: { status: 403, retryable: false, template: 'agreement {id} is not in force ({reason})' },
  SLUICE_ERR_REVIEW_REFUSED: { status: 403, retryable: false, template: 'review of {subject} refused: {reason}' },
  SLUICE_ERR_RELEASE_REFUSED: { status: 403, retryable: false, template: 'release of {subject} refused: {reason}' },
  SLUICE_ERR_STORE_CORRUPT: { status: 500, retryable: false, template: '{subject}: the store is corrupt ({reason})' },
  SLUICE_ERR_STORE_IO: { status: 503, retryable: true, template: 'the store could not {operation} {path}' },
  SLUICE_ERR_QUEUE_UNAVAILABLE: { status: 503, retryable: true, template: 'the queue is unavailable ({reason})' },
  SLUICE_ERR_SERVICE_UNREACHABLE: { status: 503, retryable: true, template: 'the service at {url} is unreachable; start it with `sluice serve`' },
  SLUICE_ERR_DB_UNAVAILABLE: { status: 503, retryable: true, template: 'the control-plane database is unavailable ({reason})' },
  SLUICE_ERR_DATA_INVALID: { status: 400, retryable: false, template: '{path}: expected {expected}, found {found}' },
  SLUICE_ERR_TRANSFORM_INVALID: { status: 400, retryable: false, template: '{path}: expected {expected}, found {found}' },
  SLUICE_ERR_MODEL_INVALID: { status: 400, retryable: false, template: '{path}: expected {expected}, found {found}' },
  SLUICE_ERR_AUDIT_FAILED: { status: 500, retryable: false, template: 'audit {check}: could not run ({reason})' },
  SLUICE_ERR_RUN_CANCELLED: { status: 409, retryable: false, template: 'run {runId} was cancelled' },
  SLUICE_ERR_LIMIT_TIME: { status: 422, retryable: false, template: '{subject}: stopped at its time limit of {limit} ms' },
  SLUICE_ERR_LIMIT_MEMORY: { status: 422, retryable: false, template: '{subject}: stopped at its memory limit of {limit}' },
  SLUICE_ERR_LIMIT_TEMP: { status: 422, retryable: false, template: '{subject}: stopped at its temp-space limit of {limit}' },
  SLUICE_ERR_STEP_STALLED: { status: 500, retryable: false, template: '{subject}: its worker died while running it {count} time(s); not started again until a person decides' },
  SLUICE_ERR_PAYLOAD_TOO_LARGE: { status: 413, retryable: false, template: '{path}: expected at most {limit} bytes, found {found}' },
  SLUICE_ERR_INTERNAL: { status: 500, retryable: false, template: '{where}: unexpected {name}; details withheld' },
  SLUICE_ERR_HIERARCHY_INVALID: { status: 400, retryable: false, template: 'hierarchy {path}: expected {expected}, found {found}' },
  SLUICE_ERR_ANON_CONFIG_INVALID: { status: 400, retryable: false, template: '{path}: expected {expected}, found {found}' },
  SLUICE_ERR_ANON_UNSATISFIABLE: { status: 422, retryable: false, template: '{path}: {model} cannot be satisfied ({reason})' },
  SLUICE_ERR_ANON_DIRECT_IDENTIFIER: { status: 422, retryable: false, template: '{columns}: direct identifiers would be kept ({reason})' },
  SLUICE_ERR_MARGIN_AMBIGUOUS: { status: 422, retryable: false, template: '{path}: a margin over {column} needs that column without missing values ({cells} evidence rows have none; their group would read as the total)' },
} as const satisfies Record<string, { status: number; retryable: boolean; template: string }>;

/** A code from the catalogue. */
export type SluiceErrorCode = keyof typeof ERRORS;

/** The `{name}` placeholders of a template string, as a union of names. */
type Placeholders<T extends string> = T extends `${string}{${infer Name}}${infer Rest}` ? Name | Placeholders<Rest> : never;

/**
 * The values a code's template needs: one per placeholder. Field names, paths,
 * counts, ids, kinds — never a data value.
 */
export type ErrorParams<C extends SluiceErrorCode> = { readonly [K in Placeholders<(typeof ERRORS)[C]['template']>]: string | number };

/** The form an error takes to cross a thread or a queue: `{ code, message }`, nothing else. */
export interface ErrorWire {
  code: string;
  message: string;
}

/** Options of the {@link SluiceError} constructor and of {@link SluiceError.of}. */
export interface SluiceErrorOptions {
  /** The underlying error; kept in this process, never sent over a wire. */
  cause?: unknown;
  /** Default: the catalogue's value for the code. */
  retryable?: boolean;
  /** Structured details: paths, counts, ids. Never data values. Default: none (for `of`, its params). */
  details?: Record<string, unknown>;
}

/** Fills a template's `{name}` placeholders; a missing one is left as `{name}` so the gap shows. */
function render(template: string, params: Readonly<Record<string, string | number>>): string {
  return template.replace(/\{(\w+)\}/g, (whole, name: string) => {
    const v = params[name];
    return v === undefined ? whole : String(v);
  });
}

/**
 * The base class of every error Sluice throws on purpose.
 * `retryable` and `status` default to the catalogue's values for the code.
 */
export class SluiceError extends Error {
  readonly code: SluiceErrorCode;
  readonly retryable: boolean;
  readonly status: number;
  /** Optional structured details: paths, counts, ids. Never data values. */
  readonly details: Record<string, unknown> | undefined;

  constructor(code: SluiceErrorCode, message: string, options: SluiceErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'SluiceError';
    this.code = code;
    this.status = ERRORS[code].status;
    this.retryable = options.retryable ?? ERRORS[code].retryable;
    this.details = options.details;
  }

  /**
   * An error whose message is the code's template filled with `params`, e.g.
   * `SluiceError.of('SLUICE_ERR_SPEC_INVALID', { path, expected, found })`.
   * The params also become the error's `details`.
   */
  static of<C extends SluiceErrorCode>(code: C, params: ErrorParams<C>, options: SluiceErrorOptions = {}): SluiceError {
    const p = params as Readonly<Record<string, string | number>>;
    return new SluiceError(code, render(ERRORS[code].template, p), { details: { ...p }, ...options });
  }

  /** The form that crosses a thread or a process: `{ code, message }` (plus details, which hold no values). */
  toJSON(): { code: SluiceErrorCode; message: string; details?: Record<string, unknown> } {
    return this.details === undefined
      ? { code: this.code, message: this.message }
      : { code: this.code, message: this.message, details: this.details };
  }

  /** Rebuilds an error that crossed a thread or process boundary (see {@link errorFromWire}); keeps its details. */
  static fromJSON(value: unknown): SluiceError {
    const e = errorFromWire(value);
    const details = isErrorWire(value) ? (value as { details?: unknown }).details : undefined;
    return details !== null && typeof details === 'object' ? new SluiceError(e.code, e.message, { details: details as Record<string, unknown> }) : e;
  }
}

/** True when `e` is a SluiceError (also across realms, by shape). */
export function isSluiceError(e: unknown): e is SluiceError {
  return e instanceof SluiceError || (e !== null && typeof e === 'object' && (e as { name?: unknown }).name === 'SluiceError');
}

/** True when `w` is a wire error with a code from the catalogue and a string message. */
export function isErrorWire(w: unknown): w is ErrorWire & { code: SluiceErrorCode } {
  if (w === null || typeof w !== 'object') return false;
  const { code, message } = w as { code?: unknown; message?: unknown };
  return typeof code === 'string' && Object.hasOwn(ERRORS, code) && typeof message === 'string';
}

/**
 * The wire form of any thrown value, for a thread or queue crossing. A
 * SluiceError keeps its code and message (which hold no values). Anything else
 * becomes SLUICE_ERR_INTERNAL naming `where` and the error's class (and a
 * Node errno code such as ENOENT): its message is withheld, because a library's
 * message can quote data (a DuckDB conversion error quotes the cell).
 */
export function errorToWire(err: unknown, where = 'a worker'): ErrorWire {
  if (isSluiceError(err) && isErrorWire(err)) return { code: err.code, message: err.message };
  const name = err instanceof Error ? err.name : typeof err;
  const errno = (err as { code?: unknown } | null)?.code;
  const safeErrno = typeof errno === 'string' && /^E[A-Z0-9_]{1,30}$/.test(errno) ? ` (${errno})` : '';
  return { code: 'SLUICE_ERR_INTERNAL', message: render(ERRORS.SLUICE_ERR_INTERNAL.template, { where, name: `${name}${safeErrno}` }) };
}

/**
 * Rebuilds a SluiceError from its wire form; status and retryable come from
 * the catalogue. A value that is not `{ code, message }` with a known code
 * becomes a generic SLUICE_ERR_INTERNAL (its contents are not trusted to be
 * value-free, so none of them is kept).
 */
export function errorFromWire(w: unknown): SluiceError {
  if (isErrorWire(w)) return new SluiceError(w.code, w.message);
  return new SluiceError('SLUICE_ERR_INTERNAL', render(ERRORS.SLUICE_ERR_INTERNAL.template, { where: 'a boundary crossing', name: 'error without a known code' }));
}
