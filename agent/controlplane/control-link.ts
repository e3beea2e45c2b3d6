import WebSocket from 'ws';
import type { Logger } from '../logging/logger';
import { ReasonLog } from '../logging/reason-log';
import { supervise } from '../supervision/supervise';
import type { AgentMetrics } from '../metrics/agent-metrics';
import { fullJitterDelay, sleep, type BackoffPolicy } from './backoff';
import {
  clusterUnknownCode,
  envelope,
  maxMessageBytes,
  parseControlPlaneMessage,
  type ControlPlaneMessage,
  type HeartbeatPayload,
} from './protocol';
import { TransportError, type ControlPlaneTransport } from './transport';

export const webSocketPath = '/api/v1/clusters/agent/ws';
export const httpHeartbeatPath = (clusterUuid: string): string =>
  `/api/v1/clusters/agent/${encodeURIComponent(clusterUuid)}/heartbeat`;

export type LinkState = 'idle' | 'connecting' | 'connected' | 'http-fallback' | 'backoff' | 'rejected' | 'stopped';

export interface LinkEvent {
  at: string;
  reason: string;
}

export interface LinkStatus {
  state: LinkState;
  transport: 'websocket' | 'http' | 'none';
  connectedSince?: string;
  lastHeartbeatAt?: string;
  lastAckAt?: string;
  lastRttMs?: number;
  heartbeatsAcked: number;
  /** An ack arrived on the current connection (a new socket is not healthy until its first ack). */
  sessionAcked: boolean;
  consecutiveFailures: number;
  lastError?: string;
  reconnects: LinkEvent[];
  rtt: { at: string; ms: number }[];
}

/** How one link session ended, which decides what the loop does next. */
type SessionEnd =
  | { kind: 'lost'; reason: string; healthy: boolean }
  | { kind: 'refused'; status: number }
  | { kind: 'unauthorized'; status: number }
  | { kind: 'cluster-unknown' }
  | { kind: 'retry-websocket' }
  | { kind: 'stopped' };

export interface ControlLinkOptions {
  transport: ControlPlaneTransport;
  heartbeatIntervalMs: number;
  backoff: BackoffPolicy;
  rejectedRetryMs: number;
  /** How long to heartbeat over HTTP after the WebSocket was refused before trying it again. */
  httpFallbackMs?: number;
  clusterUuid: () => string;
  buildHeartbeat: () => HeartbeatPayload;
  /** The control plane no longer knows the cluster: re-register (with the same cluster_id). */
  onClusterUnknown: (signal: AbortSignal) => Promise<void>;
  onChange?: () => void;
  logger: Logger;
  metrics: AgentMetrics;
}

const rttWindowMs = 15 * 60_000;
/**
 * Outgoing bytes the link lets queue up. A peer that stops reading (our heartbeats, our pongs to its
 * pings) is dead even if TCP stays up: past this the socket is replaced instead of buffering for it.
 */
export const maxBufferedBytes = 4 * maxMessageBytes;
const maxEvents = 50;

/**
 * The agent's link to the control plane: a WebSocket carrying `heartbeat` every interval, each
 * acknowledged by `heartbeat_ack` with the same request_id (RTT comes from that). A link with no ack or
 * ping for three intervals is dead even if TCP says otherwise, and is replaced. A refused upgrade falls
 * back to HTTP heartbeats and retries the WebSocket later. Reconnects never re-register, unless the
 * control plane says the cluster is unknown.
 */
export class ControlLink {
  readonly #options: ControlLinkOptions;
  readonly #logger: Logger;
  readonly #abort = new AbortController();
  #loop: Promise<void> | undefined;
  #socket: WebSocket | undefined;
  #status: LinkStatus = {
    state: 'idle',
    transport: 'none',
    heartbeatsAcked: 0,
    sessionAcked: false,
    consecutiveFailures: 0,
    reconnects: [],
    rtt: [],
  };

  readonly #downLog: ReasonLog;
  readonly #heartbeatLog: ReasonLog;
  readonly #rejectedLog: ReasonLog;
  readonly #peerLog: ReasonLog;

  constructor(options: ControlLinkOptions) {
    this.#options = options;
    this.#logger = options.logger.child({ component: 'control-link' });
    const log = (level: 'warn' | 'error', message: string): ReasonLog =>
      new ReasonLog({ logger: this.#logger, level, message });
    this.#downLog = log('warn', 'Control link down; reconnecting');
    this.#heartbeatLog = log('warn', 'Heartbeat failed');
    this.#rejectedLog = log('warn', 'Dropped a malformed control-plane message');
    this.#peerLog = log('warn', 'Control plane sent something the agent ignores');
  }

  get deadAfterMs(): number {
    return Math.max(3 * this.#options.heartbeatIntervalMs, 1500);
  }

  status(): LinkStatus {
    return { ...this.#status, reconnects: [...this.#status.reconnects], rtt: [...this.#status.rtt] };
  }

  /** Connected (or on HTTP fallback), acknowledged on this connection, and within the dead-link window. */
  healthy(now = Date.now()): boolean {
    const { state, lastAckAt, sessionAcked } = this.#status;
    if (state !== 'connected' && state !== 'http-fallback') return false;
    return sessionAcked && lastAckAt !== undefined && now - Date.parse(lastAckAt) <= this.deadAfterMs;
  }

  start(): void {
    this.#loop ??= supervise('link', (signal) => this.#run(signal), {
      logger: this.#logger,
      metrics: this.#options.metrics,
      signal: this.#abort.signal,
    });
  }

  async stop(): Promise<void> {
    this.#abort.abort();
    this.#socket?.terminate();
    await this.#loop;
    this.#update({ state: 'stopped', transport: 'none' });
  }

  #update(patch: Partial<LinkStatus>): void {
    this.#status = { ...this.#status, ...patch };
    this.#options.onChange?.();
  }

  #recordEvent(reason: string): void {
    const reconnects = [...this.#status.reconnects, { at: new Date().toISOString(), reason }].slice(-maxEvents);
    this.#update({ reconnects });
  }

  async #run(signal: AbortSignal): Promise<void> {
    let failures = 0;
    while (!signal.aborted) {
      this.#update({ state: 'connecting', transport: 'none' });
      const end = await this.#webSocketSession(signal);
      if (signal.aborted || end.kind === 'stopped') return;
      this.#update({ state: 'connecting', transport: 'none', sessionAcked: false });
      failures = end.kind === 'lost' && end.healthy ? 0 : failures;
      const next = await this.#afterSession(end, signal);
      if (next === 'now') continue;
      this.#options.metrics.reconnects.inc({ reason: next.reason });
      this.#recordEvent(next.reason);
      const delay = next.delay ?? fullJitterDelay(failures++, this.#options.backoff);
      this.#update({ state: next.state ?? 'backoff', transport: 'none' });
      this.#downLog.report(next.reason, { retry_in_ms: delay });
      await sleep(delay, signal);
    }
  }

  /** Decides what follows a session: reconnect now, or after a (backoff) delay with a reason. */
  async #afterSession(
    end: Exclude<SessionEnd, { kind: 'stopped' }>,
    signal: AbortSignal,
  ): Promise<'now' | { reason: string; delay?: number; state?: LinkState }> {
    switch (end.kind) {
      case 'lost':
        return { reason: end.reason };
      case 'unauthorized':
        this.#logger.error({ status: end.status }, 'Control plane rejected the token on the control link');
        return { reason: `unauthorized (HTTP ${end.status})`, delay: this.#options.rejectedRetryMs, state: 'rejected' };
      case 'cluster-unknown':
        // Re-registered, then back to the WebSocket after the shared backoff: a control plane that keeps
        // answering cluster_not_found must not turn this into a register/connect loop.
        await this.#options.onClusterUnknown(signal);
        return { reason: 'cluster unknown to the control plane; re-registered' };
      case 'refused': {
        const reason = `websocket upgrade refused (HTTP ${end.status}); heartbeats over HTTP`;
        this.#recordEvent(reason);
        this.#downLog.report(reason, { status: end.status });
        const fallback = await this.#httpFallbackSession(signal);
        return fallback.kind === 'stopped' || fallback.kind === 'retry-websocket'
          ? 'now'
          : this.#afterSession(fallback, signal);
      }
      case 'retry-websocket':
        return 'now';
    }
  }

  #webSocketSession(signal: AbortSignal): Promise<SessionEnd> {
    const url = this.#options.transport.webSocketUrl(webSocketPath);
    const timeoutMs = this.#options.transport.timeoutMs;
    return new Promise((resolve) => {
      const ws = new WebSocket(url, {
        headers: this.#options.transport.authHeaders(),
        agent: this.#options.transport.agentFor(url),
        ...this.#options.transport.tlsOptions(),
        maxPayload: maxMessageBytes,
      });
      this.#socket = ws;
      const onAbort = (): void => session.finish({ kind: 'stopped' });
      // ws's handshakeTimeout is an idle timeout (a trickled reply resets it): this one is a deadline.
      const handshakeDeadline = setTimeout(
        () => session.abandon(`WebSocket handshake did not complete within ${timeoutMs} ms`),
        timeoutMs,
      );
      const session = new LinkSession(this, ws, (end) => {
        clearTimeout(handshakeDeadline);
        signal.removeEventListener('abort', onAbort);
        resolve(end);
      });
      signal.addEventListener('abort', onAbort, { once: true });
      ws.on('unexpected-response', (request, response) => {
        const status = response.statusCode ?? 0;
        request.destroy();
        session.finish(
          status === 401 || status === 403 ? { kind: 'unauthorized', status } : { kind: 'refused', status },
        );
      });
      ws.on('open', () => {
        clearTimeout(handshakeDeadline);
        session.opened();
      });
      ws.on('message', (data: WebSocket.RawData) => session.received(data));
      ws.on('error', (error) => session.failed(error));
      ws.on('close', (code) =>
        session.finish({ kind: 'lost', reason: session.lostReason(code), healthy: session.wasHealthy }),
      );
    });
  }

  async #httpFallbackSession(signal: AbortSignal): Promise<SessionEnd> {
    const until = Date.now() + (this.#options.httpFallbackMs ?? 60_000);
    this.#update({
      state: 'http-fallback',
      transport: 'http',
      connectedSince: new Date().toISOString(),
      sessionAcked: false,
    });
    while (!signal.aborted && Date.now() < until) {
      const end = await this.#httpHeartbeat();
      if (end) return end;
      await sleep(this.#options.heartbeatIntervalMs, signal);
    }
    return signal.aborted ? { kind: 'stopped' } : { kind: 'retry-websocket' };
  }

  async #httpHeartbeat(): Promise<SessionEnd | undefined> {
    const sentAt = performance.now();
    this.#update({ lastHeartbeatAt: new Date().toISOString() });
    try {
      const reply = await this.#options.transport.request(
        'POST',
        httpHeartbeatPath(this.#options.clusterUuid()),
        this.#options.buildHeartbeat(),
      );
      if (reply.status === 404) return { kind: 'cluster-unknown' };
      if (reply.status === 401 || reply.status === 403) return { kind: 'unauthorized', status: reply.status };
      if (reply.status >= 200 && reply.status < 300) {
        this.acknowledged(sentAt, 'http');
        return undefined;
      }
      const detail = this.#options.transport.scrub(reply.body.slice(0, 200));
      this.heartbeatFailed(
        `http_${reply.status}`,
        `HTTP heartbeat answered ${reply.status}${detail ? `: ${detail}` : ''}`,
      );
    } catch (error) {
      if (!(error instanceof TransportError)) throw error;
      this.heartbeatFailed('network', error.message);
    }
    return undefined;
  }

  // --- used by LinkSession -------------------------------------------------------------------------

  get options(): ControlLinkOptions {
    return this.#options;
  }

  get logger(): Logger {
    return this.#logger;
  }

  connected(): void {
    this.#update({
      state: 'connected',
      transport: 'websocket',
      connectedSince: new Date().toISOString(),
      sessionAcked: false,
    });
    this.#logger.info('Control link connected (WebSocket)');
  }

  heartbeatSent(): void {
    this.#update({ lastHeartbeatAt: new Date().toISOString() });
  }

  /** `sentAt` is a performance.now() reading: sub-millisecond and immune to wall-clock jumps. */
  acknowledged(sentAt: number, transport: 'websocket' | 'http'): void {
    const now = Date.now();
    const ms = Math.round((performance.now() - sentAt) * 100) / 100;
    this.#options.metrics.heartbeats.inc({ transport });
    this.#options.metrics.heartbeatRtt.observe(ms / 1000);
    const rtt = [...this.#status.rtt, { at: new Date(now).toISOString(), ms }].filter(
      (point) => now - Date.parse(point.at) <= rttWindowMs,
    );
    this.#update({
      lastAckAt: new Date(now).toISOString(),
      lastRttMs: ms,
      rtt,
      heartbeatsAcked: this.#status.heartbeatsAcked + 1,
      sessionAcked: true,
      consecutiveFailures: 0,
      lastError: undefined,
    });
    this.#heartbeatLog.clear();
  }

  /** Counted, kept for /ready and logged once per change of reason (with the repeat count). */
  heartbeatFailed(reason: string, message: string): void {
    this.#options.metrics.heartbeatErrors.inc({ reason });
    this.#update({ consecutiveFailures: this.#status.consecutiveFailures + 1, lastError: message });
    this.#heartbeatLog.report(message, { category: reason });
  }

  rejectedMessage(reason: string): void {
    const category = reason.split(/[:(]/)[0]?.trim().replace(/\s+/g, '_').slice(0, 40) ?? 'invalid';
    this.#options.metrics.rejectedMessages.inc({ reason: category });
    this.#rejectedLog.report(this.#options.transport.scrub(reason));
  }

  /** Well-formed but unexpected (an ack nobody waits for, an error report): warn, once per reason. */
  peerNotice(reason: string, fields: Record<string, unknown> = {}): void {
    this.#peerLog.report(this.#options.transport.scrub(reason), fields);
  }
}

/** One WebSocket connection's lifetime: heartbeat timer, ack bookkeeping and the dead-link watchdog. */
class LinkSession {
  readonly #link: ControlLink;
  readonly #ws: WebSocket;
  readonly #resolve: (end: SessionEnd) => void;
  readonly #pending = new Map<string, number>();
  #timer: NodeJS.Timeout | undefined;
  #lastInboundAt = Date.now();
  #sequence = 0;
  #finished = false;
  #error: string | undefined;
  #deadReason: string | undefined;
  wasHealthy = false;

  constructor(link: ControlLink, ws: WebSocket, resolve: (end: SessionEnd) => void) {
    this.#link = link;
    this.#ws = ws;
    this.#resolve = resolve;
  }

  opened(): void {
    this.#lastInboundAt = Date.now();
    this.#link.connected();
    this.#sendHeartbeat();
    this.#timer = setInterval(() => this.#tick(), this.#link.options.heartbeatIntervalMs);
  }

  #tick(): void {
    const now = Date.now();
    for (const [id, sentAt] of this.#pending) {
      if (performance.now() - sentAt > this.#link.deadAfterMs) {
        this.#pending.delete(id);
        this.#link.heartbeatFailed('no_ack', `heartbeat ${id} was never acknowledged`);
      }
    }
    if (now - this.#lastInboundAt > this.#link.deadAfterMs) {
      this.#deadReason = `stalled: no ack or ping for ${Math.round((now - this.#lastInboundAt) / 1000)}s`;
      this.#ws.terminate();
      return;
    }
    this.#sendHeartbeat();
  }

  #sendHeartbeat(): void {
    const requestId = `hb-${Date.now().toString(36)}-${++this.#sequence}`;
    const message = envelope('heartbeat', this.#link.options.buildHeartbeat(), requestId);
    if (!this.#send(JSON.stringify(message))) return;
    this.#pending.set(requestId, performance.now());
    this.#link.heartbeatSent();
  }

  /**
   * Sends one frame unless the peer has stopped reading: with more than maxBufferedBytes already queued
   * the connection is declared dead and replaced, so a peer that does not read cannot grow our memory.
   */
  #send(frame: string): boolean {
    if (this.#ws.readyState !== WebSocket.OPEN) return false;
    const queued = this.#ws.bufferedAmount;
    if (queued > maxBufferedBytes) {
      this.#deadReason = `peer is not reading: ${queued} bytes queued (limit ${maxBufferedBytes})`;
      this.#link.heartbeatFailed('backpressure', this.#deadReason);
      this.#ws.terminate();
      return false;
    }
    this.#ws.send(frame, (error) => {
      if (error) this.#link.heartbeatFailed('send', error.message);
    });
    return true;
  }

  /** Gives up on a connection that did not open in time. */
  abandon(reason: string): void {
    if (this.#ws.readyState !== WebSocket.CONNECTING) return;
    this.#deadReason = reason;
    this.finish({ kind: 'lost', reason, healthy: false });
  }

  received(data: WebSocket.RawData): void {
    const parsed = parseControlPlaneMessage(
      Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data as ArrayBuffer),
    );
    if (!parsed.ok) {
      this.#link.rejectedMessage(parsed.reason);
      return;
    }
    this.#lastInboundAt = Date.now();
    this.#handle(parsed.value);
  }

  #handle(message: ControlPlaneMessage): void {
    switch (message.type) {
      case 'heartbeat_ack': {
        const sentAt = this.#pending.get(message.request_id);
        if (sentAt === undefined) {
          this.#link.peerNotice('heartbeat_ack for a request id this connection never sent (or already expired)', {
            request_id: message.request_id,
          });
          return;
        }
        this.#pending.delete(message.request_id);
        this.wasHealthy = true;
        this.#link.acknowledged(sentAt, 'websocket');
        return;
      }
      case 'ping':
        this.#send(JSON.stringify(envelope('pong', { timestamp: new Date().toISOString() }, message.request_id)));
        return;
      case 'error':
        if (message.payload.code === clusterUnknownCode) {
          this.#link.peerNotice(`control plane does not know this cluster: ${message.payload.message}`);
          this.finish({ kind: 'cluster-unknown' });
          return;
        }
        this.#link.peerNotice(`control plane reported ${message.payload.code}: ${message.payload.message}`);
    }
  }

  failed(error: Error & { code?: string }): void {
    this.#error = error.code ? `${error.code}: ${error.message}` : error.message;
  }

  lostReason(code: number): string {
    return this.#deadReason ?? this.#error ?? `closed by the control plane (code ${code})`;
  }

  finish(end: SessionEnd): void {
    if (this.#finished) return;
    this.#finished = true;
    clearInterval(this.#timer);
    if (this.#ws.readyState === WebSocket.OPEN || this.#ws.readyState === WebSocket.CONNECTING) this.#ws.terminate();
    this.#resolve(end);
  }
}
