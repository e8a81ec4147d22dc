import { Ajv2020 } from 'ajv/dist/2020.js';

/**
 * A structural validator of the required parts of an OpenAPI 3.x document
 * (the spec's "fixed fields" a consumer relies on), returning every problem
 * found (empty when valid): version, info, paths and their `{param}`
 * templates, operations, parameters, request bodies, responses, security
 * requirements against the declared schemes, every local `$ref` resolving, and
 * every schema valid against the JSON Schema 2020-12 meta-schema (ajv).
 */

type Json = Record<string, unknown>;
const METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'];
const isObj = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

function resolvePointer(doc: Json, ref: string): unknown {
  if (!ref.startsWith('#/')) return undefined;
  let cur: unknown = doc;
  for (const seg of ref.slice(2).split('/').map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'))) {
    if (!isObj(cur)) return undefined;
    cur = cur[seg];
  }
  return cur;
}

/** Every `$ref` in `v` with the JSON path it sits at. */
function refs(v: unknown, at: string, out: [string, string][] = []): [string, string][] {
  if (Array.isArray(v)) v.forEach((x, i) => refs(x, `${at}[${i}]`, out));
  else if (isObj(v)) for (const [k, x] of Object.entries(v)) (k === '$ref' && typeof x === 'string' ? out.push([at, x]) : refs(x, `${at}.${k}`, out));
  return out;
}

const deref = (doc: Json, v: unknown): unknown => (isObj(v) && typeof v.$ref === 'string' ? resolvePointer(doc, v.$ref) : v);

function checkSchema(ajv: Ajv2020, schema: unknown, at: string, problems: string[]): void {
  if (!isObj(schema)) return void problems.push(`${at}: expected a schema object`);
  if (typeof schema.$ref === 'string') return;
  if (!ajv.validateSchema(schema)) problems.push(`${at}: not a valid JSON Schema (${ajv.errorsText(ajv.errors)})`);
}

function checkContent(ajv: Ajv2020, content: unknown, at: string, problems: string[]): void {
  if (!isObj(content) || Object.keys(content).length === 0) return void problems.push(`${at}: expected a non-empty content map`);
  for (const [type, media] of Object.entries(content)) {
    if (!/^[a-z]+\/[a-z0-9.+*-]+$/.test(type)) problems.push(`${at}: "${type}" is not a media type`);
    if (isObj(media) && media.schema !== undefined) checkSchema(ajv, media.schema, `${at}.${type}.schema`, problems);
  }
}

function checkOperation(doc: Json, ajv: Ajv2020, path: string, method: string, op: unknown, problems: string[], opIds: Set<string>): void {
  const at = `paths.${path}.${method}`;
  if (!isObj(op)) return void problems.push(`${at}: expected an operation object`);
  if (op.operationId !== undefined) {
    if (typeof op.operationId !== 'string' || opIds.has(op.operationId)) problems.push(`${at}: operationId must be a unique string`);
    else opIds.add(op.operationId);
  }
  const params = (op.parameters ?? []) as unknown[];
  if (!Array.isArray(params)) problems.push(`${at}.parameters: expected an array`);
  const seen = new Set<string>();
  const inPath = new Set<string>();
  for (const [i, raw] of params.entries()) {
    const p = deref(doc, raw);
    const pat = `${at}.parameters[${i}]`;
    if (!isObj(p) || typeof p.name !== 'string' || !['query', 'header', 'path', 'cookie'].includes(String(p.in))) {
      problems.push(`${pat}: expected a name and in (query, header, path or cookie)`);
      continue;
    }
    if (seen.has(`${p.in}:${p.name}`)) problems.push(`${pat}: duplicate parameter ${p.in} ${p.name}`);
    seen.add(`${p.in}:${p.name}`);
    if (p.in === 'path') {
      inPath.add(p.name);
      if (p.required !== true) problems.push(`${pat}: a path parameter must be required`);
    }
    if (p.schema === undefined && p.content === undefined) problems.push(`${pat}: expected a schema or content`);
    else if (p.schema !== undefined) checkSchema(ajv, p.schema, `${pat}.schema`, problems);
  }
  const templated = [...path.matchAll(/\{([^}]+)\}/g)].map((m) => m[1]!);
  for (const name of templated) if (!inPath.has(name)) problems.push(`${at}: path parameter {${name}} is not declared`);
  for (const name of inPath) if (!templated.includes(name)) problems.push(`${at}: declares path parameter ${name} the path does not have`);
  if (op.requestBody !== undefined) {
    const body = deref(doc, op.requestBody);
    if (!isObj(body)) problems.push(`${at}.requestBody: expected an object`);
    else checkContent(ajv, body.content, `${at}.requestBody.content`, problems);
  }
  if (!isObj(op.responses) || Object.keys(op.responses).length === 0) return void problems.push(`${at}.responses: expected at least one response`);
  for (const [status, raw] of Object.entries(op.responses)) {
    const rat = `${at}.responses.${status}`;
    if (!/^([1-5](\d\d|XX)|default)$/.test(status)) problems.push(`${rat}: not a status code`);
    const r = deref(doc, raw);
    if (!isObj(r) || typeof r.description !== 'string') problems.push(`${rat}: expected a description`);
    else if (r.content !== undefined) checkContent(ajv, r.content, `${rat}.content`, problems);
  }
  const schemes = isObj(doc.components) && isObj(doc.components.securitySchemes) ? doc.components.securitySchemes : {};
  for (const req of (op.security ?? doc.security ?? []) as unknown[]) {
    if (!isObj(req)) problems.push(`${at}.security: expected requirement objects`);
    else for (const name of Object.keys(req)) if (!(name in schemes)) problems.push(`${at}.security: scheme ${name} is not declared`);
  }
}

/** The problems of `doc` as an OpenAPI 3 document; none when it is valid. */
export function validateOpenApi(doc: unknown): string[] {
  const problems: string[] = [];
  if (!isObj(doc)) return ['document: expected an object'];
  if (typeof doc.openapi !== 'string' || !/^3\.\d+\.\d+$/.test(doc.openapi)) problems.push('openapi: expected a version 3.x.y');
  if (!isObj(doc.info) || typeof doc.info.title !== 'string' || typeof doc.info.version !== 'string') problems.push('info: expected a title and a version');
  if (!isObj(doc.paths)) return [...problems, 'paths: expected an object'];
  const ajv = new Ajv2020({ strict: false });
  const opIds = new Set<string>();
  for (const [path, item] of Object.entries(doc.paths)) {
    if (!path.startsWith('/')) problems.push(`paths.${path}: a path starts with /`);
    if (!isObj(item)) {
      problems.push(`paths.${path}: expected a path item`);
      continue;
    }
    for (const [method, op] of Object.entries(item)) {
      if (METHODS.includes(method)) checkOperation(doc, ajv, path, method, op, problems, opIds);
    }
  }
  const schemes = isObj(doc.components) && isObj(doc.components.securitySchemes) ? doc.components.securitySchemes : {};
  for (const [name, s] of Object.entries(schemes)) {
    if (!isObj(s) || !['apiKey', 'http', 'mutualTLS', 'oauth2', 'openIdConnect'].includes(String(s.type))) problems.push(`components.securitySchemes.${name}: expected a type`);
    else if (s.type === 'http' && typeof s.scheme !== 'string') problems.push(`components.securitySchemes.${name}: an http scheme names its scheme`);
  }
  if (isObj(doc.components) && isObj(doc.components.schemas)) {
    for (const [name, s] of Object.entries(doc.components.schemas)) checkSchema(ajv, s, `components.schemas.${name}`, problems);
  }
  for (const [at, ref] of refs(doc, 'document')) if (resolvePointer(doc, ref) === undefined) problems.push(`${at}: $ref ${ref} does not resolve`);
  return problems;
}
