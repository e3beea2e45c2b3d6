import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { AppsV1Api, CoreV1Api } from '@kubernetes/client-node';
import { kubeConfigFromFile } from '../agent/kubernetes/kubeconfig';
import { e2eUsers, writeE2eUsersFile } from '../playwright/e2e-env';
import { down, up } from '../sandbox/cluster/cluster';
import { freePort } from '../sandbox/cluster/processes';
import { startControlPlane } from '../sandbox/control-plane/server';
import { deploymentSpec } from '../server/runbook/int-fixtures';
import { percentile } from './machine';

const sandboxName = 'bench-dashboard';
const token = 'bench-dashboard-token';
const quiet = (): void => undefined;

export interface Latency {
  p50: number;
  p95: number;
  count: number;
}

export interface DashboardBench {
  page: Latency;
  api: Latency;
  sse: { streams: number; delivery: Latency; cpuMsPerChange: number }[];
}

function latency(samples: number[]): Latency {
  return { p50: percentile(samples, 50), p95: percentile(samples, 95), count: samples.length };
}

async function waitFor(url: string): Promise<void> {
  for (let i = 0; i < 240; i++) {
    if (
      await fetch(url).then(
        (r) => r.ok,
        () => false,
      )
    )
      return;
    await sleep(250);
  }
  throw new Error(`${url} did not answer within 60 s`);
}

/** Signs in through next-auth's real credentials flow and returns the Cookie header of the session. */
async function signIn(base: string): Promise<string> {
  const csrf = await fetch(`${base}/api/auth/csrf`);
  const jar = new Map<string, string>();
  const keep = (response: Response): void => {
    for (const line of response.headers.getSetCookie()) {
      const [pair = ''] = line.split(';');
      const [name = '', value = ''] = pair.split('=');
      jar.set(name, value);
    }
  };
  keep(csrf);
  const { csrfToken } = (await csrf.json()) as { csrfToken: string };
  const cookie = (): string => [...jar].map(([name, value]) => `${name}=${value}`).join('; ');
  const login = await fetch(`${base}/api/auth/callback/credentials`, {
    method: 'POST',
    redirect: 'manual',
    headers: { 'Content-Type': 'application/x-www-form-urlencoded', Cookie: cookie() },
    body: new URLSearchParams({ csrfToken, ...e2eUsers.admin, json: 'true' }),
  });
  keep(login);
  if (![...jar.keys()].some((name) => name.includes('session-token'))) throw new Error('bench sign-in failed');
  return cookie();
}

async function timeRequests(url: string, cookie: string, count: number): Promise<number[]> {
  const samples: number[] = [];
  for (let i = 0; i < count + 5; i++) {
    const started = performance.now();
    const response = await fetch(url, { headers: { Cookie: cookie } });
    await response.arrayBuffer();
    if (!response.ok) throw new Error(`${url}: HTTP ${response.status}`);
    if (i >= 5) samples.push(performance.now() - started);
  }
  return samples;
}

/** User+system CPU of a process in ms, from /proc (clock ticks are 100 Hz on Linux). */
async function cpuMs(pid: number): Promise<number> {
  const fields = (await readFile(`/proc/${pid}/stat`, 'utf8')).split(') ')[1]?.split(' ') ?? [];
  return (Number(fields[11]) + Number(fields[12])) * 10;
}

interface Stream {
  /** Receive times of `workloads` updates that show `replicas` desired for the bench Deployment. */
  seen: Map<number, number>;
  abort: AbortController;
}

function openStream(base: string, cookie: string, marker: string): Stream {
  const stream: Stream = { seen: new Map(), abort: new AbortController() };
  void (async (): Promise<void> => {
    const response = await fetch(`${base}/api/events`, { headers: { Cookie: cookie }, signal: stream.abort.signal });
    const reader = response.body?.getReader();
    const decoder = new TextDecoder();
    let buffer = '';
    for (let next = await reader?.read(); next && !next.done; next = await reader?.read()) {
      buffer += decoder.decode(next.value, { stream: true });
      let end = buffer.indexOf('\n\n');
      while (end >= 0) {
        noteFrame(stream, buffer.slice(0, end), marker);
        buffer = buffer.slice(end + 2);
        end = buffer.indexOf('\n\n');
      }
    }
  })().catch(() => undefined);
  return stream;
}

function noteFrame(stream: Stream, frame: string, marker: string): void {
  const data = frame.split('\n').find((line) => line.startsWith('data: '));
  if (!data) return;
  const update = JSON.parse(data.slice(6)) as {
    topic: string;
    data: { workloads?: { name: string; namespace: string; replicas: { desired: number } }[] };
  };
  const workload = update.data.workloads?.find((w) => w.namespace === marker);
  if (update.topic === 'workloads' && workload && !stream.seen.has(workload.replicas.desired)) {
    stream.seen.set(workload.replicas.desired, performance.now());
  }
}

/** `changes` scale operations while `streams` dashboards listen: delivery latency and server CPU per change. */
interface Target {
  base: string;
  cookie: string;
  app: ChildProcess;
  scale: (replicas: number) => Promise<void>;
}

async function fanOut(
  { base, cookie, app, scale }: Target,
  setup: { streams: number; changes: number; namespace: string; start: number },
): Promise<DashboardBench['sse'][number]> {
  const streams = Array.from({ length: setup.streams }, () => openStream(base, cookie, setup.namespace));
  await sleep(2_000);
  const cpuBefore = await cpuMs(app.pid ?? 0);
  const delivery: number[] = [];
  for (let i = 1; i <= setup.changes; i++) {
    const replicas = setup.start + i;
    const changedAt = performance.now();
    await scale(replicas);
    for (let wait = 0; wait < 100 && streams.some((s) => !s.seen.has(replicas)); wait++) await sleep(50);
    for (const stream of streams) delivery.push((stream.seen.get(replicas) ?? Number.NaN) - changedAt);
    await sleep(500);
  }
  const cpu = (await cpuMs(app.pid ?? 0)) - cpuBefore;
  for (const stream of streams) stream.abort.abort();
  return {
    streams: setup.streams,
    delivery: latency(delivery.filter(Number.isFinite)),
    cpuMsPerChange: cpu / setup.changes,
  };
}

/**
 * The production build with the agent inside, signed in as admin: `/dashboard` (server-rendered) and
 * `/api/dashboard` response times, then the SSE fan-out with 1 and 20 open streams while a managed
 * Deployment is scaled: delivery latency (change → event received) and the server's CPU per change.
 */
export async function benchDashboard(log: (line: string) => void): Promise<DashboardBench> {
  const serverJs = path.join('.next', 'standalone', 'server.js');
  if (!existsSync(serverJs))
    throw new Error('run `npm run build` first: the dashboard bench uses the production build');
  const sandbox = await up({ name: sandboxName, log: quiet });
  const cp = await startControlPlane({
    tokens: [token],
    stateFile: path.join(await mkdtemp(path.join(tmpdir(), 'bench-dash-cp-')), 'state.json'),
  });
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const app = spawn(process.execPath, [serverJs], {
    env: {
      ...process.env,
      PORT: String(port),
      HOSTNAME: '127.0.0.1',
      NEXT_MANUAL_SIG_HANDLE: '1',
      KUBECONFIG: sandbox.agentKubeconfig,
      PIPEOPS_API_URL: cp.url,
      PIPEOPS_TOKEN: token,
      PIPEOPS_CLUSTER_NAME: 'bench',
      PIPEOPS_STATE_NAMESPACE: 'pipeops-system',
      PIPEOPS_LOG_LEVEL: 'warn',
      PIPEOPS_DASHBOARD_USERS_FILE: writeE2eUsersFile(),
      NEXTAUTH_SECRET: 'bench-secret-bench-secret-bench-secret-0123',
    },
    stdio: 'ignore',
  });
  const admin = kubeConfigFromFile(sandbox.adminKubeconfig);
  const namespace = `bench-${Date.now().toString(36)}`;
  try {
    await waitFor(`${base}/ready`);
    await admin.makeApiClient(CoreV1Api).createNamespace({ body: { metadata: { name: namespace } } });
    const apps = admin.makeApiClient(AppsV1Api);
    await apps.createNamespacedDeployment({ namespace, body: deploymentSpec(namespace, 'web', { replicas: 1 }) });
    const scale = async (replicas: number): Promise<void> => {
      const current = await apps.readNamespacedDeploymentScale({ name: 'web', namespace });
      await apps.replaceNamespacedDeploymentScale({ name: 'web', namespace, body: { ...current, spec: { replicas } } });
    };
    const cookie = await signIn(base);
    log('signed in; timing /dashboard and /api/dashboard');
    const page = latency(await timeRequests(`${base}/dashboard`, cookie, 100));
    const api = latency(await timeRequests(`${base}/api/dashboard`, cookie, 100));
    log('SSE fan-out with 1 and 20 streams');
    const target = { base, cookie, app, scale };
    const one = await fanOut(target, { streams: 1, changes: 10, namespace, start: 1 });
    const twenty = await fanOut(target, { streams: 20, changes: 10, namespace, start: 11 });
    return { page, api, sse: [one, twenty] };
  } finally {
    app.kill('SIGTERM');
    await cp.stop();
    await down({ name: sandboxName, purge: true, log: quiet });
  }
}
