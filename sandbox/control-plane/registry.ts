import { randomBytes, randomUUID } from 'node:crypto';
import type {
  HeartbeatPayload,
  RegisterRequest,
  TunnelStatus,
  TunnelStatusResponse,
} from '../../agent/controlplane/protocol';
import type { ClusterRecord, StateStore } from './state';
import { allocatePorts, systemPortProbe, type PortProbe, type TunnelPortSource } from './tunnel-ports';

/** The most forwards one cluster may ask for (the tunnel-status reply carries at most this many). */
export const maxForwards = 64;

export { PortsExhaustedError } from './tunnel-ports';

export type HeartbeatOutcome =
  | { kind: 'ok'; cluster: ClusterRecord }
  | { kind: 'cluster_not_found' }
  | { kind: 'agent_mismatch'; cluster: ClusterRecord };

export interface RegistryConfig {
  tunnelPortRange: TunnelPortSource;
  tunnelServerAddr: string;
  tunnelServerFingerprint: string;
  tunnelDefaultStatus: TunnelStatus;
  tunnelPollFrequencySeconds: number;
}

function nowIso(): string {
  return new Date().toISOString();
}

function newCluster(clusterId: string, request: RegisterRequest, now: string, status: TunnelStatus): ClusterRecord {
  return {
    cluster_id: clusterId,
    cluster_uuid: clusterId,
    agent_id: request.agent_id,
    name: request.name,
    registrations: 0,
    registered_at: now,
    last_registered_at: now,
    registration: registrationFields(request),
    heartbeats: 0,
    last_heartbeat_at: null,
    last_heartbeat_via: null,
    last_heartbeat: null,
    last_pong_at: null,
    tunnel: {
      status,
      ports: {},
      user: `cp-${randomBytes(6).toString('hex')}`,
      password: randomBytes(24).toString('base64url'),
    },
  };
}

function registrationFields(request: RegisterRequest): ClusterRecord['registration'] {
  return {
    k8s_version: request.k8s_version,
    hostname: request.hostname,
    agent_version: request.agent_version,
    labels: request.labels,
    metadata: request.metadata,
    tunnel_port_config: request.tunnel_port_config,
    k8s_service_token_present: request.k8s_service_token.length > 0,
    k8s_service_token_length: request.k8s_service_token.length,
  };
}

/** The clusters the control plane knows and what they did; all mutations but registration are synchronous. */
export class Registry {
  /** Registrations run one at a time: each allocation must see the ports of the one before. */
  private registering: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly store: StateStore,
    private readonly config: RegistryConfig,
    private readonly probe: PortProbe = systemPortProbe,
  ) {}

  list(): ClusterRecord[] {
    return [...this.store.clusters.values()];
  }

  get(clusterId: string): ClusterRecord | undefined {
    return this.store.clusters.get(clusterId) ?? this.list().find((c) => c.cluster_uuid === clusterId);
  }

  /** The cluster an agent registered last. */
  findByAgent(agentId: string): ClusterRecord | undefined {
    let found: ClusterRecord | undefined;
    for (const cluster of this.store.clusters.values()) {
      if (cluster.agent_id !== agentId) continue;
      if (!found || cluster.last_registered_at > found.last_registered_at) found = cluster;
    }
    return found;
  }

  /**
   * Idempotent registration: a given cluster_id is kept (recreated with that id when unknown), else the
   * agent's existing cluster, else a new one. Rejects with PortsExhaustedError without changing anything.
   */
  register(request: RegisterRequest): Promise<ClusterRecord> {
    const result = this.registering.then(() => this.registerNow(request));
    this.registering = result.catch(() => undefined);
    return result;
  }

  private async registerNow(request: RegisterRequest): Promise<ClusterRecord> {
    const now = nowIso();
    const existing = request.cluster_id ? this.get(request.cluster_id) : this.findByAgent(request.agent_id);
    const base =
      existing ?? newCluster(request.cluster_id ?? randomUUID(), request, now, this.config.tunnelDefaultStatus);
    const names = Object.keys(request.tunnel_port_config);
    const ports = await allocatePorts(
      { existing: base.tunnel.ports, names, used: this.usedPorts(base) },
      this.config.tunnelPortRange,
      this.probe,
    );
    const cluster: ClusterRecord = {
      ...base,
      agent_id: request.agent_id,
      name: request.name,
      registrations: base.registrations + 1,
      last_registered_at: now,
      registration: registrationFields(request),
      tunnel: { ...base.tunnel, ports },
    };
    this.store.clusters.set(cluster.cluster_id, cluster);
    return cluster;
  }

  recordHeartbeat(payload: HeartbeatPayload, via: 'websocket' | 'http'): HeartbeatOutcome {
    const cluster = this.get(payload.cluster_id);
    if (!cluster) return { kind: 'cluster_not_found' };
    if (cluster.agent_id !== payload.agent_id) return { kind: 'agent_mismatch', cluster };
    cluster.heartbeats += 1;
    cluster.last_heartbeat_at = nowIso();
    cluster.last_heartbeat_via = via;
    cluster.last_heartbeat = payload;
    this.store.markDirty();
    return { kind: 'ok', cluster };
  }

  recordPong(clusterId: string): void {
    const cluster = this.get(clusterId);
    if (!cluster) return;
    cluster.last_pong_at = nowIso();
    this.store.markDirty();
  }

  /** Forwards of the cluster's current tunnel_port_config with their allocated remote ports. */
  forwards(cluster: ClusterRecord): TunnelStatusResponse['forwards'] {
    return Object.keys(cluster.registration.tunnel_port_config).flatMap((name) => {
      const port = cluster.tunnel.ports[name];
      return port === undefined ? [] : [{ name, remote_port: port }];
    });
  }

  tunnelStatus(agentId: string): TunnelStatusResponse | undefined {
    const cluster = this.findByAgent(agentId);
    if (!cluster) return undefined;
    return {
      status: cluster.tunnel.status,
      forwards: this.forwards(cluster),
      credentials: Buffer.from(`${cluster.tunnel.user}:${cluster.tunnel.password}`).toString('base64'),
      poll_frequency: this.config.tunnelPollFrequencySeconds,
      tunnel_server_addr: this.config.tunnelServerAddr,
      server_fingerprint: this.config.tunnelServerFingerprint,
    };
  }

  /** False when the agent is unknown. */
  setTunnelStatus(agentId: string, status: TunnelStatus): boolean {
    const cluster = this.findByAgent(agentId);
    if (!cluster) return false;
    cluster.tunnel.status = status;
    return true;
  }

  /** False when the cluster is unknown. */
  forget(clusterId: string): boolean {
    const cluster = this.get(clusterId);
    if (!cluster) return false;
    this.store.clusters.delete(cluster.cluster_id);
    return true;
  }

  private usedPorts(except: ClusterRecord): Set<number> {
    const used = new Set<number>();
    for (const cluster of this.store.clusters.values()) {
      if (cluster.cluster_id === except.cluster_id) continue;
      for (const port of Object.values(cluster.tunnel.ports)) used.add(port);
    }
    return used;
  }
}
