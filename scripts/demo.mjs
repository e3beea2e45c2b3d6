// @ts-check
// `npm run demo`: from a fresh clone to a running dashboard. Needs only Node (and Go for the first
// sandbox build): installs npm dependencies, builds and starts the sandbox cluster (unless $KUBECONFIG
// points at a cluster of your own), seeds sample workloads in the `demo` namespace, builds the app when
// its sources changed, starts it and prints the URL. Ctrl-C (or any failure) stops everything it
// started — the sandbox too, when the demo was the one that started it — and a failure ends with one
// line saying what failed and what to do.
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { capture, ensureGoBinaries, ensureNodeModules, repoRoot, run, runOrThrow, say } from './lib/bootstrap.mjs';
import { ensureDashboardUsers } from './lib/dashboard-users.mjs';
import { ensureSupportedNode } from './lib/node-runtime.mjs';

// Re-runs this script under the project's Node.js (.node-version) when the machine's is outside engines.
await ensureSupportedNode();

/** The same cache root as sandbox/cluster/versions.ts cacheDir() and build-binaries.sh. */
const demoCache =
  process.env.PIPEOPS_CACHE_DIR ??
  path.join(process.env.XDG_CACHE_HOME ?? path.join(process.env.HOME ?? repoRoot, '.cache'), 'pipeops-agent');

const sourceDirs = ['app', 'components', 'server', 'agent', 'public'];
const sourceFiles = ['next.config.mjs', 'package-lock.json', 'postcss.config.mjs', 'tsconfig.json'];
const serverJs = path.join(repoRoot, '.next', 'standalone', 'server.js');
const tsx = path.join(repoRoot, 'node_modules', '.bin', 'tsx');
const notebookForward = 'notebook';

/** A failed demo step: what failed and what the user can do about it, printed as one line. */
class DemoError extends Error {
  /** @param {string} what @param {string} todo */
  constructor(what, todo) {
    super(what);
    this.todo = todo;
  }
}

/**
 * Runs one step; any error becomes a DemoError naming the step and what to do.
 * @template T
 * @param {string} what
 * @param {string} todo
 * @param {() => Promise<T>} action
 * @returns {Promise<T>}
 */
async function step(what, todo, action) {
  try {
    return await action();
  } catch (error) {
    if (error instanceof DemoError) throw error;
    const detail = (error instanceof Error ? error.message : String(error)).replace(/\s+/g, ' ').trim();
    throw new DemoError(`${what} failed: ${detail}`, todo);
  }
}

/** What the demo started, stopped in reverse order on Ctrl-C or a failure. */
const cleanups = /** @type {{ name: string, stop: () => Promise<void> }[]} */ ([]);
let stopping = /** @type {Promise<void> | undefined} */ (undefined);

function stopEverything() {
  stopping ??= (async () => {
    while (cleanups.length > 0) {
      const cleanup = cleanups.pop();
      if (!cleanup) break;
      await cleanup.stop().catch((error) => console.error(`npm run demo: stopping ${cleanup.name}: ${error}`));
    }
  })();
  return stopping;
}

/**
 * Stops a child with SIGTERM (SIGKILL after 15 s) and waits until it has exited.
 * @param {import('node:child_process').ChildProcess} child
 * @returns {Promise<void>}
 */
function stopChild(child) {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const kill = setTimeout(() => child.kill('SIGKILL'), 15_000);
    child.once('close', () => {
      clearTimeout(kill);
      resolve();
    });
    child.kill('SIGTERM');
  });
}

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

/** A port the OS says is free right now. @returns {Promise<number>} */
function osFreePort() {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() =>
        address && typeof address === 'object' ? resolve(address.port) : reject(new Error('no port')),
      );
    });
  });
}

/**
 * The port from $envName (0: one the OS picks), else the fallback or the next free one after it.
 * @param {string} envName @param {number} fallback @returns {Promise<number>}
 */
async function choosePort(envName, fallback) {
  const raw = process.env[envName] ?? String(fallback);
  const wanted = Number(raw);
  if (!/^\d+$/.test(raw) || wanted > 65535) {
    throw new DemoError(
      `${envName} must be a port number from 1 to 65535, or 0 for any free port, got "${raw}"`,
      `set ${envName} to a port number or unset it`,
    );
  }
  if (wanted === 0) return osFreePort();
  if (await portFree(wanted)) return wanted;
  for (let port = wanted + 1; port < wanted + 100; port++) {
    if (await portFree(port)) {
      console.log(`port ${wanted} is busy; using ${port} (set ${envName} to choose)`);
      return port;
    }
  }
  throw new DemoError(`no free port between ${wanted} and ${wanted + 99}`, `set ${envName} to a free port, or 0`);
}

/** @returns {Promise<{ kubeconfig: string, adminKubeconfig?: string, sandbox: boolean }>} */
async function clusterKubeconfig() {
  if (process.env.KUBECONFIG) {
    say(`using your cluster from $KUBECONFIG (${process.env.KUBECONFIG}); the sandbox is not started`);
    return { kubeconfig: process.env.KUBECONFIG, sandbox: false };
  }
  await step(
    'building the sandbox binaries',
    'check that Go is installed (`go version`), then run `npm run demo` again',
    () => ensureGoBinaries(['k8s', 'kwok', 'chisel']),
  );
  const alreadyUp = (await run(tsx, ['sandbox/cli.ts', 'status'], { quiet: true })) === 0;
  say(
    alreadyUp
      ? 'the sandbox cluster is already running; using it (and leaving it running)'
      : 'starting the sandbox cluster (etcd, kube-apiserver, controller-manager, scheduler, KWOK nodes)',
  );
  if (!alreadyUp) {
    // Registered before `up`: a half-started sandbox is stopped as well.
    cleanups.push({ name: 'the sandbox', stop: () => runOrThrow(tsx, ['sandbox/cli.ts', 'down']) });
  }
  await step(
    'starting the sandbox cluster',
    `read the component logs in ${path.join(demoCache, 'sandbox', process.env.PIPEOPS_SANDBOX_NAME ?? 'default', 'logs')}, then run \`npm run demo\` again`,
    () => runOrThrow(tsx, ['sandbox/cli.ts', 'up']),
  );
  const env = await capture(tsx, ['sandbox/cli.ts', 'env']);
  const agent = /PIPEOPS_SANDBOX_AGENT_KUBECONFIG=(.+)/.exec(env)?.[1];
  const admin = /^export KUBECONFIG=(.+)$/m.exec(env)?.[1];
  if (!agent || !admin) {
    throw new DemoError(`could not read the kubeconfig paths from \`npm run sandbox -- env\`: ${env}`, 'report a bug');
  }
  return { kubeconfig: agent.trim(), adminKubeconfig: admin.trim(), sandbox: true };
}

/**
 * Resolves once url answers 2xx; fails as soon as the process that should serve it exits.
 * @param {string} url
 * @param {import('node:child_process').ChildProcess} child
 * @param {Record<string, string>} [headers]
 */
async function waitForHealth(url, child, headers = {}) {
  const deadline = Date.now() + 120_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(`it exited (${child.exitCode ?? child.signalCode}) before ${url} answered; its error is above`);
    }
    const ok = await fetch(url, { headers, signal: AbortSignal.timeout(5_000) }).then(
      (r) => r.ok,
      () => false,
    );
    if (ok) return;
    await sleep(250);
  }
  throw new Error(`${url} did not answer within 120 s`);
}

/**
 * Starts a Node child whose output is shown; it is stopped with everything else.
 * @param {string} name
 * @param {string[]} args
 * @param {Record<string, string>} [env]
 * @returns {import('node:child_process').ChildProcess}
 */
function spawnChild(name, args, env) {
  const child = spawn(process.execPath, args, {
    cwd: repoRoot,
    stdio: ['ignore', 'inherit', 'inherit'],
    env: { ...process.env, ...env },
  });
  cleanups.push({ name, stop: () => stopChild(child) });
  return child;
}

/**
 * The reference control plane the agent registers with (its state survives demo restarts).
 * @returns {Promise<{ url: string, token: string, adminToken: string }>}
 */
async function startControlPlane() {
  const port = await choosePort('PIPEOPS_CONTROL_PLANE_PORT', 8090);
  const tunnelPort = await choosePort('PIPEOPS_TUNNEL_SERVER_PORT', 8091);
  const token = 'demo-agent-token';
  const adminToken = 'demo-admin-token';
  const stateFile = path.join(demoCache, 'control-plane', 'state.json');
  say(`starting the reference control plane on 127.0.0.1:${port} with its tunnel server on 127.0.0.1:${tunnelPort}`);
  const args = [
    '--import',
    'tsx',
    'sandbox/control-plane/cli.ts',
    ...['--port', String(port), '--token', token, '--admin-token', adminToken, '--state-file', stateFile],
    ...['--tunnel-server-port', String(tunnelPort), '--tunnel-default-status', 'REQUIRED'],
  ];
  const child = spawnChild('the control plane', args);
  const url = `http://127.0.0.1:${port}`;
  await step(
    'starting the reference control plane',
    `fix what its error above names (its state is in ${path.dirname(stateFile)}; deleting that directory starts it afresh)`,
    () => waitForHealth(`${url}/admin/health`, child, { Authorization: `Bearer ${adminToken}` }),
  );
  return { url, token, adminToken };
}

/**
 * Stands in for the notebook sample's pod: KWOK pods run no container, so the notebook forward
 * dials this local server once the agent has woken demo/notebook.
 * @returns {Promise<number>}
 */
async function startNotebookStandIn() {
  const server = http.createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'text/plain; charset=utf-8' });
    res.end('demo/notebook is awake: the agent held this connection until a replica was ready, then dialled it.\n');
  });
  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve(undefined));
  });
  cleanups.push({
    name: 'the notebook stand-in',
    stop: () =>
      new Promise((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  });
  const address = server.address();
  if (!address || typeof address !== 'object') throw new Error('the notebook stand-in has no port');
  return address.port;
}

/**
 * Seeds the demo namespace and writes the agent config with the notebook forward.
 * @param {string} adminKubeconfig
 * @returns {Promise<{ samples: { name: string, watch: string, outcome: string }[], configFile: string }>}
 */
async function seedDemo(adminKubeconfig) {
  say('seeding sample workloads in the demo namespace (kept as they are if they exist)');
  const out = await capture(process.execPath, [
    '--import',
    'tsx',
    'sandbox/demo/cli.ts',
    'seed',
    '--kubeconfig',
    adminKubeconfig,
  ]);
  const samples = JSON.parse(out);
  const standInPort = await startNotebookStandIn();
  const configFile = path.join(demoCache, 'demo', 'agent.yaml');
  mkdirSync(path.dirname(configFile), { recursive: true, mode: 0o700 });
  const config = {
    tunnel: {
      forwards: [{ name: notebookForward, local_addr: `127.0.0.1:${standInPort}`, workload: 'demo/notebook' }],
    },
  };
  writeFileSync(configFile, `# Written by npm run demo on each start.\n${JSON.stringify(config, null, 2)}\n`);
  return { samples, configFile };
}

/**
 * Asks the control plane for this agent's tunnel (a cluster from an earlier demo keeps its last status)
 * and returns the remote port of each forward once the tunnel is up (undefined after 60 s).
 * @param {string} base
 * @param {{ url: string, adminToken: string }} controlPlane
 * @returns {Promise<Map<string, number> | undefined>}
 */
async function tunnelledPorts(base, controlPlane) {
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
    const forwards = /** @type {{ name: string, remote_port?: number }[]} */ (tunnel?.forwards ?? []);
    if (tunnel?.status === 'connected' && forwards.some((f) => f.remote_port)) {
      return new Map(forwards.flatMap((f) => (f.remote_port ? [[f.name, f.remote_port]] : [])));
    }
    await sleep(500);
  }
  say('the tunnel did not connect within 60 s; see /api/health/detailed');
  return undefined;
}

/**
 * @param {{ kubeconfig: string, sandbox: boolean }} cluster
 * @param {Map<string, number> | undefined} ports
 */
function printTunnel(cluster, ports) {
  const apiPort = ports?.get('kubernetes-api');
  if (apiPort && cluster.sandbox) {
    console.log(
      `  via tunnel  kubectl --kubeconfig ${cluster.kubeconfig} --server https://127.0.0.1:${apiPort} get nodes`,
    );
  } else if (apiPort) {
    console.log(`  via tunnel  the control plane reaches the Kubernetes API at https://127.0.0.1:${apiPort}`);
  }
  const notebookPort = ports?.get(notebookForward);
  if (notebookPort) {
    console.log(
      `  wake        curl http://127.0.0.1:${notebookPort}/   (the "${notebookForward}" forward wakes demo/notebook)`,
    );
  }
}

/** @returns {Promise<number>} exit code */
async function main() {
  const started = Date.now();
  await step('installing npm dependencies', 'check your network and npm, then run `npm run demo` again', () =>
    ensureNodeModules(),
  );
  const cluster = await clusterKubeconfig();
  if (buildIsStale()) {
    say('building the app (next build, standalone output)');
    await step('building the app (npm run build)', 'fix the build error above, then run `npm run demo` again', () =>
      runOrThrow('npm', ['run', '--silent', 'build'], { env: { NEXT_TELEMETRY_DISABLED: '1' } }),
    );
  }
  const seeded = cluster.adminKubeconfig
    ? await step(
        'seeding the demo workloads',
        'check the sandbox with `npm run sandbox -- status`, or `kubectl delete namespace demo` to start the samples afresh',
        () => seedDemo(/** @type {string} */ (cluster.adminKubeconfig)),
      )
    : undefined;
  const users = await step(
    'creating the dashboard logins',
    `delete ${path.join(demoCache, 'dashboard')} and run \`npm run demo\` again`,
    () => ensureDashboardUsers(path.join(demoCache, 'dashboard')),
  );
  const controlPlane = await startControlPlane();
  const port = await choosePort('PIPEOPS_PORT', 3000);
  say('starting the app with the agent runtime inside');
  const app = spawnChild('the app', [serverJs], {
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
    ...(seeded ? { PIPEOPS_CONFIG_FILE: seeded.configFile } : {}),
  });
  const base = `http://127.0.0.1:${port}`;
  await step('starting the app', 'fix what its error above names, then run `npm run demo` again', () =>
    waitForHealth(`${base}/health`, app),
  );
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
  if (seeded) {
    console.log('\n  sample workloads (namespace demo) — what to watch on the dashboard:');
    for (const sample of seeded.samples) {
      const kept = sample.outcome === 'kept' ? ' (kept from an earlier run: it may have moved on)' : '';
      console.log(`  ${sample.name.padEnd(13)} ${sample.watch}${kept}`);
    }
  }
  console.log('');
  printTunnel(cluster, await tunnelledPorts(base, controlPlane));
  console.log(
    `\n  Ctrl-C stops the app and the control plane${cluster.sandbox ? ' (and the sandbox, if the demo started it)' : ''}.\n`,
  );
  const code = await new Promise((resolve) => app.on('close', (c) => resolve(c ?? 0)));
  if (!stopping) throw new DemoError(`the app exited (${code}); its error is above`, 'run `npm run demo` again');
  return 0;
}

/** @param {NodeJS.Signals} signal */
function onSignal(signal) {
  if (stopping) return;
  console.log(`\n▶ ${signal}: stopping what the demo started`);
  stopEverything().then(() => process.exit(130));
}
process.on('SIGINT', onSignal);
process.on('SIGTERM', onSignal);

main().then(
  // After a signal, onSignal exits once everything is stopped.
  (code) => (stopping ? undefined : stopEverything().then(() => process.exit(code))),
  async (error) => {
    if (stopping) return; // a signal is already stopping everything
    await stopEverything();
    const what = error instanceof Error ? error.message : String(error);
    const todo = error instanceof DemoError ? error.todo : 'run `npm run demo` again; if it fails again, report a bug';
    console.error(`npm run demo: ${what.replace(/\s+/g, ' ').trim()} — ${todo}`);
    process.exit(1);
  },
);
