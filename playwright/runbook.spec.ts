import { readFile } from 'node:fs/promises';
import { AppsV1Api, CoreV1Api, type V1Deployment } from '@kubernetes/client-node';
import { expect, test, type APIResponse, type Page } from '@playwright/test';
import { kubeConfigFromFile } from '../agent/kubernetes/kubeconfig';
import { sandboxLayout } from '../sandbox/cluster/state';
import { deploymentSpec } from '../server/runbook/int-fixtures';
import { e2eActivityToken, e2eBaseUrl, e2eStateConfigMap } from './e2e-env';
import { signIn } from './sign-in';

// One namespace and one managed Deployment for the whole file; the tests run in order and build on it.
test.describe.configure({ mode: 'serial' });

const admin = kubeConfigFromFile(sandboxLayout(process.env.PIPEOPS_SANDBOX_NAME ?? 'test').adminKubeconfig);
const apps = admin.makeApiClient(AppsV1Api);
const core = admin.makeApiClient(CoreV1Api);
const namespace = `e2e-${Date.now().toString(36)}`;
const name = 'web';
const origin = { Origin: e2eBaseUrl, 'Content-Type': 'application/json' };

async function deployment(): Promise<V1Deployment | undefined> {
  return apps.readNamespacedDeployment({ name, namespace }).catch(() => undefined);
}

function row(page: Page): ReturnType<Page['getByTestId']> {
  return page.getByTestId(`workload-row-${namespace}-${name}`);
}

test.beforeAll(async ({ request }) => {
  await core.createNamespace({ body: { metadata: { name: namespace } } });
  await apps.createNamespacedDeployment({ namespace, body: deploymentSpec(namespace, name, { replicas: 1 }) });
  await expect.poll(async () => (await request.get('/ready')).status(), { timeout: 30_000 }).toBe(200);
});

test.afterAll(async () => {
  await core.deleteNamespace({ name: namespace }).catch(() => undefined);
});

test('admin: real identity, restart, scale to 3 live, backup, delete, restore through the dry-run diff', async ({
  browser,
}) => {
  const page = await signIn(browser, 'admin');
  let navigations = 0;
  page.on('framenavigated', (frame) => {
    if (frame === page.mainFrame()) navigations += 1;
  });

  const state = await core.readNamespacedConfigMap({ name: e2eStateConfigMap, namespace: 'pipeops-system' });
  await expect(page.getByTestId('agent-id')).toHaveText(state.data?.agent_id ?? 'missing');
  await expect(page.getByTestId('cluster-id')).toHaveText(state.data?.cluster_id ?? 'missing');
  await expect(row(page)).toContainText('Running', { timeout: 30_000 });

  // Restart: kubectl's restartedAt annotation changes and a second ReplicaSet rolls out new pods.
  await row(page).getByRole('button', { name: 'Restart' }).click();
  await expect(page.getByRole('dialog')).toContainText(`${namespace}/${name}`);
  await page.getByRole('button', { name: 'Confirm' }).click();
  await expect
    .poll(async () => (await deployment())?.spec?.template.metadata?.annotations?.['kubectl.kubernetes.io/restartedAt'])
    .toBeTruthy();
  await expect
    .poll(async () => (await apps.listNamespacedReplicaSet({ namespace })).items.length, { timeout: 30_000 })
    .toBeGreaterThanOrEqual(2);

  // Scale to 3: three Running pods on KWOK nodes appear in the page without a reload.
  await row(page).getByRole('button', { name: 'Scale' }).click();
  await page.getByLabel('Replicas').fill('3');
  await page.getByRole('button', { name: 'Confirm' }).click();
  await expect.poll(async () => (await deployment())?.spec?.replicas).toBe(3);
  await expect(row(page)).toContainText('3/3', { timeout: 30_000 });
  const pods = await core.listNamespacedPod({ namespace, labelSelector: `app=${name}` });
  const running = pods.items.filter(
    (pod) => pod.status?.phase === 'Running' && pod.metadata?.deletionTimestamp === undefined,
  );
  expect(running.length).toBeGreaterThanOrEqual(3);
  expect(running.every((pod) => pod.spec?.nodeName?.startsWith('kwok-node-'))).toBe(true);
  expect(navigations).toBe(0);

  await page.screenshot({ path: 'docs/dashboard.png', fullPage: true });

  // Backup: a re-appliable YAML without server-set fields, Secret values redacted.
  const download = page.waitForEvent('download');
  await page.getByRole('button', { name: 'Download backup' }).click();
  const backup = await readFile((await (await download).path()) ?? '', 'utf8');
  expect(backup).toContain(`name: ${name}`);
  expect(backup).not.toMatch(/resourceVersion|managedFields|\buid:/);
  // The download writes an audit Event, so a link (GET) or a cross-site form cannot trigger it.
  const viaGet = await page.request.get('/api/backup');
  expect(viaGet.status()).toBe(405);
  expect(viaGet.headers().allow).toBe('POST');
  expect((await viaGet.json()).error.message).toContain('use POST');
  const crossSite = await page.request.post('/api/backup', { headers: { origin: 'https://attacker.example' } });
  expect(crossSite.status()).toBe(403);
  expect((await crossSite.json()).error.code).toBe('csrf');
  const before = (await deployment())?.spec;

  // Delete, then restore through the dry-run diff.
  await apps.deleteNamespacedDeployment({ name, namespace });
  await expect(row(page)).toHaveCount(0, { timeout: 15_000 });
  await page.getByLabel('Backup YAML').fill(backup);
  await page.getByRole('button', { name: 'Preview restore' }).click();
  const preview = page.getByTestId('backup-panel');
  await expect(preview).toContainText(`Deployment ${namespace}/${name}`);
  await expect(preview).toContainText('create');
  await page.getByRole('button', { name: 'Apply restore' }).click();
  await page.getByRole('button', { name: 'Confirm' }).click();
  await expect.poll(async () => (await deployment())?.spec?.replicas, { timeout: 15_000 }).toBe(before?.replicas);
  const after = (await deployment())?.spec;
  expect(after?.selector).toEqual(before?.selector);
  expect(after?.template.spec?.containers).toEqual(before?.template.spec?.containers);
  expect(after?.template.metadata?.annotations).toEqual(before?.template.metadata?.annotations);
  await expect(row(page)).toBeVisible({ timeout: 15_000 });

  const audit = page.getByTestId('audit-panel');
  for (const entry of ['restarted', 'scaled', 'took a backup', 'restored a backup']) {
    await expect(audit).toContainText(`admin (admin) ${entry}`, { timeout: 15_000 });
  }
  await page.close();
});

test('viewer: same data, every action disabled, direct POSTs refused and nothing changes', async ({ browser }) => {
  const page = await signIn(browser, 'viewer');
  const state = await core.readNamespacedConfigMap({ name: e2eStateConfigMap, namespace: 'pipeops-system' });
  await expect(page.getByTestId('agent-id')).toHaveText(state.data?.agent_id ?? 'missing');
  await expect(row(page)).toBeVisible({ timeout: 15_000 });
  for (const action of ['Restart', 'Scale', 'Wake', 'Keep awake']) {
    await expect(row(page).getByRole('button', { name: action, exact: true })).toBeDisabled();
  }
  await expect(page.getByRole('button', { name: 'Preview restore' })).toBeDisabled();
  await expect(page.getByRole('button', { name: 'Download backup' })).toBeDisabled();

  const generation = (await deployment())?.metadata?.generation;
  const base = `/api/workloads/${namespace}/${name}`;
  for (const [path, data] of [
    [`${base}/restart`, {}],
    [`${base}/scale`, { replicas: 2 }],
    [`${base}/wake`, {}],
    [`${base}/keep-awake`, { hours: 1 }],
    ['/api/restore/apply', { yaml: 'kind: ConfigMap' }],
    ['/api/backup', {}],
  ] as const) {
    const response = await page.request.post(path, { headers: origin, data });
    expect(response.status(), path).toBe(403);
    expect((await response.json()).error.message).toContain('admin role');
  }
  expect((await page.request.get('/api/backup')).status()).toBe(405);
  expect((await deployment())?.metadata?.generation).toBe(generation);
  await page.close();
});

test('bad scale inputs get clear 400 messages and change nothing', async ({ browser }) => {
  const page = await signIn(browser, 'admin');
  const generation = (await deployment())?.metadata?.generation;
  for (const replicas of [-1, 1.5, 'abc', 100000]) {
    const response = await page.request.post(`/api/workloads/${namespace}/${name}/scale`, {
      headers: origin,
      data: { replicas },
    });
    expect(response.status(), String(replicas)).toBe(400);
    const { error } = await response.json();
    expect(error.message).toMatch(/replicas/);
    expect(error.message).toMatch(/0 to \d+/);
  }
  const crossSite = await page.request.post(`/api/workloads/${namespace}/${name}/scale`, {
    headers: { ...origin, Origin: 'https://evil.example' },
    data: { replicas: 2 },
  });
  expect(crossSite.status()).toBe(403);
  expect((await deployment())?.metadata?.generation).toBe(generation);
  await page.close();
});

test('activity API: a tool with the bearer token records activity; bad tokens, viewers and bad bodies are refused', async ({
  browser,
  request,
}) => {
  const url = `/api/ttl/${namespace}/${name}/activity`;
  const json = { 'Content-Type': 'application/json' };
  const source = async (): Promise<string | undefined> =>
    (await deployment())?.metadata?.annotations?.['pipeops.io/last-activity-source'];

  const post = (): Promise<APIResponse> =>
    request.post(url, { headers: { ...json, Authorization: `Bearer ${e2eActivityToken}` }, data: { source: 'ci' } });
  const noTtl = await post();
  expect(noTtl.status()).toBe(409);
  expect((await noTtl.json()).error.message).toContain('has no valid pipeops.io/ttl annotation');
  await apps.patchNamespacedDeployment({
    name,
    namespace,
    body: [{ op: 'add', path: '/metadata/annotations/pipeops.io~1ttl', value: '1h' }],
  });
  const recorded = await post();
  expect(recorded.status()).toBe(200);
  await expect.poll(source).toBe('api:ci');

  const wrong = await request.post(url, { headers: { ...json, Authorization: 'Bearer not-the-token' }, data: {} });
  expect(wrong.status()).toBe(401);
  expect((await wrong.json()).error.message).toBe('invalid activity token');
  expect((await request.post(url, { headers: json, data: {} })).status()).toBe(401);
  const badBody = await request.post(url, {
    headers: { ...json, Authorization: `Bearer ${e2eActivityToken}` },
    data: { source: 'Not Valid!' },
  });
  expect(badBody.status()).toBe(400);
  expect((await badBody.json()).error.message).toMatch(/source/);

  const viewer = await signIn(browser, 'viewer');
  const refused = await viewer.request.post(url, { headers: origin, data: { source: 'viewer' } });
  expect(refused.status()).toBe(403);
  await viewer.close();
  expect(await source()).toBe('api:ci');
});

test('a change in the cluster reaches the page over SSE within 2 s', async ({ browser }) => {
  const page = await signIn(browser, 'admin');
  await expect(row(page)).toBeVisible({ timeout: 15_000 });
  const rowId = `workload-row-${namespace}-${name}`;
  const scale = await apps.readNamespacedDeploymentScale({ name, namespace });
  const target = (scale.spec?.replicas ?? 1) + 1;
  const changedAt = Date.now();
  await apps.replaceNamespacedDeploymentScale({ name, namespace, body: { ...scale, spec: { replicas: target } } });
  // Resolves in the page on the first frame that shows the new replica count, with the SSE timestamps then.
  const seen = await page.waitForFunction(
    ([id, text]) => {
      const live = (window as { __pipeopsLive?: { lastSentAt: number; lastReceivedAt: number } }).__pipeopsLive;
      const shown = document.querySelector(`[data-testid="${id}"]`)?.textContent?.includes(text);
      return shown && live ? { sentAt: live.lastSentAt, receivedAt: live.lastReceivedAt, shownAt: Date.now() } : false;
    },
    [rowId, `/${target}`] as const,
    { timeout: 10_000, polling: 'raf' },
  );
  const { sentAt, receivedAt, shownAt } = (await seen.jsonValue()) as {
    sentAt: number;
    receivedAt: number;
    shownAt: number;
  };
  console.log(
    `cluster change → SSE sent after ${sentAt - changedAt} ms, received after ${receivedAt - changedAt} ms, shown after ${shownAt - changedAt} ms`,
  );
  expect(receivedAt - changedAt).toBeLessThan(2_000);
  await page.close();
});
