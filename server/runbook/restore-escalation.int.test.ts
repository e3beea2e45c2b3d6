import { ApiException, AppsV1Api, CoreV1Api, type KubernetesObject } from '@kubernetes/client-node';
import { stringify } from 'yaml';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
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

/**
 * Finding 1 of issue 13: an admin login restored anything the agent's ServiceAccount could write.
 * One document per escalation path; each must be refused, naming the object and the rule, and create
 * or change nothing.
 */
const sandbox = inject('sandbox');
const alice = { name: 'alice', role: 'admin' } as const;
const agentNamespace = 'pipeops-system';
const agentServiceAccount = 'pipeops-agent';

let f: Fixtures;

type Spec = Record<string, unknown>;

function managed(namespace: string, name: string, pod: Spec = {}, container: Spec = {}): KubernetesObject {
  const d = deploymentSpec(namespace, name) as unknown as { spec: { template: { spec: Spec } } };
  const podSpec = d.spec.template.spec;
  const [first] = podSpec.containers as Spec[];
  podSpec.containers = [{ ...first, ...container }];
  Object.assign(podSpec, pod);
  return d as unknown as KubernetesObject;
}

async function rejection(promise: Promise<unknown>): Promise<RunbookError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(RunbookError);
  return error as RunbookError;
}

async function exists(read: () => Promise<unknown>): Promise<boolean> {
  try {
    await read();
    return true;
  } catch (error) {
    if (error instanceof ApiException && error.code === 404) return false;
    throw error;
  }
}

function objectExists(o: KubernetesObject): Promise<boolean> {
  const name = o.metadata?.name ?? '';
  const namespace = o.metadata?.namespace ?? '';
  const apps = f.admin.makeApiClient(AppsV1Api);
  const core = f.admin.makeApiClient(CoreV1Api);
  if (o.kind === 'Deployment') return exists(() => apps.readNamespacedDeployment({ name, namespace }));
  if (o.kind === 'Secret') return exists(() => core.readNamespacedSecret({ name, namespace }));
  return exists(() => core.readNamespacedConfigMap({ name, namespace }));
}

beforeAll(async () => {
  f = await makeFixtures(sandbox, 'rb-escalate');
  // Someone else's workload: not managed by the agent, with a value the preview must never print.
  const unmanaged = deploymentSpec(f.namespace, 'payments', { managed: false }) as unknown as {
    spec: { template: { spec: { containers: Spec[] } } };
  };
  (unmanaged.spec.template.spec.containers[0] as Spec).env = [{ name: 'DB_PASSWORD', value: 'hunter2-live-value' }];
  await applyAsAdmin(f, unmanaged as unknown as KubernetesObject);
});

afterAll(async () => {
  if (f) await removeFixtures(f);
});

describe('restore refuses every escalation path of finding 1 and creates nothing', () => {
  const cases = (ns: string): [string, KubernetesObject, string][] => [
    [
      'a Deployment in kube-system',
      managed('kube-system', 'evil-system'),
      'namespace kube-system is a system namespace',
    ],
    [
      'a privileged container',
      managed(ns, 'evil-privileged', {}, { securityContext: { privileged: true } }),
      'privileged is true',
    ],
    [
      'a hostPath volume of /',
      managed(ns, 'evil-hostpath', { volumes: [{ name: 'root', hostPath: { path: '/' } }] }),
      'is a hostPath volume',
    ],
    ['hostNetwork', managed(ns, 'evil-hostnet', { hostNetwork: true }), 'hostNetwork is true'],
    ['hostPID', managed(ns, 'evil-hostpid', { hostPID: true }), 'hostPID is true'],
    [
      'SYS_ADMIN',
      managed(ns, 'evil-sysadmin', {}, { securityContext: { capabilities: { add: ['SYS_ADMIN'] } } }),
      'capabilities.add has SYS_ADMIN',
    ],
    [
      "the agent's own ServiceAccount",
      managed(agentNamespace, 'evil-as-agent', { serviceAccountName: agentServiceAccount }),
      `serviceAccountName is ${agentServiceAccount}, the agent's own ServiceAccount`,
    ],
    [
      'a Secret of type service-account-token for the agent',
      {
        apiVersion: 'v1',
        kind: 'Secret',
        metadata: {
          name: 'evil-agent-token',
          namespace: agentNamespace,
          annotations: { 'kubernetes.io/service-account.name': agentServiceAccount },
        },
        type: 'kubernetes.io/service-account-token',
      } as KubernetesObject,
      `only the agent's own Secret ${agentNamespace}/pipeops-agent-secrets can be restored`,
    ],
    [
      'an Opaque Secret the backup does not contain',
      {
        apiVersion: 'v1',
        kind: 'Secret',
        metadata: { name: 'evil-opaque', namespace: ns },
        stringData: { a: 'b' },
      } as KubernetesObject,
      "only the agent's own Secret",
    ],
    [
      'a ConfigMap in the agent namespace that no backup contains',
      {
        apiVersion: 'v1',
        kind: 'ConfigMap',
        metadata: { name: 'evil-config', namespace: agentNamespace },
        data: { a: 'b' },
      } as KubernetesObject,
      `only the agent's own ConfigMap ${agentNamespace}/pipeops-agent-state can be restored`,
    ],
  ];

  it.each(cases('placeholder').map(([what], i) => [what, i]))('%s', async (_, i) => {
    const [, object, rule] = cases(f.namespace)[i as number] ?? [];
    if (!object || !rule) throw new Error('no case');
    const error = await rejection(applyRestore(f.agent, stringify(object), alice, { agentNamespace }));
    expect(error.status).toBe(422);
    expect(error.message).toContain(
      `document 1 (${object.kind} ${object.metadata?.namespace}/${object.metadata?.name})`,
    );
    expect(error.message).toContain(rule);
    expect(error.message).toContain('nothing was applied');
    expect(await objectExists(object)).toBe(false);
    // The preview lists it as refused with the same rule and diffs nothing.
    const [entry] = await previewRestore(f.agent, stringify(object), { agentNamespace });
    expect(entry).toMatchObject({ action: 'refused', diff: '' });
    expect(entry?.note).toContain(rule);
  });

  it('does not patch an unmanaged Deployment elsewhere (replicas, image), even when the document claims the label', async () => {
    const takeover = managed(f.namespace, 'payments', {}, { image: 'attacker.example/miner:1' });
    (takeover as { spec: { replicas: number } }).spec.replicas = 5;
    const error = await rejection(applyRestore(f.agent, stringify(takeover), alice, { agentNamespace }));
    expect(error.message).toContain(`document 1 (Deployment ${f.namespace}/payments)`);
    expect(error.message).toContain('is not managed by the agent');
    const live = await readDeployment(f, 'payments');
    expect(live.spec?.replicas).toBe(1);
    expect(live.spec?.template.spec?.containers[0]?.image).toBe('registry.example/web:1.0');
    expect(live.metadata?.labels?.['pipeops.io/managed']).toBeUndefined();

    const unlabelled = deploymentSpec(f.namespace, 'payments', { managed: false, replicas: 5 });
    const second = await rejection(applyRestore(f.agent, stringify(unlabelled), alice, { agentNamespace }));
    expect(second.message).toContain('metadata.labels lacks pipeops.io/managed=true');
    expect((await readDeployment(f, 'payments')).spec?.replicas).toBe(1);
  });

  it('never prints the live spec of an unmanaged Deployment in a preview (finding 2)', async () => {
    const probe = managed(f.namespace, 'payments');
    const plan = await previewRestore(f.agent, stringify(probe), { agentNamespace });
    expect(plan[0]).toMatchObject({ action: 'refused', diff: '' });
    expect(JSON.stringify(plan)).not.toContain('hunter2-live-value');
    expect(JSON.stringify(plan)).not.toContain('DB_PASSWORD');
  });

  it('one bad document refuses the whole restore: the good ones next to it are not applied either', async () => {
    const good = managed(f.namespace, 'fine');
    const bad = managed(f.namespace, 'evil-mixed', { hostPID: true });
    const error = await rejection(
      applyRestore(f.agent, `${stringify(good)}---\n${stringify(bad)}`, alice, { agentNamespace }),
    );
    expect(error.message).toContain(`document 2 (Deployment ${f.namespace}/evil-mixed)`);
    expect(await objectExists(good)).toBe(false);
  });

  it('an unmodified backup restores as is; the same document edited must pass the baseline', async () => {
    // A managed workload that does not meet the baseline, created by the cluster admin (not a restore).
    await applyAsAdmin(f, managed(f.namespace, 'node-agent', { hostNetwork: true }));
    const backup = await buildBackup(f.agent, { agentNamespace }, alice);
    const doc = backup.yaml
      .split('\n---\n')
      .find((d) => d.includes(`namespace: ${f.namespace}`) && d.includes('name: node-agent'));
    expect(doc).toContain('pipeops.io/backup-signature: v1.');
    expect(backup.yaml).not.toContain('backup-signing-key');
    await f.admin.makeApiClient(AppsV1Api).deleteNamespacedDeployment({ name: 'node-agent', namespace: f.namespace });
    await expect.poll(() => exists(() => readDeployment(f, 'node-agent')), { timeout: 30_000 }).toBe(false);

    const edited = `${doc?.replace('replicas: 1', 'replicas: 2')}`;
    const error = await rejection(applyRestore(f.agent, edited, alice, { agentNamespace }));
    expect(error.message).toContain('Pod Security baseline: spec.template.spec.hostNetwork is true');
    expect(await exists(() => readDeployment(f, 'node-agent'))).toBe(false);

    const result = await applyRestore(f.agent, `${doc}`, alice, { agentNamespace });
    expect(result.objects[0]).toMatchObject({ action: 'create', signed: true });
    const restored = await readDeployment(f, 'node-agent');
    expect(restored.spec?.template.spec?.hostNetwork).toBe(true);
    // The signature is bookkeeping of the backup file, not something restored onto the object.
    expect(restored.metadata?.annotations?.['pipeops.io/backup-signature']).toBeUndefined();
    expect(result.message).toContain(`created Deployment ${f.namespace}/node-agent`);
  });

  it('the audit record names every object a refused restore contained', async () => {
    const entries = (await listAuditEvents(f.agent, { limit: 1000 })).filter((e) => e.reason === 'RunbookRestore');
    const refused = entries.find((e) => e.message.includes('refused Deployment kube-system/evil-system'));
    expect(refused?.result).toBe('failed');
    expect(entries.some((e) => e.message.includes(`refused Deployment ${f.namespace}/payments`))).toBe(true);
  });
});
