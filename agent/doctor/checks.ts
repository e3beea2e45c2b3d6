import {
  AuthenticationV1Api,
  CoordinationV1Api,
  CoreV1Api,
  type CoreV1Event,
  type KubeConfig,
  type V1ConfigMap,
} from '@kubernetes/client-node';
import { findMissingPermissions, type MissingPermission, type Permission } from '../kubernetes/access-review';
import { describeKubeError, statusOf } from '../kubernetes/errors';
import { agentEventSource } from '../kubernetes/events';
import { line, type CheckLine } from './report';

export interface DoctorTarget {
  namespace: string;
  configMapName: string;
  secretName: string;
  leaseName: string;
  leaderElection: boolean;
  stateEnabled: boolean;
}

const generatedId = /^agent-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
/** Keys that must never be in the state ConfigMap (the upstream chart put the token in one). */
const secretLikeKey = /token|password|secret|credential/i;
export const reregistrationWindowMs = 3_600_000;
/** More restarts than this per hour is a loop, not a rollout. */
export const reregistrationLoopThreshold = 5;

export async function checkConnection(kc: KubeConfig): Promise<CheckLine> {
  const server = kc.getCurrentCluster()?.server ?? 'in-cluster';
  try {
    const review = await kc.makeApiClient(AuthenticationV1Api).createSelfSubjectReview({ body: {} });
    return line(
      'OK',
      'kubernetes',
      `API server ${server} reached as ${review.status?.userInfo?.username ?? 'unknown'}`,
    );
  } catch (error) {
    return line(
      'FAIL',
      'kubernetes',
      `cannot reach the API server ${server}: ${describeKubeError(error)}`,
      'check KUBECONFIG, or run inside the agent pod (kubectl exec deploy/pipeops-agent -- node tools/doctor.cjs)',
    );
  }
}

/** The namespace permissions the agent and this doctor use: state, Secret, Lease, Events. */
export function namespacePermissions(t: DoctorTarget): Permission[] {
  const ns = t.namespace;
  const state = `the state ConfigMap ${t.configMapName} (identity)`;
  const list: Permission[] = [
    { verb: 'get', resource: 'configmaps', namespace: ns, neededFor: state },
    { verb: 'create', resource: 'configmaps', namespace: ns, neededFor: state },
    { verb: 'update', resource: 'configmaps', namespace: ns, neededFor: state },
    { verb: 'get', resource: 'secrets', namespace: ns, neededFor: `the agent Secret ${t.secretName} (backup)` },
    { verb: 'create', resource: 'events', namespace: ns, neededFor: 'registration Events' },
    { verb: 'list', resource: 'events', namespace: ns, neededFor: 'counting re-registrations (doctor)' },
  ];
  if (t.leaderElection) {
    for (const verb of ['get', 'create', 'update']) {
      list.push({
        verb,
        resource: 'leases',
        group: 'coordination.k8s.io',
        namespace: ns,
        neededFor: 'leader election',
      });
    }
  }
  return list;
}

const clusterPermissions: Permission[] = [
  { verb: 'list', resource: 'nodes', neededFor: 'node counts in heartbeats' },
  { verb: 'watch', resource: 'nodes', neededFor: 'node counts in heartbeats' },
  { verb: 'list', resource: 'pods', neededFor: 'pod counts in heartbeats' },
  { verb: 'watch', resource: 'pods', neededFor: 'pod counts in heartbeats' },
  { verb: 'list', resource: 'deployments', group: 'apps', neededFor: 'the dashboard workloads' },
];

const permissionKey = (p: Permission): string => `${p.verb} ${p.resource}.${p.group ?? ''} ${p.namespace ?? ''}`;

/**
 * One FAIL per missing permission; when every Role-only permission (ConfigMaps, Secrets, Leases) is
 * denied, one line that names the likely cause instead: the RoleBinding (or its Role) is gone.
 */
function rbacLines(t: DoctorTarget, missing: MissingPermission[]): CheckLine[] {
  const roleOnly = namespacePermissions(t).filter((p) => p.resource !== 'events');
  const denied = new Set(missing.map(permissionKey));
  const bindingGone = roleOnly.every((p) => denied.has(permissionKey(p)));
  const covered = new Set(bindingGone ? roleOnly.map(permissionKey) : []);
  const lines: CheckLine[] = [];
  if (bindingGone) {
    lines.push(
      line(
        'FAIL',
        'rbac',
        `no ConfigMap, Secret or Lease permission in namespace ${t.namespace}: the RoleBinding for this ServiceAccount is missing (or its Role is)`,
        `kubectl -n ${t.namespace} get rolebindings,roles -l app.kubernetes.io/name=pipeops-agent; helm upgrade re-creates them (rbac.create=true)`,
      ),
    );
  }
  for (const m of missing) {
    if (covered.has(permissionKey(m))) continue;
    lines.push(
      line(
        'FAIL',
        'rbac',
        `missing: ${m.description} (needed for ${m.neededFor})`,
        'see charts/pipeops-agent/README.md',
      ),
    );
  }
  return lines;
}

export async function checkRbac(kc: KubeConfig, t: DoctorTarget): Promise<CheckLine[]> {
  try {
    const missing = await findMissingPermissions(kc, [...namespacePermissions(t), ...clusterPermissions]);
    if (missing.length === 0) {
      const leases = t.leaderElection ? 'Leases, ' : '';
      return [line('OK', 'rbac', `ConfigMaps, Secrets, ${leases}Events in ${t.namespace} and cluster reads allowed`)];
    }
    return rbacLines(t, missing);
  } catch (error) {
    return [line('FAIL', 'rbac', `SelfSubjectAccessReview failed: ${describeKubeError(error)}`)];
  }
}

/** Which runbook tier the identity has, in the chart's words (informational). */
export async function detectTier(kc: KubeConfig): Promise<CheckLine> {
  const probe: Permission[] = [
    { verb: 'patch', resource: 'deployments', group: 'apps', neededFor: 'restart, wake, keep awake' },
    { verb: 'patch', resource: 'deployments/scale', group: 'apps', neededFor: 'scale, TTL' },
    { verb: 'create', resource: 'deployments', group: 'apps', neededFor: 'restore' },
  ];
  try {
    const missing = new Set((await findMissingPermissions(kc, probe)).map((m) => m.neededFor));
    const operator = !missing.has(probe[0]!.neededFor) && !missing.has(probe[1]!.neededFor);
    const tier = operator ? (missing.has('restore') ? 'operator' : 'admin') : 'viewer';
    const disabled = probe.filter((p) => missing.has(p.neededFor)).map((p) => p.neededFor);
    return line('INFO', 'rbac', `tier ${tier}${disabled.length ? ` (disabled: ${disabled.join('; ')})` : ''}`);
  } catch (error) {
    return line('WARN', 'rbac', `could not determine the tier: ${describeKubeError(error)}`);
  }
}

export async function readStateConfigMap(kc: KubeConfig, t: DoctorTarget): Promise<V1ConfigMap | undefined> {
  try {
    return await kc.makeApiClient(CoreV1Api).readNamespacedConfigMap({ name: t.configMapName, namespace: t.namespace });
  } catch (error) {
    if (statusOf(error) === 404) return undefined;
    throw error;
  }
}

function agentIdLine(agentId: string | undefined, where: string): CheckLine {
  if (!agentId) return line('FAIL', 'state', `${where} has no agent_id`, 'the agent writes it on start; check RBAC');
  if (agentId.length > 128) return line('FAIL', 'state', `${where} agent_id is longer than 128 characters`);
  if (!generatedId.test(agentId)) {
    return line(
      'WARN',
      'state',
      `agent_id "${agentId}" is not the generated agent-<uuid> form (set by PIPEOPS_AGENT_ID?)`,
    );
  }
  return line('OK', 'state', `${where} agent_id ${agentId}`);
}

function clusterIdLine(data: Record<string, string>, where: string): CheckLine {
  if (!data.cluster_id) {
    return line(
      'WARN',
      'state',
      `${where} has no cluster_id: not registered yet`,
      'check /ready and the control-plane URL and token',
    );
  }
  if (!data.cluster_uuid)
    return line('WARN', 'state', `${where} has cluster_id ${data.cluster_id} but no cluster_uuid`);
  return line('OK', 'state', `cluster_id ${data.cluster_id} (cluster_uuid ${data.cluster_uuid})`);
}

/** Present, has a well-formed agent_id and a cluster_id, and holds nothing secret. */
export function validateState(configMap: V1ConfigMap | undefined, t: DoctorTarget): CheckLine[] {
  const where = `ConfigMap ${t.namespace}/${t.configMapName}`;
  if (!t.stateEnabled) {
    return [line('WARN', 'state', 'state persistence is disabled: a new agent_id (and cluster) on every restart')];
  }
  if (!configMap) {
    return [
      line(
        'FAIL',
        'state',
        `${where} does not exist: the agent will register as a NEW cluster on its next start`,
        'run doctor --fix (keeps --agent-id if given, else generates agent-<uuid>), then restart the agent',
      ),
    ];
  }
  const data = configMap.data ?? {};
  const lines = [agentIdLine(data.agent_id, where), clusterIdLine(data, where)];
  const leaked = Object.keys(data).filter((key) => secretLikeKey.test(key));
  if (leaked.length > 0) {
    lines.push(
      line(
        'FAIL',
        'state',
        `${where} holds secret-looking keys (${leaked.join(', ')})`,
        'tokens belong in a Secret: remove them',
      ),
    );
  }
  return lines;
}

export async function checkLease(kc: KubeConfig, t: DoctorTarget, now = Date.now()): Promise<CheckLine> {
  if (!t.leaderElection) return line('SKIP', 'lease', 'leader election disabled');
  try {
    const lease = await kc
      .makeApiClient(CoordinationV1Api)
      .readNamespacedLease({ name: t.leaseName, namespace: t.namespace });
    const holder = lease.spec?.holderIdentity;
    const renewed = lease.spec?.renewTime ? new Date(lease.spec.renewTime).getTime() : 0;
    const duration = (lease.spec?.leaseDurationSeconds ?? 15) * 1000;
    if (!holder) return line('WARN', 'lease', `Lease ${t.leaseName} has no holder: no active agent`);
    if (now - renewed > 2 * duration) {
      return line(
        'WARN',
        'lease',
        `leader ${holder} last renewed ${Math.round((now - renewed) / 1000)}s ago: no active agent`,
      );
    }
    return line('OK', 'lease', `leader ${holder}, renewed ${Math.round((now - renewed) / 1000)}s ago`);
  } catch (error) {
    if (statusOf(error) === 404)
      return line('WARN', 'lease', `Lease ${t.namespace}/${t.leaseName} does not exist: no agent has started`);
    return line('WARN', 'lease', `cannot read the Lease: ${describeKubeError(error)}`);
  }
}

function eventTime(event: CoreV1Event): number {
  const raw = event.lastTimestamp ?? event.eventTime ?? event.firstTimestamp ?? event.metadata.creationTimestamp;
  return raw ? new Date(raw).getTime() : 0;
}

export function classifyRegistrations(events: CoreV1Event[], now: number): CheckLine {
  const recent = events.filter((e) => now - eventTime(e) <= reregistrationWindowMs);
  const fresh = recent.filter((e) => e.reason === 'AgentRegistered').length;
  const again = recent.filter((e) => e.reason === 'AgentReregistered').length;
  const summary = `last hour: ${fresh} fresh registration(s), ${again} re-registration(s)`;
  if (fresh > 1) {
    return line(
      'FAIL',
      'registrations',
      `${summary}: identity is being lost (a new cluster each time)`,
      'check the state ConfigMap and its RBAC',
    );
  }
  if (fresh + again > reregistrationLoopThreshold) {
    return line(
      'FAIL',
      'registrations',
      `${summary}: a re-registration loop`,
      'check the pod restarts (kubectl get pods) and the agent logs',
    );
  }
  return line('OK', 'registrations', summary);
}

/** Counts the runtime's AgentRegistered/AgentReregistered Events on the state ConfigMap. */
export async function checkRegistrations(kc: KubeConfig, t: DoctorTarget, now = Date.now()): Promise<CheckLine> {
  try {
    const events = await kc.makeApiClient(CoreV1Api).listNamespacedEvent({
      namespace: t.namespace,
      fieldSelector: `involvedObject.name=${t.configMapName},source=${agentEventSource}`,
    });
    return classifyRegistrations(events.items, now);
  } catch (error) {
    return line('WARN', 'registrations', `cannot list Events: ${describeKubeError(error)}`);
  }
}
