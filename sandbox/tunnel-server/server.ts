/**
 * The reference chisel-compatible tunnel server: HTTP(S) + WebSocket (subprotocol `chisel-v3`, never
 * echoed) carrying SSH via ssh2's Server, with chisel v1.11.x's quirks (reference doc §1, §2.3, §3, §7.6).
 * Used by tests, the benchmark and the reference control plane; `cli.ts` wraps it like `chisel server`.
 */
import { EventEmitter } from 'node:events';
import http from 'node:http';
import https from 'node:https';
import type net from 'node:net';
import type { Duplex } from 'node:stream';
import ssh2 from 'ssh2';
import { WebSocketServer, type WebSocket } from 'ws';
import { chiselProtocol, clientVersion } from '../../agent/tunnel/chisel-wire';
import { loadHostKey, parseHostKey, randomHostKey, type HostKey } from './host-key';
import type { RemoteStats } from './reverse-listener';
import { TunnelSession, type SessionInfo, type SessionSettings } from './session';
import { builtinKeepaliveOff, serverTransport } from './ssh-server-compat';
import { UserTable, type Authfile } from './users';

export type { Authfile } from './users';
export type { RemoteStats } from './reverse-listener';
export type { SessionInfo } from './session';

export interface TunnelServerOptions {
  /** Interface for the HTTP server; default 127.0.0.1 (chisel's CLI default is 0.0.0.0). */
  host?: string;
  /** Default 0: any free port. */
  port?: number;
  /** A keyfile path or an inline `ck-…` key (chisel's --keyfile). */
  keyFile?: string;
  /** A `ck-…` or PEM private key. Without keyFile/hostKey a random key is used, as chisel does. */
  hostKey?: string;
  /** Authfile-shaped users; none means any credentials are accepted. */
  users?: Authfile;
  /** Allow reverse remotes (chisel's --reverse); default true here, false in the CLI like chisel. */
  reverse?: boolean;
  /** Address reverse listeners really bind, whatever LocalHost the client asks for; null = LocalHost. */
  bindHost?: string | null;
  /** `ping` interval and reply timeout; 0 disables. Default 25 s. */
  keepaliveMs?: number;
  /** How long after authentication `config` may take. Default 10 s (CHISEL_CONFIG_TIMEOUT). */
  configTimeoutMs?: number;
  /** How long WebSocket open → SSH authenticated may take. Default 30 s. */
  handshakeTimeoutMs?: number;
  tls?: { cert: string | Buffer; key: string | Buffer };
  /** What `/version` returns and client versions are compared to. */
  version?: string;
  log?: (line: string) => void;
}

export interface ListeningEvent {
  sessionId: number;
  remote: string;
  port: number;
}

export interface TunnelServerEvents {
  'session-open': [SessionInfo];
  'session-close': [SessionInfo, string];
  listening: [ListeningEvent];
}

export interface TunnelServer {
  url: string;
  port: number;
  fingerprint: string;
  sessions(): SessionInfo[];
  setUsers(authfile: Authfile): void;
  addUser(auth: string, patterns?: readonly string[]): void;
  removeUser(name: string): boolean;
  users(): Authfile;
  on<E extends keyof TunnelServerEvents>(event: E, listener: (...args: TunnelServerEvents[E]) => void): void;
  off<E extends keyof TunnelServerEvents>(event: E, listener: (...args: TunnelServerEvents[E]) => void): void;
  /** Closes sessions, reverse listeners and the HTTP server; resolves once every port is released. */
  stop(): Promise<void>;
}

/** Maximum inbound WebSocket message, as newer chisel servers enforce (§1.2): catches clients that batch. */
const wsReadLimit = 64 * 1024;

async function resolveHostKey(options: TunnelServerOptions): Promise<HostKey> {
  if (options.keyFile !== undefined) return loadHostKey(options.keyFile);
  if (options.hostKey !== undefined) return parseHostKey(options.hostKey);
  return randomHostKey();
}

function settingsFrom(options: TunnelServerOptions): SessionSettings {
  return {
    reverse: options.reverse ?? true,
    bindHost: options.bindHost === undefined ? '127.0.0.1' : options.bindHost,
    keepaliveMs: options.keepaliveMs ?? 25_000,
    configTimeoutMs: options.configTimeoutMs ?? 10_000,
    handshakeTimeoutMs: options.handshakeTimeoutMs ?? 30_000,
    version: options.version ?? clientVersion,
  };
}

/** chisel's fallback handler: /health, /version, else 404 (also what a wrong subprotocol sees). */
function plainResponse(url: string | undefined, version: string): { status: number; body: string } {
  if (url === '/health') return { status: 200, body: 'OK\n' };
  if (url === '/version') return { status: 200, body: version };
  return { status: 404, body: 'Not found' };
}

/** Answers an Upgrade request that is not for chisel on the raw socket, as chisel's handler would. */
function respondRaw(socket: Duplex, response: { status: number; body: string }): void {
  const reason = http.STATUS_CODES[response.status] ?? '';
  const head = [
    `HTTP/1.1 ${response.status} ${reason}`,
    'Content-Type: text/plain; charset=utf-8',
    `Content-Length: ${Buffer.byteLength(response.body)}`,
    'Connection: close',
  ];
  socket.end(`${head.join('\r\n')}\r\n\r\n${response.body}`);
}

function isChiselUpgrade(req: http.IncomingMessage): boolean {
  return (
    (req.headers.upgrade ?? '').toLowerCase() === 'websocket' &&
    req.headers['sec-websocket-protocol'] === chiselProtocol
  );
}

function listen(server: net.Server, host: string, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve((server.address() as net.AddressInfo).port);
    });
  });
}

function displayHost(host: string): string {
  if (host === '0.0.0.0' || host === '::' || host === '') return '127.0.0.1';
  return host.includes(':') ? `[${host}]` : host;
}

class ReferenceServer {
  readonly #events = new EventEmitter<TunnelServerEvents>();
  readonly #sessions = new Map<number, TunnelSession>();
  readonly #users: UserTable;
  readonly #settings: SessionSettings;
  readonly #hostKey: HostKey;
  readonly #log: (line: string) => void;
  readonly #http: http.Server;
  readonly #wss = new WebSocketServer({
    noServer: true,
    perMessageDeflate: false,
    maxPayload: wsReadLimit,
    // gorilla's Upgrader has no Subprotocols, so chisel never echoes `chisel-v3` (§1.1).
    handleProtocols: () => false,
  });
  #nextId = 0;
  #stopping: Promise<void> | undefined;

  constructor(options: TunnelServerOptions, hostKey: HostKey) {
    this.#users = new UserTable(options.users ?? {});
    this.#settings = settingsFrom(options);
    this.#hostKey = hostKey;
    this.#log = options.log ?? ((): void => undefined);
    const handler = (req: http.IncomingMessage, res: http.ServerResponse): void => {
      const { status, body } = plainResponse(req.url, this.#settings.version);
      res.writeHead(status, { 'Content-Type': 'text/plain; charset=utf-8' }).end(body);
    };
    this.#http = options.tls ? https.createServer(options.tls, handler) : http.createServer(handler);
    this.#http.on('upgrade', (req: http.IncomingMessage, socket: Duplex, head: Buffer) =>
      this.#onUpgrade(req, socket, head),
    );
    this.#http.on('clientError', (_err, socket: Duplex) => socket.destroy());
  }

  get users(): UserTable {
    return this.#users;
  }

  get fingerprint(): string {
    return this.#hostKey.fingerprint;
  }

  get events(): EventEmitter<TunnelServerEvents> {
    return this.#events;
  }

  listen(host: string, port: number): Promise<number> {
    return listen(this.#http, host, port);
  }

  sessions(): SessionInfo[] {
    return [...this.#sessions.values()].filter((session) => session.isOpen).map((session) => session.info());
  }

  #onUpgrade(req: http.IncomingMessage, socket: Duplex, head: Buffer): void {
    socket.on('error', () => undefined);
    if (this.#stopping) {
      socket.destroy();
      return;
    }
    if (!isChiselUpgrade(req)) {
      const protocol = req.headers['sec-websocket-protocol'] ?? '';
      this.#log(`ignored client connection using protocol '${protocol}', expected '${chiselProtocol}'`);
      respondRaw(socket, plainResponse(req.url, this.#settings.version));
      return;
    }
    this.#wss.handleUpgrade(req, socket, head, (ws) => this.#startSession(ws, req));
  }

  #startSession(ws: WebSocket, req: http.IncomingMessage): void {
    const id = ++this.#nextId;
    const transport = serverTransport(ws);
    const session = new TunnelSession(id, transport, {
      users: this.#users,
      settings: this.#settings,
      log: this.#log,
      onOpen: (s) => this.#events.emit('session-open', s.info()),
      onListening: (s, stats: RemoteStats) =>
        this.#events.emit('listening', { sessionId: s.id, remote: stats.remote, port: stats.port }),
      onClose: (s, reason) => this.#events.emit('session-close', s.info(), reason),
    });
    this.#sessions.set(id, session);
    void session.closed.then(() => this.#sessions.delete(id));
    this.#log(`session#${id}: Handshaking with ${req.socket.remoteAddress ?? '?'}:${req.socket.remotePort ?? '?'}...`);
    // One ssh2 Server per connection keeps the connection → session mapping explicit.
    const ssh = new ssh2.Server(
      { hostKeys: [this.#hostKey.privateKey], ident: 'chisel-v3-server', keepaliveInterval: builtinKeepaliveOff },
      (client) => session.attach(client),
    );
    ssh.injectSocket(transport as net.Socket);
  }

  stop(): Promise<void> {
    this.#stopping ??= this.#shutdown();
    return this.#stopping;
  }

  async #shutdown(): Promise<void> {
    const closed = new Promise<void>((resolve) => this.#http.close(() => resolve()));
    this.#http.closeAllConnections();
    const sessions = [...this.#sessions.values()];
    for (const session of sessions) session.close('server stopped');
    for (const ws of this.#wss.clients) ws.terminate();
    await Promise.all(sessions.map((session) => session.closed));
    await closed;
  }
}

/** Starts the server; resolves once it accepts connections. */
export async function startTunnelServer(options: TunnelServerOptions = {}): Promise<TunnelServer> {
  const server = new ReferenceServer(options, await resolveHostKey(options));
  const host = options.host ?? '127.0.0.1';
  const port = await server.listen(host, options.port ?? 0);
  const scheme = options.tls ? 'https' : 'http';
  return {
    url: `${scheme}://${displayHost(host)}:${port}`,
    port,
    fingerprint: server.fingerprint,
    sessions: () => server.sessions(),
    setUsers: (authfile) => server.users.set(authfile),
    addUser: (auth, patterns) => void server.users.add(auth, patterns),
    removeUser: (name) => server.users.remove(name),
    users: () => server.users.toAuthfile(),
    // EventEmitter's generic signature cannot be re-expressed per event without this cast.
    on: (event, listener) => void server.events.on(event, listener as never),
    off: (event, listener) => void server.events.off(event, listener as never),
    stop: () => server.stop(),
  };
}
