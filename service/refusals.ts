import { createHash } from 'node:crypto';
import type { FastifyRequest } from 'fastify';
import { SluiceError, type SluiceErrorCode } from '../lib/errors.js';
import { log } from '../lib/log.js';
import type { Engine } from '../pipeline/engine.js';
import type { FailureLimiter } from './rate-limit.js';

/**
 * How each refusal is recorded: its default reason word, whether it is
 * security-relevant (also a row of the hash-chained audit log: authentication
 * failures, scope refusals, SQL-guard refusals) and whether it counts towards
 * the rate limit (authentication, role and scope refusals: the probing kind).
 * The gate's own refusals are in the audit log already (`review.refused`,
 * `model.serve.refused`), so they go to the access log only.
 */
const REFUSALS: Partial<Record<SluiceErrorCode, { reason: string; audit: boolean; counts: boolean }>> = {
  SLUICE_ERR_AUTH_MISSING: { reason: 'token-missing', audit: true, counts: true },
  SLUICE_ERR_AUTH_FORBIDDEN: { reason: 'forbidden', audit: false, counts: true },
  SLUICE_ERR_NOT_FOUND: { reason: 'not-found', audit: true, counts: true },
  SLUICE_ERR_SPEC_SCOPE: { reason: 'spec-scope', audit: true, counts: false },
  SLUICE_ERR_SQL_FORBIDDEN: { reason: 'sql-guard', audit: true, counts: false },
  SLUICE_ERR_REVIEW_REFUSED: { reason: 'review-refused', audit: false, counts: false },
  SLUICE_ERR_RELEASE_REFUSED: { reason: 'release-refused', audit: false, counts: false },
  SLUICE_ERR_RATE_LIMITED: { reason: 'rate-limited', audit: false, counts: false },
};

/** The route pattern a refusal is filed under: never the raw URL, which may hold anything. */
export const NO_ROUTE = '(no route)';

const MAX_ID = 200;

/** The rate limiter's keys of a request: its client address and, when it sends one, its token (as a hash prefix, never the token). */
export function limiterKeys(req: FastifyRequest): string[] {
  const keys = [`addr:${req.ip}`];
  const h = req.headers.authorization;
  if (typeof h === 'string' && h.length > 0) keys.push(`token:${createHash('sha256').update(h).digest('hex').slice(0, 32)}`);
  return keys;
}

/** Refuses with SLUICE_ERR_RATE_LIMITED (429) when the request's token or address has had too many refusals in the window. */
export function checkRateLimit(req: FastifyRequest, limiter: FailureLimiter): void {
  const key = limiter.blocked(limiterKeys(req));
  if (key === null) return;
  req.accessRefusal = 'rate-limited';
  throw SluiceError.of('SLUICE_ERR_RATE_LIMITED', { who: key.startsWith('addr:') ? 'this address' : 'this token', limit: limiter.limit, windowMs: limiter.windowMs });
}

/** The ids the request's route named: its params and the access layer's scoped query key, each cut to 200 characters. */
function resourceOf(req: FastifyRequest): Record<string, string> {
  const out: Record<string, string> = {};
  const params = (req.params ?? {}) as Record<string, unknown>;
  for (const [k, v] of Object.entries(params).slice(0, 10)) out[k.slice(0, 100)] = String(v).slice(0, MAX_ID);
  for (const [k, v] of Object.entries(req.accessResource ?? {})) out[k] = v.slice(0, MAX_ID);
  return out;
}

/**
 * Records a refused request, when `code` is a refusal: in the access log (and
 * the audit log when security-relevant), and counts it for the rate limit.
 * Never reads the request body. A failure to record is logged, not thrown:
 * the caller still gets its answer.
 */
export async function recordRefusal(engine: Engine, limiter: FailureLimiter, req: FastifyRequest, code: string, status: number): Promise<void> {
  const kind = REFUSALS[code as SluiceErrorCode];
  if (!kind) return;
  const route = req.is404 ? NO_ROUTE : (req.routeOptions.url ?? NO_ROUTE);
  const reason = req.accessRefusal ?? (req.is404 ? 'no-route' : kind.reason);
  if (kind.counts) limiter.note(limiterKeys(req));
  try {
    await engine.cp.logRefusal(
      { userId: req.user?.id ?? null, method: req.method, route, resource: req.is404 ? {} : resourceOf(req), status, code, reason, clientAddress: req.ip ?? null },
      { audit: kind.audit && !req.is404 },
    );
  } catch (e) {
    log.error('access.log-failed', { route, code, name: (e as Error).name });
  }
  log.warn('access.refused', { route, method: req.method, status, code, reason, user: req.user?.id ?? null });
}
