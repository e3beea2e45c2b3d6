import { randomUUID } from 'node:crypto';
import { AppsV1Api, CoreV1Api } from '@kubernetes/client-node';
import { readAudit } from '../../sandbox/cluster/audit';
import { sandboxLayout } from '../../sandbox/cluster/state';
import { afterAll, beforeAll, describe, expect, inject, it, vi } from 'vitest';
import {
  agentKubeConfig,
  createTestRuntime,
  startTestControlPlane,
  uniqueNames,
  waitForReady,
  type AdminCluster,
  type TestControlPlane,
  type TestRuntime,
} from '../testing/harness';

const sandbox = inject('sandbox');

async function clusterOf(cp: TestControlPlane, agent: TestRuntime): Promise<AdminCluster> {
  const agentId = agent.runtime.snapshot().identity?.agentId;
  const cluster = (await cp.admin<AdminCluster[]>('/admin/clusters')).find((c) => c.agent_id === agentId);
  if (!cluster) throw new Error(`control plane has no cluster for ${agentId}`);
  return cluster;
}

async function heartbeatsAfter(cp: TestControlPlane, agent: TestRuntime, count: number): Promise<void> {
  await vi.waitFor(async () => expect((await clusterOf(cp, agent)).heartbeats).toBeGreaterThan(count), {
    timeout: 20_000,
    interval: 100,
  });
}

describe('control link against the reference control plane', () => {
  let cp: TestControlPlane;
  let agent: TestRuntime;

  beforeAll(async () => {
    cp = await startTestControlPlane();
    agent = createTestRuntime({ apiUrl: cp.url, kubeconfig: sandbox.agentKubeconfig, names: uniqueNames() });
    agent.runtime.start();
    await waitForReady(agent.runtime);
  });
  afterAll(async () => {
    await agent.runtime.stop();
    await cp.stop();
  });

  it('measures heartbeat RTT from acks correlated by request_id', async () => {
    await vi.waitFor(() => expect(agent.runtime.snapshot().link?.heartbeatsAcked).toBeGreaterThanOrEqual(3), {
      timeout: 10_000,
    });
    const link = agent.runtime.snapshot().link;
    expect(link?.transport).toBe('websocket');
    expect(link?.rtt.length).toBeGreaterThanOrEqual(3);
    expect(link?.lastRttMs).toBeGreaterThanOrEqual(0);
    const metrics = await agent.metrics.registry.getSingleMetricAsString('pipeops_heartbeat_total');
    expect(metrics).toMatch(/pipeops_heartbeat_total\{transport="websocket"\} [1-9]/);
  });

  it('sends heartbeats from watch caches, without a Kubernetes LIST per heartbeat', async () => {
    const windowStart = Date.now();
    const heartbeats = (await clusterOf(cp, agent)).heartbeats;
    await heartbeatsAfter(cp, agent, heartbeats + 5);
    await new Promise((resolve) => setTimeout(resolve, 1000)); // let the audit log flush
    const lists = readAudit(sandboxLayout(sandbox.name)).filter(
      (e) => e.at >= windowStart && e.verb === 'list' && /\/(nodes|pods)\b/.test(e.requestURI),
    );
    expect(lists).toEqual([]);
  });

  it('resumes heartbeats after the control plane restarts, without re-registering', async () => {
    const before = await clusterOf(cp, agent);
    const port = cp.port;
    await cp.stop();
    await vi.waitFor(() => expect(agent.runtime.readiness().ready).toBe(false), { timeout: 10_000 });
    cp = await startTestControlPlane({ port, stateFile: cp.stateFile });
    await waitForReady(agent.runtime);
    await heartbeatsAfter(cp, agent, before.heartbeats);
    const after = await clusterOf(cp, agent);
    expect(after.registrations).toBe(before.registrations);
    expect(after.cluster_id).toBe(before.cluster_id);
  });

  it('detects a silent (stalled) socket and replaces it', async () => {
    await waitForReady(agent.runtime);
    const reconnects = agent.runtime.snapshot().link?.reconnects.length ?? 0;
    await cp.admin('/admin/faults', { stall_acks: true });
    await vi.waitFor(
      () => {
        const events = agent.runtime.snapshot().link?.reconnects.slice(reconnects) ?? [];
        expect(events.some((e) => e.reason.startsWith('stalled: no ack or ping'))).toBe(true);
      },
      { timeout: 15_000 },
    );
    await cp.admin('/admin/faults', { stall_acks: false });
    await waitForReady(agent.runtime);
    const heartbeats = (await clusterOf(cp, agent)).heartbeats;
    await heartbeatsAfter(cp, agent, heartbeats);
  });

  it('falls back to HTTP heartbeats when the WebSocket is refused', async () => {
    await cp.admin('/admin/faults', { refuse_websocket: true, drop_sockets: true });
    await vi.waitFor(() => expect(agent.runtime.snapshot().link?.state).toBe('http-fallback'), { timeout: 15_000 });
    await vi.waitFor(async () => expect((await clusterOf(cp, agent)).last_heartbeat_via).toBe('http'), {
      timeout: 10_000,
    });
    await waitForReady(agent.runtime);
    await cp.admin('/admin/faults', { refuse_websocket: false });
  });

  it('re-registers with the same cluster_id when the control plane forgets the cluster', async () => {
    const clusterId = agent.runtime.snapshot().identity?.clusterId ?? '';
    await cp.admin('/admin/faults', { forget_cluster: clusterId });
    await vi.waitFor(async () => expect((await clusterOf(cp, agent)).cluster_id).toBe(clusterId), { timeout: 15_000 });
    await waitForReady(agent.runtime);
    expect(agent.runtime.snapshot().identity?.clusterId).toBe(clusterId);
  });

  it('drops malformed and oversized messages with a logged reason and keeps running', async () => {
    const dropReasons = (): string[] =>
      agent.logs.filter((l) => l.msg === 'Dropped a malformed control-plane message').map((l) => String(l.reason));
    for (const kind of ['not_json', 'bad_envelope', 'unknown_type'] as const) {
      await waitForReady(agent.runtime);
      const before = dropReasons().length;
      // Retried until one socket took it: `ready` can precede the control plane registering a fresh socket.
      await vi.waitFor(
        async () =>
          expect(
            (await cp.admin<{ malformed_sent: number }>('/admin/faults', { send_malformed: kind })).malformed_sent,
          ).toBe(1),
        { timeout: 5_000 },
      );
      await vi.waitFor(() => expect(dropReasons().length).toBe(before + 1), { timeout: 5_000 });
    }
    await waitForReady(agent.runtime);
    await cp.admin('/admin/faults', { send_malformed: 'oversized' });
    await vi.waitFor(
      () =>
        expect(
          agent.runtime.snapshot().link?.reconnects.some((e) => e.reason.includes('Max payload size exceeded')),
        ).toBe(true),
      { timeout: 5_000 },
    );
    const dropped = dropReasons();
    expect(dropped.some((r) => r.startsWith('not JSON'))).toBe(true);
    expect(dropped.some((r) => r.startsWith('bad envelope'))).toBe(true);
    expect(dropped.some((r) => r.startsWith('unknown message type "surprise_from_control_plane"'))).toBe(true);
    expect(await agent.metrics.registry.getSingleMetricAsString('pipeops_control_messages_rejected_total')).toMatch(
      /reason="not_JSON"\} 1/,
    );
    await waitForReady(agent.runtime);
  });

  it('reports node and pod counts that follow the cluster within one heartbeat', async () => {
    const admin = agentKubeConfig(sandbox.adminKubeconfig);
    const namespace = `hb-${randomUUID().slice(0, 8)}`;
    await admin.makeApiClient(CoreV1Api).createNamespace({ body: { metadata: { name: namespace } } });
    const podsNow = async (): Promise<number> =>
      (await admin.makeApiClient(CoreV1Api).listPodForAllNamespaces()).items.length;
    const reported = async (): Promise<{ k8s_nodes: number; k8s_pods: number } | undefined> =>
      (await clusterOf(cp, agent)).last_heartbeat?.metadata;
    await vi.waitFor(async () => expect((await reported())?.k8s_pods).toBe(await podsNow()), { timeout: 10_000 });
    expect((await reported())?.k8s_nodes).toBe(3);
    const apps = admin.makeApiClient(AppsV1Api);
    await apps.createNamespacedDeployment({
      namespace,
      body: {
        metadata: { name: 'counted' },
        spec: {
          replicas: 4,
          selector: { matchLabels: { app: 'counted' } },
          template: {
            metadata: { labels: { app: 'counted' } },
            spec: { containers: [{ name: 'c', image: 'busybox' }] },
          },
        },
      },
    });
    // Once the API server holds the new pods, the next heartbeat (500 ms interval) carries them.
    await vi.waitFor(async () => expect(await podsNow()).toBeGreaterThanOrEqual(4), { timeout: 30_000 });
    const expected = await podsNow();
    await vi.waitFor(async () => expect((await reported())?.k8s_pods).toBe(expected), { timeout: 2_000, interval: 50 });
    await admin.makeApiClient(CoreV1Api).deleteNamespace({ name: namespace });
  });
});
