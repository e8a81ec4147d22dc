import { mkdtempSync, rmSync, statSync, chmodSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateKeyPairSync } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import { buildReport } from '../../../audit/report.js';
import { DOMAIN_KEY_FILE, canonicalJson, loadOrCreateDomainKey, signReport, verifyReport } from '../../../audit/sign.js';
import { DEFAULT_THRESHOLDS } from '../../../audit/thresholds.js';
import type { AuditReport } from '../../../audit/types.js';

const root = mkdtempSync(join(tmpdir(), 'sluice-sign-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

function report(): AuditReport {
  return buildReport({
    subject: { kind: 'table', artifactHash: '0f'.repeat(32), inputs: [] },
    thresholds: DEFAULT_THRESHOLDS,
    checks: [
      { id: 'A1', name: 'threshold', status: 'fail', summary: '1 of 4 cells count fewer than 10 distinct units (smallest 9)', columns: ['area'], metrics: { cellsFailing: 1 }, parameters: { threshold: 10 } },
    ],
    createdAt: '2025-02-01T00:00:00Z',
  });
}

describe('loadOrCreateDomainKey', () => {
  it('creates the private key with mode 0600 in a 0700 directory and loads the same key again', () => {
    const dir = join(root, 'keys');
    const k1 = loadOrCreateDomainKey(dir);
    expect(statSync(join(dir, DOMAIN_KEY_FILE)).mode & 0o777).toBe(0o600);
    expect(statSync(dir).mode & 0o777).toBe(0o700);
    const k2 = loadOrCreateDomainKey(dir);
    expect(k2.keyId).toBe(k1.keyId);
    expect(k1.keyId).toMatch(/^[0-9a-f]{16}$/);
  });

  it('tightens a key file others could read', () => {
    const dir = join(root, 'keys-loose');
    loadOrCreateDomainKey(dir);
    chmodSync(join(dir, DOMAIN_KEY_FILE), 0o644);
    loadOrCreateDomainKey(dir);
    expect(statSync(join(dir, DOMAIN_KEY_FILE)).mode & 0o777).toBe(0o600);
  });
});

describe('signReport / verifyReport', () => {
  const key = loadOrCreateDomainKey(join(root, 'keys-sign'));

  it('verifies an untouched report, also after a JSON round trip with other key order', () => {
    const r = report();
    const sig = signReport(r, key);
    expect(Buffer.from(sig, 'base64')).toHaveLength(64);
    expect(verifyReport(r, sig, key.publicKey)).toBe(true);
    const stored = JSON.parse(JSON.stringify({ status: r.status, checks: r.checks, createdAt: r.createdAt, thresholds: r.thresholds, subject: r.subject, version: r.version }));
    expect(verifyReport(stored as AuditReport, sig, key.publicKeyPem)).toBe(true);
  });

  it('fails an edited report: a status turned to pass, a count changed, a check removed', () => {
    const r = report();
    const sig = signReport(r, key);
    const a = structuredClone(r);
    a.status = 'pass';
    expect(verifyReport(a, sig, key.publicKey)).toBe(false);
    const b = structuredClone(r);
    b.checks[0]!.metrics['cellsFailing'] = 0;
    expect(verifyReport(b, sig, key.publicKey)).toBe(false);
    const c = structuredClone(r);
    c.checks = [];
    expect(verifyReport(c, sig, key.publicKey)).toBe(false);
  });

  it('fails under another key and on a malformed signature', () => {
    const r = report();
    const sig = signReport(r, key);
    const other = generateKeyPairSync('ed25519').publicKey;
    expect(verifyReport(r, sig, other)).toBe(false);
    expect(verifyReport(r, 'not-a-signature', key.publicKey)).toBe(false);
    expect(verifyReport(r, sig, 'not a pem')).toBe(false);
  });
});

describe('canonicalJson', () => {
  it('sorts keys at every level and drops undefined like JSON', () => {
    expect(canonicalJson({ b: 1, a: { d: [3, { z: 1, y: 2 }], c: undefined } })).toBe('{"a":{"d":[3,{"y":2,"z":1}]},"b":1}');
    expect(canonicalJson({ x: NaN, y: [undefined] })).toBe('{"x":null,"y":[null]}');
  });
});
