import { describe, expect, it } from 'vitest';
import { ERRORS, SluiceError, errorFromWire, errorToWire } from '../../lib/errors.js';
import type { SluiceErrorCode } from '../../lib/errors.js';

const CODES = Object.keys(ERRORS) as SluiceErrorCode[];

describe('the error catalogue', () => {
  it('gives every code a template, an HTTP status and a retry flag', () => {
    expect(CODES.length).toBeGreaterThan(20);
    for (const code of CODES) {
      expect(code).toMatch(/^SLUICE_ERR_[A-Z]+(_[A-Z]+)*$/);
      const entry = ERRORS[code];
      expect(entry.template.length, code).toBeGreaterThan(0);
      // A template names what went wrong through placeholders, not through values baked in.
      expect(entry.template, code).toMatch(/\{\w+\}/);
      expect(Number.isInteger(entry.status) && entry.status >= 400 && entry.status <= 599, code).toBe(true);
      expect(typeof entry.retryable, code).toBe('boolean');
    }
  });

  it('fills a template from named params, which also become the details', () => {
    const e = SluiceError.of('SLUICE_ERR_SPEC_INVALID', { path: 'steps[0].kind', expected: 'one of extract, sample', found: 'another word' });
    expect(e.code).toBe('SLUICE_ERR_SPEC_INVALID');
    expect(e.status).toBe(400);
    expect(e.retryable).toBe(false);
    expect(e.message).toBe('spec steps[0].kind: expected one of extract, sample, found another word');
    expect(e.details).toEqual({ path: 'steps[0].kind', expected: 'one of extract, sample', found: 'another word' });
    expect(SluiceError.of('SLUICE_ERR_STORE_IO', { operation: 'commit', path: 'staged/' }).retryable).toBe(true);
    expect(SluiceError.of('SLUICE_ERR_NOT_FOUND', { kind: 'run', id: 42 }).status).toBe(404);
  });

  it('keeps the (code, message) constructor', () => {
    const e = new SluiceError('SLUICE_ERR_CONFLICT', 'agreement a-1 already exists', { retryable: true });
    expect([e.code, e.message, e.status, e.retryable]).toEqual(['SLUICE_ERR_CONFLICT', 'agreement a-1 already exists', 409, true]);
  });
});

describe('errors on the wire', () => {
  it('round-trip every code as { code, message } and nothing else', () => {
    for (const code of CODES) {
      const e = new SluiceError(code, `message of ${code}`, { details: { path: 'x' }, cause: new Error('inner') });
      const wire = errorToWire(e);
      expect(Object.keys(wire).sort()).toEqual(['code', 'message']);
      const back = errorFromWire(JSON.parse(JSON.stringify(wire)));
      expect(back).toBeInstanceOf(SluiceError);
      expect([back.code, back.message, back.status, back.retryable]).toEqual([code, e.message, ERRORS[code].status, ERRORS[code].retryable]);
    }
  });

  it('withholds the message of an error that is not ours', () => {
    const wire = errorToWire(new RangeError("value 'Li Si, 13800138000' out of range"), 'forest: a tree-growing worker');
    expect(wire).toEqual({ code: 'SLUICE_ERR_INTERNAL', message: 'forest: a tree-growing worker: unexpected RangeError; details withheld' });
    const errno = Object.assign(new Error('open /data/raw/secret.csv'), { code: 'ENOENT' });
    expect(errorToWire(errno).message).toBe('a worker: unexpected Error (ENOENT); details withheld');
    expect(errorToWire('a thrown string with 110101199003071234').message).toBe('a worker: unexpected string; details withheld');
  });

  it('turns an unknown code or a malformed value into a generic internal error, keeping none of it', () => {
    for (const w of [{ code: 'SLUICE_ERR_NOPE', message: 'id 110101199003071234' }, { code: 'SLUICE_ERR_CONFLICT' }, { message: 'x' }, 'SLUICE_ERR_CONFLICT: x', null, 7]) {
      const back = errorFromWire(w);
      expect(back.code).toBe('SLUICE_ERR_INTERNAL');
      expect(back.status).toBe(500);
      expect(back.message).not.toContain('110101');
    }
  });

  it('still rebuilds through toJSON / fromJSON, with details', () => {
    const e = new SluiceError('SLUICE_ERR_SPEC_INVALID', 'steps[0].kind: expected one of extract, sample; found another word', { details: { path: 'steps[0].kind' } });
    const back = SluiceError.fromJSON(JSON.parse(JSON.stringify(e)));
    expect([back.code, back.status, back.message]).toEqual(['SLUICE_ERR_SPEC_INVALID', 400, e.message]);
    expect(back.details).toEqual({ path: 'steps[0].kind' });
    expect(SluiceError.fromJSON({ code: 'nope', message: 'x' }).code).toBe('SLUICE_ERR_INTERNAL');
  });
});
