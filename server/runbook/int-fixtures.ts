import { randomBytes } from 'node:crypto';
import {
  AppsV1Api,
  CoreV1Api,
  KubeConfig,
  KubernetesObjectApi,
  PatchStrategy,
  RbacAuthorizationV1Api,
  type KubernetesObject,
  type V1Deployment,
} from '@kubernetes/client-node';
import { kubeConfigFromFile } from '@/agent/kubernetes/kubeconfig';
import type { SandboxHandle } from '@/sandbox/testing/global-setup';

/** Test fixtures are written as cluster admin; the code under test runs as the restricted agent. */
export interface Fixtures {
  admin: KubeConfig;
  agent: KubeConfig;
  namespace: string;
}

export async function makeFixtures(sandbox: SandboxHandle, prefix: string): Promise<Fixtures> {
  const admin = kubeConfigFromFile(sandbox.adminKubeconfig);
  const namespace = `${prefix}-${randomBytes(3).toString('hex')}`;
  await admin.makeApiClient(CoreV1Api).createNamespace({ body: { metadata: { name: namespace } } });
  return { admin, agent: kubeConfigFromFile(sandbox.agentKubeconfig), namespace };
}

export async function removeFixtures(f: Fixtures): Promise<void> {
  await f.admin.makeApiClient(CoreV1Api).deleteNamespace({ name: f.namespace });
  // Cluster-scoped leftovers of readOnlyKubeConfig, when a test made them.
  const rbac = f.admin.makeApiClient(RbacAuthorizationV1Api);
  const name = `readonly-${f.namespace}`;
  await rbac.deleteClusterRoleBinding({ name }).catch(() => undefined);
  await rbac.deleteClusterRole({ name }).catch(() => undefined);
}

export function deploymentSpec(
  namespace: string,
  name: string,
  options: { replicas?: number; managed?: boolean; annotations?: Record<string, string> } = {},
): V1Deployment {
  const labels: Record<string, string> = { app: name };
  if (options.managed !== false) labels['pipeops.io/managed'] = 'true';
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name, namespace, labels, annotations: options.annotations },
    spec: {
      replicas: options.replicas ?? 1,
      selector: { matchLabels: { app: name } },
      // KWOK nodes carry no taint (sandbox/cluster/nodes.ts): no tolerations or nodeSelector needed.
      template: {
        metadata: { labels: { app: name } },
        spec: { containers: [{ name: 'app', image: 'registry.example/web:1.0', ports: [{ containerPort: 8080 }] }] },
      },
    },
  };
}

export async function applyAsAdmin<T extends KubernetesObject>(f: Fixtures, object: T): Promise<T> {
  return KubernetesObjectApi.makeApiClient(f.admin).patch(
    object,
    undefined,
    undefined,
    'runbook-test',
    true,
    PatchStrategy.ServerSideApply,
  );
}

export async function readDeployment(f: Fixtures, name: string): Promise<V1Deployment> {
  return f.admin.makeApiClient(AppsV1Api).readNamespacedDeployment({ name, namespace: f.namespace });
}

/**
 * A kubeconfig for a second ServiceAccount with read-only RBAC (TokenRequest, like the sandbox mints the
 * agent's token), to show what the agent reports when a permission is missing.
 */
export async function readOnlyKubeConfig(f: Fixtures, server: string): Promise<KubeConfig> {
  const name = `readonly-${f.namespace}`;
  const rbac = { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name };
  const subject = { kind: 'ServiceAccount', name: 'readonly', namespace: f.namespace };
  await applyAsAdmin(f, {
    apiVersion: 'v1',
    kind: 'ServiceAccount',
    metadata: { name: 'readonly', namespace: f.namespace },
  });
  await applyAsAdmin(f, {
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'ClusterRole',
    metadata: { name },
    rules: [
      { apiGroups: ['apps'], resources: ['deployments', 'deployments/scale'], verbs: ['get', 'list', 'watch'] },
      { apiGroups: ['autoscaling'], resources: ['horizontalpodautoscalers'], verbs: ['list'] },
    ],
  } as KubernetesObject);
  await applyAsAdmin(f, {
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'ClusterRoleBinding',
    metadata: { name },
    roleRef: rbac,
    subjects: [subject],
  } as KubernetesObject);
  const token = await f.admin.makeApiClient(CoreV1Api).createNamespacedServiceAccountToken({
    name: 'readonly',
    namespace: f.namespace,
    body: { spec: { audiences: [], expirationSeconds: 3600 } },
  });
  const kc = new KubeConfig();
  const cluster = f.agent.getCurrentCluster();
  kc.loadFromOptions({
    clusters: [{ name: 'sandbox', server, caData: cluster?.caData, caFile: cluster?.caFile, skipTLSVerify: false }],
    users: [{ name: 'readonly', token: token.status?.token }],
    contexts: [{ name: 'readonly', cluster: 'sandbox', user: 'readonly' }],
    currentContext: 'readonly',
  });
  return kc;
}
