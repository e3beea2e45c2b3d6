import { expect, test } from '@playwright/test';
import { sandboxVersions } from '../sandbox/cluster/versions';

test('the dashboard shows the live Kubernetes connection and the registered agent', async ({ page, request }) => {
  // The agent inside the app registers with the control plane in the background.
  await expect.poll(async () => (await request.get('/ready')).status(), { timeout: 30_000 }).toBe(200);
  const ready = await (await request.get('/ready')).json();

  await page.goto('/');
  await expect(page).toHaveURL(/\/dashboard$/);
  await expect(page).toHaveTitle('Dashboard · pipeops-agent');
  await expect(page.getByRole('heading', { level: 1, name: 'pipeops-agent' })).toBeVisible();

  const kubernetes = page.getByRole('region', { name: 'Kubernetes API' });
  await expect(kubernetes.getByText('connected', { exact: true })).toBeVisible();
  await expect(kubernetes.getByText(`v${sandboxVersions().k8s}`)).toBeVisible();
  await expect(kubernetes.getByText('system:serviceaccount:pipeops-system:pipeops-agent')).toBeVisible();
  await expect(kubernetes.getByText('3/3 Ready')).toBeVisible();

  const identity = page.getByRole('region', { name: 'Agent identity' });
  await expect(identity.getByText(ready.agent_id)).toBeVisible();
  await expect(identity.getByText(ready.cluster_id)).toBeVisible();
  await expect(identity.getByText('e2e-sandbox')).toBeVisible();
  await expect(identity.getByText(/^registered at /)).toBeVisible();
  await expect(identity.getByText('leader', { exact: true })).toBeVisible();

  const link = page.getByRole('region', { name: 'Control plane link' });
  await expect(link.getByText('connected', { exact: true })).toBeVisible();
  await expect(link.getByText('websocket')).toBeVisible();
});

test('health, readiness, version and metrics endpoints answer for probes and Prometheus', async ({ request }) => {
  const health = await request.get('/health');
  expect(health.status()).toBe(200);
  expect(await health.json()).toMatchObject({ status: 'ok' });
  expect(health.headers()['cache-control']).toBe('no-store');

  await expect.poll(async () => (await request.get('/ready')).status(), { timeout: 30_000 }).toBe(200);
  expect(await (await request.get('/version')).json()).toMatchObject({
    version: expect.stringMatching(/^\d+\.\d+\.\d+/),
  });

  const detailed = await (await request.get('/api/health/detailed')).json();
  expect(detailed.hops.control_plane.link.state).toBe('connected');
  expect(detailed.hops.kubernetes_api.version).toBe(`v${sandboxVersions().k8s}`);

  const metrics = await (await request.get('/metrics')).text();
  expect(metrics).toContain('pipeops_agent_status 1');
  expect(metrics).toMatch(/pipeops_heartbeat_total\{transport="websocket"\} [1-9]/);
  expect(metrics).toMatch(/pipeops_registration_attempts_total\{result="registered"\} 1/);
  expect(metrics).toMatch(/pipeops_http_requests_total\{route="\/health",status="200"\} [1-9]/);
});
