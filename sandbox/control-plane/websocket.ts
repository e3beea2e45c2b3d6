import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocket, WebSocketServer, type RawData } from 'ws';
import {
  clusterUnknownCode,
  describeIssues,
  envelope,
  envelopeSchema,
  heartbeatPayloadSchema,
  maxMessageBytes,
  type Envelope,
} from '../../agent/controlplane/protocol';
import type { RequestCounters } from './counters';
import type { FaultState, MalformedKind } from './faults';
import type { LogFn } from './options';
import type { Registry } from './registry';

export interface SocketDeps {
  registry: Registry;
  counters: RequestCounters;
  faults: () => FaultState;
  log: LogFn;
  pingIntervalMs: number;
}

interface SocketInfo {
  /** The cluster of the last accepted heartbeat on this socket. */
  clusterId?: string;
  pingTimer: NodeJS.Timeout;
}

interface ErrorSpec {
  code: string;
  message: string;
  requestId?: string;
  retryable?: boolean;
}

function rawToString(data: RawData): string {
  if (Buffer.isBuffer(data)) return data.toString('utf8');
  if (Array.isArray(data)) return Buffer.concat(data).toString('utf8');
  return Buffer.from(data).toString('utf8');
}

function malformedFrame(kind: MalformedKind): string {
  switch (kind) {
    case 'not_json':
      return 'this is not JSON {';
    case 'bad_envelope':
      return JSON.stringify({ type: 42, payload: 'not an object' });
    case 'unknown_type':
      return JSON.stringify(envelope('surprise_from_control_plane', {}));
    case 'oversized':
      return JSON.stringify(envelope('ping', { padding: 'x'.repeat(maxMessageBytes) }, randomUUID()));
  }
}

/** The agents' WebSocket connections: heartbeats in, acks, pings and errors out. */
export class AgentSockets {
  private readonly wss = new WebSocketServer({ noServer: true, maxPayload: maxMessageBytes });
  private readonly sockets = new Map<WebSocket, SocketInfo>();

  constructor(private readonly deps: SocketDeps) {}

  /** Completes an upgrade that already passed authentication. */
  upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    this.wss.handleUpgrade(req, socket, head, (ws) => this.attach(ws));
  }

  /** Open sockets whose last heartbeat was for this cluster. */
  connections(clusterId: string): number {
    let count = 0;
    for (const [ws, info] of this.sockets) {
      if (info.clusterId === clusterId && ws.readyState === WebSocket.OPEN) count += 1;
    }
    return count;
  }

  get size(): number {
    return this.sockets.size;
  }

  /** Terminates every open socket (no close handshake); returns how many. */
  dropAll(): number {
    const count = this.sockets.size;
    for (const ws of this.sockets.keys()) ws.terminate();
    return count;
  }

  /** Sends one bad frame of the given kind to every open socket; returns how many. */
  sendMalformed(kind: MalformedKind): number {
    const frame = malformedFrame(kind);
    let count = 0;
    for (const ws of this.sockets.keys()) {
      if (this.sendRaw(ws, frame)) count += 1;
    }
    return count;
  }

  /** Stops (or resumes) reading every open socket: the agent's frames pile up in its send buffer. */
  setReading(reading: boolean): void {
    for (const ws of this.sockets.keys()) this.setSocketReading(ws, reading);
  }

  private setSocketReading(ws: WebSocket, reading: boolean): void {
    // ws has no public pause; its TCP socket is the only place reading can stop.
    const socket = (ws as unknown as { _socket?: Duplex })._socket;
    if (reading) socket?.resume();
    else socket?.pause();
  }

  /** Sends `count` pings to every open socket at once; returns how many sockets got them. */
  floodPings(count: number): number {
    let sockets = 0;
    for (const ws of this.sockets.keys()) {
      if (ws.readyState !== WebSocket.OPEN) continue;
      sockets += 1;
      for (let i = 0; i < count; i++) this.send(ws, envelope('ping', {}, `flood-${i}`));
    }
    return sockets;
  }

  /** Sends `count` heartbeat_acks with request ids no agent sent; returns how many sockets got them. */
  sendUnknownAcks(count: number): number {
    let sockets = 0;
    for (const ws of this.sockets.keys()) {
      if (ws.readyState !== WebSocket.OPEN) continue;
      sockets += 1;
      for (let i = 0; i < count; i++) this.send(ws, envelope('heartbeat_ack', {}, `unknown-${randomUUID()}`));
    }
    return sockets;
  }

  close(): void {
    this.dropAll();
    for (const info of this.sockets.values()) clearInterval(info.pingTimer);
    this.sockets.clear();
    this.wss.close();
  }

  private attach(ws: WebSocket): void {
    const info: SocketInfo = { pingTimer: setInterval(() => this.ping(ws), this.deps.pingIntervalMs) };
    this.sockets.set(ws, info);
    if (this.deps.faults().stop_reading) this.setSocketReading(ws, false);
    ws.on('message', (data) => this.onMessage(ws, info, data));
    ws.on('error', (error) => this.deps.log({ level: 'debug', msg: 'websocket error', error: error.message }));
    ws.on('close', () => {
      clearInterval(info.pingTimer);
      this.sockets.delete(ws);
    });
  }

  private ping(ws: WebSocket): void {
    if (this.deps.faults().stall_acks) return;
    this.send(ws, envelope('ping', {}, randomUUID()));
  }

  private onMessage(ws: WebSocket, info: SocketInfo, data: RawData): void {
    if (this.deps.faults().stall_acks) {
      this.deps.counters.countMessage('(stalled)');
      return;
    }
    try {
      this.handleFrame(ws, info, rawToString(data));
    } catch (error) {
      this.deps.log({ level: 'error', msg: 'websocket message handler failed', error: String(error) });
    }
  }

  private handleFrame(ws: WebSocket, info: SocketInfo, text: string): void {
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch (error) {
      this.deps.counters.countMessage('(invalid)');
      this.sendError(ws, { code: 'invalid_message', message: `not JSON (${(error as Error).message})` });
      return;
    }
    const parsed = envelopeSchema.safeParse(json);
    if (!parsed.success) {
      this.deps.counters.countMessage('(invalid)');
      this.sendError(ws, { code: 'invalid_message', message: `bad envelope: ${describeIssues(parsed.error)}` });
      return;
    }
    this.dispatch(ws, info, parsed.data);
  }

  private dispatch(ws: WebSocket, info: SocketInfo, message: Envelope): void {
    if (message.type === 'heartbeat') {
      this.deps.counters.countMessage('heartbeat');
      this.onHeartbeat(ws, info, message);
    } else if (message.type === 'pong') {
      this.deps.counters.countMessage('pong');
      if (info.clusterId) this.deps.registry.recordPong(info.clusterId);
    } else {
      this.deps.counters.countMessage('(unknown)');
      const type = message.type.slice(0, 64);
      this.sendError(ws, {
        code: 'unknown_type',
        message: `unknown message type "${type}"`,
        requestId: message.request_id,
      });
    }
  }

  private onHeartbeat(ws: WebSocket, info: SocketInfo, message: Envelope): void {
    const requestId = message.request_id;
    if (!requestId) {
      this.sendError(ws, { code: 'invalid_message', message: 'heartbeat: request_id is required' });
      return;
    }
    const payload = heartbeatPayloadSchema.safeParse(message.payload);
    if (!payload.success) {
      const reason = describeIssues(payload.error);
      this.sendError(ws, { code: 'invalid_message', message: `bad heartbeat payload: ${reason}`, requestId });
      return;
    }
    const outcome = this.deps.faults().ws_cluster_not_found
      ? ({ kind: 'cluster_not_found' } as const)
      : this.deps.registry.recordHeartbeat(payload.data, 'websocket');
    if (outcome.kind === 'cluster_not_found') {
      const text = `cluster ${payload.data.cluster_id} is not registered; register again with this cluster_id`;
      this.sendError(ws, { code: clusterUnknownCode, message: text, requestId, retryable: true });
      return;
    }
    if (outcome.kind === 'agent_mismatch') {
      const text = `cluster ${payload.data.cluster_id} is registered to another agent_id`;
      this.sendError(ws, { code: 'agent_mismatch', message: text, requestId, retryable: false });
      return;
    }
    info.clusterId = outcome.cluster.cluster_id;
    this.send(ws, envelope('heartbeat_ack', { received_at: new Date().toISOString() }, requestId));
  }

  private sendError(ws: WebSocket, spec: ErrorSpec): void {
    const payload: Record<string, unknown> = { code: spec.code, message: spec.message.slice(0, 1024) };
    if (spec.retryable !== undefined) payload.retryable = spec.retryable;
    this.send(ws, envelope('error', payload, spec.requestId));
  }

  private send(ws: WebSocket, message: Envelope): void {
    this.sendRaw(ws, JSON.stringify(message));
  }

  private sendRaw(ws: WebSocket, frame: string): boolean {
    if (ws.readyState !== WebSocket.OPEN) return false;
    ws.send(frame, (error) => {
      if (error) this.deps.log({ level: 'debug', msg: 'websocket send failed', error: error.message });
    });
    return true;
  }
}
