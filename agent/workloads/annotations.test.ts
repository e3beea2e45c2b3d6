import { describe, expect, it } from 'vitest';
import { parseWorkloadState, workloadAnnotations as a } from './annotations';

describe('parseWorkloadState', () => {
  it('returns only what is set', () => {
    expect(parseWorkloadState(undefined)).toEqual({ problems: [] });
  });

  it('parses every annotation the agent writes', () => {
    const state = parseWorkloadState({
      [a.ttl]: '1h30m',
      [a.originalReplicas]: '3',
      [a.lastActivity]: '2025-01-31T12:00:00Z',
      [a.lastActivitySource]: 'tunnel',
      [a.scaledDownAt]: '2025-01-31T13:30:00.123+01:00',
      [a.scaleDownReason]: 'ttl expired',
      [a.keepAwakeUntil]: '2025-02-01T00:00:00Z',
      [a.maxReplicas]: '5',
    });
    expect(state).toEqual({
      ttl: { text: '1h30m', ms: 5_400_000 },
      originalReplicas: 3,
      lastActivity: '2025-01-31T12:00:00Z',
      lastActivitySource: 'tunnel',
      scaledDownAt: '2025-01-31T13:30:00.123+01:00',
      scaleDownReason: 'ttl expired',
      keepAwakeUntil: '2025-02-01T00:00:00Z',
      maxReplicas: 5,
      problems: [],
    });
  });

  it('flags invalid values with a message instead of throwing', () => {
    const state = parseWorkloadState({
      [a.ttl]: 'soon',
      [a.originalReplicas]: '-1',
      [a.lastActivity]: 'yesterday',
      [a.maxReplicas]: '2.5',
    });
    expect(state.ttl).toBeUndefined();
    expect(state.problems.map((p) => p.message)).toEqual([
      'pipeops.io/ttl="soon" is not a positive duration such as 300s, 30m, 1h or 1h30m (at most 8760h)',
      'pipeops.io/original-replicas="-1" is not a whole number (0 or more)',
      'pipeops.io/last-activity="yesterday" is not an RFC3339 time (2025-01-31T12:00:00Z)',
      'pipeops.io/max-replicas="2.5" is not a whole number (0 or more)',
    ]);
  });

  it('rejects a zero TTL and dates the calendar does not have', () => {
    const state = parseWorkloadState({ [a.ttl]: '0s', [a.keepAwakeUntil]: '2025-13-45T00:00:00Z' });
    expect(state.problems.map((p) => p.annotation)).toEqual([a.ttl, a.keepAwakeUntil]);
  });
});
