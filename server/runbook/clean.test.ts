import { describe, expect, it } from 'vitest';
import { cleanObject, maskSecretPair, objectDiff, toYaml } from './clean';

const live = {
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  status: { replicas: 2 },
  metadata: {
    name: 'web',
    namespace: 'demo',
    uid: 'u-1',
    resourceVersion: '42',
    generation: 3,
    creationTimestamp: '2025-01-01T00:00:00Z',
    selfLink: '/x',
    managedFields: [{ manager: 'kubectl' }],
    labels: { app: 'web' },
    annotations: { 'deployment.kubernetes.io/revision': '3', 'kubectl.kubernetes.io/last-applied-configuration': '{}' },
  },
  spec: { replicas: 2 },
};

describe('cleanObject', () => {
  it('strips status, server metadata and server annotations, keeping the order apiVersion, kind, metadata', () => {
    const cleaned = cleanObject(live as never);
    expect(cleaned).toEqual({
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'web', namespace: 'demo', labels: { app: 'web' } },
      spec: { replicas: 2 },
    });
    expect(Object.keys(cleaned)).toEqual(['apiVersion', 'kind', 'metadata', 'spec']);
    expect(live.metadata.uid).toBe('u-1');
  });

  it('redacts every Secret value only when asked', () => {
    const secret = {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: 's' },
      data: { a: 'eA==' },
      stringData: { b: 'y' },
    };
    expect(cleanObject(secret, { redact: true })).toMatchObject({
      data: { a: 'REDACTED' },
      stringData: { b: 'REDACTED' },
    });
    expect(cleanObject(secret)).toMatchObject({ data: { a: 'eA==' } });
  });
});

describe('objectDiff and maskSecretPair', () => {
  it('is empty for equal objects and a unified diff otherwise', () => {
    const a = cleanObject(live as never);
    expect(objectDiff('Deployment/demo/web', a, a)).toBe('');
    const b = { ...a, spec: { replicas: 3 } };
    const diff = objectDiff('Deployment/demo/web', a, b);
    expect(diff).toContain('--- live/Deployment/demo/web');
    expect(diff).toContain('+++ restore/Deployment/demo/web');
    expect(diff).toContain('-  replicas: 2\n+  replicas: 3');
  });

  it('shows a created object as all additions', () => {
    const diff = objectDiff('ConfigMap/x/y', undefined, {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'y' },
    });
    expect(diff).toContain('+kind: ConfigMap');
    expect(diff).not.toMatch(/^-kind/m);
  });

  it('never shows Secret values, only which keys change', () => {
    const before = {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: 's' },
      data: { same: 'MQ==', changed: 'Mg==' },
    };
    const after = { ...before, data: { same: 'MQ==', changed: 'Mw==', added: 'NA==' } };
    const masked = maskSecretPair(before, after);
    const text = toYaml(masked.next) + toYaml(masked.live ?? {});
    expect(text).not.toMatch(/MQ==|Mg==|Mw==|NA==/);
    expect(masked.next.data).toEqual({ same: 'REDACTED', changed: 'REDACTED (changed)', added: 'REDACTED (changed)' });
    expect(maskSecretPair(undefined, after).next.data).toEqual({
      same: 'REDACTED',
      changed: 'REDACTED',
      added: 'REDACTED',
    });
  });
});
