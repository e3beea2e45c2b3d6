import { AppsV1Api, CoreV1Api, type V1Deployment } from '@kubernetes/client-node';
import { parseAllDocuments } from 'yaml';
import { afterAll, beforeAll, describe, expect, inject, it, vi } from 'vitest';
import { listAuditEvents } from './audit';
import { buildBackup } from './backup';
import { RunbookError } from './errors';
import {
  applyAsAdmin,
  deploymentSpec,
  makeFixtures,
  readDeployment,
  removeFixtures,
  type Fixtures,
} from './int-fixtures';
import { applyRestore, previewRestore } from './restore';

const sandbox = inject('sandbox');
const alice = { name: 'alice', role: 'admin' } as const;
const agentNamespace = 'pipeops-system';

let f: Fixtures;
let original: V1Deployment;

async function rejection(promise: Promise<unknown>): Promise<RunbookError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(RunbookError);
  return error as RunbookError;
}

beforeAll(async () => {
  f = await makeFixtures(sandbox, 'rb-backup');
  // The agent runtime creates these in a real install; the sandbox run has no agent, so seed them.
  await applyAsAdmin(f, {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name: 'pipeops-agent-state', namespace: agentNamespace },
    data: { agent_id: 'agent-runbook-test', cluster_id: 'cluster-1' },
  } as never);
  await applyAsAdmin(f, {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { name: 'pipeops-agent-secrets', namespace: agentNamespace },
    stringData: { token: 'super-secret-token' },
  } as never);
  await applyAsAdmin(f, deploymentSpec(f.namespace, 'web', { replicas: 2, annotations: { 'pipeops.io/ttl': '30m' } }));
  await vi.waitFor(async () => expect((await readDeployment(f, 'web')).status?.replicas).toBe(2), { timeout: 60_000 });
  original = await readDeployment(f, 'web');
});

afterAll(async () => {
  if (f) await removeFixtures(f);
});

describe('backup and restore as the restricted agent', () => {
  let backup: Awaited<ReturnType<typeof buildBackup>>;

  it('builds re-appliable YAML: no status, uid, managedFields; Secret values redacted; a header', async () => {
    backup = await buildBackup(f.agent, { agentNamespace }, alice);
    expect(backup.yaml).toMatch(/^# pipeops-agent backup/);
    expect(backup.yaml).toMatch(/^# date: \d{4}-\d{2}-\d{2}T/m);
    expect(backup.yaml).toMatch(/^# cluster: .+\(https:\/\/127\.0\.0\.1:\d+\)$/m);
    expect(backup.yaml).toContain('Secret values are redacted (REDACTED)');
    expect(backup.yaml).not.toContain('super-secret-token');
    expect(backup.yaml).not.toContain(Buffer.from('super-secret-token').toString('base64'));
    type Doc = { kind: string; metadata: Record<string, unknown> } & Record<string, unknown>;
    const objects = (parseAllDocuments(backup.yaml) as { toJS(): unknown }[]).map((d) => d.toJS() as Doc);
    for (const o of objects) {
      expect(o.status).toBeUndefined();
      expect(Object.keys(o.metadata)).not.toEqual(expect.arrayContaining(['uid']));
      for (const key of ['uid', 'resourceVersion', 'managedFields', 'creationTimestamp', 'generation']) {
        expect(o.metadata[key], `${o.kind} metadata.${key}`).toBeUndefined();
      }
    }
    expect(objects.find((o) => o.kind === 'Secret')?.data).toEqual({ token: 'REDACTED' });
    expect(objects.find((o) => o.kind === 'ConfigMap')?.data).toMatchObject({ agent_id: 'agent-runbook-test' });
    const web = objects.find(
      (o) => o.kind === 'Deployment' && o.metadata.name === 'web' && o.metadata.namespace === f.namespace,
    );
    expect((web?.metadata.annotations as Record<string, string>)['deployment.kubernetes.io/revision']).toBeUndefined();
    expect(backup.objects).toContainEqual({ kind: 'Deployment', namespace: f.namespace, name: 'web' });
  });

  it('previews an unchanged cluster as unchanged and the redacted Secret as skipped', async () => {
    const plan = await previewRestore(f.agent, backup.yaml);
    const web = plan.find((p) => p.namespace === f.namespace && p.name === 'web');
    expect(web).toMatchObject({ kind: 'Deployment', action: 'unchanged', diff: '' });
    expect(plan.find((p) => p.kind === 'Secret')).toMatchObject({
      action: 'skipped',
      note: expect.stringContaining('REDACTED'),
    });
  });

  it('after the Deployment is deleted, preview shows a create with a diff and apply brings it back', async () => {
    await f.admin.makeApiClient(AppsV1Api).deleteNamespacedDeployment({ name: 'web', namespace: f.namespace });
    await vi.waitFor(async () => expect(await readDeployment(f, 'web').catch(() => 'gone')).toBe('gone'), {
      timeout: 30_000,
    });

    const plan = await previewRestore(f.agent, backup.yaml);
    const web = plan.find((p) => p.namespace === f.namespace && p.name === 'web');
    expect(web?.action).toBe('create');
    expect(web?.diff).toContain(`+++ restore/Deployment/${f.namespace}/web`);
    expect(web?.diff).toContain('+    pipeops.io/ttl: 30m');
    expect(await readDeployment(f, 'web').catch(() => 'still gone')).toBe('still gone');

    const result = await applyRestore(f.agent, backup.yaml, alice, { agentNamespace });
    expect(result.objects.find((p) => p.name === 'web')?.action).toBe('create');
    expect(result.message).toMatch(
      /^alice \(admin\) restored a backup of \d+ objects \(1 created, 0 updated, \d+ unchanged, 1 skipped\) — created Deployment [-\w]+\/web; skipped Secret pipeops-system\/pipeops-agent-secrets: ok$/,
    );
    const restored = await readDeployment(f, 'web');
    expect(restored.spec).toEqual(original.spec);
    expect(restored.metadata?.labels).toEqual(original.metadata?.labels);
    const secret = await f.admin
      .makeApiClient(CoreV1Api)
      .readNamespacedSecret({ name: 'pipeops-agent-secrets', namespace: agentNamespace });
    expect(Buffer.from(secret.data?.token ?? '', 'base64').toString()).toBe('super-secret-token');
  });

  it('shows a changed field as an update diff, with Secret values masked', async () => {
    // Only this file's documents: other test files' managed Deployments may be in the backup too.
    const docs = backup.yaml.split('\n---\n');
    const web = docs.find((d) => d.includes(`namespace: ${f.namespace}`) && d.includes('name: web'));
    const secretDoc = docs.find((d) => d.includes('kind: Secret'));
    const edited = [
      web?.replace('pipeops.io/ttl: 30m', 'pipeops.io/ttl: 45m'),
      secretDoc?.replace('token: REDACTED', `token: ${Buffer.from('new-token').toString('base64')}`),
    ].join('\n---\n');
    const plan = await previewRestore(f.agent, edited);
    const webPlan = plan.find((p) => p.namespace === f.namespace && p.name === 'web');
    expect(webPlan?.action).toBe('update');
    expect(webPlan?.diff).toContain('-    pipeops.io/ttl: 30m');
    expect(webPlan?.diff).toContain('+    pipeops.io/ttl: 45m');
    const secret = plan.find((p) => p.kind === 'Secret');
    expect(secret?.action).toBe('update');
    expect(secret?.diff).toContain('+  token: REDACTED (changed)');
    expect(secret?.diff).not.toContain(Buffer.from('new-token').toString('base64'));
    expect(secret?.diff).not.toContain(Buffer.from('super-secret-token').toString('base64'));
  });

  it.each([
    [
      'an unknown kind',
      'apiVersion: v1\nkind: Pod\nmetadata: {name: x, namespace: default}\n',
      'document 2 (Pod x): Pod (v1) is not allowed in a restore',
    ],
    [
      'a Namespace',
      'apiVersion: v1\nkind: Namespace\nmetadata: {name: evil, namespace: default}\n',
      'document 2 (Namespace evil): Namespace (v1) is not allowed',
    ],
    ['broken YAML', 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: [unclosed\n', 'document 2: invalid YAML'],
  ])('refuses %s with 400 and applies nothing', async (_, extra, message) => {
    const web = backup.yaml.split('\n---\n').find((d) => d.includes(`namespace: ${f.namespace}`));
    const tampered = `${web?.replace('replicas: 2', 'replicas: 4')}\n---\n${extra}`;
    for (const run of [
      () => previewRestore(f.agent, tampered),
      () => applyRestore(f.agent, tampered, alice, { agentNamespace }),
    ]) {
      const error = await rejection(run());
      expect(error.status).toBe(400);
      expect(error.message).toContain(message);
      expect(error.message).toContain('nothing was applied');
    }
    expect((await readDeployment(f, 'web')).spec?.replicas).toBe(2);
  });

  it('refuses input over 1 MiB', async () => {
    const error = await rejection(previewRestore(f.agent, `# ${'x'.repeat(1024 * 1024)}`));
    expect(error).toMatchObject({ status: 413, message: 'the backup is 1.00 MiB; the limit is 1 MiB' });
  });

  it('audits backup and restore on the state ConfigMap', async () => {
    const entries = (await listAuditEvents(f.agent, { limit: 1000 })).filter(
      (e) => e.target.name === 'pipeops-agent-state',
    );
    expect(entries.find((e) => e.reason === 'RunbookBackup' && e.result === 'ok')?.message).toMatch(
      /^alice \(admin\) took a backup of \d+ objects: ok$/,
    );
    expect(entries.find((e) => e.reason === 'RunbookRestore' && e.result === 'ok')).toBeDefined();
    const failed = entries.filter((e) => e.reason === 'RunbookRestore' && e.result === 'failed');
    expect(failed.some((e) => e.message.includes('Namespace (v1) is not allowed in a restore'))).toBe(true);
    expect(failed.some((e) => e.message.includes('invalid YAML'))).toBe(true);
    expect(failed.every((e) => e.type === 'Warning')).toBe(true);
  });
});
