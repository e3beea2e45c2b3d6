import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

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
