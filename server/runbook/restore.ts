import 'server-only';
import {
  ApiException,
  KubernetesObjectApi,
  PatchStrategy,
  type KubeConfig,
  type KubernetesObject,
} from '@kubernetes/client-node';
import { describeKubeError } from '@/agent/kubernetes/errors';
import type { AuditObject } from './audit';
import { audited, requireAdmin, type AuditScope, type RunbookOptions } from './audited';
import { hasValidSignature, withoutSignature } from './backup-signature';
import { cleanObject, maskSecretPair, objectDiff } from './clean';
import { fieldManager } from './deployment-access';
import { RunbookError } from './errors';
import { defaultAgentNamespace, forbiddenError } from './permissions';
import { parseRestoreYaml, type RestoreItem } from './restore-parse';
import { liveRefusals, restoreScopeFor, scopeRefusals, type RestoreScope } from './restore-scope';
import { loadSigningKey } from './signing-key';
import type { Actor } from './schemas';

export type RestoreAction = 'create' | 'update' | 'unchanged' | 'skipped' | 'refused';

export interface RestorePlanEntry {
  document: number;
  kind: string;
  namespace: string;
  name: string;
  action: RestoreAction;
  /** Unified diff live → restored (Secret values masked); empty when unchanged or skipped. */
  diff: string;
  note?: string;
  /** Whether the document carries this agent's backup signature (unmodified export). */
  signed?: boolean;
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
    withoutSignature(item.object),
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

/** What a plan needs besides the documents: the scope and the key that tells signed from edited. */
interface PlanContext {
  scope: RestoreScope;
  key?: Buffer;
}

function documentLabel(item: RestoreItem): string {
  return `document ${item.document} (${item.kind} ${item.namespace}/${item.name})`;
}

async function planOne(
  kc: KubeConfig,
  api: KubernetesObjectApi,
  item: RestoreItem,
  context: PlanContext,
): Promise<RestorePlanEntry> {
  const signed = hasValidSignature(context.key, item.object);
  const base = { document: item.document, kind: item.kind, namespace: item.namespace, name: item.name, signed };
  const refused = (rules: string[]): RestorePlanEntry => ({
    ...base,
    action: 'refused',
    diff: '',
    note: rules.join('; '),
  });
  // Scope first: nothing out of scope is read, dry-run or diffed (its live spec is never shown).
  const outOfScope = scopeRefusals(item, context.scope, signed);
  if (outOfScope.length > 0) return refused(outOfScope);
  if (item.skip) return { ...base, action: 'skipped', diff: '', note: item.skip };
  try {
    const live = await readLive(api, item);
    const notManaged = liveRefusals(item, live);
    if (notManaged.length > 0) return refused(notManaged);
    const dry = await serverSideApply(api, item, true);
    const masked = maskSecretPair(live ? cleanObject(live) : undefined, cleanObject(dry));
    const diff = objectDiff(`${item.kind}/${item.namespace}/${item.name}`, masked.live, masked.next);
    return { ...base, action: !live ? 'create' : diff ? 'update' : 'unchanged', diff };
  } catch (error) {
    throw await explain(kc, item, error);
  }
}

async function planContext(kc: KubeConfig, agentNamespace: string): Promise<PlanContext> {
  const scope = await restoreScopeFor(kc, agentNamespace);
  const { key } = await loadSigningKey(
    kc,
    { namespace: agentNamespace, secretName: scope.stateSecretName },
    { create: false },
  );
  return { scope, key };
}

async function plan(kc: KubeConfig, items: RestoreItem[], context: PlanContext): Promise<RestorePlanEntry[]> {
  const api = KubernetesObjectApi.makeApiClient(kc);
  const entries: RestorePlanEntry[] = [];
  // Sequential: one clear first error, and no burst of dry-runs against the API server.
  for (const item of items) entries.push(await planOne(kc, api, item, context));
  return entries;
}

/**
 * Server-side dry-run of every in-scope object in the backup, with a diff against what runs now;
 * out-of-scope objects are listed as refused with the rule, never diffed. Changes nothing.
 */
export async function previewRestore(
  kc: KubeConfig,
  yamlText: unknown,
  options: { agentNamespace?: string } = {},
): Promise<RestorePlanEntry[]> {
  const items = await parseRestoreYaml(yamlText);
  return plan(kc, items, await planContext(kc, options.agentNamespace ?? defaultAgentNamespace()));
}

/** One refusal per object, each naming the document, the object and the rules it breaks. */
function refusalError(items: RestoreItem[], entries: RestorePlanEntry[]): RunbookError | undefined {
  const refused = entries.flatMap((e, i) =>
    e.action === 'refused' && items[i] ? [`${documentLabel(items[i])}: ${e.note}`] : [],
  );
  if (refused.length === 0) return undefined;
  return new RunbookError(
    422,
    `restore refused; a restore only writes what this agent's backup contains. ${refused.join(' | ')}; nothing was applied`,
    'restore_refused',
  );
}

function countBy(entries: RestorePlanEntry[]): string {
  const count = (a: RestoreAction): number => entries.filter((e) => e.action === a).length;
  const refused = count('refused');
  return `${count('create')} created, ${count('update')} updated, ${count('unchanged')} unchanged, ${count('skipped')} skipped${refused ? `, ${refused} refused` : ''}`;
}

function objectList(entries: RestorePlanEntry[]): AuditObject[] {
  return entries.map((e) => ({ action: e.action, kind: e.kind, namespace: e.namespace, name: e.name }));
}

/** `created Deployment a/web, Deployment b/api; skipped Secret …` for the audit message. */
function objectNames(entries: RestorePlanEntry[]): string {
  const groups = (['create', 'update', 'skipped', 'refused'] as const)
    .map((action) => [action, entries.filter((e) => e.action === action)] as const)
    .filter(([, list]) => list.length > 0)
    .map(
      ([action, list]) => `${pastTense[action]} ${list.map((e) => `${e.kind} ${e.namespace}/${e.name}`).join(', ')}`,
    );
  return groups.length > 0 ? ` — ${groups.join('; ')}` : '';
}

const pastTense = { create: 'created', update: 'updated', skipped: 'skipped', refused: 'refused' } as const;

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
  const context = await planContext(kc, namespace);
  const target = { apiVersion: 'v1', kind: 'ConfigMap', namespace, name: context.scope.stateConfigMapName };
  const scope: AuditScope = { action: 'restore', actor: who, target, summary: 'restored a backup' };
  const { value, warnings } = await audited(
    kc,
    scope,
    async (s) => {
      const items = await parseRestoreYaml(yamlText);
      s.summary = `restored a backup of ${items.length} objects`;
      const entries = await plan(kc, items, context);
      s.objects = objectList(entries);
      const refusal = refusalError(items, entries);
      if (refusal) {
        s.summary = `refused a restore of ${items.length} objects (${countBy(entries)})${objectNames(entries)}`;
        throw refusal;
      }
      await applyAll(kc, items, entries);
      s.summary = `restored a backup of ${items.length} objects (${countBy(entries)})${objectNames(entries)}`;
      return entries;
    },
    options,
  );
  return { objects: value, message: `${who.name} (${who.role}) ${scope.summary}: ok`, warnings };
}
