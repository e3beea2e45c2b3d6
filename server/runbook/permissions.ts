import 'server-only';
import type { KubeConfig } from '@kubernetes/client-node';
import { findMissingPermissions, type Permission } from '@/agent/kubernetes/access-review';
import { resolveAgentNamespace } from '@/agent/state/namespace';
import { fromKubeError, RunbookError } from './errors';

export type RunbookAction = 'restart' | 'scale' | 'wake' | 'keepAwake' | 'backup' | 'restore';
export const runbookActions: RunbookAction[] = ['restart', 'scale', 'wake', 'keepAwake', 'backup', 'restore'];

export interface ActionPermission {
  allowed: boolean;
  /** e.g. `patch deployments.apps in demo`; empty when allowed. */
  missing: string[];
}
export type ActionPermissions = Record<RunbookAction, ActionPermission>;

export interface PermissionScope {
  /** The workload's namespace; without it, cluster-wide permissions are checked. */
  namespace?: string;
  /** Where the agent's state ConfigMap and Secret live. */
  agentNamespace?: string;
}

const cacheMs = 30_000;
const cache = new Map<string, { at: number; value: Promise<ActionPermissions> }>();

export function defaultAgentNamespace(): string {
  return resolveAgentNamespace(process.env.PIPEOPS_STATE_NAMESPACE, process.env.PIPEOPS_POD_NAMESPACE);
}

function apps(verb: string, resource: string, namespace: string | undefined, neededFor: string): Permission {
  return { verb, resource, group: 'apps', namespace, neededFor };
}

function core(verb: string, resource: string, namespace: string | undefined, neededFor: string): Permission {
  return { verb, resource, namespace, neededFor };
}

/** What each runbook action needs from the agent's own identity (RBAC applies to the agent, not the user). */
export function permissionsFor(action: RunbookAction, scope: PermissionScope = {}): Permission[] {
  const ns = scope.namespace;
  const agentNs = scope.agentNamespace ?? defaultAgentNamespace();
  const sleep = (why: string): Permission[] => [
    apps('get', 'deployments', ns, why),
    apps('patch', 'deployments', ns, why),
    apps('patch', 'deployments/scale', ns, why),
  ];
  switch (action) {
    case 'restart':
      return [apps('get', 'deployments', ns, 'restart'), apps('patch', 'deployments', ns, 'restart')];
    case 'scale':
      return [
        apps('get', 'deployments', ns, 'scale'),
        apps('get', 'deployments/scale', ns, 'scale'),
        apps('patch', 'deployments/scale', ns, 'scale'),
        { verb: 'list', resource: 'horizontalpodautoscalers', group: 'autoscaling', namespace: ns, neededFor: 'scale' },
      ];
    case 'wake':
      return sleep('wake');
    case 'keepAwake':
      return sleep('keep awake');
    case 'backup':
      return [
        core('get', 'configmaps', agentNs, 'backup'),
        core('get', 'secrets', agentNs, 'backup'),
        apps('list', 'deployments', undefined, 'backup'),
      ];
    case 'restore':
      return [
        ...['get', 'create', 'patch'].map((verb) => apps(verb, 'deployments', ns, 'restore')),
        ...['get', 'create', 'patch'].map((verb) => core(verb, 'configmaps', agentNs, 'restore')),
      ];
  }
}

async function review(kc: KubeConfig, scope: PermissionScope): Promise<ActionPermissions> {
  const results = await Promise.all(
    runbookActions.map(async (action) => {
      const missing = await findMissingPermissions(kc, permissionsFor(action, scope));
      return [action, { allowed: missing.length === 0, missing: missing.map((m) => m.description) }] as const;
    }),
  );
  return Object.fromEntries(results) as ActionPermissions;
}

function cacheKey(kc: KubeConfig, scope: PermissionScope): string {
  const user = kc.getCurrentUser();
  // The token is part of the identity: two ServiceAccounts may share a kubeconfig user name.
  return [
    kc.getCurrentCluster()?.server,
    user?.name,
    user?.token?.slice(-16),
    scope.namespace,
    scope.agentNamespace,
  ].join('|');
}

/**
 * Which runbook actions the agent may perform (SelfSubjectAccessReview), so the UI can disable a button
 * and say why. Cached ~30 s per identity and namespace: a page load must not fire dozens of reviews.
 */
export async function actionPermissions(
  kc: KubeConfig,
  scope: PermissionScope = {},
  now = Date.now(),
): Promise<ActionPermissions> {
  const key = cacheKey(kc, scope);
  const hit = cache.get(key);
  if (hit && now - hit.at < cacheMs) return hit.value;
  const value = review(kc, scope);
  cache.set(key, { at: now, value });
  // A failed review must not be cached: the next call asks again.
  void value.catch(() => cache.delete(key));
  try {
    return await value;
  } catch (error) {
    throw fromKubeError(error, 'checking the agent permissions');
  }
}

export function clearPermissionCache(): void {
  cache.clear();
}

/**
 * After the API server refused (403), say which permission the agent lacks, in the same words as
 * actionPermissions. Falls back to the API server's message when the review cannot tell.
 */
export async function forbiddenError(
  kc: KubeConfig,
  action: string,
  permissions: Permission[],
  apiError: unknown,
): Promise<RunbookError> {
  const fallback = fromKubeError(apiError, action);
  try {
    const missing = await findMissingPermissions(kc, permissions);
    if (missing.length === 0) return fallback;
    return new RunbookError(
      403,
      `the agent lacks permission for ${action}: ${missing.map((m) => m.description).join(', ')}`,
    );
  } catch {
    return fallback;
  }
}
