import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { CoreV1Api, RbacAuthorizationV1Api, type KubernetesObject } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import {
  applyObjects,
  deleteClusterScoped,
  ofKind,
  rbacKinds,
  release,
  renderChart,
  serviceAccountKubeconfig,
} from '../../charts/pipeops-agent/chart-testing';
import { buildTools } from '../../scripts/build-tools.mjs';
import { loadConfig } from '../config/load';
import { kubeConfigFromFile } from '../kubernetes/kubeconfig';
import {
  agentToken,
  createTestRuntime,
  startTestControlPlane,
  waitForReady,
  type TestControlPlane,
} from '../testing/harness';
import { runDoctor } from './doctor';
import { summarize, type CheckLine } from './report';

const sandbox = inject('sandbox');
const admin = kubeConfigFromFile(sandbox.adminKubeconfig);
const core = admin.makeApiClient(CoreV1Api);
const serviceAccount = `${release}-pipeops-agent`;
const fixedId = `agent-${'0123abcd-4567-89ef-0123-456789abcdef'}`;

let namespace: string;
let kubeconfig: string;
let rbac: KubernetesObject[];
let cp: TestControlPlane;
const names = { configMap: 'pipeops-agent-state', lease: 'pipeops-agent-leader' };

function env(extra: Record<string, string> = {}): Record<string, string> {
  return { PIPEOPS_STATE_NAMESPACE: namespace, PIPEOPS_STATE_CONFIGMAP_NAME: names.configMap, ...extra };
}

async function doctor(options: { fix?: boolean; agentId?: string; controlPlane?: boolean } = {}): Promise<CheckLine[]> {
  const apiEnv = { PIPEOPS_API_URL: cp.url, PIPEOPS_TOKEN: agentToken, PIPEOPS_CLUSTER_NAME: 'sandbox' };
  const config = loadConfig({ cwd: '/nonexistent', env: env(options.controlPlane ? apiEnv : {}) });
  return runDoctor(kubeConfigFromFile(kubeconfig), {
    config,
    fix: options.fix ?? false,
    agentId: options.agentId,
    controlPlane: options.controlPlane ?? false,
  });
}

const find = (lines: CheckLine[], area: string): CheckLine[] => lines.filter((l) => l.area === area);

beforeAll(async () => {
  cp = await startTestControlPlane();
  namespace = `doctor-${randomBytes(3).toString('hex')}`;
  await core.createNamespace({ body: { metadata: { name: namespace } } });
  rbac = ofKind(await renderChart(namespace, { 'rbac.tier': 'operator' }), ...rbacKinds);
  await applyObjects(admin, rbac, false);
  kubeconfig = await serviceAccountKubeconfig(admin, sandbox, namespace, serviceAccount);
});

afterAll(async () => {
  await cp?.stop();
  await core.deleteNamespace({ name: namespace }).catch(() => undefined);
  await deleteClusterScoped(admin, rbac ?? []);
});

describe('doctor against the sandbox, as the chart ServiceAccount', () => {
  it('finds the missing state ConfigMap and exits 1', async () => {
    const lines = await doctor();
    expect(find(lines, 'rbac')[0]).toMatchObject({ status: 'OK' });
    expect(find(lines, 'state')).toEqual([
      expect.objectContaining({
        status: 'FAIL',
        message: expect.stringContaining(`${namespace}/${names.configMap} does not exist`),
      }),
    ]);
    expect(summarize(lines).exitCode).toBe(1);
  });

  it('--fix creates it with the given stable id, and never overwrites it', async () => {
    const fixed = await doctor({ fix: true, agentId: fixedId });
    expect(find(fixed, 'fix')).toEqual([
      expect.objectContaining({
        status: 'FIXED',
        message: `created ConfigMap ${namespace}/${names.configMap} with agent_id ${fixedId} (from --agent-id)`,
      }),
    ]);
    const again = await doctor({ fix: true, agentId: 'agent-other' });
    expect(find(again, 'fix')[0]?.message).toContain('nothing to fix');
    const stored = await core.readNamespacedConfigMap({ name: names.configMap, namespace });
    expect(stored.data).toEqual({ agent_id: fixedId });
    expect(find(again, 'state').map((l) => l.status)).toEqual(['OK', 'WARN']);
    expect(find(again, 'state')[1]?.message).toContain('has no cluster_id: not registered yet');
  });

  it('the agent adopts the repaired identity; the control plane confirms it', async () => {
    const agent = createTestRuntime({ apiUrl: cp.url, kubeconfig, names, env: env() });
    agent.runtime.start();
    try {
      await waitForReady(agent.runtime);
    } finally {
      await agent.runtime.stop();
    }
    expect(agent.runtime.snapshot().identity?.agentId).toBe(fixedId);
    const lines = await doctor({ controlPlane: true });
    expect(find(lines, 'state').map((l) => l.status)).toEqual(['OK', 'OK']);
    expect(find(lines, 'registrations')[0]?.message).toBe('last hour: 1 fresh registration(s), 0 re-registration(s)');
    expect(find(lines, 'control-plane')[0]).toMatchObject({
      status: 'OK',
      message: expect.stringContaining('counted as one registration'),
    });
    expect(summarize(lines).exitCode).toBe(0);
  });

  it('finds a missing RoleBinding (the bundled image CLI, exit code 1)', async () => {
    await admin.makeApiClient(RbacAuthorizationV1Api).deleteNamespacedRoleBinding({ name: serviceAccount, namespace });
    const tools = await mkdtemp(path.join(tmpdir(), 'doctor-tools-'));
    await buildTools(tools);
    const run = await new Promise<{ code: number; stdout: string }>((resolve) => {
      execFile(
        process.execPath,
        [path.join(tools, 'doctor.cjs')],
        { cwd: tools, env: { ...process.env, ...env(), KUBECONFIG: kubeconfig } },
        (error, stdout) => resolve({ code: error ? Number(error.code) : 0, stdout }),
      );
    });
    expect(run.code).toBe(1);
    expect(run.stdout).toMatch(
      new RegExp(
        `FAIL +rbac +no ConfigMap, Secret or Lease permission in namespace ${namespace}: the RoleBinding for this ServiceAccount is missing`,
      ),
    );
    expect(run.stdout).toMatch(/\d+ failure\(s\)$/m);
  });
});
