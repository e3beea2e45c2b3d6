import net from 'node:net';
import { Server, utils } from 'ssh2';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { WebSocketServer } from 'ws';
import { ChiselClient } from './chisel-client';
import { WebSocketDuplex } from './ws-stream';

/**
 * An SSH-over-WebSocket server that authenticates anyone and then drops the connection the moment the
 * client sends its first request (chisel's `config`), before any reply: a server that restarts or
 * crashes while the config is pending.
 */
async function startServerDroppingConfig(): Promise<{ port: number; close: () => Promise<void> }> {
  const hostKey = utils.generateKeyPairSync('ed25519').private;
  const ssh = new Server({ hostKeys: [hostKey] }, (connection) => {
    connection.on('authentication', (context) => context.accept());
    connection.on('error', () => undefined);
  });
  // The Go server never echoes the subprotocol back; ws would otherwise answer with it.
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0, handleProtocols: () => false });
  wss.on('connection', (ws) => {
    let authenticated = false;
    const duplex = new WebSocketDuplex(ws, (chunk) => {
      if (!authenticated) return chunk;
      ws.terminate();
      return Buffer.alloc(0);
    });
    duplex.on('error', () => undefined);
    ssh.once('connection', (connection) => connection.once('ready', () => (authenticated = true)));
    ssh.injectSocket(duplex as unknown as net.Socket);
  });
  await new Promise<void>((resolve) => wss.once('listening', () => resolve()));
  return {
    port: (wss.address() as net.AddressInfo).port,
    close: async (): Promise<void> => {
      for (const client of wss.clients) client.terminate();
      await new Promise<void>((resolve) => wss.close(() => resolve()));
    },
  };
}

describe('ChiselSession config handshake', () => {
  const cleanups: (() => Promise<void>)[] = [];

  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  it('reports a server that closes while config is pending as a closed connection, not a rejection', async () => {
    const server = await startServerDroppingConfig();
    cleanups.push(() => server.close());
    const client = new ChiselClient({
      serverUrl: `ws://127.0.0.1:${server.port}`,
      auth: 'user:pass',
      allowInsecureHostKey: true,
      remotes: [{ name: 'api', remotePort: 9000, target: { host: '127.0.0.1', port: 1 } }],
      backoff: { baseMs: 50, capMs: 200 },
    });
    cleanups.push(() => client.stop());
    void client.start().catch(() => undefined);
    await vi.waitFor(() => expect(client.status().errors.length).toBeGreaterThan(0), { timeout: 30_000 });
    const messages = client.status().errors.map((error) => error.message);
    expect(messages[0]).toBe('server closed the connection before answering config');
    expect(messages.some((message) => message.startsWith('config rejected'))).toBe(false);
  });
});
