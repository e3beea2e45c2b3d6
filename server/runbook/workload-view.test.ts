import type { V1Deployment, V1Pod } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { podView, selectorMatches, toManagedWorkload } from './workload-view';

describe('selectorMatches', () => {
  it('needs every matchLabel and every expression', () => {
    const selector = {
      matchLabels: { app: 'web' },
      matchExpressions: [
        { key: 'tier', operator: 'In', values: ['a', 'b'] },
        { key: 'canary', operator: 'DoesNotExist' },
      ],
    };
    expect(selectorMatches(selector, { app: 'web', tier: 'a' })).toBe(true);
    expect(selectorMatches(selector, { app: 'web', tier: 'c' })).toBe(false);
    expect(selectorMatches(selector, { app: 'web', tier: 'a', canary: '1' })).toBe(false);
    expect(selectorMatches({ matchExpressions: [{ key: 'x', operator: 'NotIn', values: ['1'] }] }, {})).toBe(true);
  });

  it('never matches with an empty or missing selector', () => {
    expect(selectorMatches({}, { app: 'web' })).toBe(false);
    expect(selectorMatches(undefined, { app: 'web' })).toBe(false);
  });
});

describe('podView', () => {
  it('reports the container reason, readiness and node', () => {
    const pod: V1Pod = {
      metadata: { name: 'web-1' },
      spec: { nodeName: 'n1', containers: [] },
      status: {
        phase: 'Running',
        conditions: [{ type: 'Ready', status: 'False' }],
        containerStatuses: [
          {
            name: 'c',
            image: 'i',
            imageID: '',
            ready: false,
            restartCount: 4,
            state: { waiting: { reason: 'CrashLoopBackOff' } },
          },
        ],
      },
    };
    expect(podView(pod)).toEqual({
      name: 'web-1',
      phase: 'Running',
      ready: false,
      node: 'n1',
      restarts: 4,
      reason: 'CrashLoopBackOff',
    });
  });

  it('says Unschedulable for a pending pod without a node', () => {
    const pod: V1Pod = {
      metadata: { name: 'p' },
      status: { phase: 'Pending', conditions: [{ type: 'PodScheduled', status: 'False', reason: 'Unschedulable' }] },
    };
    expect(podView(pod)).toEqual({ name: 'p', phase: 'Pending', ready: false, restarts: 0, reason: 'Unschedulable' });
  });
});

describe('toManagedWorkload', () => {
  it('picks its own pods in its namespace and the HPA that targets it', () => {
    const d: V1Deployment = {
      metadata: { name: 'web', namespace: 'demo', annotations: { 'pipeops.io/ttl': '1h' } },
      spec: {
        replicas: 2,
        selector: { matchLabels: { app: 'web' } },
        template: { metadata: { annotations: { 'kubectl.kubernetes.io/restartedAt': '2025-01-01T00:00:00Z' } } },
      },
      status: { readyReplicas: 1, availableReplicas: 1, updatedReplicas: 2 },
    };
    const pod = (name: string, namespace: string, app: string): V1Pod => ({
      metadata: { name, namespace, labels: { app } },
    });
    const w = toManagedWorkload(
      d,
      [pod('b', 'demo', 'web'), pod('a', 'demo', 'web'), pod('c', 'other', 'web'), pod('d', 'demo', 'api')],
      [
        {
          metadata: { name: 'web-hpa', namespace: 'demo' },
          spec: { scaleTargetRef: { kind: 'Deployment', name: 'web' }, maxReplicas: 3 },
        },
      ],
    );
    expect(w.pods.map((p) => p.name)).toEqual(['a', 'b']);
    expect(w).toMatchObject({
      namespace: 'demo',
      name: 'web',
      replicas: { desired: 2, ready: 1, available: 1, updated: 2 },
      state: { ttl: { ms: 3_600_000 } },
      restartedAt: '2025-01-01T00:00:00Z',
      hpa: 'web-hpa',
      paused: false,
    });
  });
});
