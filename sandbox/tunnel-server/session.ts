/**
 * One client connection, from SSH handshake to close, with chisel's server semantics (reference doc
 * §1.4, §2.3, §3.3): password-only auth, `config` first within the timeout, exact error texts,
 * one listener per reverse remote for the session's lifetime, and `ping` keepalive both ways.
 */
import type { Duplex } from 'node:stream';
import type { AuthContext, Connection } from 'ssh2';
import {
  decodeConfig,
  listenHost,
  listenPort,
  remoteString,
  remoteTarget,
  unsupportedReason,
  userAddr,
  type Remote,
} from './config';
import { ReverseListener, type RemoteStats } from './reverse-listener';
import {
  interceptGlobalRequests,
  openChiselChannel,
  replyFailure,
  replySuccess,
  restoreClientIdent,
  sendGlobalRequest,
} from './ssh-server-compat';
import { hasAccess, type TunnelUser, type UserTable } from './users';

export interface SessionSettings {
  reverse: boolean;
  /** Overrides the address reverse listeners bind (the ACL still sees the client's LocalHost); null = LocalHost. */
  bindHost: string | null;
  keepaliveMs: number;
  configTimeoutMs: number;
  handshakeTimeoutMs: number;
  version: string;
}

export interface SessionInfo {
  id: number;
  user: string;
  remotes: RemoteStats[];
  connectedAt: string;
}

export interface SessionHooks {
  users: UserTable;
  settings: SessionSettings;
  log: (line: string) => void;
  onOpen: (session: TunnelSession) => void;
  onListening: (session: TunnelSession, stats: RemoteStats) => void;
  onClose: (session: TunnelSession, reason: string) => void;
}

interface PendingReply {
  send: (() => void) | undefined;
}

const endGraceMs = 5_000;

/** A config rejection: `text` is what the client sees, after chisel's `server: ` prefix. */
class ConfigRejection extends Error {}

export class TunnelSession {
  readonly id: number;
  readonly closed: Promise<void>;
  readonly #transport: Duplex;
  readonly #hooks: SessionHooks;
  #client: Connection | undefined;
  #user: TunnelUser | undefined;
  #userName = '';
  #configState: 'waiting' | 'pending' | 'done' = 'waiting';
  #connectedAt: Date | undefined;
  #listeners: ReverseListener[] = [];
  #replies: PendingReply[] = [];
  #timer: NodeJS.Timeout | undefined;
  #pingDeadline: NodeJS.Timeout | undefined;
  #closeReason = 'connection closed';
  #closing = false;

  constructor(id: number, transport: Duplex, hooks: SessionHooks) {
    this.id = id;
    this.#transport = transport;
    this.#hooks = hooks;
    transport.on('error', () => undefined);
    this.closed = new Promise((resolve) => {
      transport.once('close', () => {
        void this.#teardown().then(resolve);
      });
    });
    this.#timer = setTimeout(() => this.close('handshake timeout'), hooks.settings.handshakeTimeoutMs);
  }

  get isOpen(): boolean {
    return this.#connectedAt !== undefined && !this.#closing;
  }

  info(): SessionInfo {
    return {
      id: this.id,
      user: this.#userName,
      remotes: this.#listeners.map((listener) => listener.stats()),
      connectedAt: (this.#connectedAt ?? new Date(0)).toISOString(),
    };
  }

  #log(line: string): void {
    this.#hooks.log(`session#${this.id}: ${line}`);
  }

  /** The ssh2 Server's `connection` event for this session's transport. */
  attach(client: Connection): void {
    this.#client = client;
    restoreClientIdent(client);
    interceptGlobalRequests(client, (name, wantReply, data) => this.#onRequest(name, wantReply, data));
    client.on('error', (err) => this.#log(`ssh: ${err.message}`));
    client.on('authentication', (ctx) => this.#authenticate(ctx));
    client.once('ready', () => this.#onReady());
  }

  #authenticate(ctx: AuthContext): void {
    if (ctx.method !== 'password') {
      ctx.reject(['password']);
      return;
    }
    const users = this.#hooks.users;
    if (users.size === 0) {
      this.#userName = ctx.username;
      ctx.accept();
      return;
    }
    const user = users.authenticate(ctx.username, ctx.password);
    if (!user) {
      this.#log(`Login failed for user: ${ctx.username}`);
      ctx.reject(['password']);
      return;
    }
    this.#user = user;
    this.#userName = user.name;
    ctx.accept();
  }

  #onReady(): void {
    clearTimeout(this.#timer);
    this.#log('Verifying configuration');
    this.#timer = setTimeout(
      () => this.close('timeout waiting for configuration'),
      this.#hooks.settings.configTimeoutMs,
    );
  }

  /** Every want-reply request gets a slot so replies go out in request order, even for async `config`. */
  #slot(wantReply: boolean): PendingReply {
    const slot: PendingReply = { send: undefined };
    if (wantReply) this.#replies.push(slot);
    return slot;
  }

  #settle(slot: PendingReply, send: () => void): void {
    slot.send = send;
    while (this.#replies[0]?.send) this.#replies.shift()?.send?.();
  }

  #onRequest(name: string, wantReply: boolean, data: Buffer): void {
    const client = this.#client;
    if (!client || this.#closing) return;
    const slot = this.#slot(wantReply);
    const reply = (send: () => void): void => (wantReply ? this.#settle(slot, send) : undefined);
    if (this.#configState === 'waiting') {
      this.#configState = 'pending';
      clearTimeout(this.#timer);
      if (name === 'config') void this.#configure(data, reply);
      else this.#reject(new ConfigRejection('expecting config request'), reply);
      return;
    }
    // chisel answers only `ping` and leaves anything else unanswered; a bare failure keeps the order intact.
    if (name === 'ping') reply(() => replySuccess(client, Buffer.from('pong')));
    else reply(() => replyFailure(client, ''));
  }

  #reject(err: ConfigRejection, reply: (send: () => void) => void): void {
    const text = `server: ${err.message}`;
    this.#log(`Failed: ${text}`);
    const client = this.#client;
    if (client) reply(() => replyFailure(client, text));
    // chisel leaves the closing to the client; ending here too stops half-configured sessions lingering.
    this.#end(text);
  }

  /** Graceful close: ssh2 sends DISCONNECT after the queued reply, then the WebSocket closes cleanly. */
  #end(reason: string): void {
    if (this.#closing) return;
    this.#closing = true;
    this.#closeReason = reason;
    clearTimeout(this.#timer);
    this.#client?.end();
    this.#timer = setTimeout(() => this.#transport.destroy(), endGraceMs);
    this.#timer.unref();
  }

  async #configure(payload: Buffer, reply: (send: () => void) => void): Promise<void> {
    try {
      const remotes = this.#validate(payload);
      for (const remote of remotes) await this.#bind(remote);
    } catch (err) {
      await Promise.all(this.#listeners.splice(0).map((listener) => listener.close()));
      this.#reject(err instanceof ConfigRejection ? err : new ConfigRejection(String(err)), reply);
      return;
    }
    const client = this.#client;
    if (this.#closing || !client) return;
    reply(() => replySuccess(client));
    this.#opened();
  }

  #validate(payload: Buffer): Remote[] {
    let config;
    try {
      config = decodeConfig(payload);
    } catch (err) {
      this.#log(`invalid config: ${err instanceof Error ? err.message : String(err)}`);
      throw new ConfigRejection('invalid config');
    }
    const version = this.#hooks.settings.version;
    if (config.Version.replace(/^v/, '') !== version.replace(/^v/, '')) {
      this.#log(`Client version (${config.Version || '<unknown>'}) differs from server version (${version})`);
    }
    return config.Remotes;
  }

  /** chisel's per-remote checks, in its order: ACL, --reverse, then whether the port can be bound. */
  async #bind(remote: Remote): Promise<void> {
    if (this.#user && !hasAccess(this.#user, userAddr(remote))) {
      throw new ConfigRejection(`access to '${userAddr(remote)}' denied`);
    }
    if (remote.Reverse && !this.#hooks.settings.reverse) {
      throw new ConfigRejection('Reverse port forwaring not enabled on server');
    }
    const unsupported = unsupportedReason(remote);
    if (unsupported) throw new ConfigRejection(unsupported);
    const port = listenPort(remote);
    const name = remoteString(remote);
    const host = this.#hooks.settings.bindHost ?? listenHost(remote);
    try {
      if (port === undefined) throw new Error(`invalid port "${remote.LocalPort}"`);
      const target = remoteTarget(remote);
      const openChannel = this.#opener(target);
      this.#listeners.push(await ReverseListener.bind({ remote: name, host, port, openChannel, log: this.#hooks.log }));
    } catch (err) {
      this.#log(`cannot listen on ${host}:${remote.LocalPort}: ${err instanceof Error ? err.message : String(err)}`);
      throw new ConfigRejection(`Server cannot listen on ${name}`);
    }
  }

  #opener(target: string): (callback: Parameters<typeof openChiselChannel>[2]) => void {
    return (callback) => {
      const client = this.#client;
      if (!client || this.#closing) callback(new Error('session closed'));
      else openChiselChannel(client, target, callback);
    };
  }

  #opened(): void {
    this.#configState = 'done';
    this.#connectedAt = new Date();
    for (const listener of this.#listeners) {
      const stats = listener.stats();
      this.#log(`tun: proxy#${stats.remote}: Listening`);
      this.#hooks.onListening(this, stats);
    }
    this.#hooks.onOpen(this);
    this.#scheduleKeepalive();
  }

  /** chisel's keepAliveLoop plus the newer rc's ping timeout: no reply within the interval drops the peer. */
  #scheduleKeepalive(): void {
    const interval = this.#hooks.settings.keepaliveMs;
    if (interval <= 0 || this.#closing) return;
    this.#timer = setTimeout(() => this.#ping(interval), interval);
  }

  #ping(interval: number): void {
    const client = this.#client;
    if (!client || this.#closing) return;
    this.#pingDeadline = setTimeout(() => this.close('keepalive timeout'), interval);
    sendGlobalRequest(client, 'ping', (_ok, data) => {
      clearTimeout(this.#pingDeadline);
      const text = data?.toString('utf8') ?? '';
      if (text !== '' && text !== 'pong') this.close(`unexpected ping reply: ${text}`);
      else this.#scheduleKeepalive();
    });
  }

  /** Drops the connection now; `closed` resolves once the listeners have released their ports. */
  close(reason: string): void {
    if (!this.#closing) this.#closeReason = reason;
    this.#closing = true;
    clearTimeout(this.#timer);
    clearTimeout(this.#pingDeadline);
    this.#transport.destroy();
  }

  async #teardown(): Promise<void> {
    this.#closing = true;
    clearTimeout(this.#timer);
    clearTimeout(this.#pingDeadline);
    await Promise.all(this.#listeners.map((listener) => listener.close()));
    if (this.#connectedAt) {
      this.#log(`Closed connection (${this.#closeReason})`);
      this.#hooks.onClose(this, this.#closeReason);
    }
  }
}
