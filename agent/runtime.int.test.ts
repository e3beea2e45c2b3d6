import { randomUUID } from 'node:crypto';
import { CoreV1Api, RbacAuthorizationV1Api } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, inject, it, vi } from 'vitest';
import { writeKubeconfig } from '../sandbox/cluster/kubeconfig';
import { freePort } from '../sandbox/cluster/processes';
import { pkiPaths } from '../sandbox/cluster/pki';
import { sandboxLayout } from '../sandbox/cluster/state';
import {
  agentKubeConfig,
  createTestRuntime,
  startTestControlPlane,
  uniqueNames,
  waitForReady,
  type AdminCluster,
  type RequestCounts,
  type TestControlPlane,
} from './testing/harness';

const sandbox = inject('sandbox');
const registerRoute = 'POST /api/v1/clusters/agent/register';

describe('agent identity and registration (sandbox API server + reference control plane)', () => {
  let cp: TestControlPlane;

  beforeAll(async () => {
    cp = await startTestControlPlane();
  });
  afterAll(async () => {
    await cp.stop();
  });

  it('keeps one agent_id and one cluster across 20 sequential restarts', async () => {
    const names = uniqueNames();
    const seen = new Set<string>();
    const generated: number[] = [];
    for (let start = 1; start <= 20; start++) {
      const agent = createTestRuntime({ apiUrl: cp.url, kubeconfig: sandbox.agentKubeconfig, names });
      agent.runtime.start();
      await waitForReady(agent.runtime);
      seen.add(agent.runtime.snapshot().identity?.agentId ?? '');
      if (agent.messages().some((m) => m.startsWith('Generated new agent ID'))) generated.push(start);
      if (start > 1)
        expect(agent.messages()).toContain(
          'Agent ID loaded from persistent state - will maintain identity across restarts',
        );
      await agent.runtime.stop();
      const cluster = (await cp.admin<AdminCluster[]>('/admin/clusters')).filter((c) => seen.has(c.agent_id));
      expect(cluster).toHaveLength(1);
      expect(cluster[0]?.registrations).toBe(start);
    }
    expect(seen.size).toBe(1);
    expect(generated).toEqual([1]);
  });

  it('stores agent_id and cluster_id in the state ConfigMap', async () => {
    const names = uniqueNames();
    const agent = createTestRuntime({ apiUrl: cp.url, kubeconfig: sandbox.agentKubeconfig, names });
    agent.runtime.start();
    await waitForReady(agent.runtime);
    const identity = agent.runtime.snapshot().identity;
    await agent.runtime.stop();
    const core = agentKubeConfig(sandbox.agentKubeconfig).makeApiClient(CoreV1Api);
    const configMap = await core.readNamespacedConfigMap({ name: names.configMap, namespace: 'pipeops-system' });
    expect(configMap.data).toEqual({
      agent_id: identity?.agentId,
      cluster_id: identity?.clusterId,
      cluster_uuid: identity?.clusterUuid,
    });
    expect(identity?.agentId).toMatch(/^agent-[0-9a-f-]{36}$/);
    const events = await core.listNamespacedEvent({
      namespace: 'pipeops-system',
      fieldSelector: `involvedObject.name=${names.configMap},source=pipeops-agent`,
    });
    expect(events.items.map((event) => event.reason)).toContain('AgentRegistered');
    expect(events.items[0]?.message).toContain(`as cluster ${identity?.clusterId}`);
  });

  it('converges two agents started at the same moment on one identity and one leader', async () => {
    const names = uniqueNames();
    const a = createTestRuntime({ apiUrl: cp.url, kubeconfig: sandbox.agentKubeconfig, names });
    const b = createTestRuntime({ apiUrl: cp.url, kubeconfig: sandbox.agentKubeconfig, names });
    a.runtime.start();
    b.runtime.start();
    await vi.waitFor(
      () => {
        const statuses = [a, b].map((x) => x.runtime.readiness().status).sort();
        expect(statuses).toEqual(['ready', 'standby']);
      },
      { timeout: 30_000, interval: 50 },
    );
    expect(a.runtime.snapshot().identity?.agentId).toBe(b.runtime.snapshot().identity?.agentId);
    const leaders = [a, b].filter((x) => x.runtime.snapshot().leader.leader);
    expect(leaders).toHaveLength(1);
    const clusters = (await cp.admin<AdminCluster[]>('/admin/clusters')).filter(
      (c) => c.agent_id === a.runtime.snapshot().identity?.agentId,
    );
    expect(clusters).toHaveLength(1);
    await Promise.all([a.runtime.stop(), b.runtime.stop()]);
  });

  it('stays up saying why while the control plane is down, and registers within 5 s once it comes up', async () => {
    const port = await freePort();
    const names = uniqueNames();
    const agent = createTestRuntime({ apiUrl: `http://127.0.0.1:${port}`, kubeconfig: sandbox.agentKubeconfig, names });
    agent.runtime.start();
    await vi.waitFor(() => expect(agent.runtime.snapshot().registration.attempts).toBeGreaterThanOrEqual(3), {
      timeout: 30_000,
    });
    const readiness = agent.runtime.readiness();
    expect(readiness).toMatchObject({ ready: false, status: 'not_ready' });
    expect(readiness.reason).toMatch(/^registration pending: POST \/api\/v1\/clusters\/agent\/register: ECONNREFUSED/);
    const late = await startTestControlPlane({ port });
    const upAt = Date.now();
    await vi.waitFor(() => expect(agent.runtime.snapshot().registration.state).toBe('registered'), {
      timeout: 10_000,
      interval: 20,
    });
    const registeredAfterMs = Date.now() - upAt;
    expect(registeredAfterMs).toBeLessThanOrEqual(5_000);
    await waitForReady(agent.runtime);
    await agent.runtime.stop();
    await late.stop();
  });

  it('marks an invalid token as rejected and does not retry in a storm', async () => {
    const names = uniqueNames();
    await cp.admin('/admin/reset-counters', {});
    const agent = createTestRuntime({
      apiUrl: cp.url,
      kubeconfig: sandbox.agentKubeconfig,
      names,
      env: { PIPEOPS_TOKEN: 'wrong-token', PIPEOPS_REJECTED_RETRY_INTERVAL: '5m' },
    });
    agent.runtime.start();
    await vi.waitFor(() => expect(agent.runtime.snapshot().registration.state).toBe('rejected'), { timeout: 20_000 });
    expect(agent.runtime.readiness().reason).toMatch(/^rejected — invalid token: invalid token \(HTTP 401/);
    await new Promise((resolve) => setTimeout(resolve, 3000));
    const counts = await cp.admin<RequestCounts>('/admin/requests');
    expect(counts.counts[registerRoute]).toBe(1);
    await agent.runtime.stop();
  });
});

describe('agent without RBAC for its state ConfigMap', () => {
  const suffix = randomUUID().slice(0, 6);
  const serviceAccount = `agent-norbac-${suffix}`;
  let kubeconfig: string;
  let cp: TestControlPlane;

  beforeAll(async () => {
    cp = await startTestControlPlane();
    const admin = agentKubeConfig(sandbox.adminKubeconfig);
    const core = admin.makeApiClient(CoreV1Api);
    const rbac = admin.makeApiClient(RbacAuthorizationV1Api);
    const namespace = 'pipeops-system';
    await core.createNamespacedServiceAccount({ namespace, body: { metadata: { name: serviceAccount } } });
    // Leases and cluster reads, as the real agent has, but nothing for ConfigMaps.
    await rbac.createNamespacedRoleBinding({
      namespace,
      body: {
        metadata: { name: serviceAccount },
        roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'pipeops-agent-operator' },
        subjects: [{ kind: 'ServiceAccount', name: serviceAccount, namespace }],
      },
    });
    await rbac.createClusterRoleBinding({
      body: {
        metadata: { name: serviceAccount },
        roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'pipeops-agent-operator' },
        subjects: [{ kind: 'ServiceAccount', name: serviceAccount, namespace }],
      },
    });
    const token = await core.createNamespacedServiceAccountToken({
      name: serviceAccount,
      namespace,
      body: { spec: { audiences: [], expirationSeconds: 3600 } },
    });
    kubeconfig = `${sandboxLayout(sandbox.name).dir}/${serviceAccount}.kubeconfig`;
    await writeKubeconfig(kubeconfig, {
      server: sandbox.apiServerUrl,
      caFile: pkiPaths(sandboxLayout(sandbox.name).pkiDir).caCert,
      user: serviceAccount,
      credentials: { token: token.status?.token ?? '' },
    });
  });
  afterAll(async () => {
    await cp.stop();
    const admin = agentKubeConfig(sandbox.adminKubeconfig);
    await admin.makeApiClient(RbacAuthorizationV1Api).deleteClusterRoleBinding({ name: serviceAccount });
  });

  it('logs the CRITICAL line with the RBAC hint, reports the missing verbs in /ready and does not register', async () => {
    await cp.admin('/admin/reset-counters', {});
    const agent = createTestRuntime({
      apiUrl: cp.url,
      kubeconfig,
      names: uniqueNames(),
      env: { PIPEOPS_LEADER_ELECTION: 'false' },
    });
    agent.runtime.start();
    await vi.waitFor(() => expect(agent.runtime.snapshot().missingPermissions.length).toBeGreaterThan(0), {
      timeout: 20_000,
    });
    expect(
      agent
        .messages()
        .some((m) => m.startsWith('CRITICAL: Failed to persist agent ID to state - the agent does not register')),
    ).toBe(true);
    expect(
      agent
        .messages()
        .some((m) =>
          m.startsWith('Check RBAC permissions for ConfigMap get/create/update in namespace pipeops-system'),
        ),
    ).toBe(true);
    const missing = agent.runtime.snapshot().missingPermissions.map((m) => m.description);
    expect(missing).toEqual([
      'get configmaps in pipeops-system',
      'create configmaps in pipeops-system',
      'update configmaps in pipeops-system',
    ]);
    const readiness = agent.runtime.readiness();
    expect(readiness.ready).toBe(false);
    expect(readiness.reason).toContain('identity not persisted in pipeops-system/');
    expect(readiness.reason).toContain('HTTP 403');
    expect(readiness.reason).toContain(
      'missing RBAC: get configmaps in pipeops-system, create configmaps in pipeops-system',
    );
    // No identity that lasts one process: nothing registers until the identity can be stored.
    expect(agent.runtime.snapshot().identity).toBeUndefined();
    expect(agent.runtime.snapshot().registration.attempts).toBe(0);
    const counts = await cp.admin<RequestCounts>('/admin/requests');
    expect(counts.counts[registerRoute]).toBeUndefined();
    await agent.runtime.stop();
  });
});
