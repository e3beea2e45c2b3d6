import 'server-only';
import { ApiException, AuthenticationV1Api, type KubeConfig } from '@kubernetes/client-node';
import { managedLabel, managedSelector } from '@/agent/workloads/annotations';
import { fromKubeError } from './errors';
import { baselineViolations } from './pod-security';
import type { RestoreItem } from './restore-parse';
import { signingKeyField } from './signing-key';

/** Namespaces no restore writes to, whatever the install allows: the cluster's own components live there. */
export const systemNamespaces = new Set(['kube-system', 'kube-public', 'kube-node-lease']);

/** What a restore may touch: exactly what this agent's backup can contain. */
export interface RestoreScope {
  agentNamespace: string;
  stateConfigMapName: string;
  stateSecretName: string;
  /** Namespaces where managed Deployments may be restored; undefined: every non-system namespace. */
  workloadNamespaces?: string[];
  /** The ServiceAccount the agent runs as, when it runs as one (a restored pod must never run as it). */
  agentServiceAccount?: { namespace: string; name: string };
}

export function stateConfigMapNameFromEnv(): string {
  return process.env.PIPEOPS_STATE_CONFIGMAP_NAME || 'pipeops-agent-state';
}

export function stateSecretNameFromEnv(): string {
  return process.env.PIPEOPS_STATE_SECRET_NAME || 'pipeops-agent-secrets';
}

/** PIPEOPS_WORKLOAD_NAMESPACES: comma-separated; empty or unset: every non-system namespace. */
export function workloadNamespacesFromEnv(raw = process.env.PIPEOPS_WORKLOAD_NAMESPACES): string[] | undefined {
  const names = (raw ?? '')
    .split(',')
    .map((n) => n.trim())
    .filter(Boolean);
  return names.length > 0 ? names : undefined;
}

const serviceAccountUser = /^system:serviceaccount:([^:]+):([^:]+)$/;

function parseServiceAccount(username: string | undefined): RestoreScope['agentServiceAccount'] {
  const match = serviceAccountUser.exec(username ?? '');
  return match ? { namespace: match[1] ?? '', name: match[2] ?? '' } : undefined;
}

/** The `sub` claim of the agent's own bearer token (a ServiceAccount token is a JWT). */
function subjectOfToken(kc: KubeConfig): string | undefined {
  const payload = kc.getCurrentUser()?.token?.split('.')[1];
  if (!payload) return undefined;
  try {
    return (JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as { sub?: string }).sub;
  } catch {
    return undefined;
  }
}

/**
 * Who the agent is, as the API server sees it (SelfSubjectReview needs no RBAC grant; GA since 1.28).
 * Where the API server refuses or lacks it, the agent's own token says.
 */
export async function agentServiceAccountOf(kc: KubeConfig): Promise<RestoreScope['agentServiceAccount']> {
  try {
    const review = await kc
      .makeApiClient(AuthenticationV1Api)
      .createSelfSubjectReview({ body: { apiVersion: 'authentication.k8s.io/v1', kind: 'SelfSubjectReview' } });
    return parseServiceAccount(review.status?.userInfo?.username);
  } catch (error) {
    if (error instanceof ApiException && [403, 404].includes(error.code))
      return parseServiceAccount(subjectOfToken(kc));
    throw fromKubeError(error, 'asking the API server which ServiceAccount the agent runs as');
  }
}

export async function restoreScopeFor(kc: KubeConfig, agentNamespace: string): Promise<RestoreScope> {
  return {
    agentNamespace,
    stateConfigMapName: stateConfigMapNameFromEnv(),
    stateSecretName: stateSecretNameFromEnv(),
    workloadNamespaces: workloadNamespacesFromEnv(),
    agentServiceAccount: await agentServiceAccountOf(kc),
  };
}

type Json = Record<string, unknown>;

function stateObjectRefusals(item: RestoreItem, scope: RestoreScope): string[] {
  const wanted = item.kind === 'ConfigMap' ? scope.stateConfigMapName : scope.stateSecretName;
  if (item.namespace !== scope.agentNamespace || item.name !== wanted) {
    return [
      `only the agent's own ${item.kind} ${scope.agentNamespace}/${wanted} can be restored (a backup contains no other ${item.kind})`,
    ];
  }
  if (item.kind !== 'Secret') return [];
  const refusals: string[] = [];
  const type = (item.object as Json).type;
  if (type !== undefined && type !== 'Opaque')
    refusals.push(`Secret type ${String(type)} is not allowed; the agent's Secret is Opaque`);
  for (const field of ['data', 'stringData']) {
    if (signingKeyField in (((item.object as Json)[field] as Json | undefined) ?? {}))
      refusals.push(`${field}.${signingKeyField} is the agent's backup signing key and is never restored`);
  }
  return refusals;
}

function namespaceRefusals(namespace: string, scope: RestoreScope): string[] {
  if (systemNamespaces.has(namespace))
    return [`namespace ${namespace} is a system namespace; restores never write there`];
  if (scope.workloadNamespaces && !scope.workloadNamespaces.includes(namespace))
    return [`namespace ${namespace} is not one this install manages (allowed: ${scope.workloadNamespaces.join(', ')})`];
  return [];
}

function podTemplateRefusals(item: RestoreItem, scope: RestoreScope): string[] {
  const template = ((item.object as Json).spec as Json | undefined)?.template as Json | undefined;
  const refusals = baselineViolations(template).map((v) => `Pod Security baseline: ${v}`);
  const podSpec = (template?.spec ?? {}) as Json;
  const account = podSpec.serviceAccountName ?? podSpec.serviceAccount;
  const agent = scope.agentServiceAccount;
  if (agent && item.namespace === agent.namespace && account === agent.name)
    refusals.push(`spec.template.spec.serviceAccountName is ${agent.name}, the agent's own ServiceAccount`);
  if (item.namespace === scope.agentNamespace)
    refusals.push(
      `an edited Deployment in the agent's namespace ${scope.agentNamespace} could mount the agent's Secrets; only an unmodified backup restores there`,
    );
  return refusals;
}

function deploymentRefusals(item: RestoreItem, scope: RestoreScope, signed: boolean): string[] {
  const labels = (((item.object as Json).metadata as Json | undefined)?.labels ?? {}) as Json;
  const refusals = namespaceRefusals(item.namespace, scope);
  if (labels[managedLabel] !== 'true')
    refusals.push(`metadata.labels lacks ${managedSelector}; only Deployments the agent manages are restored`);
  if (!signed) refusals.push(...podTemplateRefusals(item, scope));
  return refusals;
}

/**
 * Why this document may not be restored (empty: it may). `signed`: the document carries a valid backup
 * signature, i.e. it is exactly what this agent exported; only then are the pod checks skipped.
 */
export function scopeRefusals(item: RestoreItem, scope: RestoreScope, signed: boolean): string[] {
  if (item.kind === 'ConfigMap' || item.kind === 'Secret') return stateObjectRefusals(item, scope);
  if (item.kind === 'Deployment') return deploymentRefusals(item, scope, signed);
  return [`${item.kind} is not something a backup contains`];
}

/** An update may only touch a Deployment that is managed right now, not one that merely claims to be. */
export function liveRefusals(
  item: RestoreItem,
  live: { metadata?: { labels?: Record<string, string> } } | undefined,
): string[] {
  if (item.kind !== 'Deployment' || !live) return [];
  if (live.metadata?.labels?.[managedLabel] === 'true') return [];
  return [
    `the live Deployment ${item.namespace}/${item.name} is not managed by the agent (it lacks ${managedSelector}); a restore never takes one over`,
  ];
}
