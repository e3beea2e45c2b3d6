import { describe, expect, it } from 'vitest';
import { fullJitterDelay, sleep } from './backoff';

describe('full-jitter backoff', () => {
  const policy = { baseMs: 500, capMs: 4000 };

  it('grows exponentially from the base and never exceeds the cap', () => {
    expect(fullJitterDelay(0, policy, () => 0.999)).toBe(499);
    expect(fullJitterDelay(1, policy, () => 0.999)).toBe(999);
    expect(fullJitterDelay(2, policy, () => 0.999)).toBe(1998);
    expect(fullJitterDelay(3, policy, () => 0.999)).toBe(3996);
    expect(fullJitterDelay(50, policy, () => 0.999)).toBe(3996);
  });

  it('spreads delays over the whole range down to zero', () => {
    expect(fullJitterDelay(10, policy, () => 0)).toBe(0);
    expect(fullJitterDelay(10, policy, () => 0.5)).toBe(2000);
  });

  it('stops sleeping when aborted', async () => {
    const controller = new AbortController();
    const pending = sleep(60_000, controller.signal);
    controller.abort();
    expect(await pending).toBe(false);
    expect(await sleep(1)).toBe(true);
  });
});
