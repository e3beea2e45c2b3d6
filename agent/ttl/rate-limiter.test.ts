import { describe, expect, it } from 'vitest';
import { FakeClock } from './clock';
import { TokenBucket } from './rate-limiter';

describe('TokenBucket', () => {
  it('allows a burst, then the configured rate; urgent takes go into debt', async () => {
    const clock = new FakeClock(0);
    const bucket = new TokenBucket(clock, 2);
    expect([bucket.tryTake(), bucket.tryTake(), bucket.tryTake()]).toEqual([true, true, false]);
    expect(bucket.waitMs()).toBe(500);
    clock.advance(500);
    expect(bucket.tryTake()).toBe(true);
    bucket.takeNow();
    expect(bucket.waitMs()).toBe(1000);
    let taken = false;
    const pending = bucket.take().then(() => (taken = true));
    clock.advance(999);
    await Promise.resolve();
    expect(taken).toBe(false);
    clock.advance(1);
    await pending;
    expect(taken).toBe(true);
  });

  it('rejects a non-positive rate', () => {
    expect(() => new TokenBucket(new FakeClock(0), 0)).toThrow(/rate must be positive/);
  });
});
