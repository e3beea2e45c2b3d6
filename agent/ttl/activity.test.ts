import { describe, expect, it } from 'vitest';
import { ActivityTracker, type Activity } from './activity';
import { FakeClock } from './clock';

function tracker(): { clock: FakeClock; writes: [string, Activity][]; activity: ActivityTracker } {
  const clock = new FakeClock(0);
  const writes: [string, Activity][] = [];
  const activity = new ActivityTracker({
    clock,
    debounceMs: 15_000,
    flush: (key, value) => {
      writes.push([key, value]);
      return Promise.resolve();
    },
  });
  return { clock, writes, activity };
}

async function flushMicrotasks(): Promise<void> {
  for (let i = 0; i < 5; i++) await Promise.resolve();
}

describe('ActivityTracker', () => {
  it('writes the first activity at once, then at most one write per window with the newest activity', async () => {
    const { clock, writes, activity } = tracker();
    activity.touch('ns/web', 'tunnel:web');
    await flushMicrotasks();
    expect(writes).toEqual([['ns/web', { at: 0, source: 'tunnel:web' }]]);
    for (let t = 1; t <= 10; t++) {
      clock.advance(1000);
      activity.touch('ns/web', `tunnel:${t}`);
      await flushMicrotasks();
    }
    expect(writes).toHaveLength(1);
    expect(activity.latest('ns/web')).toEqual({ at: 10_000, source: 'tunnel:10' });
    clock.advance(5000);
    await flushMicrotasks();
    expect(writes).toEqual([
      ['ns/web', { at: 0, source: 'tunnel:web' }],
      ['ns/web', { at: 10_000, source: 'tunnel:10' }],
    ]);
    clock.advance(60_000);
    await flushMicrotasks();
    expect(writes).toHaveLength(2);
  });

  it('keeps workloads apart and skips activity someone else already wrote (a wake)', async () => {
    const { writes, activity } = tracker();
    activity.written('ns/a', { at: 0, source: 'tunnel:a' });
    activity.touch('ns/b', 'api:ci');
    await flushMicrotasks();
    expect(writes.map(([key]) => key)).toEqual(['ns/b']);
    expect(activity.latest('ns/a')).toEqual({ at: 0, source: 'tunnel:a' });
  });
});
