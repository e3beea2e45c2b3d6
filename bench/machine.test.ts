import { describe, expect, it } from 'vitest';
import { describeMachine, percentile, stats } from './machine';

describe('benchmark statistics', () => {
  it('takes the median of odd and even sample counts', () => {
    expect(stats([3, 1, 2])).toEqual({ runs: 3, median: 2, min: 1, max: 3 });
    expect(stats([4, 1, 2, 3])).toEqual({ runs: 4, median: 2.5, min: 1, max: 4 });
  });

  it('refuses an empty sample set', () => {
    expect(() => stats([])).toThrow('stats() needs at least one sample');
    expect(() => percentile([], 50)).toThrow('percentile() needs at least one sample');
  });

  it('takes nearest-rank percentiles', () => {
    const samples = Array.from({ length: 100 }, (_, i) => i + 1);
    expect(percentile(samples, 50)).toBe(50);
    expect(percentile(samples, 95)).toBe(95);
    expect(percentile([7], 99)).toBe(7);
  });

  it('names cores, memory and the Node version', () => {
    expect(describeMachine()).toMatch(/^\d+ cores \(.+\), \d+ GiB, Node v\d+/);
  });
});
