import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  ApiException,
  AppsV1Api,
  AuthorizationV1Api,
  CoreV1Api,
  VersionApi,
  type V1Pod,
} from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { kubeConfigFromFile } from '../../agent/kubernetes/kubeconfig';
import { up } from './cluster';
import { sandboxVersions } from './versions';

const sandbox = inject('sandbox');

async function statusOf(call: Promise<unknown>): Promise<number> {
  try {
    await call;
    return 200;
  } catch (error) {
    if (error instanceof ApiException) return error.code;
    throw error;
  }
}

async function waitForPods(core: CoreV1Api, namespace: string, count: number): Promise<V1Pod[]> {
  const deadline = Date.now() + 60_000;
  let pods: V1Pod[] = [];
  while (Date.now() < deadline) {
    pods = (await core.listNamespacedPod({ namespace, labelSelector: 'app=web' })).items;
    const running = pods.filter((p) => p.status?.phase === 'Running');
    if (running.length === count) return running;
    await sleep(250);
  }
  throw new Error(`expected ${count} Running pods, saw ${pods.map((p) => p.status?.phase).join(',') || 'none'}`);
}

describe('sandbox cluster (real kube-apiserver with RBAC)', () => {
  const admin = kubeConfigFromFile(sandbox.adminKubeconfig);
  const agent = kubeConfigFromFile(sandbox.agentKubeconfig);
  const namespace = `it-${randomUUID().slice(0, 8)}`;

  beforeAll(async () => {
    await admin.makeApiClient(CoreV1Api).createNamespace({ body: { metadata: { name: namespace } } });
  });
  afterAll(async () => {
    await admin.makeApiClient(CoreV1Api).deleteNamespace({ name: namespace });
  });

  it('serves the pinned Kubernetes version over TLS on loopback', async () => {
    const version = await admin.makeApiClient(VersionApi).getCode();
    expect(version.gitVersion).toBe(`v${sandboxVersions().k8s}`);
    expect(sandbox.apiServerUrl).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
  });

  it('lets the admin identity create and read back a ConfigMap', async () => {
    const core = admin.makeApiClient(CoreV1Api);
    await core.createNamespacedConfigMap({
      namespace,
      body: { metadata: { name: 'hello' }, data: { greeting: 'from the admin' } },
    });
    const read = await core.readNamespacedConfigMap({ name: 'hello', namespace });
    expect(read.data).toEqual({ greeting: 'from the admin' });
    expect(read.metadata?.resourceVersion).toMatch(/^\d+$/);
  });

  it('authenticates the agent as its ServiceAccount, not as an admin', async () => {
    const review = await agent.makeApiClient(AuthorizationV1Api).createSelfSubjectAccessReview({
      body: { spec: { resourceAttributes: { verb: '*', resource: '*', group: '*' } } },
    });
    expect(review.status?.allowed).toBe(false);
  });

  it('allows the agent where its RBAC reaches', async () => {
    const core = agent.makeApiClient(CoreV1Api);
    const name = `state-${randomUUID().slice(0, 8)}`;
    await core.createNamespacedConfigMap({ namespace: 'pipeops-system', body: { metadata: { name } } });
    expect((await core.readNamespacedConfigMap({ name, namespace: 'pipeops-system' })).metadata?.name).toBe(name);
    await core.deleteNamespacedConfigMap({ name, namespace: 'pipeops-system' }).catch(() => undefined);
    expect((await core.listNode()).items.length).toBeGreaterThanOrEqual(1);
    expect(await statusOf(agent.makeApiClient(AppsV1Api).listDeploymentForAllNamespaces())).toBe(200);
  });

  it('refuses the agent with 403 where its RBAC does not reach', async () => {
    const core = agent.makeApiClient(CoreV1Api);
    const forbidden = [
      () => core.createNamespacedConfigMap({ namespace, body: { metadata: { name: 'nope' } } }),
      () => core.listSecretForAllNamespaces(),
      () => core.readNamespacedSecret({ name: 'anything', namespace: 'default' }),
      () => core.deleteNode({ name: 'kwok-node-0' }),
      () => core.createNamespace({ body: { metadata: { name: `agent-${randomUUID().slice(0, 8)}` } } }),
    ];
    for (const call of forbidden) expect(await statusOf(call())).toBe(403);
    await expect(core.listSecretForAllNamespaces()).rejects.toThrow(
      /system:serviceaccount:pipeops-system:pipeops-agent/,
    );
  });

  it('runs a Deployment created through the API as Running pods on KWOK nodes', async () => {
    const apps = admin.makeApiClient(AppsV1Api);
    await apps.createNamespacedDeployment({
      namespace,
      body: {
        metadata: { name: 'web' },
        spec: {
          replicas: 3,
          selector: { matchLabels: { app: 'web' } },
          template: {
            metadata: { labels: { app: 'web' } },
            spec: { containers: [{ name: 'web', image: 'nginx:1.27' }] },
          },
        },
      },
    });
    const pods = await waitForPods(admin.makeApiClient(CoreV1Api), namespace, 3);
    for (const pod of pods) {
      expect(pod.spec?.nodeName).toMatch(/^kwok-node-\d+$/);
      expect(pod.status?.podIP).toMatch(/^10\.244\./);
      expect(pod.status?.conditions?.find((c) => c.type === 'Ready')?.status).toBe('True');
    }
    const deadline = Date.now() + 30_000;
    let ready = 0;
    while (ready !== 3 && Date.now() < deadline) {
      ready = (await apps.readNamespacedDeployment({ name: 'web', namespace })).status?.readyReplicas ?? 0;
      if (ready !== 3) await sleep(250);
    }
    expect(ready).toBe(3);
  });

  it('reuses a healthy sandbox when `up` runs again', async () => {
    const again = await up({ name: sandbox.name, log: () => undefined });
    expect(again.alreadyRunning).toBe(true);
    expect(again.apiServerUrl).toBe(sandbox.apiServerUrl);
  });
});
