import { Writable } from 'node:stream';
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import type { FaultsInput } from '../../sandbox/control-plane/faults';
import { loadConfig, requireRuntimeConfig } from '../config/load';
import { createLogger, type Logger } from '../logging/logger';
import { AgentMetrics } from '../metrics/agent-metrics';
import { startTestControlPlane, agentToken, type TestControlPlane } from '../testing/harness';
import { TunnelManager } from '../tunnel/tunnel-manager';
import { ControlLink, maxBufferedBytes } from './control-link';
import { maxMessageBytes, type HeartbeatPayload, type RegisterRequest } from './protocol';
import { registerCluster, RegistrationLoop } from './registration';
import { ControlPlaneTransport, TransportError } from './transport';

/**
 * Each finding of issue 12 against the reference control plane's fault switches: a hostile reply is one
 * logged rejection, never a crash, a stuck loop, a storm, a leak of our token or unbounded memory.
 */

const patiently = { timeout: 30_000, interval: 20 };

interface Captured {
  logger: Logger;
  lines: Record<string, unknown>[];
  messages: () => string[];
}

function capture(): Captured {
  const lines: Record<string, unknown>[] = [];
  const stream = new Writable({
    write(chunk, _encoding, done) {
      lines.push(JSON.parse(String(chunk)) as Record<string, unknown>);
      done();
    },
  });
  return { logger: createLogger('debug', {}, stream), lines, messages: () => lines.map((l) => String(l.msg)) };
}

function transportFor(url: string, env: Record<string, string> = {}): ControlPlaneTransport {
  const config = requireRuntimeConfig(
    loadConfig({
      cwd: '/nonexistent',
      env: { PIPEOPS_API_URL: url, PIPEOPS_TOKEN: agentToken, PIPEOPS_CLUSTER_NAME: 'faults', ...env },
    }),
  );
  return new ControlPlaneTransport(config);
}

function registerBody(agentId: string): RegisterRequest {
  return {
    agent_id: agentId,
    name: 'faults',
    k8s_version: 'v1.36.3',
    hostname: 'test',
    agent_version: 'test',
    k8s_service_token: '',
    tunnel_port_config: {},
    labels: {},
    metadata: {},
  };
}

const validRegisterReply = JSON.stringify({
  cluster_id: 'c-1',
  cluster_uuid: 'c-1',
  name: 'faults',
  status: 'registered',
});

describe('control-plane faults (reference control plane)', { timeout: 60_000 }, () => {
  let cp: TestControlPlane;
  const faults = (request: FaultsInput): Promise<unknown> => cp.admin('/admin/faults', request);

  beforeAll(async () => {
    cp = await startTestControlPlane({ pingIntervalMs: 60_000 });
  });
  afterAll(async () => {
    await cp.stop();
  });
  beforeEach(async () => {
    await faults({
      reply_override: null,
      ws_cluster_not_found: false,
      stop_reading: false,
      refuse_websocket: false,
      heartbeat_http_status: null,
      register_status: null,
    });
  });

  async function registered(transport: ControlPlaneTransport, agentId: string): Promise<{ uuid: string }> {
    const outcome = await registerCluster(transport, registerBody(agentId));
    if (outcome.kind !== 'registered') throw new Error(`not registered: ${JSON.stringify(outcome)}`);
    return { uuid: outcome.response.cluster_uuid };
  }

  function link(
    transport: ControlPlaneTransport,
    options: { clusterUuid: string; agentId: string; onClusterUnknown?: () => Promise<void>; intervalMs?: number },
  ): { link: ControlLink; metrics: AgentMetrics; log: Captured } {
    const log = capture();
    const metrics = new AgentMetrics();
    const heartbeat = (): HeartbeatPayload => ({
      cluster_id: options.clusterUuid,
      agent_id: options.agentId,
      status: 'healthy',
      tunnel_status: 'disabled',
      metadata: { k8s_nodes: 0, k8s_pods: 0, agent_version: 'test', k8s_version: 'v1.36.3' },
    });
    const controlLink = new ControlLink({
      transport,
      heartbeatIntervalMs: options.intervalMs ?? 200,
      backoff: { baseMs: 200, capMs: 2_000 },
      rejectedRetryMs: 60_000,
      httpFallbackMs: 60_000,
      clusterUuid: () => options.clusterUuid,
      buildHeartbeat: heartbeat,
      onClusterUnknown: options.onClusterUnknown ?? (() => Promise.resolve()),
      logger: log.logger,
      metrics,
    });
    return { link: controlLink, metrics, log };
  }

  it('#2 rejects a tunnel_server_addr with port 70000 at the schema: one logged rejection, no crash', async () => {
    const transport = transportFor(cp.url);
    await registered(transport, 'agent-tunnel-port');
    await faults({
      reply_override: {
        route: 'tunnel_status',
        status: 200,
        body: JSON.stringify({
          status: 'REQUIRED',
          forwards: [{ name: 'api', remote_port: 40000 }],
          credentials: Buffer.from('u:p').toString('base64'),
          poll_frequency: 1,
          tunnel_server_addr: 'http://127.0.0.1:70000',
          server_fingerprint: 'x'.repeat(43) + '=',
        }),
      },
    });
    const log = capture();
    const metrics = new AgentMetrics();
    const tunnel = new TunnelManager({
      transport,
      agentId: () => 'agent-tunnel-port',
      forwards: [{ name: 'api', target: { host: '127.0.0.1', port: 6443 }, fixedRemotePort: 0, source: 'default' }],
      skipped: [],
      inactivityTimeoutMs: 60_000,
      keepaliveMs: 25_000,
      allowUnpinnedHostKey: false,
      tls: undefined,
      logger: log.logger,
      metrics,
      onChange: () => undefined,
    });
    tunnel.start();
    await vi.waitFor(
      () => expect(tunnel.status().lastPollError).toContain('tunnel_server_addr: port 70000 is outside 1–65535'),
      patiently,
    );
    await vi.waitFor(async () => {
      const rejected = await metrics.registry.getSingleMetricAsString('pipeops_control_messages_rejected_total');
      expect(rejected).toMatch(/reason="tunnel_status"} [2-9]/);
    }, patiently);
    await tunnel.stop();
    expect(tunnel.status().state).toBe('idle');
    expect(log.messages().filter((m) => m === 'tunnel status poll failed')).toHaveLength(1);
  });

  it('#3 rejects a register reply whose cluster_uuid is not a safe path segment (lone surrogate)', async () => {
    const transport = transportFor(cp.url);
    await faults({
      reply_override: {
        route: 'register',
        status: 200,
        body: '{"cluster_id":"c-1","cluster_uuid":"\\ud800","name":"x","status":"registered"}',
        times: 1,
      },
    });
    const outcome = await registerCluster(transport, registerBody('agent-surrogate'));
    expect(outcome.kind).toBe('retry');
    expect(outcome.kind === 'retry' && outcome.reason).toMatch(/^malformed reply: cluster_uuid: must be 1–128 /);
    expect((await registerCluster(transport, registerBody('agent-surrogate'))).kind).toBe('registered');
  });

  it('#3 restarts a link loop that fails unexpectedly instead of leaving it dead', async () => {
    const transport = transportFor(cp.url);
    await faults({ refuse_websocket: true });
    // A stored identity from before validation could still hold a lone surrogate: encodeURIComponent throws.
    const { link: controlLink, metrics, log } = link(transport, { clusterUuid: '\ud800', agentId: 'agent-x' });
    controlLink.start();
    await vi.waitFor(async () => {
      const restarts = await metrics.registry.getSingleMetricAsString('pipeops_loop_restarts_total');
      expect(restarts).toMatch(/loop="link"} [2-9]/);
    }, patiently);
    await controlLink.stop();
    const failure = log.lines.find((line) => line.msg === 'link loop failed unexpectedly; restarting it');
    expect((failure?.err as { stack?: string } | undefined)?.stack).toContain('URIError');
  });

  it('#4 backs off after cluster_not_found instead of re-registering in a loop', async () => {
    const transport = transportFor(cp.url);
    const { uuid } = await registered(transport, 'agent-not-found');
    await faults({ ws_cluster_not_found: true });
    let reRegistrations = 0;
    const { link: controlLink } = link(transport, {
      clusterUuid: uuid,
      agentId: 'agent-not-found',
      onClusterUnknown: async () => {
        reRegistrations += 1;
        await registered(transport, 'agent-not-found');
      },
    });
    controlLink.start();
    await vi.waitFor(() => {
      const status = controlLink.status();
      expect(status.state).toBe('backoff');
      expect(status.reconnects.at(-1)?.reason).toBe('cluster unknown to the control plane; re-registered');
    }, patiently);
    expect(reRegistrations).toBeGreaterThanOrEqual(1);
    await controlLink.stop();
  });

  it('#5 PIPEOPS_TIMEOUT is a deadline for the whole reply, not an idle timeout', async () => {
    const transport = transportFor(cp.url, { PIPEOPS_TIMEOUT: '500ms' });
    await faults({
      reply_override: { route: 'register', status: 200, body: validRegisterReply, trickle_ms: 100, times: 1 },
    });
    const error = await transport.request('POST', '/api/v1/clusters/agent/register', {}).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TransportError);
    expect((error as Error).message).toBe('POST /api/v1/clusters/agent/register did not complete within 500 ms');
  });

  it('#5 bounds the WebSocket handshake by PIPEOPS_TIMEOUT too', async () => {
    const transport = transportFor(cp.url, { PIPEOPS_TIMEOUT: '500ms' });
    await faults({ reply_override: { route: 'websocket_upgrade', status: 503, body: '{}', trickle_ms: 100 } });
    const { link: controlLink } = link(transport, { clusterUuid: 'c-1', agentId: 'agent-1' });
    controlLink.start();
    await vi.waitFor(
      () =>
        expect(controlLink.status().reconnects.at(-1)?.reason).toBe(
          'WebSocket handshake did not complete within 500 ms',
        ),
      patiently,
    );
    await controlLink.stop();
  });

  it.each([503, 500, 200, 301, 426, 400])(
    '#6 logs a refused WebSocket upgrade (HTTP %i) and the failing HTTP heartbeats, once per reason',
    async (status) => {
      const transport = transportFor(cp.url);
      const { uuid } = await registered(transport, `agent-refused-${status}`);
      await faults({
        reply_override: { route: 'websocket_upgrade', status, body: '{"error":"no"}' },
        heartbeat_http_status: 500,
      });
      const { link: controlLink, log } = link(transport, { clusterUuid: uuid, agentId: `agent-refused-${status}` });
      controlLink.start();
      await vi.waitFor(() => {
        const refused = log.lines.filter((line) => line.msg === 'Control link down; reconnecting');
        expect(refused[0]?.reason).toBe(`websocket upgrade refused (HTTP ${status}); heartbeats over HTTP`);
        const failed = log.lines.filter((line) => line.msg === 'Heartbeat failed');
        expect(failed).toHaveLength(1);
        expect(String(failed[0]?.reason)).toMatch(/^HTTP heartbeat answered 500: /);
        expect(controlLink.status().consecutiveFailures).toBeGreaterThanOrEqual(3);
      }, patiently);
      await controlLink.stop();
    },
  );

  it('#7 scrubs our token from an error body that echoes the Authorization header', async () => {
    const transport = transportFor(cp.url);
    await faults({
      reply_override: {
        route: 'register',
        status: 500,
        body: '{"error":{"message":"upstream rejected request with Authorization: {{authorization}}"}}',
        times: 1,
      },
    });
    const log = capture();
    const registration = new RegistrationLoop({
      transport,
      buildRequest: () => Promise.resolve(registerBody('agent-echo')),
      backoff: { baseMs: 10, capMs: 50 },
      rejectedRetryMs: 60_000,
      logger: log.logger,
      metrics: new AgentMetrics(),
    });
    const abort = new AbortController();
    const response = await registration.run(abort.signal);
    expect(response?.cluster_id).toBeDefined();
    const pending = log.lines.find((line) => line.msg === 'Registration pending - control plane not reachable yet');
    expect(String(pending?.reason)).toBe('HTTP 500: upstream rejected request with Authorization: Bearer [redacted]');
    expect(JSON.stringify(log.lines)).not.toContain(agentToken);
  });

  it('#7 rejects a reply labelled Content-Encoding: gzip whose body is plain', async () => {
    const transport = transportFor(cp.url);
    await faults({
      reply_override: {
        route: 'register',
        status: 200,
        body: validRegisterReply,
        headers: { 'content-encoding': 'gzip' },
        times: 1,
      },
    });
    const outcome = await registerCluster(transport, registerBody('agent-gzip'));
    expect(outcome.kind).toBe('retry');
    expect(outcome.kind === 'retry' && outcome.reason).toMatch(
      /^POST \/api\/v1\/clusters\/agent\/register: reply is labelled Content-Encoding: gzip but its body is not valid gzip/,
    );
  });

  it('#7 warns about acks for unknown request ids, once per reason with a count', async () => {
    const transport = transportFor(cp.url);
    const { uuid } = await registered(transport, 'agent-acks');
    const { link: controlLink, log } = link(transport, { clusterUuid: uuid, agentId: 'agent-acks' });
    controlLink.start();
    await vi.waitFor(() => expect(controlLink.healthy()).toBe(true), patiently);
    await faults({ unknown_acks: 50 });
    await vi.waitFor(() => {
      const warnings = log.lines.filter((line) => line.msg === 'Control plane sent something the agent ignores');
      expect(warnings).toHaveLength(1);
      expect(warnings[0]?.level).toBe('warn');
      expect(String(warnings[0]?.reason)).toMatch(/^heartbeat_ack for a request id this connection never sent/);
    }, patiently);
    await controlLink.stop();
  });

  it('#7 declares a peer that stops reading dead instead of buffering for it (ping flood)', async () => {
    const transport = transportFor(cp.url);
    const { uuid } = await registered(transport, 'agent-flood');
    const { link: controlLink } = link(transport, { clusterUuid: uuid, agentId: 'agent-flood', intervalMs: 30_000 });
    controlLink.start();
    await vi.waitFor(() => expect(controlLink.status().state).toBe('connected'), patiently);
    await faults({ stop_reading: true, ping_flood: 200_000 });
    await vi.waitFor(
      () => expect(controlLink.status().reconnects.at(-1)?.reason).toMatch(/^peer is not reading: \d+ bytes queued/),
      { timeout: 60_000, interval: 50 },
    );
    const queued = Number(/(\d+) bytes queued/.exec(controlLink.status().reconnects.at(-1)?.reason ?? '')?.[1]);
    expect(queued).toBeGreaterThan(maxBufferedBytes);
    expect(queued).toBeLessThanOrEqual(maxBufferedBytes + maxMessageBytes);
    await controlLink.stop();
  }, 90_000);
});
