/**
 * One reverse remote's TCP listener (reference doc §3.1, §4.3): every accepted connection becomes a
 * `chisel` channel to the client named by the remote's `RemoteHost:RemotePort`, piped both ways with
 * backpressure. Like chisel v1.11.5 there is no half-close: ssh2 server channels send EOF+CLOSE on end.
 */
import net from 'node:net';
import type { ServerChannel } from 'ssh2';

export interface RemoteStats {
  /** chisel's Remote.String(), e.g. `R:127.0.0.1:4000=>6443`. */
  remote: string;
  /** The port actually bound. */
  port: number;
  activeConnections: number;
  totalConnections: number;
  /** Bytes received from users of the port (sent into the tunnel). */
  bytesIn: number;
  /** Bytes sent to users of the port (received from the tunnel). */
  bytesOut: number;
}

export type ChannelOpener = (callback: (err: Error | undefined, channel?: ServerChannel) => void) => void;

export interface ReverseListenerOptions {
  remote: string;
  host: string;
  port: number;
  openChannel: ChannelOpener;
  log: (line: string) => void;
}

function listen(server: net.Server, host: string, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const onError = (err: Error): void => reject(err);
    server.once('error', onError);
    server.listen({ host, port, exclusive: true }, () => {
      server.off('error', onError);
      resolve();
    });
  });
}

export class ReverseListener {
  readonly #server: net.Server;
  readonly #options: ReverseListenerOptions;
  readonly #sockets = new Set<net.Socket>();
  readonly #stats: RemoteStats;
  #closed: Promise<void> | undefined;

  private constructor(options: ReverseListenerOptions) {
    this.#options = options;
    this.#stats = {
      remote: options.remote,
      port: options.port,
      activeConnections: 0,
      totalConnections: 0,
      bytesIn: 0,
      bytesOut: 0,
    };
    this.#server = net.createServer((socket) => this.#accept(socket));
  }

  /** Binds host:port; rejects with the system error when the port cannot be bound. */
  static async bind(options: ReverseListenerOptions): Promise<ReverseListener> {
    const listener = new ReverseListener(options);
    await listen(listener.#server, options.host, options.port);
    listener.#server.on('error', (err) => options.log(`${options.remote}: listener error: ${err.message}`));
    listener.#stats.port = (listener.#server.address() as net.AddressInfo).port;
    return listener;
  }

  stats(): RemoteStats {
    return { ...this.#stats };
  }

  #accept(socket: net.Socket): void {
    this.#sockets.add(socket);
    this.#stats.activeConnections += 1;
    this.#stats.totalConnections += 1;
    socket.on('error', () => undefined);
    socket.once('close', () => {
      this.#sockets.delete(socket);
      this.#stats.activeConnections -= 1;
    });
    this.#options.openChannel((err, channel) => {
      if (err || !channel) {
        this.#options.log(`${this.#options.remote}: Stream error: ${err?.message ?? 'no channel'}`);
        socket.destroy();
        return;
      }
      this.#pipe(socket, channel);
    });
  }

  #pipe(socket: net.Socket, channel: ServerChannel): void {
    if (socket.destroyed) {
      channel.close();
      return;
    }
    socket.on('data', (chunk: Buffer) => (this.#stats.bytesIn += chunk.length));
    channel.on('data', (chunk: Buffer) => (this.#stats.bytesOut += chunk.length));
    channel.on('error', () => socket.destroy());
    socket.on('error', () => channel.close());
    channel.once('close', () => socket.end());
    // Let data the user sent before closing drain into the channel before CLOSE goes out.
    socket.once('close', () => {
      if (channel.writableEnded && !channel.writableFinished) channel.once('finish', () => channel.close());
      else channel.close();
    });
    socket.pipe(channel);
    channel.pipe(socket);
  }

  /** Stops accepting, drops open connections, and resolves once the port is released. */
  close(): Promise<void> {
    this.#closed ??= new Promise((resolve) => {
      this.#server.close(() => resolve());
      for (const socket of this.#sockets) socket.destroy();
    });
    return this.#closed;
  }
}
