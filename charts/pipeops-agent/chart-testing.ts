import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  CoreV1Api,
  KubernetesObjectApi,
  PatchStrategy,
  type KubeConfig,
  type KubernetesObject,
} from '@kubernetes/client-node';
import { parseAllDocuments } from 'yaml';
import { writeKubeconfig } from '../../sandbox/cluster/kubeconfig';
import { pkiPaths } from '../../sandbox/cluster/pki';
import { sandboxLayout } from '../../sandbox/cluster/state';
import { binaryPaths, sandboxVersions } from '../../sandbox/cluster/versions';
import type { SandboxHandle } from '../../sandbox/testing/global-setup';

/** Helpers shared by the chart and doctor integration tests: the real helm binary and the sandbox. */
export const chartDir = path.dirname(fileURLToPath(import.meta.url));
export const release = 'pa';

export interface HelmResult {
  code: number;
  stdout: string;
  stderr: string;
}

export function helmBinary(): string {
  const bin = binaryPaths().helm;
  if (!bin || !existsSync(bin)) {
    throw new Error(`helm is not built (${bin || 'no HELM_VERSION'}): run bash sandbox/cluster/build-binaries.sh helm`);
  }
  return bin;
}

export function helm(args: string[], extraEnv: Record<string, string> = {}): Promise<HelmResult> {
  return new Promise((resolve) => {
    // HOME-independent: helm must not read a developer's repositories or plugins.
    const helmHome = '/tmp/pipeops-helm';
    const env = { ...process.env, HELM_CACHE_HOME: helmHome, HELM_CONFIG_HOME: helmHome, ...extraEnv };
    execFile(helmBinary(), args, { env, maxBuffer: 16 * 1024 * 1024 }, (error, stdout, stderr) => {
      const code = error ? (typeof error.code === 'number' ? error.code : 1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

/** `helm template` against the sandbox's Kubernetes version; `sets` are `--set key=value` pairs. */
export function templateArgs(namespace: string, sets: Record<string, string> = {}, jsonSets: string[] = []): string[] {
  const args = ['template', release, chartDir, '--namespace', namespace, '--kube-version', sandboxVersions().k8s];
  for (const [key, value] of Object.entries(sets)) args.push('--set-string', `${key}=${value}`);
  for (const json of jsonSets) args.push('--set-json', json);
  return args;
}

export async function renderChart(
  namespace: string,
  sets: Record<string, string> = {},
  jsonSets: string[] = [],
): Promise<KubernetesObject[]> {
  const result = await helm(templateArgs(namespace, sets, jsonSets));
  if (result.code !== 0) throw new Error(`helm template failed: ${result.stderr}`);
  return parseAllDocuments(result.stdout)
    .map((doc) => doc.toJS() as KubernetesObject | null)
    .filter((o): o is KubernetesObject => o !== null && typeof o === 'object' && 'kind' in o);
}

export function ofKind(objects: KubernetesObject[], ...kinds: string[]): KubernetesObject[] {
  return objects.filter((o) => kinds.includes(o.kind ?? ''));
}

export const rbacKinds = ['ServiceAccount', 'Role', 'RoleBinding', 'ClusterRole', 'ClusterRoleBinding'];

/** Server-side apply as admin; with dryRun the API server validates and admits but stores nothing. */
export async function applyObjects(kc: KubeConfig, objects: KubernetesObject[], dryRun: boolean): Promise<void> {
  const api = KubernetesObjectApi.makeApiClient(kc);
  for (const object of objects) {
    await api.patch(object, undefined, dryRun ? 'All' : undefined, 'chart-test', true, PatchStrategy.ServerSideApply);
  }
}

/** A kubeconfig file holding a TokenRequest token for the chart's ServiceAccount (like the sandbox's agent). */
export async function serviceAccountKubeconfig(
  admin: KubeConfig,
  sandbox: SandboxHandle,
  namespace: string,
  serviceAccount: string,
): Promise<string> {
  const token = await admin.makeApiClient(CoreV1Api).createNamespacedServiceAccountToken({
    name: serviceAccount,
    namespace,
    body: { spec: { audiences: [], expirationSeconds: 3600 } },
  });
  const file = path.join(sandboxLayout(sandbox.name).dir, `${namespace}-${serviceAccount}.kubeconfig`);
  await writeKubeconfig(file, {
    server: sandbox.apiServerUrl,
    caFile: pkiPaths(sandboxLayout(sandbox.name).pkiDir).caCert,
    user: serviceAccount,
    credentials: { token: token.status?.token ?? '' },
  });
  return file;
}

/** Deletes the cluster-scoped RBAC a test applied (namespaced objects go with the namespace). */
export async function deleteClusterScoped(kc: KubeConfig, objects: KubernetesObject[]): Promise<void> {
  const api = KubernetesObjectApi.makeApiClient(kc);
  for (const object of ofKind(objects, 'ClusterRoleBinding', 'ClusterRole')) {
    await api.delete(object).catch(() => undefined);
  }
}
