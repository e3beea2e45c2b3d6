import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { ChiselClient, type ChiselRemote } from '../../agent/tunnel/chisel-client';
import {
  chiselBinary,
  freePort,
  generateKey,
  probe,
  roundTrip,
  sha256,
  startEchoTarget,
  startGoChisel,
  type EchoTarget,
} from '../../agent/tunnel/chisel-test-helpers';
import { loadHostKey } from './host-key';
import { startTunnelServer, type TunnelServer, type TunnelServerOptions } from './server';

const waitLong = { timeout: 60_000, interval: 200 };
const mib64 = 64 * 1024 * 1024;

interface GoClient {
  child: ChildProcess;
  stderr: () => string;
  exited: Promise<number | null>;
}

const goClients: GoClient[] = [];

/** Runs the real Go `chisel client` against a server URL. */
function goClient(args: string[]): GoClient {
  const child = spawn(chiselBinary, ['client', ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const client = { child, stderr: () => stderr, exited };
  goClients.push(client);
  return client;
}

function canBind(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

function timed<T>(label: string, bytes: number, run: () => Promise<T>): Promise<T> {
  const started = performance.now();
  return run().then((result) => {
    const seconds = (performance.now() - started) / 1000;
    console.log(
      `${label}: ${seconds.toFixed(2)} s (${((2 * bytes) / 1024 / 1024 / seconds).toFixed(1)} MiB/s both ways)`,
    );
    return result;
  });
}

describe('reference tunnel server with real chisel peers', () => {
  let dir: string;
  let keyfile: string;
  let echo: EchoTarget;
  let server: TunnelServer;
  const extraServers: TunnelServer[] = [];
  const clients: ChiselClient[] = [];
  let aclPort: number;

  async function ownServer(options: TunnelServerOptions): Promise<TunnelServer> {
    const started = await startTunnelServer({ keyFile: keyfile, ...options });
    extraServers.push(started);
    return started;
  }

  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'tsrv-int-'));
    keyfile = path.join(dir, 'key');
    await generateKey(keyfile);
    echo = await startEchoTarget();
    aclPort = await freePort();
    server = await startTunnelServer({
      keyFile: keyfile,
      users: { 'user:pass': [''], 'acl:pw': [`^R:127\\.0\\.0\\.1:${aclPort}$`] },
      keepaliveMs: 2_000,
    });
  });

  afterEach(async () => {
    for (const client of goClients.splice(0)) {
      if (client.child.exitCode === null && client.child.signalCode === null) client.child.kill('SIGKILL');
      await client.exited;
    }
    await Promise.all(clients.splice(0).map((client) => client.stop()));
    await Promise.all(extraServers.splice(0).map((s) => s.stop()));
  });

  afterAll(async () => {
    await server.stop();
    await echo.close();
    await rm(dir, { recursive: true, force: true });
  });

  async function goTunnel(s: TunnelServer, extra: string[] = []): Promise<{ port: number; client: GoClient }> {
    const port = await freePort();
    const client = goClient([
      ...extra,
      '--fingerprint',
      s.fingerprint,
      '--auth',
      'user:pass',
      s.url,
      `R:127.0.0.1:${port}:127.0.0.1:${echo.port}`,
    ]);
    await vi.waitFor(() => probe(port), waitLong);
    return { port, client };
  }

  it('reads a chisel --keygen keyfile with the fingerprint the Go server prints', async () => {
    const go = await startGoChisel(await freePort(), keyfile);
    try {
      expect(server.fingerprint).toBe(go.fingerprint);
      expect((await loadHostKey(keyfile)).fingerprint).toBe(go.fingerprint);
    } finally {
      await go.stop();
    }
  });

  it('Go client: 64 MiB each way with identical SHA-256', async () => {
    const { port } = await goTunnel(server);
    const payload = randomBytes(mib64);
    const echoed = await timed('Go client, 64 MiB', mib64, () => roundTrip(port, payload));
    expect(echoed).toBe(sha256(payload));
    await vi.waitFor(() => expect(echo.received).toContain(sha256(payload)), waitLong);
    const stats = server
      .sessions()
      .flatMap((session) => session.remotes)
      .find((r) => r.port === port);
    expect(stats?.bytesIn).toBeGreaterThanOrEqual(mib64);
    expect(stats?.bytesOut).toBeGreaterThanOrEqual(mib64);
  });

  it('Go client: 120 concurrent connections without corruption', async () => {
    const { port } = await goTunnel(server);
    const jobs = Array.from({ length: 120 }, (_, index) => {
      const data = randomBytes(8 * 1024 + ((index * 7919) % (192 * 1024)));
      return roundTrip(port, data).then((digest) => expect(digest).toBe(sha256(data)));
    });
    await Promise.all(jobs);
    const stats = server
      .sessions()
      .flatMap((session) => session.remotes)
      .find((r) => r.port === port);
    expect(stats?.totalConnections).toBeGreaterThanOrEqual(121);
    await vi.waitFor(() => {
      const now = server
        .sessions()
        .flatMap((session) => session.remotes)
        .find((r) => r.port === port);
      expect(now?.activeConnections).toBe(0);
    }, waitLong);
  });

  it('Go client: a wrong password fails authentication', async () => {
    const port = await freePort();
    const failing = goClient([
      '--max-retry-count',
      '0',
      '--fingerprint',
      server.fingerprint,
      '--auth',
      'user:nope',
      server.url,
      `R:127.0.0.1:${port}:127.0.0.1:${echo.port}`,
    ]);
    await failing.exited;
    expect(failing.stderr()).toContain('client: Authentication failed');
    expect(failing.stderr()).toContain('ssh: unable to authenticate, attempted methods [none password]');
  });

  it("Go client: the ACL denial text reaches the client's stderr", async () => {
    const denied = await freePort();
    const client = goClient([
      '--max-retry-count',
      '0',
      '--fingerprint',
      server.fingerprint,
      '--auth',
      'acl:pw',
      server.url,
      `R:127.0.0.1:${denied}:127.0.0.1:${echo.port}`,
    ]);
    await client.exited;
    expect(client.stderr()).toContain(`Connection error: server: access to 'R:127.0.0.1:${denied}' denied`);
  });

  it('Go client: refuses a server whose fingerprint does not match', async () => {
    const wrong = Buffer.alloc(32, 9).toString('base64');
    const client = goClient([
      '--max-retry-count',
      '0',
      '--fingerprint',
      wrong,
      '--auth',
      'user:pass',
      server.url,
      `R:127.0.0.1:${await freePort()}:127.0.0.1:${echo.port}`,
    ]);
    await client.exited;
    expect(client.stderr()).toContain(`Invalid fingerprint (${server.fingerprint})`);
  });

  it('drops a Go client that stops answering pings and frees its port for a new session', async () => {
    const s = await ownServer({ keepaliveMs: 500 });
    const reasons: string[] = [];
    s.on('session-close', (_info, reason) => reasons.push(reason));
    const { port, client } = await goTunnel(s, ['--keepalive', '0s']);
    client.child.kill('SIGSTOP');
    try {
      await vi.waitFor(() => expect(reasons).toEqual(['keepalive timeout']), waitLong);
      expect(s.sessions()).toEqual([]);
      expect(await canBind(port)).toBe(true);
    } finally {
      client.child.kill('SIGKILL');
    }
    const again = goClient(['--fingerprint', s.fingerprint, s.url, `R:127.0.0.1:${port}:127.0.0.1:${echo.port}`]);
    await vi.waitFor(() => probe(port), waitLong);
    expect(again.child.exitCode).toBeNull();
  });

  function remote(port: number): ChiselRemote {
    return { name: 'r', remotePort: port, bindHost: '127.0.0.1', target: { host: '127.0.0.1', port: echo.port } };
  }

  function chiselClient(url: string, fingerprint: string, remotes: ChiselRemote[], auth = 'user:pass'): ChiselClient {
    const client = new ChiselClient({
      serverUrl: url,
      auth,
      fingerprint,
      remotes,
      keepaliveMs: 1_000,
      keepaliveTimeoutMs: 5_000,
      backoff: { baseMs: 100, capMs: 500 },
    });
    clients.push(client);
    return client;
  }

  it('ChiselClient: 64 MiB each way with identical SHA-256', async () => {
    const forward = remote(await freePort());
    await chiselClient(server.url, server.fingerprint, [forward]).start();
    await vi.waitFor(() => probe(forward.remotePort), waitLong);
    const payload = randomBytes(mib64);
    const echoed = await timed('ChiselClient, 64 MiB', mib64, () => roundTrip(forward.remotePort, payload));
    expect(echoed).toBe(sha256(payload));
  });

  it('ChiselClient: an ACL denial surfaces as config rejected', async () => {
    const denied = await freePort();
    const client = chiselClient(server.url, server.fingerprint, [remote(denied)], 'acl:pw');
    void client.start().catch(() => undefined);
    await vi.waitFor(
      () => expect(client.status().lastError).toBe(`config rejected: server: access to 'R:127.0.0.1:${denied}' denied`),
      waitLong,
    );
  });

  it('ChiselClient: reconnects after the server restarts with the same keyfile', async () => {
    const port = await freePort();
    const first = await ownServer({ port });
    const forward = remote(await freePort());
    const client = chiselClient(first.url, first.fingerprint, [forward]);
    await client.start();
    await vi.waitFor(() => probe(forward.remotePort), waitLong);
    await first.stop();
    expect(await canBind(forward.remotePort)).toBe(true);
    await vi.waitFor(() => expect(client.status().state).not.toBe('connected'), waitLong);
    const second = await ownServer({ port });
    expect(second.fingerprint).toBe(first.fingerprint);
    await vi.waitFor(() => expect(client.status().state).toBe('connected'), waitLong);
    await vi.waitFor(() => probe(forward.remotePort), waitLong);
    expect(client.status().sessions).toBeGreaterThanOrEqual(2);
    expect(second.sessions()).toHaveLength(1);
  });

  it('serves wss with --tls-cert/--tls-key to the Go client and ChiselClient', async () => {
    const cert = path.join(dir, 'tls.crt');
    const key = path.join(dir, 'tls.key');
    await promisify(execFile)('openssl', [
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:prime256v1',
      '-nodes',
      '-days',
      '1',
      '-subj',
      '/CN=localhost',
      '-addext',
      'subjectAltName=IP:127.0.0.1',
      '-keyout',
      key,
      '-out',
      cert,
    ]);
    const tls = { cert: await readFile(cert), key: await readFile(key) };
    const s = await ownServer({ tls });
    expect(s.url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
    const { port } = await goTunnel(s, ['--tls-ca', cert]);
    await probe(port);
    const forward = remote(await freePort());
    const client = new ChiselClient({
      serverUrl: s.url,
      auth: 'user:pass',
      fingerprint: s.fingerprint,
      remotes: [forward],
      tls: { ca: tls.cert },
    });
    clients.push(client);
    await client.start();
    await vi.waitFor(() => probe(forward.remotePort), waitLong);
    expect(s.sessions()).toHaveLength(2);
  });
});
