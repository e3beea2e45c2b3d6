/**
 * Every workaround needed to speak chisel with mscdex/ssh2 lives here, because each one touches ssh2
 * private internals (pinned to exactly 1.17.0; ssh-compat.test.ts fails on any other version):
 * - chisel's banner `SSH-chisel-v3-server` is rewritten for ssh2's parser, and the original line is
 *   restored for the key-exchange hash;
 * - global requests (`config`, `ping`) carry raw payloads and failure replies carry raw error text;
 * - the server opens channels of the custom type `chisel` with raw `host:port` data;
 * - the server's `ping` must be answered with `pong`;
 * - ssh2's Channel never completes a write once the channel is closed (its `_write` returns without
 *   calling back, so a pipe into it stalls forever) and says nothing when the peer's EOF or CLOSE arrives
 *   while its readable side is paused; `ChiselChannel` fixes both.
 * See shared/reference/chisel-wire-protocol.md §7.3–7.5.
 */
import { createRequire } from 'node:module';
import type { Client, ClientChannel } from 'ssh2';

const require = createRequire(import.meta.url);

export const pinnedSsh2Version = '1.17.0';

const messageGlobalRequest = 80;
const messageRequestFailure = 82;
const messageChannelOpen = 90;

type MessageHandler = (proto: InternalProtocol, payload: Buffer) => void;
type GlobalRequestHandler = (proto: InternalProtocol, name: string, wantReply: boolean, data: unknown) => void;

interface PacketWriter {
  allocStart: number;
  alloc(size: number): Buffer;
  finalize(packet: Buffer): Buffer;
}

interface InternalProtocol {
  _onHeader: (header: unknown) => void;
  _remoteIdentRaw: Buffer | undefined;
  _handlers: { GLOBAL_REQUEST?: GlobalRequestHandler };
  _packetRW: { write: PacketWriter };
  requestSuccess(data?: Buffer): void;
  channelOpenConfirm(remote: number, local: number, window: number, packetSize: number): void;
  channelOpenFail(remote: number, reason: number, description: string): void;
}

interface ChannelManager {
  add(value?: unknown): number;
  update(id: number, value: unknown): void;
}

interface InternalClient {
  _protocol: InternalProtocol | undefined;
  /** ssh2 calls these with `true` for a failure reply and with an Error when the connection closed first. */
  _callbacks: ((hadError: boolean | Error, data?: Buffer | null) => void)[];
  _chanMgr: ChannelManager;
}

interface ChannelSides {
  incoming: { state: string };
  outgoing: { state: string };
}

type ChannelConstructor = new (client: unknown, info: unknown) => ClientChannel & ChannelSides;

interface ChannelModule {
  Channel: ChannelConstructor;
  MAX_WINDOW: number;
  PACKET_SIZE: number;
}

/** A `chisel` channel the server wants to open: `target` is its raw `host:port` extra data. */
export interface ChiselChannelOpen {
  sender: number;
  window: number;
  packetSize: number;
  target: string;
}

export const channelOpenFailure = { prohibited: 1, connectFailed: 2, resourceShortage: 4 } as const;

interface ProtocolHooks {
  onChiselChannel: (open: ChiselChannelOpen) => void;
  lastFailure?: Buffer;
}

const hooks = new WeakMap<InternalProtocol, ProtocolHooks>();
let installed = false;

export function ssh2Version(): string {
  return (require('ssh2/package.json') as { version: string }).version;
}

function messageHandlers(): (MessageHandler | undefined)[] {
  return require('ssh2/lib/protocol/handlers.js') as (MessageHandler | undefined)[];
}

function channelModule(): ChannelModule {
  return require('ssh2/lib/Channel.js') as ChannelModule;
}

function sendPacket(proto: InternalProtocol, packet: Buffer): void {
  const utils = require('ssh2/lib/protocol/utils.js') as { sendPacket: (p: InternalProtocol, b: Buffer) => void };
  utils.sendPacket(proto, packet);
}

/** Parses CHANNEL_OPEN; undefined unless its type is `chisel`. */
export function parseChiselChannelOpen(payload: Buffer): ChiselChannelOpen | undefined {
  if (payload.length < 5) return undefined;
  const typeLength = payload.readUInt32BE(1);
  const rest = 5 + typeLength;
  if (payload.length < rest + 12 || payload.toString('latin1', 5, rest) !== 'chisel') return undefined;
  return {
    sender: payload.readUInt32BE(rest),
    window: payload.readUInt32BE(rest + 4),
    packetSize: payload.readUInt32BE(rest + 8),
    target: payload.toString('utf8', rest + 12),
  };
}

/** Patches ssh2's process-global message table once; other protocols fall through unchanged. */
export function installSsh2Patches(): void {
  if (installed) return;
  const table = messageHandlers();
  const originalOpen = table[messageChannelOpen];
  const originalFailure = table[messageRequestFailure];
  if (!originalOpen || !originalFailure) throw new Error(`ssh2 internals changed (need ssh2@${pinnedSsh2Version})`);
  table[messageChannelOpen] = (proto, payload): void => {
    const hook = hooks.get(proto);
    const open = hook ? parseChiselChannelOpen(payload) : undefined;
    if (hook && open) hook.onChiselChannel(open);
    else originalOpen(proto, payload);
  };
  table[messageRequestFailure] = (proto, payload): void => {
    const hook = hooks.get(proto);
    if (hook) hook.lastFailure = payload.subarray(1);
    originalFailure(proto, payload);
  };
  installed = true;
}

/** Rewrites the peer's first `SSH-` line into a form ssh2 parses, remembering the original. */
export class IdentRewriter {
  #pending: Buffer = Buffer.alloc(0);
  #done = false;
  original: string | undefined;

  feed(chunk: Buffer): Buffer {
    if (this.#done) return chunk;
    this.#pending = Buffer.concat([this.#pending, chunk]);
    let start = 0;
    for (;;) {
      const newline = this.#pending.indexOf(0x0a, start);
      if (newline < 0) return Buffer.alloc(0);
      const line = this.#pending.toString('latin1', start, newline).replace(/\r$/, '');
      if (line.startsWith('SSH-')) return this.#finish(start, newline, line);
      start = newline + 1;
    }
  }

  #finish(start: number, newline: number, line: string): Buffer {
    this.#done = true;
    this.original = line;
    const fixed = /^SSH-(2\.0|1\.99)-/.test(line) ? line : `SSH-2.0-${line.slice(4)}`;
    const out = Buffer.concat([
      this.#pending.subarray(0, start),
      Buffer.from(`${fixed}\r\n`, 'latin1'),
      this.#pending.subarray(newline + 1),
    ]);
    this.#pending = Buffer.alloc(0);
    return out;
  }
}

function internals(client: Client): InternalClient {
  return client as unknown as InternalClient;
}

function protocolOf(client: Client): InternalProtocol {
  const proto = internals(client)._protocol;
  if (!proto) throw new Error('ssh2 client is not connected');
  return proto;
}

/**
 * Call right after `client.connect()` (ssh2 builds its Protocol synchronously and parses only later):
 * restores the original banner for the exchange hash, answers chisel's `ping`, and routes `chisel`
 * channel opens to `onChiselChannel`.
 */
export function attachChiselProtocol(
  client: Client,
  originalIdent: () => string | undefined,
  onChiselChannel: (open: ChiselChannelOpen) => void,
): void {
  installSsh2Patches();
  const proto = protocolOf(client);
  hooks.set(proto, { onChiselChannel });
  const onHeader = proto._onHeader;
  proto._onHeader = (header): void => {
    const ident = originalIdent();
    if (ident !== undefined) proto._remoteIdentRaw = Buffer.from(ident, 'latin1');
    onHeader(header);
  };
  const onGlobalRequest = proto._handlers.GLOBAL_REQUEST;
  proto._handlers.GLOBAL_REQUEST = (p, name, wantReply, data): void => {
    if (name === 'ping' && wantReply) p.requestSuccess(Buffer.from('pong'));
    else onGlobalRequest?.(p, name, wantReply, data);
  };
}

/** Encodes SSH_MSG_GLOBAL_REQUEST with a raw (not length-prefixed) payload, as Go's `ssh:"rest"`. */
export function encodeGlobalRequest(name: string, payload: Buffer = Buffer.alloc(0)): Buffer {
  const nameBytes = Buffer.from(name, 'utf8');
  const head = Buffer.alloc(1 + 4 + nameBytes.length + 1);
  head[0] = messageGlobalRequest;
  head.writeUInt32BE(nameBytes.length, 1);
  nameBytes.copy(head, 5);
  head[5 + nameBytes.length] = 1;
  return Buffer.concat([head, payload]);
}

/** The outcome of a want-reply global request. */
export type GlobalReply =
  | { kind: 'success'; data: Buffer | undefined }
  /** The peer answered REQUEST_FAILURE; chisel puts its error text in the payload. */
  | { kind: 'failure'; message: string }
  /** The connection closed before any reply came. */
  | { kind: 'disconnected' };

/** Sends a want-reply global request and reports how it was answered. */
export function sendGlobalRequest(
  client: Client,
  name: string,
  payload: Buffer | undefined,
  onReply: (reply: GlobalReply) => void,
): void {
  const proto = protocolOf(client);
  internals(client)._callbacks.push((hadError, data) => {
    const hook = hooks.get(proto);
    const failure = hook?.lastFailure;
    if (hook) hook.lastFailure = undefined;
    if (hadError instanceof Error) onReply({ kind: 'disconnected' });
    else if (hadError)
      onReply({ kind: 'failure', message: failure?.length ? failure.toString('utf8') : 'request failed' });
    else onReply({ kind: 'success', data: data ?? undefined });
  });
  const body = encodeGlobalRequest(name, payload);
  const writer = proto._packetRW.write;
  const start = writer.allocStart;
  const packet = writer.alloc(body.length);
  packet.set(body, start);
  sendPacket(proto, writer.finalize(packet));
}

/**
 * The events a ChiselChannel adds: `remoteEnd` fires as soon as the peer's EOF or CLOSE arrives (or the
 * connection dies), even while data is still buffered unread; `'end'` only follows once that is consumed.
 */
export const remoteEndEvent = 'remoteEnd';

let chiselChannelClass: ChannelConstructor | undefined;

/** ssh2's Channel with the two lifecycle gaps closed (see the header comment). */
function chiselChannel(): ChannelConstructor {
  if (chiselChannelClass) return chiselChannelClass;
  const { Channel } = channelModule();
  chiselChannelClass = class ChiselChannel extends Channel {
    override push(chunk: unknown, encoding?: BufferEncoding): boolean {
      if (chunk === null) this.emit(remoteEndEvent);
      return super.push(chunk, encoding);
    }

    override _write(data: Buffer, encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
      if (this.outgoing.state !== 'open') {
        callback(new Error(`write to a ${this.outgoing.state} channel`));
        return;
      }
      super._write(data, encoding, callback);
    }
  };
  return chiselChannelClass;
}

/** Whether the channel can still carry data in either direction. */
export function channelClosed(channel: ClientChannel): boolean {
  const sides = channel as unknown as ChannelSides;
  return sides.incoming.state === 'closed' || sides.outgoing.state === 'closing' || sides.outgoing.state === 'closed';
}

/** Confirms a `chisel` channel open; undefined when no local channel id is free. */
export function acceptChiselChannel(client: Client, open: ChiselChannelOpen): ClientChannel | undefined {
  const inner = internals(client);
  const id = inner._chanMgr.add();
  if (id === -1) return undefined;
  const { MAX_WINDOW, PACKET_SIZE } = channelModule();
  const Channel = chiselChannel();
  const channel = new Channel(client, {
    type: 'chisel',
    incoming: { id, window: MAX_WINDOW, packetSize: PACKET_SIZE, state: 'open' },
    outgoing: { id: open.sender, window: open.window, packetSize: open.packetSize, state: 'open' },
  });
  inner._chanMgr.update(id, channel);
  protocolOf(client).channelOpenConfirm(open.sender, id, MAX_WINDOW, PACKET_SIZE);
  return channel;
}

/** Refuses a `chisel` channel open. Nothing else may ever be sent for that channel. */
export function rejectChiselChannel(client: Client, open: ChiselChannelOpen, reason: number, text: string): void {
  protocolOf(client).channelOpenFail(open.sender, reason, text);
}
