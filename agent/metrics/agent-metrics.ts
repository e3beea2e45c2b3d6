import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/** Per-forward totals since the agent started, as the tunnel manager keeps them. */
export interface TunnelForwardCounters {
  name: string;
  bytesIn: number;
  bytesOut: number;
  activeConnections: number;
  totalConnections: number;
  refusedConnections: number;
}

type ForwardTotal = 'bytesIn' | 'bytesOut' | 'totalConnections' | 'refusedConnections';

/**
 * A counter read from running totals at scrape time: it only ever adds the growth since the last scrape,
 * so the exported series stays monotonic even though the tunnel client is rebuilt on reconnects.
 */
function totalsCounter(
  registry: Registry,
  spec: { name: string; help: string; labelNames: readonly ('forward' | 'direction')[] },
  read: () => { labels: Record<string, string>; value: number }[],
): Counter<string> {
  const exported = new Map<string, number>();
  return new Counter({
    ...spec,
    registers: [registry],
    collect(): void {
      for (const { labels, value } of read()) {
        const key = JSON.stringify(labels);
        const delta = value - (exported.get(key) ?? 0);
        if (delta > 0) this.inc(labels, delta);
        exported.set(key, Math.max(value, exported.get(key) ?? 0));
      }
    },
  });
}

/**
 * Every metric the agent exports, on its own registry (never prom-client's global one, which Next.js
 * may duplicate per bundle). The names the brief lists keep their upstream spelling so existing
 * dashboards keep working; each one is updated by the code that owns the state it measures.
 */
export class AgentMetrics {
  readonly registry = new Registry();

  /** 1 when registered and the control link is healthy, else 0. */
  readonly agentStatus = new Gauge({
    name: 'pipeops_agent_status',
    help: 'Agent status: 1 registered and connected to the control plane, 0 otherwise',
    registers: [this.registry],
  });
  readonly tunnelStatus = new Gauge({
    name: 'pipeops_tunnel_status',
    help: 'Tunnel status: 1 connected, 0 disconnected or disabled',
    registers: [this.registry],
  });
  readonly tunnelForwardsActive = new Gauge({
    name: 'pipeops_tunnel_forwards_active',
    help: 'Reverse forwards currently bound on the tunnel server',
    registers: [this.registry],
  });
  readonly heartbeats = new Counter({
    name: 'pipeops_heartbeat_total',
    help: 'Heartbeats acknowledged by the control plane, by transport',
    labelNames: ['transport'] as const,
    registers: [this.registry],
  });
  readonly heartbeatErrors = new Counter({
    name: 'pipeops_heartbeat_errors_total',
    help: 'Heartbeats that failed or were never acknowledged, by reason',
    labelNames: ['reason'] as const,
    registers: [this.registry],
  });
  readonly heartbeatRtt = new Histogram({
    name: 'pipeops_heartbeat_rtt_seconds',
    help: 'Round-trip time from heartbeat to heartbeat_ack',
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers: [this.registry],
  });
  readonly registrationAttempts = new Counter({
    name: 'pipeops_registration_attempts_total',
    help: 'Registration attempts, by result',
    labelNames: ['result'] as const,
    registers: [this.registry],
  });
  readonly reconnects = new Counter({
    name: 'pipeops_control_link_reconnects_total',
    help: 'Control-link reconnects, by the reason the previous link ended',
    labelNames: ['reason'] as const,
    registers: [this.registry],
  });
  readonly loopRestarts = new Counter({
    name: 'pipeops_loop_restarts_total',
    help: 'Long-running loops restarted by their supervisor after an unexpected error, by loop',
    labelNames: ['loop'] as const,
    registers: [this.registry],
  });
  readonly unhandledErrors = new Counter({
    name: 'pipeops_unhandled_errors_total',
    help: 'Unhandled promise rejections and uncaught exceptions caught by the process guard (bugs)',
    labelNames: ['kind'] as const,
    registers: [this.registry],
  });
  readonly identityReadFailures = new Counter({
    name: 'pipeops_identity_load_failures_total',
    help: 'Failed attempts to read or store the agent identity in the state ConfigMap, by kind',
    labelNames: ['kind'] as const,
    registers: [this.registry],
  });
  readonly rejectedMessages = new Counter({
    name: 'pipeops_control_messages_rejected_total',
    help: 'Control-plane messages or replies dropped because they failed validation',
    labelNames: ['reason'] as const,
    registers: [this.registry],
  });
  readonly httpRequests = new Counter({
    name: 'pipeops_http_requests_total',
    help: 'HTTP requests served by the agent, by route and status code',
    labelNames: ['route', 'status'] as const,
    registers: [this.registry],
  });
  /** Set by the TTL controller; read at scrape time by `pipeops_ttl_workloads`. */
  ttlSource: (() => Record<string, number>) | undefined;
  readonly ttlScaleDowns = new Counter({
    name: 'pipeops_ttl_scale_downs_total',
    help: 'Workloads the TTL controller scaled to zero after their TTL without activity',
    registers: [this.registry],
  });
  readonly ttlWakes = new Counter({
    name: 'pipeops_ttl_wakes_total',
    help: 'Workloads the agent woke (scaled back to their original replicas), by what asked for it',
    labelNames: ['source'] as const,
    registers: [this.registry],
  });
  readonly ttlWakeFailures = new Counter({
    name: 'pipeops_ttl_wake_failures_total',
    help: 'Wakes whose workload did not become ready in time (the held connection was refused), by reason',
    labelNames: ['reason'] as const,
    registers: [this.registry],
  });
  readonly ttlWakeDuration = new Histogram({
    name: 'pipeops_ttl_wake_duration_seconds',
    help: 'Cold start: from the scale-up to the first ready endpoint (or ready replica)',
    buckets: [0.25, 0.5, 1, 2, 3, 5, 10, 20, 30, 60, 120, 300],
    registers: [this.registry],
  });
  readonly ttlFlapsPrevented = new Counter({
    name: 'pipeops_ttl_flaps_prevented_total',
    help: 'Scale-downs delayed by the minimum uptime after a wake (the TTL alone would have flapped 1→0→1)',
    registers: [this.registry],
  });
  readonly ttlReconcileDuration = new Histogram({
    name: 'pipeops_ttl_reconcile_duration_seconds',
    help: 'Time the TTL controller spends deciding and acting on one workload (its loop duration)',
    buckets: [0.0005, 0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers: [this.registry],
  });
  readonly ttlWrites = new Counter({
    name: 'pipeops_ttl_api_writes_total',
    help: 'Kubernetes writes by the TTL controller, by kind (annotations, scale, event)',
    labelNames: ['kind'] as const,
    registers: [this.registry],
  });
  readonly ttlWorkloads = new Gauge({
    name: 'pipeops_ttl_workloads',
    help: 'Managed workloads with a TTL, by state (awake, asleep, skipped, invalid)',
    labelNames: ['state'] as const,
    registers: [this.registry],
    collect: () => {
      for (const [state, count] of Object.entries(this.ttlSource?.() ?? {})) {
        this.ttlWorkloads.set({ state }, count);
      }
    },
  });
  /** Set by the tunnel manager; read at scrape time by the per-forward metrics. */
  tunnelSource: (() => TunnelForwardCounters[]) | undefined;

  #forwardTotals(field: ForwardTotal): { labels: Record<string, string>; value: number }[] {
    return (this.tunnelSource?.() ?? []).map((forward) => ({
      labels: { forward: forward.name },
      value: forward[field],
    }));
  }

  readonly tunnelBytes = totalsCounter(
    this.registry,
    {
      name: 'pipeops_tunnel_bytes_total',
      help: 'Bytes carried by each tunnel forward; direction "in" is from the tunnel server to the local target',
      labelNames: ['forward', 'direction'],
    },
    () => [
      ...this.#forwardTotals('bytesIn').map((row) => ({ ...row, labels: { ...row.labels, direction: 'in' } })),
      ...this.#forwardTotals('bytesOut').map((row) => ({ ...row, labels: { ...row.labels, direction: 'out' } })),
    ],
  );
  readonly tunnelConnections = totalsCounter(
    this.registry,
    {
      name: 'pipeops_tunnel_connections_total',
      help: 'Connections carried by each tunnel forward',
      labelNames: ['forward'],
    },
    () => this.#forwardTotals('totalConnections'),
  );
  readonly tunnelRefused = totalsCounter(
    this.registry,
    {
      name: 'pipeops_tunnel_connection_errors_total',
      help: 'Tunnel channels refused or failed to dial, by forward',
      labelNames: ['forward'],
    },
    () => this.#forwardTotals('refusedConnections'),
  );
  readonly tunnelActiveConnections = new Gauge({
    name: 'pipeops_tunnel_connections_active',
    help: 'Open connections through each tunnel forward',
    labelNames: ['forward'] as const,
    registers: [this.registry],
    collect: () => {
      for (const forward of this.tunnelSource?.() ?? []) {
        this.tunnelActiveConnections.set({ forward: forward.name }, forward.activeConnections);
      }
    },
  });
  readonly leader = new Gauge({
    name: 'pipeops_agent_leader',
    help: '1 while this replica holds the leader Lease, else 0',
    registers: [this.registry],
  });

  constructor() {
    collectDefaultMetrics({ register: this.registry, prefix: 'pipeops_agent_process_' });
    this.agentStatus.set(0);
    this.tunnelStatus.set(0);
    this.tunnelForwardsActive.set(0);
    this.leader.set(0);
  }
}
