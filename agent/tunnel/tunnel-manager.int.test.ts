import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { CoreV1Api, KubeConfig, VersionApi, Watch } from '@kubernetes/client-node';
import { afterAll, afterEach, beforeAll, describe, expect, inject, it, vi } from 'vitest';
import {
  createTestRuntime,
  startTestControlPlane,
  uniqueNames,
  waitForReady,
  type AdminCluster,
  type TestControlPlane,
  type TestRuntime,
} from '../testing/harness';
import { freePort, generateKey, listening, startGoChisel, type GoChiselServer } from './chisel-test-helpers';
import type { TunnelManagerStatus } from './tunnel-manager';

const waitLong = { timeout: 60_000, interval: 100 };

/** The sandbox API server seen through a tunnel port, with the agent's own (restricted) credentials. */
function kubeConfigVia(kubeconfigFile: string, port: number): KubeConfig {
  const direct = new KubeConfig();
  direct.loadFromFile(kubeconfigFile);
  const cluster = direct.getCurrentCluster();
  if (!cluster) throw new Error('agent kubeconfig has no cluster');
  const via = new KubeConfig();
  via.loadFromOptions({
    clusters: [{ ...cluster, server: `https://127.0.0.1:${port}` }],
    users: direct.users,
    contexts: direct.contexts,
    currentContext: direct.currentContext,
  });
  return via;
}

describe('TunnelManager with the reference control plane, the real Go chisel server and the sandbox API', () => {
  const sandbox = inject('sandbox');
  let dir: string;
  let chisel: GoChiselServer;
  let cp: TestControlPlane;
  let agent: TestRuntime | undefined;

  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'tunnel-manager-'));
    const keyfile = path.join(dir, 'key');
    const authFile = path.join(dir, 'users.json');
    await generateKey(keyfile);
    await writeFile(authFile, '{}\n');
    chisel = await startGoChisel(await freePort(), keyfile, { authFile });
    cp = await startTestControlPlane({
      tunnel: {
        tunnelServerAddr: `http://127.0.0.1:${chisel.port}`,
        tunnelServerFingerprint: chisel.fingerprint,
        tunnelAuthFile: authFile,
        tunnelDefaultStatus: 'REQUIRED',
        // Ports the OS says are free: a fixed range collides with whatever else runs on a busy machine.
        tunnelPortRange: 'os',
        tunnelPollFrequencySeconds: 1,
      },
    });
  });

  afterEach(async () => {
    await agent?.runtime.stop();
    agent = undefined;
  });

  afterAll(async () => {
    await cp.stop();
    await chisel.stop();
    await rm(dir, { recursive: true, force: true });
  });

  function startAgent(env: Record<string, string> = {}): TestRuntime {
    agent = createTestRuntime({
      apiUrl: cp.url,
      kubeconfig: sandbox.agentKubeconfig,
      names: uniqueNames(),
      env: { PIPEOPS_TUNNEL_ENABLED: 'true', PIPEOPS_TUNNEL_REMOTE_BIND_HOST: '127.0.0.1', ...env },
    });
    agent.runtime.start();
    return agent;
  }

  function tunnel(runtime: TestRuntime): TunnelManagerStatus {
    const status = runtime.runtime.snapshot().tunnel;
    if (!status) throw new Error('no tunnel yet');
    return status;
  }

  async function connectedPort(runtime: TestRuntime, forward: string): Promise<number> {
    await vi.waitFor(() => expect(tunnel(runtime).state).toBe('connected'), waitLong);
    const row = tunnel(runtime).forwards.find((candidate) => candidate.name === forward);
    const port = row?.remotePort;
    if (!port) throw new Error(`forward ${forward} has no remote port`);
    await vi.waitFor(async () => expect(await listening(port)).toBe(true), waitLong);
    return port;
  }

  it('reaches the sandbox Kubernetes API through the allocated port: GET /version and a watch held open', async () => {
    const running = startAgent();
    await waitForReady(running.runtime);
    const port = await connectedPort(running, 'kubernetes-api');
    const rows = tunnel(running).forwards;
    expect(rows.find((row) => row.name === 'kubelet')).toMatchObject({ state: 'skipped' });
    expect(rows.find((row) => row.name === 'agent-http')).toMatchObject({ state: 'bound' });

    const via = kubeConfigVia(sandbox.agentKubeconfig, port);
    const direct = new KubeConfig();
    direct.loadFromFile(sandbox.adminKubeconfig);
    const viaVersion = await via.makeApiClient(VersionApi).getCode();
    expect(viaVersion.gitVersion).toBe((await direct.makeApiClient(VersionApi).getCode()).gitVersion);

    const name = `via-tunnel-${Date.now()}`;
    const seen: string[] = [];
    const watch = await new Watch(via).watch(
      '/api/v1/namespaces/pipeops-system/configmaps',
      {},
      (phase: string, object: { metadata?: { name?: string } }) => seen.push(`${phase} ${object.metadata?.name}`),
      () => undefined,
    );
    try {
      const core = direct.makeApiClient(CoreV1Api);
      await core.createNamespacedConfigMap({ namespace: 'pipeops-system', body: { metadata: { name } } });
      await vi.waitFor(() => expect(seen).toContain(`ADDED ${name}`), waitLong);
      await core.deleteNamespacedConfigMap({ namespace: 'pipeops-system', name });
      await vi.waitFor(() => expect(seen).toContain(`DELETED ${name}`), waitLong);
    } finally {
      watch.abort();
    }

    const api = tunnel(running).forwards.find((row) => row.name === 'kubernetes-api');
    expect(api?.bytesIn).toBeGreaterThan(0);
    expect(api?.bytesOut).toBeGreaterThan(0);
    expect(api?.totalConnections).toBeGreaterThanOrEqual(2);
    const metrics = await running.metrics.registry.metrics();
    expect(metrics).toMatch(/pipeops_tunnel_bytes_total\{forward="kubernetes-api",direction="in"\} [1-9]\d*/);
    expect(metrics).toMatch(/pipeops_tunnel_status 1/);
    expect(metrics).toMatch(/pipeops_tunnel_forwards_active 2/);
    await vi.waitFor(async () => {
      const clusters =
        await cp.admin<(AdminCluster & { last_heartbeat?: { tunnel_status?: string } })[]>('/admin/clusters');
      const mine = clusters.find((cluster) => cluster.agent_id === running.runtime.snapshot().identity?.agentId);
      expect(mine?.last_heartbeat?.tunnel_status).toBe('connected');
    }, waitLong);
  });

  it('follows the control plane: IDLE closes, REQUIRED reopens, ACTIVE without traffic closes after the inactivity timeout', async () => {
    const running = startAgent({ PIPEOPS_TUNNEL_INACTIVITY_TIMEOUT: '2s' });
    await waitForReady(running.runtime);
    const port = await connectedPort(running, 'agent-http');
    const agentId = running.runtime.snapshot().identity?.agentId ?? '';

    await cp.admin('/admin/tunnel', { agent_id: agentId, status: 'IDLE' });
    await vi.waitFor(() => expect(tunnel(running).state).toBe('idle'), waitLong);
    await vi.waitFor(async () => expect(await listening(port)).toBe(false), waitLong);

    await cp.admin('/admin/tunnel', { agent_id: agentId, status: 'REQUIRED' });
    expect(await connectedPort(running, 'agent-http')).toBe(port);

    await cp.admin('/admin/tunnel', { agent_id: agentId, status: 'ACTIVE' });
    await vi.waitFor(() => expect(tunnel(running).state).toBe('inactive'), waitLong);
    expect(tunnel(running).reason).toMatch(/no traffic for/);
    await vi.waitFor(async () => expect(await listening(port)).toBe(false), waitLong);
    expect(running.runtime.snapshot().tunnel?.controlPlaneStatus).toBe('ACTIVE');

    await cp.admin('/admin/tunnel', { agent_id: agentId, status: 'REQUIRED' });
    await connectedPort(running, 'agent-http');
    expect(tunnel(running).sessions).toBeGreaterThanOrEqual(3);
  });

  it('works the same against the reference tunnel server embedded in the control plane', async () => {
    const own = await startTestControlPlane({
      tunnel: { tunnelDefaultStatus: 'REQUIRED', tunnelPollFrequencySeconds: 1, tunnelPortRange: 'os' },
      tunnelServer: { port: 0, keyFile: path.join(dir, 'embedded.key') },
    });
    try {
      agent = createTestRuntime({
        apiUrl: own.url,
        kubeconfig: sandbox.agentKubeconfig,
        names: uniqueNames(),
        env: { PIPEOPS_TUNNEL_ENABLED: 'true' },
      });
      agent.runtime.start();
      await waitForReady(agent.runtime);
      const port = await connectedPort(agent, 'kubernetes-api');
      const version = await kubeConfigVia(sandbox.agentKubeconfig, port).makeApiClient(VersionApi).getCode();
      expect(version.gitVersion).toMatch(/^v1\./);
      expect(tunnel(agent).serverAddr).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    } finally {
      await agent?.runtime.stop();
      agent = undefined;
      await own.stop();
    }
  });
});
