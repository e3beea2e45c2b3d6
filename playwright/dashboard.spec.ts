import { expect, test } from '@playwright/test';
import { sandboxVersions } from '../sandbox/cluster/versions';

test('the root redirects to the dashboard, which shows the live Kubernetes API connection', async ({ page }) => {
  await page.goto('/');
  await expect(page).toHaveURL(/\/dashboard$/);
  await expect(page).toHaveTitle('Dashboard · pipeops-agent');
  await expect(page.getByRole('heading', { level: 1, name: 'pipeops-agent' })).toBeVisible();

  const kubernetes = page.getByRole('region', { name: 'Kubernetes API' });
  await expect(kubernetes.getByText('connected', { exact: true })).toBeVisible();
  await expect(kubernetes.getByText(`v${sandboxVersions().k8s}`)).toBeVisible();
  await expect(kubernetes.getByText('system:serviceaccount:pipeops-system:pipeops-agent')).toBeVisible();
  await expect(kubernetes.getByText('3/3 Ready')).toBeVisible();
});

test('health endpoint answers for probes', async ({ request }) => {
  const response = await request.get('/health');
  expect(response.status()).toBe(200);
  expect(await response.json()).toEqual({ status: 'ok' });
  expect(response.headers()['cache-control']).toBe('no-store');
});
