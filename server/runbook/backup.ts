import 'server-only';
import { ApiException, AppsV1Api, CoreV1Api, type KubeConfig, type KubernetesObject } from '@kubernetes/client-node';
import { managedSelector } from '@/agent/workloads/annotations';
import { audited, requireAdmin, type RunbookOptions } from './audited';
import { cleanObject, redactionMarker, toYaml } from './clean';
import { fromKubeError } from './errors';
import { forbiddenError, permissionsFor } from './permissions';
import type { Actor } from './schemas';

export const stateConfigMapName = process.env.PIPEOPS_STATE_CONFIGMAP_NAME ?? 'pipeops-agent-state';
export const stateSecretName = 'pipeops-agent-secrets';

export interface BackupObjectRef {
  kind: string;
  namespace: string;
  name: string;
}

export interface BackupResult {
  yaml: string;
  /** A download name such as `pipeops-backup-2025-01-31T120000Z.yaml`. */
  filename: string;
  objects: BackupObjectRef[];
  /** What could not be included (e.g. the state Secret does not exist yet). */
  notes: string[];
  message: string;
  warnings: string[];
}

async function orUndefined<T>(read: Promise<T>): Promise<T | undefined> {
  try {
    return await read;
  } catch (error) {
    if (error instanceof ApiException && error.code === 404) return undefined;
    throw error;
  }
}

async function collect(
  kc: KubeConfig,
  agentNamespace: string,
): Promise<{ objects: KubernetesObject[]; notes: string[] }> {
  const core = kc.makeApiClient(CoreV1Api);
  const [configMap, secret, deployments] = await Promise.all([
    orUndefined(core.readNamespacedConfigMap({ name: stateConfigMapName, namespace: agentNamespace })),
    orUndefined(core.readNamespacedSecret({ name: stateSecretName, namespace: agentNamespace })),
    kc.makeApiClient(AppsV1Api).listDeploymentForAllNamespaces({ labelSelector: managedSelector }),
  ]);
  const notes: string[] = [];
  const objects: KubernetesObject[] = [];
  if (configMap) objects.push({ ...configMap, apiVersion: 'v1', kind: 'ConfigMap' });
  else notes.push(`ConfigMap ${agentNamespace}/${stateConfigMapName} does not exist; not included`);
  if (secret) objects.push({ ...secret, apiVersion: 'v1', kind: 'Secret' });
  else notes.push(`Secret ${agentNamespace}/${stateSecretName} does not exist; not included`);
  // Items of a list carry no apiVersion/kind; a re-appliable document needs both.
  const sorted = [...deployments.items].sort((a, b) =>
    `${a.metadata?.namespace}/${a.metadata?.name}`.localeCompare(`${b.metadata?.namespace}/${b.metadata?.name}`),
  );
  for (const d of sorted) objects.push({ ...d, apiVersion: 'apps/v1', kind: 'Deployment' });
  return { objects, notes };
}

function header(kc: KubeConfig, now: Date, notes: string[]): string {
  const cluster = kc.getCurrentCluster();
  const lines = [
    'pipeops-agent backup: the agent state and the Deployments it manages',
    `date: ${now.toISOString()}`,
    `cluster: ${process.env.PIPEOPS_CLUSTER_NAME ?? cluster?.name ?? 'unknown'} (${cluster?.server ?? 'in-cluster'})`,
    `Secret values are redacted (${redactionMarker}); restore skips a Secret until real values replace the marker.`,
    'Restore with the dashboard (server-side dry-run diff first) or `kubectl apply --server-side -f`.',
    ...notes.map((n) => `note: ${n}`),
  ];
  return lines.map((l) => `# ${l}`).join('\n');
}

/** Builds a re-appliable multi-document YAML of the agent state and all managed Deployments. */
export function renderBackup(kc: KubeConfig, objects: KubernetesObject[], notes: string[], now = new Date()): string {
  const docs = objects.map((o) => toYaml(cleanObject(o, { redact: true })));
  return `${header(kc, now, notes)}\n${docs.map((d) => `---\n${d}`).join('')}`;
}

/** Backup of the agent's state ConfigMap + Secret (values redacted) and every managed Deployment. */
export async function buildBackup(
  kc: KubeConfig,
  input: { agentNamespace: string },
  actor: Actor,
  options?: RunbookOptions,
): Promise<BackupResult> {
  const who = requireAdmin(actor);
  const { agentNamespace } = input;
  const target = { apiVersion: 'v1', kind: 'ConfigMap', namespace: agentNamespace, name: stateConfigMapName };
  const scope = { action: 'backup' as const, actor: who, target, summary: 'took a backup' };
  const { value, warnings } = await audited(
    kc,
    scope,
    async (s) => {
      const { objects, notes } = await collect(kc, agentNamespace).catch(async (error: unknown) => {
        if (error instanceof ApiException && error.code === 403)
          throw await forbiddenError(kc, 'backup', permissionsFor('backup', { agentNamespace }), error);
        throw fromKubeError(error, 'reading objects for the backup');
      });
      s.summary = `took a backup of ${objects.length} objects`;
      const now = new Date();
      const refs = objects.map((o) => ({
        kind: o.kind ?? '',
        namespace: o.metadata?.namespace ?? '',
        name: o.metadata?.name ?? '',
      }));
      const stamp = now
        .toISOString()
        .replace(/[:]/g, '')
        .replace(/\.\d{3}Z$/, 'Z');
      return {
        yaml: renderBackup(kc, objects, notes, now),
        filename: `pipeops-backup-${stamp}.yaml`,
        objects: refs,
        notes,
      };
    },
    options,
  );
  return { ...value, message: `${who.name} (${who.role}) ${scope.summary}: ok`, warnings };
}
