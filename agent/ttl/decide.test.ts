import { describe, expect, it } from 'vitest';
import { parseWorkloadState, workloadAnnotations as a } from '../workloads/annotations';
import { timestamp } from '../workloads/ttl-patches';
import { decide, type DecisionInput } from './decide';

const t0 = Date.parse('2026-01-01T00:00:00Z');

function input(annotations: Record<string, string>, extra: Partial<DecisionInput> = {}): DecisionInput {
  return { now: t0, replicas: 1, state: parseWorkloadState(annotations), defaultMinUptimeMs: 60_000, ...extra };
}

describe('decide', () => {
  it('leaves workloads without a TTL alone and reports a bad TTL without acting', () => {
    expect(decide(input({})).kind).toBe('ignore');
    const bad = decide(input({ [a.ttl]: '5 minutes' }));
    expect(bad).toMatchObject({ kind: 'invalid' });
    expect(decide(input({ [a.ttl]: '5m', [a.minUptime]: 'soon' })).kind).toBe('invalid');
  });

  it('starts the clock on first sight, then waits until strictly after last activity + TTL', () => {
    expect(decide(input({ [a.ttl]: '30m' })).kind).toBe('initialise');
    const annotations = { [a.ttl]: '30m', [a.lastActivity]: timestamp(t0) };
    expect(decide(input(annotations, { now: t0 + 1_800_000 }))).toEqual({
      kind: 'wait',
      at: t0 + 1_800_001,
      heldBy: 'ttl',
    });
    expect(decide(input(annotations, { now: t0 + 1_800_001 }))).toMatchObject({
      kind: 'scaleDown',
      flapPrevented: false,
      reason: 'no activity for 30m (TTL 30m; last: unknown)',
    });
  });

  it('uses the newer of the annotation and the in-memory (debounced) activity; an open connection holds it', () => {
    const annotations = { [a.ttl]: '5s', [a.lastActivity]: timestamp(t0) };
    const recentActivity = { at: t0 + 4_000, source: 'tunnel:web' };
    expect(decide(input(annotations, { now: t0 + 6_000, recentActivity }))).toMatchObject({
      kind: 'wait',
      at: t0 + 9_001,
    });
    expect(decide(input(annotations, { now: t0 + 60_000, connected: true }))).toMatchObject({ kind: 'wait' });
  });

  it('keeps it up for the minimum uptime after a wake (anti-flap) and honours keep-awake', () => {
    const woken = { [a.ttl]: '5s', [a.lastActivity]: timestamp(t0), [a.wokenAt]: timestamp(t0) };
    expect(decide(input(woken, { now: t0 + 30_000 }))).toEqual({ kind: 'wait', at: t0 + 60_001, heldBy: 'min-uptime' });
    expect(decide(input(woken, { now: t0 + 60_001 }))).toMatchObject({ kind: 'scaleDown', flapPrevented: true });
    expect(decide(input({ ...woken, [a.minUptime]: '0s' }, { now: t0 + 6_000 }))).toMatchObject({
      kind: 'scaleDown',
      flapPrevented: false,
    });
    const kept = { ...woken, [a.keepAwakeUntil]: timestamp(t0 + 3_600_000) };
    expect(decide(input(kept, { now: t0 + 120_000 }))).toEqual({
      kind: 'wait',
      at: t0 + 3_600_001,
      heldBy: 'keep-awake',
    });
  });

  it('skips HPA targets and workloads in conflict, with the reason', () => {
    const annotations = { [a.ttl]: '5s', [a.lastActivity]: timestamp(t0) };
    expect(decide(input(annotations, { hpa: 'web', now: t0 + 10_000 }))).toMatchObject({
      kind: 'skip',
      reason: expect.stringMatching(/^hpa: the HorizontalPodAutoscaler web owns/) as string,
    });
    expect(decide(input({ ...annotations, [a.ttlSkipped]: 'conflict: argo' }, { now: t0 + 10_000 }))).toEqual({
      kind: 'skip',
      reason: 'conflict: argo',
    });
  });

  it('asleep: stays asleep, wakes on activity recorded after the scale-down; an outside scale-up counts as a wake', () => {
    const asleep = { [a.ttl]: '5s', [a.lastActivity]: timestamp(t0), [a.scaledDownAt]: timestamp(t0 + 6_000) };
    expect(decide(input(asleep, { replicas: 0 })).kind).toBe('asleep');
    const api = { ...asleep, [a.lastActivity]: timestamp(t0 + 7_000), [a.lastActivitySource]: 'api:ci' };
    expect(decide(input(api, { replicas: 0 }))).toEqual({ kind: 'wake', source: 'api:ci' });
    expect(decide(input(asleep, { replicas: 1 })).kind).toBe('externalWake');
  });
});
