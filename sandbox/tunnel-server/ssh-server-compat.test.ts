import { EventEmitter } from 'node:events';
import type { Connection } from 'ssh2';
import { describe, expect, it } from 'vitest';
import type WebSocket from 'ws';
import { parseChiselChannelOpen } from '../../agent/tunnel/ssh-compat';
import {
  encodeChiselChannelOpen,
  pinnedSsh2Version,
  restoreClientIdent,
  serverTransport,
  ssh2Version,
} from './ssh-server-compat';

/** Just enough of a ws WebSocket for WebSocketDuplex. */
class FakeWebSocket extends EventEmitter {
  readyState = 1;
  sent: Buffer[] = [];
  pause(): void {}
  resume(): void {}
  send(data: Buffer, _options: unknown, callback?: () => void): void {
    this.sent.push(data);
    callback?.();
  }
  close(): void {}
  terminate(): void {}
}

describe('ssh2 server compatibility layer', () => {
  it('runs against exactly the pinned ssh2 (the workarounds use its private internals)', () => {
    expect(ssh2Version()).toBe(pinnedSsh2Version);
  });

  it('encodes chisel channel opens with raw host:port data, as the client parses them', () => {
    const packet = encodeChiselChannelOpen(7, 2 * 1024 * 1024, 32 * 1024, 'localhost:6443');
    expect(packet.subarray(0, 11)).toEqual(Buffer.from([90, 0, 0, 0, 6, ...Buffer.from('chisel')]));
    expect(parseChiselChannelOpen(packet)).toEqual({
      sender: 7,
      window: 2 * 1024 * 1024,
      packetSize: 32 * 1024,
      target: 'localhost:6443',
    });
    expect(packet.subarray(-14).toString()).toBe('localhost:6443');
  });

  it("rewrites the Go client's banner for ssh2 and restores the original for the exchange hash", async () => {
    const ws = new FakeWebSocket();
    const transport = serverTransport(ws as unknown as WebSocket);
    const read = new Promise<Buffer>((resolve) => transport.once('data', resolve));
    ws.emit('message', Buffer.from('SSH-chisel-v3-client\r\n'));
    expect((await read).toString()).toBe('SSH-2.0-chisel-v3-client\r\n');
    const connection = { _sock: transport, _protocol: { _remoteIdentRaw: Buffer.from('SSH-2.0-chisel-v3-client') } };
    restoreClientIdent(connection as unknown as Connection);
    expect(connection._protocol._remoteIdentRaw.toString()).toBe('SSH-chisel-v3-client');
  });

  it('sends each write as its own binary message', async () => {
    const ws = new FakeWebSocket();
    const transport = serverTransport(ws as unknown as WebSocket);
    await new Promise<void>((resolve) => transport.write(Buffer.alloc(10), () => resolve()));
    await new Promise<void>((resolve) => transport.write(Buffer.alloc(20), () => resolve()));
    expect(ws.sent.map((b) => b.length)).toEqual([10, 20]);
  });
});
