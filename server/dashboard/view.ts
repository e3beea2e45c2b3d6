import 'server-only';
import type { KubeConfig } from '@kubernetes/client-node';
import type { RuntimeSnapshot } from '@/agent/runtime';
import { agentVersion } from '@/agent/version';
import { isWaking, workloadPhase } from '@/agent/workloads/phase';
import type { SessionUser } from '@/server/auth/roles';
import { isReadOnly } from '@/server/auth/auth-config';
import { kubeConfig } from '@/server/kubernetes/client';
import { agentHost } from '@/server/runtime/agent-runtime';
import { listAuditEvents, type AuditEntry as RunbookAuditEntry } from '@/server/runbook/audit';
import { actionPermissions, type ActionPermissions } from '@/server/runbook/permissions';
import { dashboardMaxReplicas } from '@/server/runbook/schemas';
import { listManagedWorkloads, type ManagedWorkload } from '@/server/runbook/workloads';
import type { AgentView, AuditEntry, ControlLinkView, DashboardView, TunnelView, WorkloadView } from './view-model';

const rttWindowMs = 15 * 60_000;
const auditLimit = 50;

function registrationView(registration: RuntimeSnapshot['registration']): AgentView['registration'] {
  if (registration.state === 'registered') return { state: 'registered', registeredAt: registration.registeredAt };
  if (registration.state === 'rejected') return { state: 'rejected', reason: registration.reason };
  return { state: 'pending', reason: registration.lastError };
}

function agentView(s: RuntimeSnapshot): AgentView {
  const leader = s.leader;
  return {
    configured: true,
    phase: s.phase,
    version: s.agentVersion,
    agentId: s.identity?.agentId,
    clusterId: s.identity?.clusterId,
    clusterName: s.clusterName,
    registration: registrationView(s.registration),
    stateConfigMap: s.stateConfigMap,
    persisted: s.identity?.persisted,
    persistError: s.identity?.persistError,
    role: leader.leader ? 'leader' : 'standby',
    leaderHolder: 'holder' in leader ? leader.holder : undefined,
    readiness: s.readiness,
    missingPermissions: s.missingPermissions.map(({ description, neededFor }) => ({ description, neededFor })),
    kubernetes: {
      version: s.kubernetes.version,
      nodes: s.kubernetes.nodes,
      pods: s.kubernetes.pods,
      lastError: s.kubernetes.lastError,
    },
  };
}

function linkView(s: RuntimeSnapshot): ControlLinkView | undefined {
  const link = s.link;
  if (!link) return undefined;
  const since = Date.now() - rttWindowMs;
  return {
    state: link.state,
    transport: link.transport,
    connectedSince: link.connectedSince,
    lastHeartbeatAt: link.lastHeartbeatAt,
    lastAckAt: link.lastAckAt,
    lastRttMs: link.lastRttMs,
    lastError: link.lastError,
    rtt: link.rtt.map((point) => ({ t: Date.parse(point.at), ms: point.ms })).filter((point) => point.t >= since),
    reconnects: link.reconnects.slice(-10).map(({ at, reason }) => ({ at, reason })),
  };
}

function tunnelView(s: RuntimeSnapshot): TunnelView {
  if (!s.tunnelEnabled) return { state: 'disabled', reason: 'the tunnel is disabled (tunnel.enabled)', forwards: [] };
  const tunnel = s.tunnel;
  if (!tunnel) {
    return { state: 'not_started', reason: 'the tunnel opens on the leader once it is registered', forwards: [] };
  }
  return {
    state: tunnel.state,
    reason: tunnel.reason,
    controlPlaneStatus: tunnel.controlPlaneStatus,
    serverAddr: tunnel.serverAddr,
    connectedSince: tunnel.connectedSince,
    lastActivityAt: tunnel.lastActivityAt,
    forwards: tunnel.forwards.map((forward) => ({
      name: forward.name,
      target: forward.target,
      remotePort: forward.remotePort,
      state: forward.state,
      reason: forward.reason,
      bytesIn: forward.bytesIn,
      bytesOut: forward.bytesOut,
      activeConnections: forward.activeConnections,
      totalConnections: forward.totalConnections,
      refusedConnections: forward.refusedConnections,
    })),
  };
}

/** The runtime's part of the view: cheap (no I/O), rebuilt on every runtime change event. */
export function agentParts(): Pick<DashboardView, 'agent' | 'link' | 'tunnel'> {
  const host = agentHost();
  const snapshot = host.runtime?.snapshot();
  if (!snapshot) {
    return {
      agent: {
        configured: false,
        reason: host.disabledReason,
        version: agentVersion,
        registration: { state: 'disabled' },
        role: 'unknown',
        readiness: { ready: false, status: 'not_configured', reason: host.disabledReason ?? 'not configured' },
        missingPermissions: [],
        kubernetes: {},
      },
      tunnel: { state: 'disabled', reason: 'the agent runtime is not configured here', forwards: [] },
    };
  }
  return { agent: agentView(snapshot), link: linkView(snapshot), tunnel: tunnelView(snapshot) };
}

/** When the TTL controller will scale the workload to zero; never while an HPA owns its replica count. */
function scaleDownAt(workload: ManagedWorkload): string | undefined {
  const { ttl, lastActivity, keepAwakeUntil } = workload.state;
  if (!ttl || workload.replicas.desired === 0 || workload.hpa) return undefined;
  const idleEnd = (lastActivity ? Date.parse(lastActivity) : Date.now()) + ttl.ms;
  const awakeEnd = keepAwakeUntil ? Date.parse(keepAwakeUntil) : 0;
  return new Date(Math.max(idleEnd, awakeEnd)).toISOString();
}

export function workloadView(workload: ManagedWorkload, globalMax: number): WorkloadView {
  const { state, replicas } = workload;
  const phase = workloadPhase({
    desired: replicas.desired,
    ready: replicas.ready,
    pods: workload.pods,
    state,
    waking: isWaking(state, replicas),
  });
  return {
    namespace: workload.namespace,
    name: workload.name,
    phase: phase.phase,
    phaseMessage: phase.message,
    replicas: { desired: replicas.desired, ready: replicas.ready, available: replicas.available },
    pods: workload.pods.map(({ name, phase: podPhase, ready, node, reason }) => ({
      name,
      phase: podPhase,
      ready,
      node,
      reason,
    })),
    restartedAt: workload.restartedAt,
    ttl: state.ttl?.text,
    ttlError: state.problems.find((problem) => problem.annotation === 'pipeops.io/ttl')?.message,
    lastActivityAt: state.lastActivity,
    lastActivitySource: state.lastActivitySource,
    scaleDownAt: scaleDownAt(workload),
    keptAwakeUntil: state.keepAwakeUntil,
    originalReplicas: state.originalReplicas,
    maxReplicas: Math.min(globalMax, state.maxReplicas ?? globalMax),
    hpa: workload.hpa,
  };
}

/** Managed workloads as the table shows them; a failure is shown in the panel, not thrown at the page. */
export async function workloadsPart(
  kc: KubeConfig = kubeConfig(),
): Promise<Pick<DashboardView, 'workloads' | 'workloadsError'>> {
  try {
    const max = dashboardMaxReplicas();
    return { workloads: (await listManagedWorkloads(kc)).map((workload) => workloadView(workload, max)) };
  } catch (error) {
    return { workloads: [], workloadsError: error instanceof Error ? error.message : String(error) };
  }
}

function auditEntry(entry: RunbookAuditEntry): AuditEntry {
  const target = [entry.target.namespace, entry.target.name].filter(Boolean).join('/');
  return {
    at: entry.time,
    actor: entry.actor ? `${entry.actor}${entry.role ? ` (${entry.role})` : ''}` : 'unknown',
    action: entry.action,
    target: `${entry.target.kind ?? ''} ${target}`.trim(),
    result: entry.result === 'failed' || entry.type === 'Warning' ? 'failed' : 'ok',
    message: entry.message,
  };
}

export async function auditPart(kc: KubeConfig = kubeConfig()): Promise<Pick<DashboardView, 'audit'>> {
  try {
    return { audit: (await listAuditEvents(kc, { limit: auditLimit })).map(auditEntry) };
  } catch {
    return { audit: [] };
  }
}

function unknownPermissions(reason: string): ActionPermissions {
  const denied = { allowed: false, missing: [`could not check the agent's RBAC: ${reason}`] };
  return { restart: denied, scale: denied, wake: denied, keepAwake: denied, backup: denied, restore: denied };
}

/** The agent's own RBAC per action; if the API server cannot answer, every button says why it is off. */
async function permissionsFor(
  kc: KubeConfig,
  namespaces: string[],
): Promise<Pick<DashboardView, 'permissions' | 'globalPermissions'>> {
  try {
    return await checkPermissions(kc, namespaces);
  } catch (error) {
    const denied = unknownPermissions(error instanceof Error ? error.message : String(error));
    return { permissions: Object.fromEntries(namespaces.map((ns) => [ns, denied])), globalPermissions: denied };
  }
}

async function checkPermissions(
  kc: KubeConfig,
  namespaces: string[],
): Promise<Pick<DashboardView, 'permissions' | 'globalPermissions'>> {
  const [globalPermissions, ...perNamespace] = await Promise.all([
    actionPermissions(kc),
    ...namespaces.map((namespace) => actionPermissions(kc, { namespace })),
  ]);
  const permissions: Record<string, ActionPermissions> = {};
  namespaces.forEach((namespace, index) => {
    const entry = perNamespace[index];
    if (entry) permissions[namespace] = entry;
  });
  return { permissions, globalPermissions: globalPermissions as ActionPermissions };
}

/** Everything /dashboard shows, for one signed-in user. */
export async function buildDashboardView(user: SessionUser): Promise<DashboardView> {
  const kc = kubeConfig();
  const [workloads, audit] = await Promise.all([workloadsPart(kc), auditPart(kc)]);
  const namespaces = [...new Set(workloads.workloads.map((workload) => workload.namespace))].sort();
  return {
    generatedAt: new Date().toISOString(),
    viewer: { name: user.name, role: user.role, readOnly: isReadOnly() },
    ...agentParts(),
    ...workloads,
    ...(await permissionsFor(kc, namespaces)),
    ...audit,
  };
}
