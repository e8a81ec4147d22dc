import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { configureLog } from '../../lib/log.js';
import { Engine } from '../../pipeline/engine.js';
import { buildApp } from '../../service/app.js';
import { TEST_REDIS_URL } from '../helpers/raw-scan.js';
import { shutdown } from '../helpers/domain-harness.js';
import { syntheticResidentId } from '../../synthetic/person-ids.js';

const KEYS = ['__proto__', 'constructor', 'prototype'] as const;

const agreementBody = (id: string) => ({
  id, scenario: 'keys test', operator: 'ops-co', purpose: 'test', useClass: 'public-interest',
  grants: [{ dataset: 'population', columns: [{ name: 'sex', treatment: 'none' }, { name: 'area_name', treatment: 'none' }] }],
  validFrom: '2026-01-01', validTo: '2027-12-31',
  auditThresholds: { A1: { threshold: 20 } },
});

/** JSON text of an agreement with `"key": {...}` written at one of several depths (as an attacker would, by hand). */
function bodyWith(key: string, depth: number): { text: string; path: string } {
  const obj = agreementBody(`AGR-KEYS-${depth}`);
  const json = JSON.stringify(obj);
  const inject = `"${key}": { "polluted": true }, `;
  const at: [string, string][] = [
    ['{"id"', 'body.'],
    ['{"dataset"', 'body.grants[0].'],
    ['{"name":"area_name"', 'body.grants[0].columns[1].'],
    ['{"threshold"', 'body.auditThresholds.A1.'],
  ];
  const [anchor, prefix] = at[depth]!;
  const i = json.indexOf(anchor);
  expect(i).toBeGreaterThanOrEqual(0);
  return { text: `${json.slice(0, i + 1)}${inject}${json.slice(i + 1)}`, path: prefix + key };
}

describe('HTTP bodies with keys that reach into prototypes are refused, naming the path', () => {
  const root = mkdtempSync(join(tmpdir(), 'sluice-keys-'));
  let engine: Engine;
  let app: FastifyInstance;
  let token = '';

  const post = async (url: string, payload: string) => {
    const res = await app.inject({ method: 'POST', url, payload, headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' } });
    return { status: res.statusCode, body: JSON.parse(res.body) as { error?: { code: string; message: string } } };
  };

  beforeAll(async () => {
    configureLog({ level: 'silent' });
    engine = await Engine.open({ dataRoot: root, databaseUrl: '', queuePrefix: `sluice-keys-${process.pid}`, redisUrl: TEST_REDIS_URL });
    app = await buildApp(engine);
    token = (await engine.cp.createUser({ name: 'admin', role: 'admin', organization: 'authority', personId: syntheticResidentId(1) })).token;
  });

  afterAll(async () => {
    await shutdown({ app, engine, root });
  });

  for (const key of KEYS) {
    for (let depth = 0; depth < 4; depth++) {
      it(`refuses ${key} at depth ${depth} with SLUICE_ERR_INPUT_INVALID, before the route acts`, async () => {
        const { text, path } = bodyWith(key, depth);
        const r = await post('/v1/agreements', text);
        expect(r.status).toBe(400);
        expect(r.body.error?.code).toBe('SLUICE_ERR_INPUT_INVALID');
        expect(r.body.error?.message).toBe(`${path}: expected a key other than __proto__, constructor, prototype; found the key "${key}"`);
        expect(await engine.cp.getAgreement(`AGR-KEYS-${depth}`)).toBeNull();
      });
    }
  }

  it('refuses them in every body, e.g. a review and a user', async () => {
    const review = await post('/v1/reviews', '{"artifactHash":"' + 'a'.repeat(64) + '","decision":"approve","reason":"ok","exception":{"constructor":{"prototype":{}}}}');
    expect(review.body.error?.message).toMatch(/^body\.exception\.constructor: /);
    const user = await post('/v1/users', '[{"__proto__":{"role":"admin"}}]');
    expect(user.body.error?.message).toMatch(/^body\[0\]\.__proto__: /);
    expect(({} as Record<string, unknown>)['polluted']).toBeUndefined();
    expect(({} as Record<string, unknown>)['role']).toBeUndefined();
  });

  it('refuses them inside a spec posted as text, naming the spec path', async () => {
    const spec = 'version: 1\nname: x\nagreement: AGR-X\ninputs: { p: { dataset: population, columns: [sex] } }\nsteps:\n  - { id: e, kind: extract, input: p, __proto__: { y: 1 } }\noutputs: [{ id: o, from: e, kind: extract }]\n';
    const r = await post('/v1/plan', JSON.stringify({ spec }));
    expect(r.status).toBe(400);
    expect(r.body.error?.code).toBe('SLUICE_ERR_SPEC_INVALID');
    expect(r.body.error?.message).toContain('steps[0].__proto__ (line 6): expected a key other than');
  });

  it('negative controls: a key named proto is only an unknown key; "__proto__" as a string value passes', async () => {
    const withProto = bodyWith('proto', 0);
    const r = await post('/v1/agreements', withProto.text);
    expect(r.status).toBe(400);
    expect(r.body.error?.message).not.toContain('a key other than');
    expect(r.body.error?.message).toContain('unknown key(s) proto');
    const ok = { ...agreementBody('AGR-KEYS-OK'), scenario: '__proto__', purpose: 'constructor prototype' };
    const created = await post('/v1/agreements', JSON.stringify(ok));
    expect(created.status).toBe(201);
    expect((await engine.cp.getAgreement('AGR-KEYS-OK'))?.scenario).toBe('__proto__');
  });
});
