import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { defineConfig, devices } from '@playwright/test';
import {
  e2eActivityToken,
  e2eBaseUrl as baseURL,
  e2eControlPlanePort as controlPlanePort,
  e2ePort as port,
  e2eStateConfigMap,
  e2eSessionSecret,
  e2eUsersFile,
} from './playwright/e2e-env';
import { sandboxLayout } from './sandbox/cluster/state';
import { nodeSupportProblem } from './agent/node-support';

// Every test run is on the project's Node.js (`npm test` fetches it; see scripts/lib/node-runtime.mjs).
const unsupportedNode = nodeSupportProblem(process.version);
if (unsupportedNode) throw new Error(unsupportedNode);

const sandbox = sandboxLayout(process.env.PIPEOPS_SANDBOX_NAME ?? 'test');
export const e2eAgentToken = 'e2e-agent-token';
const controlPlaneState = path.join(mkdtempSync(path.join(tmpdir(), 'e2e-cp-')), 'state.json');

// End-to-end tests drive Debian's Chromium (never a Playwright download) against the production
// standalone build, talking to the sandbox's real API server as the agent's restricted identity. The
// web servers start before any setup hook, so the sandbox must already be up (`npm run test:e2e` does it).
export default defineConfig({
  testDir: './playwright',
  testMatch: '**/*.spec.ts',
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
  webServer: [
    {
      // The reference control plane the agent inside the app registers with, and its tunnel server.
      command: [
        `node --import tsx sandbox/control-plane/cli.ts --port ${controlPlanePort} --token ${e2eAgentToken}`,
        `--admin-token e2e-admin --state-file ${controlPlaneState} --tunnel-server-port 0`,
        '--tunnel-default-status REQUIRED --tunnel-port-range os',
      ].join(' '),
      url: `http://127.0.0.1:${controlPlanePort}/admin/health`,
      reuseExistingServer: false,
      timeout: 30_000,
      gracefulShutdown: { signal: 'SIGTERM', timeout: 5_000 },
    },
    {
      command: 'node .next/standalone/server.js',
      url: `${baseURL}/health`,
      env: {
        PORT: String(port),
        HOSTNAME: '127.0.0.1',
        NEXT_MANUAL_SIG_HANDLE: '1',
        KUBECONFIG: sandbox.agentKubeconfig,
        PIPEOPS_API_URL: `http://127.0.0.1:${controlPlanePort}`,
        PIPEOPS_TOKEN: e2eAgentToken,
        PIPEOPS_CLUSTER_NAME: 'e2e-sandbox',
        PIPEOPS_STATE_NAMESPACE: 'pipeops-system',
        PIPEOPS_STATE_CONFIGMAP_NAME: e2eStateConfigMap,
        PIPEOPS_LEASE_NAME: 'pipeops-agent-leader-e2e',
        PIPEOPS_HEARTBEAT_INTERVAL: '1s',
        PIPEOPS_PORT: String(port),
        PIPEOPS_TUNNEL_ENABLED: 'true',
        PIPEOPS_DASHBOARD_USERS_FILE: e2eUsersFile(),
        NEXTAUTH_SECRET: e2eSessionSecret(),
        PIPEOPS_ACTIVITY_TOKEN: e2eActivityToken,
      },
      reuseExistingServer: false,
      timeout: 60_000,
      gracefulShutdown: { signal: 'SIGTERM', timeout: 10_000 },
    },
  ],
});
