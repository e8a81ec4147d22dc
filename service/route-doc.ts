import { z } from 'zod';
import { SluiceError } from '../lib/errors.js';

/**
 * What a route documents about itself, next to its access declaration
 * (service/access.ts `allow(roles, scope, doc)`): the zod schemas it validates
 * its input with — the same objects its handler parses with, so the document
 * and the validation cannot drift — and what it answers. The OpenAPI document
 * (service/openapi.ts) is generated from these; an onRoute hook refuses, at
 * app build, a route without one ({@link checkRouteDoc}).
 */

/** The media types a route answers with. */
export type ResponseType = 'application/json' | 'text/html' | 'text/event-stream' | 'application/octet-stream';

/** A route's schema declaration. */
export interface RouteDoc {
  /** One line: what the route does. */
  summary: string;
  /** The `:name` route parameters, as the handler validates them (every `:name` in the URL must be a key). */
  params?: z.ZodObject;
  /** The query string, as the handler validates it. */
  query?: z.ZodObject;
  /** The JSON body, as the handler validates it. */
  body?: z.ZodType;
  /** The success answer: status, what it holds, its media type (default JSON). */
  response: { status: number; description: string; type?: ResponseType };
}

/** A route's schema declaration, e.g. `doc({ summary: 'a run', params: IdParams, response: ok('the run') })`. */
export function doc(d: RouteDoc): RouteDoc {
  return d;
}

/** A success answer: 200 JSON unless told otherwise. */
export function ok(description: string, status = 200, type: ResponseType = 'application/json'): RouteDoc['response'] {
  return { status, description, type };
}

/** The `:name` parameters of a Fastify route URL, in order. */
export function urlParams(url: string): string[] {
  return [...url.matchAll(/:([A-Za-z0-9_]+)/g)].map((m) => m[1]!);
}

/**
 * Refuses (SLUICE_ERR_INTERNAL) a route whose declaration is missing or does
 * not fit its URL: a `:name` parameter the params schema does not declare, or
 * a declared parameter the URL does not have.
 */
export function checkRouteDoc(method: string, url: string, d: RouteDoc | undefined): RouteDoc {
  const where = `route ${method} ${url}`;
  if (!d || typeof d.summary !== 'string' || !d.response) {
    throw new SluiceError('SLUICE_ERR_INTERNAL', `${where} declares no schema: give allow(roles, scope, doc({ summary, params?, query?, body?, response })) from service/route-doc.ts`);
  }
  const inUrl = urlParams(url).sort();
  const declared = Object.keys(d.params?.shape ?? {}).sort();
  if (inUrl.join(',') !== declared.join(',')) {
    throw new SluiceError('SLUICE_ERR_INTERNAL', `${where}: its URL has the parameters [${inUrl.join(', ')}] but its schema declares [${declared.join(', ')}]`);
  }
  return d;
}

/** A zod schema as JSON Schema (draft 2020-12, as OpenAPI 3.1 uses), describing what a client sends. */
export function jsonSchemaOf(schema: z.ZodType): Record<string, unknown> {
  const { $schema: _drop, ...rest } = z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' }) as Record<string, unknown>;
  return rest;
}
