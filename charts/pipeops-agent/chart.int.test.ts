import { randomBytes } from 'node:crypto';
import { AppsV1Api, CoreV1Api, type KubernetesObject, type V1ClusterRole, type V1Role } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, inject, it, vi } from 'vitest';
import { kubeConfigFromFile } from '../../agent/kubernetes/kubeconfig';
import {
  createTestRuntime,
  startTestControlPlane,
  uniqueNames,
  waitForReady,
  type TestControlPlane,
} from '../../agent/testing/harness';
import { restartDeployment, scaleDeployment } from '../../server/runbook/actions';
import { deploymentSpec } from '../../server/runbook/int-fixtures';
import { actionPermissions, clearPermissionCache } from '../../server/runbook/permissions';
import {
  applyObjects,
  chartDir,
  deleteClusterScoped,
  helm,
  ofKind,
  rbacKinds,
  release,
  renderChart,
  serviceAccountKubeconfig,
  templateArgs,
} from './chart-testing';

const sandbox = inject('sandbox');
const admin = kubeConfigFromFile(sandbox.adminKubeconfig);
const core = admin.makeApiClient(CoreV1Api);
const alice = { name: 'alice', role: 'admin' } as const;
const users =
  'dashboard.users=[{"username":"viewer","role":"viewer","passwordHash":"scrypt$1024$8$1$c2FsdA==$aGFzaA=="}]';
const cleanups: (() => Promise<unknown>)[] = [];

async function freshNamespace(prefix: string): Promise<string> {
  const name = `${prefix}-${randomBytes(3).toString('hex')}`;
  await core.createNamespace({ body: { metadata: { name } } });
  cleanups.push(() => core.deleteNamespace({ name }));
  return name;
}

function rules(objects: KubernetesObject[], kind: 'Role' | 'ClusterRole'): string[] {
  const role = ofKind(objects, kind)[0] as V1Role | V1ClusterRole | undefined;
  return (role?.rules ?? []).flatMap((r) =>
    (r.resources ?? []).flatMap((res) =>
      (r.verbs ?? []).map((verb) => `${verb} ${res}${r.apiGroups?.[0] ? `.${r.apiGroups[0]}` : ''}`),
    ),
  );
}

afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup().catch(() => undefined);
});

describe('the chart, rendered by the real helm binary', () => {
  it.each([
    ['default values', {}, []],
    ['viewer tier', { 'rbac.tier': 'viewer' }, []],
    ['operator tier', { 'rbac.tier': 'operator' }, []],
    ['admin tier', { 'rbac.tier': 'admin' }, []],
    [
      'production values (token, HA, NetworkPolicy, PDB, users)',
      {
        'agent.pipeops.apiUrl': 'https://api.pipeops.example',
        'agent.pipeops.token': 'not-a-real-token',
        'agent.cluster.name': 'prod-eu-1',
        'networkPolicy.apiServer.cidrs[0]': '10.0.0.1/32',
        'networkPolicy.controlPlane.cidrs[0]': '203.0.113.10/32',
      },
      [
        'replicaCount=2',
        users,
        'agent.labels={"env":"prod"}',
        'networkPolicy.enabled=true',
        'podDisruptionBudget.enabled=true',
        'agent.tunnel.enabled=true',
      ],
    ],
  ] as const)('%s: accepted by the API server (server-side dry-run)', async (_name, sets, json) => {
    const namespace = await freshNamespace('chart');
    const objects = await renderChart(namespace, sets, [...json]);
    expect(ofKind(objects, 'Deployment', 'ServiceAccount', 'Role', 'ClusterRole', 'Service', 'ConfigMap')).toHaveLength(
      6,
    );
    // Nothing secret in any ConfigMap: the token is only ever in a Secret.
    for (const cm of ofKind(objects, 'ConfigMap')) expect(JSON.stringify(cm)).not.toContain('not-a-real-token');
    await applyObjects(admin, objects, true);
  });

  it('NOTES.txt tells how to open the dashboard and get the viewer login (helm install --dry-run=server)', async () => {
    const install = (json: string[]): Promise<{ code: number; stdout: string; stderr: string }> =>
      helm(
        [
          'install',
          release,
          chartDir,
          '-n',
          'pipeops-system',
          '--dry-run=server',
          ...json.flatMap((j) => ['--set-json', j]),
        ],
        {
          KUBECONFIG: sandbox.adminKubeconfig,
        },
      );
    const none = await install([]);
    expect(none.stderr).toBe('');
    expect(none.stdout).toContain(`kubectl -n pipeops-system port-forward deploy/${release}-pipeops-agent 8080:http`);
    expect(none.stdout).toContain('http://127.0.0.1:8080/dashboard');
    expect(none.stdout).toContain('node tools/hash-password.cjs');
    expect(none.stdout).toContain('- { username: viewer, role: viewer, passwordHash: "<HASH>" }');
    expect(none.stdout).toContain('node tools/doctor.cjs');
    const withUsers = await install([users]);
    expect(withUsers.stdout).toMatch(/Logins from dashboard.users[^\n]*\n\s+viewer \(viewer\)/);
  });

  it('grants each tier only what its features use', async () => {
    const [viewer, operator, adminTier] = await Promise.all(
      ['viewer', 'operator', 'admin'].map((tier) => renderChart('pipeops-system', { 'rbac.tier': tier })),
    );
    const v = rules(viewer!, 'ClusterRole');
    const o = rules(operator!, 'ClusterRole');
    const a = rules(adminTier!, 'ClusterRole');
    expect(v).toEqual(expect.arrayContaining(['list nodes', 'watch pods', 'list deployments.apps', 'list events']));
    expect(v.filter((r) => /^(patch|create|update|delete)/.test(r))).toEqual([]);
    expect(o).toEqual(
      expect.arrayContaining(['patch deployments.apps', 'patch deployments/scale.apps', 'create events']),
    );
    expect(o).not.toContain('create deployments.apps');
    expect(a).toContain('create deployments.apps');
    expect(rules(viewer!, 'Role')).toEqual(
      expect.arrayContaining([
        'get configmaps',
        'create configmaps',
        'update configmaps',
        'get leases.coordination.k8s.io',
      ]),
    );
    expect(rules(viewer!, 'Role')).not.toContain('patch configmaps');
    expect(rules(adminTier!, 'Role')).toEqual(
      expect.arrayContaining(['patch configmaps', 'patch secrets', 'create secrets']),
    );
    // Never: deletes, RBAC escalation, wildcards, Secrets outside the namespace, node writes.
    for (const r of [...a, ...rules(adminTier!, 'Role')])
      expect(r).not.toMatch(/^(delete|deletecollection|escalate|bind|impersonate|\*) /);
    expect(a.filter((r) => r.endsWith(' secrets') || (r.endsWith(' nodes') && !/^(list|watch) /.test(r)))).toEqual([]);
    // One ClusterRole name for every tier: a binding's roleRef is immutable, so the tier changes by upgrade.
    expect(ofKind(viewer!, 'ClusterRole')[0]?.metadata?.name).toBe(
      ofKind(adminTier!, 'ClusterRole')[0]?.metadata?.name,
    );
  });

  it.each([
    [{ 'rbac.tier': 'root' }, "at '/rbac/tier': value must be one of 'viewer', 'operator', 'admin'"],
    [
      { 'agent.logLevel': 'loud' },
      "at '/agent/logLevel': value must be one of 'trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'",
    ],
    [{ 'agent.heartbeatInterval': '5 seconds' }, "at '/agent/heartbeatInterval': '5 seconds' does not match pattern"],
    [{ 'agent.pipeops.apiUrl': 'ftp://x' }, "at '/agent/pipeops/apiUrl': 'ftp://x' does not match pattern"],
    [{ 'agent.state.configMapName': 'Bad_Name' }, "at '/agent/state/configMapName': 'Bad_Name' does not match pattern"],
    [{ 'image.digest': 'sha256:abc' }, "at '/image/digest': 'sha256:abc' does not match pattern"],
    [{ agnt: 'typo' }, "at '': additional properties 'agnt' not allowed"],
    [{ 'agent.pipeops.tokn': 'x' }, "at '/agent/pipeops': additional properties 'tokn' not allowed"],
  ])('values.schema.json rejects %o with a clear message', async (sets, message) => {
    const result = await helm(templateArgs('pipeops-system', sets));
    expect(result.code).not.toBe(0);
    expect(result.stderr).toContain("values don't meet the specifications of the schema");
    expect(result.stderr).toContain(message);
  });

  it.each([
    [['replicaCount=0'], "at '/replicaCount': minimum: got 0, want 1"],
    [
      ['replicaCount=2', 'agent.leaderElection.enabled=false'],
      'replicaCount is 2 but agent.leaderElection.enabled is false',
    ],
    [['agent.pipeops.apiUrl="https://cp.example"'], 'agent.cluster.name is required when agent.pipeops.apiUrl is set'],
    [
      ['agent.pipeops.apiUrl="https://cp.example"', 'agent.cluster.name="c"'],
      'agent.pipeops.apiUrl is set but there is no token',
    ],
    [['image.tag="latest"'], 'image.tag "latest" is not allowed: pin a version'],
    [['podDisruptionBudget.enabled=true'], 'podDisruptionBudget.enabled needs replicaCount >= 2'],
  ])('rejects inconsistent values %o', async (json, message) => {
    const result = await helm(templateArgs('pipeops-system', {}, json));
    expect(result.code).not.toBe(0);
    expect(result.stderr).toContain(message);
  });
});

describe('the agent with ONLY the chart ServiceAccount permissions', () => {
  let cp: TestControlPlane;
  let namespace: string;
  let workloads: string;
  let kubeconfig: string;
  const serviceAccount = `${release}-pipeops-agent`;

  async function installRbac(tier: string): Promise<void> {
    const objects = ofKind(await renderChart(namespace, { 'rbac.tier': tier }), ...rbacKinds);
    await applyObjects(admin, objects, false);
    cleanups.push(() => deleteClusterScoped(admin, objects));
    clearPermissionCache();
  }

  beforeAll(async () => {
    cp = await startTestControlPlane();
    cleanups.push(() => cp.stop());
    namespace = await freshNamespace('agent');
    workloads = await freshNamespace('apps');
    await installRbac('operator');
    kubeconfig = await serviceAccountKubeconfig(admin, sandbox, namespace, serviceAccount);
  });

  it('registers and persists its identity in its own namespace', async () => {
    const names = uniqueNames();
    const agent = createTestRuntime({ apiUrl: cp.url, kubeconfig, names, env: { PIPEOPS_STATE_NAMESPACE: namespace } });
    agent.runtime.start();
    try {
      await waitForReady(agent.runtime);
      // The TTL controller's informers (Deployments, HPAs) sync with the operator tier's rules.
      await vi.waitFor(
        () => {
          const ttl = agent.runtime.snapshot().ttl;
          expect(ttl).toMatchObject({ synced: true });
          expect(ttl?.lastError).toBeUndefined();
        },
        { timeout: 20_000, interval: 100 },
      );
    } finally {
      await agent.runtime.stop();
    }
    const identity = agent.runtime.snapshot().identity;
    const stored = await core.readNamespacedConfigMap({ name: names.configMap, namespace });
    expect(stored.data).toMatchObject({ agent_id: identity?.agentId, cluster_id: identity?.clusterId });
    expect(agent.messages().filter((m) => m.startsWith('CRITICAL'))).toEqual([]);
    const events = await core.listNamespacedEvent({
      namespace,
      fieldSelector: `involvedObject.name=${names.configMap}`,
    });
    expect(events.items.map((e) => e.reason)).toContain('AgentRegistered');
  });

  it('operator tier: restart and scale succeed, with their audit Events', async () => {
    const apps = admin.makeApiClient(AppsV1Api);
    await apps.createNamespacedDeployment({
      namespace: workloads,
      body: deploymentSpec(workloads, 'web', { replicas: 1 }),
    });
    const kc = kubeConfigFromFile(kubeconfig);
    const permissions = await actionPermissions(kc, { namespace: workloads, agentNamespace: namespace });
    expect(permissions.restart).toEqual({ allowed: true, missing: [] });
    expect(permissions.scale).toEqual({ allowed: true, missing: [] });
    expect(permissions.restore.allowed).toBe(false);
    const restarted = await restartDeployment(kc, { namespace: workloads, name: 'web' }, alice);
    expect(restarted.warnings).toEqual([]);
    const scaled = await scaleDeployment(kc, { namespace: workloads, name: 'web', replicas: 3 }, alice);
    expect(scaled.warnings).toEqual([]);
    const live = await apps.readNamespacedDeployment({ name: 'web', namespace: workloads });
    expect(live.spec?.replicas).toBe(3);
  });

  it('viewer tier: the runbook buttons are disabled with the missing verb and resource', async () => {
    await installRbac('viewer');
    const kc = kubeConfigFromFile(kubeconfig);
    const permissions = await actionPermissions(kc, { namespace: workloads, agentNamespace: namespace });
    expect(permissions.restart.allowed).toBe(false);
    expect(permissions.restart.missing).toEqual([
      `get deployments.apps in ${workloads}`,
      `patch deployments.apps in ${workloads}`,
    ]);
    expect(permissions.scale.missing).toContain(`patch deployments/scale.apps in ${workloads}`);
    expect(permissions.backup).toEqual({ allowed: true, missing: [] });
    await expect(restartDeployment(kc, { namespace: workloads, name: 'web' }, alice)).rejects.toThrow(
      /lacks permission for restart: get deployments.apps in/,
    );
  });
});
