import { EventEmitter } from 'node:events';
import net from 'node:net';
import type { ClientChannel } from 'ssh2';
import { fullJitterDelay, sleep, type BackoffPolicy } from '../controlplane/backoff';
import { ChiselSession, TunnelError, type SessionOptions, type TunnelTlsOptions } from './chisel-session';
import {
  formatRemote,
  normaliseServerUrl,
  parseTarget,
  remotesProblem,
  targetKey,
  type ChiselRemote,
  type TunnelTarget,
} from './chisel-wire';
import { ConnectionLink } from './connection-link';
import { channelOpenFailure, type ChiselChannelOpen } from './ssh-compat';

export type { ChiselRemote, TunnelTarget } from './chisel-wire';
export type { TunnelTlsOptions } from './chisel-session';

export type TunnelState = 'idle' | 'connecting' | 'connected' | 'backoff' | 'failed' | 'stopped';

export interface ChiselClientOptions {
  /** http(s)://, ws(s):// or host:port, normalised like chisel. */
  serverUrl: string;
  /** `user:pass`, split at the first colon. */
  auth: string;
  /** Base64 SHA-256 of the server's host key (chisel's `Fingerprint`). Required unless allowInsecureHostKey. */
  fingerprint?: string;
  allowInsecureHostKey?: boolean;
  remotes: ChiselRemote[];
  /** Targets channels may dial; defaults to the remotes' targets. */
  allowedTargets?: TunnelTarget[];
  keepaliveMs?: number;
  keepaliveTimeoutMs?: number;
  handshakeTimeoutMs?: number;
  backoff?: BackoffPolicy;
  tls?: TunnelTlsOptions;
  /**
   * Runs before each dial, e.g. to wake a scaled-down workload; the server holds the user's connection
   * meanwhile. A rejection refuses the channel with the error's message.
   */
  beforeDial?: (route: { name: string; target: TunnelTarget }, signal: AbortSignal) => Promise<void>;
  /**
   * Once either side of a tunnelled connection ends, how long it may go without moving a byte before both
   * sides are destroyed (a target that never ends its side or never reads cannot hold its socket).
   */
  closeGraceMs?: number;
}

export interface ForwardStatus {
  name: string;
  remote: string;
  remotePort: number;
  target: string;
  bytesIn: number;
  bytesOut: number;
  activeConnections: number;
  totalConnections: number;
  refusedConnections: number;
}

export interface TunnelErrorEntry {
  at: string;
  message: string;
}

export interface TunnelStatus {
  state: TunnelState;
  connectedSince?: string;
  lastError?: string;
  sessions: number;
  reconnects: number;
  forwards: ForwardStatus[];
  errors: TunnelErrorEntry[];
}

export interface ChiselClientEvents {
  state: [TunnelState];
  connected: [];
  disconnected: [string];
  error: [Error];
  connection: [string];
}

const maxErrors = 50;
const healthySessionMs = 5_000;
const defaultCloseGraceMs = 2_000;

function splitAuth(auth: string): { username: string; password: string } {
  const colon = auth.indexOf(':');
  return colon < 0
    ? { username: '', password: '' }
    : { username: auth.slice(0, colon), password: auth.slice(colon + 1) };
}

function newForward(remote: ChiselRemote): ForwardStatus {
  return {
    name: remote.name,
    remote: formatRemote(remote),
    remotePort: remote.remotePort,
    target: targetKey(remote.target),
    bytesIn: 0,
    bytesOut: 0,
    activeConnections: 0,
    totalConnections: 0,
    refusedConnections: 0,
  };
}

/**
 * A chisel-compatible reverse-tunnel client: WebSocket (subprotocol chisel-v3) carrying SSH, password
 * auth, host key pinned to a fingerprint, reverse remotes registered with `config`, and each server
 * `chisel` channel dialled to an allow-listed local target. Reconnects with capped full-jitter backoff;
 * fatal errors (wrong credentials or host key) stop the loop in state `failed`.
 */
export class ChiselClient extends EventEmitter<ChiselClientEvents> {
  readonly #options: ChiselClientOptions;
  readonly #url: string;
  readonly #forwards: Map<string, ForwardStatus>;
  readonly #allowed: Set<string>;
  /** Every local socket until it is closed (dialling or linked); stop() destroys them. */
  readonly #sockets = new Set<net.Socket>();
  #abort = new AbortController();
  #session: ChiselSession | undefined;
  #loop: Promise<void> | undefined;
  #status: TunnelStatus;

  constructor(options: ChiselClientOptions) {
    super();
    if (!options.fingerprint && !options.allowInsecureHostKey) {
      throw new Error('a host key fingerprint is required (or set allowInsecureHostKey)');
    }
    const problem = remotesProblem(options.remotes);
    if (problem) throw new Error(`tunnel remotes refused: ${problem}`);
    this.#options = options;
    this.#url = normaliseServerUrl(options.serverUrl);
    this.#forwards = new Map(options.remotes.map((remote) => [targetKey(remote.target), newForward(remote)]));
    this.#allowed = new Set((options.allowedTargets ?? options.remotes.map((r) => r.target)).map(targetKey));
    this.#status = { state: 'idle', sessions: 0, reconnects: 0, forwards: [...this.#forwards.values()], errors: [] };
    this.on('error', () => undefined);
  }

  status(): TunnelStatus {
    return {
      ...this.#status,
      forwards: this.#status.forwards.map((forward) => ({ ...forward })),
      errors: [...this.#status.errors],
    };
  }

  /** Starts the connect loop; resolves once the first session is up, rejects on a fatal error or stop(). */
  start(): Promise<void> {
    if (this.#loop) throw new Error('tunnel client already started');
    this.#abort = new AbortController();
    const firstSession = new Promise<void>((resolve, reject) => {
      const onConnected = (): void => {
        this.off('state', onState);
        resolve();
      };
      const onState = (state: TunnelState): void => {
        if (state !== 'failed' && state !== 'stopped') return;
        this.off('connected', onConnected);
        this.off('state', onState);
        reject(new Error(this.#status.lastError ?? state));
      };
      this.once('connected', onConnected);
      this.on('state', onState);
    });
    this.#loop = this.#run();
    return firstSession;
  }

  async stop(): Promise<void> {
    this.#abort.abort();
    this.#session?.close('stopped');
    for (const socket of this.#sockets) socket.destroy();
    await this.#loop;
    this.#loop = undefined;
  }

  #setState(state: TunnelState): void {
    if (this.#status.state === state) return;
    this.#status.state = state;
    this.emit('state', state);
  }

  #recordError(message: string): void {
    this.#status.lastError = message;
    this.#status.errors = [...this.#status.errors, { at: new Date().toISOString(), message }].slice(-maxErrors);
    this.emit('error', new Error(message));
  }

  async #run(): Promise<void> {
    const signal = this.#abort.signal;
    let attempt = 0;
    while (!signal.aborted) {
      const outcome = await this.#runSession(signal);
      if (outcome === 'fatal') return;
      attempt = outcome === 'healthy' ? 0 : attempt + 1;
      if (signal.aborted) break;
      this.#setState('backoff');
      this.#status.reconnects += 1;
      const policy = this.#options.backoff ?? { baseMs: 100, capMs: 30_000 };
      await sleep(fullJitterDelay(attempt, policy), signal);
    }
    this.#setState('stopped');
  }

  /** One session from dial to loss: 'healthy' if it lasted, 'failed' if it never came up well. */
  async #runSession(signal: AbortSignal): Promise<'healthy' | 'failed' | 'fatal'> {
    this.#setState('connecting');
    let session: ChiselSession;
    try {
      session = await ChiselSession.connect(this.#sessionOptions(), signal);
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      if (signal.aborted) return 'failed';
      this.#recordError(message);
      if (err instanceof TunnelError && err.fatal) {
        this.#setState('failed');
        return 'fatal';
      }
      return 'failed';
    }
    return this.#whileConnected(session);
  }

  async #whileConnected(session: ChiselSession): Promise<'healthy' | 'failed'> {
    this.#session = session;
    const since = Date.now();
    this.#status.sessions += 1;
    this.#status.connectedSince = new Date(since).toISOString();
    this.#setState('connected');
    this.emit('connected');
    const reason = await session.closed;
    this.#session = undefined;
    this.#status.connectedSince = undefined;
    if (reason !== 'stopped') this.#recordError(`tunnel lost: ${reason}`);
    this.emit('disconnected', reason);
    return Date.now() - since >= healthySessionMs ? 'healthy' : 'failed';
  }

  #sessionOptions(): SessionOptions {
    const { username, password } = splitAuth(this.#options.auth);
    return {
      url: this.#url,
      username,
      password,
      fingerprint: this.#options.fingerprint || undefined,
      remotes: this.#options.remotes,
      keepaliveMs: this.#options.keepaliveMs ?? 25_000,
      keepaliveTimeoutMs: this.#options.keepaliveTimeoutMs ?? 25_000,
      handshakeTimeoutMs: this.#options.handshakeTimeoutMs ?? 30_000,
      tls: this.#options.tls,
      onChannel: (open, owner) => this.#onChannel(open, owner),
    };
  }

  #onChannel(open: ChiselChannelOpen, session: ChiselSession): void {
    const forward = this.#forwards.get(open.target);
    const target = parseTarget(open.target);
    if (!forward || !target || !this.#allowed.has(open.target)) {
      if (forward) forward.refusedConnections += 1;
      this.#recordError(`refused channel to ${open.target}: target not in the allow-list`);
      session.reject(open, channelOpenFailure.prohibited, 'target not allowed');
      return;
    }
    const beforeDial = this.#options.beforeDial;
    if (!beforeDial) {
      this.#dial(open, session, { forward, target });
      return;
    }
    beforeDial({ name: forward.name, target }, this.#abort.signal).then(
      () => this.#dial(open, session, { forward, target }),
      (error: unknown) => {
        const message = error instanceof Error ? error.message : String(error);
        forward.refusedConnections += 1;
        this.#recordError(`refused channel to ${open.target}: ${message}`);
        session.reject(open, channelOpenFailure.connectFailed, message);
      },
    );
  }

  #dial(
    open: ChiselChannelOpen,
    session: ChiselSession,
    route: { forward: ForwardStatus; target: TunnelTarget },
  ): void {
    // Go's net.Dial sets TCP_NODELAY; small request/response traffic would otherwise wait on Nagle.
    // allowHalfOpen: the link decides when to end our side (after the channel's last byte), not node.
    const socket = net.connect({
      host: route.target.host,
      port: route.target.port,
      noDelay: true,
      allowHalfOpen: true,
    });
    this.#sockets.add(socket);
    socket.once('close', () => this.#sockets.delete(socket));
    let connected = false;
    socket.once('error', (err) => {
      if (!connected) {
        route.forward.refusedConnections += 1;
        this.#recordError(`dial ${open.target}: ${err.message}`);
        session.reject(open, channelOpenFailure.connectFailed, err.message);
      }
    });
    socket.once('connect', () => {
      connected = true;
      const channel = session.accept(open);
      if (!channel) {
        socket.destroy();
        return;
      }
      this.#link(channel, socket, route.forward, session);
      this.emit('connection', route.forward.name);
    });
  }

  /** Pipes one tunnelled connection; it counts as active exactly while its local socket is open. */
  #link(channel: ClientChannel, socket: net.Socket, forward: ForwardStatus, session: ChiselSession): void {
    forward.activeConnections += 1;
    forward.totalConnections += 1;
    new ConnectionLink(channel, socket, {
      closeGraceMs: this.#options.closeGraceMs ?? defaultCloseGraceMs,
      gate: session,
      counters: forward,
      onClosed: () => (forward.activeConnections -= 1),
    });
  }
}
