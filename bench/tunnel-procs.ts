/** Child processes of the tunnel benchmark (target, Go client, our client) and their CPU/RSS from /proc. */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { chiselBinary } from '../agent/tunnel/chisel-test-helpers';

const benchDir = fileURLToPath(new URL('.', import.meta.url));
/** Linux USER_HZ; /proc/<pid>/stat counts CPU time in these ticks. */
const clockTicksPerSecond = 100;

export interface Child {
  process: ChildProcess;
  /** The first stdout line that satisfied the ready test. */
  readyLine: string;
  stop: () => Promise<void>;
}

/** Every child the tunnel benchmark spawned and has not seen exit: killed on any way out of the process. */
const liveChildren = new Set<ChildProcess>();
let exitHooksInstalled = false;

function killLiveChildren(): void {
  for (const child of liveChildren) {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  }
  liveChildren.clear();
}

/**
 * Kills every registered child however this process ends: normal exit, process.exit(), SIGINT/SIGTERM/
 * SIGHUP, or an uncaught exception or rejection (which would otherwise leave a client reconnecting
 * forever under PID 1).
 */
function installExitHooks(): void {
  if (exitHooksInstalled) return;
  exitHooksInstalled = true;
  process.once('exit', killLiveChildren);
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.once(signal, () => {
      killLiveChildren();
      process.exit(128 + (signal === 'SIGINT' ? 2 : signal === 'SIGTERM' ? 15 : 1));
    });
  }
  const fatal = (error: unknown): void => {
    console.error(`tunnel bench: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
    killLiveChildren();
    process.exit(1);
  };
  process.once('uncaughtException', fatal);
  process.once('unhandledRejection', fatal);
}

/** Registers a child the moment it is spawned, before anything about it can fail. */
export function registerChild(child: ChildProcess): void {
  installExitHooks();
  liveChildren.add(child);
  child.once('exit', () => liveChildren.delete(child));
}

export const childStartTimeoutMs = 30_000;

function waitForLine(child: ChildProcess, isReady: (line: string) => boolean, label: string): Promise<string> {
  return new Promise((resolve, reject) => {
    let output = '';
    const timer = setTimeout(
      () => reject(new Error(`${label} not ready within ${childStartTimeoutMs / 1000} s: ${output.trim()}`)),
      childStartTimeoutMs,
    );
    // The Go client logs to stderr, ours prints to stdout: watch both.
    const onData = (chunk: Buffer): void => {
      output = (output + chunk.toString()).slice(-4000);
      const complete = output.split('\n').slice(0, -1);
      const line = complete.find(isReady);
      if (line === undefined) return;
      clearTimeout(timer);
      resolve(line);
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    child.once('error', (error) => {
      clearTimeout(timer);
      reject(new Error(`${label} could not start: ${error.message}`));
    });
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`${label} exited (${signal ?? code}) before ready: ${output.trim()}`));
    });
  });
}

async function startChild(
  command: string,
  args: string[],
  isReady: (line: string) => boolean,
  label: string,
): Promise<Child> {
  const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  registerChild(child);
  const exited = new Promise<void>((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve();
    else child.once('exit', () => resolve());
  });
  let stopping = false;
  const stop = async (): Promise<void> => {
    if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) return;
    if (!stopping) child.kill('SIGTERM');
    stopping = true;
    // A child that ignores SIGTERM (or wedges while stopping) is killed outright.
    const forced = setTimeout(() => child.kill('SIGKILL'), 5_000);
    await exited;
    clearTimeout(forced);
  };
  try {
    const readyLine = await waitForLine(child, isReady, label);
    // Stop collecting; the listeners stay attached, so a chatty child never blocks on a full pipe.
    return { process: child, readyLine, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}

/** Extra node flags for our client process, e.g. TUNNEL_BENCH_NODE_ARGS="--cpu-prof --cpu-prof-dir=/tmp/p". */
function extraNodeArgs(): string[] {
  return (process.env.TUNNEL_BENCH_NODE_ARGS ?? '').split(/\s+/).filter(Boolean);
}

export interface TargetPorts {
  echo: number;
  sink: number;
  source: number;
}

export async function startTarget(): Promise<{ child: Child; ports: TargetPorts }> {
  const script = `${benchDir}tunnel-target.ts`;
  const child = await startChild(process.execPath, ['--import', 'tsx', script], (l) => l.startsWith('{'), 'target');
  return { child, ports: JSON.parse(child.readyLine) as TargetPorts };
}

export interface ClientSpec {
  serverPort: number;
  fingerprint: string;
  /** [reverse port on the server, target port on loopback] */
  remotes: [number, number][];
}

/** The Go chisel client; it is ready once it logs `Connected`. */
export function startGoClient(spec: ClientSpec): Promise<Child> {
  const remotes = spec.remotes.map(([remote, target]) => `R:127.0.0.1:${remote}:127.0.0.1:${target}`);
  const args = ['client', '--fingerprint', spec.fingerprint, '--auth', 'user:pass'];
  const ready = (line: string): boolean => line.includes('Connected');
  return startChild(chiselBinary, [...args, `http://127.0.0.1:${spec.serverPort}`, ...remotes], ready, 'go client');
}

/** Our client in its own node process (bench/tunnel-client-process.ts). */
export function startOurClient(spec: ClientSpec): Promise<Child> {
  const args = [...extraNodeArgs(), '--import', 'tsx', `${benchDir}tunnel-client-process.ts`];
  args.push('--server', `http://127.0.0.1:${spec.serverPort}`, '--fingerprint', spec.fingerprint);
  for (const [remote, target] of spec.remotes) args.push('--remote', `${remote}:127.0.0.1:${target}`);
  return startChild(process.execPath, args, (line) => line === 'ready', 'our client');
}

export interface ProcessSample {
  /** User + system CPU seconds since the process started. */
  cpuSeconds: number;
  rssMiB: number;
  peakRssMiB: number;
}

function statusKiB(status: string, field: string): number {
  const match = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status);
  return Number(match?.[1] ?? 0);
}

export function sampleProcess(pid: number): ProcessSample {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // Fields after the parenthesised command name: state is [0], utime [11], stime [12].
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const ticks = Number(fields[11]) + Number(fields[12]);
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  return {
    cpuSeconds: ticks / clockTicksPerSecond,
    rssMiB: statusKiB(status, 'VmRSS') / 1024,
    peakRssMiB: statusKiB(status, 'VmHWM') / 1024,
  };
}
