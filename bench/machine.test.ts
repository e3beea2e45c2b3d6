import { describe, expect, it } from 'vitest';
import { describeMachine, stats } from './machine';

describe('benchmark statistics', () => {
  it('takes the median of odd and even sample counts', () => {
    expect(stats([3, 1, 2])).toEqual({ runs: 3, median: 2, min: 1, max: 3 });
    expect(stats([4, 1, 2, 3])).toEqual({ runs: 4, median: 2.5, min: 1, max: 4 });
  });

  it('refuses an empty sample set', () => {
    expect(() => stats([])).toThrow('stats() needs at least one sample');
  });

  it('names cores, memory and the Node version', () => {
    expect(describeMachine()).toMatch(/^\d+ cores \(.+\), \d+ GiB, Node v\d+/);
  });
});
