import { describe, expect, it } from 'vitest';
import { formatDuration, parseDuration } from './duration';

describe('durations', () => {
  it('parses Go-style durations', () => {
    expect(parseDuration('500ms')).toBe(500);
    expect(parseDuration('5s')).toBe(5000);
    expect(parseDuration('30m')).toBe(1_800_000);
    expect(parseDuration('1h30m')).toBe(5_400_000);
    expect(parseDuration(' 2s ')).toBe(2000);
  });

  it('rejects anything else', () => {
    for (const bad of ['', '5', 's', '5 s', '-5s', '1.5s', '5d', '5sec'])
      expect(parseDuration(bad), bad).toBeUndefined();
  });

  it('formats milliseconds back into the same notation', () => {
    expect(formatDuration(5_400_000)).toBe('1h30m');
    expect(formatDuration(5000)).toBe('5s');
    expect(formatDuration(250)).toBe('250ms');
    expect(formatDuration(1500)).toBe('1500ms');
  });
});
