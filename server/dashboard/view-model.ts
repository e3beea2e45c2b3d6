import type { TunnelForwardRow } from '@/agent/tunnel/tunnel-manager';

/**
 * What /dashboard renders and what GET /api/dashboard and the SSE feed carry: plain JSON, no secrets.
 * Client components import only these types, so the page and the API can never drift apart.
 */

export type Role = 'admin' | 'viewer';

export interface ViewerInfo {
  name: string;
  role: Role;
  /** Global read-only mode (PIPEOPS_DASHBOARD_READ_ONLY): every action is hidden and refused. */
  readOnly: boolean;
}

export interface RttPoint {
  /** Epoch milliseconds of the ack. */
  t: number;
  ms: number;
}

export interface AgentView {
  configured: boolean;
  /** Why the runtime is not running here (dashboard-only install), when not configured. */
  reason?: string;
  phase?: string;
  version: string;
  agentId?: string;
  clusterId?: string;
  clusterName?: string;
  registration: { state: string; registeredAt?: string; reason?: string };
  stateConfigMap?: string;
  persisted?: boolean;
  persistError?: string;
  role: 'leader' | 'standby' | 'unknown';
  leaderHolder?: string;
  readiness: { ready: boolean; status: string; reason: string };
  missingPermissions: { description: string; neededFor: string }[];
  kubernetes: { version?: string; nodes?: number; pods?: number; lastError?: string };
}

export interface ControlLinkView {
  state: string;
  transport?: string;
  connectedSince?: string;
  lastHeartbeatAt?: string;
  lastAckAt?: string;
  lastRttMs?: number;
  lastError?: string;
  /** Acked heartbeats of the last 15 minutes. */
  rtt: RttPoint[];
  reconnects: { at: string; reason: string }[];
}

/** A tunnel forward as the agent reports it, minus where its definition came from. */
export type TunnelForwardView = Omit<TunnelForwardRow, 'source'>;

export interface TunnelView {
  /** disabled | not_started | idle | inactive | waiting | connecting | connected | backoff | failed */
  state: string;
  reason: string;
  controlPlaneStatus?: string;
  serverAddr?: string;
  connectedSince?: string;
  lastActivityAt?: string;
  forwards: TunnelForwardView[];
}

export type WorkloadPhase = 'Running' | 'ScaledDown' | 'Waking' | 'Pending' | 'Error';

export interface PodView {
  name: string;
  phase: string;
  ready: boolean;
  node?: string;
  reason?: string;
}

export interface WorkloadView {
  namespace: string;
  name: string;
  phase: WorkloadPhase;
  phaseMessage: string;
  replicas: { desired: number; ready: number; available: number };
  pods: PodView[];
  restartedAt?: string;
  /** TTL as written in the annotation, e.g. `30m`; undefined when the workload has no TTL. */
  ttl?: string;
  ttlError?: string;
  lastActivityAt?: string;
  lastActivitySource?: string;
  /** When the TTL controller will scale it down if nothing happens; undefined without TTL. */
  scaleDownAt?: string;
  keptAwakeUntil?: string;
  originalReplicas?: number;
  maxReplicas: number;
  /** The HPA that targets it: such workloads are never scaled to zero and cannot be scaled by hand. */
  hpa?: string;
}

export type ActionName = 'restart' | 'scale' | 'wake' | 'keepAwake' | 'backup' | 'restore';

export interface ActionPermission {
  allowed: boolean;
  /** e.g. `patch deployments.apps in demo`, shown next to a disabled button. */
  missing: string[];
}

export interface AuditEntry {
  at: string;
  actor: string;
  action: string;
  target: string;
  result: 'ok' | 'failed';
  message: string;
}

export interface DashboardView {
  generatedAt: string;
  viewer: ViewerInfo;
  agent: AgentView;
  link?: ControlLinkView;
  tunnel: TunnelView;
  workloads: WorkloadView[];
  workloadsError?: string;
  /** Per namespace (the agent's RBAC can differ between namespaces). */
  permissions: Record<string, Record<ActionName, ActionPermission>>;
  /** For actions not tied to a workload namespace (backup, restore). */
  globalPermissions: Record<ActionName, ActionPermission>;
  audit: AuditEntry[];
}

/** One SSE message: a named part of the view, replaced as a whole in the client cache. */
export type LiveUpdate =
  | { topic: 'agent'; sentAt: number; data: Pick<DashboardView, 'agent' | 'link' | 'tunnel'> }
  | { topic: 'workloads'; sentAt: number; data: Pick<DashboardView, 'workloads' | 'workloadsError'> }
  | { topic: 'audit'; sentAt: number; data: Pick<DashboardView, 'audit'> };
