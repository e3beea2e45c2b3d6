import { Client, type ClientChannel } from 'ssh2';
import WebSocket from 'ws';
import { buildConfigPayload, chiselProtocol, fingerprintOf, type ChiselRemote } from './chisel-wire';
import {
  acceptChiselChannel,
  attachChiselProtocol,
  IdentRewriter,
  rejectChiselChannel,
  sendGlobalRequest,
  type ChiselChannelOpen,
} from './ssh-compat';
import { WebSocketDuplex } from './ws-stream';

export interface TunnelTlsOptions {
  ca?: string | Buffer;
  cert?: string | Buffer;
  key?: string | Buffer;
  rejectUnauthorized?: boolean;
  /** TLS SNI (chisel's --sni). */
  servername?: string;
}

export interface SessionOptions {
  url: string;
  username: string;
  password: string;
  /** Expected host key fingerprint; undefined accepts any key (only with allowInsecureHostKey). */
  fingerprint: string | undefined;
  remotes: readonly ChiselRemote[];
  keepaliveMs: number;
  keepaliveTimeoutMs: number;
  handshakeTimeoutMs: number;
  tls?: TunnelTlsOptions;
  onChannel: (open: ChiselChannelOpen, session: ChiselSession) => void;
}

const congestionBytes = 4 * 1024 * 1024;

/** A failure to establish a session; `fatal` ones (credentials, host key) are not retried. */
export class TunnelError extends Error {
  constructor(
    message: string,
    readonly fatal: boolean,
  ) {
    super(message);
    this.name = 'TunnelError';
  }
}

interface Transport {
  duplex: WebSocketDuplex;
  rewriter: IdentRewriter;
}

/** Opens the WebSocket; the byte stream is wired up at once, as the server's banner may follow the 101 immediately. */
function openWebSocket(options: SessionOptions, signal: AbortSignal): Promise<Transport> {
  const ws = new WebSocket(options.url, {
    headers: { 'Sec-WebSocket-Protocol': chiselProtocol },
    perMessageDeflate: false,
    handshakeTimeout: options.handshakeTimeoutMs,
    ...options.tls,
  });
  const rewriter = new IdentRewriter();
  const duplex = new WebSocketDuplex(ws, (chunk) => rewriter.feed(chunk));
  duplex.on('error', () => undefined);
  return new Promise((resolve, reject) => {
    const onAbort = (): void => ws.terminate();
    signal.addEventListener('abort', onAbort, { once: true });
    ws.once('open', () => {
      signal.removeEventListener('abort', onAbort);
      resolve({ duplex, rewriter });
    });
    ws.once('error', (err) => {
      signal.removeEventListener('abort', onAbort);
      reject(new TunnelError(`websocket: ${err.message}`, false));
    });
  });
}

function classifySshError(err: Error & { level?: string }, hostKeyError: string | undefined): TunnelError {
  if (hostKeyError) return new TunnelError(hostKeyError, true);
  if (err.level === 'client-authentication') return new TunnelError('authentication failed', true);
  return new TunnelError(`ssh: ${err.message}`, false);
}

/** One WebSocket + SSH connection to a chisel server, from handshake to close. */
export class ChiselSession {
  readonly #client: Client;
  readonly #options: SessionOptions;
  readonly closed: Promise<string>;
  #open = true;
  #closeReason = 'connection closed';
  #keepalive: NodeJS.Timeout | undefined;
  #pingDeadline: NodeJS.Timeout | undefined;
  #duplex: WebSocketDuplex | undefined;
  readonly #drainWaiters = new Set<() => void>();

  private constructor(client: Client, options: SessionOptions) {
    this.#client = client;
    this.#options = options;
    this.closed = new Promise((resolve) => {
      client.once('close', () => {
        this.#open = false;
        this.#stopKeepalive();
        this.#releaseDrainWaiters();
        resolve(this.#closeReason);
      });
    });
  }

  /** Connects, authenticates, verifies the host key and registers the remotes with `config`. */
  static async connect(options: SessionOptions, signal: AbortSignal): Promise<ChiselSession> {
    const transport = await openWebSocket(options, signal);
    const client = new Client();
    const session = new ChiselSession(client, options);
    const onAbort = (): void => session.close('stopped');
    signal.addEventListener('abort', onAbort, { once: true });
    try {
      await session.#handshake(transport);
      await session.#sendConfig();
    } catch (err) {
      session.close(err instanceof Error ? err.message : String(err));
      throw err;
    } finally {
      signal.removeEventListener('abort', onAbort);
    }
    if (signal.aborted) throw new TunnelError('stopped', false);
    signal.addEventListener('abort', onAbort, { once: true });
    session.#startKeepalive();
    return session;
  }

  get isOpen(): boolean {
    return this.#open;
  }

  /**
   * True while more than `congestionBytes` wait to go out on the WebSocket. ssh2 ignores its transport's
   * write() backpressure, so without this check a fast local target fills memory with up to the peer's
   * window (2 MiB) per channel whenever the tunnel is the slower side.
   */
  get congested(): boolean {
    return (this.#duplex?.writableLength ?? 0) > congestionBytes;
  }

  /**
   * Calls `resume` once the queue is down to half the limit (or the session closed). Waiting for a full
   * drain instead would leave the WebSocket idle while the paused sockets start reading again. All
   * waiters share one `sent` listener, so any number of paused sockets adds no listeners.
   */
  onDrained(resume: () => void): void {
    if (!this.#open || !this.congested) {
      resume();
      return;
    }
    this.#drainWaiters.add(resume);
  }

  #releaseDrainWaiters(): void {
    if (this.#drainWaiters.size === 0) return;
    if (this.#open && (this.#duplex?.writableLength ?? 0) > congestionBytes / 2) return;
    const waiters = [...this.#drainWaiters];
    this.#drainWaiters.clear();
    for (const resume of waiters) resume();
  }

  #handshake({ duplex, rewriter }: Transport): Promise<void> {
    this.#duplex = duplex;
    duplex.on('sent', () => this.#releaseDrainWaiters());
    let hostKeyError: string | undefined;
    const expected = this.#options.fingerprint;
    return new Promise((resolve, reject) => {
      const onError = (err: Error): void => reject(classifySshError(err, hostKeyError));
      this.#client.once('error', onError);
      this.#client.once('close', () => reject(classifySshError(new Error('connection closed'), hostKeyError)));
      this.#client.once('ready', () => {
        this.#client.off('error', onError);
        this.#client.on('error', (err) => this.close(`ssh: ${err.message}`));
        resolve();
      });
      this.#client.connect({
        sock: duplex,
        username: this.#options.username,
        password: this.#options.password,
        ident: 'chisel-v3-client',
        keepaliveInterval: 0,
        readyTimeout: this.#options.handshakeTimeoutMs,
        hostVerifier: (key: Buffer): boolean => {
          const got = fingerprintOf(key);
          if (expected === undefined || got === expected) return true;
          hostKeyError = `host key fingerprint mismatch: expected ${expected}, got ${got}`;
          return false;
        },
      });
      attachChiselProtocol(
        this.#client,
        () => rewriter.original,
        (open) => this.#options.onChannel(open, this),
      );
    });
  }

  #sendConfig(): Promise<void> {
    return new Promise((resolve, reject) => {
      sendGlobalRequest(this.#client, 'config', buildConfigPayload(this.#options.remotes), (reply) => {
        if (reply.kind === 'success') resolve();
        else if (reply.kind === 'failure') reject(new TunnelError(`config rejected: ${reply.message}`, false));
        else reject(new TunnelError('server closed the connection before answering config', false));
      });
    });
  }

  #startKeepalive(): void {
    if (this.#options.keepaliveMs <= 0) return;
    this.#keepalive = setInterval(() => this.#ping(), this.#options.keepaliveMs);
    this.#keepalive.unref();
  }

  #ping(): void {
    if (this.#pingDeadline || !this.#open) return;
    this.#pingDeadline = setTimeout(() => this.close('keepalive timeout'), this.#options.keepaliveTimeoutMs);
    sendGlobalRequest(this.#client, 'ping', undefined, () => {
      clearTimeout(this.#pingDeadline);
      this.#pingDeadline = undefined;
    });
  }

  #stopKeepalive(): void {
    clearInterval(this.#keepalive);
    clearTimeout(this.#pingDeadline);
    this.#pingDeadline = undefined;
  }

  accept(open: ChiselChannelOpen): ClientChannel | undefined {
    return this.#open ? acceptChiselChannel(this.#client, open) : undefined;
  }

  reject(open: ChiselChannelOpen, reason: number, text: string): void {
    if (this.#open) rejectChiselChannel(this.#client, open, reason, text);
  }

  close(reason: string): void {
    if (!this.#open) return;
    this.#closeReason = reason;
    this.#stopKeepalive();
    this.#client.destroy();
  }
}
