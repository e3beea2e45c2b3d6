import 'server-only';
import { ApiException, AppsV1Api, CoreV1Api, type KubeConfig, type KubernetesObject } from '@kubernetes/client-node';
import { managedSelector } from '@/agent/workloads/annotations';
import { isReadOnly } from '@/server/auth/auth-config';
import { audited, requireAdmin, type RunbookOptions } from './audited';
import { parse } from 'yaml';
import { signatureAnnotation, signObject } from './backup-signature';
import { cleanObject, redactionMarker, toYaml } from './clean';
import { fromKubeError } from './errors';
import { forbiddenError, permissionsFor } from './permissions';
import type { Actor } from './schemas';

import { stateConfigMapNameFromEnv, stateSecretNameFromEnv } from './restore-scope';
import { loadSigningKey, signingKeyField } from './signing-key';

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
  const stateConfigMapName = stateConfigMapNameFromEnv();
  const stateSecretName = stateSecretNameFromEnv();
  const [configMap, secret, deployments] = await Promise.all([
    orUndefined(core.readNamespacedConfigMap({ name: stateConfigMapName, namespace: agentNamespace })),
    orUndefined(core.readNamespacedSecret({ name: stateSecretName, namespace: agentNamespace })),
    kc.makeApiClient(AppsV1Api).listDeploymentForAllNamespaces({ labelSelector: managedSelector }),
  ]);
  const notes: string[] = [];
  const objects: KubernetesObject[] = [];
  if (configMap) objects.push({ ...configMap, apiVersion: 'v1', kind: 'ConfigMap' });
  else notes.push(`ConfigMap ${agentNamespace}/${stateConfigMapName} does not exist; not included`);
  // The signing key never leaves the cluster: a backup that carried it could sign its own edits.
  if (secret?.data) delete secret.data[signingKeyField];
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
    `Each document is signed (${signatureAnnotation}); an edited document is restored only if it passes the Pod Security baseline checks.`,
    'Restore with the dashboard (server-side dry-run diff first) or `kubectl apply --server-side -f`.',
    ...notes.map((n) => `note: ${n}`),
  ];
  return lines.map((l) => `# ${l}`).join('\n');
}

/**
 * One backup document, signed over exactly what a parser reads back from it (so dates and other
 * client-side types cannot make a faithful round trip look edited).
 */
function signedDocument(object: KubernetesObject, key: Buffer | undefined): string {
  const cleaned = cleanObject(object, { redact: true });
  if (!key) return toYaml(cleaned);
  const parsed = parse(toYaml(cleaned)) as Record<string, unknown>;
  const metadata = (cleaned.metadata ?? {}) as { annotations?: Record<string, string> };
  metadata.annotations = { ...metadata.annotations, [signatureAnnotation]: signObject(key, parsed) };
  return toYaml(cleaned);
}

/** Builds a re-appliable multi-document YAML of the agent state and all managed Deployments. */
export function renderBackup(
  kc: KubeConfig,
  objects: KubernetesObject[],
  notes: string[],
  options: { now?: Date; key?: Buffer } = {},
): string {
  const docs = objects.map((o) => signedDocument(o, options.key));
  return `${header(kc, options.now ?? new Date(), notes)}\n${docs.map((d) => `---\n${d}`).join('')}`;
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
  const target = { apiVersion: 'v1', kind: 'ConfigMap', namespace: agentNamespace, name: stateConfigMapNameFromEnv() };
  const scope = { action: 'backup' as const, actor: who, target, summary: 'took a backup' };
  const { value, warnings } = await audited(
    kc,
    scope,
    async (s) => {
      // First: creating the key may create the agent's Secret, which the backup then includes.
      const signing = await loadSigningKey(
        kc,
        { namespace: agentNamespace, secretName: stateSecretNameFromEnv() },
        { create: !isReadOnly() },
      );
      const { objects, notes } = await collect(kc, agentNamespace).catch(async (error: unknown) => {
        if (error instanceof ApiException && error.code === 403)
          throw await forbiddenError(kc, 'backup', permissionsFor('backup', { agentNamespace }), error);
        throw fromKubeError(error, 'reading objects for the backup');
      });
      if (!signing.key) notes.push(`unsigned: ${signing.note ?? 'no signing key'}; a restore checks every document`);
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
        yaml: renderBackup(kc, objects, notes, { now, key: signing.key }),
        filename: `pipeops-backup-${stamp}.yaml`,
        objects: refs,
        notes,
      };
    },
    options,
  );
  return { ...value, message: `${who.name} (${who.role}) ${scope.summary}: ok`, warnings };
}
