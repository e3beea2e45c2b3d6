import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { loadConfig, requireRuntimeConfig } from '../config/load';
import { ControlPlaneTransport } from '../controlplane/transport';
import { createLogger } from '../logging/logger';
import { AgentMetrics } from '../metrics/agent-metrics';
import { decodeCredentials, TunnelManager } from './tunnel-manager';

/** A loopback stand-in for the control plane's tunnel status route that answers whatever a test sets. */
async function statusServer(): Promise<{
  url: string;
  reply: (status: number, body: string) => void;
  close: () => Promise<void>;
}> {
  let answer = { status: 200, body: '{}' };
  const server = http.createServer((_req, res) => {
    res.writeHead(answer.status, { 'Content-Type': 'application/json' });
    res.end(answer.body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    reply: (status, body) => (answer = { status, body }),
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

const patiently = { timeout: 30_000, interval: 50 };

const validReply = {
  status: 'REQUIRED',
  forwards: [{ name: 'api', remote_port: 40000 }],
  credentials: Buffer.from('user:pass').toString('base64'),
  poll_frequency: 1,
  tunnel_server_addr: 'http://127.0.0.1:1',
  server_fingerprint: 'x'.repeat(43) + '=',
};

describe('TunnelManager', () => {
  const cleanups: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  async function manager(): Promise<{
    tunnel: TunnelManager;
    metrics: AgentMetrics;
    reply: (s: number, b: string) => void;
  }> {
    const server = await statusServer();
    const config = requireRuntimeConfig(
      loadConfig({
        cwd: '/nonexistent',
        env: { PIPEOPS_API_URL: server.url, PIPEOPS_TOKEN: 't', PIPEOPS_CLUSTER_NAME: 'c' },
      }),
    );
    const metrics = new AgentMetrics();
    const tunnel = new TunnelManager({
      transport: new ControlPlaneTransport(config),
      agentId: () => 'agent-1',
      forwards: [{ name: 'api', target: { host: '127.0.0.1', port: 6443 }, fixedRemotePort: 0, source: 'default' }],
      skipped: [],
      inactivityTimeoutMs: 60_000,
      keepaliveMs: 25_000,
      allowUnpinnedHostKey: false,
      tls: undefined,
      logger: createLogger('silent', {}),
      metrics,
      onChange: () => undefined,
    });
    cleanups.push(server.close, () => tunnel.stop());
    return { tunnel, metrics, reply: server.reply };
  }

  it('drops malformed replies with the reason and keeps the tunnel as it was', async () => {
    const { tunnel, metrics, reply } = await manager();
    reply(200, JSON.stringify({ ...validReply, tunnel_server_addr: '' }));
    tunnel.start();
    await vi.waitFor(() => expect(tunnel.status().state).toBe('waiting'), patiently);
    reply(200, JSON.stringify({ ...validReply, status: 'OPEN' }));
    await vi.waitFor(
      () => expect(tunnel.status().lastPollError).toMatch(/^tunnel status reply rejected: status: /),
      patiently,
    );
    expect(tunnel.status()).toMatchObject({ state: 'waiting', controlPlaneStatus: 'REQUIRED' });
    expect(await metrics.registry.getSingleMetricAsString('pipeops_control_messages_rejected_total')).toMatch(
      /reason="tunnel_status"} [1-9]/,
    );
    reply(200, 'not json');
    await vi.waitFor(() => expect(tunnel.status().lastPollError).toBe('tunnel status reply is not JSON'), patiently);
    reply(503, '{}');
    await vi.waitFor(
      () => expect(tunnel.status().lastPollError).toBe('tunnel status poll answered HTTP 503'),
      patiently,
    );
  });

  it('refuses an unpinned host key and credentials that are not user:pass', async () => {
    const { tunnel, reply } = await manager();
    reply(200, JSON.stringify({ ...validReply, server_fingerprint: '' }));
    tunnel.start();
    await vi.waitFor(() => expect(tunnel.status().state).toBe('failed'), patiently);
    expect(tunnel.status().reason).toBe('the control plane sent no server_fingerprint; refusing an unpinned tunnel');
    reply(200, JSON.stringify({ ...validReply, credentials: Buffer.from('nocolon').toString('base64') }));
    await vi.waitFor(
      () =>
        expect(tunnel.status().reason).toBe(
          'the control plane sent tunnel credentials that are not base64 of user:pass',
        ),
      patiently,
    );
  });

  it('waits, with the reason, while the control plane has no tunnel server or no port for any forward', async () => {
    const { tunnel, reply } = await manager();
    reply(200, JSON.stringify({ ...validReply, tunnel_server_addr: '' }));
    tunnel.start();
    await vi.waitFor(
      () => expect(tunnel.status().reason).toBe('the control plane has no tunnel server address yet'),
      patiently,
    );
    expect(tunnel.status().state).toBe('waiting');
    reply(200, JSON.stringify({ ...validReply, forwards: [] }));
    await vi.waitFor(
      () => expect(tunnel.status().reason).toBe('the control plane has not allocated a remote port for any forward'),
      patiently,
    );
    expect(tunnel.status().forwards[0]).toMatchObject({ name: 'api', state: 'waiting-for-port' });
  });
});

describe('decodeCredentials', () => {
  it('splits nothing but requires user:pass', () => {
    expect(decodeCredentials(Buffer.from('u:p:with:colons').toString('base64'))).toBe('u:p:with:colons');
    expect(decodeCredentials(Buffer.from('no-colon').toString('base64'))).toBeUndefined();
    expect(decodeCredentials('')).toBeUndefined();
  });
});
