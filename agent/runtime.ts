import { EventEmitter } from 'node:events';
import { existsSync, readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { randomBytes } from 'node:crypto';
import { VersionApi, type KubeConfig } from '@kubernetes/client-node';
import type { RuntimeConfig } from './config/load';
import { fullJitterDelay, sleep } from './controlplane/backoff';
import { ControlLink, type LinkStatus } from './controlplane/control-link';
import type { HeartbeatPayload, RegisterRequest, RegisterResponse } from './controlplane/protocol';
import { RegistrationLoop, type RegistrationStatus } from './controlplane/registration';
import { ControlPlaneTransport } from './controlplane/transport';
import { findMissingPermissions, runtimePermissions, type MissingPermission } from './kubernetes/access-review';
import { ClusterCounts } from './kubernetes/cluster-counts';
import { describeKubeError } from './kubernetes/errors';
import { recordEvent } from './kubernetes/events';
import { LeaderElector, type LeaderStatus } from './leader/leader-elector';
import type { Logger, LogContext } from './logging/logger';
import type { AgentMetrics } from './metrics/agent-metrics';
import { ReasonLog } from './logging/reason-log';
import { IdentityLoadError, IdentityStore, type AgentIdentity, type LoadedIdentity } from './state/identity-store';
import { supervise } from './supervision/supervise';
import { resolveAgentNamespace } from './state/namespace';
import { resolveForwards, tunnelPortConfig, type ResolvedForwards } from './tunnel/forwards';
import { TunnelManager, type TunnelManagerStatus } from './tunnel/tunnel-manager';
import { TtlService, type TtlServiceStatus } from './ttl/ttl-service';
import { agentVersion } from './version';

/** Resolves once the signal has aborted, including when it already had. */
function abortedSignal(signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.resolve();
  return new Promise((resolve) => signal.addEventListener('abort', () => resolve(), { once: true }));
}

/** Kubernetes calls the runtime cannot start without (identity, version) retry on this policy. */
const kubernetesBackoff = { baseMs: 500, capMs: 10_000 };

const serviceAccountTokenFile = '/var/run/secrets/kubernetes.io/serviceaccount/token';

export type RuntimePhase = 'starting' | 'standby' | 'registering' | 'running' | 'stopping' | 'stopped';

export interface Readiness {
  ready: boolean;
  status: 'ready' | 'standby' | 'not_ready';
  reason: string;
}

export interface RuntimeSnapshot {
  phase: RuntimePhase;
  startedAt: string;
  agentVersion: string;
  clusterName: string;
  identity?: AgentIdentity & { source: LoadedIdentity['source']; persisted: boolean; persistError?: string };
  stateConfigMap: string;
  missingPermissions: MissingPermission[];
  registration: RegistrationStatus;
  link?: LinkStatus;
  leader: LeaderStatus | { identity: string; leader: true; disabled: true };
  kubernetes: { version?: string; nodes?: number; pods?: number; watching: boolean; lastError?: string };
  /** Undefined while the tunnel is disabled by config or this replica is not the leader. */
  tunnel?: TunnelManagerStatus;
  tunnelEnabled: boolean;
  /** Undefined while TTL is disabled by config or this replica is not the leader. */
  ttl?: TtlServiceStatus;
  ttlEnabled: boolean;
  readiness: Readiness;
}

export interface RuntimeDeps {
  config: RuntimeConfig;
  kc: KubeConfig;
  logger: Logger;
  logContext: LogContext;
  metrics: AgentMetrics;
  /** Defaults to process.env; decides the in-cluster Kubernetes API tunnel target. */
  env?: Record<string, string | undefined>;
}

/**
 * The agent runtime: identity first, then (on the leader only) registration, and only with a cluster_id
 * the heartbeat link and cluster watches. Every stage reports its state for /ready, /api/health/detailed
 * and the dashboard; nothing here throws out of the process.
 */
export class AgentRuntime {
  readonly events = new EventEmitter();
  readonly #deps: RuntimeDeps;
  readonly #logger: Logger;
  readonly #store: IdentityStore;
  readonly #transport: ControlPlaneTransport;
  readonly #registration: RegistrationLoop;
  readonly #counts: ClusterCounts;
  readonly #elector: LeaderElector | undefined;
  readonly #replicaIdentity: string;
  readonly #abort = new AbortController();
  readonly #startedAt = new Date().toISOString();
  #main: Promise<void> | undefined;
  #phase: RuntimePhase = 'starting';
  #identity: LoadedIdentity | undefined;
  /** Why the identity is not loaded yet (the last failure); undefined once loaded. */
  #identityError: IdentityLoadError | undefined;
  #identityForbiddenLogged: string | undefined;
  #missing: MissingPermission[] = [];
  #link: ControlLink | undefined;
  #tunnel: TunnelManager | undefined;
  #ttl: TtlService | undefined;
  readonly #forwards: ResolvedForwards;
  #k8sVersion: string | undefined;
  #kubernetesError: string | undefined;

  constructor(deps: RuntimeDeps) {
    this.#deps = deps;
    this.#logger = deps.logger;
    const { config } = deps;
    const namespace = resolveAgentNamespace(config.kubernetes.state.namespace, config.agent.pod_namespace);
    this.#store = new IdentityStore(
      deps.kc,
      { namespace, configMapName: config.kubernetes.state.configmap_name, enabled: config.kubernetes.state.enabled },
      deps.logger,
    );
    this.#transport = new ControlPlaneTransport(config);
    this.#registration = new RegistrationLoop({
      transport: this.#transport,
      buildRequest: () => this.#registerRequest(),
      backoff: { baseMs: config.pipeops.reconnect.base, capMs: config.pipeops.reconnect.max },
      rejectedRetryMs: config.pipeops.reconnect.rejected_retry,
      logger: deps.logger,
      metrics: deps.metrics,
      onStatus: () => this.#changed(),
    });
    this.#counts = new ClusterCounts(deps.kc, deps.logger);
    this.#forwards = config.tunnel.enabled
      ? resolveForwards(config.tunnel, {
          env: deps.env ?? process.env,
          kc: deps.kc,
          nodeIp: config.agent.node_ip,
          agentPort: config.agent.port,
        })
      : { forwards: [], skipped: [] };
    this.#replicaIdentity = `${config.agent.pod_name ?? hostname()}-${randomBytes(3).toString('hex')}`;
    this.#elector = config.kubernetes.leader_election.enabled
      ? new LeaderElector(
          deps.kc,
          {
            namespace,
            name: config.kubernetes.leader_election.lease_name,
            identity: this.#replicaIdentity,
            leaseDurationMs: config.kubernetes.leader_election.lease_duration,
            renewDeadlineMs: config.kubernetes.leader_election.renew_deadline,
            retryPeriodMs: config.kubernetes.leader_election.retry_period,
            metrics: deps.metrics,
          },
          {
            onStartedLeading: (signal) => this.#lead(signal),
            onStoppedLeading: () => {
              if (this.#phase !== 'stopping') this.#setPhase('standby');
            },
            onNewLeader: () => this.#changed(),
          },
          deps.logger,
        )
      : undefined;
  }

  start(): void {
    if (this.#deps.config.pipeops.tls.insecure_skip_verify) {
      this.#logger.warn(
        'TLS certificate verification of the control plane is DISABLED (pipeops.tls.insecure_skip_verify)',
      );
    }
    this.#main ??= supervise('runtime', (signal) => this.#run(signal), {
      logger: this.#logger,
      metrics: this.#deps.metrics,
      signal: this.#abort.signal,
    }).then(() => undefined);
  }

  #changed(): void {
    this.#deps.metrics.agentStatus.set(this.#link?.healthy() ? 1 : 0);
    this.events.emit('change');
  }

  #setPhase(phase: RuntimePhase): void {
    this.#phase = phase;
    this.#deps.metrics.leader.set(phase === 'registering' || phase === 'running' ? 1 : 0);
    this.#changed();
  }

  async #run(signal: AbortSignal): Promise<void> {
    this.#identity ??= await this.#loadIdentity(signal);
    if (!this.#identity) return;
    this.#deps.logContext.agent_id = this.#identity.identity.agentId;
    this.#deps.logContext.cluster_id = this.#identity.identity.clusterId;
    await this.#checkPermissions();
    if (this.#elector) {
      this.#setPhase('standby');
      this.#elector.start();
    } else {
      await supervise('registration', (leading) => this.#lead(leading), {
        logger: this.#logger,
        metrics: this.#deps.metrics,
        signal,
      });
    }
  }

  /**
   * Runs a Kubernetes call until it succeeds (or the runtime stops), backing off with jitter; each failure
   * is kept as the Kubernetes hop's last error for /ready and /api/health/detailed.
   */
  async #retryKubernetes<T>(what: string, action: () => Promise<T>, signal: AbortSignal): Promise<T | undefined> {
    for (let attempt = 0; !signal.aborted; attempt++) {
      try {
        const result = await action();
        this.#kubernetesError = undefined;
        return result;
      } catch (error) {
        this.#kubernetesError = describeKubeError(error);
        this.#logger.warn({ err: this.#kubernetesError }, `Kubernetes API not reachable; retrying ${what}`);
        this.#changed();
        await sleep(fullJitterDelay(attempt, kubernetesBackoff), signal);
      }
    }
    return undefined;
  }

  /**
   * Reads the stored identity, or creates and stores it once. Until one of those succeeds nothing else
   * starts (no leadership, registration, heartbeat, tunnel or TTL): a failed read — a 503 `leader changed`,
   * a dropped connection, an unusable kubeconfig — is retried with capped full-jitter backoff and logged
   * with its real cause. It never means "no identity", so a transient error cannot mint a new agent_id.
   */
  async #loadIdentity(signal: AbortSignal): Promise<LoadedIdentity | undefined> {
    const failures = new ReasonLog({
      logger: this.#logger,
      level: 'warn',
      message: 'Agent identity not loaded yet - retrying; nothing starts until it is read or stored',
    });
    for (let attempt = 0; !signal.aborted; attempt++) {
      try {
        const loaded = await this.#store.loadOrCreate(this.#deps.config.agent.id);
        this.#identityError = undefined;
        return loaded;
      } catch (error) {
        const failure =
          error instanceof IdentityLoadError ? error : new IdentityLoadError('read', this.#store.location, error);
        this.#identityError = failure;
        this.#deps.metrics.identityReadFailures.inc({ kind: failure.kind });
        const delay = fullJitterDelay(attempt, kubernetesBackoff);
        if (failure.kind === 'forbidden') await this.#identityForbidden(failure, delay);
        else failures.report(failure.message, { kind: failure.kind, stage: failure.stage, retry_in_ms: delay });
        this.#changed();
        await sleep(delay, signal);
      }
    }
    return undefined;
  }

  /** A 403 on the state ConfigMap: the seed's CRITICAL line with the RBAC hint, once, and the missing verbs. */
  async #identityForbidden(failure: IdentityLoadError, delay: number): Promise<void> {
    if (this.#identityForbiddenLogged === failure.message) return;
    this.#identityForbiddenLogged = failure.message;
    this.#logger.error(
      { err: failure.message, state: this.#store.location, retry_in_ms: delay },
      'CRITICAL: Failed to persist agent ID to state - the agent does not register until it can read and store its identity',
    );
    this.#logger.error(
      `Check RBAC permissions for ConfigMap get/create/update in namespace ${this.#namespace()} (Role bound to the agent's ServiceAccount)`,
    );
    await this.#checkPermissions();
  }

  #namespace(): string {
    return resolveAgentNamespace(this.#deps.config.kubernetes.state.namespace, this.#deps.config.agent.pod_namespace);
  }

  async #checkPermissions(): Promise<void> {
    const namespace = resolveAgentNamespace(
      this.#deps.config.kubernetes.state.namespace,
      this.#deps.config.agent.pod_namespace,
    );
    try {
      this.#missing = await findMissingPermissions(
        this.#deps.kc,
        runtimePermissions(namespace, this.#deps.config.kubernetes.leader_election.enabled),
      );
    } catch (error) {
      this.#logger.warn({ err: describeKubeError(error) }, 'could not check the agent RBAC (SelfSubjectAccessReview)');
      return;
    }
    for (const missing of this.#missing) {
      this.#logger.error(
        { permission: missing.description, needed_for: missing.neededFor },
        `RBAC: missing permission "${missing.description}" (needed for ${missing.neededFor})`,
      );
    }
  }

  async #kubernetesVersion(signal: AbortSignal): Promise<string | undefined> {
    const version = await this.#retryKubernetes(
      'version lookup',
      () => this.#deps.kc.makeApiClient(VersionApi).getCode(),
      signal,
    );
    this.#k8sVersion = version?.gitVersion;
    return this.#k8sVersion;
  }

  /**
   * Everything only the leader does; returns when leadership is lost or the runtime stops. Whatever it
   * started is stopped on the way out, also when it fails and its supervisor runs it again.
   */
  async #lead(signal: AbortSignal): Promise<void> {
    this.#setPhase('registering');
    try {
      if (!(await this.#kubernetesVersion(signal))) return;
      const registered = await this.#register(signal);
      if (!registered) return;
      await this.#counts.start();
      const link = this.#createLink();
      this.#link = link;
      link.start();
      // TTL before the tunnel: the first tunnelled connection may need to wake a workload.
      this.#ttl = this.#createTtl();
      await this.#ttl?.start();
      this.#tunnel = this.#createTunnel();
      this.#tunnel?.start();
      this.#setPhase('running');
      await abortedSignal(signal);
    } finally {
      await this.#stopLeaderWork();
    }
  }

  async #stopLeaderWork(): Promise<void> {
    await this.#tunnel?.stop();
    this.#tunnel = undefined;
    await this.#ttl?.stop();
    this.#ttl = undefined;
    if (this.#link) {
      await this.#link.stop();
      await this.#counts.stop();
    }
    this.#link = undefined;
    this.#changed();
  }

  async #register(signal: AbortSignal): Promise<RegisterResponse | undefined> {
    const response = await this.#registration.run(signal);
    if (!response || !this.#identity) return undefined;
    const identity = this.#identity.identity;
    const changed = identity.clusterId !== response.cluster_id || identity.clusterUuid !== response.cluster_uuid;
    if (identity.clusterId && identity.clusterId !== response.cluster_id) {
      this.#logger.warn(
        { stored: identity.clusterId, returned: response.cluster_id },
        'Control plane returned a different cluster_id - updating state',
      );
    }
    const mode = identity.clusterId ? 'resume' : 'fresh';
    identity.clusterId = response.cluster_id;
    identity.clusterUuid = response.cluster_uuid;
    this.#deps.logContext.cluster_id = response.cluster_id;
    if (changed && this.#identity.persisted) await this.#store.saveCluster(identity);
    await this.#recordRegistration(mode, changed, response);
    this.#changed();
    return response;
  }

  /** An Event on the state ConfigMap per registration: `doctor` counts them to spot re-registration loops. */
  async #recordRegistration(mode: 'fresh' | 'resume', changed: boolean, response: RegisterResponse): Promise<void> {
    const [namespace = '', name = ''] = this.#store.location.split('/');
    const error = await recordEvent(this.#deps.kc, {
      namespace,
      involvedObject: { apiVersion: 'v1', kind: 'ConfigMap', name, namespace },
      reason: mode === 'fresh' ? 'AgentRegistered' : 'AgentReregistered',
      message: `agent ${this.#identity?.identity.agentId ?? ''} registered (${mode}) as cluster ${response.cluster_id}${changed ? '' : ', identity unchanged'}`,
    });
    if (error) this.#logger.debug({ err: error }, 'registration Event not written');
  }

  #createLink(): ControlLink {
    const { config } = this.#deps;
    return new ControlLink({
      transport: this.#transport,
      heartbeatIntervalMs: config.agent.heartbeat_interval,
      backoff: { baseMs: config.pipeops.reconnect.base, capMs: config.pipeops.reconnect.max },
      rejectedRetryMs: config.pipeops.reconnect.rejected_retry,
      clusterUuid: () => this.#identity?.identity.clusterUuid ?? '',
      buildHeartbeat: () => this.#heartbeat(),
      onClusterUnknown: async (signal) => {
        this.#logger.warn('Re-registering with the same cluster_id after the control plane lost it');
        await this.#register(signal);
      },
      onChange: () => this.#changed(),
      logger: this.#logger,
      metrics: this.#deps.metrics,
    });
  }

  #createTtl(): TtlService | undefined {
    const { config } = this.#deps;
    if (!config.ttl.enabled) return undefined;
    return new TtlService({
      kc: this.#deps.kc,
      logger: this.#logger,
      metrics: this.#deps.metrics,
      config: config.ttl,
      forwards: this.#forwards.forwards,
      activeConnections: (forward) =>
        this.#tunnel?.status().forwards.find((row) => row.name === forward)?.activeConnections ?? 0,
    });
  }

  #createTunnel(): TunnelManager | undefined {
    const { config } = this.#deps;
    if (!config.tunnel.enabled) return undefined;
    for (const skipped of this.#forwards.skipped) {
      this.#logger.warn({ forward: skipped.name, reason: skipped.reason }, 'default tunnel forward skipped');
    }
    return new TunnelManager({
      transport: this.#transport,
      agentId: () => this.#identity?.identity.agentId ?? '',
      forwards: this.#forwards.forwards,
      skipped: this.#forwards.skipped,
      inactivityTimeoutMs: config.tunnel.inactivity_timeout,
      keepaliveMs: config.tunnel.keepalive,
      remoteBindHost: config.tunnel.remote_bind_host,
      allowUnpinnedHostKey: config.tunnel.allow_unpinned_host_key,
      tls: this.#transport.tlsOptions(),
      // Wake on connect: a connection to a sleeping TTL workload is held until it is ready.
      beforeDial: (route, signal) => this.#ttl?.coordinator.beforeDial(route, signal) ?? Promise.resolve(),
      logger: this.#logger,
      metrics: this.#deps.metrics,
      onChange: () => this.#changed(),
    });
  }

  #heartbeat(): HeartbeatPayload {
    const identity = this.#identity?.identity;
    return {
      cluster_id: identity?.clusterId ?? '',
      agent_id: identity?.agentId ?? '',
      status: this.#counts.synced ? 'healthy' : 'degraded',
      tunnel_status: this.#tunnel?.heartbeatStatus() ?? 'disabled',
      metadata: {
        k8s_nodes: this.#counts.nodes,
        k8s_pods: this.#counts.pods,
        agent_version: agentVersion,
        k8s_version: this.#k8sVersion ?? '',
        replica: this.#replicaIdentity,
      },
    };
  }

  async #registerRequest(): Promise<RegisterRequest> {
    const { config } = this.#deps;
    const identity = this.#identity?.identity;
    const tunnelPorts = tunnelPortConfig(this.#forwards.forwards);
    return {
      agent_id: identity?.agentId ?? '',
      name: config.agent.cluster_name,
      k8s_version: this.#k8sVersion ?? '',
      hostname: config.agent.pod_name ?? hostname(),
      agent_version: agentVersion,
      k8s_service_token: existsSync(/* turbopackIgnore: true */ serviceAccountTokenFile)
        ? readFileSync(/* turbopackIgnore: true */ serviceAccountTokenFile, 'utf8').trim()
        : '',
      tunnel_port_config: tunnelPorts,
      labels: { ...config.agent.labels, 'agent.pipeops.io/version': agentVersion },
      ...(identity?.clusterId ? { cluster_id: identity.clusterId } : {}),
      metadata: {
        registration_mode: identity?.clusterId ? 'resume' : 'fresh',
        registration_timestamp: new Date().toISOString(),
        ...(config.agent.node_name ? { node_name: config.agent.node_name } : {}),
      },
    };
  }

  readiness(): Readiness {
    const notReady = (reason: string): Readiness => ({ ready: false, status: 'not_ready', reason });
    if (this.#phase === 'stopping' || this.#phase === 'stopped') return notReady('shutting down');
    if (!this.#identity) return notReady(this.#identityWaitReason());
    if (this.#phase === 'standby') {
      const holder = this.#elector?.status().holder;
      return { ready: true, status: 'standby', reason: `standby replica; leader is ${holder ?? 'not elected yet'}` };
    }
    return this.#leaderReadiness(notReady);
  }

  /** Why the runtime still waits for its identity; it starts nothing else until it has one. */
  #identityWaitReason(): string {
    const failure = this.#identityError;
    const location = this.#store.location;
    if (!failure) return `loading identity from ${location}`;
    if (failure.kind === 'forbidden') {
      const missing = this.#missing.map((m) => m.description).join(', ');
      return `identity not persisted in ${location} (${failure.message})${missing ? `; missing RBAC: ${missing}` : ''}; not registering until it is`;
    }
    return `waiting for the identity in ${location}: ${failure.message}; retrying`;
  }

  #leaderReadiness(notReady: (reason: string) => Readiness): Readiness {
    const registration = this.#registration.status;
    if (registration.state === 'rejected') return notReady(`rejected — invalid token: ${registration.reason}`);
    if (registration.state === 'pending') {
      return notReady(`registration pending${registration.lastError ? `: ${registration.lastError}` : ''}`);
    }
    const link = this.#link;
    if (!link) return notReady('starting the control link');
    if (!link.healthy()) {
      const status = link.status();
      const detail = status.lastError ? `: ${status.lastError}` : '';
      return notReady(
        status.state === 'connected'
          ? `control link connected but no heartbeat_ack for ${link.deadAfterMs / 1000}s${detail}`
          : `control link ${status.state}${detail}`,
      );
    }
    return { ready: true, status: 'ready', reason: 'registered and connected to the control plane' };
  }

  snapshot(): RuntimeSnapshot {
    const identity = this.#identity;
    return {
      phase: this.#phase,
      startedAt: this.#startedAt,
      agentVersion,
      clusterName: this.#deps.config.agent.cluster_name,
      identity: identity && {
        ...identity.identity,
        source: identity.source,
        persisted: identity.persisted,
        persistError: identity.persistError,
      },
      stateConfigMap: this.#store.location,
      missingPermissions: this.#missing,
      registration: this.#registration.status,
      link: this.#link?.status(),
      leader: this.#elector?.status() ?? { identity: this.#replicaIdentity, leader: true, disabled: true },
      kubernetes: {
        version: this.#k8sVersion,
        nodes: this.#link ? this.#counts.nodes : undefined,
        pods: this.#link ? this.#counts.pods : undefined,
        watching: this.#link !== undefined && this.#counts.synced,
        lastError: this.#counts.lastError ?? this.#kubernetesError,
      },
      tunnel: this.#tunnel?.status(),
      tunnelEnabled: this.#deps.config.tunnel.enabled,
      ttl: this.#ttl?.status(),
      ttlEnabled: this.#deps.config.ttl.enabled,
      readiness: this.readiness(),
    };
  }

  /** Readiness fails first, then the link, watches and Lease are released; bounded by the caller. */
  async stop(): Promise<void> {
    if (this.#phase === 'stopped') return;
    this.#setPhase('stopping');
    this.#abort.abort();
    await this.#elector?.stop();
    await this.#main;
    this.#transport.close();
    this.#setPhase('stopped');
  }
}
