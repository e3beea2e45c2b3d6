// @ts-check
// `npm run demo`: from a fresh clone to a running dashboard. Needs only Node (and Go for the first
// sandbox build): installs npm dependencies, builds and starts the sandbox cluster (unless $KUBECONFIG
// points at a cluster of your own), builds the app when its sources changed, starts it and prints the URL.
import { spawn } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { capture, ensureGoBinaries, ensureNodeModules, repoRoot, runOrThrow, say } from './lib/bootstrap.mjs';
import { ensureDashboardUsers } from './lib/dashboard-users.mjs';
import { ensureSupportedNode } from './lib/node-runtime.mjs';

// Re-runs this script under the project's Node.js (.node-version) when the machine's is outside engines.
await ensureSupportedNode();

const demoCache = path.join(process.env.HOME ?? repoRoot, '.cache', 'pipeops-agent');

const sourceDirs = ['app', 'components', 'server', 'agent', 'public'];
const sourceFiles = ['next.config.mjs', 'package-lock.json', 'postcss.config.mjs', 'tsconfig.json'];
const serverJs = path.join(repoRoot, '.next', 'standalone', 'server.js');

/** @param {string} target @returns {number} */
function newestMtime(target) {
  if (!existsSync(target)) return 0;
  const stat = statSync(target);
  if (!stat.isDirectory()) return stat.mtimeMs;
  return readdirSync(target).reduce((max, entry) => Math.max(max, newestMtime(path.join(target, entry))), stat.mtimeMs);
}

function buildIsStale() {
  if (!existsSync(serverJs)) return true;
  const built = statSync(serverJs).mtimeMs;
  return [...sourceDirs, ...sourceFiles].some((entry) => newestMtime(path.join(repoRoot, entry)) > built);
}

/** @param {number} port @returns {Promise<boolean>} */
function portFree(port) {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

/** @param {string} envName @param {number} fallback @returns {Promise<number>} */
async function choosePort(envName, fallback) {
  const raw = process.env[envName] ?? String(fallback);
  const wanted = Number(raw);
  if (!Number.isInteger(wanted) || wanted < 1 || wanted > 65535) {
    throw new Error(`${envName} must be a port number from 1 to 65535, got "${raw}"`);
  }
  if (await portFree(wanted)) return wanted;
  for (let port = wanted + 1; port < wanted + 100; port++) {
    if (await portFree(port)) {
      console.log(`port ${wanted} is busy; using ${port} (set ${envName} to choose)`);
      return port;
    }
  }
  throw new Error(`no free port between ${wanted} and ${wanted + 99}; set ${envName}`);
}

/** @returns {Promise<{ kubeconfig: string, sandbox: boolean }>} */
async function clusterKubeconfig() {
  if (process.env.KUBECONFIG) {
    say(`using your cluster from $KUBECONFIG (${process.env.KUBECONFIG}); the sandbox is not started`);
    return { kubeconfig: process.env.KUBECONFIG, sandbox: false };
  }
  await ensureGoBinaries(['k8s', 'kwok', 'chisel']);
  say('starting the sandbox cluster (etcd, kube-apiserver, controller-manager, scheduler, KWOK nodes)');
  const tsx = path.join(repoRoot, 'node_modules', '.bin', 'tsx');
  await runOrThrow(tsx, ['sandbox/cli.ts', 'up']);
  const env = await capture(tsx, ['sandbox/cli.ts', 'env']);
  const agent = /PIPEOPS_SANDBOX_AGENT_KUBECONFIG=(.+)/.exec(env)?.[1];
  if (!agent) throw new Error(`could not read the agent kubeconfig path from \`npm run sandbox -- env\`:\n${env}`);
  return { kubeconfig: agent.trim(), sandbox: true };
}

/**
 * The reference control plane the agent registers with (its state survives demo restarts).
 * @returns {Promise<{ url: string, token: string, adminToken: string, process: import('node:child_process').ChildProcess }>}
 */
async function startControlPlane() {
  const port = await choosePort('PIPEOPS_CONTROL_PLANE_PORT', 8090);
  const token = 'demo-agent-token';
  const adminToken = 'demo-admin-token';
  const stateFile = path.join(demoCache, 'control-plane', 'state.json');
  const tunnelPort = await choosePort('PIPEOPS_TUNNEL_SERVER_PORT', 8091);
  say(`starting the reference control plane on 127.0.0.1:${port} with its tunnel server on 127.0.0.1:${tunnelPort}`);
  const child = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      'sandbox/control-plane/cli.ts',
      '--port',
      String(port),
      '--token',
      token,
      '--admin-token',
      adminToken,
      '--state-file',
      stateFile,
      '--tunnel-server-port',
      String(tunnelPort),
      '--tunnel-default-status',
      'REQUIRED',
    ],
    { cwd: repoRoot, stdio: ['ignore', 'inherit', 'inherit'] },
  );
  const url = `http://127.0.0.1:${port}`;
  await waitForHealth(`${url}/admin/health`, { Authorization: `Bearer ${adminToken}` });
  return { url, token, adminToken, process: child };
}

/** @param {string} url @param {Record<string, string>} [headers] */
async function waitForHealth(url, headers = {}) {
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    const ok = await fetch(url, { headers }).then(
      (r) => r.ok,
      () => false,
    );
    if (ok) return;
    await sleep(250);
  }
  throw new Error(`${url} did not answer within 60 s`);
}

/**
 * Asks the control plane for this agent's tunnel (a cluster from an earlier demo keeps its last status)
 * and returns the port of the Kubernetes API forward once the tunnel is up (undefined after 60 s).
 * @param {string} base
 * @param {{ url: string, adminToken: string }} controlPlane
 */
async function tunnelledApiPort(base, controlPlane) {
  const deadline = Date.now() + 60_000;
  let requested = false;
  while (Date.now() < deadline) {
    const detail = await fetch(`${base}/api/health/detailed`).then(
      (r) => r.json(),
      () => undefined,
    );
    const tunnel = detail?.hops?.tunnel;
    const agentId = detail?.agent?.agent_id;
    if (!requested && agentId && tunnel?.status && tunnel.status !== 'not_started') {
      requested = await fetch(`${controlPlane.url}/admin/tunnel`, {
        method: 'POST',
        headers: { Authorization: `Bearer ${controlPlane.adminToken}`, 'Content-Type': 'application/json' },
        body: JSON.stringify({ agent_id: agentId, status: 'REQUIRED' }),
      }).then(
        (r) => r.ok,
        () => false,
      );
    }
    const api = tunnel?.forwards?.find((/** @type {{ name: string }} */ f) => f.name === 'kubernetes-api');
    if (tunnel?.status === 'connected' && api?.remote_port) return api.remote_port;
    await sleep(500);
  }
  say('the tunnel did not connect within 60 s; see /api/health/detailed');
  return undefined;
}

async function main() {
  const started = Date.now();
  await ensureNodeModules();
  const cluster = await clusterKubeconfig();
  if (buildIsStale()) {
    say('building the app (next build, standalone output)');
    await runOrThrow('npm', ['run', '--silent', 'build'], { env: { NEXT_TELEMETRY_DISABLED: '1' } });
  }
  const users = await ensureDashboardUsers(path.join(demoCache, 'dashboard'));
  const controlPlane = await startControlPlane();
  const port = await choosePort('PIPEOPS_PORT', 3000);
  say('starting the app with the agent runtime inside');
  const app = spawn(process.execPath, [serverJs], {
    cwd: repoRoot,
    stdio: 'inherit',
    env: {
      ...process.env,
      PORT: String(port),
      HOSTNAME: '127.0.0.1',
      NEXT_MANUAL_SIG_HANDLE: '1',
      NEXT_TELEMETRY_DISABLED: '1',
      KUBECONFIG: cluster.kubeconfig,
      PIPEOPS_API_URL: controlPlane.url,
      PIPEOPS_TOKEN: controlPlane.token,
      PIPEOPS_CLUSTER_NAME: process.env.PIPEOPS_CLUSTER_NAME ?? 'sandbox',
      PIPEOPS_STATE_NAMESPACE: process.env.PIPEOPS_STATE_NAMESPACE ?? 'pipeops-system',
      PIPEOPS_PORT: String(port),
      PIPEOPS_TUNNEL_ENABLED: 'true',
      PIPEOPS_DASHBOARD_USERS_FILE: users.usersFile,
      NEXTAUTH_SECRET: process.env.NEXTAUTH_SECRET ?? users.secret,
    },
  });
  const base = `http://127.0.0.1:${port}`;
  await waitForHealth(`${base}/health`);
  const seconds = ((Date.now() - started) / 1000).toFixed(0);
  console.log(`\n  pipeops-agent is running (ready in ${seconds}s)\n`);
  console.log(`  dashboard   ${base}/dashboard`);
  console.log(`  logins      admin / ${users.admin.password}    viewer / ${users.viewer.password}`);
  console.log(`  health      ${base}/health`);
  console.log(`  readiness   ${base}/ready   metrics ${base}/metrics`);
  console.log(`  cluster     ${cluster.sandbox ? 'sandbox (as the agent ServiceAccount)' : cluster.kubeconfig}`);
  console.log(
    `  control     ${controlPlane.url}  (admin API: curl -H 'Authorization: Bearer ${controlPlane.adminToken}' ${controlPlane.url}/admin/clusters)`,
  );
  if (cluster.sandbox) console.log(`  kubectl     eval "$(npm run -s sandbox -- env)" && kubectl get nodes`);
  const apiPort = await tunnelledApiPort(base, controlPlane);
  if (apiPort && cluster.sandbox) {
    console.log(
      `  via tunnel  kubectl --kubeconfig ${cluster.kubeconfig} --server https://127.0.0.1:${apiPort} get nodes`,
    );
  } else if (apiPort) {
    console.log(`  via tunnel  the control plane reaches the Kubernetes API at https://127.0.0.1:${apiPort}`);
  }
  console.log(
    '\n  Ctrl-C stops the app and the control plane; the sandbox keeps running until `npm run sandbox -- down`.\n',
  );
  const stop = () => {
    app.kill('SIGTERM');
    controlPlane.process.kill('SIGTERM');
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
  const code = await new Promise((resolve) => app.on('close', (c) => resolve(c ?? 0)));
  return typeof code === 'number' ? code : 0;
}

main().then(
  (code) => process.exit(code),
  (error) => {
    console.error(`npm run demo: ${error instanceof Error ? error.message : String(error)}`);
    process.exit(1);
  },
);
