import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  CoreV1Api,
  KubernetesObjectApi,
  type KubeConfig,
  PatchStrategy,
  type KubernetesObject,
  type V1Node,
} from '@kubernetes/client-node';
import { parseAllDocuments } from 'yaml';
import { kubeConfigFromFile } from '../../agent/kubernetes/kubeconfig';
import { writeKubeconfig } from './kubeconfig';
import { kwokNode } from './nodes';
import type { SandboxPki } from './pki';
import type { SandboxLayout, SandboxState } from './state';
import { waitFor } from './wait';

export const agentNamespace = 'pipeops-system';
export const agentServiceAccount = 'pipeops-agent';
const fieldManager = 'pipeops-sandbox';
const agentTokenSeconds = 24 * 3600;
const readyTimeoutMs = 90_000;
const manifestsDir = path.join(path.dirname(fileURLToPath(import.meta.url)), 'manifests');

interface BootstrapContext {
  layout: SandboxLayout;
  pki: SandboxPki;
  apiServerUrl: string;
  nodes: number;
  state: SandboxState;
  log: (line: string) => void;
}

/** Server-side applies every document of a manifest file (idempotent across `up` runs). */
export async function applyManifest(kc: KubeConfig, file: string): Promise<KubernetesObject[]> {
  const objectApi = KubernetesObjectApi.makeApiClient(kc);
  const docs = parseAllDocuments(await readFile(file, 'utf8'))
    .map((doc) => doc.toJS() as KubernetesObject | null)
    .filter((doc): doc is KubernetesObject => doc !== null);
  const applied: KubernetesObject[] = [];
  for (const doc of docs) {
    applied.push(await objectApi.patch(doc, undefined, undefined, fieldManager, true, PatchStrategy.ServerSideApply));
  }
  return applied;
}

function isReady(node: V1Node): boolean {
  return node.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false;
}

async function ensureNodes(kc: KubeConfig, count: number, log: (line: string) => void): Promise<void> {
  const objectApi = KubernetesObjectApi.makeApiClient(kc);
  const core = kc.makeApiClient(CoreV1Api);
  for (let i = 0; i < count; i++) {
    await objectApi.patch(kwokNode(i), undefined, undefined, fieldManager, true, PatchStrategy.ServerSideApply);
  }
  const existing = await core.listNode({ labelSelector: 'type=kwok' });
  const wanted = new Set(Array.from({ length: count }, (_, i) => `kwok-node-${i}`));
  for (const node of existing.items) {
    const name = node.metadata?.name ?? '';
    if (!wanted.has(name)) {
      await core.deleteNode({ name });
      log(`[sandbox] removed extra node ${name}`);
    }
  }
  await waitFor(
    `${count} KWOK nodes to be Ready`,
    async () => {
      const list = await core.listNode({ labelSelector: 'type=kwok' });
      return list.items.filter(isReady).length === count;
    },
    readyTimeoutMs,
  );
}

async function mintAgentKubeconfig(kc: KubeConfig, ctx: BootstrapContext): Promise<void> {
  const core = kc.makeApiClient(CoreV1Api);
  const token = await core.createNamespacedServiceAccountToken({
    name: agentServiceAccount,
    namespace: agentNamespace,
    body: { spec: { audiences: [], expirationSeconds: agentTokenSeconds } },
  });
  if (!token.status?.token) throw new Error('TokenRequest for the agent ServiceAccount returned no token');
  await writeKubeconfig(ctx.layout.agentKubeconfig, {
    server: ctx.apiServerUrl,
    caFile: ctx.pki.caCert,
    user: `system:serviceaccount:${agentNamespace}:${agentServiceAccount}`,
    credentials: { token: token.status.token },
  });
}

/**
 * Makes a fresh or reused control plane usable: the agent's namespace, ServiceAccount and RBAC, the
 * KWOK nodes (count reconciled), the controller-manager's default ServiceAccount, and a fresh agent token.
 */
export async function bootstrapCluster(ctx: BootstrapContext): Promise<void> {
  const kc = kubeConfigFromFile(ctx.layout.adminKubeconfig);
  const core = kc.makeApiClient(CoreV1Api);
  await applyManifest(kc, path.join(manifestsDir, 'agent-identity.yaml'));
  await ensureNodes(kc, ctx.nodes, ctx.log);
  ctx.log(`[sandbox] ${ctx.nodes} KWOK nodes Ready`);
  // The ServiceAccount controller (in kube-controller-manager) creates `default`; pods need it.
  await waitFor(
    'kube-controller-manager to create the default ServiceAccount',
    async () => {
      await core.readNamespacedServiceAccount({ name: 'default', namespace: 'default' });
      return true;
    },
    readyTimeoutMs,
  );
  await mintAgentKubeconfig(kc, ctx);
}
