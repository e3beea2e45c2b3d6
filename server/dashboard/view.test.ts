import { describe, expect, it } from 'vitest';
import { parseWorkloadState } from '@/agent/workloads/annotations';
import type { ManagedWorkload } from '@/server/runbook/workloads';
import { workloadView } from './view';

function workload(overrides: Partial<ManagedWorkload> = {}): ManagedWorkload {
  return {
    namespace: 'demo',
    name: 'queue-worker',
    replicas: { desired: 2, ready: 2, available: 2, updated: 2 },
    pods: [],
    state: parseWorkloadState({
      'pipeops.io/ttl': '2m',
      'pipeops.io/last-activity': '2026-12-01T10:00:00Z',
    }),
    paused: false,
    ...overrides,
  };
}

describe('workloadView scale-down time', () => {
  it('is the end of the idle TTL for a workload the TTL controller may scale', () => {
    expect(workloadView(workload(), 50).scaleDownAt).toBe('2026-12-01T10:02:00.000Z');
  });

  it('is absent while an HPA owns the replica count (the controller never scales it to zero)', () => {
    expect(workloadView(workload({ hpa: 'queue-worker' }), 50).scaleDownAt).toBeUndefined();
  });
});
