import { expect, test } from '@playwright/test';
import { sandboxVersions } from '../sandbox/cluster/versions';
import { e2eUsers } from './e2e-env';
import { signIn } from './sign-in';

test('signed out: the dashboard sends you to the login and the API answers 401', async ({ page, request }) => {
  await page.goto('/');
  await expect(page).toHaveURL(/\/login\?callbackUrl=%2Fdashboard$/);
  const api = await request.get('/api/dashboard');
  expect(api.status()).toBe(401);
  expect((await api.json()).error.code).toBe('unauthorized');
  await page.getByLabel('Username').fill(e2eUsers.admin.username);
  await page.getByLabel('Password').fill('wrong password');
  await page.getByRole('button', { name: 'Sign in' }).click();
  await expect(page.getByText('Invalid username or password')).toBeVisible();
});

test('the dashboard shows the registered agent, its control link and the tunnel to the tunnel server', async ({
  browser,
  request,
}) => {
  await expect.poll(async () => (await request.get('/ready')).status(), { timeout: 30_000 }).toBe(200);
  const ready = await (await request.get('/ready')).json();
  const page = await signIn(browser, 'admin');
  await expect(page).toHaveTitle('Dashboard · pipeops-agent');

  const identity = page.getByRole('region', { name: 'Agent identity' });
  await expect(page.getByTestId('agent-id')).toHaveText(ready.agent_id);
  await expect(page.getByTestId('cluster-id')).toHaveText(ready.cluster_id);
  await expect(identity.getByText('e2e-sandbox')).toBeVisible();
  await expect(identity.getByText(`v${sandboxVersions().k8s}`)).toBeVisible();
  await expect(identity.getByText('leader', { exact: true })).toBeVisible();

  const link = page.getByRole('region', { name: 'Control plane link' });
  await expect(link.getByText('connected', { exact: true })).toBeVisible();
  await expect(link.getByText('websocket')).toBeVisible();
  await expect(page.getByTestId('rtt-chart')).toBeVisible();

  const tunnel = page.getByRole('region', { name: 'Tunnel' });
  await expect(tunnel.getByText('connected', { exact: true }).first()).toBeVisible({ timeout: 30_000 });
  const api = tunnel.getByRole('row').filter({ hasText: 'kubernetes-api' });
  await expect(api).toContainText('bound');
  const detailed = await (await request.get('/api/health/detailed')).json();
  const forward = detailed.hops.tunnel.forwards.find((f: { name: string }) => f.name === 'kubernetes-api');
  await expect(api.getByRole('cell').nth(2)).toHaveText(String(forward.remote_port));
  await page.close();
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
  // Served without a login and without PIPEOPS_METRICS_TOKEN: states, but no addresses or fingerprint.
  expect(detailed.hops.tunnel).not.toHaveProperty('fingerprint');
  expect(detailed.hops.tunnel).not.toHaveProperty('serverAddr');
  for (const forward of detailed.hops.tunnel.forwards) expect(forward).not.toHaveProperty('target');
  expect(JSON.stringify(detailed)).not.toMatch(/\b127\.0\.0\.1:\d+/);

  const metrics = await (await request.get('/metrics')).text();
  expect(metrics).toContain('pipeops_agent_status 1');
  expect(metrics).toMatch(/pipeops_heartbeat_total\{transport="websocket"\} [1-9]/);
  expect(metrics).toMatch(/pipeops_registration_attempts_total\{result="registered"\} 1/);
  expect(metrics).toMatch(/pipeops_http_requests_total\{route="\/health",status="200"\} [1-9]/);
});
