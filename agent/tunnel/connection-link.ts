import type net from 'node:net';
import type { ClientChannel } from 'ssh2';
import { channelClosed, remoteEndEvent } from './ssh-compat';

/** What a link needs from its session: whether the shared WebSocket is congested, and a drain callback. */
export interface CongestionGate {
  readonly congested: boolean;
  onDrained: (resume: () => void) => void;
}

export interface LinkCounters {
  bytesIn: number;
  bytesOut: number;
}

export interface LinkOptions {
  /**
   * Once either side has ended, how long the link may go without moving a byte before both sides are
   * destroyed. Data still draining (a slow tunnel delivering a download's tail) re-arms it; a target that
   * never ends its side or never reads, or a peer that vanished, does not.
   */
  closeGraceMs: number;
  gate: CongestionGate;
  counters: LinkCounters;
  /** Called exactly once, when the local socket is closed (its fd released). */
  onClosed: () => void;
}

/**
 * One tunnelled connection: an SSH channel and the local target socket, piped both ways with
 * backpressure, and the full lifecycle Go chisel's cio.Pipe gives (either side ending closes both):
 * when one side ends, the other is ended; once both directions are done (or the channel can carry no
 * more) the socket is destroyed and the channel closed; and a grace timer started at the first end
 * guarantees that a target which never ends its side, never reads, or a peer that vanished, cannot hold
 * the socket, its fd or its buffers longer than `closeGraceMs`.
 */
export class ConnectionLink {
  readonly #channel: ClientChannel;
  readonly #socket: net.Socket;
  readonly #options: LinkOptions;
  #channelReadEnded = false;
  #socketReadEnded = false;
  #grace: NodeJS.Timeout | undefined;
  #finished = false;
  #waitingForDrain = false;
  /** Bytes forwarded either way; with the queues' lengths, what tells the grace timer the link still moves. */
  #forwarded = 0;
  #progressMark = '';

  constructor(channel: ClientChannel, socket: net.Socket, options: LinkOptions) {
    this.#channel = channel;
    this.#socket = socket;
    this.#options = options;
    this.#wireChannelToSocket();
    this.#wireSocketToChannel();
    socket.once('close', () => {
      this.#socketReadEnded = true;
      this.#startClosing();
      this.#tryComplete();
      options.onClosed();
    });
    // A write the channel can no longer take (peer closed it): nothing more can go that way.
    channel.on('error', () => {
      this.#startClosing();
      this.#tryComplete();
    });
  }

  /** Destroys both sides now (client stop, grace expired). */
  destroy(): void {
    this.#destroy();
  }

  #wireChannelToSocket(): void {
    const channel = this.#channel;
    const socket = this.#socket;
    channel.on('data', (chunk: Buffer) => {
      this.#options.counters.bytesIn += chunk.length;
      if (socket.destroyed || socket.writableEnded) return;
      this.#forwarded += chunk.length;
      if (!socket.write(chunk)) channel.pause();
    });
    socket.on('drain', () => channel.resume());
    channel.on(remoteEndEvent, () => this.#startClosing());
    channel.once('end', () => {
      this.#channelReadEnded = true;
      this.#startClosing();
      this.#tryComplete();
    });
    channel.once('finish', () => this.#tryComplete());
  }

  #wireSocketToChannel(): void {
    const channel = this.#channel;
    const socket = this.#socket;
    socket.on('data', (chunk: Buffer) => {
      this.#options.counters.bytesOut += chunk.length;
      if (channel.writableEnded || channelClosed(channel)) return;
      this.#forwarded += chunk.length;
      const roomInChannel = channel.write(chunk);
      if (!roomInChannel || this.#options.gate.congested) this.#pauseSocket();
    });
    channel.on('drain', () => this.#resumeSocket());
    socket.once('end', () => {
      this.#socketReadEnded = true;
      this.#startClosing();
      this.#tryComplete();
    });
    socket.once('finish', () => this.#tryComplete());
    socket.on('error', () => undefined);
  }

  /**
   * Stops reading the target while the channel's buffer is full or the shared WebSocket is congested
   * (ChiselSession.congested: ssh2 ignores the transport's backpressure, so the channel window alone
   * would let every channel queue up to 2 MiB).
   */
  #pauseSocket(): void {
    this.#socket.pause();
    if (this.#options.gate.congested && !this.#waitingForDrain) {
      this.#waitingForDrain = true;
      this.#options.gate.onDrained(() => {
        this.#waitingForDrain = false;
        this.#resumeSocket();
      });
    }
  }

  #resumeSocket(): void {
    if (this.#finished || this.#waitingForDrain || this.#channel.writableNeedDrain) return;
    if (this.#options.gate.congested) {
      this.#pauseSocket();
      return;
    }
    this.#socket.resume();
  }

  /**
   * Either side ended: end the other once what is queued for it is delivered, and bound the rest by the
   * grace timer. The socket is ended only after the channel's last byte was read from it, the channel
   * once the target ended (or the channel is gone), so half-closing protocols still get their answer.
   */
  #startClosing(): void {
    if (this.#finished) return;
    if (this.#channelReadEnded && !this.#socket.writableEnded) this.#socket.end();
    const channelGone = channelClosed(this.#channel);
    if ((this.#socketReadEnded || channelGone) && !this.#channel.writableEnded) this.#channel.end();
    if (this.#grace) return;
    this.#progressMark = this.#progress();
    this.#grace = setTimeout(() => this.#onGraceExpired(), this.#options.closeGraceMs);
    this.#grace.unref();
  }

  #progress(): string {
    return `${this.#forwarded}:${this.#channel.writableLength}:${this.#socket.writableLength}`;
  }

  /** Destroys a link that moved nothing during the last grace period; one still draining gets another. */
  #onGraceExpired(): void {
    const now = this.#progress();
    if (now === this.#progressMark || !this.#grace) {
      this.#destroy();
      return;
    }
    this.#progressMark = now;
    this.#grace.refresh();
  }

  /** Both directions delivered (or undeliverable): release everything without waiting for the grace. */
  #tryComplete(): void {
    if (this.#finished) return;
    const socket = this.#socket;
    const towardTarget = socket.destroyed || (this.#channelReadEnded && socket.writableFinished);
    const fromTarget = channelClosed(this.#channel) || (this.#socketReadEnded && this.#channel.writableFinished);
    if (towardTarget && fromTarget) this.#destroy();
  }

  #destroy(): void {
    this.#finish();
    this.#socket.destroy();
    if (!channelClosed(this.#channel)) this.#channel.close();
    // Keep consuming so ssh2 can emit end/close and drop its buffers; there is nowhere left to send it.
    this.#channel.resume();
  }

  #finish(): void {
    if (this.#finished) return;
    this.#finished = true;
    clearTimeout(this.#grace);
    this.#grace = undefined;
  }
}
