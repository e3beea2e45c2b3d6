import { randomBytes } from 'node:crypto';
import { AuthorizationV1Api, CoreV1Api, type V1Deployment, type V1Role } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { kubeConfigFromFile } from '../../agent/kubernetes/kubeconfig';
import {
  applyObjects,
  deleteClusterScoped,
  helm,
  ofKind,
  rbacKinds,
  release,
  renderChart,
  templateArgs,
} from './chart-testing';

const sandbox = inject('sandbox');
const admin = kubeConfigFromFile(sandbox.adminKubeconfig);
const core = admin.makeApiClient(CoreV1Api);
const authorization = admin.makeApiClient(AuthorizationV1Api);
const cleanups: (() => Promise<unknown>)[] = [];

async function freshNamespace(prefix: string): Promise<string> {
  const name = `${prefix}-${randomBytes(3).toString('hex')}`;
  await core.createNamespace({ body: { metadata: { name } } });
  cleanups.push(() => core.deleteNamespace({ name }));
  return name;
}

afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup().catch(() => undefined);
});

function env(objects: ReturnType<typeof ofKind>, name: string): string | undefined {
  const deployment = ofKind(objects, 'Deployment')[0] as V1Deployment | undefined;
  return deployment?.spec?.template.spec?.containers[0]?.env?.find((e) => e.name === name)?.value;
}

describe('rbac.namespaces: the operator tier limited to a list of namespaces (real helm, real RBAC)', () => {
  let agentNs: string;
  let teamA: string;
  let teamB: string;
  let other: string;
  const user = (): string => `system:serviceaccount:${agentNs}:${release}-pipeops-agent`;

  /** What the API server's RBAC authorizer answers for the chart's ServiceAccount. */
  async function allowed(verb: string, resource: string, namespace: string, subresource?: string): Promise<boolean> {
    const review = await authorization.createSubjectAccessReview({
      body: {
        spec: { user: user(), resourceAttributes: { verb, group: 'apps', resource, subresource, namespace } },
      },
    });
    return review.status?.allowed === true;
  }

  beforeAll(async () => {
    agentNs = await freshNamespace('agent');
    teamA = await freshNamespace('team-a');
    teamB = await freshNamespace('team-b');
    other = await freshNamespace('other');
  });

  it('renders a Role and RoleBinding per namespace, no cluster-wide writes, and the restore scope to match', async () => {
    const objects = await renderChart(agentNs, { 'rbac.tier': 'admin' }, [`rbac.namespaces=["${teamA}","${teamB}"]`]);
    const roles = ofKind(objects, 'Role') as V1Role[];
    expect(roles.map((r) => r.metadata?.namespace).sort()).toEqual([agentNs, teamA, teamB].sort());
    expect(
      ofKind(objects, 'RoleBinding')
        .map((b) => b.metadata?.namespace)
        .sort(),
    ).toEqual([agentNs, teamA, teamB].sort());
    const clusterRole = ofKind(objects, 'ClusterRole')[0] as V1Role | undefined;
    const clusterWrites = (clusterRole?.rules ?? []).flatMap((rule) =>
      (rule.verbs ?? []).filter((verb) => /^(patch|create|update|delete)/.test(verb)),
    );
    expect(clusterWrites).toEqual([]);
    expect(env(objects, 'PIPEOPS_WORKLOAD_NAMESPACES')).toBe(`${teamA},${teamB}`);
    await applyObjects(admin, objects, true);
  });

  it('the ServiceAccount can patch and scale Deployments in the listed namespaces only', async () => {
    const objects = ofKind(await renderChart(agentNs, {}, [`rbac.namespaces=["${teamA}","${teamB}"]`]), ...rbacKinds);
    await applyObjects(admin, objects, false);
    cleanups.push(() => deleteClusterScoped(admin, objects));
    for (const namespace of [teamA, teamB]) {
      expect(await allowed('patch', 'deployments', namespace), `patch in ${namespace}`).toBe(true);
      expect(await allowed('patch', 'deployments', namespace, 'scale')).toBe(true);
    }
    expect(await allowed('patch', 'deployments', other)).toBe(false);
    expect(await allowed('patch', 'deployments', other, 'scale')).toBe(false);
    expect(await allowed('patch', 'deployments', 'kube-system')).toBe(false);
    expect(await allowed('create', 'deployments', teamA)).toBe(false); // operator, not admin
    // Reads stay cluster-wide: the dashboard still lists every managed Deployment.
    expect(await allowed('list', 'deployments', other)).toBe(true);
  });

  it('without rbac.namespaces the operator tier keeps its cluster-wide rules (the default)', async () => {
    const objects = await renderChart(agentNs);
    expect(ofKind(objects, 'Role')).toHaveLength(1);
    const clusterRole = ofKind(objects, 'ClusterRole')[0] as V1Role | undefined;
    const deployments = clusterRole?.rules?.find((rule) => rule.resources?.includes('deployments'));
    expect(deployments?.verbs).toContain('patch');
    expect(env(objects, 'PIPEOPS_WORKLOAD_NAMESPACES')).toBeUndefined();
  });

  it('dashboard settings become env: trusted proxies, workload namespaces, metrics token Secret', async () => {
    const objects = await renderChart(agentNs, { 'metricsAuth.existingSecret': 'metrics-token' }, [
      'dashboard.trustedProxies=["10.0.0.0/8","fd00::/8"]',
      `dashboard.workloadNamespaces=["${teamA}"]`,
      `rbac.namespaces=["${teamA}","${teamB}"]`,
    ]);
    expect(env(objects, 'PIPEOPS_TRUSTED_PROXIES')).toBe('10.0.0.0/8,fd00::/8');
    expect(env(objects, 'PIPEOPS_WORKLOAD_NAMESPACES')).toBe(teamA);
    const deployment = ofKind(objects, 'Deployment')[0] as V1Deployment | undefined;
    const token = deployment?.spec?.template.spec?.containers[0]?.env?.find((e) => e.name === 'PIPEOPS_METRICS_TOKEN');
    expect(token?.valueFrom?.secretKeyRef).toEqual({ name: 'metrics-token', key: 'token' });
  });

  it.each([
    [['rbac.namespaces=["Team_A"]'], "at '/rbac/namespaces/0': 'Team_A' does not match pattern"],
    [
      ['dashboard.trustedProxies=["proxy.example"]'],
      "at '/dashboard/trustedProxies/0': 'proxy.example' does not match",
    ],
    [['dashboard.workloadNamespaces=["a b"]'], "at '/dashboard/workloadNamespaces/0': 'a b' does not match pattern"],
    [['dashboard.url="ops.example.com"'], "at '/dashboard/url': 'ops.example.com' does not match pattern"],
    [['rbac.tier="viewer"', 'rbac.namespaces=["team-a"]'], 'the viewer tier writes nothing, so leave it empty'],
  ])('refuses %o with a clear message', async (json, message) => {
    const result = await helm(templateArgs('pipeops-system', {}, json));
    expect(result.code).not.toBe(0);
    expect(result.stderr).toContain(message);
  });
});
