import type { FastifyRequest } from 'fastify';
import { z } from 'zod';
import { SluiceError } from '../../lib/errors.js';
import type { Role, User } from '../../domain/types.js';
import { parseBody } from '../parse-body.js';

/** A full artifact hash: sha256 as 64 lowercase hex characters. */
export const Sha256 = z.string().regex(/^[0-9a-f]{64}$/, 'expected 64 lowercase hex characters');

/** The shortest hash prefix accepted for a lookup (as git: long enough to be unique in practice). */
export const MIN_HASH_PREFIX = 8;

/** A hash prefix: 8 to 64 lowercase hex characters. */
export const HashPrefix = z
  .string()
  .regex(new RegExp(`^[0-9a-f]{${MIN_HASH_PREFIX},64}$`), `expected ${MIN_HASH_PREFIX} to 64 lowercase hex characters`);

/**
 * An id of a run, report or release. Deliberately loose (any 1–200 characters):
 * an id that matches nothing is a 404 "does not exist", never a hint about the
 * id format, and ids are only ever used as query parameters, never as paths.
 */
export const Id = z.string().min(1, 'expected an id').max(200, 'expected an id of at most 200 characters');

/** `:id` route parameters. */
export const IdParams = z.object({ id: Id });
/** `:hash` route parameters. */
export const HashParams = z.object({ hash: Sha256 });

/**
 * Validates route params or a query string with a zod schema; a failure is
 * SLUICE_ERR_INPUT_INVALID naming the parameter (e.g. `hash: expected 64 …`).
 */
export function parseParams<T>(schema: z.ZodType<T>, value: unknown, what: 'params' | 'query' = 'params'): T {
  return parseBody(schema, value, what);
}

/**
 * The caller, who must hold one of `roles` (any role when none is given).
 * SLUICE_ERR_AUTH_MISSING without a token; SLUICE_ERR_AUTH_FORBIDDEN naming the
 * roles needed and the caller's.
 */
export function requireRole(req: FastifyRequest, ...roles: Role[]): User {
  if (!req.user) throw new SluiceError('SLUICE_ERR_AUTH_MISSING', 'authorization: expected a bearer token');
  if (roles.length && !roles.includes(req.user.role)) {
    throw new SluiceError('SLUICE_ERR_AUTH_FORBIDDEN', `this needs the role ${roles.join(' or ')}; you are ${req.user.role}`);
  }
  return req.user;
}
