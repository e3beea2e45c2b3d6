import { fullJitterDelay, sleep } from '../controlplane/backoff';
import {
  describeIssues,
  maxMessageBytes,
  tunnelStatusResponseSchema,
  type TunnelStatus,
  type TunnelStatusResponse,
} from '../controlplane/protocol';
import { TransportError, type ControlPlaneTransport } from '../controlplane/transport';
import type { Logger } from '../logging/logger';
import type { AgentMetrics } from '../metrics/agent-metrics';
import { ReasonLog } from '../logging/reason-log';
import { supervise } from '../supervision/supervise';
import { ChiselClient, type ChiselClientOptions, type TunnelStatus as ClientStatus } from './chisel-client';
import { remotesProblem, targetKey, type ChiselRemote, type TunnelTarget } from './chisel-wire';
import type { SkippedForward, TunnelForward } from './forwards';

export type TunnelManagerState =
  'disabled' | 'idle' | 'inactive' | 'waiting' | 'connecting' | 'connected' | 'backoff' | 'failed';

export type ForwardState = 'bound' | 'connecting' | 'down' | 'waiting-for-port' | 'skipped';

/** One row of the dashboard's tunnel table; counters are totals since the agent started. */
export interface TunnelForwardRow {
  name: string;
  target: string;
  source: TunnelForward['source'] | 'skipped';
  remotePort?: number;
  state: ForwardState;
  reason?: string;
  bytesIn: number;
  bytesOut: number;
  activeConnections: number;
  totalConnections: number;
  refusedConnections: number;
}

export interface TunnelManagerStatus {
  state: TunnelManagerState;
  reason: string;
  controlPlaneStatus?: TunnelStatus;
  serverAddr?: string;
  fingerprint?: string;
  lastPollAt?: string;
  lastPollError?: string;
  pollFrequencySeconds: number;
  connectedSince?: string;
  lastActivityAt?: string;
  inactivityTimeoutMs: number;
  sessions: number;
  reconnects: number;
  forwards: TunnelForwardRow[];
  errors: ClientStatus['errors'];
}

export interface TunnelManagerOptions {
  transport: ControlPlaneTransport;
  agentId: () => string;
  forwards: TunnelForward[];
  skipped: SkippedForward[];
  inactivityTimeoutMs: number;
  keepaliveMs: number;
  remoteBindHost?: string;
  allowUnpinnedHostKey: boolean;
  tls: ChiselClientOptions['tls'];
  beforeDial?: ChiselClientOptions['beforeDial'];
  logger: Logger;
  metrics: AgentMetrics;
  onChange: () => void;
}

/** Everything a tunnel session is built from; a change in any of it means a new session. */
interface SessionSpec {
  serverAddr: string;
  fingerprint: string;
  auth: string;
  remotes: ChiselRemote[];
  key: string;
}

type Totals = Pick<TunnelForwardRow, 'bytesIn' | 'bytesOut' | 'totalConnections' | 'refusedConnections'>;

const defaultPollSeconds = 5;
/** After a fatal tunnel error (bad credentials, host key mismatch) the same settings are retried on this backoff. */
const fatalRetryBackoff = { baseMs: 5_000, capMs: 60_000 };
/** A failing poll backs off from the poll interval up to this. */
const pollRetryCapMs = 60_000;
const trafficChangeThrottleMs = 1_000;

function zeroTotals(): Totals {
  return { bytesIn: 0, bytesOut: 0, totalConnections: 0, refusedConnections: 0 };
}

function addTotals(a: Totals, b: Totals): Totals {
  return {
    bytesIn: a.bytesIn + b.bytesIn,
    bytesOut: a.bytesOut + b.bytesOut,
    totalConnections: a.totalConnections + b.totalConnections,
    refusedConnections: a.refusedConnections + b.refusedConnections,
  };
}

/** `user:pass` from the status reply's base64 credentials; undefined when it is not that. */
export function decodeCredentials(credentials: string): string | undefined {
  const decoded = Buffer.from(credentials, 'base64').toString('utf8');
  return decoded.includes(':') && !decoded.includes('\n') ? decoded : undefined;
}

/**
 * Keeps the reverse tunnel in the state the control plane asks for. It polls `GET /api/v1/tunnel/status`
 * every `poll_frequency` seconds: IDLE closes the tunnel, REQUIRED opens it (and counts as demand, so the
 * inactivity clock restarts), ACTIVE keeps an open tunnel open. With no traffic for the inactivity timeout
 * the tunnel closes and stays closed until the control plane says REQUIRED again. A failing poll leaves the
 * tunnel as it is: a control-plane hiccup must not cut connections that work.
 */
export class TunnelManager {
  readonly #options: TunnelManagerOptions;
  readonly #abort = new AbortController();
  readonly #carried = new Map<string, Totals>();
  #loop: Promise<void> | undefined;
  #client: ChiselClient | undefined;
  #spec: SessionSpec | undefined;
  #reply: TunnelStatusResponse | undefined;
  #state: TunnelManagerState = 'idle';
  #reason = 'waiting for the first tunnel status poll';
  #closedForInactivity = false;
  #fatalAt = 0;
  #fatalRetryMs = 0;
  #fatalCount = 0;
  #pollFailures = 0;
  #lastPollAt: string | undefined;
  #lastPollError: string | undefined;
  #lastActivity = Date.now();
  #lastTraffic = -1;
  #lastChangeAt = 0;
  #sessionsBefore = 0;
  #reconnectsBefore = 0;

  readonly #pollLog: ReasonLog;

  constructor(options: TunnelManagerOptions) {
    this.#options = options;
    this.#pollLog = new ReasonLog({ logger: options.logger, level: 'warn', message: 'tunnel status poll failed' });
    options.metrics.tunnelSource = (): TunnelForwardRow[] => this.status().forwards;
  }

  start(): void {
    this.#loop ??= supervise('tunnel', (signal) => this.#run(signal), {
      logger: this.#options.logger,
      metrics: this.#options.metrics,
      signal: this.#abort.signal,
    }).then(() => undefined);
  }

  async stop(): Promise<void> {
    this.#abort.abort();
    await this.#loop;
    await this.#closeClient('agent stopping', 'idle');
    this.#options.metrics.tunnelStatus.set(0);
    this.#options.metrics.tunnelForwardsActive.set(0);
  }

  /** What the heartbeat reports. */
  heartbeatStatus(): 'connected' | 'disconnected' {
    return this.#state === 'connected' ? 'connected' : 'disconnected';
  }

  status(): TunnelManagerStatus {
    const client = this.#client?.status();
    const reply = this.#reply;
    return {
      state: this.#state,
      reason: this.#reason,
      controlPlaneStatus: reply?.status,
      serverAddr: this.#spec?.serverAddr,
      fingerprint: this.#spec?.fingerprint || undefined,
      lastPollAt: this.#lastPollAt,
      lastPollError: this.#lastPollError,
      pollFrequencySeconds: reply ? reply.poll_frequency : defaultPollSeconds,
      lastActivityAt: new Date(this.#lastActivity).toISOString(),
      inactivityTimeoutMs: this.#options.inactivityTimeoutMs,
      ...this.#sessionFields(client),
      forwards: this.#rows(client),
    };
  }

  #sessionFields(
    client: ClientStatus | undefined,
  ): Pick<TunnelManagerStatus, 'connectedSince' | 'sessions' | 'reconnects' | 'errors'> {
    return {
      connectedSince: client?.connectedSince,
      sessions: this.#sessionsBefore + (client?.sessions ?? 0),
      reconnects: this.#reconnectsBefore + (client?.reconnects ?? 0),
      errors: client?.errors ?? [],
    };
  }

  #rows(client: ClientStatus | undefined): TunnelForwardRow[] {
    const live = new Map((client?.forwards ?? []).map((forward) => [forward.name, forward]));
    const ports = this.#allocatedPorts();
    const rows: TunnelForwardRow[] = this.#options.forwards.map((forward) => {
      const current = live.get(forward.name);
      const totals = addTotals(this.#carried.get(forward.name) ?? zeroTotals(), current ?? zeroTotals());
      const remotePort = ports.get(forward.name);
      return {
        name: forward.name,
        target: targetKey(forward.target),
        source: forward.source,
        remotePort,
        state: this.#forwardState(remotePort, current !== undefined),
        ...totals,
        activeConnections: current?.activeConnections ?? 0,
      };
    });
    const skipped = this.#options.skipped.map((skip): TunnelForwardRow => ({
      name: skip.name,
      target: '',
      source: 'skipped',
      state: 'skipped',
      reason: skip.reason,
      ...zeroTotals(),
      activeConnections: 0,
    }));
    return [...rows, ...skipped];
  }

  #forwardState(remotePort: number | undefined, inSession: boolean): ForwardState {
    if (remotePort === undefined) return 'waiting-for-port';
    if (!inSession) return 'down';
    return this.#state === 'connected' ? 'bound' : 'connecting';
  }

  #allocatedPorts(): Map<string, number> {
    const allocated = new Map((this.#reply?.forwards ?? []).map((forward) => [forward.name, forward.remote_port]));
    const ports = new Map<string, number>();
    for (const forward of this.#options.forwards) {
      const port = forward.fixedRemotePort || allocated.get(forward.name);
      if (port) ports.set(forward.name, port);
    }
    return ports;
  }

  /** A failed poll backs off (capped full jitter, starting at the poll interval); the tunnel stays as it is. */
  async #run(signal: AbortSignal): Promise<void> {
    while (!signal.aborted) {
      const polled = await this.#pollOnce();
      this.#pollFailures = polled ? 0 : this.#pollFailures + 1;
      await this.#reconcile();
      await this.#checkInactivity();
      const every = (this.#reply?.poll_frequency ?? defaultPollSeconds) * 1000;
      const next = polled
        ? every
        : fullJitterDelay(this.#pollFailures - 1, { baseMs: every, capMs: Math.max(every, pollRetryCapMs) });
      await sleep(this.#state === 'connected' ? Math.min(next, this.#inactivityTick()) : next, signal);
    }
  }

  /** Inactivity is checked between polls too, so a long poll interval does not stretch the timeout much. */
  #inactivityTick(): number {
    return Math.max(250, Math.min(5_000, this.#options.inactivityTimeoutMs / 4));
  }

  async #pollOnce(): Promise<boolean> {
    const path = `/api/v1/tunnel/status?agent_id=${encodeURIComponent(this.#options.agentId())}`;
    this.#lastPollAt = new Date().toISOString();
    try {
      const reply = await this.#options.transport.request('GET', path);
      if (reply.status !== 200) return this.#pollFailed(`tunnel status poll answered HTTP ${reply.status}`);
      if (reply.body.length > maxMessageBytes) return this.#pollFailed('tunnel status reply too large');
      const parsed = tunnelStatusResponseSchema.safeParse(JSON.parse(reply.body));
      if (!parsed.success) {
        this.#options.metrics.rejectedMessages.inc({ reason: 'tunnel_status' });
        return this.#pollFailed(`tunnel status reply rejected: ${describeIssues(parsed.error)}`);
      }
      this.#reply = parsed.data;
      this.#lastPollError = undefined;
      this.#pollLog.clear();
      return true;
    } catch (error) {
      const message = error instanceof TransportError ? error.message : `tunnel status reply is not JSON`;
      return this.#pollFailed(message);
    }
  }

  #pollFailed(message: string): false {
    this.#pollLog.report(message);
    this.#lastPollError = message;
    this.#changed();
    return false;
  }

  async #reconcile(): Promise<void> {
    const reply = this.#reply;
    if (!reply) return;
    if (reply.status === 'IDLE') {
      this.#closedForInactivity = false;
      await this.#closeClient('the control plane does not need the tunnel (IDLE)', 'idle');
      return;
    }
    if (reply.status === 'REQUIRED') {
      this.#closedForInactivity = false;
      this.#lastActivity = Date.now();
    }
    if (this.#closedForInactivity) return;
    await this.#ensureSession(reply);
  }

  async #ensureSession(reply: TunnelStatusResponse): Promise<void> {
    const spec = this.#buildSpec(reply);
    if (typeof spec === 'string') {
      await this.#closeClient(spec, this.#state === 'failed' ? 'failed' : 'waiting');
      return;
    }
    if (this.#client && this.#spec?.key === spec.key) {
      if (this.#client.status().state !== 'failed' || Date.now() - this.#fatalAt < this.#fatalRetryMs) return;
    }
    await this.#closeClient('tunnel settings changed', 'connecting');
    this.#open(spec);
  }

  /** The session to run, or why none can run yet. */
  #buildSpec(reply: TunnelStatusResponse): SessionSpec | string {
    if (!reply.tunnel_server_addr) return 'the control plane has no tunnel server address yet';
    if (!reply.server_fingerprint && !this.#options.allowUnpinnedHostKey) {
      this.#setState('failed', 'the control plane sent no server_fingerprint; refusing an unpinned tunnel');
      return this.#reason;
    }
    const auth = decodeCredentials(reply.credentials);
    if (!auth) {
      this.#setState('failed', 'the control plane sent tunnel credentials that are not base64 of user:pass');
      return this.#reason;
    }
    const ports = this.#allocatedPorts();
    const remotes = this.#options.forwards.flatMap((forward): ChiselRemote[] => {
      const remotePort = ports.get(forward.name);
      if (!remotePort) return [];
      return [{ name: forward.name, remotePort, bindHost: this.#options.remoteBindHost, target: forward.target }];
    });
    if (remotes.length === 0) return 'the control plane has not allocated a remote port for any forward';
    const conflict = remotesProblem(remotes);
    if (conflict) return `the control plane allocated conflicting ports: ${conflict}`;
    const key = JSON.stringify([reply.tunnel_server_addr, reply.server_fingerprint, auth, remotes]);
    return { serverAddr: reply.tunnel_server_addr, fingerprint: reply.server_fingerprint, auth, remotes, key };
  }

  #open(spec: SessionSpec): void {
    let client: ChiselClient;
    try {
      client = this.#newClient(spec);
    } catch (error) {
      // The schema already rejects unusable addresses; this is the last line, not the check.
      this.#setState('failed', `cannot use tunnel server ${spec.serverAddr}: ${(error as Error).message}`);
      return;
    }
    if (!spec.fingerprint) this.#options.logger.warn('tunnel server host key NOT pinned (allow_unpinned_host_key)');
    this.#client = client;
    this.#spec = spec;
    this.#lastActivity = Date.now();
    client.on('state', (state) => this.#onClientState(client, state));
    client.on('connection', () => this.#onTraffic());
    client.on('error', (error) => this.#options.logger.warn({ err: error.message }, 'tunnel'));
    this.#setState('connecting', `connecting to ${spec.serverAddr}`);
    client.start().then(
      () => {
        this.#fatalCount = 0;
        this.#options.logger.info({ server: spec.serverAddr, forwards: spec.remotes.length }, 'tunnel connected');
      },
      (error: unknown) => {
        this.#fatalAt = Date.now();
        this.#fatalRetryMs = Math.max(1_000, fullJitterDelay(this.#fatalCount++, fatalRetryBackoff));
        this.#options.logger.error(
          { err: String(error), retry_in_ms: this.#fatalRetryMs },
          'tunnel could not be established',
        );
      },
    );
  }

  #newClient(spec: SessionSpec): ChiselClient {
    const targets: TunnelTarget[] = this.#options.forwards.map((forward) => forward.target);
    return new ChiselClient({
      serverUrl: spec.serverAddr,
      auth: spec.auth,
      fingerprint: spec.fingerprint || undefined,
      allowInsecureHostKey: !spec.fingerprint,
      remotes: spec.remotes,
      allowedTargets: targets,
      keepaliveMs: this.#options.keepaliveMs,
      keepaliveTimeoutMs: this.#options.keepaliveMs,
      tls: this.#options.tls,
      beforeDial: this.#options.beforeDial,
    });
  }

  #onClientState(client: ChiselClient, state: ClientStatus['state']): void {
    if (client !== this.#client) return;
    const status = client.status();
    if (state === 'connected') this.#setState('connected', `connected to ${this.#spec?.serverAddr ?? ''}`);
    else if (state === 'failed') this.#setState('failed', status.lastError ?? 'tunnel failed');
    else if (state === 'backoff') this.#setState('backoff', status.lastError ?? 'reconnecting');
    else if (state === 'connecting') this.#setState('connecting', `connecting to ${this.#spec?.serverAddr ?? ''}`);
  }

  /** Folds the old session's counters into the totals, so a reconnect with new settings loses no bytes. */
  async #closeClient(reason: string, state: TunnelManagerState): Promise<void> {
    const client = this.#client;
    this.#client = undefined;
    if (client) {
      await client.stop();
      const status = client.status();
      for (const forward of status.forwards) {
        this.#carried.set(forward.name, addTotals(this.#carried.get(forward.name) ?? zeroTotals(), forward));
      }
      this.#sessionsBefore += status.sessions;
      this.#reconnectsBefore += status.reconnects;
      this.#options.logger.info({ reason }, 'tunnel closed');
    }
    this.#setState(state, reason);
  }

  #trafficCounter(): number {
    const status = this.#client?.status();
    if (!status) return 0;
    return status.forwards.reduce(
      (sum, forward) => sum + forward.bytesIn + forward.bytesOut + forward.totalConnections + forward.activeConnections,
      0,
    );
  }

  async #checkInactivity(): Promise<void> {
    if (!this.#client || this.#reply?.status === 'REQUIRED') return;
    const traffic = this.#trafficCounter();
    const active = this.#client.status().forwards.some((forward) => forward.activeConnections > 0);
    if (traffic !== this.#lastTraffic || active) {
      this.#lastTraffic = traffic;
      this.#lastActivity = Date.now();
      return;
    }
    if (Date.now() - this.#lastActivity < this.#options.inactivityTimeoutMs) return;
    this.#closedForInactivity = true;
    const minutes = (this.#options.inactivityTimeoutMs / 60_000).toFixed(1);
    await this.#closeClient(
      `no traffic for ${minutes} min; reopens when the control plane asks (REQUIRED)`,
      'inactive',
    );
  }

  #onTraffic(): void {
    this.#lastActivity = Date.now();
    if (Date.now() - this.#lastChangeAt >= trafficChangeThrottleMs) this.#changed();
  }

  #setState(state: TunnelManagerState, reason: string): void {
    if (this.#state === state && this.#reason === reason) return;
    this.#state = state;
    this.#reason = reason;
    this.#changed();
  }

  #changed(): void {
    this.#lastChangeAt = Date.now();
    const { metrics } = this.#options;
    const connected = this.#state === 'connected';
    metrics.tunnelStatus.set(connected ? 1 : 0);
    metrics.tunnelForwardsActive.set(connected ? (this.#spec?.remotes.length ?? 0) : 0);
    this.#options.onChange();
  }
}
