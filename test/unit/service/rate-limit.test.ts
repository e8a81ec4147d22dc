import { describe, expect, it } from 'vitest';
import { FailureLimiter } from '../../../service/rate-limit.js';

describe('FailureLimiter', () => {
  it('blocks a key at the limit within the window, per key, and forgets after the window', () => {
    let now = 1_000;
    const l = new FailureLimiter(3, 100, 10_000, () => now);
    l.note(['addr:a', 'token:t']);
    l.note(['addr:a']);
    expect(l.blocked(['addr:a'])).toBeNull();
    l.note(['addr:a']);
    expect(l.blocked(['addr:b', 'addr:a'])).toBe('addr:a');
    // Negative controls: another key, and a key below the limit.
    expect(l.blocked(['addr:b', 'token:t'])).toBeNull();
    now += 101;
    expect(l.blocked(['addr:a'])).toBeNull();
  });

  it('keeps at most maxKeys keys, dropping the oldest', () => {
    const l = new FailureLimiter(1, 60_000, 2, () => 5);
    l.note(['k1']);
    l.note(['k2']);
    l.note(['k3']);
    expect(l.blocked(['k1'])).toBeNull();
    expect(l.blocked(['k2'])).toBe('k2');
    expect(l.blocked(['k3'])).toBe('k3');
  });
});
