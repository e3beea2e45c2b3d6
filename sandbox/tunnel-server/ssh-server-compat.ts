/**
 * Every ssh2 *Server* private-internals workaround the chisel-compatible server needs, in one place
 * (the client's are in agent/tunnel/ssh-compat.ts; both pin ssh2 1.17.0 and this file's test fails
 * on any other version). Reference doc §7.3 and §7.6:
 * - the Go client's banner `SSH-chisel-v3-client` is rewritten for ssh2's parser, and the original
 *   line is restored for the key-exchange hash in the `connection` event (emitted from onHeader);
 * - global requests (`config`, `ping`) are intercepted with their raw payload, and replied to with
 *   raw data: a failure carries chisel's error text, which ssh2's requestFailure() cannot send;
 * - the server's own `ping` needs reply callbacks, which ssh2's server side never tracks;
 * - channels of the custom type `chisel` are opened with raw `host:port` extra data.
 */
import { createRequire } from 'node:module';
import type { Duplex } from 'node:stream';
import type { Connection, ServerChannel } from 'ssh2';
import type WebSocket from 'ws';
import { encodeGlobalRequest, IdentRewriter } from '../../agent/tunnel/ssh-compat';
import { WebSocketDuplex } from '../../agent/tunnel/ws-stream';

export { pinnedSsh2Version, ssh2Version } from '../../agent/tunnel/ssh-compat';

const require = createRequire(import.meta.url);

const messageRequestFailure = 82;
const messageChannelOpen = 90;

/**
 * ssh2's server sends `keepalive@openssh.com` every 15 s unless told otherwise, and a Go chisel client
 * never answers it (§3.3). The largest timer delay Node accepts keeps it from ever firing.
 */
export const builtinKeepaliveOff = 2 ** 31 - 1;

interface PacketWriter {
  allocStart: number;
  alloc(size: number): Buffer;
  finalize(packet: Buffer): Buffer;
}

type GlobalRequestHandler = (proto: InternalProtocol, name: string, wantReply: boolean, data: unknown) => void;

interface InternalProtocol {
  _remoteIdentRaw: Buffer | undefined;
  _handlers: {
    GLOBAL_REQUEST?: GlobalRequestHandler;
    REQUEST_SUCCESS?: (proto: InternalProtocol, data: Buffer | null) => void;
    REQUEST_FAILURE?: (proto: InternalProtocol) => void;
  };
  _packetRW: { write: PacketWriter };
  requestSuccess(data?: Buffer): void;
}

type PendingChannel = ((err: Error | undefined, channel?: ServerChannel) => void) & { type?: string };

interface InternalConnection {
  _sock: Duplex | undefined;
  _protocol: InternalProtocol | undefined;
  _chanMgr: { add(value?: unknown): number };
}

interface ChannelModule {
  MAX_WINDOW: number;
  PACKET_SIZE: number;
}

const rewriters = new WeakMap<Duplex, IdentRewriter>();
const replyQueues = new WeakMap<InternalProtocol, ((ok: boolean, data: Buffer | undefined) => void)[]>();

function internals(client: Connection): InternalConnection {
  return client as unknown as InternalConnection;
}

function protocolOf(client: Connection): InternalProtocol {
  const proto = internals(client)._protocol;
  if (!proto) throw new Error('ssh2 connection has no protocol');
  return proto;
}

function sendRaw(proto: InternalProtocol, body: Buffer): void {
  const utils = require('ssh2/lib/protocol/utils.js') as { sendPacket: (p: InternalProtocol, b: Buffer) => void };
  const writer = proto._packetRW.write;
  const start = writer.allocStart;
  const packet = writer.alloc(body.length);
  packet.set(body, start);
  utils.sendPacket(proto, writer.finalize(packet));
}

function sshString(value: string): Buffer {
  const bytes = Buffer.from(value, 'utf8');
  const length = Buffer.alloc(4);
  length.writeUInt32BE(bytes.length);
  return Buffer.concat([length, bytes]);
}

/**
 * The byte stream ssh2's Server reads: each write is one binary WebSocket message (ssh2 writes one
 * SSH packet at a time, well under chisel's 64 KiB message limit) and the client's banner is fixed up.
 */
export function serverTransport(ws: WebSocket): Duplex {
  const rewriter = new IdentRewriter();
  const duplex = new WebSocketDuplex(ws, (chunk) => rewriter.feed(chunk));
  rewriters.set(duplex, rewriter);
  return duplex;
}

/** Call from the Server's `connection` event: puts the client's original banner back into the hash. */
export function restoreClientIdent(client: Connection): void {
  const sock = internals(client)._sock;
  const original = sock ? rewriters.get(sock)?.original : undefined;
  if (original !== undefined) protocolOf(client)._remoteIdentRaw = Buffer.from(original, 'latin1');
}

/**
 * Takes over global requests: `onRequest` gets every request with its raw payload (empty for the few
 * names ssh2 parses itself) and must reply, in order, to each one that wants a reply.
 */
export function interceptGlobalRequests(
  client: Connection,
  onRequest: (name: string, wantReply: boolean, data: Buffer) => void,
): void {
  const proto = protocolOf(client);
  proto._handlers.GLOBAL_REQUEST = (_p, name, wantReply, data): void => {
    onRequest(name, wantReply, Buffer.isBuffer(data) ? data : Buffer.alloc(0));
  };
  const queue: ((ok: boolean, data: Buffer | undefined) => void)[] = [];
  replyQueues.set(proto, queue);
  proto._handlers.REQUEST_SUCCESS = (_p, data): void => queue.shift()?.(true, data ?? undefined);
  proto._handlers.REQUEST_FAILURE = (): void => queue.shift()?.(false, undefined);
}

export function replySuccess(client: Connection, data?: Buffer): void {
  protocolOf(client).requestSuccess(data);
}

/** REQUEST_FAILURE whose payload is the raw UTF-8 text, as Go's globalRequestFailureMsg (§2.1). */
export function replyFailure(client: Connection, text: string): void {
  sendRaw(protocolOf(client), Buffer.concat([Buffer.from([messageRequestFailure]), Buffer.from(text, 'utf8')]));
}

/** Sends a want-reply global request (e.g. `ping`); needs interceptGlobalRequests first. */
export function sendGlobalRequest(
  client: Connection,
  name: string,
  onReply: (ok: boolean, data: Buffer | undefined) => void,
): void {
  const proto = protocolOf(client);
  const queue = replyQueues.get(proto);
  if (!queue) throw new Error('interceptGlobalRequests must be called before sendGlobalRequest');
  queue.push(onReply);
  sendRaw(proto, encodeGlobalRequest(name));
}

/** The CHANNEL_OPEN packet for a `chisel` channel, extra data raw (Go `ssh:"rest"`, §3.1). */
export function encodeChiselChannelOpen(localId: number, window: number, packetSize: number, target: string): Buffer {
  const numbers = Buffer.alloc(12);
  numbers.writeUInt32BE(localId, 0);
  numbers.writeUInt32BE(window, 4);
  numbers.writeUInt32BE(packetSize, 8);
  return Buffer.concat([Buffer.from([messageChannelOpen]), sshString('chisel'), numbers, Buffer.from(target, 'utf8')]);
}

/**
 * Opens a `chisel` channel to the client. ssh2's own CHANNEL_OPEN_CONFIRMATION/FAILURE handlers
 * complete it, because they only look at the callback registered under the local id.
 */
export function openChiselChannel(
  client: Connection,
  target: string,
  callback: (err: Error | undefined, channel?: ServerChannel) => void,
): void {
  const pending: PendingChannel = (err, channel) => callback(err, channel);
  pending.type = 'chisel';
  const id = internals(client)._chanMgr.add(pending);
  if (id === -1) {
    callback(new Error('no free channels available'));
    return;
  }
  const { MAX_WINDOW, PACKET_SIZE } = require('ssh2/lib/Channel.js') as ChannelModule;
  sendRaw(protocolOf(client), encodeChiselChannelOpen(id, MAX_WINDOW, PACKET_SIZE, target));
}
