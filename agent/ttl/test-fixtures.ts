import { randomBytes } from 'node:crypto';
import { Writable } from 'node:stream';
import {
  AppsV1Api,
  CoreV1Api,
  PatchStrategy,
  setHeaderOptions,
  type KubeConfig,
  type V1Deployment,
} from '@kubernetes/client-node';
import { kubeConfigFromFile } from '../kubernetes/kubeconfig';
import { createLogger, type Logger } from '../logging/logger';
import { auditCaughtUp, readAudit, type AuditEntry } from '../../sandbox/cluster/audit';
import { sandboxLayout } from '../../sandbox/cluster/state';

/** Test support for the TTL integration tests: fixtures are written as admin, the agent runs restricted. */
export interface TtlFixtures {
  admin: KubeConfig;
  agent: KubeConfig;
  namespace: string;
  sandboxName: string;
}

export async function ttlFixtures(
  sandbox: { name: string; adminKubeconfig: string; agentKubeconfig: string },
  prefix: string,
): Promise<TtlFixtures> {
  const admin = kubeConfigFromFile(sandbox.adminKubeconfig);
  const namespace = `${prefix}-${randomBytes(3).toString('hex')}`;
  await admin.makeApiClient(CoreV1Api).createNamespace({ body: { metadata: { name: namespace } } });
  return { admin, agent: kubeConfigFromFile(sandbox.agentKubeconfig), namespace, sandboxName: sandbox.name };
}

export async function removeTtlFixtures(f: TtlFixtures): Promise<void> {
  await f.admin.makeApiClient(CoreV1Api).deleteNamespace({ name: f.namespace });
}

/** A managed KWOK Deployment (KWOK pods become Running/Ready by themselves). */
export async function createWorkload(
  f: TtlFixtures,
  name: string,
  options: { replicas?: number; annotations?: Record<string, string>; nodeSelector?: Record<string, string> } = {},
): Promise<V1Deployment> {
  return f.admin.makeApiClient(AppsV1Api).createNamespacedDeployment({
    namespace: f.namespace,
    body: {
      metadata: { name, labels: { app: name, 'pipeops.io/managed': 'true' }, annotations: options.annotations },
      spec: {
        replicas: options.replicas ?? 1,
        selector: { matchLabels: { app: name } },
        template: {
          metadata: { labels: { app: name } },
          spec: {
            containers: [{ name: 'app', image: 'registry.example/web:1.0', ports: [{ containerPort: 8080 }] }],
            ...(options.nodeSelector ? { nodeSelector: options.nodeSelector } : {}),
          },
        },
      },
    },
  });
}

export async function readWorkload(f: TtlFixtures, name: string): Promise<V1Deployment> {
  return f.admin.makeApiClient(AppsV1Api).readNamespacedDeployment({ name, namespace: f.namespace });
}

export async function annotateAsAdmin(
  f: TtlFixtures,
  name: string,
  annotations: Record<string, string | null>,
): Promise<void> {
  await f.admin
    .makeApiClient(AppsV1Api)
    .patchNamespacedDeployment(
      { name, namespace: f.namespace, body: { metadata: { annotations } } },
      setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
    );
}

export async function scaleAsAdmin(f: TtlFixtures, name: string, replicas: number): Promise<void> {
  await f.admin
    .makeApiClient(AppsV1Api)
    .patchNamespacedDeploymentScale(
      { name, namespace: f.namespace, body: { spec: { replicas } } },
      setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
    );
}

/** pod-template-hash labels of the workload's pods and its ReplicaSets (a rollout would add one). */
export async function templateHashes(f: TtlFixtures, name: string): Promise<{ pods: string[]; replicaSets: string[] }> {
  const pods = await f.admin
    .makeApiClient(CoreV1Api)
    .listNamespacedPod({ namespace: f.namespace, labelSelector: `app=${name}` });
  const sets = await f.admin
    .makeApiClient(AppsV1Api)
    .listNamespacedReplicaSet({ namespace: f.namespace, labelSelector: `app=${name}` });
  const hash = (labels: Record<string, string> | undefined): string => labels?.['pod-template-hash'] ?? '';
  return {
    pods: [...new Set(pods.items.filter((p) => !p.metadata?.deletionTimestamp).map((p) => hash(p.metadata?.labels)))],
    replicaSets: sets.items.map((rs) => hash(rs.metadata?.labels)),
  };
}

/** Events on the workload with this reason. */
export async function eventsFor(f: TtlFixtures, name: string, reason: string): Promise<string[]> {
  const list = await f.admin.makeApiClient(CoreV1Api).listNamespacedEvent({
    namespace: f.namespace,
    fieldSelector: `involvedObject.name=${name},reason=${reason}`,
  });
  return list.items.map((event) => `${event.type ?? ''}: ${event.message ?? ''}`);
}

/** The agent's scale-subresource writes on this workload, from the API server's audit log. */
/** Waits until the agent's requests so far are in the sandbox audit log (see auditCaughtUp). */
export function auditSettled(f: TtlFixtures): Promise<void> {
  return auditCaughtUp(sandboxLayout(f.sandboxName), f.agent);
}

export function scaleWrites(f: TtlFixtures, name: string, since = 0): AuditEntry[] {
  return readAudit(sandboxLayout(f.sandboxName)).filter(
    (entry) =>
      entry.at >= since &&
      entry.user.endsWith(':pipeops-agent') &&
      (entry.verb === 'patch' || entry.verb === 'update') &&
      entry.requestURI.startsWith(`/apis/apps/v1/namespaces/${f.namespace}/deployments/${name}/scale`),
  );
}

/** A logger whose lines are kept for assertions. */
export function captureLogger(level = 'info'): { logger: Logger; lines: Record<string, unknown>[] } {
  const lines: Record<string, unknown>[] = [];
  const stream = new Writable({
    write(chunk, _encoding, done): void {
      lines.push(JSON.parse(String(chunk)) as Record<string, unknown>);
      done();
    },
  });
  return { logger: createLogger(level, {}, stream), lines };
}
