import { describe, expect, it } from 'vitest';
import { describeWait, LoginLimiter } from './login-limiter';

function clock(): { now: () => number; advance: (ms: number) => void } {
  let time = 1_000_000;
  return { now: () => time, advance: (ms) => (time += ms) };
}

describe('LoginLimiter', () => {
  it('locks a key for 30 s after 5 failures, then doubles the lockout', () => {
    const c = clock();
    const limiter = new LoginLimiter({ now: c.now });
    for (let i = 0; i < 4; i += 1) expect(limiter.recordFailure('alice\n1.2.3.4')).toEqual({ allowed: true });
    expect(limiter.recordFailure('alice\n1.2.3.4')).toEqual({ allowed: false, retryAfterMs: 30_000 });
    expect(limiter.check('alice\n5.6.7.8')).toEqual({ allowed: true });
    c.advance(29_000);
    expect(limiter.check('alice\n1.2.3.4')).toEqual({ allowed: false, retryAfterMs: 1_000 });
    c.advance(1_000);
    expect(limiter.check('alice\n1.2.3.4')).toEqual({ allowed: true });
    expect(limiter.recordFailure('alice\n1.2.3.4')).toEqual({ allowed: false, retryAfterMs: 60_000 });
  });

  it('caps the lockout, resets on success and forgets old failures', () => {
    const c = clock();
    const limiter = new LoginLimiter({ now: c.now, maxLockMs: 100_000, forgetAfterMs: 1_000_000 });
    let last = limiter.recordFailure('k');
    for (let i = 0; i < 20; i += 1) last = limiter.recordFailure('k');
    expect(last).toEqual({ allowed: false, retryAfterMs: 100_000 });
    limiter.recordSuccess('k');
    expect(limiter.check('k')).toEqual({ allowed: true });
    for (let i = 0; i < 4; i += 1) limiter.recordFailure('k');
    c.advance(1_000_001);
    expect(limiter.recordFailure('k')).toEqual({ allowed: true });
  });

  it('bounds its memory by dropping the oldest keys', () => {
    const limiter = new LoginLimiter({ maxEntries: 2, maxFailures: 1 });
    limiter.recordFailure('a');
    limiter.recordFailure('b');
    limiter.recordFailure('c');
    expect(limiter.check('a')).toEqual({ allowed: true });
    expect(limiter.check('c').allowed).toBe(false);
  });

  it('describes waits for people', () => {
    expect(describeWait(29_001)).toBe('30 s');
    expect(describeWait(240_000)).toBe('4 min');
  });
});
