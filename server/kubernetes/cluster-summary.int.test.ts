import { kubeConfigFromFile } from '@/agent/kubernetes/kubeconfig';
import { describe, expect, inject, it } from 'vitest';
import { freePort } from '@/sandbox/cluster/processes';
import { sandboxVersions } from '@/sandbox/cluster/versions';
import { getClusterSummary } from './cluster-summary';

const sandbox = inject('sandbox');

describe('getClusterSummary against the sandbox API server', () => {
  it('reports version, identity and node readiness as the restricted agent', async () => {
    const kc = kubeConfigFromFile(sandbox.agentKubeconfig);
    const summary = await getClusterSummary(kc);
    expect(summary).toEqual({
      reachable: true,
      server: sandbox.apiServerUrl,
      version: `v${sandboxVersions().k8s}`,
      identity: 'system:serviceaccount:pipeops-system:pipeops-agent',
      nodes: { total: 3, ready: 3 },
    });
  });

  it('says why when the API server cannot be reached', async () => {
    const kc = kubeConfigFromFile(sandbox.agentKubeconfig);
    const closedPort = await freePort();
    const server = `https://127.0.0.1:${closedPort}`;
    kc.loadFromOptions({ ...kc, clusters: kc.clusters.map((c) => ({ ...c, server })) });
    const summary = await getClusterSummary(kc);
    expect(summary.reachable).toBe(false);
    expect(summary).toMatchObject({ server, error: expect.stringMatching(/ECONNREFUSED/) });
  });

  it('says why when the credentials are rejected', async () => {
    const kc = kubeConfigFromFile(sandbox.agentKubeconfig);
    kc.loadFromOptions({ ...kc, users: kc.users.map((u) => ({ ...u, token: 'not-a-valid-token' })) });
    const summary = await getClusterSummary(kc);
    expect(summary).toMatchObject({ reachable: false, error: expect.stringMatching(/^HTTP 401/) });
  });
});
