import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it, vi } from 'vitest';
import {
  leaderChangedStatus,
  startKubeFaultProxy,
  type KubeFault,
  type KubeFaultProxy,
} from '../../sandbox/testing/kube-fault-proxy';
import {
  createTestRuntime,
  startTestControlPlane,
  uniqueNames,
  waitForReady,
  type AdminCluster,
  type TestControlPlane,
} from '../testing/harness';

const sandbox = inject('sandbox');
const namespace = 'pipeops-system';
const registerRoute = 'POST /api/v1/clusters/agent/register';

/**
 * A transient API-server error while the identity is read must never change it: the agent retries the
 * read (and starts nothing meanwhile) instead of minting and registering a new agent_id.
 */
describe('agent identity under API-server faults (sandbox API server behind a fault proxy)', () => {
  let cp: TestControlPlane;
  let proxy: KubeFaultProxy;
  let proxiedKubeconfig: string;

  beforeAll(async () => {
    cp = await startTestControlPlane();
    proxy = await startKubeFaultProxy(sandbox.name, sandbox.apiServerUrl);
    const dir = await mkdtemp(path.join(tmpdir(), 'kube-fault-'));
    proxiedKubeconfig = await proxy.kubeconfig(sandbox.agentKubeconfig, path.join(dir, 'agent.kubeconfig'));
  });
  afterAll(async () => {
    await proxy.stop();
    await cp.stop();
  });

  /** First start straight to the API server: the identity every later start must keep. */
  async function firstStart(names: ReturnType<typeof uniqueNames>): Promise<string> {
    const agent = createTestRuntime({ apiUrl: cp.url, kubeconfig: sandbox.agentKubeconfig, names });
    agent.runtime.start();
    await waitForReady(agent.runtime).catch((error: unknown) => {
      console.log(JSON.stringify(agent.logs.slice(-30), null, 1));
      throw error;
    });
    const agentId = agent.runtime.snapshot().identity?.agentId ?? '';
    await agent.runtime.stop();
    expect(agentId).toMatch(/^agent-/);
    return agentId;
  }

  async function clustersOf(agentIds: Set<string>): Promise<AdminCluster[]> {
    return (await cp.admin<AdminCluster[]>('/admin/clusters')).filter((c) => agentIds.has(c.agent_id));
  }

  const faults: [string, KubeFault][] = [
    ['a 503 "etcdserver: leader changed"', { kind: 'status', status: 503, body: leaderChangedStatus }],
    ['a dropped connection', { kind: 'drop' }],
  ];

  it.each(faults)('keeps its agent_id when the first state read gets %s', async (_name, fault) => {
    const names = uniqueNames();
    const agentId = await firstStart(names);
    proxy.clear();
    const before = proxy.injected();
    proxy.inject({
      method: 'GET',
      path: new RegExp(`^/api/v1/namespaces/${namespace}/configmaps/${names.configMap}$`),
      fault,
      times: 1,
    });
    const agent = createTestRuntime({ apiUrl: cp.url, kubeconfig: proxiedKubeconfig, names });
    agent.runtime.start();
    await vi.waitFor(() => expect(agent.runtime.snapshot().registration.state).toBe('registered'), {
      timeout: 30_000,
      interval: 20,
    });
    expect(proxy.injected() - before).toBe(1);
    expect(agent.runtime.snapshot().identity?.agentId).toBe(agentId);
    await waitForReady(agent.runtime);
    const messages = agent.messages();
    expect(messages.some((m) => m.startsWith('Generated new agent ID'))).toBe(false);
    expect(messages.some((m) => m.startsWith('CRITICAL'))).toBe(false);
    expect(messages.some((m) => m.startsWith('Check RBAC'))).toBe(false);
    const warning = agent.logs.find((line) => String(line.msg).startsWith('Agent identity not loaded yet'));
    expect(String(warning?.reason)).toContain(
      fault.kind === 'drop' ? `cannot read ${namespace}/${names.configMap}` : 'etcdserver: leader changed',
    );
    await agent.runtime.stop();
    const clusters = await clustersOf(new Set([agentId]));
    expect(clusters).toHaveLength(1);
    expect(clusters[0]?.registrations).toBe(2);
  });

  it('starts nothing while the API server is unusable, says why in /ready, then converges on one identity', async () => {
    const names = uniqueNames();
    const agentId = await firstStart(names);
    proxy.clear();
    proxy.inject({ method: 'GET', path: /.*/, fault: { kind: 'drop' }, times: Infinity });
    const replicas = [1, 2].map(() => createTestRuntime({ apiUrl: cp.url, kubeconfig: proxiedKubeconfig, names }));
    const registrations = async (): Promise<number> =>
      (await cp.admin<{ counts: Record<string, number> }>('/admin/requests')).counts[registerRoute] ?? 0;
    const registrationsBefore = await registrations();
    for (const replica of replicas) replica.runtime.start();
    await vi.waitFor(() => expect(proxy.injected()).toBeGreaterThanOrEqual(6), { timeout: 30_000 });
    for (const replica of replicas) {
      const snapshot = replica.runtime.snapshot();
      expect(snapshot.identity).toBeUndefined();
      expect(snapshot.phase).toBe('starting');
      expect(snapshot.registration.attempts).toBe(0);
      expect(snapshot.leader.leader).toBe(false);
      const readiness = replica.runtime.readiness();
      expect(readiness.ready).toBe(false);
      expect(readiness.reason).toMatch(
        new RegExp(`^waiting for the identity in ${namespace}/${names.configMap}: cannot read .*; retrying$`),
      );
    }
    expect(await registrations()).toBe(registrationsBefore);
    proxy.clear();
    await vi.waitFor(
      () => {
        const statuses = replicas.map((replica) => replica.runtime.readiness().status).sort();
        expect(statuses).toEqual(['ready', 'standby']);
      },
      { timeout: 40_000, interval: 50 },
    );
    const seen = new Set(replicas.map((replica) => replica.runtime.snapshot().identity?.agentId ?? ''));
    expect([...seen]).toEqual([agentId]);
    await Promise.all(replicas.map((replica) => replica.runtime.stop()));
    expect(await clustersOf(seen)).toHaveLength(1);
  });
});
