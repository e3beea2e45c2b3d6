import { randomBytes } from 'node:crypto';
import { mkdtemp, writeFile } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { AppsV1Api, CoreV1Api, PatchStrategy, setHeaderOptions, type KubeConfig } from '@kubernetes/client-node';
import { loadConfig, requireRuntimeConfig } from '../agent/config/load';
import { kubeConfigFromFile } from '../agent/kubernetes/kubeconfig';
import { createLogger } from '../agent/logging/logger';
import { AgentMetrics } from '../agent/metrics/agent-metrics';
import { AgentRuntime } from '../agent/runtime';
import { workloadAnnotations as a } from '../agent/workloads/annotations';
import { scaleDownAnnotations, timestamp } from '../agent/workloads/ttl-patches';
import { readAudit } from '../sandbox/cluster/audit';
import { down, up, type SandboxInfo } from '../sandbox/cluster/cluster';
import { startControlPlane, type ControlPlaneHandle } from '../sandbox/control-plane/server';
import { percentile } from './machine';

export interface TtlBench {
  wakes: number;
  firstByteMs: { p50: number; p95: number };
  scaleUpToReadyMs: { p50: number; p95: number };
  deployments: number;
  windowMinutes: number;
  apiRequestsPerMinute: number;
  ttlRequestsPerMinute: number;
  byVerb: Record<string, number>;
  scaleDowns: number;
  cpuPercent: number;
  reconcileP95Ms: number;
}

const token = 'bench-ttl-token';
const quiet = new Writable({ write: (_c, _e, done: () => void): void => done() });

interface Env {
  sandbox: SandboxInfo;
  admin: KubeConfig;
  cp: ControlPlaneHandle;
  namespace: string;
  dir: string;
}

function startRuntime(env: Env, configFile: string, metrics: AgentMetrics): AgentRuntime {
  const config = requireRuntimeConfig(
    loadConfig({
      cwd: '/nonexistent',
      env: {
        PIPEOPS_API_URL: env.cp.url,
        PIPEOPS_TOKEN: token,
        PIPEOPS_CLUSTER_NAME: 'bench-ttl',
        PIPEOPS_STATE_NAMESPACE: 'pipeops-system',
        PIPEOPS_STATE_CONFIGMAP_NAME: `bench-ttl-${randomBytes(3).toString('hex')}`,
        PIPEOPS_LEASE_NAME: `bench-ttl-${randomBytes(3).toString('hex')}`,
        PIPEOPS_CONFIG_FILE: configFile,
        PIPEOPS_TUNNEL_REMOTE_BIND_HOST: '127.0.0.1',
        PIPEOPS_LOG_LEVEL: 'warn',
      },
    }),
  );
  const runtime = new AgentRuntime({
    config,
    kc: kubeConfigFromFile(env.sandbox.agentKubeconfig),
    logger: createLogger('warn', {}, quiet),
    logContext: {},
    metrics,
  });
  runtime.start();
  return runtime;
}

function deploymentBody(name: string, replicas: number, annotations: Record<string, string>): object {
  return {
    metadata: { name, labels: { app: name, 'pipeops.io/managed': 'true' }, annotations },
    spec: {
      replicas,
      selector: { matchLabels: { app: name } },
      template: {
        metadata: { labels: { app: name } },
        spec: { containers: [{ name: 'app', image: 'example/app:1' }] },
      },
    },
  };
}

async function until(check: () => Promise<boolean> | boolean, what: string, timeoutMs = 120_000): Promise<void> {
  const started = Date.now();
  while (!(await check())) {
    if (Date.now() - started > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

/** Connect, send, and time the first echoed byte (the connection is held while the workload wakes). */
function firstByte(port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const socket = net.connect({ host: '127.0.0.1', port }, () => socket.write('ping'));
    socket.once('data', () => {
      resolve(performance.now() - started);
      socket.destroy();
    });
    socket.once('error', reject);
  });
}

async function echoServer(): Promise<net.Server> {
  const server = net.createServer((socket) => socket.pipe(socket).on('error', () => undefined));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return server;
}

async function putToSleep(env: Env, runtime: AgentRuntime): Promise<void> {
  const apps = env.admin.makeApiClient(AppsV1Api);
  const ref = { namespace: env.namespace, name: 'wake' };
  const annotations = scaleDownAnnotations(Date.now(), 1, 'bench');
  const merge = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);
  await apps.patchNamespacedDeployment({ ...ref, body: { metadata: { annotations } } }, merge);
  await apps.patchNamespacedDeploymentScale({ ...ref, body: { spec: { replicas: 0 } } }, merge);
  const core = env.admin.makeApiClient(CoreV1Api);
  await until(
    async () =>
      (await core.listNamespacedPod({ namespace: env.namespace, labelSelector: 'app=wake' })).items.length === 0,
    'pods gone',
  );
  await until(() => runtime.snapshot().ttl?.counts.asleep === 1, 'agent sees the workload asleep');
}

async function benchWake(
  env: Env,
  runs: number,
): Promise<Pick<TtlBench, 'wakes' | 'firstByteMs' | 'scaleUpToReadyMs'>> {
  const echo = await echoServer();
  const port = (echo.address() as net.AddressInfo).port;
  const file = path.join(env.dir, 'wake.yaml');
  const forwards = [{ name: 'wake', local_addr: `127.0.0.1:${port}`, workload: `${env.namespace}/wake` }];
  await writeFile(
    file,
    JSON.stringify({ tunnel: { enabled: true, default_forwards: false, forwards }, ttl: { namespace: env.namespace } }),
  );
  const apps = env.admin.makeApiClient(AppsV1Api);
  await apps.createNamespacedDeployment({
    namespace: env.namespace,
    body: deploymentBody('wake', 0, { [a.ttl]: '1h' }) as never,
  });
  const runtime = startRuntime(env, file, new AgentMetrics());
  try {
    let remote = 0;
    await until(() => {
      remote =
        runtime.snapshot().tunnel?.forwards.find((f) => f.name === 'wake' && f.state === 'bound')?.remotePort ?? 0;
      return remote > 0;
    }, 'tunnel forward bound');
    const firstBytes: number[] = [];
    for (let i = 0; i < runs; i++) {
      await putToSleep(env, runtime);
      firstBytes.push(await firstByte(remote));
    }
    const ready = (runtime.snapshot().ttl?.recentWakes ?? []).flatMap((w) => (w.durationMs ? [w.durationMs] : []));
    return {
      wakes: firstBytes.length,
      firstByteMs: { p50: percentile(firstBytes, 50), p95: percentile(firstBytes, 95) },
      scaleUpToReadyMs: { p50: percentile(ready, 50), p95: percentile(ready, 95) },
    };
  } finally {
    await runtime.stop();
    echo.close();
  }
}

async function createMany(env: Env, count: number): Promise<void> {
  const apps = env.admin.makeApiClient(AppsV1Api);
  const now = Date.now();
  const bodies = Array.from({ length: count }, (_, i) => {
    const name = `w-${String(i).padStart(3, '0')}`;
    if (i < 50) return deploymentBody(name, 1, { [a.ttl]: '60s', [a.lastActivity]: timestamp(now) });
    if (i < 200) return deploymentBody(name, 1, { [a.ttl]: '1h', [a.lastActivity]: timestamp(now) });
    return deploymentBody(name, 0, {
      [a.ttl]: '30m',
      ...(scaleDownAnnotations(now, 1, 'bench') as Record<string, string>),
    });
  });
  for (let i = 0; i < bodies.length; i += 25) {
    await Promise.all(
      bodies
        .slice(i, i + 25)
        .map((body) => apps.createNamespacedDeployment({ namespace: env.namespace, body: body as never })),
    );
  }
}

async function benchCost(
  env: Env,
  count: number,
  windowMs: number,
): Promise<Omit<TtlBench, 'wakes' | 'firstByteMs' | 'scaleUpToReadyMs'>> {
  await createMany(env, count);
  const file = path.join(env.dir, 'cost.yaml');
  await writeFile(file, JSON.stringify({ ttl: { namespace: env.namespace } }));
  const metrics = new AgentMetrics();
  const runtime = startRuntime(env, file, metrics);
  try {
    await until(
      () => (runtime.snapshot().ttl?.counts.awake ?? 0) + (runtime.snapshot().ttl?.counts.asleep ?? 0) >= count,
      'controller synced',
    );
    const windowStart = Date.now();
    const cpuBefore = process.cpuUsage();
    await sleep(windowMs);
    const cpu = process.cpuUsage(cpuBefore);
    const minutes = (Date.now() - windowStart) / 60_000;
    await sleep(1500); // the audit log is written asynchronously
    const audit = readAudit(env.sandbox.layout).filter(
      (e) =>
        e.at >= windowStart &&
        e.at <= windowStart + windowMs &&
        e.user.endsWith(':pipeops-agent') &&
        e.verb !== 'watch',
    );
    const byVerb: Record<string, number> = {};
    for (const entry of audit) byVerb[entry.verb] = (byVerb[entry.verb] ?? 0) + 1;
    const ttl = audit.filter((e) => e.requestURI.includes(`/namespaces/${env.namespace}/`));
    const json = await metrics.registry.getMetricsAsJSON();
    const scaleDowns = json.find((m) => m.name === 'pipeops_ttl_scale_downs_total')?.values[0]?.value ?? 0;
    const reconcile = (await metrics.ttlReconcileDuration.get()).values;
    const p95Bucket = reconcile.filter((v) => v.metricName?.endsWith('_bucket'));
    const total = reconcile.find((v) => v.metricName?.endsWith('_count'))?.value ?? 0;
    const p95 = p95Bucket.find((v) => v.value >= total * 0.95)?.labels.le ?? 'n/a';
    return {
      deployments: count,
      windowMinutes: minutes,
      apiRequestsPerMinute: audit.length / minutes,
      ttlRequestsPerMinute: ttl.length / minutes,
      byVerb,
      scaleDowns,
      cpuPercent: ((cpu.user + cpu.system) / 1000 / windowMs) * 100,
      reconcileP95Ms: Number(p95) * 1000,
    };
  } finally {
    await runtime.stop();
  }
}

/**
 * Wake time through the tunnel on KWOK (connect → first echoed byte, and the agent's scale-up → ready) and
 * the controller's cost with `count` managed Deployments: API requests per minute from the audit log
 * (watches excluded) and CPU of the process over the window. 50 of them expire during the window.
 */
export async function benchTtl(runs: number, count = 500, windowMs = 120_000): Promise<TtlBench> {
  const name = process.env.PIPEOPS_SANDBOX_NAME ?? 'bench';
  const sandbox = await up({ name, log: () => undefined });
  const admin = kubeConfigFromFile(sandbox.adminKubeconfig);
  const dir = await mkdtemp(path.join(tmpdir(), 'bench-ttl-'));
  const cp = await startControlPlane({
    tokens: [token],
    adminToken: 'bench-ttl-admin',
    stateFile: path.join(dir, 'state.json'),
    tunnelDefaultStatus: 'REQUIRED',
    tunnelPollFrequencySeconds: 1,
    tunnelServer: { port: 0, keyFile: path.join(dir, 'tunnel.key') },
  });
  const core = admin.makeApiClient(CoreV1Api);
  const namespaces = [
    `bench-ttl-wake-${randomBytes(2).toString('hex')}`,
    `bench-ttl-cost-${randomBytes(2).toString('hex')}`,
  ];
  for (const ns of namespaces) await core.createNamespace({ body: { metadata: { name: ns } } });
  try {
    const wake = await benchWake({ sandbox, admin, cp, namespace: namespaces[0] ?? '', dir }, runs);
    const cost = await benchCost({ sandbox, admin, cp, namespace: namespaces[1] ?? '', dir }, count, windowMs);
    return { ...wake, ...cost };
  } finally {
    await cp.stop();
    for (const ns of namespaces) await core.deleteNamespace({ name: ns }).catch(() => undefined);
    if (!sandbox.alreadyRunning) await down({ name, purge: true, log: () => undefined });
  }
}
