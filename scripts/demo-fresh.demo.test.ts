// `npm run demo` as a new user runs it: an empty cache and home directory (only the Go-built sandbox
// binaries are linked in from the real cache, so no Go build), no $KUBECONFIG. It must reach the printed
// dashboard URL, let the printed admin sign in, show the seeded workloads in their phases, and on SIGINT
// stop everything it started: the app, the control plane, its tunnel server and the sandbox.
import { spawn, type ChildProcess } from 'node:child_process';
import { appendFileSync, existsSync, mkdirSync, readFileSync } from 'node:fs';
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { listening } from '../agent/tunnel/chisel-test-helpers';
import { sandboxStateSchema } from '../sandbox/cluster/state';
import { cacheDir } from '../sandbox/cluster/versions';
import type { DashboardView, WorkloadView } from '../server/dashboard/view-model';

const repoRoot = path.resolve(import.meta.dirname, '..');
const sandboxName = 'demo-fresh';

interface DemoRun {
  child: ChildProcess;
  output: () => string;
  exited: Promise<number | null>;
}

/** Each run's output, with seconds since its start, goes to .test-results/ for a look after a failure. */
const logFile = path.join(repoRoot, '.test-results', 'demo-fresh.log');

function startDemo(env: NodeJS.ProcessEnv): DemoRun {
  const started = Date.now();
  const child = spawn(process.execPath, ['scripts/demo.mjs'], {
    cwd: repoRoot,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  mkdirSync(path.dirname(logFile), { recursive: true });
  appendFileSync(logFile, `--- npm run demo (${new Date().toISOString()})\n`);
  const collect = (chunk: Buffer): void => {
    output += chunk.toString();
    const at = ((Date.now() - started) / 1000).toFixed(1).padStart(6);
    appendFileSync(logFile, chunk.toString().replace(/^(?=.)/gm, `${at}s `));
  };
  child.stdout?.on('data', collect);
  child.stderr?.on('data', collect);
  const exited = new Promise<number | null>((resolve) => child.once('close', (code) => resolve(code)));
  return { child, output: () => output, exited };
}

/** A process that still runs: not gone and not a zombie (exited, waiting for a parent that may never reap it). */
function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
    return state !== 'Z' && state !== 'X';
  } catch {
    return false;
  }
}

/** Signs in through next-auth's Credentials provider over HTTP; returns the Cookie header of the session. */
async function signIn(base: string, username: string, password: string): Promise<string> {
  const csrf = await fetch(`${base}/api/auth/csrf`);
  const jar = csrf.headers.getSetCookie().map((cookie) => cookie.split(';')[0] ?? '');
  const { csrfToken } = (await csrf.json()) as { csrfToken: string };
  const response = await fetch(`${base}/api/auth/callback/credentials`, {
    method: 'POST',
    redirect: 'manual',
    headers: { 'content-type': 'application/x-www-form-urlencoded', cookie: jar.join('; ') },
    body: new URLSearchParams({ csrfToken, username, password, json: 'true', callbackUrl: `${base}/dashboard` }),
  });
  const session = response.headers.getSetCookie().find((cookie) => cookie.startsWith('next-auth.session-token='));
  if (!session) throw new Error(`sign-in as ${username} set no session cookie (HTTP ${response.status})`);
  return [...jar, session.split(';')[0] ?? ''].join('; ');
}

describe('npm run demo on a fresh machine', () => {
  let dir: string;
  let env: NodeJS.ProcessEnv;
  let demo: DemoRun | undefined;

  beforeAll(async () => {
    const realBin = path.join(cacheDir(), 'bin');
    if (!existsSync(realBin)) throw new Error(`no sandbox binaries in ${realBin}: run build-binaries.sh first`);
    dir = await mkdtemp(path.join(tmpdir(), 'demo-fresh-'));
    const cache = path.join(dir, 'cache');
    await mkdir(cache);
    await mkdir(path.join(dir, 'home'));
    await symlink(realBin, path.join(cache, 'bin'));
    env = { ...process.env, HOME: path.join(dir, 'home'), PIPEOPS_CACHE_DIR: cache };
    for (const name of ['KUBECONFIG', 'XDG_CACHE_HOME', 'PIPEOPS_SANDBOX_DIR', 'NEXTAUTH_SECRET']) delete env[name];
    Object.assign(env, {
      PIPEOPS_SANDBOX_NAME: sandboxName,
      PIPEOPS_PORT: '0',
      PIPEOPS_CONTROL_PLANE_PORT: '0',
      PIPEOPS_TUNNEL_SERVER_PORT: '0',
    });
  });

  afterAll(async () => {
    if (demo && demo.child.exitCode === null) {
      demo.child.kill('SIGKILL');
      await demo.exited;
    }
    // Whatever the test saw, no sandbox process outlives it.
    await new Promise((resolve) =>
      spawn(path.join(repoRoot, 'node_modules', '.bin', 'tsx'), ['sandbox/cli.ts', 'down', '--purge'], {
        cwd: repoRoot,
        env,
        stdio: 'ignore',
      }).once('close', resolve),
    );
    await rm(dir, { recursive: true, force: true });
  });

  it('reaches the printed URL, the printed admin sees the seeded workloads, and SIGINT leaves nothing running', async () => {
    const run = startDemo(env);
    demo = run;
    const printed = { base: '', password: '', controlPlane: '', tunnelPort: 0 };
    await vi.waitFor(
      () => {
        if (run.child.exitCode !== null) throw new Error(`the demo exited early:\n${run.output()}`);
        const out = run.output();
        const base = /dashboard {3}(http:\/\/127\.0\.0\.1:\d+)\/dashboard/.exec(out)?.[1];
        const password = /logins {6}admin \/ (\S+)/.exec(out)?.[1];
        const controlPlane = /control {5}(http:\/\/127\.0\.0\.1:\d+)/.exec(out)?.[1];
        const tunnelPort = /tunnel server on 127\.0\.0\.1:(\d+)/.exec(out)?.[1];
        expect(base && password && controlPlane && tunnelPort, 'printed URL, admin login, control plane').toBeTruthy();
        Object.assign(printed, { base, password, controlPlane, tunnelPort: Number(tunnelPort) });
      },
      { timeout: 300_000, interval: 250 },
    );
    for (const name of ['web-preview', 'api-staging', 'reports', 'queue-worker', 'broken-ttl', 'notebook']) {
      expect(run.output(), `a watch line for ${name}`).toMatch(new RegExp(`^ {2}${name} +\\S`, 'm'));
    }

    const cookie = await signIn(printed.base, 'admin', printed.password);
    const workloads = new Map<string, WorkloadView>();
    await vi.waitFor(
      async () => {
        const response = await fetch(`${printed.base}/api/dashboard`, { headers: { cookie } });
        expect(response.status).toBe(200);
        const view = (await response.json()) as DashboardView;
        expect(view.viewer).toMatchObject({ name: 'admin', role: 'admin' });
        workloads.clear();
        for (const w of view.workloads.filter((w) => w.namespace === 'demo')) workloads.set(w.name, w);
        expect(workloads.get('notebook')?.phase).toBe('ScaledDown');
        expect(workloads.get('broken-ttl')).toMatchObject({ phase: 'Error' });
        expect(workloads.get('broken-ttl')?.phaseMessage).toMatch(/ttl/i);
        expect(workloads.get('queue-worker')?.hpa).toBe('queue-worker');
        expect(workloads.get('reports')?.keptAwakeUntil).toBeDefined();
        expect(workloads.get('api-staging')).toMatchObject({ phase: 'Running', ttl: '8h' });
        expect(workloads.get('web-preview')).toMatchObject({ ttl: '1m' });
      },
      { timeout: 120_000, interval: 500 },
    );

    // The notebook sample sleeps; a connection to its tunnel forward (printed once the tunnel is up) wakes it.
    let wakeUrl = '';
    await vi.waitFor(
      () => {
        wakeUrl = /wake {8}curl (http:\/\/127\.0\.0\.1:\d+\/)/.exec(run.output())?.[1] ?? '';
        expect(wakeUrl, 'the printed wake address').not.toBe('');
      },
      { timeout: 120_000, interval: 250 },
    );
    const woken = await fetch(wakeUrl, { signal: AbortSignal.timeout(120_000) });
    expect(await woken.text()).toContain('demo/notebook is awake');
    const view = (await (
      await fetch(`${printed.base}/api/dashboard`, { headers: { cookie } })
    ).json()) as DashboardView;
    const notebook = view.workloads.find((w) => w.namespace === 'demo' && w.name === 'notebook');
    expect(notebook?.replicas.desired).toBe(1);
    expect(notebook?.lastActivitySource).toMatch(/^tunnel:notebook/);

    const stateFile = path.join(env.PIPEOPS_CACHE_DIR ?? '', 'sandbox', sandboxName, 'state.json');
    const sandbox = sandboxStateSchema.parse(JSON.parse(readFileSync(stateFile, 'utf8')));
    const components = Object.values(sandbox.components);
    expect(components.length).toBeGreaterThanOrEqual(5);
    const ports = [
      Number(new URL(printed.base).port),
      Number(new URL(printed.controlPlane).port),
      printed.tunnelPort,
      ...components.map((c) => c.port).filter((port) => port > 0),
    ];
    for (const port of ports.slice(0, 3)) expect(await listening(port), `port ${port} before SIGINT`).toBe(true);

    run.child.kill('SIGINT');
    const code = await run.exited;
    expect(code, run.output()).toBe(130);
    for (const component of components)
      expect(alive(component.pid), `pid ${component.pid} of ${component.bin}`).toBe(false);
    for (const port of ports) expect(await listening(port), `port ${port} after SIGINT`).toBe(false);
  });

  it('run again, on a failure (a corrupt control-plane state file) stops the sandbox it started and prints one line saying what to do', async () => {
    const stateFile = path.join(env.PIPEOPS_CACHE_DIR ?? '', 'control-plane', 'state.json');
    await mkdir(path.dirname(stateFile), { recursive: true });
    await writeFile(stateFile, 'not json');
    try {
      const run = startDemo(env);
      demo = run;
      expect(await run.exited, run.output()).toBe(1);
      const lines = run.output().trim().split('\n');
      expect(lines.at(-1)).toMatch(
        /^npm run demo: starting the reference control plane failed: .+ — fix what its error above names .*control-plane/,
      );
      // `sandbox down` (run by the demo) stops each component, checks none of its ports still listens,
      // and removes the state file.
      const stopped = [...run.output().matchAll(/\[sandbox\] stopped (\S+) \(pid (\d+)\)/g)];
      expect(stopped.map((m) => m[1]).sort()).toEqual(
        ['etcd', 'kube-apiserver', 'kube-controller-manager', 'kube-scheduler', 'kwok'].sort(),
      );
      for (const m of stopped) expect(alive(Number(m[2])), `${m[1]} pid ${m[2]}`).toBe(false);
      expect(run.output()).toContain(`[sandbox] ${sandboxName} is down`);
      expect(existsSync(path.join(env.PIPEOPS_CACHE_DIR ?? '', 'sandbox', sandboxName, 'state.json'))).toBe(false);
    } finally {
      await rm(stateFile, { force: true });
    }
  });
});
