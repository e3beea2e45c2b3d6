import { randomBytes } from 'node:crypto';
import { AppsV1Api, AutoscalingV1Api, CoreV1Api, PatchStrategy, setHeaderOptions } from '@kubernetes/client-node';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { kubeConfigFromFile } from '../../agent/kubernetes/kubeconfig';
import { parseWorkloadState } from '../../agent/workloads/annotations';
import { seedDemo } from './seed';

describe('demo seed against the sandbox API server', () => {
  const sandbox = inject('sandbox');
  const admin = kubeConfigFromFile(sandbox.adminKubeconfig);
  const namespace = `demo-seed-${randomBytes(3).toString('hex')}`;

  afterAll(async () => {
    await admin.makeApiClient(CoreV1Api).deleteNamespace({ name: namespace });
  });

  it('creates one managed Deployment per phase, and a second run creates nothing and changes nothing', async () => {
    const first = await seedDemo(admin, { namespace });
    expect(first.map((s) => s.outcome)).toEqual(first.map(() => 'created'));
    expect(first.map((s) => s.name).sort()).toEqual(
      ['api-staging', 'broken-ttl', 'notebook', 'queue-worker', 'reports', 'web-preview'].sort(),
    );
    for (const sample of first) expect(sample.watch.length).toBeGreaterThan(10);

    const apps = admin.makeApiClient(AppsV1Api);
    const before = await apps.listNamespacedDeployment({ namespace, labelSelector: 'pipeops.io/managed=true' });
    expect(before.items).toHaveLength(6);
    const byName = new Map(before.items.map((d) => [d.metadata?.name, d]));
    const state = (name: string): ReturnType<typeof parseWorkloadState> =>
      parseWorkloadState(byName.get(name)?.metadata?.annotations);
    expect(state('broken-ttl').problems[0]?.annotation).toBe('pipeops.io/ttl');
    expect(state('web-preview').ttl?.ms).toBe(60_000);
    expect(Date.parse(state('reports').keepAwakeUntil ?? '')).toBeGreaterThan(Date.now() + 23 * 3_600_000);
    expect(byName.get('notebook')?.spec?.replicas).toBe(0);
    expect(state('notebook').originalReplicas).toBe(1);
    const hpas = await admin.makeApiClient(AutoscalingV1Api).listNamespacedHorizontalPodAutoscaler({ namespace });
    expect(hpas.items.map((h) => h.spec?.scaleTargetRef.name)).toEqual(['queue-worker']);

    // Someone (the TTL controller) changed a sample; the re-run must keep that, not reset it.
    await apps.patchNamespacedDeploymentScale(
      { namespace, name: 'web-preview', body: { spec: { replicas: 0 } } },
      setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
    );
    const second = await seedDemo(admin, { namespace });
    expect(second.map((s) => s.outcome)).toEqual(second.map(() => 'kept'));
    const after = await apps.listNamespacedDeployment({ namespace });
    expect(after.items).toHaveLength(6);
    expect(after.items.find((d) => d.metadata?.name === 'web-preview')?.spec?.replicas).toBe(0);
    const services = await admin.makeApiClient(CoreV1Api).listNamespacedService({ namespace });
    expect(services.items.map((s) => s.metadata?.name).sort()).toEqual(['api-staging', 'notebook', 'web-preview']);
  });
});
