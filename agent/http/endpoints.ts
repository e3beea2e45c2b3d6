import { withoutInternalAddresses } from '../logging/internal-addresses';
import type { AgentMetrics } from '../metrics/agent-metrics';
import { percentile } from '../metrics/percentile';
import type { AgentRuntime, RuntimeSnapshot } from '../runtime';
import { agentVersion } from '../version';
import { metricsTokenEnv, type EndpointAccess } from './endpoint-access';

/** A framework-neutral response, served by the headless HTTP server and by the Next.js route handlers. */
export interface EndpointResponse {
  status: number;
  headers: Record<string, string>;
  body: string;
}

const noStore = { 'Cache-Control': 'no-store' };
const json = (status: number, value: unknown): EndpointResponse => ({
  status,
  headers: { 'Content-Type': 'application/json', ...noStore },
  body: JSON.stringify(value),
});

const processStartedAt = Date.now();

/** Liveness: the process is up and serving HTTP. Deliberately says nothing about the control plane. */
export function healthEndpoint(): EndpointResponse {
  return json(200, { status: 'ok', uptime_seconds: Math.round((Date.now() - processStartedAt) / 1000) });
}

/** Readiness: registered and the control link healthy; 503 with the reason otherwise. */
export function readyEndpoint(runtime: AgentRuntime | undefined): EndpointResponse {
  if (!runtime)
    return json(503, { status: 'not_ready', reason: 'agent runtime not configured (PIPEOPS_API_URL is not set)' });
  const snapshot = runtime.snapshot();
  const readiness = snapshot.readiness;
  return json(readiness.ready ? 200 : 503, {
    status: readiness.status,
    reason: readiness.reason,
    agent_id: snapshot.identity?.agentId,
    cluster_id: snapshot.identity?.clusterId,
    missing_permissions: snapshot.missingPermissions.map((m) => m.description),
  });
}

export function versionEndpoint(): EndpointResponse {
  return json(200, { version: agentVersion, node: process.version, platform: `${process.platform}/${process.arch}` });
}

/** 401 for /metrics and /api/health/detailed when PIPEOPS_METRICS_TOKEN is set and the request lacks it. */
function tokenRequired(): EndpointResponse {
  return {
    status: 401,
    headers: { 'Content-Type': 'application/json', 'WWW-Authenticate': 'Bearer', ...noStore },
    body: JSON.stringify({
      error: {
        code: 'unauthorized',
        message: `this endpoint requires Authorization: Bearer <token> with the token set in ${metricsTokenEnv}`,
      },
    }),
  };
}

/** Keys whose values are addresses or key material: left out of a redacted view altogether. */
const addressKeys = new Set(['serverAddr', 'server_addr', 'fingerprint', 'target']);

/**
 * The view for a caller without the metrics token: the same shape and states, minus addresses and the
 * tunnel fingerprint. Every string is scrubbed too, because error messages (the Kubernetes client's,
 * a socket's) quote the address they failed to reach.
 */
export function redactInternals(value: unknown): unknown {
  if (typeof value === 'string') return withoutInternalAddresses(value);
  if (Array.isArray(value)) return value.map(redactInternals);
  if (value === null || typeof value !== 'object') return value;
  return Object.fromEntries(
    Object.entries(value)
      .filter(([key]) => !addressKeys.has(key))
      .map(([key, inner]) => [key, redactInternals(inner)]),
  );
}

export async function metricsEndpoint(metrics: AgentMetrics, access: EndpointAccess): Promise<EndpointResponse> {
  if (access === 'refused') return tokenRequired();
  const exposition = await metrics.registry.metrics();
  return {
    status: 200,
    headers: { 'Content-Type': metrics.registry.contentType, ...noStore },
    // Label values such as a reconnect reason can quote a socket error and with it an address.
    body: access === 'full' ? exposition : withoutInternalAddresses(exposition),
  };
}

function rttSummary(samples: number[]): { count: number; p50_ms?: number; p95_ms?: number; max_ms?: number } {
  if (samples.length === 0) return { count: 0 };
  return {
    count: samples.length,
    p50_ms: percentile(samples, 50),
    p95_ms: percentile(samples, 95),
    max_ms: percentile(samples, 100),
  };
}

function tunnelHop(s: RuntimeSnapshot): Record<string, unknown> {
  if (!s.tunnelEnabled) return { status: 'disabled', reason: 'tunnel.enabled is false' };
  if (!s.tunnel) return { status: 'not_started', reason: 'the tunnel runs on the leader once registered' };
  const { forwards, errors, ...tunnel } = s.tunnel;
  return {
    status: tunnel.state,
    ...tunnel,
    forwards: forwards.map(({ name, target, remotePort, state, reason, activeConnections }) => ({
      name,
      target,
      remote_port: remotePort,
      state,
      reason,
      active_connections: activeConnections,
    })),
    recent_errors: errors.slice(-5),
  };
}

/** Per hop: control plane, Kubernetes API, tunnel; addresses only with `full` access. */
export function detailedHealthEndpoint(runtime: AgentRuntime | undefined, access: EndpointAccess): EndpointResponse {
  if (access === 'refused') return tokenRequired();
  const body = detailedHealth(runtime);
  return json(200, access === 'full' ? body : redactInternals(body));
}

function detailedHealth(runtime: AgentRuntime | undefined): Record<string, unknown> {
  if (!runtime) return { status: 'not_configured', agent: { version: agentVersion }, hops: {} };
  const s = runtime.snapshot();
  const link = s.link;
  return {
    status: s.readiness.status,
    reason: s.readiness.reason,
    agent: {
      version: s.agentVersion,
      phase: s.phase,
      started_at: s.startedAt,
      agent_id: s.identity?.agentId,
      cluster_id: s.identity?.clusterId,
      identity_persisted: s.identity?.persisted ?? false,
      state_configmap: s.stateConfigMap,
      leader: s.leader,
      missing_permissions: s.missingPermissions,
    },
    hops: {
      control_plane: {
        registration: s.registration,
        link: link && {
          state: link.state,
          transport: link.transport,
          connected_since: link.connectedSince,
          last_heartbeat_at: link.lastHeartbeatAt,
          last_ack_at: link.lastAckAt,
          last_rtt_ms: link.lastRttMs,
          rtt_15m: rttSummary(link.rtt.map((point) => point.ms)),
          consecutive_failures: link.consecutiveFailures,
          last_error: link.lastError,
          recent_reconnects: link.reconnects.slice(-10),
        },
      },
      kubernetes_api: {
        status: s.kubernetes.lastError ? 'degraded' : s.kubernetes.version ? 'ok' : 'unknown',
        ...s.kubernetes,
      },
      tunnel: tunnelHop(s),
    },
  };
}
