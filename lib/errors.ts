/**
 * The one catalogue of Sluice error codes. Every error a user can meet has a
 * code (`SLUICE_ERR_<AREA>_<WHAT>`), an HTTP status and whether a retry may
 * help. Messages name fields, paths, counts and ids — never a data value:
 * errors end up in Redis (job failure reasons), logs and HTTP responses.
 */
export const ERRORS = {
  SLUICE_ERR_INPUT_INVALID: { status: 400, retryable: false },
  SLUICE_ERR_SPEC_INVALID: { status: 400, retryable: false },
  SLUICE_ERR_SPEC_SCOPE: { status: 403, retryable: false },
  SLUICE_ERR_SQL_FORBIDDEN: { status: 400, retryable: false },
  SLUICE_ERR_SQL_FAILED: { status: 400, retryable: false },
  SLUICE_ERR_AUTH_MISSING: { status: 401, retryable: false },
  SLUICE_ERR_AUTH_FORBIDDEN: { status: 403, retryable: false },
  SLUICE_ERR_NOT_FOUND: { status: 404, retryable: false },
  SLUICE_ERR_CONFLICT: { status: 409, retryable: false },
  SLUICE_ERR_REVIEW_REFUSED: { status: 403, retryable: false },
  SLUICE_ERR_RELEASE_REFUSED: { status: 403, retryable: false },
  SLUICE_ERR_STORE_CORRUPT: { status: 500, retryable: false },
  SLUICE_ERR_STORE_IO: { status: 503, retryable: true },
  SLUICE_ERR_QUEUE_UNAVAILABLE: { status: 503, retryable: true },
  SLUICE_ERR_SERVICE_UNREACHABLE: { status: 503, retryable: true },
  SLUICE_ERR_DB_UNAVAILABLE: { status: 503, retryable: true },
  SLUICE_ERR_DATA_INVALID: { status: 400, retryable: false },
  SLUICE_ERR_TRANSFORM_INVALID: { status: 400, retryable: false },
  SLUICE_ERR_MODEL_INVALID: { status: 400, retryable: false },
  SLUICE_ERR_AUDIT_FAILED: { status: 500, retryable: false },
  SLUICE_ERR_RUN_CANCELLED: { status: 409, retryable: false },
  SLUICE_ERR_PAYLOAD_TOO_LARGE: { status: 413, retryable: false },
  SLUICE_ERR_INTERNAL: { status: 500, retryable: false },
  SLUICE_ERR_HIERARCHY_INVALID: { status: 400, retryable: false },
  SLUICE_ERR_ANON_CONFIG_INVALID: { status: 400, retryable: false },
  SLUICE_ERR_ANON_UNSATISFIABLE: { status: 422, retryable: false },
  SLUICE_ERR_ANON_DIRECT_IDENTIFIER: { status: 422, retryable: false },
} as const satisfies Record<string, { status: number; retryable: boolean }>;

/** A code from the catalogue. */
export type SluiceErrorCode = keyof typeof ERRORS;

/**
 * The base class of every error Sluice throws on purpose.
 * `retryable` defaults to the catalogue's value for the code.
 */
export class SluiceError extends Error {
  readonly code: SluiceErrorCode;
  readonly retryable: boolean;
  readonly status: number;
  /** Optional structured details: paths, counts, ids. Never data values. */
  readonly details: Record<string, unknown> | undefined;

  constructor(
    code: SluiceErrorCode,
    message: string,
    options: { cause?: unknown; retryable?: boolean; details?: Record<string, unknown> } = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'SluiceError';
    this.code = code;
    this.status = ERRORS[code].status;
    this.retryable = options.retryable ?? ERRORS[code].retryable;
    this.details = options.details;
  }

  /** The form that crosses a thread or a process: `{ code, message }`. */
  toJSON(): { code: SluiceErrorCode; message: string; details?: Record<string, unknown> } {
    return this.details === undefined
      ? { code: this.code, message: this.message }
      : { code: this.code, message: this.message, details: this.details };
  }

  /** Rebuilds an error that crossed a thread or process boundary. */
  static fromJSON(value: unknown): SluiceError {
    if (value !== null && typeof value === 'object' && 'code' in value && 'message' in value) {
      const v = value as { code: unknown; message: unknown; details?: unknown };
      if (typeof v.code === 'string' && v.code in ERRORS && typeof v.message === 'string') {
        const details = v.details && typeof v.details === 'object' ? (v.details as Record<string, unknown>) : undefined;
        return new SluiceError(v.code as SluiceErrorCode, v.message, details ? { details } : {});
      }
    }
    return new SluiceError('SLUICE_ERR_INTERNAL', 'an internal error crossed a boundary without a code');
  }
}

/** True when `e` is a SluiceError (also across realms, by shape). */
export function isSluiceError(e: unknown): e is SluiceError {
  return e instanceof SluiceError || (e !== null && typeof e === 'object' && (e as { name?: unknown }).name === 'SluiceError');
}
