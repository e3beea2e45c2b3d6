import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { ChiselClient, type ChiselRemote } from './chisel-client';
import {
  freePort,
  generateKey,
  listening,
  probe,
  startEchoTarget,
  startGoChisel,
  type EchoTarget,
  type GoChiselServer,
} from './chisel-test-helpers';

/**
 * The connection lifecycle against the real Go chisel server: whatever way a tunnelled connection ends,
 * the client releases its local socket (fd), and `activeConnections` counts exactly the sockets it holds.
 */

const waitLong = { timeout: 60_000, interval: 100 };
const closeGraceMs = 300;
const mebibyte = 1024 * 1024;

function openFds(): number {
  return readdirSync('/proc/self/fd').length;
}

/** Socket inodes of /proc/net/tcp{,6} entries whose remote port is one of `ports`. */
function tcpInodesTo(ports: readonly number[]): Set<string> {
  const inodes = new Set<string>();
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    const lines = readFileSync(table, 'utf8').trim().split('\n').slice(1);
    for (const line of lines) {
      const fields = line.trim().split(/\s+/);
      const remotePort = Number.parseInt(fields[2]?.split(':')[1] ?? '', 16);
      if (ports.includes(remotePort) && fields[9]) inodes.add(fields[9]);
    }
  }
  return inodes;
}

/** Sockets this process holds open that are connected TO one of `ports` (the client's side, not the target's). */
function socketsHeldTo(ports: readonly number[]): number {
  const inodes = tcpInodesTo(ports);
  let held = 0;
  for (const fd of readdirSync('/proc/self/fd')) {
    try {
      const link = readlinkSync(`/proc/self/fd/${fd}`);
      if (inodes.has(/^socket:\[(\d+)\]$/.exec(link)?.[1] ?? '')) held += 1;
    } catch {
      // closed while we looked
    }
  }
  return held;
}

setFlagsFromString('--expose-gc');
const collectGarbage = runInNewContext('gc') as () => void;

/** Memory held in Buffers/ArrayBuffers after a full collection. */
function bufferMemory(): number {
  collectGarbage();
  return process.memoryUsage().arrayBuffers;
}

/** A target that, like a keep-alive server, never ends its side; `reads: false` also never reads. */
interface StubbornTarget {
  port: number;
  /** Sockets the target still holds (it never closes them itself). */
  open: () => number;
  close: () => Promise<void>;
}

async function startStubbornTarget(mode: { reads: boolean }): Promise<StubbornTarget> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer({ allowHalfOpen: true, pauseOnConnect: !mode.reads }, (socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
    socket.on('error', () => undefined);
    if (mode.reads) socket.on('data', () => socket.write('answer\n'));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as net.AddressInfo).port,
    open: () => sockets.size,
    close: async (): Promise<void> => {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** A user connection to a reverse port: connected, its request written, and a way to close it for good. */
interface UserConnection {
  socket: net.Socket;
  received: () => number;
  destroy: () => Promise<void>;
}

function connectUser(port: number, request: Buffer | string): Promise<UserConnection> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: '127.0.0.1', port });
    const closed = new Promise<void>((done) => socket.once('close', () => done()));
    let received = 0;
    socket.on('data', (chunk: Buffer) => (received += chunk.length));
    socket.once('error', reject);
    socket.once('connect', () => {
      socket.off('error', reject);
      socket.on('error', () => undefined);
      socket.write(request);
      resolve({
        socket,
        received: () => received,
        destroy: async (): Promise<void> => {
          socket.destroy();
          await closed;
        },
      });
    });
  });
}

describe('ChiselClient connection lifecycle against the real Go chisel server', () => {
  let dir: string;
  let keyfile: string;
  let echo: EchoTarget;
  const cleanups: (() => Promise<void>)[] = [];

  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'chisel-lifecycle-'));
    keyfile = path.join(dir, 'key');
    await generateKey(keyfile);
    echo = await startEchoTarget();
  });

  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  afterAll(async () => {
    await echo.close();
    await rm(dir, { recursive: true, force: true });
  });

  async function remote(name: string, targetPort: number): Promise<ChiselRemote> {
    return {
      name,
      remotePort: await freePort(),
      bindHost: '127.0.0.1',
      target: { host: '127.0.0.1', port: targetPort },
    };
  }

  async function goServer(port?: number): Promise<GoChiselServer> {
    const server = await startGoChisel(port ?? (await freePort()), keyfile);
    cleanups.push(() => server.stop());
    return server;
  }

  async function connectedClient(server: GoChiselServer, remotes: ChiselRemote[]): Promise<ChiselClient> {
    const client = new ChiselClient({
      serverUrl: `127.0.0.1:${server.port}`,
      auth: 'user:pass',
      fingerprint: server.fingerprint,
      remotes,
      keepaliveMs: 1_000,
      keepaliveTimeoutMs: 5_000,
      backoff: { baseMs: 50, capMs: 300 },
      closeGraceMs,
    });
    cleanups.push(() => client.stop());
    await client.start();
    for (const forward of remotes) {
      if (forward.target.port === echo.port) await vi.waitFor(() => probe(forward.remotePort), waitLong);
      else await vi.waitFor(async () => expect(await listening(forward.remotePort)).toBe(true), waitLong);
    }
    return client;
  }

  function active(client: ChiselClient): number {
    return client.status().forwards.reduce((sum, forward) => sum + forward.activeConnections, 0);
  }

  it('releases sockets to targets that never end their side, whether they read or not', async () => {
    const server = await goServer();
    const answering = await startStubbornTarget({ reads: true });
    const deaf = await startStubbornTarget({ reads: false });
    cleanups.push(
      () => answering.close(),
      () => deaf.close(),
    );
    const answeringRemote = await remote('answering', answering.port);
    const deafRemote = await remote('deaf', deaf.port);
    const client = await connectedClient(server, [answeringRemote, deafRemote]);
    // fds the client holds, not counting the sockets these targets keep open on purpose.
    const clientFds = (): number => openFds() - answering.open() - deaf.open();
    await vi.waitFor(() => expect(active(client)).toBe(0), waitLong);
    const baseline = clientFds();

    const users: UserConnection[] = [];
    for (let i = 0; i < 30; i++) {
      users.push(await connectUser(answeringRemote.remotePort, 'GET / HTTP/1.1\r\n\r\n'));
      // More than the socket buffers hold, so some of it is still queued when the user goes away.
      users.push(await connectUser(deafRemote.remotePort, Buffer.alloc(4 * mebibyte, 1)));
    }
    await vi.waitFor(() => expect(active(client)).toBe(60), waitLong);
    await vi.waitFor(() => expect(users.filter((u) => u.received() > 0)).toHaveLength(30), waitLong);
    // activeConnections is exactly the sockets the client really holds to the targets.
    expect(socketsHeldTo([answering.port, deaf.port])).toBe(60);

    await Promise.all(users.map((user) => user.destroy()));
    await vi.waitFor(() => {
      expect(active(client)).toBe(0);
      expect(socketsHeldTo([answering.port, deaf.port])).toBe(0);
      // Other parts of the test process may close fds meanwhile; a leak can only add.
      expect(clientFds()).toBeLessThanOrEqual(baseline);
    }, waitLong);
    expect(client.status().state).toBe('connected');
  });

  it('releases every socket and buffer when the server is killed during 12 parallel large transfers', async () => {
    // 12 streams of up to 256 MiB each way through the echo target; the kill comes once 48 MiB went
    // through, so it always lands mid-transfer while the test stays short on a loaded 2-core machine.
    const streams = 12;
    const streamBytes = 256 * mebibyte;
    const killAfterBytes = 48 * mebibyte;
    const port = await freePort();
    const server = await goServer(port);
    const forward = await remote('bulk', echo.port);
    const client = await connectedClient(server, [forward]);
    await vi.waitFor(() => expect(active(client)).toBe(0), waitLong);
    const baselineFds = openFds();
    const baselineBuffers = bufferMemory();

    const chunk = Buffer.alloc(64 * 1024, 7);
    const transfers = Array.from({ length: streams }, async () => {
      const user = await connectUser(forward.remotePort, chunk);
      let sent = chunk.length;
      const pump = (): void => {
        while (sent < streamBytes && !user.socket.destroyed) {
          sent += chunk.length;
          if (!user.socket.write(chunk)) return;
        }
      };
      user.socket.on('drain', pump);
      pump();
      await new Promise<void>((resolve) => user.socket.once('close', () => resolve()));
    });
    await vi.waitFor(() => expect(client.status().forwards[0]?.bytesIn).toBeGreaterThan(killAfterBytes), waitLong);
    expect(active(client)).toBe(streams);
    expect(socketsHeldTo([echo.port])).toBe(streams);
    await server.stop();
    await Promise.all(transfers);
    await vi.waitFor(() => expect(client.status().state).not.toBe('connected'), waitLong);

    const restarted = await goServer(port);
    await vi.waitFor(() => expect(client.status().state).toBe('connected'), waitLong);
    await vi.waitFor(() => probe(forward.remotePort), waitLong);
    await vi.waitFor(() => {
      expect(active(client)).toBe(0);
      expect(socketsHeldTo([echo.port])).toBe(0);
      expect(openFds()).toBeLessThanOrEqual(baselineFds);
    }, waitLong);
    expect(restarted.fingerprint).toBe(server.fingerprint);
    // Whatever was in flight (channel windows, socket queues) is gone, not parked in a stalled pipe.
    expect(bufferMemory() - baselineBuffers).toBeLessThan(16 * mebibyte);
  });

  it('comes back to its baseline after 1,000 short connections to echo and keep-alive targets', async () => {
    const server = await goServer();
    const keepAlive = await startStubbornTarget({ reads: true });
    cleanups.push(() => keepAlive.close());
    const echoRemote = await remote('echo', echo.port);
    const keepAliveRemote = await remote('keep-alive', keepAlive.port);
    const client = await connectedClient(server, [echoRemote, keepAliveRemote]);
    const clientFds = (): number => openFds() - keepAlive.open();
    await vi.waitFor(() => expect(active(client)).toBe(0), waitLong);
    const baseline = clientFds();
    const before = client.status().forwards.reduce((sum, f) => sum + f.totalConnections, 0);

    const total = 1_000;
    const concurrency = 20;
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < total) {
        const index = next++;
        const port = index % 2 === 0 ? echoRemote.remotePort : keepAliveRemote.remotePort;
        const user = await connectUser(port, 'ping\n');
        await vi.waitFor(() => expect(user.received()).toBeGreaterThan(0), waitLong);
        await user.destroy();
      }
    };
    await Promise.all(Array.from({ length: concurrency }, worker));

    await vi.waitFor(() => {
      expect(active(client)).toBe(0);
      expect(socketsHeldTo([echo.port, keepAlive.port])).toBe(0);
      expect(clientFds()).toBeLessThanOrEqual(baseline);
    }, waitLong);
    const after = client.status().forwards.reduce((sum, f) => sum + f.totalConnections, 0);
    expect(after - before).toBe(total);
  });

  it('keeps one drain listener however many sockets wait on a congested WebSocket', async () => {
    const emitWarning = vi.spyOn(process, 'emitWarning');
    cleanups.push(async () => {
      emitWarning.mockRestore();
    });
    const source = await startSourceTarget(8 * mebibyte);
    cleanups.push(() => source.close());
    const server = await goServer();
    const forward = await remote('source', source.port);
    const client = await connectedClient(server, [forward]);
    const downloads = Array.from({ length: 32 }, () => download(forward.remotePort));
    await vi.waitFor(() => expect(source.connected()).toBe(32), waitLong);
    // A server that stops reading makes the WebSocket queue grow until every socket is paused on it.
    server.signal('SIGSTOP');
    source.release();
    await vi.waitFor(() => expect(source.blocked()).toBeGreaterThanOrEqual(20), waitLong);
    server.signal('SIGCONT');
    const sizes = await Promise.all(downloads);
    expect(sizes).toEqual(sizes.map(() => 8 * mebibyte));
    await vi.waitFor(() => expect(active(client)).toBe(0), waitLong);
    const warnings = emitWarning.mock.calls.map(([warning]) => String(warning));
    expect(warnings.filter((warning) => warning.includes('MaxListenersExceeded'))).toEqual([]);
  });
});

interface SourceTarget {
  port: number;
  connected: () => number;
  /** Starts sending on every connection, present and future. */
  release: () => void;
  /** Connections whose last write was refused (the client stopped reading them). */
  blocked: () => number;
  close: () => Promise<void>;
}

/** A target that, once released, sends `bytes` to every connection as fast as it can, then ends. */
async function startSourceTarget(bytes: number): Promise<SourceTarget> {
  const chunk = Buffer.alloc(256 * 1024, 3);
  const sockets = new Set<net.Socket>();
  const blocked = new Set<net.Socket>();
  const pumps: (() => void)[] = [];
  let released = false;
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
    socket.on('error', () => undefined);
    let sent = 0;
    const pump = (): void => {
      blocked.delete(socket);
      while (sent < bytes) {
        const piece = chunk.subarray(0, Math.min(chunk.length, bytes - sent));
        sent += piece.length;
        if (!socket.write(piece)) {
          blocked.add(socket);
          return;
        }
      }
      socket.end();
    };
    socket.on('drain', pump);
    if (released) pump();
    else pumps.push(pump);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as net.AddressInfo).port,
    connected: () => sockets.size,
    release: (): void => {
      released = true;
      for (const pump of pumps.splice(0)) pump();
    },
    blocked: () => blocked.size,
    close: async (): Promise<void> => {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** Reads a reverse port to its end and returns how many bytes came. */
function download(port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: '127.0.0.1', port });
    let received = 0;
    socket.on('data', (chunk: Buffer) => (received += chunk.length));
    socket.once('error', reject);
    socket.once('end', () => {
      socket.destroy();
      resolve(received);
    });
  });
}
