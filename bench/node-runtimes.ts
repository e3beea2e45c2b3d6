// The production server (`.next/standalone/server.js`, dashboard + agent runtime) on several Node.js
// binaries in one run, rounds interleaved so machine load hits every runtime alike: time from spawn to the
// first 200 on /health and on /ready (registered with the reference control plane, control link up, against
// the sandbox API server as the agent's ServiceAccount), and RSS once the process has run `steady` seconds.
//   tsx bench/node-runtimes.ts --node /path/to/node [--node …] [--rounds 3] [--steady 60] [--no-cluster]
// A Node outside engines.node stops at the runtime guard; `--pretend-supported` preloads
// bench/pretend-supported-node.cjs for such a binary so the old runtime can be measured as a baseline.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { nodeSupportProblem } from '../agent/node-support';
import { down, up } from '../sandbox/cluster/cluster';
import { freePort } from '../sandbox/cluster/processes';
import { startControlPlane, type ControlPlaneHandle } from '../sandbox/control-plane/server';
import { describeMachine } from './machine';

const token = 'bench-node-token';
const sandboxName = process.env.PIPEOPS_SANDBOX_NAME ?? 'bench-node';
const serverJs = path.resolve('.next/standalone/server.js');
const pretendPreload = path.resolve('bench/pretend-supported-node.cjs');

interface Sample {
  healthMs: number;
  readyMs?: number;
  rssMiB: number;
}

interface Cluster {
  kubeconfig: string;
  controlPlane: ControlPlaneHandle;
}

/** Polls `url` until it answers 200; returns milliseconds since `started`. Fails when the process exits. */
async function firstOk(url: string, started: number, child: ChildProcess, limitMs: number): Promise<number> {
  while (Date.now() - started < limitMs) {
    if (child.exitCode !== null) throw new Error(`the server exited with ${child.exitCode} before ${url} answered`);
    const ok = await fetch(url).then(
      (r) => r.status === 200,
      () => false,
    );
    if (ok) return Date.now() - started;
    await sleep(25);
  }
  throw new Error(`${url} did not answer 200 within ${limitMs / 1000} s`);
}

async function rssMiB(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+) kB/.exec(status)?.[1] ?? 0) / 1024;
}

async function stopped(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  await exited;
}

async function measure(node: string, pretend: boolean, steadySeconds: number, cluster?: Cluster): Promise<Sample> {
  const port = await freePort();
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    PATH: `${path.dirname(node)}${path.delimiter}${process.env.PATH ?? ''}`,
    NODE_ENV: 'production',
    PORT: String(port),
    HOSTNAME: '127.0.0.1',
    NEXT_MANUAL_SIG_HANDLE: '1',
    NEXTAUTH_SECRET: randomBytes(32).toString('base64url'),
    PIPEOPS_PORT: String(port),
    PIPEOPS_LOG_LEVEL: 'warn',
    ...(cluster && {
      KUBECONFIG: cluster.kubeconfig,
      PIPEOPS_API_URL: cluster.controlPlane.url,
      PIPEOPS_TOKEN: token,
      PIPEOPS_CLUSTER_NAME: 'bench-node',
      PIPEOPS_STATE_NAMESPACE: 'pipeops-system',
    }),
  };
  const args = pretend ? ['--require', pretendPreload, serverJs] : [serverJs];
  const started = Date.now();
  const child = spawn(node, args, { env, stdio: ['ignore', 'ignore', 'inherit'] });
  try {
    const base = `http://127.0.0.1:${port}`;
    const healthMs = await firstOk(`${base}/health`, started, child, 120_000);
    const readyMs = cluster ? await firstOk(`${base}/ready`, started, child, 180_000) : undefined;
    await sleep(steadySeconds * 1000);
    return { healthMs, readyMs, rssMiB: await rssMiB(child.pid ?? 0) };
  } finally {
    await stopped(child);
  }
}

const median = (values: number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? (sorted[mid] ?? 0) : ((sorted[mid - 1] ?? 0) + (sorted[mid] ?? 0)) / 2;
};

const range = (values: number[], digits: number): string =>
  `${median(values).toFixed(digits)} (${Math.min(...values).toFixed(digits)}–${Math.max(...values).toFixed(digits)})`;

async function startCluster(): Promise<Cluster> {
  const sandbox = await up({ name: sandboxName, log: () => undefined });
  const stateFile = path.join(await mkdtemp(path.join(tmpdir(), 'bench-node-cp-')), 'state.json');
  const controlPlane = await startControlPlane({ tokens: [token], adminToken: 'bench-node-admin', stateFile });
  return { kubeconfig: sandbox.agentKubeconfig, controlPlane };
}

interface Runtime {
  node: string;
  version: string;
  pretend: boolean;
  samples: Sample[];
}

interface Options {
  nodes: string[];
  rounds: number;
  steady: number;
  cluster: boolean;
  pretendSupported: boolean;
}

function parseOptions(): Options {
  const { values } = parseArgs({
    options: {
      node: { type: 'string', multiple: true },
      rounds: { type: 'string', default: '3' },
      steady: { type: 'string', default: '60' },
      'no-cluster': { type: 'boolean', default: false },
      'pretend-supported': { type: 'boolean', default: false },
    },
  });
  const rounds = Number(values.rounds);
  const steady = Number(values.steady);
  if (!Number.isInteger(rounds) || rounds < 1)
    throw new Error(`--rounds must be a whole number ≥ 1, got ${values.rounds}`);
  if (!Number.isFinite(steady) || steady < 0) throw new Error(`--steady must be seconds ≥ 0, got ${values.steady}`);
  return {
    nodes: values.node ?? [process.execPath],
    rounds,
    steady,
    cluster: !values['no-cluster'],
    pretendSupported: values['pretend-supported'] ?? false,
  };
}

function resolveRuntime(node: string, pretendSupported: boolean): Runtime {
  const version = spawnSync(node, ['--version'], { encoding: 'utf8' }).stdout?.trim();
  if (!version) throw new Error(`--node ${node}: not a runnable Node.js binary`);
  const unsupported = nodeSupportProblem(version) !== undefined;
  if (unsupported && !pretendSupported) {
    throw new Error(`--node ${node} is ${version}, outside engines.node; add --pretend-supported to measure it`);
  }
  return { node, version, pretend: unsupported, samples: [] };
}

function printTable(runtimes: Runtime[], options: Options): void {
  console.log(`\n| Node.js | spawn → /health 200, ms | spawn → /ready 200, ms | RSS after ${options.steady} s, MiB |`);
  console.log('|---|---|---|---|');
  for (const r of runtimes) {
    const ready = r.samples.flatMap((s) => (s.readyMs === undefined ? [] : [s.readyMs]));
    const health = range(
      r.samples.map((s) => s.healthMs),
      0,
    );
    const rss = range(
      r.samples.map((s) => s.rssMiB),
      1,
    );
    const label = `${r.version}${r.pretend ? ' (guard bypassed)' : ''}`;
    console.log(`| ${label} | ${health} | ${ready.length ? range(ready, 0) : 'not measured'} | ${rss} |`);
  }
  console.log(`\nmedian (min–max) of ${options.rounds} rounds, runtimes interleaved within each round`);
}

async function main(): Promise<void> {
  const options = parseOptions();
  if (!existsSync(serverJs)) throw new Error('run `npm run build` first: this bench starts .next/standalone/server.js');
  const runtimes = options.nodes.map((node) => resolveRuntime(node, options.pretendSupported));
  console.log(`# ${describeMachine()}`);
  const cluster = options.cluster ? await startCluster() : undefined;
  try {
    for (let round = 1; round <= options.rounds; round++) {
      for (const runtime of runtimes) {
        const sample = await measure(runtime.node, runtime.pretend, options.steady, cluster);
        runtime.samples.push(sample);
        console.log(
          `# round ${round} ${runtime.version}: /health ${sample.healthMs} ms, /ready ${sample.readyMs ?? '-'} ms, RSS ${sample.rssMiB.toFixed(1)} MiB`,
        );
      }
    }
  } finally {
    await cluster?.controlPlane.stop();
    if (cluster) await down({ name: sandboxName, purge: true, log: () => undefined });
  }
  printTable(runtimes, options);
}

main().catch((error: unknown) => {
  console.error(`bench/node-runtimes: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
});
