import 'server-only';
import {
  ApiException,
  KubernetesObjectApi,
  PatchStrategy,
  type KubeConfig,
  type KubernetesObject,
} from '@kubernetes/client-node';
import { describeKubeError } from '@/agent/kubernetes/errors';
import { audited, requireAdmin, type RunbookOptions } from './audited';
import { stateConfigMapName } from './backup';
import { cleanObject, maskSecretPair, objectDiff } from './clean';
import { fieldManager } from './deployment-access';
import { RunbookError } from './errors';
import { defaultAgentNamespace, forbiddenError } from './permissions';
import { parseRestoreYaml, type RestoreItem } from './restore-parse';
import type { Actor } from './schemas';

export type RestoreAction = 'create' | 'update' | 'unchanged' | 'skipped';

export interface RestorePlanEntry {
  document: number;
  kind: string;
  namespace: string;
  name: string;
  action: RestoreAction;
  /** Unified diff live → restored (Secret values masked); empty when unchanged or skipped. */
  diff: string;
  note?: string;
}

export interface RestoreResult {
  objects: RestorePlanEntry[];
  message: string;
  warnings: string[];
}

async function readLive(api: KubernetesObjectApi, item: RestoreItem): Promise<KubernetesObject | undefined> {
  try {
    return await api.read({
      apiVersion: item.apiVersion,
      kind: item.kind,
      metadata: { name: item.name, namespace: item.namespace },
    });
  } catch (error) {
    if (error instanceof ApiException && error.code === 404) return undefined;
    throw error;
  }
}

async function serverSideApply(
  api: KubernetesObjectApi,
  item: RestoreItem,
  dryRun: boolean,
): Promise<KubernetesObject> {
  // force: a restore deliberately takes ownership of the fields it sets from other managers.
  return api.patch(
    item.object,
    undefined,
    dryRun ? 'All' : undefined,
    fieldManager,
    true,
    PatchStrategy.ServerSideApply,
  );
}

async function explain(kc: KubeConfig, item: RestoreItem, error: unknown): Promise<RunbookError> {
  const label = `document ${item.document} (${item.kind} ${item.namespace}/${item.name})`;
  if (error instanceof ApiException && error.code === 403) {
    const resource = `${item.kind.toLowerCase()}s`;
    const group = item.apiVersion.includes('/') ? item.apiVersion.split('/')[0] : undefined;
    const needed = ['get', 'create', 'patch'].map((verb) => ({
      verb,
      resource,
      group,
      namespace: item.namespace,
      neededFor: 'restore',
    }));
    const forbidden = await forbiddenError(kc, 'restore', needed, error);
    return new RunbookError(403, `${label}: ${forbidden.message}; nothing was applied`);
  }
  const status = error instanceof ApiException && [400, 404, 409, 422].includes(error.code) ? 422 : 502;
  return new RunbookError(status, `${label}: ${describeKubeError(error)}; nothing was applied`);
}

async function planOne(kc: KubeConfig, api: KubernetesObjectApi, item: RestoreItem): Promise<RestorePlanEntry> {
  const base = { document: item.document, kind: item.kind, namespace: item.namespace, name: item.name };
  if (item.skip) return { ...base, action: 'skipped', diff: '', note: item.skip };
  try {
    const live = await readLive(api, item);
    const dry = await serverSideApply(api, item, true);
    const masked = maskSecretPair(live ? cleanObject(live) : undefined, cleanObject(dry));
    const diff = objectDiff(`${item.kind}/${item.namespace}/${item.name}`, masked.live, masked.next);
    return { ...base, action: !live ? 'create' : diff ? 'update' : 'unchanged', diff };
  } catch (error) {
    throw await explain(kc, item, error);
  }
}

async function plan(kc: KubeConfig, items: RestoreItem[]): Promise<RestorePlanEntry[]> {
  const api = KubernetesObjectApi.makeApiClient(kc);
  const entries: RestorePlanEntry[] = [];
  // Sequential: one clear first error, and no burst of dry-runs against the API server.
  for (const item of items) entries.push(await planOne(kc, api, item));
  return entries;
}

/** Server-side dry-run of every object in the backup, with a diff against what runs now. Changes nothing. */
export async function previewRestore(kc: KubeConfig, yamlText: unknown): Promise<RestorePlanEntry[]> {
  return plan(kc, parseRestoreYaml(yamlText));
}

function countBy(entries: RestorePlanEntry[]): string {
  const count = (a: RestoreAction): number => entries.filter((e) => e.action === a).length;
  return `${count('create')} created, ${count('update')} updated, ${count('unchanged')} unchanged, ${count('skipped')} skipped`;
}

async function applyAll(kc: KubeConfig, items: RestoreItem[], entries: RestorePlanEntry[]): Promise<void> {
  const api = KubernetesObjectApi.makeApiClient(kc);
  for (const [i, item] of items.entries()) {
    const action = entries[i]?.action;
    if (action !== 'create' && action !== 'update') continue;
    try {
      await serverSideApply(api, item, false);
    } catch (error) {
      const done = entries.slice(0, i).filter((e) => e.action === 'create' || e.action === 'update');
      const failure = await explain(kc, item, error);
      throw new RunbookError(
        failure.status,
        `${failure.message.replace(/; nothing was applied$/, '')}; already applied: ${done.map((e) => `${e.kind} ${e.namespace}/${e.name}`).join(', ') || 'none'}`,
      );
    }
  }
}

/**
 * Restores a backup: validates it, dry-runs every object (any failure → nothing applied), then
 * server-side applies the objects that would change, and reports per object.
 */
export async function applyRestore(
  kc: KubeConfig,
  yamlText: unknown,
  actor: Actor,
  options: RunbookOptions & { agentNamespace?: string } = {},
): Promise<RestoreResult> {
  const who = requireAdmin(actor);
  const namespace = options.agentNamespace ?? defaultAgentNamespace();
  const target = { apiVersion: 'v1', kind: 'ConfigMap', namespace, name: stateConfigMapName };
  const scope = { action: 'restore' as const, actor: who, target, summary: 'restored a backup' };
  const { value, warnings } = await audited(
    kc,
    scope,
    async (s) => {
      const items = parseRestoreYaml(yamlText);
      s.summary = `restored a backup of ${items.length} objects`;
      const entries = await plan(kc, items);
      await applyAll(kc, items, entries);
      s.summary = `restored a backup of ${items.length} objects (${countBy(entries)})`;
      return entries;
    },
    options,
  );
  return { objects: value, message: `${who.name} (${who.role}) ${scope.summary}: ok`, warnings };
}
