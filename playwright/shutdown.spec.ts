import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { expect, test } from '@playwright/test';
import { freePort } from '../sandbox/cluster/processes';
import { sandboxLayout } from '../sandbox/cluster/state';
import { e2eUsers, writeE2eUsersFile } from './e2e-env';

// A second app process of the production build (dashboard only, no control plane), so SIGTERM can be sent
// without touching the server the other tests use.
test('SIGTERM ends open SSE streams and the process exits promptly', async ({ browser }) => {
  const port = await freePort();
  const app = spawn(process.execPath, ['.next/standalone/server.js'], {
    env: {
      ...process.env,
      PORT: String(port),
      HOSTNAME: '127.0.0.1',
      NEXT_MANUAL_SIG_HANDLE: '1',
      KUBECONFIG: sandboxLayout(process.env.PIPEOPS_SANDBOX_NAME ?? 'test').agentKubeconfig,
      PIPEOPS_DASHBOARD_USERS_FILE: writeE2eUsersFile(),
      NEXTAUTH_SECRET: 'shutdown-test-secret-shutdown-test-secret',
    },
    stdio: 'ignore',
  });
  const exited = once(app, 'exit');
  const base = `http://127.0.0.1:${port}`;
  await expect
    .poll(
      () =>
        fetch(`${base}/health`).then(
          (r) => r.status,
          () => 0,
        ),
      { timeout: 30_000 },
    )
    .toBe(200);

  const page = await browser.newPage();
  await page.goto(`${base}/login`);
  await page.getByLabel('Username').fill(e2eUsers.viewer.username);
  await page.getByLabel('Password').fill(e2eUsers.viewer.password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await expect(page.getByTestId('live-indicator')).toHaveAttribute('data-state', 'live', { timeout: 15_000 });

  const signalledAt = Date.now();
  app.kill('SIGTERM');
  const [code] = (await exited) as [number | null];
  const exitMs = Date.now() - signalledAt;
  console.log(`SIGTERM with an open SSE stream: exited with ${code} after ${exitMs} ms`);
  expect(code).toBe(0);
  expect(exitMs).toBeLessThan(10_000);
  await expect(page.getByTestId('live-indicator')).not.toHaveAttribute('data-state', 'live');
  await page.close();
});
