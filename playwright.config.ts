import { defineConfig, devices } from '@playwright/test';
import { sandboxLayout } from './sandbox/cluster/state';

const port = Number(process.env.PIPEOPS_E2E_PORT ?? 3107);
const baseURL = `http://127.0.0.1:${port}`;
const sandbox = sandboxLayout(process.env.PIPEOPS_SANDBOX_NAME ?? 'test');

// End-to-end tests drive Debian's Chromium (never a Playwright download) against the production
// standalone build, talking to the sandbox's real API server as the agent's restricted identity.
export default defineConfig({
  testDir: './playwright',
  testMatch: '**/*.spec.ts',
  globalSetup: './playwright/global-setup.ts',
  workers: 1,
  forbidOnly: !!process.env.CI,
  reporter: process.env.PLAYWRIGHT_JSON_OUTPUT_NAME ? [['list'], ['json']] : [['list']],
  use: { baseURL, trace: 'retain-on-failure' },
  projects: [
    {
      name: 'chromium',
      use: {
        ...devices['Desktop Chrome'],
        launchOptions: {
          executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
          args: ['--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
        },
      },
    },
  ],
  webServer: {
    command: 'node .next/standalone/server.js',
    url: `${baseURL}/health`,
    env: { PORT: String(port), HOSTNAME: '127.0.0.1', KUBECONFIG: sandbox.agentKubeconfig },
    reuseExistingServer: false,
    timeout: 60_000,
    gracefulShutdown: { signal: 'SIGTERM', timeout: 5_000 },
  },
});
