import { AppsV1Api, type KubeConfig } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, inject, it, vi } from 'vitest';
import { listAuditEvents } from './audit';
import { restartDeployment, scaleDeployment, wakeDeployment, keepAwake } from './actions';
import { RunbookError } from './errors';
import {
  applyAsAdmin,
  deploymentSpec,
  makeFixtures,
  readDeployment,
  readOnlyKubeConfig,
  removeFixtures,
  type Fixtures,
} from './int-fixtures';
import { actionPermissions } from './permissions';
import { listManagedWorkloads } from './workloads';

const sandbox = inject('sandbox');
const alice = { name: 'alice', role: 'admin' } as const;
const waitLong = { timeout: 60_000, interval: 250 };

let f: Fixtures;

async function rejection(promise: Promise<unknown>): Promise<RunbookError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(RunbookError);
  return error as RunbookError;
}

async function workload(
  kc: KubeConfig,
  name: string,
): Promise<Awaited<ReturnType<typeof listManagedWorkloads>>[number]> {
  const found = (await listManagedWorkloads(kc)).find((w) => w.namespace === f.namespace && w.name === name);
  if (!found) throw new Error(`${f.namespace}/${name} not listed`);
  return found;
}

beforeAll(async () => {
  f = await makeFixtures(sandbox, 'rb-actions');
});

afterAll(async () => {
  if (f) await removeFixtures(f);
});

describe('listManagedWorkloads as the restricted agent', () => {
  it('lists managed Deployments with pods, parsed TTL state and problems, not unmanaged ones', async () => {
    await applyAsAdmin(
      f,
      deploymentSpec(f.namespace, 'listed', { replicas: 2, annotations: { 'pipeops.io/ttl': '30m' } }),
    );
    await applyAsAdmin(
      f,
      deploymentSpec(f.namespace, 'bad-ttl', { replicas: 0, annotations: { 'pipeops.io/ttl': 'later' } }),
    );
    await applyAsAdmin(f, deploymentSpec(f.namespace, 'unmanaged', { managed: false }));
    await vi.waitFor(async () => {
      const w = await workload(f.agent, 'listed');
      expect(w.pods.filter((p) => p.phase === 'Running' && p.ready)).toHaveLength(2);
    }, waitLong);
    const listed = await workload(f.agent, 'listed');
    expect(listed).toMatchObject({
      replicas: { desired: 2 },
      state: { ttl: { text: '30m', ms: 1_800_000 }, problems: [] },
    });
    expect(listed.pods[0]?.node).toMatch(/^kwok-node-\d$/);
    const bad = await workload(f.agent, 'bad-ttl');
    expect(bad.state.problems[0]?.message).toContain('pipeops.io/ttl="later" is not a positive duration');
    const names = (await listManagedWorkloads(f.agent)).filter((w) => w.namespace === f.namespace).map((w) => w.name);
    expect(names).toEqual(['bad-ttl', 'listed']);
  });
});

describe('restartDeployment', () => {
  it('sets restartedAt on the pod template and a new ReplicaSet rolls out', async () => {
    await applyAsAdmin(f, deploymentSpec(f.namespace, 'restart-me'));
    const apps = f.admin.makeApiClient(AppsV1Api);
    const replicaSets = async (): Promise<number> =>
      (await apps.listNamespacedReplicaSet({ namespace: f.namespace, labelSelector: 'app=restart-me' })).items.length;
    await vi.waitFor(async () => expect(await replicaSets()).toBe(1), waitLong);

    const result = await restartDeployment(f.agent, { namespace: f.namespace, name: 'restart-me' }, alice);
    expect(result.message).toBe(`alice (admin) restarted ${f.namespace}/restart-me: ok`);
    expect(result.warnings).toEqual([]);
    const live = await readDeployment(f, 'restart-me');
    expect(live.spec?.template.metadata?.annotations?.['kubectl.kubernetes.io/restartedAt']).toBe(result.restartedAt);
    await vi.waitFor(async () => expect(await replicaSets()).toBe(2), waitLong);
    expect((await workload(f.agent, 'restart-me')).restartedAt).toBe(result.restartedAt);
  });
});

describe('scaleDeployment', () => {
  it('scales to 3 through the scale subresource and KWOK runs 3 pods', async () => {
    await applyAsAdmin(f, deploymentSpec(f.namespace, 'scale-me'));
    const result = await scaleDeployment(f.agent, { namespace: f.namespace, name: 'scale-me', replicas: 3 }, alice);
    expect(result).toMatchObject({
      from: 1,
      to: 3,
      message: `alice (admin) scaled ${f.namespace}/scale-me from 1 to 3: ok`,
    });
    await vi.waitFor(async () => {
      const w = await workload(f.agent, 'scale-me');
      expect(w.pods.filter((p) => p.phase === 'Running')).toHaveLength(3);
      expect(w.replicas).toMatchObject({ desired: 3, ready: 3 });
    }, waitLong);
  });

  it.each([
    [-1, 'replicas must be an integer from 0 to 50; got -1'],
    [1.5, 'replicas must be an integer from 0 to 50; got 1.5'],
    ['abc', 'replicas must be an integer from 0 to 50; got "abc"'],
    [100000, 'replicas must be an integer from 0 to 50; got 100000'],
    ['', 'replicas must be an integer from 0 to 50; got ""'],
    [undefined, 'replicas is required: an integer from 0 to 50'],
  ])('refuses replicas=%j with 400 and changes nothing', async (replicas, message) => {
    await applyAsAdmin(f, deploymentSpec(f.namespace, 'bad-input', { replicas: 2 }));
    const before = await readDeployment(f, 'bad-input');
    const error = await rejection(
      scaleDeployment(f.agent, { namespace: f.namespace, name: 'bad-input', replicas }, alice),
    );
    expect(error).toMatchObject({ status: 400, code: 'invalid_input', message });
    const after = await readDeployment(f, 'bad-input');
    expect(after.metadata?.generation).toBe(before.metadata?.generation);
    expect(after.spec?.replicas).toBe(2);
  });

  it('honours a lower per-workload pipeops.io/max-replicas', async () => {
    await applyAsAdmin(f, deploymentSpec(f.namespace, 'capped', { annotations: { 'pipeops.io/max-replicas': '2' } }));
    const error = await rejection(
      scaleDeployment(f.agent, { namespace: f.namespace, name: 'capped', replicas: 3 }, alice),
    );
    expect(error.status).toBe(400);
    expect(error.message).toBe(
      'replicas must be an integer from 0 to 2 (pipeops.io/max-replicas on this Deployment); got 3',
    );
  });

  it('refuses (409) a Deployment that an HPA scales, and says which HPA', async () => {
    await applyAsAdmin(f, deploymentSpec(f.namespace, 'autoscaled'));
    await applyAsAdmin(f, {
      apiVersion: 'autoscaling/v2',
      kind: 'HorizontalPodAutoscaler',
      metadata: { name: 'autoscaled-hpa', namespace: f.namespace },
      spec: {
        scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'autoscaled' },
        minReplicas: 1,
        maxReplicas: 4,
        metrics: [],
      },
    } as never);
    const before = await readDeployment(f, 'autoscaled');
    const error = await rejection(
      scaleDeployment(f.agent, { namespace: f.namespace, name: 'autoscaled', replicas: 2 }, alice),
    );
    expect(error.status).toBe(409);
    expect(error.message).toContain('is scaled by the HorizontalPodAutoscaler autoscaled-hpa');
    expect((await readDeployment(f, 'autoscaled')).metadata?.generation).toBe(before.metadata?.generation);
    expect((await workload(f.agent, 'autoscaled')).hpa).toBe('autoscaled-hpa');
  });

  it('refuses Deployments the agent does not manage, and unknown ones', async () => {
    await applyAsAdmin(f, deploymentSpec(f.namespace, 'not-mine', { managed: false }));
    const notMine = await rejection(
      scaleDeployment(f.agent, { namespace: f.namespace, name: 'not-mine', replicas: 2 }, alice),
    );
    expect(notMine).toMatchObject({
      status: 409,
      message: expect.stringContaining('lacks the label pipeops.io/managed=true'),
    });
    const missing = await rejection(restartDeployment(f.agent, { namespace: f.namespace, name: 'nope' }, alice));
    expect(missing).toMatchObject({ status: 404, message: `Deployment ${f.namespace}/nope not found` });
  });

  it('refuses a viewer even when the route forgot to check', async () => {
    const error = await rejection(
      restartDeployment(f.agent, { namespace: f.namespace, name: 'scale-me' }, { name: 'victor', role: 'viewer' }),
    );
    expect(error).toMatchObject({
      status: 403,
      message: 'victor (viewer) may not run runbook actions: admin role required',
    });
  });
});

describe('wake and keep awake', () => {
  it('restores the original replicas and records activity', async () => {
    await applyAsAdmin(
      f,
      deploymentSpec(f.namespace, 'sleeper', {
        replicas: 0,
        annotations: {
          'pipeops.io/ttl': '30m',
          'pipeops.io/original-replicas': '2',
          'pipeops.io/scaled-down-at': '2025-01-01T00:00:00Z',
        },
      }),
    );
    const woke = await wakeDeployment(f.agent, { namespace: f.namespace, name: 'sleeper' }, alice);
    expect(woke).toMatchObject({ from: 0, to: 2 });
    const live = await readDeployment(f, 'sleeper');
    expect(live.spec?.replicas).toBe(2);
    expect(live.metadata?.annotations?.['pipeops.io/scaled-down-at']).toBeUndefined();
    expect(live.metadata?.annotations?.['pipeops.io/last-activity-source']).toBe('dashboard');

    const kept = await keepAwake(f.agent, { namespace: f.namespace, name: 'sleeper', duration: '2h' }, alice);
    expect(kept.keepAwakeUntil).toBeDefined();
    expect((await workload(f.agent, 'sleeper')).state.keepAwakeUntil).toBe(kept.keepAwakeUntil);
    const bad = await rejection(
      keepAwake(f.agent, { namespace: f.namespace, name: 'sleeper', duration: 'forever' }, alice),
    );
    expect(bad).toMatchObject({
      status: 400,
      message: 'duration must be from 1m to 168h (e.g. 2h or 30m); got "forever"',
    });
  });
});

describe('agent permissions', () => {
  it('the sandbox agent may run every action', async () => {
    const permissions = await actionPermissions(f.agent, { namespace: f.namespace, agentNamespace: 'pipeops-system' });
    for (const [action, p] of Object.entries(permissions))
      expect({ action, ...p }).toEqual({ action, allowed: true, missing: [] });
    // Cached: a second page load within 30 s fires no new reviews and gets the same answer.
    expect(await actionPermissions(f.agent, { namespace: f.namespace, agentNamespace: 'pipeops-system' })).toBe(
      permissions,
    );
  });

  it('a read-only identity is told which verb on which resource is missing, and the action fails 403 with it', async () => {
    const readOnly = await readOnlyKubeConfig(f, sandbox.apiServerUrl);
    await applyAsAdmin(f, deploymentSpec(f.namespace, 'guarded'));
    const permissions = await actionPermissions(readOnly, { namespace: f.namespace, agentNamespace: 'pipeops-system' });
    expect(permissions.restart).toEqual({ allowed: false, missing: [`patch deployments.apps in ${f.namespace}`] });
    expect(permissions.scale).toEqual({ allowed: false, missing: [`patch deployments/scale.apps in ${f.namespace}`] });
    expect(permissions.backup.missing).toEqual(['get configmaps in pipeops-system', 'get secrets in pipeops-system']);

    const restart = await rejection(restartDeployment(readOnly, { namespace: f.namespace, name: 'guarded' }, alice));
    expect(restart.status).toBe(403);
    expect(restart.message).toBe(`the agent lacks permission for restart: patch deployments.apps in ${f.namespace}`);
    // It cannot write the audit Event either; the action's own error still comes first.
    expect(restart.warnings[0]).toMatch(/^audit Event not written: HTTP 403/);
    const scale = await rejection(
      scaleDeployment(readOnly, { namespace: f.namespace, name: 'guarded', replicas: 2 }, alice),
    );
    expect(scale.message).toBe(`the agent lacks permission for scale: patch deployments/scale.apps in ${f.namespace}`);
    expect((await readDeployment(f, 'guarded')).spec?.replicas).toBe(1);
  });
});

describe('audit Events', () => {
  it('records every action with actor and result, listed newest first', async () => {
    const entries = (await listAuditEvents(f.agent, { limit: 500 })).filter((e) => e.target.namespace === f.namespace);
    const scaled = entries.find((e) => e.message === `alice (admin) scaled ${f.namespace}/scale-me from 1 to 3: ok`);
    expect(scaled).toMatchObject({
      action: 'scale',
      reason: 'RunbookScale',
      type: 'Normal',
      actor: 'alice',
      role: 'admin',
      result: 'ok',
    });
    expect(scaled?.target).toEqual({ kind: 'Deployment', namespace: f.namespace, name: 'scale-me' });
    const refused = entries.find((e) => e.target.name === 'autoscaled');
    expect(refused).toMatchObject({ type: 'Warning', result: 'failed', reason: 'RunbookScale' });
    expect(refused?.message).toContain(`alice (admin) scaled ${f.namespace}/autoscaled from 1 to 2: failed — `);
    expect(entries.some((e) => e.reason === 'RunbookRestart' && e.result === 'ok')).toBe(true);
    expect(entries.some((e) => e.reason === 'RunbookWake')).toBe(true);
    expect(entries.some((e) => e.reason === 'RunbookKeepAwake')).toBe(true);
    const times = entries.map((e) => e.time);
    expect([...times].sort().reverse()).toEqual(times);
  });
});
