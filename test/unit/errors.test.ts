import { describe, expect, it } from 'vitest';
import { SluiceError } from '../../lib/errors.js';

describe('SluiceError', () => {
  it('crosses a boundary as { code, message } and is rebuilt', () => {
    const e = new SluiceError('SLUICE_ERR_SPEC_INVALID', 'steps[0].kind: expected one of extract, sample; found "x"');
    const back = SluiceError.fromJSON(JSON.parse(JSON.stringify(e)));
    expect(back.code).toBe('SLUICE_ERR_SPEC_INVALID');
    expect(back.status).toBe(400);
    expect(back.message).toBe(e.message);
  });
  it('turns an unknown shape into an internal error', () => {
    expect(SluiceError.fromJSON({ code: 'nope', message: 'x' }).code).toBe('SLUICE_ERR_INTERNAL');
  });
});
