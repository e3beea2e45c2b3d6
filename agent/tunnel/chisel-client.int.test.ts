import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { ChiselClient, type ChiselClientOptions, type ChiselRemote } from './chisel-client';
import {
  freePort,
  generateKey,
  probe,
  roundTrip,
  sha256,
  startEchoTarget,
  startGoChisel,
  type EchoTarget,
  type GoChiselServer,
} from './chisel-test-helpers';

const waitLong = { timeout: 60_000, interval: 200 };

describe('ChiselClient against the real Go chisel server', () => {
  let dir: string;
  let keyfile: string;
  let server: GoChiselServer;
  let echo: EchoTarget;
  const clients: ChiselClient[] = [];

  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'chisel-int-'));
    keyfile = path.join(dir, 'key');
    await generateKey(keyfile);
    server = await startGoChisel(await freePort(), keyfile);
    echo = await startEchoTarget();
  });

  afterEach(async () => {
    await Promise.all(clients.splice(0).map((client) => client.stop()));
  });

  afterAll(async () => {
    await server.stop();
    await echo.close();
    await rm(dir, { recursive: true, force: true });
  });

  async function remote(name: string, port = echo.port): Promise<ChiselRemote> {
    return { name, remotePort: await freePort(), bindHost: '127.0.0.1', target: { host: '127.0.0.1', port } };
  }

  function client(overrides: Partial<ChiselClientOptions> & { remotes: ChiselRemote[] }): ChiselClient {
    const created = new ChiselClient({
      serverUrl: `http://127.0.0.1:${server.port}`,
      auth: 'user:pass',
      fingerprint: server.fingerprint,
      keepaliveMs: 1_000,
      keepaliveTimeoutMs: 5_000,
      backoff: { baseMs: 100, capMs: 500 },
      ...overrides,
    });
    clients.push(created);
    return created;
  }

  it('moves 64 MiB each way through a reverse port with identical SHA-256', async () => {
    const forward = await remote('big');
    const tunnel = client({ remotes: [forward] });
    await tunnel.start();
    await vi.waitFor(() => probe(forward.remotePort), waitLong);
    const payload = randomBytes(64 * 1024 * 1024);
    const started = performance.now();
    const echoed = await roundTrip(forward.remotePort, payload);
    const seconds = (performance.now() - started) / 1000;
    console.log(`64 MiB each way in ${seconds.toFixed(2)} s (${((2 * 64) / seconds).toFixed(1)} MiB/s total)`);
    expect(echoed).toBe(sha256(payload));
    await vi.waitFor(() => expect(echo.received).toContain(sha256(payload)), waitLong);
    const status = tunnel.status().forwards[0];
    expect(status?.bytesIn).toBeGreaterThanOrEqual(payload.length);
    expect(status?.bytesOut).toBeGreaterThanOrEqual(payload.length);
  });

  it('carries 200 concurrent connections over 3 forwards without corruption', async () => {
    const forwards = [await remote('a'), await remote('b'), await remote('c')];
    const tunnel = client({ remotes: forwards });
    await tunnel.start();
    for (const forward of forwards) await vi.waitFor(() => probe(forward.remotePort), waitLong);
    const jobs = Array.from({ length: 200 }, (_, index) => {
      const data = randomBytes(16 * 1024 + ((index * 7919) % (256 * 1024)));
      const port = forwards[index % forwards.length]?.remotePort ?? 0;
      return roundTrip(port, data).then((digest) => expect(digest).toBe(sha256(data)));
    });
    await Promise.all(jobs);
    const total = tunnel.status().forwards.reduce((sum, forward) => sum + forward.totalConnections, 0);
    expect(total).toBeGreaterThanOrEqual(200);
    await vi.waitFor(
      () => expect(tunnel.status().forwards.every((f) => f.activeConnections === 0)).toBe(true),
      waitLong,
    );
  });

  it('refuses a wrong host key fingerprint with a clear error', async () => {
    const wrong = Buffer.alloc(32, 7).toString('base64');
    const tunnel = client({ remotes: [await remote('fp')], fingerprint: wrong });
    await expect(tunnel.start()).rejects.toThrow(
      `host key fingerprint mismatch: expected ${wrong}, got ${server.fingerprint}`,
    );
    expect(tunnel.status().state).toBe('failed');
  });

  it('refuses a wrong password with a clear error', async () => {
    const tunnel = client({ remotes: [await remote('auth')], auth: 'user:wrong' });
    await expect(tunnel.start()).rejects.toThrow('authentication failed');
    expect(tunnel.status().state).toBe('failed');
  });

  it('refuses a channel to a target outside the allow-list and keeps the tunnel up', async () => {
    const allowed = await remote('allowed');
    const denied = await remote('denied', await freePort());
    const tunnel = client({ remotes: [allowed, denied], allowedTargets: [allowed.target] });
    await tunnel.start();
    await vi.waitFor(() => probe(allowed.remotePort), waitLong);
    await expect(roundTrip(denied.remotePort, randomBytes(1024))).rejects.toThrow(/closed after 0|ECONNRESET/);
    await vi.waitFor(
      () => expect(tunnel.status().forwards.find((f) => f.name === 'denied')?.refusedConnections).toBe(1),
      waitLong,
    );
    const status = tunnel.status();
    expect(status.lastError).toMatch(/refused channel to 127\.0\.0\.1:\d+: target not in the allow-list/);
    await probe(allowed.remotePort);
    expect(tunnel.status().state).toBe('connected');
    expect(echo.connections()).toBeGreaterThan(0);
  });

  it('reconnects after the Go server restarts and re-binds the remote ports', async () => {
    const port = await freePort();
    const own = await startGoChisel(port, keyfile);
    const forward = await remote('restart');
    const tunnel = client({ remotes: [forward], serverUrl: `127.0.0.1:${port}`, fingerprint: own.fingerprint });
    try {
      await tunnel.start();
      await vi.waitFor(() => probe(forward.remotePort), waitLong);
      await own.stop();
      await vi.waitFor(() => expect(tunnel.status().state).not.toBe('connected'), waitLong);
      const restarted = await startGoChisel(port, keyfile);
      try {
        expect(restarted.fingerprint).toBe(own.fingerprint);
        await vi.waitFor(() => expect(tunnel.status().state).toBe('connected'), waitLong);
        await vi.waitFor(() => probe(forward.remotePort), waitLong);
        expect(tunnel.status().sessions).toBeGreaterThanOrEqual(2);
      } finally {
        await tunnel.stop();
        await restarted.stop();
      }
    } finally {
      await own.stop();
    }
  });

  it('drops a link whose server stopped answering (keepalive timeout) and reconnects when it answers again', async () => {
    const port = await freePort();
    const silent = await startGoChisel(port, keyfile);
    const forward = await remote('silent');
    const tunnel = client({
      remotes: [forward],
      serverUrl: `127.0.0.1:${port}`,
      fingerprint: silent.fingerprint,
      keepaliveMs: 500,
      keepaliveTimeoutMs: 1_000,
    });
    try {
      await tunnel.start();
      await vi.waitFor(() => probe(forward.remotePort), waitLong);
      silent.signal('SIGSTOP');
      await vi.waitFor(() => expect(tunnel.status().state).not.toBe('connected'), waitLong);
      expect(tunnel.status().errors.map((e) => e.message)).toContain('tunnel lost: keepalive timeout');
      silent.signal('SIGCONT');
      await vi.waitFor(() => expect(tunnel.status().state).toBe('connected'), waitLong);
      await vi.waitFor(() => probe(forward.remotePort), waitLong);
    } finally {
      await tunnel.stop();
      await silent.stop();
    }
  });
});
